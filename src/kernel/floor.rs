//! Exact certification of a rational lower bound ("floor") on
//!
//! ```text
//!     e_sigma = inf_{g, r real} phi(g, r),   phi(g, r) = E_U (U - sigma(g U + r))^2,
//! ```
//!
//! where `U` is uniform on `[0, 1]`, the point mass at 1 (`Law::One`), or
//! Beta(a, b) with integers `a, b >= 1`, and `sigma(t) = t^p` (`Act::Power`) or
//! `sigma(t) = max(t, 0)^p` (`Act::Rect`), `1 <= p <= 6`.
//!
//! Soundness rests only on exact `BigRational` arithmetic.  Floating point is
//! used solely to *propose* a target (`crate::search::floor`); the
//! proof ([`certify_floor_with_limit`]) never trusts it.
//!
//! # 1. Exact formula for phi
//!
//! Let `f` be the density (a polynomial with rational coefficients: 1 for the
//! uniform law, `u^(a-1) (1-u)^(b-1) / B(a, b)` for Beta), and for an interval
//! `J = [alpha, beta] ⊆ [0, 1]` let `M_k(J) = int_J u^k f(u) du` (exact:
//! `sum_i d_i (beta^(k+i+1) - alpha^(k+i+1)) / (k+i+1)`).  Expanding the square,
//!
//! ```text
//!   P_J(g, r) := int_J (u - (g u + r)^p)^2 f du
//!             = M_2 - 2 sum_k C(p,k) g^k r^(p-k) M_(k+1) + sum_k C(2p,k) g^k r^(2p-k) M_k,
//! ```
//!
//! a polynomial of total degree `2p` in `(g, r)`.
//! * Power: `phi = P_[0,1]`.
//! * Rect: with `S+ = {u in [0,1] : g u + r > 0}` (an interval, since `g u + r`
//!   is affine) and `S- = [0,1] \ S+`, `phi = M_2(S-) + P_(S+)(g, r)`.
//! * One: `phi = (1 - sigma(g + r))^2`.
//!
//! # 2. Coercivity (reduction to the box `[-R, R]^2`)
//!
//! Fix the target `T` (`0 < T`).  Let `mu_k = E U^k` and let `lambda` be a
//! rational with `A - lambda I` positive semidefinite, `A = [[mu_2, mu_1],
//! [mu_1, 1]]` (checked exactly: `lambda <= mu_2` and
//! `(mu_2 - lambda)(1 - lambda) >= mu_1^2`).  Then
//! `E (g U + r)^2 >= lambda (g^2 + r^2)`, and by Jensen (`x -> x^p` convex on
//! `x >= 0`) `E (g U + r)^(2p) >= (lambda (g^2 + r^2))^p`.
//!
//! **(A) power, or rect with `r >= 0`, `g + r >= 0`** (then `g u + r >= 0` on
//! `[0,1]`, so rect = power).  By the triangle inequality in `L^2`,
//! `sqrt(phi) >= ||sigma||_2 - ||U||_2`.  Outside the box, `g^2 + r^2 > R^2`,
//! so if `(lambda R^2)^p >= 2 (mu_2 + T) >= (sqrt(mu_2) + sqrt(T))^2` then
//! `||sigma||_2 > sqrt(mu_2) + sqrt(T)` and `phi > T`.
//!
//! For rect the remaining regions (outside the box, i.e. `max(|g|,|r|) > R`):
//!
//! **(B) `r <= 0`, `g + r <= 0`**: `sigma(g U + r) = 0` a.s., `phi = mu_2`;
//! need `mu_2 >= T`.
//!
//! **(C) `r > 0`, `g + r < 0`**: then `|g| > r`, so `|g| > R`; `g u + r =
//! |g| (u0 - u)` with `u0 = r/|g| in (0,1)`.  Fix rational `s in (0,1)`.
//! If `u0 <= s`, `sigma = 0` on `[s, 1]`, so `phi >= M_2([s, 1])`.  If `u0 > s`,
//! on `[0, s/2]` we have `sigma >= K := (R s / 2)^p`; if `K >= 1`,
//! `(u - sigma)^2 >= (K - 1)^2` there, so `phi >= P(U <= s/2) (K - 1)^2`.
//!
//! **(D) `r < 0`, `g + r > 0`**: then `g > |r|`, so `g > R`; `g u + r =
//! g (u - u0)`, `u0 = |r|/g in (0,1)`.  If `u0 >= s`, `phi >= M_2([0, s])`.  If
//! `u0 < s`, on `[(1+s)/2, 1]`, `sigma >= K' := (R (1-s)/2)^p`; if `K' >= 1`,
//! `phi >= P(U >= (1+s)/2) (K' - 1)^2`.
//!
//! (A)-(D) cover the plane.  `certify_floor_with_limit` picks the smallest `R` in
//! `{1/2, 1, 3/2, ...}` (and `s` from a short list) for which every needed
//! inequality holds exactly, so `phi >= T` outside `[-R, R]^2`.
//!
//! # 3. Lower bound on a sub-box (branch and bound)
//!
//! Boxes are bisected (dyadic ends).  For a polynomial `P` and the box with
//! centre `(gc, rc)` and half-widths `(hg, hr)`, expand exactly
//! `P(gc + x, rc + y) = sum b_ij x^i y^j` (two 1-D Taylor shifts) and bound
//!
//! ```text
//!   P >= b_00 + min_{|x|<=hg} (b_10 x + b_20 x^2) + min_{|y|<=hr} (b_01 y + b_02 y^2)
//!        + sum_{other ij} ( 0 if i, j even and b_ij > 0, else -|b_ij| hg^i hr^j ),
//! ```
//!
//! the 1-D quadratic minima being computed exactly (vertex or end point).
//!
//! Rect, box `[g0,g1] x [r0,r1]`: for `u >= 0` the range of `g u + r` over the
//! box is `[g0 u + r0, g1 u + r1]`.  Partition `[0, 1]` into
//! `S+ = {g0 u + r0 >= 0}` (there `sigma = (g u + r)^p` for the whole box:
//! integrand is `P_(S+)`, bounded as above), `S- = {g1 u + r1 <= 0}` (there
//! `sigma = 0`: contributes exactly `M_2(S-)`), and `Amb = {g0 u + r0 < 0 <
//! g1 u + r1}`, where `0 <= sigma <= (g1 u + r1)^p`, hence
//! `(u - sigma)^2 >= max(0, u^2 - 2 u (g1 u + r1)^p)` pointwise, and its
//! integral is bounded below by `max(0, M_2 - 2 sum_k C(p,k) g1^k r1^(p-k)
//! M_(k+1))` over `Amb`.  (These three sets are disjoint since `r0 < r1`.)
//!
//! A box is accepted when its lower bound is `>= T`; otherwise, if `phi` at
//! its centre is `< T` the target is refuted (exact counterexample), else it is
//! split along its longer side.  A work limit turns a stall into `Err`.
//!
//! Trivial cases: if `T <= 0` the claim `phi >= T` is immediate (`phi` is an
//! expectation of a square): certificate with 0 boxes.  For `p = 1` or
//! `Law::One`, `phi(1, 0) = 0`, so every `T > 0` is refuted.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The activation (`Power`: `t^p`, `Rect`: `max(t, 0)^p`) and the law of `U`, as in the model.
pub use crate::kernel::model::{Activation as Act, Values as Law};

/// Data of the coercivity argument (section 2 of the module docs).
#[derive(Clone, Debug)]
pub struct Coercivity {
    /// Half-side of the box `[-R, R]^2`.
    pub radius: BigRational,
    /// Rational `lambda` with `E (gU + r)^2 >= lambda (g^2 + r^2)`.
    pub lambda: BigRational,
    /// Split parameters `s` used in regions (C) and (D) (rect only).
    pub s_c: Option<BigRational>,
    pub s_d: Option<BigRational>,
}

/// A proof that `phi(g, r) >= e_lb` for all real `g, r`.
#[derive(Clone, Debug)]
pub struct FloorCertificate {
    pub act: Act,
    pub p: u32,
    pub law: Law,
    /// The certified floor.
    pub e_lb: BigRational,
    /// Number of accepted leaf boxes.
    pub boxes: usize,
    /// Number of boxes examined (accepted + split).
    pub visited: usize,
    /// Deepest bisection level used.
    pub max_depth: u32,
    /// `[g0, g1, r0, r1]`: the compact box covered by branch and bound
    /// (all zero for trivial certificates).
    pub box_outer: [BigRational; 4],
    /// The coercivity data (None for trivial certificates).
    pub coercivity: Option<Coercivity>,
    /// An exact rational point with its exact `phi` (an upper bound for
    /// `e_sigma`), when known (filled in by the search that proposed the target).
    pub witness: Option<(BigRational, BigRational, BigRational)>,
}

/// Default work limit (number of boxes examined).
pub const DEFAULT_MAX_BOXES: usize = 200_000;

/// The box limit actually used for `p` and `law`: a box costs about `D^2` with
/// `D = 2p + a + b` the degree of its polynomials (`a = b = 1` for the uniform law), so above
/// `D = 10` the limit shrinks in proportion and the work stays within that of 200,000 boxes at
/// `D = 10`. (A crafted evidence file with `p = 6`, `Beta(64, 64)` and a target just below the
/// floor ran for over 20 minutes with the plain limit.)
pub fn box_limit(p: u32, law: &Law, max_boxes: usize) -> usize {
    let (a, b) = match law {
        Law::Beta(a, b) => (*a as usize, *b as usize),
        _ => (1, 1),
    };
    let d = 2 * p as usize + a + b;
    if d <= 10 {
        max_boxes
    } else {
        (max_boxes as u128 * 100 / (d * d) as u128).max(1) as usize
    }
}

// ---------------------------------------------------------------------------
// small exact helpers

fn ri(n: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}

fn rq(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

pub fn binom(n: u32, k: u32) -> BigInt {
    let mut acc = BigInt::one();
    for i in 0..k {
        acc = acc * BigInt::from(n - i) / BigInt::from(i + 1);
    }
    acc
}

fn pow_r(x: &BigRational, e: u32) -> BigRational {
    let mut acc = BigRational::one();
    for _ in 0..e {
        acc *= x;
    }
    acc
}

fn powers(x: &BigRational, n: usize) -> Vec<BigRational> {
    let mut v = Vec::with_capacity(n + 1);
    v.push(BigRational::one());
    for i in 1..=n {
        let t = &v[i - 1] * x;
        v.push(t);
    }
    v
}

fn sigma_exact(act: Act, p: u32, t: &BigRational) -> BigRational {
    match act {
        Act::Rect if !t.is_positive() => BigRational::zero(),
        _ => pow_r(t, p),
    }
}

/// Exact rational from an f64 (finite), rounded to a multiple of `2^-bits`.
pub fn rationalize(x: f64, bits: u32) -> BigRational {
    let scaled = (x * (2f64).powi(bits as i32)).round();
    let n = BigInt::from(scaled as i128);
    BigRational::new(n, BigInt::one() << bits)
}

pub fn check_args(p: u32, law: &Law) -> Result<(), String> {
    if !(1..=6).contains(&p) {
        return Err(format!("p = {p} not in 1..=6"));
    }
    if let Law::Beta(a, b) = law
        && (*a < 1 || *b < 1)
    {
        return Err(format!("Beta({a}, {b}): need a, b >= 1"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// densities and (partial) moments

/// Density coefficients `d_i` (f(u) = sum d_i u^i) for continuous laws.
pub fn density(law: &Law) -> Option<Vec<BigRational>> {
    match law {
        Law::Uniform => Some(vec![BigRational::one()]),
        Law::One => None,
        Law::Beta(a, b) => {
            let (a, b) = (*a, *b);
            // 1/B(a,b) = (a+b-1)! / ((a-1)! (b-1)!) = a * C(a+b-1, a) ... use factorials
            let fact = |n: u32| (1..=n).fold(BigInt::one(), |acc, i| acc * BigInt::from(i));
            let inv_b = BigRational::new(fact(a + b - 1), fact(a - 1) * fact(b - 1));
            let mut d = vec![BigRational::zero(); (a + b - 1) as usize];
            for j in 0..b {
                let c = BigRational::from_integer(binom(b - 1, j)) * &inv_b;
                let idx = (a - 1 + j) as usize;
                d[idx] = if j % 2 == 0 { c } else { -c };
            }
            Some(d)
        }
    }
}

/// `M_k = int_lo^hi u^k f(u) du` for `k = 0..=kmax`.
fn partial_moments(
    d: &[BigRational],
    lo: &BigRational,
    hi: &BigRational,
    kmax: usize,
) -> Vec<BigRational> {
    let n = kmax + d.len() + 1;
    let pl = powers(lo, n);
    let ph = powers(hi, n);
    (0..=kmax)
        .map(|k| {
            let mut s = BigRational::zero();
            for (i, di) in d.iter().enumerate() {
                if di.is_zero() {
                    continue;
                }
                let e = k + i + 1;
                s += di * (&ph[e] - &pl[e]) / ri(e as i64);
            }
            s
        })
        .collect()
}

/// Exact full moments `mu_k = E U^k`, `k = 0..=kmax` (closed forms).
pub fn moments(law: &Law, kmax: usize) -> Vec<BigRational> {
    (0..=kmax)
        .map(|k| match law {
            Law::Uniform => rq(1, k as i64 + 1),
            Law::One => BigRational::one(),
            Law::Beta(a, b) => (0..k as i64).fold(BigRational::one(), |acc, i| {
                acc * rq(*a as i64 + i, (*a + *b) as i64 + i)
            }),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// bivariate polynomials in (g, r)

/// `sum c[i][j] g^i r^j`, `i + j <= n`, stored densely `(n+1) x (n+1)`.
#[derive(Clone, Debug)]
struct Poly2 {
    n: usize,
    c: Vec<BigRational>,
}

impl Poly2 {
    fn zero(n: usize) -> Self {
        Poly2 {
            n,
            c: vec![BigRational::zero(); (n + 1) * (n + 1)],
        }
    }
    fn at(&self, i: usize, j: usize) -> &BigRational {
        &self.c[i * (self.n + 1) + j]
    }
    fn add(&mut self, i: usize, j: usize, v: BigRational) {
        self.c[i * (self.n + 1) + j] += v;
    }
    #[allow(clippy::needless_range_loop)]
    fn eval(&self, g: &BigRational, r: &BigRational) -> BigRational {
        let pg = powers(g, self.n);
        let pr = powers(r, self.n);
        let mut s = BigRational::zero();
        for i in 0..=self.n {
            for j in 0..=self.n - i {
                let c = self.at(i, j);
                if !c.is_zero() {
                    s += c * &pg[i] * &pr[j];
                }
            }
        }
        s
    }

    /// Exact coefficients of `P(gc + x, rc + y)` in `(x, y)`.
    fn shifted(&self, gc: &BigRational, rc: &BigRational) -> Poly2 {
        let n = self.n;
        let mut out = self.clone();
        let mut buf: Vec<BigRational> = Vec::with_capacity(n + 1);
        // shift in g for each power j of r
        for j in 0..=n {
            buf.clear();
            buf.extend((0..=n - j).map(|i| out.at(i, j).clone()));
            taylor_shift(&mut buf, gc);
            for (i, v) in buf.drain(..).enumerate() {
                out.c[i * (n + 1) + j] = v;
            }
        }
        // shift in r for each power i of g
        for i in 0..=n {
            buf.clear();
            buf.extend((0..=n - i).map(|j| out.at(i, j).clone()));
            taylor_shift(&mut buf, rc);
            for (j, v) in buf.drain(..).enumerate() {
                out.c[i * (n + 1) + j] = v;
            }
        }
        out
    }
}

/// In place: coefficients of `a(x)` become those of `a(x + s)`.
fn taylor_shift(a: &mut [BigRational], s: &BigRational) {
    if s.is_zero() || a.len() < 2 {
        return;
    }
    let d = a.len() - 1;
    for k in 0..d {
        for j in (k..d).rev() {
            let t = &a[j + 1] * s;
            a[j] += t;
        }
    }
}

/// `P_J(g, r) = int_J (u - (g u + r)^p)^2 f du` from the moments `m_k = M_k(J)`,
/// `k = 0..=2p`.
fn power_poly(p: u32, m: &[BigRational]) -> Poly2 {
    let n = 2 * p as usize;
    let mut q = Poly2::zero(n);
    q.add(0, 0, m[2].clone());
    for k in 0..=p {
        let c = BigRational::from_integer(binom(p, k) * BigInt::from(-2)) * &m[k as usize + 1];
        q.add(k as usize, (p - k) as usize, c);
    }
    for k in 0..=2 * p {
        let c = BigRational::from_integer(binom(2 * p, k)) * &m[k as usize];
        q.add(k as usize, (2 * p - k) as usize, c);
    }
    q
}

/// `min_{|x| <= h} (a x + b x^2)`, exactly.
fn quad_min(a: &BigRational, b: &BigRational, h: &BigRational) -> BigRational {
    let hh = h * h;
    let e1 = a * h + b * &hh;
    let e2 = -(a * h) + b * &hh;
    let mut m = if e1 < e2 { e1 } else { e2 };
    if b.is_positive() {
        let two_bh = ri(2) * b * h;
        if a.abs() <= two_bh {
            let v = -(a * a) / (ri(4) * b);
            if v < m {
                m = v;
            }
        }
    }
    m
}

/// Rigorous lower bound of `P` over `[gc-hg, gc+hg] x [rc-hr, rc+hr]`
/// (section 3 of the module docs).  Also returns `P(gc, rc)`.
#[allow(clippy::needless_range_loop)]
fn poly_box_lb(
    poly: &Poly2,
    gc: &BigRational,
    rc: &BigRational,
    hg: &BigRational,
    hr: &BigRational,
) -> (BigRational, BigRational) {
    let b = poly.shifted(gc, rc);
    let n = b.n;
    let phg = powers(hg, n);
    let phr = powers(hr, n);
    let centre = b.at(0, 0).clone();
    let mut lb = centre.clone();
    lb += quad_min(b.at(1, 0), b.at(2, 0), hg);
    lb += quad_min(b.at(0, 1), b.at(0, 2), hr);
    for i in 0..=n {
        for j in 0..=n - i {
            // constant, linear and pure quadratic terms are handled above
            if i + j < 2 || (i, j) == (2, 0) || (i, j) == (0, 2) {
                continue;
            }
            let c = b.at(i, j);
            if c.is_zero() || (i % 2 == 0 && j % 2 == 0 && c.is_positive()) {
                continue;
            }
            lb -= c.abs() * &phg[i] * &phr[j];
        }
    }
    (lb, centre)
}

// ---------------------------------------------------------------------------
// exact phi

/// `{u in [0,1] : a u + b > 0}` (strict) as a closed interval (its closure),
/// or None if empty / a single point.
fn pos_interval(a: &BigRational, b: &BigRational) -> Option<(BigRational, BigRational)> {
    let zero = BigRational::zero();
    let one = BigRational::one();
    if a.is_zero() {
        return if b.is_positive() {
            Some((zero, one))
        } else {
            None
        };
    }
    let root = -(b / a);
    let (lo, hi) = if a.is_positive() {
        (if root > zero { root } else { zero }, one)
    } else {
        (zero, if root < one { root } else { one })
    };
    if lo < hi { Some((lo, hi)) } else { None }
}

/// Intersection of two closed intervals (None if empty or a single point).
fn intersect(
    a: Option<(BigRational, BigRational)>,
    b: Option<(BigRational, BigRational)>,
) -> Option<(BigRational, BigRational)> {
    let (a0, a1) = a?;
    let (b0, b1) = b?;
    let lo = if a0 > b0 { a0 } else { b0 };
    let hi = if a1 < b1 { a1 } else { b1 };
    if lo < hi { Some((lo, hi)) } else { None }
}

/// Exact `phi(g, r) = E (U - sigma(g U + r))^2` (module docs, section 1).
///
/// Panics if `p` is not in `1..=6` or the Beta parameters are `< 1`.
pub fn phi_exact(act: Act, p: u32, law: &Law, g: &BigRational, r: &BigRational) -> BigRational {
    check_args(p, law).expect("phi_exact: invalid arguments");
    let n = 2 * p as usize;
    let d = match density(law) {
        None => {
            // Law::One
            let s = sigma_exact(act, p, &(g + r));
            let t = BigRational::one() - s;
            return &t * &t;
        }
        Some(d) => d,
    };
    let zero = BigRational::zero();
    let one = BigRational::one();
    match act {
        Act::Power => power_poly(p, &partial_moments(&d, &zero, &one, n)).eval(g, r),
        Act::Rect => {
            let mu2 = partial_moments(&d, &zero, &one, 2).swap_remove(2);
            match pos_interval(g, r) {
                None => mu2,
                Some((lo, hi)) => {
                    let m = partial_moments(&d, &lo, &hi, n);
                    mu2 - &m[2] + power_poly(p, &m).eval(g, r)
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// coercivity

fn find_lambda(mu1: &BigRational, mu2: &BigRational) -> Result<BigRational, String> {
    let (m1, m2) = (mu1.to_f64().unwrap(), mu2.to_f64().unwrap());
    let lam = ((m2 + 1.0) - ((m2 - 1.0).powi(2) + 4.0 * m1 * m1).sqrt()) / 2.0;
    let mut cand = rationalize((lam * 0.99).max(0.0), 30);
    let one = BigRational::one();
    for _ in 0..60 {
        if cand.is_positive() && &cand <= mu2 && (mu2 - &cand) * (&one - &cand) >= mu1 * mu1 {
            return Ok(cand);
        }
        cand /= ri(2);
    }
    Err("could not find a positive lambda (degenerate law?)".into())
}

struct Law1d {
    d: Vec<BigRational>,
}

impl Law1d {
    fn m2(&self, lo: &BigRational, hi: &BigRational) -> BigRational {
        partial_moments(&self.d, lo, hi, 2).swap_remove(2)
    }
    fn prob(&self, lo: &BigRational, hi: &BigRational) -> BigRational {
        partial_moments(&self.d, lo, hi, 0).swap_remove(0)
    }
}

fn find_radius(
    act: Act,
    p: u32,
    law: &Law1d,
    mu1: &BigRational,
    mu2: &BigRational,
    target: &BigRational,
) -> Result<Coercivity, String> {
    let lambda = find_lambda(mu1, mu2)?;
    let zero = BigRational::zero();
    let one = BigRational::one();
    let need_a = ri(2) * (mu2 + target);
    if act == Act::Rect && mu2 < target {
        return Err("coercivity (B) fails: mu_2 < target".into());
    }
    let s_list = [
        rq(1, 2),
        rq(1, 4),
        rq(3, 4),
        rq(1, 8),
        rq(7, 8),
        rq(1, 16),
        rq(15, 16),
    ];
    for k in 1..=400i64 {
        let radius = rq(k, 2);
        // (A)
        if pow_r(&(&lambda * &radius * &radius), p) < need_a {
            continue;
        }
        if act == Act::Power {
            return Ok(Coercivity {
                radius,
                lambda,
                s_c: None,
                s_d: None,
            });
        }
        // (C)
        let s_c = s_list.iter().find(|s| {
            let kk = pow_r(&(&radius * *s / ri(2)), p);
            law.m2(s, &one) >= *target
                && kk >= one
                && law.prob(&zero, &(*s / ri(2))) * (&kk - &one) * (&kk - &one) >= *target
        });
        // (D)
        let s_d = s_list.iter().find(|s| {
            let kk = pow_r(&(&radius * (&one - *s) / ri(2)), p);
            law.m2(&zero, s) >= *target
                && kk >= one
                && law.prob(&((&one + *s) / ri(2)), &one) * (&kk - &one) * (&kk - &one) >= *target
        });
        if let (Some(sc), Some(sd)) = (s_c, s_d) {
            return Ok(Coercivity {
                radius,
                lambda,
                s_c: Some(sc.clone()),
                s_d: Some(sd.clone()),
            });
        }
    }
    Err("coercivity: no radius <= 200 works for this target".into())
}

// ---------------------------------------------------------------------------
// branch and bound

/// Why a certification attempt failed.
#[derive(Clone, Debug)]
pub enum FloorError {
    /// The target is false: `phi(g, r) = value < target` at this exact point.
    Refuted {
        g: BigRational,
        r: BigRational,
        value: BigRational,
    },
    /// Work limit reached or another failure.
    Other(String),
}

impl std::fmt::Display for FloorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FloorError::Refuted { g, r, value } => write!(
                f,
                "target refuted: phi({g}, {r}) = {value} (~{:.10e}) is below it",
                value.to_f64().unwrap_or(f64::NAN)
            ),
            FloorError::Other(s) => write!(f, "{s}"),
        }
    }
}

struct Ctx {
    act: Act,
    p: u32,
    law: Law,
    d: Vec<BigRational>,
    mu2: BigRational,
    full: Poly2,
    binom_p: Vec<BigRational>,
}

impl Ctx {
    /// Lower bound on the box, and (when cheaply available) phi at its centre.
    fn box_lb(
        &self,
        g0: &BigRational,
        g1: &BigRational,
        r0: &BigRational,
        r1: &BigRational,
    ) -> (BigRational, Option<BigRational>) {
        let two = ri(2);
        let gc = (g0 + g1) / &two;
        let rc = (r0 + r1) / &two;
        let hg = (g1 - g0) / &two;
        let hr = (r1 - r0) / &two;
        let n = 2 * self.p as usize;
        if self.act == Act::Power || (!r0.is_negative() && !(g0 + r0).is_negative()) {
            let (lb, c) = poly_box_lb(&self.full, &gc, &rc, &hg, &hr);
            return (lb, Some(c));
        }
        if !r1.is_positive() && !(g1 + r1).is_positive() {
            return (self.mu2.clone(), Some(self.mu2.clone()));
        }
        // mixed rect box
        let zero = BigRational::zero();
        let one = BigRational::one();
        let mut lb = BigRational::zero();
        // S+ = {g0 u + r0 >= 0}: closure of the strict set suffices (measure zero),
        // except g0 = r0 = 0 where S+ = [0,1].
        let s_plus = if g0.is_zero() && r0.is_zero() {
            Some((zero.clone(), one.clone()))
        } else {
            pos_interval(g0, r0)
        };
        if let Some((lo, hi)) = &s_plus {
            let m = partial_moments(&self.d, lo, hi, n);
            let poly = power_poly(self.p, &m);
            lb += poly_box_lb(&poly, &gc, &rc, &hg, &hr).0;
        }
        // S- = {g1 u + r1 <= 0}
        if let Some((lo, hi)) = pos_interval(&-g1, &-r1) {
            lb += partial_moments(&self.d, &lo, &hi, 2).swap_remove(2);
        }
        // Amb = {g0 u + r0 < 0 < g1 u + r1}
        if let Some((lo, hi)) = intersect(pos_interval(&-g0, &-r0), pos_interval(g1, r1)) {
            let m = partial_moments(&self.d, &lo, &hi, self.p as usize + 1);
            let pg = powers(g1, self.p as usize);
            let pr = powers(r1, self.p as usize);
            let mut v = m[2].clone();
            for k in 0..=self.p as usize {
                v -= ri(2) * &self.binom_p[k] * &pg[k] * &pr[self.p as usize - k] * &m[k + 1];
            }
            if v.is_positive() {
                lb += v;
            }
        }
        (lb, None)
    }
}

/// A box waiting to be split, ordered so that `BinaryHeap` pops the smallest
/// lower bound first.
struct Pending {
    lb: BigRational,
    centre: Option<BigRational>,
    bx: [BigRational; 4],
    depth: u32,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        self.lb == o.lb
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> Ordering {
        o.lb.cmp(&self.lb)
    }
}

/// The exact proof alone (no floating-point pre-check): coercivity radius,
/// then best-first branch and bound over `[-R, R]^2`.  `max_boxes` bounds the
/// number of boxes examined; exceeding it is an `Err`, never a hang.
#[allow(clippy::result_large_err)] // the refutation carries three exact rationals
pub fn certify_floor_with_limit(
    act: Act,
    p: u32,
    law: &Law,
    target: &BigRational,
    max_boxes: usize,
) -> Result<FloorCertificate, FloorError> {
    check_args(p, law).map_err(FloorError::Other)?;
    let max_boxes = box_limit(p, law, max_boxes);
    let zero = BigRational::zero();
    let one = BigRational::one();
    let trivial = |e: &BigRational| FloorCertificate {
        act,
        p,
        law: *law,
        e_lb: e.clone(),
        boxes: 0,
        visited: 0,
        max_depth: 0,
        box_outer: [zero.clone(), zero.clone(), zero.clone(), zero.clone()],
        coercivity: None,
        witness: None,
    };
    // phi(1, 0) = 0 for p = 1 or Law::One (and is a cheap sanity point otherwise).
    let v10 = phi_exact(act, p, law, &one, &zero);
    if &v10 < target {
        return Err(FloorError::Refuted {
            g: one,
            r: zero,
            value: v10,
        });
    }
    if !target.is_positive() {
        return Ok(trivial(target));
    }
    let d = density(law).ok_or_else(|| FloorError::Other("unreachable: point mass".into()))?;
    let n = 2 * p as usize;
    let m = partial_moments(&d, &zero, &one, n);
    let ctx = Ctx {
        act,
        p,
        law: *law,
        mu2: m[2].clone(),
        full: power_poly(p, &m),
        binom_p: (0..=p)
            .map(|k| BigRational::from_integer(binom(p, k)))
            .collect(),
        d: d.clone(),
    };
    let law1 = Law1d { d };
    let coer = find_radius(act, p, &law1, &m[1], &m[2], target).map_err(FloorError::Other)?;
    let rad = coer.radius.clone();
    let outer = [-rad.clone(), rad.clone(), -rad.clone(), rad.clone()];
    // Best-first search: always examine the pending box with the smallest
    // lower bound.  (Depth-first would chase the level set {phi = target}
    // forever when the target is false; best-first refines around the
    // minimiser and finds a counterexample quickly.)
    let mut heap: BinaryHeap<Pending> = BinaryHeap::new();
    let (mut visited, mut accepted, mut max_depth) = (1usize, 0usize, 0u32);
    let (lb, centre) = ctx.box_lb(&outer[0], &outer[1], &outer[2], &outer[3]);
    if &lb >= target {
        accepted += 1;
    } else {
        heap.push(Pending {
            lb,
            centre,
            bx: outer.clone(),
            depth: 0,
        });
    }
    let two = ri(2);
    while let Some(Pending {
        centre, bx, depth, ..
    }) = heap.pop()
    {
        let [g0, g1, r0, r1] = &bx;
        let gc = (g0 + g1) / &two;
        let rc = (r0 + r1) / &two;
        let cv = centre.unwrap_or_else(|| phi_exact(ctx.act, ctx.p, &ctx.law, &gc, &rc));
        if &cv < target {
            return Err(FloorError::Refuted {
                g: gc,
                r: rc,
                value: cv,
            });
        }
        let children = if g1 - g0 >= r1 - r0 {
            [
                [g0.clone(), gc.clone(), r0.clone(), r1.clone()],
                [gc, g1.clone(), r0.clone(), r1.clone()],
            ]
        } else {
            [
                [g0.clone(), g1.clone(), r0.clone(), rc.clone()],
                [g0.clone(), g1.clone(), rc, r1.clone()],
            ]
        };
        for ch in children {
            visited += 1;
            if visited > max_boxes {
                return Err(FloorError::Other(format!(
                    "work limit of {max_boxes} boxes reached (accepted {accepted}, depth {max_depth})"
                )));
            }
            max_depth = max_depth.max(depth + 1);
            let (lb, centre) = ctx.box_lb(&ch[0], &ch[1], &ch[2], &ch[3]);
            if &lb >= target {
                accepted += 1;
            } else {
                heap.push(Pending {
                    lb,
                    centre,
                    bx: ch,
                    depth: depth + 1,
                });
            }
        }
    }
    Ok(FloorCertificate {
        act,
        p,
        law: *law,
        e_lb: target.clone(),
        boxes: accepted,
        visited,
        max_depth,
        box_outer: outer,
        coercivity: Some(coer),
        witness: None,
    })
}

// ---------------------------------------------------------------------------
// untrusted f64 search

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiny deterministic generator (tests only).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, den: i64, lo: i64, hi: i64) -> BigRational {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let span = (hi - lo) as u64;
            rq(lo + ((self.0 >> 33) % span) as i64, den)
        }
    }

    fn ctx(act: Act, p: u32, law: &Law) -> Ctx {
        let d = density(law).unwrap();
        let m = partial_moments(&d, &ri(0), &ri(1), 2 * p as usize);
        Ctx {
            act,
            p,
            law: *law,
            mu2: m[2].clone(),
            full: power_poly(p, &m),
            binom_p: (0..=p)
                .map(|k| BigRational::from_integer(binom(p, k)))
                .collect(),
            d,
        }
    }

    #[test]
    fn shift_is_exact() {
        let m = moments(&Law::Beta(2, 3), 6);
        let poly = power_poly(3, &m);
        let (gc, rc) = (rq(3, 8), rq(-5, 16));
        let sh = poly.shifted(&gc, &rc);
        for (x, y) in [(rq(1, 3), rq(2, 7)), (rq(-5, 2), rq(1, 9))] {
            assert_eq!(sh.eval(&x, &y), poly.eval(&(&gc + &x), &(&rc + &y)));
        }
        // full moments agree with the closed form
        let d = density(&Law::Beta(3, 2)).unwrap();
        assert_eq!(
            partial_moments(&d, &ri(0), &ri(1), 6),
            moments(&Law::Beta(3, 2), 6)
        );
    }

    /// The box lower bound never exceeds phi at points of the box
    /// (random boxes straddling the rect kink lines included).
    #[test]
    fn box_lb_is_a_lower_bound() {
        let mut rng = Lcg(12345);
        for law in [Law::Uniform, Law::Beta(2, 3)] {
            for act in [Act::Power, Act::Rect] {
                for p in [2, 3] {
                    let c = ctx(act, p, &law);
                    for _ in 0..150 {
                        let g0 = rng.next(64, -128, 128);
                        let r0 = rng.next(64, -128, 128);
                        let w = rng.next(256, 1, 256);
                        let (g1, r1) = (&g0 + &w, &r0 + &w);
                        let (lb, centre) = c.box_lb(&g0, &g1, &r0, &r1);
                        for _ in 0..6 {
                            let t = rng.next(100, 0, 101);
                            let u = rng.next(100, 0, 101);
                            let g = &g0 + &t * &w;
                            let r = &r0 + &u * &w;
                            let v = phi_exact(act, p, &law, &g, &r);
                            assert!(lb <= v, "{act:?} {p} {law:?} box {g0} {r0} {w}");
                        }
                        if let Some(cv) = centre {
                            let two = ri(2);
                            let gc = (&g0 + &g1) / &two;
                            let rc = (&r0 + &r1) / &two;
                            assert_eq!(cv, phi_exact(act, p, &law, &gc, &rc));
                        }
                    }
                }
            }
        }
    }
}
