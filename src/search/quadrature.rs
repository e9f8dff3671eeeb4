//! A deterministic quadrature of the rectified loss at a density (uniform values), with bias
//! and importance: the objective the rectified optimiser polishes on, free of sampling noise.
//!
//! Row `i` sees `z_i = b_i + g x_i + Z_i` with `g = G_ii` and `Z_i = sum_{j != i} c_j x_j`,
//! `c_j = G_ij`, independent of `x_i`. Conditioning on `x_i`,
//!
//! ```text
//! L_i = I_i E[ phi(b_i + Z_i) ],   phi(z) = (1-s) sigma(z)^2 + s h1(z),
//! h1(z) = int_0^1 (u - sigma(g u + z))^2 du
//!       = 1/3 + int_{g u + z > 0} (sigma^2 - 2 u sigma) du
//! ```
//!
//! (`h1` and its derivatives by Gauss-Legendre with `p + 1` nodes on the active interval,
//! exact for these polynomials). The law of `b_i + Z_i` is built one feature at a time: each
//! `x_j = B_j U_j` maps a law `P` to `(1-s) P + s P * Uniform[0, c_j]` (or `[c_j, 0]`). The atom
//! at `b_i` (the empty support, weight `(1-s)^k` after `k` features) is kept exactly; the rest
//! lives on a grid `z_l = l h` as masses assigned by hat functions of width `h`. On that
//! representation the uniform smoothing is exact in closed form through the quadratic spline
//! `A(x) = sum_k p_k H(x - k)` (`H` the integrated hat):
//!
//! ```text
//! (Box_c p)_l = (A(l) - A(l - delta)) / delta,   delta = c / h  (c > 0; mirrored for c < 0),
//! ```
//!
//! `O(1)` per point from a running window sum, and `Box_c^T = Box_{-c}`. The value is
//! `w_0 phi(b_i) + sum_l p_l phi(z_l)`, second-order accurate in `h` (no sampling error). The
//! gradient in every `c_j`, in `g` and in `b_i` is exact for this discretised value, by one
//! reverse (adjoint) sweep through the features: a row costs `O(n M)`, the loss `O(n^2 M)`,
//! with `M` grid points per row (`h` the power of two with `range / h` in `[M, 2M)`, so the
//! grid moves only when a row's range crosses a power of two).
//!
//! Untrusted like every search objective: the value returned by the optimiser is re-evaluated
//! by the kernel.

use crate::kernel::model::{Activation, Mat, Model, Values};
use crate::search::saa::sigma_and_slope;
use rayon::prelude::*;

/// Couplings below this many grid steps shift the empty support's atom instead of spreading.
const TINY_STEPS: f64 = 0.5;

/// Default grid points per row (the grid has between `M` and `2M` points).
pub const DEFAULT_POINTS: usize = 1024;

/// The quadrature objective for a rectified model with uniform values at density `s`.
#[derive(Clone, Debug)]
pub struct Quadrature {
    pub p: u32,
    pub s: f64,
    pub points: usize,
    /// Gauss-Legendre nodes and weights on `[0, 1]` (`p + 1` of them).
    gauss: Vec<(f64, f64)>,
}

impl Quadrature {
    /// Whether the quadrature covers the model: rectified activation, uniform values.
    pub fn applies(model: &Model) -> bool {
        model.act == Activation::Rect && model.values == Values::Uniform
    }

    pub fn new(model: &Model, s: f64, points: usize) -> Quadrature {
        assert!(
            Self::applies(model),
            "quadrature: rectified, uniform values"
        );
        Quadrature {
            p: model.p,
            s,
            points: points.max(16),
            gauss: gauss_legendre_unit(model.p as usize + 1),
        }
    }

    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        format!(
            "quadrature of each row's pre-activation law on {}..{} grid points (the empty support exact)",
            self.points,
            2 * self.points
        )
    }

    /// The value, `Gamma = dL/dG` (row-major `n x n`, entry `(i, j)` the derivative through
    /// row `i`'s use of `G_ij`) and `dL/db`.
    pub fn value_and_gamma(
        &self,
        g: &Mat<f64>,
        bias: Option<&[f64]>,
        importance: Option<&[f64]>,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let n = g.rows;
        let rows: Vec<(f64, Vec<f64>, f64)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let imp = importance.map_or(1.0, |w| w[i]);
                let beta = bias.map_or(0.0, |b| b[i]);
                self.row(g.row(i), i, beta, imp)
            })
            .collect();
        let mut value = 0.0;
        let mut gamma = vec![0.0; n * n];
        let mut gb = vec![0.0; n];
        for (i, (v, grow, db)) in rows.into_iter().enumerate() {
            value += v;
            gamma[i * n..(i + 1) * n].copy_from_slice(&grow);
            gb[i] = db;
        }
        (value, gamma, gb)
    }

    /// `sigma(t)` and `sigma'(t)`.
    fn sigma(&self, t: f64) -> (f64, f64) {
        sigma_and_slope(Activation::Rect, self.p, t)
    }

    /// `h1(z)`, `dh1/dz`, `dh1/dg` (module doc).
    fn h1(&self, g: f64, z: f64) -> (f64, f64, f64) {
        // The active interval [u0, u1] of u in [0, 1] where g u + z > 0.
        let (u0, u1) = if g > 0.0 {
            ((-z / g).max(0.0), 1.0)
        } else if g < 0.0 {
            (0.0, (-z / g).min(1.0))
        } else if z > 0.0 {
            (0.0, 1.0)
        } else {
            (0.0, 0.0)
        };
        let (mut v, mut dz, mut dg) = (1.0 / 3.0, 0.0, 0.0);
        if u1 > u0 {
            let len = u1 - u0;
            for &(x, w) in &self.gauss {
                let u = u0 + len * x;
                let (sg, ds) = self.sigma(g * u + z);
                let w = w * len;
                v += w * (sg * sg - 2.0 * u * sg);
                let e = w * 2.0 * (sg - u) * ds;
                dz += e;
                dg += e * u;
            }
        }
        (v, dz, dg)
    }

    /// `phi(z)`, `dphi/dz`, `dphi/dg` for one row (without the importance).
    fn phi(&self, g: f64, z: f64) -> (f64, f64, f64) {
        let s = self.s;
        let (sg, ds) = self.sigma(z);
        let (h, hz, hg) = self.h1(g, z);
        (
            (1.0 - s) * sg * sg + s * h,
            (1.0 - s) * 2.0 * sg * ds + s * hz,
            s * hg,
        )
    }

    /// Row `i`'s loss, its derivatives in `G_ij` (all `j`) and in `b_i`.
    fn row(&self, grow: &[f64], i: usize, beta: f64, imp: f64) -> (f64, Vec<f64>, f64) {
        let n = grow.len();
        let s = self.s;
        let g = grow[i];
        let mut gamma = vec![0.0; n];
        let comps: Vec<(usize, f64)> = (0..n)
            .filter(|&j| j != i && grow[j] != 0.0)
            .map(|j| (j, grow[j]))
            .collect();
        if comps.is_empty() || s == 0.0 {
            let (v, dz, dg) = self.phi(g, beta);
            gamma[i] = imp * dg;
            return (imp * v, gamma, imp * dz);
        }
        let range = comps.iter().map(|c| c.1.abs()).sum::<f64>();
        // A power of two, not below 2^-30 (coordinates stay exact integers in f64).
        let h = (2f64).powi(((range / self.points as f64).log2().floor() as i32).max(-30));
        // Couplings below half a grid step only shift the atom by their mean `s c / 2`
        // (error O(c^2)): spread on the grid, they would sample phi at grid points near b_i and
        // put kinks at grid points into the value as a function of b_i.
        let (tiny, mut comps): (Vec<_>, Vec<_>) =
            comps.into_iter().partition(|c| c.1.abs() < TINY_STEPS * h);
        // Smallest couplings first: the law's window after `k` features spans the first `k`
        // couplings, so the passes over the grid are shortest in this order.
        comps.sort_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
        let beta_a = beta + tiny.iter().map(|c| s * c.1 / 2.0).sum::<f64>();
        let finish = |mut gamma: Vec<f64>, value: f64, d_atom: f64, dg: f64| {
            for &(j, _) in &tiny {
                gamma[j] = imp * s / 2.0 * d_atom;
            }
            gamma[i] = imp * dg;
            (imp * value, gamma, imp * d_atom)
        };
        if comps.is_empty() {
            let (v, dz, dg) = self.phi(g, beta_a);
            return finish(gamma, v, dz, dg);
        }
        let beta = beta_a;
        let lo = beta + comps.iter().map(|c| c.1.min(0.0)).sum::<f64>();
        let hi = beta + comps.iter().map(|c| c.1.max(0.0)).sum::<f64>();
        let l0 = (lo / h).floor() as i64 - 2;
        let len = ((hi / h).ceil() as i64 + 2 - l0 + 1) as usize;
        // The atom in grid coordinates.
        let xb = beta / h - l0 as f64;
        // windows[k]: the grid indices where the law after k features can have mass.
        let mut windows = Vec::with_capacity(comps.len() + 1);
        let (mut wlo, mut whi) = (beta, beta);
        let index = |z: f64, up: bool| -> usize {
            let x = if up {
                (z / h).ceil() + 2.0
            } else {
                (z / h).floor() - 2.0
            };
            (x as i64 - l0).clamp(0, len as i64 - 1) as usize
        };
        windows.push((index(wlo, false), index(whi, true)));
        for &(_, c) in &comps {
            wlo += c.min(0.0);
            whi += c.max(0.0);
            windows.push((index(wlo, false), index(whi, true)));
        }
        // The grids, zeroed, in this thread's scratch (fresh allocations of this size cost page
        // faults on every call): layer k is the grid part of the law before feature k, then
        // the adjoint and a buffer.
        let layers = comps.len() + 1;
        let mut buf = SCRATCH.with(|c| std::mem::take(&mut *c.borrow_mut()));
        buf.clear();
        buf.resize((layers + 2) * len, 0.0);
        let (history, rest) = buf.split_at_mut(layers * len);
        let (lambda, boxed) = rest.split_at_mut(len);
        // Forward; w0 the atom's weight.
        let mut w0 = 1.0;
        for (k, &(_, c)) in comps.iter().enumerate() {
            let delta = c / h;
            let win = windows[k + 1];
            let (before, after) = history.split_at_mut((k + 1) * len);
            let (p, next) = (&before[k * len..], &mut after[..len]);
            BoxOp::new(delta).apply(p, win, Some((&mut *next, s)), None);
            for_segment(xb, delta, len, |l, m, _, _| next[l] += s * w0 * m);
            w0 *= 1.0 - s;
        }
        let p = &history[comps.len() * len..];
        // The value and the adjoint of the final grid masses.
        let (pv, pz, pg) = self.phi(g, beta);
        let mut value = w0 * pv;
        let mut db = w0 * pz;
        let mut dg = w0 * pg;
        let last = windows[comps.len()];
        for l in last.0..=last.1 {
            let z = (l0 + l as i64) as f64 * h;
            let (v, _, vg) = self.phi(g, z);
            lambda[l] = v;
            value += p[l] * v;
            dg += p[l] * vg;
        }
        // Backward through the features; lambda is kept on the window of the law it meets.
        for (k, &(j, c)) in comps.iter().enumerate().rev() {
            let pk = &history[k * len..(k + 1) * len];
            let w0k = (1.0 - s).powi(k as i32);
            let delta = c / h;
            let (win, win_in) = (windows[k + 1], windows[k]);
            // d/dc <lambda, Box_c p_k>.
            let d_box = BoxOp::new(delta).apply(pk, win, None, Some(lambda)) / h;
            // d/dc and d/db of <lambda, Seg(b, c)>.
            let (mut d_seg_c, mut d_seg_b) = (0.0, 0.0);
            for_segment(xb, delta, len, |l, _, mc, mb| {
                d_seg_c += lambda[l] * mc;
                d_seg_b += lambda[l] * mb;
            });
            gamma[j] = imp * s * (d_box + w0k * d_seg_c / h);
            db += s * w0k * d_seg_b / h;
            if k == 0 {
                break;
            }
            // lambda_k = (1-s) lambda + s Box_{-c} lambda, on the window of p_k.
            BoxOp::new(-delta).apply(lambda, win_in, Some((&mut *boxed, s)), None);
            lambda.iter_mut().for_each(|x| *x = 0.0);
            lambda[win_in.0..=win_in.1].copy_from_slice(&boxed[win_in.0..=win_in.1]);
        }
        SCRATCH.with(|c| *c.borrow_mut() = buf);
        finish(gamma, value, db, dg)
    }
}

thread_local! {
    /// Each thread's scratch for [`Quadrature::row`]'s grids.
    static SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The integrated hat: `H(x) = int_{-inf}^x max(0, 1 - |t|) dt`.
fn big_h(x: f64) -> f64 {
    if x <= -1.0 {
        0.0
    } else if x <= 0.0 {
        (1.0 + x) * (1.0 + x) / 2.0
    } else if x <= 1.0 {
        1.0 - (1.0 - x) * (1.0 - x) / 2.0
    } else {
        1.0
    }
}

/// The hat `max(0, 1 - |x|)`.
fn hat(x: f64) -> f64 {
    (1.0 - x.abs()).max(0.0)
}

/// The hat-assigned masses of `Uniform[x_b, x_b + delta]` (grid units; mirrored for
/// `delta < 0`): `f(l, mass, d mass/d delta, d mass/d x_b)` for every grid point it touches.
fn for_segment(xb: f64, delta: f64, len: usize, mut f: impl FnMut(usize, f64, f64, f64)) {
    let (a, b) = if delta > 0.0 {
        (xb, xb + delta)
    } else {
        (xb + delta, xb)
    };
    let width = b - a;
    let first = ((a.floor() as i64) - 1).max(0) as usize;
    let last = ((b.ceil() as i64) + 1).min(len as i64 - 1) as usize;
    if width < 1e-9 {
        // A point mass at the midpoint to first order (the exact form cancels).
        let mid = (a + b) / 2.0;
        for l in first..=last {
            let x = mid - l as f64;
            let slope = if x.abs() >= 1.0 { 0.0 } else { -x.signum() };
            f(l, hat(x), slope / 2.0, slope);
        }
        return;
    }
    for l in first..=last {
        let x = l as f64;
        let m = (big_h(b - x) - big_h(a - x)) / width;
        // delta moves the far end: b = x_b + delta (delta > 0), a = x_b + delta (delta < 0).
        let m_delta = if delta > 0.0 {
            (hat(b - x) - m) / width
        } else {
            (m - hat(a - x)) / width
        };
        let m_b = (hat(b - x) - hat(a - x)) / width;
        f(l, m, m_delta, m_b);
    }
}

/// The uniform smoothing `Box_delta` (grid units, `delta != 0`) on a window of a grid, with
/// integer offsets: for `delta > 0`, with `K = ceil(delta)`, `f = K - delta`,
///
/// ```text
/// (Box p)_l = ( sum_{j=l-K}^{l-1} p_j + p_l/2 - alpha p_{l-K} - beta p_{l-K+1} ) / delta,
/// alpha = 1 - (1-f)^2/2,  beta = f^2/2,
/// ```
///
/// which is `(A(l) - A(l - delta)) / delta` (the mirror image for `delta < 0`), and for
/// `|delta| < 1` the two taps `p_l (1 - d/2) + p_{l-1} d/2`, the same formula without its
/// cancellation.
struct BoxOp {
    delta: f64,
    d: f64,
    k: i64,
    f: f64,
    alpha: f64,
    beta: f64,
}

impl BoxOp {
    fn new(delta: f64) -> BoxOp {
        let d = delta.abs();
        let (k, f) = if delta > 0.0 {
            let k = d.ceil();
            (k as i64, k - d)
        } else {
            let k = d.floor();
            (k as i64, d - k)
        };
        BoxOp {
            delta,
            d,
            k,
            f,
            alpha: 1.0 - (1.0 - f) * (1.0 - f) / 2.0,
            beta: f * f / 2.0,
        }
    }

    /// `out_l = (1 - s) p_l + s (Box p)_l` for `l` in `lo..=hi` (when `out = (out, s)` is
    /// given: a feature's step of the law, or of its adjoint), and (when `lambda` is given) the
    /// sum `sum_l lambda_l d(Box p)_l / d delta` over the same window.
    fn apply(
        &self,
        p: &[f64],
        (lo, hi): (usize, usize),
        out: Option<(&mut [f64], f64)>,
        lambda: Option<&[f64]>,
    ) -> f64 {
        let len = p.len() as i64;
        // p outside the grid is zero (one unsigned comparison covers both ends).
        let at = |j: i64| -> f64 {
            if (j as u64) < len as u64 {
                p[j as usize]
            } else {
                0.0
            }
        };
        let (mut out, keep, spread) = match out {
            Some((o, s)) => (Some(o), 1.0 - s, s),
            None => (None, 0.0, 0.0),
        };
        let forward = self.delta > 0.0;
        let mut acc = 0.0;
        if self.d < 1.0 {
            let d = self.d;
            for l in lo..=hi {
                let li = l as i64;
                let nb = if forward { at(li - 1) } else { at(li + 1) };
                if let Some(o) = out.as_deref_mut() {
                    o[l] = keep * p[l] + spread * (p[l] * (1.0 - d / 2.0) + nb * d / 2.0);
                }
                if let Some(lam) = lambda {
                    let dd = (nb - p[l]) / 2.0;
                    acc += lam[l] * if forward { dd } else { -dd };
                }
            }
            return acc;
        }
        // The window sum `S_l = sum_{j=l-K}^{l-1} p_j` (mirrored: `sum_{j=l}^{l+K-1}`), kept
        // running along the window: one pass, no prefix array.
        let (k, f, inv_d) = (self.k, self.f, 1.0 / self.d);
        let (alpha, beta) = (self.alpha, self.beta);
        let lo_i = lo as i64;
        let mut sum: f64 = if forward {
            (lo_i - k..lo_i).map(at).sum()
        } else {
            (lo_i..lo_i + k).map(at).sum()
        };
        for l in lo..=hi {
            let li = l as i64;
            let pl = p[l];
            let (value, slope) = if forward {
                let (a, b) = (at(li - k), at(li - k + 1));
                let v = (sum + 0.5 * pl - alpha * a - beta * b) * inv_d;
                sum += pl - a;
                (v, ((1.0 - f) * a + f * b - v) * inv_d)
            } else {
                let (a, b) = (at(li + k), at(li + k + 1));
                let v = (sum + alpha * a + beta * b - 0.5 * pl) * inv_d;
                sum += a - pl;
                (v, (v - (1.0 - f) * a - f * b) * inv_d)
            };
            if let Some(o) = out.as_deref_mut() {
                o[l] = keep * pl + spread * value;
            }
            if let Some(lam) = lambda {
                acc += lam[l] * slope;
            }
        }
        acc
    }
}

/// Gauss-Legendre nodes and weights on `[0, 1]` (`k` nodes, exact to degree `2k - 1`).
pub fn gauss_legendre_unit(k: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(k);
    for r in 1..=k {
        // Newton on P_k from the Chebyshev-like guess.
        let mut x = (std::f64::consts::PI * (r as f64 - 0.25) / (k as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for j in 2..=k {
                let p2 = ((2 * j - 1) as f64 * x * p1 - (j - 1) as f64 * p0) / j as f64;
                p0 = p1;
                p1 = p2;
            }
            let pk = if k == 1 { x } else { p1 };
            let pkm1 = if k == 1 { 1.0 } else { p0 };
            dp = k as f64 * (x * pk - pkm1) / (x * x - 1.0);
            let step = pk / dp;
            x -= step;
            if step.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        out.push(((1.0 - x) / 2.0, w / 2.0));
    }
    out
}
