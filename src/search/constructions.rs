//! Explicit weight matrices that attain (or approach) the lower bounds: the witnesses of the
//! upper bounds (THEORY.md, "Theorem 2").
//!
//! A construction is a list of directions `u_k` in `R^d` with relative weights `omega_k`. Its
//! witness puts `w_k = rho_k u_k` into the first `N` features (the rest are zero) and the first
//! `d` hidden coordinates, with `a_k = |w_k|^{2p} = lambda omega_k`. With
//! `tau_ij = sigma(<u_i,u_j>)^2 / (|u_i|^{2p} |u_j|^{2p})` (`= cos^{2p}`, or `max(cos,0)^{2p}` when
//! rectified; rational even when the cosine is not), the first-order loss is the quadratic
//!
//! ```text
//! L1 = n mu_2 - 2 mu_{p+1} lambda sum omega + mu_{2p} lambda^2 sum_{ij} omega_i omega_j tau_ij,
//! lambda* = mu_{p+1} sum omega / (mu_{2p} sum omega omega tau),
//! L1*     = n mu_2 - c_p (sum omega)^2 / sum_{ij} omega_i omega_j tau_ij.        (closed form)
//! ```
//!
//! For a weighted projective `2p`-design `sum omega omega tau = alpha_{m,p} (sum omega)^2`, so
//! `L1* = n mu_2 - c_p kappa_{m,p}`: Theorem 1 is attained. Irrational numbers enter in two places
//! only: coordinates (`cos(k pi/N)`, the golden ratio), replaced by rationals (unit circle points
//! from rational `tan(theta/2)`, Fibonacci ratios), and `rho_k = (a_k / |u_k|^{2p})^{1/(2p)}`,
//! rounded to [`ROOT_BITS`] bits; the witness's entries are then rounded to [`WITNESS_BITS`] bits.
//! Since an exact design is a minimiser of `L1`, these errors enter its loss quadratically
//! (about `2^-100`); for other constructions they enter linearly (about `2^-50`). Either way the
//! witness is rational, so its loss is computed exactly and the upper bound is rigorous.

use crate::kernel::arith::{Ring, Scalar};
use crate::kernel::gegenbauer::alpha;
use crate::kernel::model::{Activation, Mat, Model, Weights};
use num_bigint::BigInt;
use num_rational::BigRational;

/// Bits of the rational approximation of each `2p`-th root scale.
pub const ROOT_BITS: usize = 80;
/// Witness entries are rounded to multiples of `2^-WITNESS_BITS` (dyadic, exact in `f64` for
/// entries below 8 in size); the first-order excess this causes is `O(n 2^{-2 WITNESS_BITS})`.
pub const WITNESS_BITS: usize = 50;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// The families of constructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Orthonormal columns on `min(n, m)` features (any activation).
    Orthogonal,
    /// Antipodal pairs `+-e_k` on `min(n, 2m)` features (rectified: negative overlaps vanish).
    Antipodal,
    /// `N = p + 1` equiangular lines in `R^2` at angles `k pi / N`: a projective `2p`-design.
    Lines2d,
    /// The regular `N`-gon in `R^2` (directions at `2 k pi / N`), best `N` in `3..=min(n, 12)`.
    Polygon,
    /// The 6 diagonals of the icosahedron in `R^3`: a projective 4-design (`p <= 2`).
    Icosahedron,
    /// The 12 lines of the 24-cell (the `D_4` roots) in `R^4`: a projective 4-design (`p <= 2`).
    Cell24,
    /// The 60 lines of the 600-cell in `R^4`: a projective 10-design (`p <= 5`).
    Cell600,
    /// The 120 lines of the `E_8` roots in `R^8`: a projective 6-design (`p <= 3`).
    E8,
    /// Rect `p = 1`: the configuration of a triangle-free strongly regular graph with `n`
    /// vertices (Petersen, Clebsch, Hoffman-Singleton, Gewirtz, `M22`, Higman-Sims) in `R^g`,
    /// which meets the spectral bound ([`crate::search::graphs`]).
    Srg,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::Orthogonal,
        Family::Antipodal,
        Family::Lines2d,
        Family::Polygon,
        Family::Icosahedron,
        Family::Cell24,
        Family::Cell600,
        Family::E8,
        Family::Srg,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Orthogonal => "orthogonal",
            Family::Antipodal => "antipodal-pairs",
            Family::Lines2d => "equiangular-lines-r2",
            Family::Polygon => "regular-polygon-r2",
            Family::Icosahedron => "icosahedron-r3",
            Family::Cell24 => "24-cell-r4",
            Family::Cell600 => "600-cell-r4",
            Family::E8 => "e8-r8",
            Family::Srg => "triangle-free-srg",
        }
    }

    /// Largest `p` for which the family is a projective `2p`-design (so attains Theorem 1 for the
    /// power activation when `n >= N`), if any.
    pub fn design_strength(self, p: u32) -> Option<u32> {
        match self {
            Family::Orthogonal => Some(1),
            Family::Lines2d => Some(p),
            Family::Icosahedron | Family::Cell24 => Some(2),
            Family::Cell600 => Some(5),
            Family::E8 => Some(3),
            Family::Antipodal | Family::Polygon | Family::Srg => None,
        }
    }
}

/// Directions (rows of length `dim`) and weights of one construction.
#[derive(Clone, Debug)]
pub struct Construction {
    pub family: Family,
    pub name: String,
    pub dim: usize,
    pub dirs: Vec<Vec<BigRational>>,
    pub omega: Vec<BigRational>,
}

/// `(cos theta, sin theta)` for `theta = pi k / d`: exact on the axes; otherwise a rational
/// point exactly on the unit circle, `((1 - t^2)/(1 + t^2), 2t/(1 + t^2))` with `t` the `f64`
/// value of `tan(theta/2)`, `|theta| <= pi/2` (directions in the left half plane are negated).
fn circle_point(k: usize, d: usize) -> Vec<BigRational> {
    if (2 * k).is_multiple_of(d) {
        let quarter = (2 * k / d) % 4; // theta = quarter * pi/2
        let (c, s) = [(1, 0), (0, 1), (-1, 0), (0, -1)][quarter];
        return vec![q(c, 1), q(s, 1)];
    }
    let theta = std::f64::consts::PI * k as f64 / d as f64;
    let (flip, theta) = if theta.cos() < 0.0 {
        (true, theta - std::f64::consts::PI)
    } else {
        (false, theta)
    };
    let t = <f64 as Scalar>::to_rational(&(theta / 2.0).tan()).expect("finite");
    let one = q(1, 1);
    let den = &one + &t * &t;
    let x = (&one - &t * &t) / &den;
    let y = (q(2, 1) * &t) / &den;
    if flip { vec![-x, -y] } else { vec![x, y] }
}

/// The golden ratio as a ratio of Fibonacci numbers `F_{k+1} / F_k` (error about `phi^{-2k}`).
fn golden() -> BigRational {
    let (mut a, mut b) = (BigInt::from(1), BigInt::from(1));
    for _ in 0..120 {
        let c = &a + &b;
        a = b;
        b = c;
    }
    BigRational::new(b, a)
}

/// All sign choices of the nonzero entries of `v` (as a list of vectors).
fn all_signs(v: &[BigRational]) -> Vec<Vec<BigRational>> {
    let mut out = vec![Vec::new()];
    for x in v {
        let mut next = Vec::new();
        for prefix in &out {
            let mut a = prefix.clone();
            a.push(x.clone());
            next.push(a);
            if !x.is_zero() {
                let mut b = prefix.clone();
                b.push(-x.clone());
                next.push(b);
            }
        }
        out = next;
    }
    out
}

/// One representative of each line `{v, -v}`: the first nonzero coordinate positive.
fn lines(vectors: Vec<Vec<BigRational>>) -> Vec<Vec<BigRational>> {
    let mut out: Vec<Vec<BigRational>> = Vec::new();
    for v in vectors {
        let first = v.iter().find(|x| !x.is_zero()).cloned();
        let Some(first) = first else { continue };
        let v = if first < q(0, 1) {
            v.iter().map(|x| -x.clone()).collect()
        } else {
            v
        };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn even_permutations4() -> Vec<[usize; 4]> {
    let mut out = Vec::new();
    for a in 0..4 {
        for b in 0..4 {
            for c in 0..4 {
                for d in 0..4 {
                    let p = [a, b, c, d];
                    let distinct = (0..4).all(|i| (i + 1..4).all(|j| p[i] != p[j]));
                    if distinct {
                        let inversions = (0..4)
                            .flat_map(|i| (i + 1..4).map(move |j| (i, j)))
                            .filter(|&(i, j)| p[i] > p[j])
                            .count();
                        if inversions % 2 == 0 {
                            out.push(p);
                        }
                    }
                }
            }
        }
    }
    out
}

impl Construction {
    fn equal(family: Family, name: String, dim: usize, dirs: Vec<Vec<BigRational>>) -> Self {
        let omega = vec![q(1, 1); dirs.len()];
        Construction {
            family,
            name,
            dim,
            dirs,
            omega,
        }
    }

    /// The constructions of a family that fit `n` features in `m` dimensions (several for the
    /// polygon family: one per `N`).
    pub fn of_family(family: Family, model: &Model, n: usize, m: usize) -> Vec<Construction> {
        let p = model.p;
        let unit = |k: usize, d: usize, sign: i64| -> Vec<BigRational> {
            (0..d)
                .map(|i| if i == k { q(sign, 1) } else { q(0, 1) })
                .collect()
        };
        let fits = |c: &Construction| c.dim <= m && c.dirs.len() <= n;
        let out: Vec<Construction> = match family {
            Family::Orthogonal => {
                let k = n.min(m);
                vec![Self::equal(
                    family,
                    family.name().into(),
                    k,
                    (0..k).map(|i| unit(i, k, 1)).collect(),
                )]
            }
            Family::Antipodal => {
                if model.act != Activation::Rect || n <= m {
                    return Vec::new();
                }
                let k = n.min(2 * m);
                let d = k.div_ceil(2);
                let dirs = (0..k)
                    .map(|i| unit(i / 2, d, if i % 2 == 0 { 1 } else { -1 }))
                    .collect();
                vec![Self::equal(family, family.name().into(), d, dirs)]
            }
            Family::Lines2d => {
                let big_n = p as usize + 1;
                if big_n < 3 {
                    return Vec::new(); // p = 1: two orthogonal lines, the orthogonal family
                }
                let dirs = (0..big_n).map(|k| circle_point(k, big_n)).collect();
                vec![Self::equal(
                    family,
                    format!("{} (N={big_n})", family.name()),
                    2,
                    dirs,
                )]
            }
            Family::Polygon => {
                if model.act != Activation::Rect {
                    return Vec::new();
                }
                (3..=n.min(12))
                    .map(|big_n| {
                        let dirs = (0..big_n).map(|k| circle_point(2 * k, big_n)).collect();
                        Self::equal(family, format!("{} (N={big_n})", family.name()), 2, dirs)
                    })
                    .collect()
            }
            Family::Icosahedron => {
                let phi = golden();
                let (z, o) = (q(0, 1), q(1, 1));
                let base = [
                    vec![z.clone(), o.clone(), phi.clone()],
                    vec![o.clone(), phi.clone(), z.clone()],
                    vec![phi.clone(), z.clone(), o.clone()],
                ];
                let dirs = lines(base.iter().flat_map(|v| all_signs(v)).collect());
                vec![Self::equal(family, family.name().into(), 3, dirs)]
            }
            Family::Cell24 => {
                let mut vs = Vec::new();
                for i in 0..4 {
                    for j in i + 1..4 {
                        let mut v = vec![q(0, 1); 4];
                        v[i] = q(1, 1);
                        v[j] = q(1, 1);
                        vs.extend(all_signs(&v));
                    }
                }
                vec![Self::equal(family, family.name().into(), 4, lines(vs))]
            }
            Family::Cell600 => {
                let phi = golden();
                let half = q(1, 2);
                let mut vs = Vec::new();
                for i in 0..4 {
                    vs.push(unit(i, 4, 1));
                }
                vs.extend(all_signs(&[
                    half.clone(),
                    half.clone(),
                    half.clone(),
                    half.clone(),
                ]));
                let base = [&phi * &half, half.clone(), &half / &phi, q(0, 1)];
                for perm in even_permutations4() {
                    let v: Vec<BigRational> = perm.iter().map(|&k| base[k].clone()).collect();
                    vs.extend(all_signs(&v));
                }
                vec![Self::equal(family, family.name().into(), 4, lines(vs))]
            }
            Family::E8 => {
                let mut vs = Vec::new();
                for i in 0..8 {
                    for j in i + 1..8 {
                        let mut v = vec![q(0, 1); 8];
                        v[i] = q(1, 1);
                        v[j] = q(1, 1);
                        vs.extend(all_signs(&v));
                    }
                }
                for mask in 0u32..256 {
                    if mask.count_ones() % 2 == 0 {
                        vs.push(
                            (0..8)
                                .map(|k| {
                                    if mask >> k & 1 == 1 {
                                        q(-1, 2)
                                    } else {
                                        q(1, 2)
                                    }
                                })
                                .collect(),
                        );
                    }
                }
                vec![Self::equal(family, family.name().into(), 8, lines(vs))]
            }
            Family::Srg => {
                let graph = (model.act == Activation::Rect && p == 1)
                    .then(|| crate::search::graphs::with_vertices(n))
                    .flatten();
                match graph {
                    Some(g) if g.g <= m => {
                        let basis = g.directions();
                        let dirs = (0..n)
                            .map(|i| {
                                basis
                                    .iter()
                                    .map(|row| {
                                        <f64 as Scalar>::to_rational(&row[i]).expect("finite")
                                    })
                                    .collect()
                            })
                            .collect();
                        let name = format!("{} ({})", family.name(), g.name);
                        vec![Self::equal(family, name, g.g, dirs)]
                    }
                    _ => Vec::new(),
                }
            }
        };
        out.into_iter().filter(fits).collect()
    }

    /// `sum_{ij} omega_i omega_j tau_ij` and `sum omega`, exactly (see the module doc), except
    /// for [`Family::Srg`], whose directions are `f64` values already (up to 100 of them: the
    /// exact sum of their 10^4 terms with distinct denominators takes seconds): there the sum is
    /// taken in `f64`. It tunes the scale only; the witness's loss is computed exactly anyway.
    pub fn interference(&self, model: &Model) -> (BigRational, BigRational) {
        let sum: BigRational = self.omega.iter().fold(q(0, 1), |a, b| a + b);
        let total = if self.family == Family::Srg {
            let t: f64 = self.interference_in(model);
            <f64 as Scalar>::to_rational(&t).expect("finite")
        } else {
            self.interference_in(model)
        };
        (total, sum)
    }

    /// `sum_{ij} omega_i omega_j tau_ij` in the number type `F`, with `tau_ij` the `2p`-th power of
    /// the cosine of directions `i, j` (rectified: only where it is positive).
    fn interference_in<F: Scalar>(&self, model: &Model) -> F {
        let u = Mat {
            rows: self.dim,
            cols: self.dirs.len(),
            data: (0..self.dim)
                .flat_map(|r| self.dirs.iter().map(move |d| F::from_rational(&d[r])))
                .collect(),
        }
        .gram();
        let omega: Vec<F> = self.omega.iter().map(F::from_rational).collect();
        let mut total = F::zero();
        for i in 0..u.rows {
            for j in 0..u.cols {
                let g = u.get(i, j);
                let counts = model.act == Activation::Power || g.positive();
                if counts && !g.is_zero() {
                    let tau = Ring::pow(&g.mul(g).div(&u.get(i, i).mul(u.get(j, j))), model.p);
                    total.add_mul(&omega[i].mul(&omega[j]), &tau);
                }
            }
        }
        total
    }

    /// `lambda* = mu_{p+1} sum omega / (mu_{2p} sum omega omega tau)`: the first-order optimal
    /// common scale of the `a_k = lambda omega_k`.
    pub fn first_order_scale(&self, model: &Model) -> BigRational {
        let (tau, sum) = self.interference(model);
        model.mu(model.p + 1) * sum / (model.mu(2 * model.p) * tau)
    }

    /// The closed form `L1* = n mu_2 - c_p (sum omega)^2 / sum omega omega tau` of the witness
    /// with the exact scale (the rounded witness differs by `O(2^{-2 ROOT_BITS})`; for
    /// [`Family::Srg`] the sum is taken in `f64`).
    pub fn first_order_closed_form(&self, model: &Model, n: usize) -> BigRational {
        let (tau, sum) = self.interference(model);
        let c_p = crate::kernel::closed_form::c_p(model);
        q(n as i64, 1) * model.mu(2) - c_p * &sum * &sum / tau
    }

    /// The rational witness `W` (`m x n`) with `a_k = lambda omega_k`.
    pub fn witness(&self, model: &Model, n: usize, m: usize, lambda: &BigRational) -> Weights {
        let mut w = Mat::from_fn(m, n, |_, _| q(0, 1));
        let two_p = 2 * model.p;
        for (k, (dir, om)) in self.dirs.iter().zip(&self.omega).enumerate() {
            let norm2: BigRational = dir.iter().map(|x| x * x).sum();
            let target = lambda * om / Ring::pow(&norm2, model.p);
            let rho = root_approx(&target, two_p, ROOT_BITS);
            let den = BigInt::from(1) << WITNESS_BITS;
            for (r, x) in dir.iter().enumerate() {
                w.data[r * n + k] = crate::kernel::arith::round_to_denominator(&(&rho * x), &den);
            }
        }
        Weights::new(w)
    }

    /// Whether this construction attains Theorem 1 (the power activation's design case).
    pub fn is_design_for(&self, model: &Model) -> bool {
        model.act == Activation::Power
            && self
                .family
                .design_strength(model.p)
                .is_some_and(|s| model.p <= s)
    }

    /// The ideal first-order value of a design, `n mu_2 - c_p kappa_{d,p}` (in its own dimension).
    pub fn design_value(&self, model: &Model, n: usize) -> BigRational {
        q(n as i64, 1) * model.mu(2)
            - crate::kernel::closed_form::c_p(model) / alpha(self.dim, model.p)
    }
}

/// `x^{1/k}` rounded down to a multiple of `2^{-bits}` (`x >= 0`).
pub fn root_approx(x: &BigRational, k: u32, bits: usize) -> BigRational {
    if x.is_zero() || *x < q(0, 1) {
        return q(0, 1);
    }
    let scale = BigInt::from(1) << (bits * k as usize);
    let scaled = (x.numer() * scale) / x.denom();
    BigRational::new(scaled.nth_root(k), BigInt::from(1) << bits)
}

/// The principal subspace of the linear autoencoder (power `p = 1`), as a rational witness:
/// rows `1/sqrt(n)` (the all-ones direction, the top eigenvector of `Sigma = E[x x^T]`) and the
/// first `m - 1` Helmert vectors `(1, ..., 1, -j, 0, ...)/sqrt(j (j+1))`, each entry rounded to
/// a multiple of `2^-WITNESS_BITS` after a square root to `ROOT_BITS` bits. Its exact loss is
/// within `O(2^-2 WITNESS_BITS)` of `(n - m)(s mu_2 - s^2 mu_1^2)` (THEORY.md, "The linear case
/// exactly").
pub fn pca_witness(n: usize, m: usize) -> Weights {
    let rows = m.min(n);
    let den = BigInt::from(1) << WITNESS_BITS;
    let round = |x: &BigRational| crate::kernel::arith::round_to_denominator(x, &den);
    let mut w = Mat::from_fn(m, n, |_, _| q(0, 1));
    let inv_sqrt_n = root_approx(&q(1, n as i64), 2, ROOT_BITS);
    for c in 0..n {
        w.data[c] = round(&inv_sqrt_n);
    }
    for j in 1..rows {
        let scale = root_approx(&q(1, (j * (j + 1)) as i64), 2, ROOT_BITS);
        for c in 0..j {
            w.data[j * n + c] = round(&scale);
        }
        w.data[j * n + j] = round(&(&scale * q(-(j as i64), 1)));
    }
    Weights::new(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::model::Values;

    #[test]
    fn line_counts() {
        let model = Model::new(Activation::Power, 2, Values::Uniform).unwrap();
        let count = |f| Construction::of_family(f, &model, 200, 8)[0].dirs.len();
        assert_eq!(count(Family::Icosahedron), 6);
        assert_eq!(count(Family::Cell24), 12);
        assert_eq!(count(Family::Cell600), 60);
        assert_eq!(count(Family::E8), 120);
        assert_eq!(count(Family::Lines2d), 3);
    }

    #[test]
    fn roots_round_down() {
        let r = root_approx(&q(2, 1), 2, 40);
        assert!(&r * &r <= q(2, 1));
        let up = &r + BigRational::new(1.into(), BigInt::from(1) << 40usize);
        assert!(&up * &up > q(2, 1));
    }
}
