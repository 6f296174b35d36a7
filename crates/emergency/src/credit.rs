//! The unified social credit code (统一社会信用代码), GB 32100-2015.
//!
//! 18 characters: registration authority (1), organisation type (1),
//! administrative division (6 digits), organisation code (9, GB 11714) and
//! a check character (1). Characters come from a 31-character alphabet:
//! the digits and the capital letters without I, O, S, V and Z (they read
//! like 1, 0, 5, U and 2). The check character makes the weighted sum of
//! all 18 a multiple of 31 (§4.2 of the standard).

/// The GB 32100 alphabet; a character's value is its position.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17: 3^(i−1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// What is wrong with a code; the message is for the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码应为 18 位，实为 {0} 位")]
    Length(usize),
    #[error(
        "第 {position} 位“{found}”不是统一社会信用代码允许的字符（数字及除 I、O、S、V、Z 外的大写字母）"
    )]
    Character { position: usize, found: char },
    #[error("第 3–8 位应为行政区划代码（6 位数字）")]
    Division,
    #[error("校验位不符：按 GB 32100-2015 应为“{expected}”，实为“{found}”，请核对代码是否抄错")]
    CheckDigit { expected: char, found: char },
}

fn value(c: char) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|v| v as u32)
}

/// The check character of the first 17 characters of a code (already
/// upper case); `None` when one of them is outside the alphabet.
pub fn check_character(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| value(c).map(|v| v * w))
        .sum::<Option<u32>>()?;
    Some(char::from(ALPHABET[((31 - sum % 31) % 31) as usize]))
}

/// A code as written in a list, checked: spaces trimmed, full-width
/// characters and lower case accepted (spreadsheets carry both), the
/// normalised code returned.
pub fn validate_credit_code(text: &str) -> Result<String, CreditCodeError> {
    let code: String = crate::vocab::fold(text).to_ascii_uppercase();
    let n = code.chars().count();
    if n != 18 {
        return Err(CreditCodeError::Length(n));
    }
    for (i, c) in code.chars().enumerate() {
        if value(c).is_none() {
            return Err(CreditCodeError::Character {
                position: i + 1,
                found: c,
            });
        }
    }
    if !code[2..8].bytes().all(|b| b.is_ascii_digit()) {
        return Err(CreditCodeError::Division);
    }
    // All 18 are ASCII by now: byte slicing is safe.
    let expected = check_character(&code[..17]).unwrap_or('?');
    let found = char::from(code.as_bytes()[17]);
    if expected != found {
        return Err(CreditCodeError::CheckDigit { expected, found });
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_powers_of_three() {
        let mut w = 1;
        for x in WEIGHTS {
            assert_eq!(x, w);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn valid_codes_pass() {
        // The example printed in the standard's commentaries.
        assert_eq!(
            validate_credit_code("91350100M000100Y43").unwrap(),
            "91350100M000100Y43"
        );
        // Constructed in the shape of Xinxiang (4107xx) codes: a company
        // (91), a sole proprietorship (92) whose check is X, an
        // institution (12) with a numeric organisation code.
        for code in [
            "91410700MA44XY2K18",
            "92410702MA40ABCD1X",
            "124107000052713654",
        ] {
            assert_eq!(validate_credit_code(code).as_deref(), Ok(code));
        }
        // Lower case, full width and spaces as spreadsheets carry them.
        assert_eq!(
            validate_credit_code(" 92410702ma40abcd1x ").unwrap(),
            "92410702MA40ABCD1X"
        );
        assert_eq!(
            validate_credit_code("９１４１０７００MA44XY2K18").unwrap(),
            "91410700MA44XY2K18"
        );
    }

    #[test]
    fn a_one_character_change_is_refused() {
        // Every single-character substitution of a valid code is caught:
        // the weights are non-zero mod the prime 31.
        let good = "91410700MA44XY2K18";
        for i in 0..18 {
            for &a in ALPHABET {
                let a = char::from(a);
                if good.chars().nth(i) == Some(a) {
                    continue;
                }
                let mut bad: Vec<char> = good.chars().collect();
                bad[i] = a;
                let bad: String = bad.into_iter().collect();
                assert!(validate_credit_code(&bad).is_err(), "{bad} accepted");
            }
        }
        assert_eq!(
            validate_credit_code("91410700MA44XY2K19"),
            Err(CreditCodeError::CheckDigit {
                expected: '8',
                found: '9'
            })
        );
        // Two adjacent characters swapped.
        assert!(validate_credit_code("91410700AM44XY2K18").is_err());
    }

    #[test]
    fn malformed_codes_name_the_problem() {
        assert_eq!(
            validate_credit_code("9141070"),
            Err(CreditCodeError::Length(7))
        );
        assert_eq!(
            validate_credit_code("91410700MA44IY2K18"),
            Err(CreditCodeError::Character {
                position: 13,
                found: 'I'
            })
        );
        assert_eq!(
            validate_credit_code("9141A700MA44XY2K18"),
            Err(CreditCodeError::Division)
        );
        assert!(validate_credit_code("91410700MA44XY2K18").is_ok_and(|c| c.len() == 18));
    }
}
