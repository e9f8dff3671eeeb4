//! Exact loss speed. Criterion times each engine; `ratios` then prints what is comparable across
//! noisy machines: each engine relative to the fraction-free exact engine measured alongside it,
//! and how the exact time grows with `n`.

use criterion::{Criterion, criterion_group, criterion_main};
use num_rational::BigRational;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Instant;
use superbound::evaluate::{MonteCarlo, evaluate};
use superbound::kernel::arith::Scalar;
use superbound::kernel::loss::{power_loss, power_loss_exact};
use superbound::kernel::model::{Activation, Mat, Model, Values, Weights};

/// An `m x n` weight matrix of `f64` entries (so exact values are dyadic), converted exactly.
fn setup(n: usize, m: usize) -> (Weights, Mat<f64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let data: Vec<f64> = (0..n * m).map(|_| rng.random_range(-1.0..1.0)).collect();
    let exact = Weights::new(Mat {
        rows: m,
        cols: n,
        data: data.iter().map(|x| x.to_rational().unwrap()).collect(),
    });
    (
        exact,
        Mat {
            rows: m,
            cols: n,
            data,
        },
    )
}

/// The normal input: the same shape written as 6-digit JSON decimals (seeded), read by
/// `Weights::from_json` (so the denominators are `10^6`, not powers of two).
fn setup_decimal(n: usize, m: usize) -> Weights {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let rows: Vec<String> = (0..m)
        .map(|_| {
            let row: Vec<String> = (0..n)
                .map(|_| format!("{:.6}", rng.random_range(-999_999..=999_999) as f64 / 1e6))
                .collect();
            format!("[{}]", row.join(", "))
        })
        .collect();
    Weights::from_json(&format!("{{\"W\": [{}]}}", rows.join(", "))).unwrap()
}

fn model() -> Model {
    Model::new(Activation::Power, 3, Values::Uniform).unwrap()
}

fn density() -> BigRational {
    BigRational::new(1.into(), 100.into())
}

fn benches(c: &mut Criterion) {
    let model = model();
    let s = density();
    let (w, wf) = setup(32, 8);
    let gf = wf.gram();
    let mut group = c.benchmark_group("loss n=32 m=8 p=3");
    group.bench_function("exact (fraction-free)", |b| {
        b.iter(|| power_loss_exact(&model, black_box(&w), &s).unwrap())
    });
    group.bench_function("f64", |b| {
        b.iter(|| power_loss::<f64>(&model, black_box(&gf), None, None, &0.01))
    });
    group.sample_size(10);
    let gq = w.gram::<BigRational>();
    group.bench_function("num-rational (generic field path)", |b| {
        b.iter(|| power_loss::<BigRational>(&model, black_box(&gq), None, None, &s))
    });
    #[cfg(feature = "rug")]
    {
        let gr = w.gram::<rug::Rational>();
        let sr = rug::Rational::from_rational(&s);
        group.bench_function("rug (generic field path)", |b| {
            b.iter(|| power_loss::<rug::Rational>(&model, black_box(&gr), None, None, &sr))
        });
    }
    let wd = setup_decimal(32, 8);
    group.bench_function("JSON decimals: evaluate (loss, polynomial, L1)", |b| {
        b.iter(|| evaluate(&model, black_box(&wd), &s, MonteCarlo::default()).unwrap())
    });
    group.bench_function("JSON decimals: exact (fraction-free)", |b| {
        b.iter(|| power_loss_exact(&model, black_box(&wd), &s).unwrap())
    });
    group.finish();
    let mut group = c.benchmark_group("exact loss by n (m=8 p=3)");
    group.sample_size(10);
    for n in [8, 16, 64, 128] {
        let (w, _) = setup(n, 8);
        group.bench_function(format!("n={n}"), |b| {
            b.iter(|| power_loss_exact(&model, black_box(&w), &s).unwrap())
        });
    }
    group.finish();
    ratios();
}

/// Fastest of `reps` runs, in seconds.
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Ratios measured back to back (noise cancels better than in absolute times).
fn ratios() {
    let model = model();
    let s = density();
    let (w, wf) = setup(32, 8);
    let gf = wf.gram();
    let exact = best_of(20, || {
        black_box(power_loss_exact(&model, &w, &s).unwrap());
    });
    let float = best_of(20, || {
        black_box(power_loss::<f64>(&model, &gf, None, None, &0.01));
    });
    let gq = w.gram::<BigRational>();
    let generic = best_of(3, || {
        black_box(power_loss::<BigRational>(&model, &gq, None, None, &s));
    });
    let wd = setup_decimal(32, 8);
    let decimal = best_of(20, || {
        black_box(power_loss_exact(&model, &wd, &s).unwrap());
    });
    let decimal_eval = best_of(20, || {
        black_box(evaluate(&model, &wd, &s, MonteCarlo::default()).unwrap());
    });
    let gd = wd.gram::<BigRational>();
    let decimal_generic = best_of(3, || {
        black_box(power_loss::<BigRational>(&model, &gd, None, None, &s));
    });
    eprintln!("\nratios (n=32, m=8, p=3; fastest of repeated runs):");
    eprintln!("  exact fraction-free: {:.3} ms", exact * 1e3);
    eprintln!(
        "  JSON decimals: exact {:.3} ms, evaluate (what `loss` computes) {:.3} ms",
        decimal * 1e3,
        decimal_eval * 1e3
    );
    eprintln!(
        "  JSON decimals: num-rational generic / exact = {:8.1}",
        decimal_generic / decimal
    );
    eprintln!(
        "  exact / f64                       = {:8.1}",
        exact / float
    );
    eprintln!(
        "  num-rational generic / exact      = {:8.1}",
        generic / exact
    );
    #[cfg(feature = "rug")]
    {
        let gr = w.gram::<rug::Rational>();
        let sr = rug::Rational::from_rational(&s);
        let rug_t = best_of(5, || {
            black_box(power_loss::<rug::Rational>(&model, &gr, None, None, &sr));
        });
        eprintln!(
            "  rug generic / exact               = {:8.2}",
            rug_t / exact
        );
        eprintln!(
            "  num-rational generic / rug        = {:8.1}",
            generic / rug_t
        );
    }
    let mut prev: Option<(usize, f64)> = None;
    for n in [8, 16, 32, 64, 128] {
        let (w, _) = setup(n, 8);
        let t = best_of(5, || {
            black_box(power_loss_exact(&model, &w, &s).unwrap());
        });
        match prev {
            Some((pn, pt)) => eprintln!(
                "  exact n={n:4}: {:9.3} ms, x{:.2} for n x{} (n^2 predicts x{})",
                t * 1e3,
                t / pt,
                n / pn,
                (n / pn).pow(2)
            ),
            None => eprintln!("  exact n={n:4}: {:9.3} ms", t * 1e3),
        }
        prev = Some((n, t));
    }
}

criterion_group!(group, benches);
criterion_main!(group);
