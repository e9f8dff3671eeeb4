//! Finding spectral certificates (rect, `p = 1`; [`crate::kernel::spectral`]): untrusted
//! floating point proposes the pieces and multipliers, the kernel checks them exactly.
//!
//! For a piece `rho in [lo, hi]` the best multipliers maximise the concave
//!
//! ```text
//! g(a, b) = min_{[lo, hi]} phi_K + (n - m - 1) min_{[-hi, hi]} phi_K
//!         + m min(min_{[-hi, min(1, hi)]} phi_D, min_{[1, hi]} phi_K)
//! ```
//!
//! (a minimum of functions affine in `(a, b)`), found by golden sections in `b` and, inside, in
//! `a`. The relaxation's value is estimated on a grid of `rho` (pieces of width 0), refined by a
//! golden section; the target is that value less `5e-13` relative (up to `1e-3` where that needs
//! too many pieces). `[0, R]` is then bisected until every piece reaches the target (or is
//! narrower than `1e-10`, where it keeps what it reaches). Each piece's three minima are lowered
//! by a small margin, converted to rationals and checked exactly; the certificate is verified
//! again as a whole before it is returned.

use crate::kernel::arith::Scalar;
use crate::kernel::error::{Error, Result};
use crate::kernel::model::Setting;
use crate::kernel::roots::nonnegative_on;
use crate::kernel::spectral::{
    MAX_PIECES, Piece, SpectralCertificate, applies, bound_on_f, piece_conditions, verify,
};
use num_rational::BigRational;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Golden-section iterations for each multiplier (the bracket shrinks to `1e-16` of its width).
const ITERS: usize = 80;
/// Brackets of the multipliers: `a in [-A_MAX, A_MAX]`, `b in [0, B_MAX]`.
const A_MAX: f64 = 40.0;
const B_MAX: f64 = 40.0;
/// Relative slacks of the target below the estimated relaxation value, tried in turn (a
/// relaxation whose minimum is flat, or where the Perron bound `nu_k >= -rho` is active, needs
/// many pieces for a small slack: each piece loses in proportion to its width there).
const SLACKS: [f64; 6] = [5e-13, 1e-10, 1e-8, 1e-6, 1e-4, 1e-3];
/// Most pieces one attempt may use (each costs about a millisecond).
const PIECE_BUDGET: usize = 600;
/// Pieces narrower than this are kept even if short of the target.
const MIN_WIDTH: f64 = 1e-10;

/// Minimum of `c0 + c1 t + c2 t^2 + c3 t^3` on `[lo, hi]` (ends and real critical points).
fn cubic_min(c: [f64; 4], lo: f64, hi: f64) -> f64 {
    let f = |t: f64| c[0] + t * (c[1] + t * (c[2] + t * c[3]));
    let mut best = f(lo).min(f(hi));
    // c1 + 2 c2 t + 3 c3 t^2 = 0
    let (qa, qb, qc) = (3.0 * c[3], 2.0 * c[2], c[1]);
    let mut consider = |t: f64| {
        if t > lo && t < hi {
            best = best.min(f(t));
        }
    };
    if qa == 0.0 {
        if qb != 0.0 {
            consider(-qc / qb);
        }
    } else {
        let disc = qb * qb - 4.0 * qa * qc;
        if disc >= 0.0 {
            let s = disc.sqrt();
            consider((-qb - s) / (2.0 * qa));
            consider((-qb + s) / (2.0 * qa));
        }
    }
    best
}

fn kept_coeffs(a: f64, b: f64) -> [f64; 4] {
    [1.0, a - 2.0, 1.0, -b]
}

fn dropped_coeffs(a: f64, b: f64) -> [f64; 4] {
    [0.0, a, 0.0, -b]
}

/// The three minima of a piece for multipliers `(a, b)`.
fn minima(a: f64, b: f64, lo: f64, hi: f64) -> [f64; 3] {
    [
        cubic_min(kept_coeffs(a, b), lo, hi),
        cubic_min(kept_coeffs(a, b), -hi, hi),
        dropped_min(a, b, hi),
    ]
}

/// `min phi_D` on `[-hi, min(1, hi)]` and `min phi_K` on `[1, hi]` (a dropped eigenvalue above 1
/// costs `(nu - 1)^2`, and `phi_D + (nu - 1)^2 = phi_K`).
fn dropped_min(a: f64, b: f64, hi: f64) -> f64 {
    let below = cubic_min(dropped_coeffs(a, b), -hi, hi.min(1.0));
    if hi > 1.0 {
        below.min(cubic_min(kept_coeffs(a, b), 1.0, hi))
    } else {
        below
    }
}

fn combine(st: &Setting, v: [f64; 3]) -> f64 {
    v[0] + (st.n - st.m - 1) as f64 * v[1] + st.m as f64 * v[2]
}

/// Golden-section search for the maximum of a unimodal `f` on `[lo, hi]`: `(x, f(x))`.
fn golden_max(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> (f64, f64) {
    let x = super::golden_section(|x| -f(x), lo, hi, ITERS);
    (x, f(x))
}

/// The best multipliers of the piece `[lo, hi]` and the value they give: `(a, b, g)`.
pub fn best_multipliers(st: &Setting, lo: f64, hi: f64) -> (f64, f64, f64) {
    let g = |a: f64, b: f64| combine(st, minima(a, b, lo, hi));
    let inner = |b: f64| golden_max(|a| g(a, b), -A_MAX, A_MAX);
    let (b, _) = golden_max(|b| inner(b).1, 0.0, B_MAX);
    let (a, v) = inner(b);
    (a, b, v)
}

/// The relaxation's value, estimated: the least piece value over a grid of `rho` in
/// `[0, 1 + sqrt(n)]` (`F <= n`, so `rho <= 1 + sqrt(n)`), refined around the best grid point.
pub fn relaxation_estimate(st: &Setting) -> f64 {
    let top = 1.0 + (st.n as f64).sqrt();
    let steps = 200;
    let at = |rho: f64| best_multipliers(st, rho, rho).2;
    let (mut best_rho, mut best) = (0.0, f64::INFINITY);
    for i in 0..=steps {
        let rho = top * i as f64 / steps as f64;
        let v = at(rho);
        if v < best {
            (best_rho, best) = (rho, v);
        }
    }
    let h = top / steps as f64;
    let (_, v) = golden_max(|rho| -at(rho), (best_rho - h).max(0.0), best_rho + h);
    best.min(-v)
}

/// A rational at most `x` (a margin below the `f64` value, exact dyadic).
fn below(x: f64, margin: f64) -> BigRational {
    let y = x - margin * (1.0 + x.abs());
    <f64 as Scalar>::to_rational(&y).expect("finite")
}

/// The exact piece for `[lo, hi]` with multipliers `(a, b)`: each minimum lowered by a margin
/// that grows (for that constant alone) until the kernel's conditions hold exactly.
fn exact_piece(lo: f64, hi: f64, a: f64, b: f64) -> Option<Piece> {
    let r = |x: f64| <f64 as Scalar>::to_rational(&x);
    let v = minima(a, b.max(0.0), lo, hi);
    let mut margins = [1e-14f64; 3];
    loop {
        let piece = Piece {
            rho_lo: r(lo)?,
            rho_hi: r(hi)?,
            a: r(a)?,
            b: r(b.max(0.0))?,
            top: below(v[0], margins[0]),
            kept: below(v[1], margins[1]),
            dropped: below(v[2], margins[2]),
        };
        let mut failed = false;
        for (poly, plo, phi, which) in piece_conditions(&piece) {
            if !nonnegative_on(&poly.0, &plo, &phi).ok()? {
                let k = ["top", "kept", "dropped"]
                    .iter()
                    .position(|w| *w == which)?;
                margins[k] *= 16.0;
                failed = true;
            }
        }
        if !failed {
            return Some(piece);
        }
        if margins.iter().any(|&m| m > 1e-3) {
            return None;
        }
    }
}

/// Below this width a piece short of the target lowers the target if the relaxation's value at
/// its middle is below the target too.
const RETARGET_WIDTH: f64 = 1e-7;
/// Most times the target is lowered.
const MAX_ROUNDS: usize = 8;

/// Why [`cover`] stopped short.
enum Short {
    /// A narrow piece fell short: try again with this lower target.
    Retarget(f64),
    TooMany,
}

/// Pieces in `f64`: `(rho_lo, rho_hi, a, b)`.
type FloatPieces = Vec<(f64, f64, f64, f64)>;

/// Bisects `[0, R]` until every piece reaches `target`: the pieces and `R`.
fn cover(st: &Setting, target: f64, slack: f64) -> std::result::Result<(FloatPieces, f64), Short> {
    let r_f = 1.0 + target.max(0.0).sqrt() + 1e-9;
    let mut pieces = Vec::new();
    let mut stack = vec![(0.0f64, r_f)];
    while let Some((lo, hi)) = stack.pop() {
        if pieces.len() + stack.len() >= PIECE_BUDGET.min(MAX_PIECES) {
            return Err(Short::TooMany);
        }
        let (a, b, v) = best_multipliers(st, lo, hi);
        let mid = 0.5 * (lo + hi);
        if v >= target || hi - lo < MIN_WIDTH || !(mid > lo && mid < hi) {
            pieces.push((lo, hi, a, b));
        } else if hi - lo < RETARGET_WIDTH
            && let at = best_multipliers(st, mid, mid).2
            && at < target
        {
            // The relaxation is lower here than the estimate: aim at its value at this point.
            return Err(Short::Retarget(at - slack * at.abs().max(1.0)));
        } else {
            stack.push((mid, hi));
            stack.push((lo, mid));
        }
    }
    Ok((pieces, r_f))
}

/// A spectral certificate for a setting (rect, `p = 1`, `n > m`), verified by the kernel. The
/// target starts at the estimated relaxation value less `5e-13` relative and is lowered where a
/// piece narrower than `1e-7` falls short of it (the grid estimate can miss the minimum); if the
/// pieces exceed the budget, the slack is raised (`1e-10` up to `1e-3`).
pub fn certify(st: &Setting) -> Result<SpectralCertificate> {
    if !applies(st) {
        return Err(Error::input(
            "the spectral bound is for rect, p = 1 and n > m only",
        ));
    }
    let est = relaxation_estimate(st);
    for slack in SLACKS {
        let mut target = est - slack * est.abs().max(1.0);
        for _ in 0..MAX_ROUNDS {
            let (found, r_f) = match cover(st, target, slack) {
                Ok(x) => x,
                Err(Short::Retarget(t)) => {
                    target = t;
                    continue;
                }
                Err(Short::TooMany) => break,
            };
            let pieces = found
                .into_iter()
                .map(|(lo, hi, a, b)| exact_piece(lo, hi, a, b))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::input("a spectral piece could not be made exact"))?;
            let r = <f64 as Scalar>::to_rational(&r_f).expect("finite");
            let lower = st.model.mu(2) * bound_on_f(st, &r, &pieces);
            let cert = SpectralCertificate {
                setting: *st,
                r,
                pieces,
                lower,
            };
            verify(&cert)
                .map_err(|e| Error::input(format!("spectral certificate refused: {e}")))?;
            return Ok(cert);
        }
    }
    Err(Error::too_large(format!(
        "the spectral certificate needs more than {PIECE_BUDGET} pieces at every slack"
    )))
}

/// [`certify`], memoised per process (`None` where it does not apply or fails).
pub fn certified(st: &Setting) -> Option<SpectralCertificate> {
    type Cache = Mutex<HashMap<Setting, Option<SpectralCertificate>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().ok()?.get(st) {
        return hit.clone();
    }
    let cert = certify(st).ok();
    if let Ok(mut c) = cache.lock() {
        c.insert(*st, cert.clone());
    }
    cert
}
