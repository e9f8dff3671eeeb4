//! Exact normalised Gegenbauer polynomials and the sphere constants (THEORY.md, "Constants" and
//! "Lemma").
//!
//! `P_k^{(m)}` is the Gegenbauer polynomial of the sphere in `R^m` normalised by `P_k(1) = 1`:
//! `P_0 = 1`, `P_1 = t`, and `(k + m - 2) P_{k+1} = (2k + m - 2) t P_k - k P_{k-1}` (`m = 2`:
//! Chebyshev; `m = 3`: Legendre). Each `P_k(<u_i, u_j>)` is a positive semidefinite kernel on the
//! sphere (Schoenberg), which is what the Lemma and the LP bounds stand on.

use crate::kernel::arith::{Poly, Ring, Scalar};
use crate::kernel::model::Mat;
use num_bigint::BigInt;
use num_rational::BigRational;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// `P_0^{(m)} .. P_degree^{(m)}` with exact rational coefficients (monomial basis, `t^0` first).
/// Needs `m >= 2` (callers check; `m = 1` is degenerate).
pub fn gegenbauer(m: usize, degree: usize) -> Vec<Poly<BigRational>> {
    assert!(m >= 2, "Gegenbauer polynomials need m >= 2");
    let mut out = vec![Poly(vec![q(1, 1)])];
    if degree >= 1 {
        out.push(Poly(vec![q(0, 1), q(1, 1)]));
    }
    let t = Poly(vec![q(0, 1), q(1, 1)]);
    for k in 1..degree {
        let (k_i, m_i) = (k as i64, m as i64);
        let a = Poly::constant(q(2 * k_i + m_i - 2, k_i + m_i - 2));
        let b = Poly::constant(q(k_i, k_i + m_i - 2));
        let next = a.mul(&t).mul(&out[k]).sub(&b.mul(&out[k - 1]));
        out.push(next);
    }
    out
}

/// Coefficients `c_0..c_d` of a polynomial in the basis `P_0^{(m)}..P_d^{(m)}`:
/// `f = sum_k c_k P_k` (exact; the triangular change of basis from the top degree down).
pub fn to_gegenbauer(f: &Poly<BigRational>, m: usize) -> Vec<BigRational> {
    let d = f.degree().unwrap_or(0);
    let basis = gegenbauer(m, d);
    let mut rest = f.clone();
    let mut coeffs = vec![q(0, 1); d + 1];
    for k in (0..=d).rev() {
        let lead = basis[k].coeff(k);
        let c = rest.coeff(k) / lead;
        rest = rest.sub(&basis[k].mul(&Poly::constant(c.clone())));
        coeffs[k] = c;
    }
    coeffs
}

/// `sum_k c_k P_k^{(m)}` back in the monomial basis.
pub fn from_gegenbauer(coeffs: &[BigRational], m: usize) -> Poly<BigRational> {
    let basis = gegenbauer(m, coeffs.len().saturating_sub(1));
    coeffs.iter().zip(&basis).fold(Poly::zero(), |acc, (c, p)| {
        acc.add(&p.mul(&Poly::constant(c.clone())))
    })
}

/// `t^{2p}` in the monomial basis.
pub fn even_power(p: u32) -> Poly<BigRational> {
    let mut c = vec![q(0, 1); 2 * p as usize + 1];
    c[2 * p as usize] = q(1, 1);
    Poly(c)
}

/// The Gegenbauer coefficients of `t^{2p}` in dimension `m`: all `>= 0`, and the constant one is
/// `alpha_{m,p}` (the Lemma's hypothesis, checked exactly by the tests for each `(m, p)` used).
pub fn even_power_coefficients(m: usize, p: u32) -> Vec<BigRational> {
    to_gegenbauer(&even_power(p), m)
}

/// `alpha_{m,p} = E[y_1^{2p}]` for `y` uniform on the unit sphere of `R^m`
/// `= (2p-1)!! / (m (m+2) ... (m+2p-2))`.
pub fn alpha(m: usize, p: u32) -> BigRational {
    (0..p as i64).fold(q(1, 1), |acc, r| acc * q(2 * r + 1, m as i64 + 2 * r))
}

/// The superposition capacity `kappa_{m,p} = 1 / alpha_{m,p}` (`kappa_{m,1} = m`).
pub fn kappa(m: usize, p: u32) -> BigRational {
    q(1, 1) / alpha(m, p)
}

/// The even Gegenbauer moments of a configuration, from its Gram matrix, exactly:
/// `M_k = sum_{i,j} a_i a_j P_k(t_ij) / (sum_i a_i)^2` for even `k = 2, 4, ..., 2p`, with
/// `a_i = G_ii^p = |w_i|^{2p}` and `t_ij` the cosine between `w_i` and `w_j` (zero columns are
/// skipped). Even `P_k` contain only even powers, and `t_ij^2 = G_ij^2 / (G_ii G_jj)` is rational.
/// All vanish exactly when the directions weighted by `a_i` form a projective `2p`-design.
pub fn even_moments(gram: &Mat<BigRational>, m: usize, p: u32) -> Vec<(usize, BigRational)> {
    let n = gram.rows;
    let basis = gegenbauer(m, 2 * p as usize);
    let live: Vec<usize> = (0..n).filter(|&i| !gram.get(i, i).is_zero()).collect();
    let a: Vec<BigRational> = live.iter().map(|&i| Ring::pow(gram.get(i, i), p)).collect();
    let total: BigRational = a.iter().fold(q(0, 1), |acc, x| acc + x);
    (1..=p as usize)
        .map(|half| {
            let k = 2 * half;
            let mut sum = q(0, 1);
            for (x, &i) in live.iter().enumerate() {
                for (y, &j) in live.iter().enumerate() {
                    let t2 = gram.get(i, j).pow(2) / (gram.get(i, i) * gram.get(j, j));
                    // P_k(t) = sum_r c_{2r} (t^2)^r for even k.
                    let pk = (0..=half).fold(q(0, 1), |acc, r| {
                        acc + basis[k].coeff(2 * r) * Ring::pow(&t2, r as u32)
                    });
                    sum += &a[x] * &a[y] * pk;
                }
            }
            let value = if total.is_zero() {
                q(0, 1)
            } else {
                sum / (&total * &total)
            };
            (k, value)
        })
        .collect()
}

/// `sum_{i,j} G_ij^{2p}` and `alpha_{m,p} (sum_i G_ii^p)^2`: the two sides of the Lemma
/// (weighted Sidelnikov inequality) `sum_{i,j} <w_i,w_j>^{2p} >= alpha_{m,p} (sum_i |w_i|^{2p})^2`.
pub fn sidelnikov_sides<F: Scalar>(gram: &Mat<F>, m: usize, p: u32) -> (F, F) {
    let lhs = gram
        .data
        .iter()
        .fold(F::zero(), |acc, g| acc.add(&g.pow(2 * p)));
    let a = (0..gram.rows).fold(F::zero(), |acc, i| acc.add(&gram.get(i, i).pow(p)));
    (lhs, F::from_rational(&alpha(m, p)).mul(&a).mul(&a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chebyshev_and_legendre() {
        // m = 2: T_2 = 2t^2 - 1; m = 3: P_2 = (3t^2 - 1)/2.
        assert_eq!(gegenbauer(2, 2)[2].0, vec![q(-1, 1), q(0, 1), q(2, 1)]);
        assert_eq!(gegenbauer(3, 2)[2].0, vec![q(-1, 2), q(0, 1), q(3, 2)]);
        for m in 2..6 {
            for p in gegenbauer(m, 8) {
                assert_eq!(p.eval(&q(1, 1)), q(1, 1));
            }
        }
    }

    #[test]
    fn basis_change_round_trips() {
        let f = Poly(vec![q(1, 3), q(-2, 1), q(0, 1), q(5, 7), q(1, 1)]);
        for m in 2..6 {
            assert_eq!(from_gegenbauer(&to_gegenbauer(&f, m), m), f);
        }
    }

    #[test]
    fn capacities() {
        assert_eq!(kappa(3, 2), q(5, 1));
        assert_eq!(kappa(7, 1), q(7, 1));
        assert_eq!(kappa(4, 2), q(8, 1));
        assert_eq!(kappa(8, 3), q(8 * 10 * 12, 15));
    }
}
