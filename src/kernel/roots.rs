//! Exact real-root location for rational polynomials by Sturm sequences: the number of distinct
//! real roots in `(a, b]` is `V(a) - V(b)`, `V` the sign changes of the Sturm chain
//! `f_0 = f, f_1 = f', f_{k+1} = -rem(f_{k-1}, f_k)`.

use crate::kernel::arith::{Poly, Ring};
use num_rational::BigRational;
use num_traits::Signed;

fn q0() -> BigRational {
    <BigRational as Ring>::zero()
}

fn trim(mut p: Poly<BigRational>) -> Poly<BigRational> {
    while p.0.len() > 1 && p.0.last().is_some_and(|c| c.is_zero()) {
        p.0.pop();
    }
    p
}

/// The derivative.
pub fn derivative(p: &Poly<BigRational>) -> Poly<BigRational> {
    if p.0.len() <= 1 {
        return Poly(vec![q0()]);
    }
    trim(Poly(
        p.0.iter()
            .enumerate()
            .skip(1)
            .map(|(k, c)| c * BigRational::from_integer(k.into()))
            .collect(),
    ))
}

/// Remainder of `a` divided by `b` (`b` nonzero).
pub fn remainder(a: &Poly<BigRational>, b: &Poly<BigRational>) -> Poly<BigRational> {
    let b = trim(b.clone());
    let db = b.degree().expect("division by the zero polynomial");
    let lead = b.0[db].clone();
    let mut r = trim(a.clone());
    while let Some(dr) = r.degree() {
        if dr < db {
            break;
        }
        let factor = &r.0[dr] / &lead;
        for k in 0..=db {
            let sub = &factor * &b.0[k];
            r.0[dr - db + k] -= sub;
        }
        r.0[dr] = q0();
        r = trim(r);
    }
    r
}

/// `p` times the positive rational that makes it a primitive integer polynomial. Sign counts of a
/// Sturm chain are unchanged by positive factors, and this keeps the remainders' numbers small.
fn primitive(p: Poly<BigRational>) -> Poly<BigRational> {
    use num_integer::Integer;
    let den = crate::kernel::arith::common_denominator(&p.0);
    let nums: Vec<num_bigint::BigInt> =
        p.0.iter()
            .map(|c| (c * BigRational::from_integer(den.clone())).to_integer())
            .collect();
    let g = nums
        .iter()
        .fold(num_bigint::BigInt::from(0), |acc, x| acc.gcd(x));
    if num_traits::Zero::is_zero(&g) {
        return p;
    }
    Poly(
        nums.into_iter()
            .map(|x| BigRational::from_integer(x / &g))
            .collect(),
    )
}

/// The Sturm chain of a nonzero polynomial (each element scaled to a primitive integer polynomial
/// by a positive factor, which leaves every sign count unchanged).
pub fn sturm_chain(f: &Poly<BigRational>) -> Vec<Poly<BigRational>> {
    let mut chain = vec![primitive(trim(f.clone()))];
    let d = primitive(derivative(&chain[0]));
    if d.is_zero() {
        return chain;
    }
    chain.push(d);
    loop {
        let k = chain.len();
        let r = remainder(&chain[k - 2], &chain[k - 1]);
        if r.is_zero() {
            break;
        }
        chain.push(primitive(r.map(|c| -c)));
    }
    chain
}

fn sign_changes(chain: &[Poly<BigRational>], x: &BigRational) -> usize {
    let signs: Vec<i32> = chain
        .iter()
        .map(|p| p.eval(x))
        .filter(|v| !v.is_zero())
        .map(|v| if v.is_positive() { 1 } else { -1 })
        .collect();
    signs.windows(2).filter(|w| w[0] != w[1]).count()
}

/// Number of distinct real roots of `f` in the half-open interval `(a, b]`.
pub fn count_roots(chain: &[Poly<BigRational>], a: &BigRational, b: &BigRational) -> usize {
    sign_changes(chain, a).saturating_sub(sign_changes(chain, b))
}

/// The smallest root of `f` in `(a, b]`, as a rational bracket `(lo, hi]` of width `<= width`
/// (`lo` itself is not a root; `hi` may be). `None` if there is none or `f` is zero.
pub fn smallest_root(
    f: &Poly<BigRational>,
    a: &BigRational,
    b: &BigRational,
    width: &BigRational,
) -> Option<(BigRational, BigRational)> {
    if f.is_zero() {
        return None;
    }
    let chain = sturm_chain(f);
    if count_roots(&chain, a, b) == 0 {
        return None;
    }
    let (mut lo, mut hi) = (a.clone(), b.clone());
    let two = BigRational::from_integer(2.into());
    while &hi - &lo > *width {
        let mid = (&lo + &hi) / &two;
        if count_roots(&chain, &lo, &mid) > 0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some((lo, hi))
}

/// Whether `f >= 0` on all of `[a, b]`, exactly. Between consecutive distinct roots `f` has one
/// sign, so: an interval whose interior holds no root is tested at its midpoint; one whose
/// interior holds exactly one root and whose ends are not roots needs both ends positive;
/// anything else is bisected (which ends because distinct roots are separated).
pub fn nonnegative_on(f: &Poly<BigRational>, a: &BigRational, b: &BigRational) -> bool {
    if f.is_zero() {
        return true;
    }
    let (fa, fb) = (f.eval(a), f.eval(b));
    if fa.is_negative() || fb.is_negative() {
        return false;
    }
    let chain = sturm_chain(f);
    check_interval(f, &chain, a, b, &fa, &fb)
}

fn check_interval(
    f: &Poly<BigRational>,
    chain: &[Poly<BigRational>],
    lo: &BigRational,
    hi: &BigRational,
    f_lo: &BigRational,
    f_hi: &BigRational,
) -> bool {
    let inner = count_roots(chain, lo, hi) - usize::from(f_hi.is_zero());
    let mid = (lo + hi) / BigRational::from_integer(2.into());
    let f_mid = f.eval(&mid);
    match inner {
        0 => !f_mid.is_negative(),
        1 if !f_lo.is_zero() && !f_hi.is_zero() => f_lo.is_positive() && f_hi.is_positive(),
        _ => {
            !f_mid.is_negative()
                && check_interval(f, chain, lo, &mid, f_lo, &f_mid)
                && check_interval(f, chain, &mid, hi, &f_mid, f_hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    #[test]
    fn finds_the_smallest_root() {
        // (t - 1/3)(t - 1/2)(t + 1) = t^3 + (1/6) t^2 - (2/3) t + 1/6
        let f = Poly(vec![q(1, 6), q(-2, 3), q(1, 6), q(1, 1)]);
        let width = q(1, 1_000_000_000_000);
        let (lo, hi) = smallest_root(&f, &q(0, 1), &q(1, 1), &width).unwrap();
        assert!(lo < q(1, 3) && q(1, 3) <= hi && &hi - &lo <= width);
        assert_eq!(count_roots(&sturm_chain(&f), &q(-2, 1), &q(1, 1)), 3);
        assert!(smallest_root(&f, &q(3, 5), &q(1, 1), &width).is_none());
    }

    #[test]
    fn nonnegativity() {
        // (t - 1/2)^2 >= 0 with a double root; t - 1/2 is not.
        let sq = Poly(vec![q(1, 4), q(-1, 1), q(1, 1)]);
        assert!(nonnegative_on(&sq, &q(-1, 1), &q(1, 1)));
        assert!(!nonnegative_on(
            &Poly(vec![q(-1, 2), q(1, 1)]),
            &q(-1, 1),
            &q(1, 1)
        ));
        assert!(nonnegative_on(
            &Poly(vec![q(-1, 2), q(1, 1)]),
            &q(1, 2),
            &q(1, 1)
        ));
    }
}
