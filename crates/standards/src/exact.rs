//! Exact decimal helpers: GB/T 8170 rounding (round half to even) of
//! decimals and of quotients, and HJ 663 percentiles.

use rust_decimal::{Decimal, RoundingStrategy};

/// Round half-even (GB/T 8170 四舍六入五成双) to `dp` decimals.
pub fn round_half_even(d: Decimal, dp: u32) -> Decimal {
    if d.scale() <= dp {
        d
    } else {
        d.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
    }
}

/// `num / den` rounded half-even to `dp` decimals, exactly (the quotient is
/// never truncated before rounding). `den` must be positive.
pub fn div_round_half_even(num: Decimal, den: Decimal, dp: u32) -> Decimal {
    assert!(den > Decimal::ZERO, "division by a non-positive number");
    // num = a / 10^sa, den = b / 10^sb → num/den · 10^dp = a·10^(sb+dp) / (b·10^sa)
    let (a, sa) = (num.mantissa(), num.scale());
    let (b, sb) = (den.mantissa(), den.scale());
    let exact = (|| {
        let n = a.checked_mul(10i128.checked_pow(sb + dp)?)?;
        let d = b.checked_mul(10i128.checked_pow(sa)?)?;
        let q = div_half_even_i128(n, d);
        (q.unsigned_abs() < (1u128 << 95)).then(|| Decimal::from_i128_with_scale(q, dp))
    })();
    // Out of the 96-bit range only for absurd magnitudes: fall back to a
    // 28-significant-digit quotient.
    exact.unwrap_or_else(|| round_half_even(num / den, dp))
}

/// Decimals of the limits a mean stored by [`decisive_mean`] is always
/// judged exactly against (limits with more decimals are covered too when
/// the averaged values have as many).
pub const LIMIT_DECIMALS: u32 = 4;

/// The mean `sum / count` of values with finitely many decimals, rounded
/// half-even to as few decimals as keep every comparison with a limit the
/// same as the exact mean's: a stored hourly or daily mean judged against
/// a limit (GB/T 8170-2008 §4.3.3, whole-value comparison) decides as the
/// exact mean does, and a mean exactly equal to the limit stays equal.
///
/// Why it is exact. Write the mean in lowest terms S/n (S a decimal with
/// s decimals, n ≥ 1 an integer: `count` divided by its common factor with
/// `sum`·10^D) and let L be a limit with d decimals, D = max(s, d). Then
/// n·(S/n − L) = S − n·L is a multiple of 10^−D, so S/n − L is either 0 or
/// at least 10^−D/n in size. Round S/n half-even to D + k decimals with
/// n < 2·10^k: the rounding moves it by at most ½·10^−(D+k) < 10^−D/n, so
/// a mean above L stays strictly above, one below stays strictly below,
/// and a mean equal to L (at most D decimals) is not moved at all. The
/// limit is not known when the mean is stored, so D = max(s,
/// [`LIMIT_DECIMALS`]): every limit of at most 4 decimals is decided
/// exactly. An hour of ≤ 60 minutes needs k ≤ 2 (10-minute records, n ≤ 6:
/// k = 1), a day of ≤ 24 hours k = 2.
///
/// The 超标倍数 (C − L)/L, rounded half-even to two decimals, changes at
/// C = L·(1 + (2j + 1)/200), which has at most d + 3 decimals: for limits
/// of at most D − 3 decimals (integer and one-decimal limits of 4-decimal
/// data) those points are limits in the sense above, so the multiple of the
/// stored mean equals the multiple of the exact mean, exact midpoints
/// (0.005 → 0.00) included.
///
/// Means needing more than 28 decimals (hours or days of data with more
/// than 26) are rounded to 28, rust_decimal's limit. `count` must be
/// positive.
pub fn decisive_mean(sum: Decimal, count: u32) -> Decimal {
    assert!(count > 0, "the mean of no values");
    let sum = sum.normalize();
    let d = sum.scale().max(LIMIT_DECIMALS);
    let n = i128::from(count);
    // Lowest terms: S·10^D is an integer; a factor it shares with n cancels.
    let common = 10i128
        .checked_pow(d - sum.scale())
        .and_then(|p| sum.mantissa().checked_mul(p))
        .map_or(1, |whole| gcd(whole.unsigned_abs(), n.unsigned_abs()));
    let n = n / common as i128;
    let mut k = 0;
    while n >= 2 * 10i128.pow(k) {
        k += 1;
    }
    div_round_half_even(sum, Decimal::from(count), (d + k).min(28)).normalize()
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// `num / den` for display beside the `limit` it is judged against:
/// rounded half-even to `dp` decimals, or to more where `dp` decimals would
/// put it on the other side of the limit or onto it (35.000048 against 35
/// shows as 35.00005, not 35.0000). `den` must be positive.
pub fn div_round_keeping_order(num: Decimal, den: Decimal, limit: Decimal, dp: u32) -> Decimal {
    // The exact order: num/den against limit, as num against limit·den.
    let exact = limit
        .checked_mul(den)
        .map_or_else(|| (num / den).cmp(&limit), |bound| num.cmp(&bound));
    let mut shown = div_round_half_even(num, den, dp);
    for more in dp + 1..=28 {
        if shown.cmp(&limit) == exact {
            break;
        }
        shown = div_round_half_even(num, den, more);
    }
    shown.normalize()
}

/// [`div_round_keeping_order`] of a decimal.
pub fn round_keeping_order(value: Decimal, limit: Decimal, dp: u32) -> Decimal {
    div_round_keeping_order(value, Decimal::ONE, limit, dp)
}

/// Integer division rounded half to even; `d > 0`.
fn div_half_even_i128(n: i128, d: i128) -> i128 {
    let neg = n < 0;
    let (n, d) = (n.unsigned_abs(), d.unsigned_abs());
    let (mut q, r) = (n / d, n % d);
    let twice = r * 2;
    if twice > d || (twice == d && q % 2 == 1) {
        q += 1;
    }
    let q = q as i128;
    if neg { -q } else { q }
}

/// The p-th percentile of HJ 663: sort ascending, k = 1 + (n − 1)·p %,
/// s = ⌊k⌋, m = X(s) + (X(s+1) − X(s))·(k − s) (X(n) when s = n). Exact; the
/// caller rounds the result to the reporting digits. `sorted` must be sorted
/// ascending; `None` for an empty slice.
pub fn percentile(sorted: &[Decimal], p: u32) -> Option<Decimal> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
    let k = Decimal::ONE + Decimal::from(n as u64 - 1) * Decimal::from(p) / Decimal::ONE_HUNDRED;
    let s = k.trunc();
    let frac = k - s;
    let s = usize::try_from(s.mantissa() / 10i128.pow(s.scale())).ok()?;
    let xs = sorted[s - 1];
    if s >= n {
        return Some(sorted[n - 1]);
    }
    Some(xs + (sorted[s] - xs) * frac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn half_even() {
        assert_eq!(round_half_even(dec!(171.5), 0), dec!(172));
        assert_eq!(round_half_even(dec!(172.5), 0), dec!(172));
        assert_eq!(round_half_even(dec!(1.275), 1), dec!(1.3));
        assert_eq!(round_half_even(dec!(1.25), 1), dec!(1.2));
        assert_eq!(round_half_even(dec!(1.2501), 1), dec!(1.3));
    }

    #[test]
    fn quotients() {
        assert_eq!(div_round_half_even(dec!(5), dec!(2), 0), dec!(2));
        assert_eq!(div_round_half_even(dec!(7), dec!(2), 0), dec!(4));
        assert_eq!(div_round_half_even(dec!(1), dec!(3), 2), dec!(0.33));
        assert_eq!(div_round_half_even(dec!(2), dec!(3), 2), dec!(0.67));
        assert_eq!(div_round_half_even(dec!(-7), dec!(2), 0), dec!(-4));
        assert_eq!(div_round_half_even(dec!(0.5), dec!(0.25), 1), dec!(2.0));
        // 24 hourly values summing to 1812 → 75.5 → 76; to 1788 → 74.5 → 74.
        assert_eq!(div_round_half_even(dec!(1812), dec!(24), 0), dec!(76));
        assert_eq!(div_round_half_even(dec!(1788), dec!(24), 0), dec!(74));
    }

    #[test]
    fn decisive_means_keep_the_comparison_with_a_limit() {
        // 59 minutes at 35 and one at 35.0029: 35.0000483… is above 35 (four
        // decimals would store 35).
        let over = decisive_mean(dec!(35) * dec!(59) + dec!(35.0029), 60);
        assert_eq!(over, dec!(35.000048));
        assert!(over > dec!(35));
        // 34 and 36 alternating: exactly 35, stored as 35.
        assert_eq!(decisive_mean(dec!(2100), 60), dec!(35));
        // 10/3 (lowest terms: a third, one more decimal) against 3.3333.
        let third = decisive_mean(dec!(200), 60);
        assert_eq!(third, dec!(3.33333));
        assert!(third > dec!(3.3333));
        // Six 10-minute records weighted ten times each: n = 6 in lowest
        // terms, five decimals.
        assert_eq!(decisive_mean(dec!(10) * dec!(315.1), 60), dec!(52.51667));
        // A finite mean is stored as it is; zero is zero.
        assert_eq!(decisive_mean(dec!(52.5), 1), dec!(52.5));
        assert_eq!(decisive_mean(dec!(1.25), 8), dec!(0.15625));
        assert_eq!(decisive_mean(Decimal::ZERO, 60), Decimal::ZERO);
        // Finer data keep their own decimals plus the ones the count needs.
        assert_eq!(decisive_mean(dec!(0.000001), 3), dec!(0.0000003));
    }

    #[test]
    fn display_keeps_the_order_with_the_limit() {
        assert_eq!(
            round_keeping_order(dec!(35.000048), dec!(35), 4),
            dec!(35.00005)
        );
        assert_eq!(
            round_keeping_order(dec!(52.516667), dec!(35), 4),
            dec!(52.5167)
        );
        assert_eq!(
            round_keeping_order(dec!(34.99996), dec!(35), 2),
            dec!(34.99996)
        );
        assert_eq!(round_keeping_order(dec!(35), dec!(35), 2), dec!(35));
        assert_eq!(
            div_round_keeping_order(dec!(840.0001), dec!(24), dec!(35), 2),
            dec!(35.000004)
        );
    }

    /// Values `limit + offset_i` (offsets at `scale` decimals) whose sum is
    /// n·limit + t·10^−scale: means within a few 10^−scale/n of the limit,
    /// and exactly on it when t = 0.
    fn near(limit: Decimal, scale: u32, offsets: &[i64], t: i64) -> (Decimal, u32) {
        let unit = Decimal::new(1, scale);
        let mut sum = Decimal::ZERO;
        let mut total = 0i64;
        for o in offsets {
            sum += limit + Decimal::from(*o) * unit;
            total += o;
        }
        sum += limit + Decimal::from(t - total) * unit;
        (sum, offsets.len() as u32 + 1)
    }

    proptest::proptest! {
        #[test]
        fn a_decisive_mean_compares_with_any_four_decimal_limit_as_the_exact_mean(
            limit in 0i64..10_000_000,
            limit_dp in 0u32..=4,
            scale in 0u32..=6,
            offsets in proptest::collection::vec(-5000i64..5000, 0..60),
            t in -3i64..=3,
        ) {
            let limit = Decimal::new(limit, limit_dp);
            let (sum, n) = near(limit, scale, &offsets, t);
            let stored = decisive_mean(sum, n);
            let exact = sum.cmp(&(limit * Decimal::from(n)));
            proptest::prop_assert_eq!(stored.cmp(&limit), exact, "{} / {} = {}", sum, n, stored);
            // Never further from the exact mean than half a unit of the last
            // stored decimal, and no more than six decimals at four-decimal data.
            let error = (stored * Decimal::from(n) - sum).abs();
            proptest::prop_assert!(error * dec!(2) <= Decimal::new(1, stored.scale()) * Decimal::from(n));
            if scale <= 4 {
                proptest::prop_assert!(stored.scale() <= 6, "{}", stored);
            }
        }

        #[test]
        fn the_multiple_of_a_decisive_mean_is_the_exact_multiple_for_whole_and_one_decimal_limits(
            limit in 1i64..100_000,
            limit_dp in 0u32..=1,
            step in 0i64..300,
            scale in 0u32..=4,
            offsets in proptest::collection::vec(-5000i64..5000, 0..60),
            t in -3i64..=3,
        ) {
            // Means near the points where the multiple's rounding changes,
            // L·(1 + (2j + 1)/200), exactly on them when t = 0.
            let limit = Decimal::new(limit, limit_dp);
            let edge = limit * (Decimal::ONE + Decimal::new(2 * step + 1, 0) / dec!(200));
            let (sum, n) = near(edge, scale.max(edge.scale()), &offsets, t);
            let stored = decisive_mean(sum, n);
            let exact = crate::emission::exceedance_exact(
                crate::emission::Quotient { num: sum, den: Decimal::from(n) },
                limit,
            );
            proptest::prop_assert_eq!(crate::emission::exceedance(stored, limit), exact);
        }

        #[test]
        fn display_rounding_keeps_the_order_and_is_plain_rounding_when_it_can(
            num in -10_000_000i64..10_000_000,
            num_dp in 0u32..=6,
            den in 1u32..=60,
            limit in -10_000_000i64..10_000_000,
            limit_dp in 0u32..=6,
            dp in 0u32..=4,
        ) {
            let (num, limit) = (Decimal::new(num, num_dp), Decimal::new(limit, limit_dp));
            let den = Decimal::from(den);
            let shown = div_round_keeping_order(num, den, limit, dp);
            proptest::prop_assert_eq!(shown.cmp(&limit), num.cmp(&(limit * den)));
            let plain = div_round_half_even(num, den, dp);
            if plain.cmp(&limit) == num.cmp(&(limit * den)) {
                proptest::prop_assert_eq!(shown, plain);
            }
        }
    }
}
