//! Finding LP certificates (untrusted): the linear programme in `f64` with `clarabel` on a grid
//! of `[-1, 1]` refined where `q` touches `f`, then exact candidates (the power activation's
//! `q = f`, continued-fraction and dyadic roundings, `q_0` lowered by a margin). Every candidate
//! is decided by the kernel ([`crate::kernel::certificate::verify`]); only a verified certificate
//! is ever returned.

use crate::kernel::certificate::{Certificate, MAX_DEGREE, bound_from, gap_pieces, verify};
use crate::kernel::closed_form::c_p;
use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Activation, Setting};
use crate::kernel::roots::nonnegative_on;
use num_bigint::BigInt;
use num_rational::BigRational;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Default degree of the LP polynomial.
pub const DEFAULT_DEGREE: usize = 12;
/// Most local minima of `f - q` added to the LP's grid per refinement round.
const MAX_REFINE: usize = 64;
/// Most rounds of the LP's grid refinement ([`solve_lp`]).
const LP_ROUNDS: usize = 10;
/// Bits of the dyadic rounding of the LP solution.
pub const ROUND_BITS: usize = 44;

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}

/// `f(t)`: `t^{2p}` or `max(t, 0)^{2p}`.
fn f_of(act: Activation, p: u32, t: f64) -> f64 {
    match act {
        Activation::Power => t.powi(2 * p as i32),
        Activation::Rect => t.max(0.0).powi(2 * p as i32),
    }
}

/// `P_0(t)..P_D(t)` in `f64` by the recurrence.
fn gegenbauer_values(m: usize, degree: usize, t: f64) -> Vec<f64> {
    let mut v = vec![1.0; degree + 1];
    if degree >= 1 {
        v[1] = t;
    }
    for k in 1..degree {
        let (kf, mf) = (k as f64, m as f64);
        v[k + 1] = ((2.0 * kf + mf - 2.0) * t * v[k] - kf * v[k - 1]) / (kf + mf - 2.0);
    }
    v
}

/// Solves the LP in `f64`: maximise `beta = q_0 (1 - 1/n) - sum_{k>=1} q_k / n` (+ `1/n`) subject
/// to `q(t) <= f(t)` on the grid and `q_k >= 0` (`k >= 1`), refining the grid where `q` touches `f`:
/// each round adds the local minima of `f - q` (located by Newton's method, so the next solution is
/// constrained exactly where the last one dipped) and their neighbours, until the deepest dip is
/// above `-1e-14` or `LP_ROUNDS` rounds have run.
pub fn solve_lp(st: &Setting, degree: usize) -> Result<Vec<f64>> {
    use clarabel::algebra::CscMatrix;
    use clarabel::solver::{
        DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus,
    };
    let (act, p, n, m) = (st.model.act, st.model.p, st.n as f64, st.m);
    let cols = degree + 1;
    let mut grid: Vec<f64> = (0..=800)
        .map(|j| (std::f64::consts::PI * j as f64 / 800.0).cos())
        .collect();
    grid.extend([0.0, 1.0, -1.0]);
    let mut sol = vec![0.0; cols];
    for round in 0..LP_ROUNDS {
        let rows = grid.len() + degree;
        // Dense column-major A: grid rows, then -q_k <= 0 for k >= 1.
        let mut dense = vec![vec![0.0; rows]; cols];
        for (r, &t) in grid.iter().enumerate() {
            for (k, v) in gegenbauer_values(m, degree, t).into_iter().enumerate() {
                dense[k][r] = v;
            }
        }
        for k in 1..cols {
            dense[k][grid.len() + k - 1] = -1.0;
        }
        let (mut colptr, mut rowval, mut nzval) = (vec![0], Vec::new(), Vec::new());
        for col in &dense {
            for (r, &v) in col.iter().enumerate() {
                if v != 0.0 {
                    rowval.push(r);
                    nzval.push(v);
                }
            }
            colptr.push(rowval.len());
        }
        let a = CscMatrix::new(rows, cols, colptr, rowval, nzval);
        let mut b: Vec<f64> = grid.iter().map(|&t| f_of(act, p, t)).collect();
        b.extend(std::iter::repeat_n(0.0, degree));
        let mut c = vec![1.0 / n; cols];
        c[0] = -(1.0 - 1.0 / n);
        let pmat = CscMatrix::<f64>::zeros((cols, cols));
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .tol_gap_abs(1e-12)
            .tol_gap_rel(1e-12)
            .tol_feas(1e-12)
            .max_iter(200)
            .build()
            .map_err(|e| Error::input(format!("LP settings: {e:?}")))?;
        let mut solver = DefaultSolver::new(&pmat, &c, &a, &b, &[NonnegativeConeT(rows)], settings)
            .map_err(|e| Error::input(format!("LP setup: {e:?}")))?;
        solver.solve();
        match solver.solution.status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => {}
            other => {
                return Err(Error::input(format!(
                    "the LP solver did not converge ({other:?})"
                )));
            }
        }
        sol = solver.solution.x.clone();
        if round == LP_ROUNDS - 1 {
            break;
        }
        // Refine: add the local minima of f - q on a fine grid where it is nearly zero.
        let fine = 20_000;
        let gap = |t: f64| {
            let v = gegenbauer_values(m, degree, t);
            f_of(act, p, t) - v.iter().zip(&sol).map(|(a, b)| a * b).sum::<f64>()
        };
        let vals: Vec<(f64, f64)> = (0..=fine)
            .map(|j| {
                let t = -1.0 + 2.0 * j as f64 / fine as f64;
                (t, gap(t))
            })
            .collect();
        // Where q = f on a whole interval (the power activation with 2p <= degree) every fine
        // point is such a minimum, and thousands of rows made the LP take seconds: at most
        // MAX_REFINE of them (the smallest gaps) are added per round.
        let mut minima: Vec<&[(f64, f64)]> = vals
            .windows(3)
            .filter(|w| w[1].1 <= w[0].1 && w[1].1 <= w[2].1 && w[1].1 < 1e-6)
            .collect();
        // q = f on an interval (many minima): no isolated touches to resolve further.
        let isolated = minima.len() <= degree + 2;
        if minima.len() > MAX_REFINE {
            minima.sort_by(|a, b| a[1].1.total_cmp(&b[1].1));
            minima.truncate(MAX_REFINE);
            minima.sort_by(|a, b| a[1].0.total_cmp(&b[1].0));
        }
        let scale = sol.iter().map(|x| x.abs()).fold(1.0, f64::max);
        let mut deepest = 0.0f64;
        for w in &minima {
            let t = newton_minimum(act, p, m, &sol, w[1].0);
            deepest = deepest.min(gap_derivatives(act, p, m, &sol, t)[0]);
            grid.push(t);
        }
        if round >= 3 && (!isolated || deepest > -1e-14 * scale) {
            break;
        }
        for w in minima {
            grid.push(w[1].0);
            grid.push((w[1].0 + w[0].0) / 2.0);
            grid.push((w[1].0 + w[2].0) / 2.0);
        }
    }
    Ok(sol)
}

/// The simplest rational within the continued-fraction convergents of `x` whose denominator is
/// at most `max_den` (the last convergent that fits).
pub fn simple_rational(x: f64, max_den: i64) -> BigRational {
    let exact = <f64 as crate::kernel::arith::Scalar>::to_rational(&x).unwrap_or_else(|| q(0, 1));
    let (mut h0, mut h1) = (BigInt::from(0), BigInt::from(1));
    let (mut k0, mut k1) = (BigInt::from(1), BigInt::from(0));
    let mut rest = exact.clone();
    let max = BigInt::from(max_den);
    let mut best = q(0, 1);
    for _ in 0..64 {
        let a = rest.floor().to_integer();
        let (h2, k2) = (&a * &h1 + &h0, &a * &k1 + &k0);
        if k2 > max {
            break;
        }
        best = BigRational::new(h2.clone(), k2.clone());
        (h0, h1, k0, k1) = (h1, h2, k1, k2);
        let frac = &rest - BigRational::from_integer(a);
        if num_traits::Zero::is_zero(&frac) {
            break;
        }
        rest = frac.recip();
    }
    best
}

/// Makes `coefficients` verify by lowering `q_0` by the smallest margin of the form `2^-j` that
/// passes the exact check, starting near the `f64` estimate of the most negative gap.
fn with_margin(st: &Setting, mut coefficients: Vec<BigRational>) -> Option<Certificate> {
    for c in coefficients.iter_mut().skip(1) {
        if *c < q(0, 1) {
            *c = q(0, 1);
        }
    }
    let (act, p, m, degree) = (st.model.act, st.model.p, st.m, coefficients.len() - 1);
    let cf: Vec<f64> = coefficients
        .iter()
        .map(crate::kernel::arith::rational_to_f64)
        .collect();
    let worst = (0..=20_000)
        .map(|j| {
            let t = -1.0 + j as f64 / 10_000.0;
            let v = gegenbauer_values(m, degree, t);
            f_of(act, p, t) - v.iter().zip(&cf).map(|(a, b)| a * b).sum::<f64>()
        })
        .fold(0.0, f64::min);
    let ok = |c: &[BigRational]| {
        gap_pieces(st, c)
            .iter()
            .all(|(poly, lo, hi)| nonnegative_on(&poly.0, lo, hi) == Ok(true))
    };
    let mut margins = vec![q(0, 1)];
    let start = if worst < 0.0 {
        (-worst).log2().floor() as i64 - 2
    } else {
        -60
    };
    margins.extend((start.max(-200)..=4).map(|e| {
        if e >= 0 {
            BigRational::from_integer(BigInt::from(1) << e as usize)
        } else {
            BigRational::new(BigInt::from(1), BigInt::from(1) << (-e) as usize)
        }
    }));
    for margin in margins {
        let mut trial = coefficients.clone();
        trial[0] = &trial[0] - &margin;
        if ok(&trial) {
            let lower = bound_from(st, &trial)?;
            let cert = Certificate {
                setting: *st,
                coefficients: trial,
                lower,
            };
            return verify(&cert).is_ok().then_some(cert);
        }
    }
    None
}

/// Solves, rounds and verifies: the best of several exact candidates that pass [`verify`] — for
/// the power activation `q = f` itself (Theorem 1's certificate), the LP solution rounded to
/// simple rationals (continued fractions, which often recover the exact optimum), and rounded
/// to dyadics — or an error.
pub fn certify(st: &Setting, degree: usize) -> Result<Certificate> {
    if degree > MAX_DEGREE {
        return Err(Error::too_large(format!(
            "degree {degree} is above the limit {MAX_DEGREE}"
        )));
    }
    if degree < 1 {
        return Err(Error::input("degree must be at least 1"));
    }
    if st.m < 2 {
        return Err(Error::input(
            "the LP bound needs m >= 2 (in R^1 every cosine is +-1)",
        ));
    }
    // Closed-form cases need no LP: where a construction attains the self bound `n (mu_2 - c_p)`
    // (orthogonal columns for n <= m; antipodal pairs for the rectified activation, n <= 2m) the
    // certificate q = 0 is optimal, and for the power activation with p = 1 Theorem 1's q = f is
    // attained (principal subspace). The kernel still verifies it.
    let (act, p) = (st.model.act, st.model.p);
    let trivial = match act {
        Activation::Power if p == 1 && degree >= 2 => {
            let mut c = crate::kernel::gegenbauer::even_power_coefficients(st.m, p);
            c.resize(degree + 1, q(0, 1));
            Some(c)
        }
        Activation::Power if st.n <= st.m => Some(vec![q(0, 1); degree + 1]),
        Activation::Rect if st.n <= 2 * st.m => Some(vec![q(0, 1); degree + 1]),
        _ => None,
    };
    if let Some(c) = trivial
        && let Some(lower) = bound_from(st, &c)
    {
        let cert = Certificate {
            setting: *st,
            coefficients: c,
            lower,
        };
        if verify(&cert).is_ok() {
            return Ok(cert);
        }
    }
    let sol = solve_lp(st, degree)?;
    let mut candidates: Vec<Vec<BigRational>> = Vec::new();
    if st.model.act == Activation::Power && degree >= 2 * st.model.p as usize {
        let mut c = crate::kernel::gegenbauer::even_power_coefficients(st.m, st.model.p);
        c.resize(degree + 1, q(0, 1));
        candidates.push(c);
    }
    // The active-set polish, first, with a few thresholds for what counts as active (the
    // interior-point solution has no exact zeros): the best polished values first, each as
    // simple rationals (exact optima such as 7/16) and then exactly.
    let n = st.n as f64;
    let value_of = |c: &[f64]| {
        let beta = c[0] + (1.0 - c.iter().sum::<f64>()) / n;
        n * crate::kernel::arith::rational_to_f64(&st.model.mu(2))
            - crate::kernel::arith::rational_to_f64(&c_p(&st.model)) / beta
    };
    let mut polished: Vec<(f64, Vec<f64>)> =
        [(1e-9, 1e-6), (1e-7, 1e-6), (1e-5, 1e-5), (1e-11, 1e-8)]
            .into_iter()
            .filter_map(|(active, touch)| polish(st, &sol, active, touch))
            .map(|c| (value_of(&c), c))
            .filter(|(v, _)| v.is_finite())
            .collect();
    polished.sort_by(|a, b| b.0.total_cmp(&a.0));
    polished.dedup_by(|a, b| (a.0 - b.0).abs() <= 1e-15 * a.0.abs());
    for (_, pol) in &polished {
        for max_den in [1_000, 100_000, 10_000_000] {
            candidates.push(pol.iter().map(|&x| simple_rational(x, max_den)).collect());
        }
        candidates.push(
            pol.iter()
                .map(|x| {
                    <f64 as crate::kernel::arith::Scalar>::to_rational(x).unwrap_or_else(|| q(0, 1))
                })
                .collect(),
        );
    }
    for max_den in [1_000, 100_000, 10_000_000] {
        candidates.push(sol.iter().map(|&x| simple_rational(x, max_den)).collect());
    }
    // The LP solution projected onto its touching conditions, exactly as computed.
    if let Some(pr) = project(st, &sol) {
        candidates.push(
            pr.iter()
                .map(|x| {
                    <f64 as crate::kernel::arith::Scalar>::to_rational(x).unwrap_or_else(|| q(0, 1))
                })
                .collect(),
        );
    }
    let den = BigInt::from(1) << ROUND_BITS;
    candidates.push(
        sol.iter()
            .map(|&x| {
                let exact = <f64 as crate::kernel::arith::Scalar>::to_rational(&x)
                    .unwrap_or_else(|| q(0, 1));
                crate::kernel::arith::round_to_denominator(&exact, &den)
            })
            .collect(),
    );
    // The f64 LP optimum: stop at the first verified candidate within 1e-9 relative of it.
    // With a polish, the best polished value (accurate to rounding) is the target, to 1e-13.
    let (target, tolerance) = match polished.first() {
        Some((v, _)) => (*v, 1e-13),
        None => (value_of(&sol), 1e-9),
    };
    let mut best: Option<Certificate> = None;
    for c in candidates {
        let Some(cert) = with_margin(st, c) else {
            continue;
        };
        let value = crate::kernel::arith::rational_to_f64(&cert.lower);
        let good_enough = value >= target - tolerance * target.abs();
        if best.as_ref().is_none_or(|b| cert.lower > b.lower) {
            best = Some(cert);
        }
        if good_enough {
            break;
        }
    }
    best.ok_or_else(|| Error::input("could not verify any rounding of the LP solution"))
}

/// The degree chosen adaptively: [`certify`] at the default degree, then 4 and 8 higher while
/// the certified bound still rises by more than `1e-12` relative; the best certificate (its
/// degree is the length of its coefficients).
pub fn certify_adaptive(st: &Setting) -> Result<Certificate> {
    let d0 = default_degree(st);
    let mut best = certify(st, d0)?;
    for degree in [d0 + 4, d0 + 8] {
        let Ok(cert) = certify(st, degree) else {
            break;
        };
        let rose = cert.lower > best.lower
            && crate::kernel::arith::rational_to_f64(&((&cert.lower - &best.lower) / &cert.lower))
                > 1e-12;
        if cert.lower > best.lower {
            best = cert;
        }
        if !rose {
            break;
        }
    }
    Ok(best)
}

/// [`certify_adaptive`], memoised per process.
pub fn certified_adaptive(st: &Setting) -> Option<Certificate> {
    certified_with(st, usize::MAX, || certify_adaptive(st).ok())
}

/// Certificates computed in this process, by setting and degree.
type Cache = Mutex<HashMap<(Setting, usize), Option<Certificate>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// [`certify`], memoised per process (`None` where the LP fails or gives no bound).
pub fn certified(st: &Setting, degree: usize) -> Option<Certificate> {
    certified_with(st, degree, || certify(st, degree).ok())
}

fn certified_with(
    st: &Setting,
    key: usize,
    compute: impl FnOnce() -> Option<Certificate>,
) -> Option<Certificate> {
    if let Some(hit) = cache().lock().ok()?.get(&(*st, key)) {
        return hit.clone();
    }
    let cert = compute();
    if let Ok(mut c) = cache().lock() {
        c.insert((*st, key), cert.clone());
    }
    cert
}

/// The default degree for a model: at least 12 and at least `2p`.
pub fn default_degree(st: &Setting) -> usize {
    DEFAULT_DEGREE.max(2 * st.model.p as usize)
}

/// `P_k`, `P_k'` and `P_k''` at `t` for `k = 0..=degree` (the recurrence differentiated).
fn gegenbauer_derivatives(m: usize, degree: usize, t: f64) -> [Vec<f64>; 3] {
    let (mut v, mut d1, mut d2) = (
        vec![1.0; degree + 1],
        vec![0.0; degree + 1],
        vec![0.0; degree + 1],
    );
    if degree >= 1 {
        v[1] = t;
        d1[1] = 1.0;
    }
    for k in 1..degree {
        let (kf, mf) = (k as f64, m as f64);
        let (a, c) = (2.0 * kf + mf - 2.0, kf + mf - 2.0);
        v[k + 1] = (a * t * v[k] - kf * v[k - 1]) / c;
        d1[k + 1] = (a * (v[k] + t * d1[k]) - kf * d1[k - 1]) / c;
        d2[k + 1] = (a * (2.0 * d1[k] + t * d2[k]) - kf * d2[k - 1]) / c;
    }
    [v, d1, d2]
}

/// `f`, `f'` and `f''` at `t`.
fn f_derivatives(act: Activation, p: u32, t: f64) -> [f64; 3] {
    let e = 2 * p as i32;
    if act == Activation::Rect && t <= 0.0 {
        return [0.0; 3];
    }
    let (ef, tt) = (e as f64, t);
    [
        tt.powi(e),
        ef * tt.powi(e - 1),
        if e >= 2 {
            ef * (ef - 1.0) * tt.powi(e - 2)
        } else {
            0.0
        },
    ]
}

/// A Levenberg–Marquardt step for `J dx = r` (`J` row-major, any shape, possibly rank
/// deficient): `(J^T J + mu I) dx = J^T r` with a tiny `mu`, by Gaussian elimination with
/// partial pivoting, in `f64`.
fn levenberg_step(j: &[Vec<f64>], r: &[f64]) -> Option<Vec<f64>> {
    let cols = j.first()?.len();
    let mut a: Vec<Vec<f64>> = (0..cols)
        .map(|x| {
            (0..cols)
                .map(|y| j.iter().map(|row| row[x] * row[y]).sum())
                .collect()
        })
        .collect();
    let mut b: Vec<f64> = (0..cols)
        .map(|x| j.iter().zip(r).map(|(row, ri)| row[x] * ri).sum())
        .collect();
    let diag = (0..cols).map(|k| a[k][k]).fold(0.0, f64::max);
    if diag.is_nan() || diag <= 0.0 || !diag.is_finite() {
        return None;
    }
    for (k, row) in a.iter_mut().enumerate() {
        row[k] += 1e-14 * diag;
    }
    for k in 0..cols {
        let piv = (k..cols).max_by(|&x, &y| a[x][k].abs().total_cmp(&a[y][k].abs()))?;
        a.swap(k, piv);
        b.swap(k, piv);
        if a[k][k] == 0.0 {
            return None;
        }
        let (top, rest) = a.split_at_mut(k + 1);
        let pivot = &top[k];
        for (i, row) in rest.iter_mut().enumerate() {
            let f = row[k] / pivot[k];
            if f != 0.0 {
                for (x, y) in row[k..].iter_mut().zip(&pivot[k..]) {
                    *x -= f * y;
                }
                b[k + 1 + i] -= f * b[k];
            }
        }
    }
    let mut x = vec![0.0; cols];
    for k in (0..cols).rev() {
        let s = b[k] - (k + 1..cols).map(|c| a[k][c] * x[c]).sum::<f64>();
        x[k] = s / a[k][k];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// `f - q`, `(f - q)'` and `(f - q)''` at `t`, in `f64`.
fn gap_derivatives(act: Activation, p: u32, m: usize, c: &[f64], t: f64) -> [f64; 3] {
    let [v, d1, d2] = gegenbauer_derivatives(m, c.len() - 1, t);
    let [f0, f1, f2] = f_derivatives(act, p, t);
    let dot = |x: &[f64]| x.iter().zip(c).map(|(a, b)| a * b).sum::<f64>();
    [f0 - dot(&v), f1 - dot(&d1), f2 - dot(&d2)]
}

/// Newton's method on `(f - q)' = 0` from `t` (kept in `[-1, 1]`; stops where the gap is not
/// convex).
fn newton_minimum(act: Activation, p: u32, m: usize, c: &[f64], t: f64) -> f64 {
    let mut x = t;
    for _ in 0..50 {
        let [_, g1, g2] = gap_derivatives(act, p, m, c, x);
        if g2 <= 0.0 {
            break;
        }
        let step = g1 / g2;
        x = (x - step).clamp(-1.0, 1.0);
        if step.abs() < 1e-17 {
            break;
        }
    }
    x
}

/// Projects an `f64` LP solution onto its touching conditions without choosing an active set:
/// at every local minimum `t` of `f - q` below `1e-8` (Newton-refined), `q(t) = f(t)` and
/// `q'(t) = f'(t)` (at an end of `[-1, 1]` only the value), by minimum-norm Gauss–Newton steps on
/// the coefficients that are not (nearly) zero. The LP solution of a refined grid is optimal to
/// about `1e-11` but dips below `f` by as much between grid points; the projection moves it by
/// that much and leaves the dips at rounding level. Negative results are set to 0; the kernel
/// decides anyway. `None` when a step fails.
pub fn project(st: &Setting, sol: &[f64]) -> Option<Vec<f64>> {
    let (act, p, m, degree) = (st.model.act, st.model.p, st.m, sol.len() - 1);
    let scale = sol.iter().map(|x| x.abs()).fold(1.0, f64::max);
    let free: Vec<usize> = (0..=degree)
        .filter(|&k| k == 0 || sol[k] > 1e-13 * scale)
        .collect();
    let mut c = sol.to_vec();
    let fine = 20_000;
    for _ in 0..6 {
        let vals: Vec<f64> = (0..=fine)
            .map(|j| gap_derivatives(act, p, m, &c, -1.0 + 2.0 * j as f64 / fine as f64)[0])
            .collect();
        let (mut jac, mut res) = (Vec::new(), Vec::new());
        let mut last_inner = f64::NAN;
        for j in 0..=fine {
            let g = vals[j];
            let left = j == 0 || vals[j - 1] >= g;
            let right = j == fine || vals[j + 1] >= g;
            if g > 1e-8 * scale || !(left && right) {
                continue;
            }
            let t0 = -1.0 + 2.0 * j as f64 / fine as f64;
            let t = if j == 0 || j == fine {
                t0
            } else {
                newton_minimum(act, p, m, &c, t0)
            };
            let [v, d1, _] = gegenbauer_derivatives(m, degree, t);
            let [g0, g1, _] = gap_derivatives(act, p, m, &c, t);
            if t.abs() < 1.0 {
                if (t - last_inner).abs() < 1e-9 || g0 > 1e-8 * scale {
                    continue;
                }
                last_inner = t;
                jac.push(free.iter().map(|&k| d1[k]).collect::<Vec<f64>>());
                res.push(g1);
            }
            jac.push(free.iter().map(|&k| v[k]).collect::<Vec<f64>>());
            res.push(g0);
            // q = f on a whole interval (the power activation's Theorem 1 certificate):
            // nothing to project onto.
            if res.len() > 2 * (degree + 2) {
                return None;
            }
        }
        let norm = res.iter().map(|x: &f64| x.abs()).fold(0.0, f64::max);
        if res.is_empty() || norm < 1e-17 * scale {
            break;
        }
        // Minimum norm: dc = J^T (J J^T)^-1 r.
        let jjt: Vec<Vec<f64>> = jac
            .iter()
            .map(|a| {
                jac.iter()
                    .map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum())
                    .collect()
            })
            .collect();
        let y = levenberg_step(&jjt, &res)?;
        for (i, &k) in free.iter().enumerate() {
            c[k] += jac.iter().zip(&y).map(|(row, yi)| row[i] * yi).sum::<f64>();
        }
    }
    for x in c.iter_mut().skip(1) {
        *x = x.max(0.0);
    }
    c.iter().all(|x| x.is_finite()).then_some(c)
}

/// Polishes an `f64` LP solution on its active set: the coefficients `q_k > 0` (and `q_0`) and
/// the points where `f - q` touches 0 (interior touches are double roots: `q = f`, `q' = f'`;
/// touches at an end of `[-1, 1]`: `q = f`), solved by Gauss–Newton in `f64` so that the
/// touching holds to rounding. The solution of that system is the LP vertex when the active
/// set is the optimum's; the kernel decides anyway. `None` when no active set is recognised or
/// the iteration does not converge.
pub fn polish(st: &Setting, sol: &[f64], active_tol: f64, touch_tol: f64) -> Option<Vec<f64>> {
    let (act, p, m, degree) = (st.model.act, st.model.p, st.m, sol.len() - 1);
    let gap = |c: &[f64], t: f64| {
        let [v, d1, d2] = gegenbauer_derivatives(m, degree, t);
        let [f0, f1, f2] = f_derivatives(act, p, t);
        let dot = |x: &[f64]| x.iter().zip(c).map(|(a, b)| a * b).sum::<f64>();
        (f0 - dot(&v), f1 - dot(&d1), f2 - dot(&d2))
    };
    let scale = sol.iter().map(|x| x.abs()).fold(1.0, f64::max);
    // Touch points: local minima of the gap on a fine grid where it is nearly 0.
    let fine = 4000;
    let vals: Vec<(f64, f64)> = (0..=fine)
        .map(|j| {
            let t = -1.0 + 2.0 * j as f64 / fine as f64;
            (t, gap(sol, t).0)
        })
        .collect();
    let tol = touch_tol * scale;
    let mut ends = Vec::new();
    let mut interior = Vec::new();
    for j in 0..=fine {
        let (t, g) = vals[j];
        if g > tol {
            continue;
        }
        let left = j == 0 || vals[j - 1].1 >= g;
        let right = j == fine || vals[j + 1].1 >= g;
        if !(left && right) {
            continue;
        }
        if j == 0 || j == fine {
            ends.push(t);
        } else {
            // Newton on gap' = 0 from the grid point.
            let mut x = t;
            for _ in 0..50 {
                let (_, g1, g2) = gap(sol, x);
                if g2 <= 0.0 {
                    break;
                }
                let step = g1 / g2;
                x = (x - step).clamp(-1.0, 1.0);
                if step.abs() < 1e-16 {
                    break;
                }
            }
            if x.abs() < 1.0 {
                interior.push(x);
            } else {
                ends.push(x);
            }
        }
    }
    interior.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    ends.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    // q = f on a whole interval (the power activation's Theorem 1 certificate): no vertex.
    if interior.len() + ends.len() > degree + 2 {
        return None;
    }
    let active: Vec<usize> = std::iter::once(0)
        .chain((1..=degree).filter(|&k| sol[k] > active_tol * scale))
        .collect();
    let (na, ni, ne) = (active.len(), interior.len(), ends.len());
    let nf = st.n as f64;
    // The objective's gradient: beta = q_0 (1 - 1/n) - sum_{k>=1} q_k / n + 1/n.
    let cost = |k: usize| if k == 0 { 1.0 - 1.0 / nf } else { -1.0 / nf };
    let mut c = sol.to_vec();
    for (k, ck) in c.iter_mut().enumerate().skip(1) {
        if !active.contains(&k) {
            *ck = 0.0;
        }
    }
    let mut ts = interior.clone();
    // Dual weights (KKT: cost_k = sum_j lambda_j P_k(t_j) for every active k), first by least
    // squares at the LP's touch points.
    let points: Vec<f64> = ts.iter().chain(&ends).copied().collect();
    let dual_rows: Vec<Vec<f64>> = active
        .iter()
        .map(|&k| {
            points
                .iter()
                .map(|&t| gegenbauer_values(m, degree, t)[k])
                .collect()
        })
        .collect();
    let dual_rhs: Vec<f64> = active.iter().map(|&k| cost(k)).collect();
    let mut lambda = if points.is_empty() {
        Vec::new()
    } else {
        levenberg_step(&dual_rows, &dual_rhs)?
    };
    let unknowns = na + 2 * ni + ne;
    let mut last = f64::INFINITY;
    for _ in 0..40 {
        let mut jac: Vec<Vec<f64>> = Vec::new();
        let mut res: Vec<f64> = Vec::new();
        let derivs: Vec<[Vec<f64>; 3]> = ts
            .iter()
            .chain(&ends)
            .map(|&t| gegenbauer_derivatives(m, degree, t))
            .collect();
        for (i, &t) in ts.iter().enumerate() {
            let [v, d1, _] = &derivs[i];
            let (g0, g1, g2) = gap(&c, t);
            let mut row0 = vec![0.0; unknowns];
            let mut row1 = vec![0.0; unknowns];
            for (a, &k) in active.iter().enumerate() {
                row0[a] = -v[k];
                row1[a] = -d1[k];
            }
            row0[na + i] = g1;
            row1[na + i] = g2;
            jac.push(row0);
            res.push(-g0);
            jac.push(row1);
            res.push(-g1);
        }
        for (e, &t) in ends.iter().enumerate() {
            let [v, _, _] = &derivs[ni + e];
            let mut row = vec![0.0; unknowns];
            for (a, &k) in active.iter().enumerate() {
                row[a] = -v[k];
            }
            jac.push(row);
            res.push(-gap(&c, t).0);
        }
        for &k in &active {
            let mut row = vec![0.0; unknowns];
            let mut r = cost(k);
            for j in 0..ni + ne {
                let [v, d1, _] = &derivs[j];
                r -= lambda[j] * v[k];
                if j < ni {
                    row[na + j] = -lambda[j] * d1[k];
                    row[na + ni + j] = -v[k];
                } else {
                    row[na + ni + j] = -v[k];
                }
            }
            jac.push(row);
            res.push(-r);
        }
        let norm = res.iter().map(|x| x.abs()).fold(0.0, f64::max);
        if norm < 1e-15 * scale || (norm >= last && norm < 1e-11 * scale) {
            break;
        }
        last = norm;
        let dx = levenberg_step(&jac, &res)?;
        for (a, &k) in active.iter().enumerate() {
            c[k] += dx[a];
        }
        for (i, t) in ts.iter_mut().enumerate() {
            *t = (*t + dx[na + i]).clamp(-1.0, 1.0);
        }
        for (j, l) in lambda.iter_mut().enumerate() {
            *l += dx[na + ni + j];
        }
    }
    // Accept only a feasible-looking, converged polish close to the LP solution.
    let worst = (0..=20_000)
        .map(|j| gap(&c, -1.0 + j as f64 / 10_000.0).0)
        .fold(0.0, f64::min);
    let moved = c
        .iter()
        .zip(sol)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let ok = worst > -1e-12 * scale
        && moved < 1e-2 * scale
        && c.iter().skip(1).all(|&x| x >= 0.0)
        && c.iter().all(|x| x.is_finite());
    ok.then_some(c)
}
