//! The sampled objective of the rectified optimiser (`search::saa`): its gradient, its
//! stratification, its agreement with the exact loss, and the known ReLU optimum at S = 0.

use num_rational::BigRational;
use superbound::kernel::arith::Scalar;
use superbound::kernel::loss::exact_loss;
use superbound::kernel::model::{Activation, Model, Setting, Values, Weights};
use superbound::search::optimise::{Objective, Options, Problem, Sampled, Smooth, optimise};
use superbound::search::saa::{Sample, support_size_probabilities};

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(n.into(), d.into())
}

fn problem(p: u32, n: usize, m: usize, s: BigRational, bias: bool, imp: bool) -> Problem {
    let model = Model::new(Activation::Rect, p, Values::Uniform).unwrap();
    Problem {
        setting: Setting::new(model, n, m).unwrap(),
        objective: Objective::Density(s),
        bias,
        importance: imp.then(|| (0..n).map(|i| 0.7f64.powi(i as i32)).collect()),
    }
}

fn point(dim: usize, seed: u64) -> Vec<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..dim).map(|_| rng.random_range(-0.9..0.9)).collect()
}

/// `P(|S| = k) = C(n, k) s^k (1-s)^(n-k)`: at n = 5, s = 1/2 these are C(5, k) / 32.
#[test]
fn support_size_probabilities_by_hand() {
    let p = support_size_probabilities(5, 0.5);
    for (k, c) in [1.0, 5.0, 10.0, 10.0, 5.0, 1.0].iter().enumerate() {
        assert!((p[k] - c / 32.0).abs() < 1e-15, "k = {k}: {}", p[k]);
    }
    assert_eq!(
        support_size_probabilities(4, 1.0),
        vec![0.0, 0.0, 0.0, 0.0, 1.0]
    );
}

/// The analytic gradient of the sampled objective against central differences (rect p = 2 is
/// continuously differentiable, so the differences are accurate), with bias and importance.
#[test]
fn sampled_gradient_matches_finite_differences() {
    for (s, bias, imp) in [
        (q(1, 3), true, true),
        (q(1, 1), false, true),
        (q(1, 20), true, false),
    ] {
        let pr = problem(2, 4, 2, s.clone(), bias, imp);
        let sp = Sampled {
            problem: &pr,
            sample: Sample::new(&pr.setting.model, 4, s.to_f64(), 512, 3),
        };
        let x = point(pr.dim(), 11);
        let (_, grad) = sp.value_and_grad(&x);
        let h = 1e-6;
        for k in 0..pr.dim() {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[k] += h;
            b[k] -= h;
            let fd = (sp.value_and_grad(&a).0 - sp.value_and_grad(&b).0) / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() < 1e-6 * (1.0 + fd.abs()),
                "s = {s}, bias {bias}, parameter {k}: analytic {} vs differences {fd}",
                grad[k]
            );
        }
    }
}

/// The stratified estimate agrees with the exact loss (the kernel's support sum) within four
/// standard errors, for rect p = 1 and 2, with bias and importance, at low and high density.
#[test]
fn stratified_estimate_contains_the_exact_loss() {
    for (p, s, bias, imp) in [
        (1, q(1, 50), true, false),
        (1, q(1, 1), false, true),
        (2, q(3, 10), true, true),
        (1, q(7, 10), false, false),
    ] {
        let pr = problem(p, 5, 2, s.clone(), bias, imp);
        let x = point(pr.dim(), 5);
        let (w, b) = pr.unpack(&x);
        let exact = exact_loss(
            &pr.setting.model,
            &Weights {
                w: w.map(|v| v.to_rational().unwrap()),
                bias: b
                    .as_ref()
                    .map(|b| b.iter().map(|v| v.to_rational().unwrap()).collect()),
                importance: pr
                    .importance
                    .as_ref()
                    .map(|v| v.iter().map(|x| x.to_rational().unwrap()).collect()),
            },
            &s,
        )
        .unwrap()
        .to_f64();
        let sample = Sample::new(&pr.setting.model, 5, s.to_f64(), 1 << 15, 9);
        let est = sample.estimate(
            &pr.setting.model,
            &w.gram(),
            b.as_deref(),
            pr.importance.as_deref(),
        );
        assert!(
            (est.mean - exact).abs() <= 4.0 * est.std_error + 1e-12,
            "p = {p}, s = {s}: estimate {} ± {} vs exact {exact}",
            est.mean,
            est.std_error
        );
        // The sampled objective itself is the same estimate.
        let sp = Sampled {
            problem: &pr,
            sample,
        };
        assert!((sp.value_and_grad(&x).0 - est.mean).abs() < 1e-12 * (1.0 + exact));
    }
}

/// Known answer (Elhage's model trained in PyTorch, the report): ReLU, n = 5, m = 2,
/// S = 0, no bias: the optimum is about 0.2498, not the pentagon (0.802). The linear optimum
/// (n - m)/12 = 0.25 is an upper bound (ReLU of the principal subspace can only do better here).
#[test]
fn relu_dense_optimum_is_not_the_pentagon() {
    let pr = problem(1, 5, 2, q(1, 1), false, false);
    let found = optimise(
        &pr,
        &Options {
            restarts: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let v = found.value.to_f64();
    assert!(found.exact);
    assert!(v < 0.2499 && v > 0.2490, "{v}");
    // Reproducible: the same seed gives the same W.
    let again = optimise(
        &pr,
        &Options {
            restarts: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(found.weights, again.weights);
}

/// Regression: where a stratum enumerates its supports, each support gets its own points of the
/// low-discrepancy sequence. They all shared the same `per` points: at n = 20, S = 0.97 the
/// stratum k = 3 (1140 supports, 10 points each) was off by 20% and the estimate by 10 to 15
/// standard errors. Checked against the kernel's exact enclosure of the same `W` (independent
/// code: exact support sums), for three seeds of the referee's size (2^18 inputs).
#[test]
fn stratified_estimate_at_n_20_within_its_error_of_the_enclosure() {
    use superbound::kernel::enclosure::{ENCLOSURE_BUDGET, enclosure_to_width};
    let pr = problem(1, 20, 5, q(3, 100), false, false);
    let x = point(pr.dim(), 11);
    let (w, _) = pr.unpack(&x);
    let exact_w = Weights::new(w.map(|v| v.to_rational().unwrap()));
    let model = pr.setting.model;
    let e = enclosure_to_width(
        &model,
        &exact_w,
        &q(3, 100),
        &q(1, 100_000),
        ENCLOSURE_BUDGET,
        superbound::kernel::oracle::ORACLE_MAX_N,
    )
    .unwrap();
    let (lo, hi) = (e.lo.to_f64(), e.hi.to_f64());
    for seed in [1, 2, 99] {
        let est =
            Sample::new(&model, 20, 0.03, 1 << 18, seed).estimate(&model, &w.gram(), None, None);
        assert!(
            est.mean + 4.0 * est.std_error >= lo && est.mean - 4.0 * est.std_error <= hi,
            "seed {seed}: {} ± {} outside [{lo}, {hi}]",
            est.mean,
            est.std_error
        );
    }
}

/// The estimate `optimize` reports has a valid standard error: with independent values, over
/// 24 seeds the errors against the exact loss, in units of their stated standard errors, have
/// a root mean square near 1 (n = 5, s = 1, 16384 inputs: `optimize`'s last sample at
/// `--samples 4096`). With
/// the low-discrepancy values it is 0.34 for this `W` (and was 2.3 for the optimised one).
#[test]
fn the_reported_standard_error_is_calibrated() {
    let pr = problem(1, 5, 2, q(1, 1), false, false);
    let x = point(pr.dim(), 5);
    let (w, _) = pr.unpack(&x);
    let model = pr.setting.model;
    let exact = exact_loss(
        &model,
        &Weights::new(w.map(|v| v.to_rational().unwrap())),
        &q(1, 1),
    )
    .unwrap()
    .to_f64();
    let z2: f64 = (0..24u64)
        .map(|seed| {
            let e = Sample::new(&model, 5, 1.0, 1 << 14, seed)
                .with_independent_values(&model, 1000 + seed)
                .estimate(&model, &w.gram(), None, None);
            ((e.mean - exact) / e.std_error).powi(2)
        })
        .sum();
    let rms = (z2 / 24.0).sqrt();
    assert!((0.6..=1.5).contains(&rms), "rms z {rms}");
}
