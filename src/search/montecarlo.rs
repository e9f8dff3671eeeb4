//! Seeded Monte Carlo estimate of the loss (either activation), with its standard error.
//! Always an *estimate*: used where no exact route applies (rectified, large `n`) and as a
//! cross-check of the exact engines.

use crate::kernel::model::{Mat, Model, Values};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use statrs::statistics::Statistics;

/// Samples drawn per independent random stream; streams are numbered, so the result depends on
/// `(seed, samples)` only, never on the number of threads.
const CHUNK: usize = 4096;

/// A sample mean with its standard error `sd / sqrt(N)`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub std_error: f64,
    pub samples: usize,
    pub seed: u64,
}

/// One draw of `U ~ D`. `Beta(A, B)` with integer parameters is the `A`-th smallest of
/// `A + B - 1` uniforms.
pub(crate) fn draw_value(values: &Values, rng: &mut ChaCha8Rng, scratch: &mut Vec<f64>) -> f64 {
    match *values {
        Values::Uniform => rng.random::<f64>(),
        Values::One => 1.0,
        Values::Beta(a, b) => {
            scratch.clear();
            scratch.extend((0..a + b - 1).map(|_| rng.random::<f64>()));
            scratch.sort_by(f64::total_cmp);
            scratch[(a - 1) as usize]
        }
    }
}

/// Estimates `L(W; s) = E sum_i I_i (x_i - sigma((Gx + b)_i))^2` from `samples` draws.
pub fn estimate_loss(
    model: &Model,
    gram: &Mat<f64>,
    bias: Option<&[f64]>,
    importance: Option<&[f64]>,
    s: f64,
    samples: usize,
    seed: u64,
) -> Estimate {
    let n = gram.rows;
    let chunks = samples.div_ceil(CHUNK);
    let losses: Vec<f64> = (0..chunks)
        .into_par_iter()
        .flat_map_iter(|chunk| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(chunk as u64);
            let count = CHUNK.min(samples - chunk * CHUNK);
            let mut x = vec![0.0; n];
            let mut scratch = Vec::new();
            let mut out = Vec::with_capacity(count);
            for _ in 0..count {
                for xi in x.iter_mut() {
                    *xi = if rng.random::<f64>() < s {
                        draw_value(&model.values, &mut rng, &mut scratch)
                    } else {
                        0.0
                    };
                }
                let mut total = 0.0;
                for i in 0..n {
                    let mut z = bias.map_or(0.0, |b| b[i]);
                    for (j, xj) in x.iter().enumerate() {
                        if *xj != 0.0 {
                            z += gram.get(i, j) * xj;
                        }
                    }
                    let err = x[i] - model.sigma(&z);
                    total += importance.map_or(1.0, |w| w[i]) * err * err;
                }
                out.push(total);
            }
            out
        })
        .collect();
    let mean = losses.iter().mean();
    let sd = if losses.len() > 1 {
        losses.iter().std_dev()
    } else {
        f64::NAN
    };
    Estimate {
        mean,
        std_error: sd / (losses.len() as f64).sqrt(),
        samples,
        seed,
    }
}
