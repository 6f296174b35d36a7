//! The HJ 212 CRC16 and the CRC-16/MODBUS it is often confused with.
//!
//! The standard calls its checksum "ANSI CRC16". It uses the reflected polynomial
//! constant 0xA001 like Modbus, but each step first moves the register's *high*
//! byte down (`reg = (reg >> 8) ^ byte`) before the eight shift/xor rounds, so the
//! result differs from CRC-16/MODBUS. Both are computed over the **bytes** of the
//! data segment only (not `##LLLL`, not the CRC itself, not CR LF).

/// The ordinary 256-entry table of the reflected polynomial 0xA001 (the Modbus table).
const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut reg = i as u16;
        let mut bit = 0;
        while bit < 8 {
            let carry = reg & 1;
            reg >>= 1;
            if carry != 0 {
                reg ^= 0xA001;
            }
            bit += 1;
        }
        table[i] = reg;
        i += 1;
    }
    table
}

/// High byte of every table entry: the only part of the register that survives into
/// the next step of the HJ 212 algorithm.
const TABLE_HIGH: [u8; 256] = {
    let mut high = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        high[i] = (TABLE[i] >> 8) as u8;
        i += 1;
    }
    high
};

/// `POW[j][x]` = the high-byte map applied `j` times. The map is linear over GF(2)
/// (CRC tables are), so the state after 16 more bytes is
/// `POW[16][s] ^ POW[15][b0] ^ … ^ POW[1][b14] ^ b15`: sixteen independent lookups
/// instead of a chain of sixteen dependent ones ("slicing by 16").
const POW: [[u8; 256]; 17] = {
    let mut pow = [[0u8; 256]; 17];
    let mut x = 0;
    while x < 256 {
        pow[0][x] = x as u8;
        x += 1;
    }
    let mut j = 1;
    while j < 17 {
        let mut x = 0;
        while x < 256 {
            pow[j][x] = TABLE_HIGH[pow[j - 1][x] as usize];
            x += 1;
        }
        j += 1;
    }
    pow
};

/// HJ 212 CRC16 of `data` (the data segment bytes).
///
/// Equivalent to the standard's bit loop ([`hj212_bitwise`]): `reg = T[(reg >> 8) ^ b]`.
/// Only the high byte of the register feeds the next step, so the state between
/// bytes is that byte; the full register is looked up once at the end.
pub fn hj212(data: &[u8]) -> u16 {
    let Some((&first, rest)) = data.split_first() else {
        return 0xFFFF;
    };
    // reg starts at 0xFFFF, so the first state is 0xFF ^ first.
    let mut s: u8 = 0xFF ^ first;
    let mut chunks = rest.chunks_exact(16);
    for c in &mut chunks {
        s = POW[16][s as usize]
            ^ POW[15][c[0] as usize]
            ^ POW[14][c[1] as usize]
            ^ POW[13][c[2] as usize]
            ^ POW[12][c[3] as usize]
            ^ POW[11][c[4] as usize]
            ^ POW[10][c[5] as usize]
            ^ POW[9][c[6] as usize]
            ^ POW[8][c[7] as usize]
            ^ POW[7][c[8] as usize]
            ^ POW[6][c[9] as usize]
            ^ POW[5][c[10] as usize]
            ^ POW[4][c[11] as usize]
            ^ POW[3][c[12] as usize]
            ^ POW[2][c[13] as usize]
            ^ POW[1][c[14] as usize]
            ^ c[15];
    }
    for &b in chunks.remainder() {
        s = TABLE_HIGH[s as usize] ^ b;
    }
    TABLE[s as usize]
}

/// Reference form of [`hj212`], written exactly as the standard's bit loop.
/// Kept for tests and documentation.
pub fn hj212_bitwise(data: &[u8]) -> u16 {
    let mut reg: u16 = 0xFFFF;
    for &b in data {
        reg = (reg >> 8) ^ u16::from(b);
        for _ in 0..8 {
            let carry = reg & 1;
            reg >>= 1;
            if carry != 0 {
                reg ^= 0xA001;
            }
        }
    }
    reg
}

/// CRC-16/MODBUS of `data` (init 0xFFFF, reflected 0xA001, no final xor).
pub fn modbus(data: &[u8]) -> u16 {
    let mut reg: u16 = 0xFFFF;
    for &b in data {
        reg = (reg >> 8) ^ TABLE[((reg ^ u16::from(b)) & 0xFF) as usize];
    }
    reg
}

/// Parse a 4-character CRC field as sent (either case). `None` if it is not 4 hex digits.
pub fn parse_field(field: &[u8]) -> Option<u16> {
    if field.len() != 4 {
        return None;
    }
    let mut value: u16 = 0;
    for &c in field {
        let digit = (c as char).to_digit(16)?;
        value = (value << 4) | digit as u16;
    }
    Some(value)
}

/// Format a CRC the way it goes on the wire: 4 upper-case hex digits, high byte first.
pub fn format(crc: u16) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [
        HEX[(crc >> 12) as usize & 0xF],
        HEX[(crc >> 8) as usize & 0xF],
        HEX[(crc >> 4) as usize & 0xF],
        HEX[crc as usize & 0xF],
    ]
}

/// Byte order in which a logger printed a CRC-16/MODBUS value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// High byte first (as `%04X` of the register).
    HighFirst,
    /// Low byte first (seen from real 2005-era loggers).
    LowFirst,
}

impl std::fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ByteOrder::HighFirst => "high byte first",
            ByteOrder::LowFirst => "low byte first",
        })
    }
}

/// Result of comparing a frame's CRC field with its data segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrcCheck {
    /// The field matches the HJ 212 CRC.
    Ok,
    /// The field is the CRC-16/MODBUS of the data (the wrong algorithm), in the given byte order.
    Modbus {
        sent: u16,
        expected: u16,
        order: ByteOrder,
    },
    /// The field matches neither.
    Mismatch { sent: u16, expected: u16 },
    /// The field is not 4 hex digits.
    NotHex,
}

/// Check the 4-byte `field` against `data`, diagnosing a MODBUS CRC.
pub fn check(data: &[u8], field: &[u8]) -> CrcCheck {
    let Some(sent) = parse_field(field) else {
        return CrcCheck::NotHex;
    };
    let expected = hj212(data);
    if sent == expected {
        return CrcCheck::Ok;
    }
    let mb = modbus(data);
    if sent == mb {
        CrcCheck::Modbus {
            sent,
            expected,
            order: ByteOrder::HighFirst,
        }
    } else if sent == mb.swap_bytes() {
        CrcCheck::Modbus {
            sent,
            expected,
            order: ByteOrder::LowFirst,
        }
    } else {
        CrcCheck::Mismatch { sent, expected }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD_EXAMPLE: &[u8] = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";

    #[test]
    fn standard_worked_example_is_1c80_not_the_misprinted_1c08() {
        assert_eq!(hj212(STANDARD_EXAMPLE), 0x1C80);
        assert_eq!(&format(hj212(STANDARD_EXAMPLE)), b"1C80");
    }

    #[test]
    fn table_form_equals_the_bit_loop() {
        let mut seed: u32 = 12345;
        for len in 0..300 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            assert_eq!(hj212(&data), hj212_bitwise(&data), "len {len}");
        }
    }

    #[test]
    fn modbus_differs_from_hj212() {
        // CRC-16/MODBUS check value for "123456789" is 0x4B37.
        assert_eq!(modbus(b"123456789"), 0x4B37);
        assert_ne!(modbus(STANDARD_EXAMPLE), hj212(STANDARD_EXAMPLE));
    }

    #[test]
    fn high_bytes_count_as_unsigned() {
        // A signed-char implementation would sign-extend 0xE6 and get a different result.
        let gbk = [0xC7u8, 0xE5, 0xCF, 0xB4];
        assert_eq!(hj212(&gbk), hj212_bitwise(&gbk));
    }

    #[test]
    fn field_is_case_insensitive_and_strict_about_hex() {
        assert_eq!(parse_field(b"1dc0"), Some(0x1DC0));
        assert_eq!(parse_field(b"1DC0"), Some(0x1DC0));
        assert_eq!(parse_field(b"0000"), Some(0));
        assert_eq!(parse_field(b"1DCG"), None);
        assert_eq!(parse_field(b"1DC"), None);
        assert_eq!(parse_field(b"+1DC"), None);
    }

    #[test]
    fn modbus_diagnosis_in_both_byte_orders() {
        let mb = modbus(STANDARD_EXAMPLE);
        assert!(matches!(
            check(STANDARD_EXAMPLE, &format(mb)),
            CrcCheck::Modbus {
                order: ByteOrder::HighFirst,
                ..
            }
        ));
        assert!(matches!(
            check(STANDARD_EXAMPLE, &format(mb.swap_bytes())),
            CrcCheck::Modbus {
                order: ByteOrder::LowFirst,
                ..
            }
        ));
        assert_eq!(check(STANDARD_EXAMPLE, b"1c80"), CrcCheck::Ok);
    }
}
