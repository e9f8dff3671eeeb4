//! Sample-average approximation (SAA) of the loss at a density, for either activation, with
//! bias and importance, for any `n`: the objective the rectified optimiser minimises.
//!
//! `L(W, b; s) = sum_k P(|S| = k) E[l(S) | |S| = k]` with `P(|S| = k) = C(n, k) s^k (1-s)^{n-k}`.
//! The sample is **stratified by support size**: the empty support is exact
//! (`l(∅) = sum_i I_i sigma(b_i)^2`, no randomness), and stratum `k >= 1` gets
//! `N_k = max(2, round(N P_k))` inputs with a uniformly random support of size `k` and values
//! drawn from `D`. The estimate
//!
//! ```text
//! L_hat = P_0 l(∅) + sum_k (P_k / N_k) sum_{t <= N_k} l(x_t)
//! ```
//!
//! (values of uniform features taken from a randomly shifted low-discrepancy sequence, and every
//! support of a stratum enumerated when there are few of them) is unbiased over the kept strata, and its minimiser converges to the true one as `N` grows
//! (the same fixed sample at every evaluation: common random numbers, so `L_hat` is a smooth
//! deterministic function of `W` wherever no `z_i` sits at a kink). Strata are kept from the most
//! probable down until the left-out probability is below [`LEFT_OUT`]; the error this adds is at
//! most `LEFT_OUT` times a loss bound and is stated in [`Sample::describe`].
//!
//! Per input with support `A`, `z = b + G_{:,A} u_A` costs `O(n |A|)`, and so does its
//! contribution to `Gamma = dL/dG` (`Gamma_ij += w delta_i u_j` for `j in A`,
//! `delta_i = -2 I_i (x_i - sigma(z_i)) sigma'(z_i)`); the chain rule through `G = W^T W` is
//! `O(m n^2)` once per evaluation. Inputs are processed in parallel blocks.

use crate::kernel::model::{Activation, Mat, Model, Values};
use crate::search::montecarlo::draw_value;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Largest probability of the support sizes left out of the sample.
pub const LEFT_OUT: f64 = 1e-12;

/// Blocks of inputs evaluated in parallel (fixed by `n`, so results do not depend on the
/// threads): 16, fewer for large `n`, where each block's dense `n x n` gradient would cost more
/// than its inputs (at most `2^21` gradient entries in all, at least 2 blocks).
fn blocks(n: usize) -> usize {
    (BLOCK_ENTRIES / (n * n).max(1)).clamp(2, 16)
}

const BLOCK_ENTRIES: usize = 1 << 21;

/// One sampled input: its weight `P_k / N_k` and its active features `(j, u_j)`.
#[derive(Clone, Debug)]
pub struct Point {
    pub weight: f64,
    pub active: Vec<(usize, f64)>,
}

/// A fixed stratified sample at density `s` (see the module doc).
#[derive(Clone, Debug)]
pub struct Sample {
    pub n: usize,
    pub s: f64,
    pub seed: u64,
    /// `P(|S| = 0)`, the weight of the exact empty-support term.
    pub empty: f64,
    pub points: Vec<Point>,
    /// Probability of the support sizes left out (`<= LEFT_OUT`).
    pub left_out: f64,
    /// `(k, P_k, N_k)` of the kept strata `k >= 1`.
    pub strata: Vec<(usize, f64, usize)>,
}

/// `P(|S| = k)` for `k = 0..=n`, computed in logs (no overflow for `n` up to thousands).
pub fn support_size_probabilities(n: usize, s: f64) -> Vec<f64> {
    if s >= 1.0 {
        let mut v = vec![0.0; n + 1];
        v[n] = 1.0;
        return v;
    }
    if s <= 0.0 {
        let mut v = vec![0.0; n + 1];
        v[0] = 1.0;
        return v;
    }
    let (ls, l1s) = (s.ln(), (-s).ln_1p());
    let mut log_binom = 0.0f64;
    (0..=n)
        .map(|k| {
            if k > 0 {
                log_binom += ((n - k + 1) as f64).ln() - (k as f64).ln();
            }
            (log_binom + k as f64 * ls + (n - k) as f64 * l1s).exp()
        })
        .collect()
}

impl Sample {
    /// About `size` sampled inputs (plus the exact empty support) for `n` features at density
    /// `s`, with values of `model`, from `seed` (stratum `k` uses stream `k` of ChaCha8).
    pub fn new(model: &Model, n: usize, s: f64, size: usize, seed: u64) -> Sample {
        let probs = support_size_probabilities(n, s);
        // Keep the most probable strata until what is left out is below LEFT_OUT.
        let mut order: Vec<usize> = (1..=n).filter(|&k| probs[k] > 0.0).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let mut left: f64 = order.iter().map(|&k| probs[k]).sum();
        let mut kept = Vec::new();
        for &k in &order {
            if left <= LEFT_OUT {
                break;
            }
            left -= probs[k];
            kept.push(k);
        }
        kept.sort_unstable();
        // What is left out, summed directly (the running difference above only decides).
        let left: f64 = order
            .iter()
            .filter(|k| kept.binary_search(k).is_err())
            .map(|&k| probs[k])
            .sum();
        let mass: f64 = kept.iter().map(|&k| probs[k]).sum();
        let mut points = Vec::new();
        let mut strata = Vec::new();
        for &k in &kept {
            let share = if mass > 0.0 { probs[k] / mass } else { 0.0 };
            let wanted = ((size as f64 * share).round() as usize).max(2);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(k as u64);
            let mut scratch = Vec::new();
            let alpha = kronecker_steps(k);
            let shift: Vec<f64> = (0..k).map(|_| rng.random::<f64>()).collect();
            let mut values = |t: usize, rng: &mut ChaCha8Rng| -> Vec<f64> {
                (0..k)
                    .map(|d| match model.values {
                        // A low-discrepancy point of [0, 1)^k (randomly shifted).
                        Values::Uniform => (shift[d] + t as f64 * alpha[d]).fract(),
                        _ => draw_value(&model.values, rng, &mut scratch),
                    })
                    .collect()
            };
            // Every support when there are few (each gets the same number of points),
            // else a uniformly random support per point.
            let supports = binomial_f64(n, k);
            let count;
            if supports * 8.0 <= wanted as f64 {
                let per = (wanted as f64 / supports).ceil() as usize;
                count = per * supports as usize;
                // Each support its own points of the sequence: one shared set of `per` points
                // made the supports' errors add up (at n = 20, k = 3: 10 points for 1140
                // supports, the stratum off by 20%, the estimate by 15 standard errors).
                let mut t = 0;
                for_each_subset(n, k, &mut |support: &[usize]| {
                    for _ in 0..per {
                        let u = values(t, &mut rng);
                        t += 1;
                        points.push(Point {
                            weight: probs[k] / count as f64,
                            active: support.iter().copied().zip(u).collect(),
                        });
                    }
                });
            } else {
                count = wanted;
                let mut pool: Vec<usize> = (0..n).collect();
                for t in 0..count {
                    // A uniform k-subset: the first k of a partial Fisher-Yates shuffle.
                    for d in 0..k {
                        let r = rng.random_range(d..n);
                        pool.swap(d, r);
                    }
                    let u = values(t, &mut rng);
                    let mut active: Vec<(usize, f64)> = pool[..k].iter().copied().zip(u).collect();
                    active.sort_unstable_by_key(|a| a.0);
                    points.push(Point {
                        weight: probs[k] / count as f64,
                        active,
                    });
                }
            }
            strata.push((k, probs[k], count));
        }
        Sample {
            n,
            s,
            seed,
            empty: probs[0],
            points,
            left_out: left.max(0.0),
            strata,
        }
    }

    /// The same supports with independent values (ChaCha8 from `seed`): the sample whose
    /// standard error is a valid error bar. The low-discrepancy values of [`Sample::new`] make
    /// the estimate smooth in `W` for the search, but its spread over random shifts is not the
    /// iid formula's: at `n = 5`, `s = 1` on 16384 inputs it was 2.3 times the stated error.
    pub fn with_independent_values(mut self, model: &Model, seed: u64) -> Sample {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut scratch = Vec::new();
        for pt in &mut self.points {
            for a in &mut pt.active {
                a.1 = draw_value(&model.values, &mut rng, &mut scratch);
            }
        }
        self
    }

    /// One line: size, seed, strata, and what is left out.
    pub fn describe(&self) -> String {
        let (lo, hi) = (
            self.strata.first().map_or(0, |s| s.0),
            self.strata.last().map_or(0, |s| s.0),
        );
        format!(
            "{} sampled inputs (seed {}), stratified by support size {lo}..={hi}, the empty \
             support exact; support sizes of probability {:.1e} left out",
            self.points.len(),
            self.seed,
            self.left_out
        )
    }

    /// `L_hat` and `Gamma = dL_hat/dG` (row-major `n x n`) and `dL_hat/db`.
    pub fn value_and_gamma(
        &self,
        model: &Model,
        g: &Mat<f64>,
        bias: Option<&[f64]>,
        importance: Option<&[f64]>,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let n = self.n;
        let imp = |i: usize| importance.map_or(1.0, |w| w[i]);
        let b = |i: usize| bias.map_or(0.0, |b| b[i]);
        let sig = |t: f64| sigma_and_slope(model.act, model.p, t);
        // The empty support: x = 0, z = b.
        let mut value = 0.0;
        let mut gb = vec![0.0; n];
        for (i, gbi) in gb.iter_mut().enumerate() {
            let (sz, d) = sig(b(i));
            value += self.empty * imp(i) * sz * sz;
            *gbi += self.empty * 2.0 * imp(i) * sz * d;
        }
        // A fixed number of blocks summed in order: the value does not depend on the threads.
        let per = self.points.len().div_ceil(blocks(n)).max(1);
        let parts: Vec<(f64, Vec<f64>, Vec<f64>)> = self
            .points
            .par_chunks(per)
            .map(|chunk| {
                let mut v = 0.0;
                // Gamma transposed (entry (j, i) holds Gamma_ij): the rows i of one input are
                // visited in order, so its writes are contiguous.
                let mut gamma_t = vec![0.0; n * n];
                let mut gb = vec![0.0; n];
                let (mut x, mut z) = (vec![0.0; n], vec![0.0; n]);
                for pt in chunk {
                    v += pt.weight
                        * input_loss(
                            model,
                            g,
                            bias,
                            importance,
                            pt,
                            (&mut x, &mut z),
                            |i, delta| {
                                // delta = dl/dz_i; dz_i/dG_ij = u_j, dz_i/db_i = 1
                                let delta = pt.weight * delta;
                                gb[i] += delta;
                                for &(j, u) in &pt.active {
                                    gamma_t[j * n + i] += delta * u;
                                }
                            },
                        );
                }
                (v, gamma_t, gb)
            })
            .collect();
        let mut gamma_t = vec![0.0; n * n];
        for (v, ga, gbp) in parts {
            value += v;
            gamma_t.iter_mut().zip(&ga).for_each(|(x, y)| *x += y);
            gb.iter_mut().zip(&gbp).for_each(|(x, y)| *x += y);
        }
        let gamma = (0..n * n).map(|t| gamma_t[(t % n) * n + t / n]).collect();
        (value, gamma, gb)
    }
}

/// `sigma(t)` and `sigma'(t)` in `f64` (the slope `0` at a rectified kink, and for `t <= 0`).
pub fn sigma_and_slope(act: Activation, p: u32, t: f64) -> (f64, f64) {
    if act == Activation::Rect && t <= 0.0 {
        return (0.0, 0.0);
    }
    // p = 1 and 2 without `powi` (a library call, the inner loop's main cost at large n).
    match p {
        1 => (t, 1.0),
        2 => (t * t, 2.0 * t),
        _ => (t.powi(p as i32), p as f64 * t.powi(p as i32 - 1)),
    }
}

/// The loss `l(x) = sum_i I_i (x_i - sigma(z_i))^2`, `z = b + G_{:,A} u_A`, of one input with
/// support `A`, in `O(n |A|)` (`G` is symmetric: `z` is summed from the rows `G_{j,:}`,
/// contiguously); `on_row(i, dl/dz_i)` is called for every row with a nonzero derivative, in
/// increasing `i`. `(x, z)` is scratch of length `n`; `x` is all zero on entry and on return.
fn input_loss(
    model: &Model,
    g: &Mat<f64>,
    bias: Option<&[f64]>,
    importance: Option<&[f64]>,
    pt: &Point,
    (x, zs): (&mut [f64], &mut [f64]),
    mut on_row: impl FnMut(usize, f64),
) -> f64 {
    match bias {
        Some(b) => zs.copy_from_slice(b),
        None => zs.iter_mut().for_each(|z| *z = 0.0),
    }
    for &(j, u) in &pt.active {
        x[j] = u;
        zs.iter_mut().zip(g.row(j)).for_each(|(z, gj)| *z += gj * u);
    }
    let mut total = 0.0;
    for (i, &z) in zs.iter().enumerate() {
        let (sz, d) = sigma_and_slope(model.act, model.p, z);
        let err = x[i] - sz;
        if err == 0.0 {
            continue;
        }
        let imp = importance.map_or(1.0, |w| w[i]);
        total += imp * err * err;
        let delta = -2.0 * imp * err * d;
        if delta != 0.0 {
            on_row(i, delta);
        }
    }
    for &(j, _) in &pt.active {
        x[j] = 0.0;
    }
    total
}

impl Sample {
    /// The stratified estimate of the loss with its standard error
    /// `sqrt(sum_k P_k^2 var_k / N_k)` (`var_k` the sample variance within stratum `k`).
    pub fn estimate(
        &self,
        model: &Model,
        g: &Mat<f64>,
        bias: Option<&[f64]>,
        importance: Option<&[f64]>,
    ) -> crate::search::montecarlo::Estimate {
        let n = self.n;
        let imp = |i: usize| importance.map_or(1.0, |w| w[i]);
        let b = |i: usize| bias.map_or(0.0, |b| b[i]);
        let losses: Vec<f64> = self
            .points
            .par_iter()
            .map_init(
                || (vec![0.0; n], vec![0.0; n]),
                |(x, z), pt| input_loss(model, g, bias, importance, pt, (x, z), |_, _| {}),
            )
            .collect();
        let mut mean = (0..n)
            .map(|i| imp(i) * sigma_and_slope(model.act, model.p, b(i)).0.powi(2))
            .sum::<f64>()
            * self.empty;
        let mut var = 0.0;
        let mut at = 0;
        for &(_, p, count) in &self.strata {
            let part = &losses[at..at + count];
            at += count;
            let m = part.iter().sum::<f64>() / count as f64;
            let v = part.iter().map(|l| (l - m).powi(2)).sum::<f64>() / (count as f64 - 1.0);
            mean += p * m;
            var += p * p * v / count as f64;
        }
        crate::search::montecarlo::Estimate {
            mean,
            std_error: var.sqrt(),
            samples: self.points.len(),
            seed: self.seed,
        }
    }
}

/// `C(n, k)` as an `f64`.
fn binomial_f64(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `f` with every `k`-subset of `0..n`, sorted, in lexicographic order.
fn for_each_subset(n: usize, k: usize, f: &mut impl FnMut(&[usize])) {
    let mut cur: Vec<usize> = (0..k).collect();
    loop {
        f(&cur);
        // The rightmost index that can still move.
        let Some(i) = (0..k).rev().find(|&i| cur[i] < n - k + i) else {
            return;
        };
        cur[i] += 1;
        for j in i + 1..k {
            cur[j] = cur[j - 1] + 1;
        }
    }
}

/// The steps `alpha_d = phi_k^-(d+1)` of Roberts' `R_k` Kronecker sequence
/// `u_t = frac(shift + t alpha)`, a low-discrepancy sequence for every `t` (`phi_k` the positive
/// root of `x^(k+1) = x + 1`).
fn kronecker_steps(k: usize) -> Vec<f64> {
    let mut phi = 2.0f64;
    for _ in 0..60 {
        let f = phi.powi(k as i32 + 1) - phi - 1.0;
        let df = (k as f64 + 1.0) * phi.powi(k as i32) - 1.0;
        phi -= f / df;
    }
    (0..k).map(|d| phi.powi(-(d as i32 + 1)).fract()).collect()
}
