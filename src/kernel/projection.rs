//! The projection bound (`proofs/projection-bound.md`): whatever the activation, bias and
//! decoder, the output is a function of the `m`-dimensional image `y = W x`, so on a support `S`
//! of `k > m` features the loss is at least the least mean-square error of recovering the
//! active values from `y`. For uniform values that error is at least
//!
//! ```text
//!     MMSE_S >= c_{k-m} e_{k-m}(1/I_S)^{-1/(k-m)},     c_j = j/(j+2) omega_j^{-2/j},
//! ```
//!
//! (the conditional law of `x_S` given `y` is uniform on a slice of the box; a ball has the least
//! second moment for its volume; the slices' volumes are bounded through the zonotope `W [0,1]^S`,
//! Cauchy–Binet and Cauchy–Schwarz), where `omega_j` is the volume of the unit ball of `R^j` and
//! `e_j` the elementary symmetric polynomial. With Maclaurin's inequality and Jensen's, for the
//! `j` features `A` of largest importance (all of them for equal importance):
//!
//! ```text
//!     L(W, b; s) >= sum_{k} C(j,k) s^k (1-s)^{j-k} max( e_sigma k mean(I_A),
//!                                                      [k > m] c_{k-m} C(k,m)^{-1/(k-m)} HM(I_A) ),
//! ```
//!
//! for every `W`, every bias and every density `s` (the floor term only where `e_sigma` is
//! proved). The sum is taken over the support sizes `k` within `WINDOW` of the binomial mode
//! (leaving out nonnegative terms keeps a lower bound). Irrational constants are bounded with
//! `pi <= 355/113` and rational `j`-th roots rounded up, and the binomial probabilities are
//! rounded down to 160 significant bits (terms below about `2^-4096` left out), so every value is
//! an exact rational below the true bound, of a size that does not grow with the density's
//! digits.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

/// `355/113 > pi` (by `2.7e-7`).
pub fn pi_upper() -> BigRational {
    BigRational::new(BigInt::from(355), BigInt::from(113))
}

/// Bits after the point of the rounded-up roots: the bound loses about `2^-40` relative.
const ROOT_BITS: usize = 40;

/// Support sizes more than this far from the binomial mode are left out of the sum (they carry
/// less than `e^-19` of the probability mass for `n <= 1000`).
pub const WINDOW: usize = 100;

/// `omega_j^2` with `pi` replaced by `355/113`: an upper bound on the squared volume of the unit
/// ball of `R^j`. `omega_{2h} = pi^h / h!`, `omega_{2h+1} = 2^{h+1} pi^h / (2h+1)!!`.
pub fn ball_volume_sq_upper(j: usize) -> BigRational {
    let h = j / 2;
    let pi_h = num_traits::pow(pi_upper(), h);
    let omega = if j.is_multiple_of(2) {
        let fact: BigInt = (1..=h).map(BigInt::from).product();
        pi_h / BigRational::from_integer(fact)
    } else {
        let double_fact: BigInt = (0..=h).map(|r| BigInt::from(2 * r + 1)).product();
        pi_h * BigRational::from_integer(BigInt::one() << (h + 1))
            / BigRational::from_integer(double_fact)
    };
    &omega * &omega
}

/// A rational `r / 2^ROOT_BITS >= x^{1/j}` (for `x > 0`, `j >= 1`), at most `2^-ROOT_BITS`
/// above it.
pub fn root_upper(x: &BigRational, j: usize) -> BigRational {
    assert!(
        j >= 1 && x.is_positive(),
        "root_upper needs x > 0 and j >= 1"
    );
    let scale = BigInt::one() << (j * ROOT_BITS);
    let scaled = x * BigRational::from_integer(scale);
    let big_x = scaled.ceil().to_integer();
    let mut r = big_x.nth_root(j as u32);
    if num_traits::pow(r.clone(), j) < big_x {
        r += 1;
    }
    BigRational::new(r, BigInt::one() << ROOT_BITS)
}

/// Significant bits kept by the rounded-down probabilities (the sum loses about `2^-150`).
const PROB_BITS: i64 = 160;

/// Support sizes whose probability is estimated below `2^-PROB_FLOOR` are left out.
const PROB_FLOOR: i64 = 4096;

/// `log2 x` to within a bit or so, for `x > 0` (only a choice of what to leave out rests on it).
fn log2_estimate(x: &BigRational) -> i64 {
    if x.is_zero() {
        return i64::MIN / 4;
    }
    x.numer().bits() as i64 - x.denom().bits() as i64
}

/// A dyadic rational `<= x` (for `x >= 0`) with about [`PROB_BITS`] significant bits.
fn round_down(x: &BigRational) -> BigRational {
    if x.is_zero() {
        return x.clone();
    }
    let e = PROB_BITS - log2_estimate(x);
    if e <= 0 {
        let scale = BigInt::one() << (-e) as usize;
        let q = (x / BigRational::from_integer(scale.clone()))
            .floor()
            .to_integer();
        return BigRational::from_integer(q * scale);
    }
    let scale = BigInt::one() << e as usize;
    let q = (x * BigRational::from_integer(scale.clone()))
        .floor()
        .to_integer();
    BigRational::new(q, scale)
}

/// A lower bound on `x^k` for `x >= 0`, rounded down after every product.
fn pow_down(x: &BigRational, k: usize) -> BigRational {
    let (mut result, mut base, mut k) = (BigRational::one(), x.clone(), k);
    while k > 0 {
        if k & 1 == 1 {
            result = round_down(&(&result * &base));
        }
        k >>= 1;
        if k > 0 {
            base = round_down(&(&base * &base));
        }
    }
    result
}

/// A rational lower bound on `c_j C(k, m)^{-1/j}` with `j = k - m >= 1`: the least mean-square
/// error, per unit harmonic-mean importance, of recovering `k` uniform values from `m` linear
/// measurements.
pub fn support_term(k: usize, m: usize) -> BigRational {
    assert!(k > m, "support_term needs k > m");
    let j = k - m;
    let binom: BigInt = crate::kernel::arith::binomial(k as u32, m as u32);
    let x = ball_volume_sq_upper(j) * BigRational::from_integer(binom);
    BigRational::new(BigInt::from(j), BigInt::from(j + 2)) / root_upper(&x, j)
}

/// The importances of the `j` features of largest importance (`j` ones for equal importance);
/// all must be positive (a feature of importance 0 is left out of `A`).
pub fn top_weights(
    importance: Option<&[BigRational]>,
    n: usize,
    j: usize,
) -> Result<Vec<BigRational>, String> {
    if j > n {
        return Err(format!(
            "the projection bound's {j} features exceed n = {n}"
        ));
    }
    let top = match importance {
        None => vec![BigRational::one(); j],
        Some(v) => {
            let mut sorted = v.to_vec();
            sorted.sort_by(|a, b| b.cmp(a));
            sorted.truncate(j);
            sorted
        }
    };
    if top.iter().any(|w| !w.is_positive()) {
        return Err(format!(
            "the projection bound's {j} features of largest importance include one of importance 0"
        ));
    }
    Ok(top)
}

/// The projection bound at density `s` for the features `A` with importances `weights` (all
/// positive; the `j = weights.len()` of largest importance, or all `n` with weight 1), `m`
/// hidden dimensions and an optional proved floor `e <= e_sigma` (see the module documentation).
pub fn projection_bound(
    m: usize,
    weights: &[BigRational],
    s: &BigRational,
    floor: Option<&BigRational>,
) -> Result<BigRational, String> {
    let j = weights.len();
    if weights.iter().any(|w| !w.is_positive()) {
        return Err("the projection bound needs positive importance weights".into());
    }
    if !s.is_positive() || s > &BigRational::one() {
        return Err(format!("density {s} is outside (0, 1]"));
    }
    let zero = BigRational::zero();
    if j == 0 {
        return Ok(zero);
    }
    let jr = BigRational::from_integer(BigInt::from(j));
    let mean = weights.iter().sum::<BigRational>() / &jr;
    let harmonic = &jr / weights.iter().map(|w| w.recip()).sum::<BigRational>();
    // The binomial mode floor((j + 1) s) and the window of support sizes around it.
    let mode = (s * BigRational::from_integer(BigInt::from(j + 1)))
        .floor()
        .to_integer();
    let mode: usize = mode.try_into().unwrap_or(j).min(j);
    let (lo, hi) = (mode.saturating_sub(WINDOW).max(1), (mode + WINDOW).min(j));
    let one_minus = BigRational::one() - s;
    // The probabilities are bounded from below with about PROB_BITS significant bits, so their
    // size does not grow with the density's digits or with j (a density of 4,000 digits made the
    // exact powers take minutes); support sizes of probability below about 2^-PROB_FLOOR are
    // left out. Both only lower the sum.
    let (s_lo, one_minus_lo) = (round_down(s), round_down(&one_minus));
    let (log_s, log_one_minus) = (log2_estimate(s), log2_estimate(&one_minus));
    let mut total = zero.clone();
    for k in lo..=hi {
        let mut candidate = zero.clone();
        if let Some(e) = floor {
            candidate = e * BigRational::from_integer(BigInt::from(k)) * &mean;
        }
        if k > m {
            let proj = support_term(k, m) * &harmonic;
            if proj > candidate {
                candidate = proj;
            }
        }
        if candidate.is_zero() || (one_minus.is_zero() && k < j) {
            continue;
        }
        let binom = crate::kernel::arith::binomial(j as u32, k as u32);
        let log_p = binom.bits() as i64
            + k as i64 * log_s
            + if k < j {
                (j - k) as i64 * log_one_minus
            } else {
                0
            };
        if log_p < -PROB_FLOOR {
            continue;
        }
        let prob = round_down(
            &(BigRational::from_integer(binom)
                * pow_down(&s_lo, k)
                * pow_down(&one_minus_lo, j - k)),
        );
        total += prob * candidate;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(a: i64, b: i64) -> BigRational {
        BigRational::new(BigInt::from(a), BigInt::from(b))
    }

    #[test]
    fn ball_volumes_match_their_closed_forms_at_pi_upper() {
        let pi = pi_upper();
        assert_eq!(ball_volume_sq_upper(1), q(4, 1));
        assert_eq!(ball_volume_sq_upper(2), &pi * &pi);
        let w3 = q(4, 3) * &pi;
        assert_eq!(ball_volume_sq_upper(3), &w3 * &w3);
        let w4 = &pi * &pi / q(2, 1);
        assert_eq!(ball_volume_sq_upper(4), &w4 * &w4);
        let w5 = q(8, 15) * &pi * &pi;
        assert_eq!(ball_volume_sq_upper(5), &w5 * &w5);
    }

    #[test]
    fn rounded_probabilities_stay_below_and_close() {
        for (x, k) in [
            (q(1, 3), 7),
            (q(2, 3), 40),
            (q(99, 100), 1000),
            (q(1, 1), 5),
        ] {
            let exact = num_traits::pow(x.clone(), k);
            let low = pow_down(&round_down(&x), k);
            assert!(low <= exact);
            assert!((&exact - &low) / &exact < q(1, 1 << 40) * q(1, 1 << 40) * q(1, 1 << 40));
        }
        assert_eq!(round_down(&q(0, 1)), q(0, 1));
        assert_eq!(round_down(&q(3, 4)), q(3, 4));
    }

    #[test]
    fn roots_are_rounded_up_by_at_most_one_unit() {
        for (x, j) in [
            (q(2, 1), 2),
            (q(1, 3), 3),
            (q(8, 1), 3),
            (q(7, 1000), 7),
            (q(5, 1), 1),
        ] {
            let r = root_upper(&x, j);
            assert!(num_traits::pow(r.clone(), j) >= x);
            let below = &r - BigRational::new(BigInt::one(), BigInt::one() << ROOT_BITS);
            assert!(below.is_negative() || num_traits::pow(below, j) < x);
        }
        // Exact roots stay exact.
        assert_eq!(root_upper(&q(8, 1), 3), q(2, 1));
    }
}
