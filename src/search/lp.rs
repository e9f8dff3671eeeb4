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
/// to `q(t) <= f(t)` on the grid and `q_k >= 0` (`k >= 1`), refining the grid where `q` touches `f`.
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
    for round in 0..4 {
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
        if round == 3 {
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
        if minima.len() > MAX_REFINE {
            minima.sort_by(|a, b| a[1].1.total_cmp(&b[1].1));
            minima.truncate(MAX_REFINE);
            minima.sort_by(|a, b| a[1].0.total_cmp(&b[1].0));
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
    for max_den in [1_000, 100_000, 10_000_000] {
        candidates.push(sol.iter().map(|&x| simple_rational(x, max_den)).collect());
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
    let n = st.n as f64;
    let beta = sol[0] + (1.0 - sol.iter().sum::<f64>()) / n;
    let target = n * crate::kernel::arith::rational_to_f64(&st.model.mu(2))
        - crate::kernel::arith::rational_to_f64(&c_p(&st.model)) / beta;
    let mut best: Option<Certificate> = None;
    for c in candidates {
        let Some(cert) = with_margin(st, c) else {
            continue;
        };
        let value = crate::kernel::arith::rational_to_f64(&cert.lower);
        let good_enough = value >= target - 1e-9 * target.abs();
        if best.as_ref().is_none_or(|b| cert.lower > b.lower) {
            best = Some(cert);
        }
        if good_enough {
            break;
        }
    }
    best.ok_or_else(|| Error::input("could not verify any rounding of the LP solution"))
}

/// Certificates computed in this process, by setting and degree.
type Cache = Mutex<HashMap<(Setting, usize), Option<Certificate>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// [`certify`], memoised per process (`None` where the LP fails or gives no bound).
pub fn certified(st: &Setting, degree: usize) -> Option<Certificate> {
    if let Some(hit) = cache().lock().ok()?.get(&(*st, degree)) {
        return hit.clone();
    }
    let cert = certify(st, degree).ok();
    if let Ok(mut c) = cache().lock() {
        c.insert((*st, degree), cert.clone());
    }
    cert
}

/// The default degree for a model: at least 12 and at least `2p`.
pub fn default_degree(st: &Setting) -> usize {
    DEFAULT_DEGREE.max(2 * st.model.p as usize)
}
