//! Proposing the floor `e_sigma = inf_{g,r} E_U (U - sigma(gU + r))^2` (untrusted `f64`
//! search): a grid of starts and Nelder–Mead in `f64`, then a rational target a little below
//! the numeric minimum, which only the kernel's exact branch and bound
//! ([`crate::kernel::floor::certify_floor_with_limit`]) can accept.

use crate::kernel::floor::{
    Act, DEFAULT_MAX_BOXES, FloorCertificate, FloorError, Law, binom, certify_floor_with_limit,
    check_args, density, phi_exact, rationalize,
};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// f64 evaluation of phi (same formula as `phi_exact`, floating point).
pub fn phi_f64(act: Act, p: u32, law: &Law, g: f64, r: f64) -> f64 {
    let sig = |t: f64| match act {
        Act::Rect if t <= 0.0 => 0.0,
        _ => t.powi(p as i32),
    };
    let d: Vec<f64> = match density(law) {
        None => {
            let t = 1.0 - sig(g + r);
            return t * t;
        }
        Some(d) => d.iter().map(|x| x.to_f64().unwrap()).collect(),
    };
    let n = 2 * p as usize;
    let pm = |lo: f64, hi: f64, kmax: usize| -> Vec<f64> {
        (0..=kmax)
            .map(|k| {
                d.iter()
                    .enumerate()
                    .map(|(i, di)| {
                        let e = (k + i + 1) as i32;
                        di * (hi.powi(e) - lo.powi(e)) / e as f64
                    })
                    .sum()
            })
            .collect()
    };
    let poly = |m: &[f64]| -> f64 {
        let mut s = m[2];
        for k in 0..=p {
            let c = binom(p, k).to_f64().unwrap();
            s -= 2.0 * c * g.powi(k as i32) * r.powi((p - k) as i32) * m[k as usize + 1];
        }
        for k in 0..=2 * p {
            let c = binom(2 * p, k).to_f64().unwrap();
            s += c * g.powi(k as i32) * r.powi((2 * p - k) as i32) * m[k as usize];
        }
        s
    };
    match act {
        Act::Power => poly(&pm(0.0, 1.0, n)),
        Act::Rect => {
            let mu2 = pm(0.0, 1.0, 2)[2];
            let (lo, hi) = if g == 0.0 {
                if r > 0.0 { (0.0, 1.0) } else { (0.0, 0.0) }
            } else {
                let root = -r / g;
                if g > 0.0 {
                    (root.clamp(0.0, 1.0), 1.0)
                } else {
                    (0.0, root.clamp(0.0, 1.0))
                }
            };
            if lo >= hi {
                return mu2;
            }
            let m = pm(lo, hi, n);
            mu2 - m[2] + poly(&m)
        }
    }
}

fn nelder_mead(f: &dyn Fn(f64, f64) -> f64, x0: (f64, f64), step: f64) -> (f64, f64, f64) {
    let mut s = [
        (x0.0, x0.1, 0.0),
        (x0.0 + step, x0.1, 0.0),
        (x0.0, x0.1 + step, 0.0),
    ];
    for v in s.iter_mut() {
        v.2 = f(v.0, v.1);
    }
    for _ in 0..4000 {
        s.sort_by(|a, b| a.2.total_cmp(&b.2));
        let size = (s[2].0 - s[0].0).abs() + (s[2].1 - s[0].1).abs();
        if size < 1e-13 {
            break;
        }
        let c = ((s[0].0 + s[1].0) / 2.0, (s[0].1 + s[1].1) / 2.0);
        let at = |t: f64| {
            let x = c.0 + t * (s[2].0 - c.0);
            let y = c.1 + t * (s[2].1 - c.1);
            (x, y, f(x, y))
        };
        let refl = at(-1.0);
        if refl.2 < s[0].2 {
            let exp = at(-2.0);
            s[2] = if exp.2 < refl.2 { exp } else { refl };
        } else if refl.2 < s[1].2 {
            s[2] = refl;
        } else {
            let con = if refl.2 < s[2].2 { at(-0.5) } else { at(0.5) };
            if con.2 < s[2].2.min(refl.2) {
                s[2] = con;
            } else {
                for i in 1..3 {
                    let x = s[0].0 + 0.5 * (s[i].0 - s[0].0);
                    let y = s[0].1 + 0.5 * (s[i].1 - s[0].1);
                    s[i] = (x, y, f(x, y));
                }
            }
        }
    }
    s.sort_by(|a, b| a.2.total_cmp(&b.2));
    s[0]
}

/// Untrusted numerical global minimisation of phi: a grid over
/// `[-half, half]^2` and Nelder-Mead from the best local grid minima.
/// Returns `(g, r, phi)`.
pub fn numeric_minimum(act: Act, p: u32, law: &Law, half: f64) -> (f64, f64, f64) {
    let f = |g: f64, r: f64| phi_f64(act, p, law, g, r);
    let steps = 240usize;
    let h = 2.0 * half / steps as f64;
    let grid: Vec<Vec<f64>> = (0..=steps)
        .map(|i| {
            (0..=steps)
                .map(|j| f(-half + i as f64 * h, -half + j as f64 * h))
                .collect()
        })
        .collect();
    let mut cands: Vec<(f64, usize, usize)> = Vec::new();
    for i in 0..=steps {
        for j in 0..=steps {
            let v = grid[i][j];
            let mut is_min = true;
            for di in -1i64..=1 {
                for dj in -1i64..=1 {
                    let (a, b) = (i as i64 + di, j as i64 + dj);
                    if (di, dj) != (0, 0)
                        && a >= 0
                        && b >= 0
                        && a <= steps as i64
                        && b <= steps as i64
                        && grid[a as usize][b as usize] < v
                    {
                        is_min = false;
                    }
                }
            }
            if is_min {
                cands.push((v, i, j));
            }
        }
    }
    cands.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best = (1.0, 0.0, f(1.0, 0.0));
    for &(_, i, j) in cands.iter().take(24) {
        let x0 = (-half + i as f64 * h, -half + j as f64 * h);
        let mut m = nelder_mead(&f, x0, h);
        // restart to polish
        m = nelder_mead(&f, (m.0, m.1), 1e-3);
        if m.2 < best.2 {
            best = m;
        }
    }
    best
}

/// Numeric search, target `e_num (1 - rel_margin)` rounded down to a multiple
/// of `10^-10`, then exact certification.  On refutation (the search missed
/// a better point) it re-optimises from the counterexample and retries (at
/// most 3 attempts).  The certificate's `witness` is the rationalised
/// numeric minimiser with its exact phi.
pub fn certify_auto(
    act: Act,
    p: u32,
    law: &Law,
    rel_margin: f64,
    max_boxes: usize,
) -> Result<FloorCertificate, String> {
    check_args(p, law)?;
    let (mut g, mut r, _) = numeric_minimum(act, p, law, 6.0);
    let f = |g: f64, r: f64| phi_f64(act, p, law, g, r);
    for _ in 0..3 {
        let gq = rationalize(g, 40);
        let rq_ = rationalize(r, 40);
        let wv = phi_exact(act, p, law, &gq, &rq_);
        let e_num = wv.to_f64().unwrap();
        let target = if e_num <= 1e-12 {
            BigRational::zero()
        } else {
            let scale = BigInt::from(10u64.pow(10));
            let t = (e_num * (1.0 - rel_margin) * 1e10).floor();
            let t = BigRational::new(BigInt::from(t as i128), scale);
            // never above the exact value at the witness
            if t > wv { BigRational::zero() } else { t }
        };
        match certify_floor_with_limit(act, p, law, &target, max_boxes) {
            Ok(mut c) => {
                c.witness = Some((gq, rq_, wv));
                return Ok(c);
            }
            Err(FloorError::Refuted { g: cg, r: cr, .. }) => {
                let m = nelder_mead(&f, (cg.to_f64().unwrap(), cr.to_f64().unwrap()), 1e-2);
                g = m.0;
                r = m.1;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("certify_auto: numeric search kept being refuted".into())
}

/// Certify `phi(g, r) >= target` for all real `g, r` (default work limit).
///
/// First a fast, untrusted refutation attempt: the f64 search of
/// `numeric_minimum` proposes a point, and if the *exact* `phi` there is
/// below `target` the target is refused at once.  Then the exact proof of
/// `certify_floor_with_limit` (which alone decides acceptance).
///
/// Returns `Err` with a message if the target is refuted (an exact point with
/// `phi < target` was met) or if the work limit was reached.
pub fn certify_floor(
    act: Act,
    p: u32,
    law: &Law,
    target: &BigRational,
) -> Result<FloorCertificate, String> {
    check_args(p, law)?;
    if target.is_positive() {
        let (g, r, _) = numeric_minimum(act, p, law, 6.0);
        let (g, r) = (rationalize(g, 40), rationalize(r, 40));
        let value = phi_exact(act, p, law, &g, &r);
        if &value < target {
            return Err(FloorError::Refuted { g, r, value }.to_string());
        }
    }
    certify_floor_with_limit(act, p, law, target, DEFAULT_MAX_BOXES).map_err(|e| e.to_string())
}

/// Relative margin below the numeric minimum at which the floor is proposed.
pub const FLOOR_MARGIN: f64 = 5e-5;

type Cache = Mutex<HashMap<(Act, u32, Law), Option<FloorCertificate>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A certified floor `e_lb <= e_sigma` for the activation, exponent and law, memoised per
/// process (`None` where the proof fails within its work limit, or `p` is out of its range).
pub fn certified_floor(act: Act, p: u32, law: Law) -> Option<FloorCertificate> {
    if let Some(hit) = cache().lock().ok()?.get(&(act, p, law)) {
        return hit.clone();
    }
    let cert = certify_auto(act, p, &law, FLOOR_MARGIN, DEFAULT_MAX_BOXES).ok();
    if let Ok(mut c) = cache().lock() {
        c.insert((act, p, law), cert.clone());
    }
    cert
}
