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
}
