//! The quadrature objective of the rectified loss (untrusted search code) against the kernel's
//! exact support sum, and its gradient against central differences of its own value.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use superbound::kernel::model::{Activation, Mat, Model, Values};
use superbound::kernel::oracle::oracle_polynomial;
use superbound::search::quadrature::{Quadrature, gauss_legendre_unit};

fn random_case(seed: u64, n: usize, m: usize) -> (Mat<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = Mat {
        rows: m,
        cols: n,
        data: (0..m * n).map(|_| rng.random_range(-1.0..1.0)).collect(),
    };
    let b: Vec<f64> = (0..n).map(|_| rng.random_range(-0.4..0.2)).collect();
    let imp: Vec<f64> = (0..n).map(|i| 0.7f64.powi(i as i32)).collect();
    (w.gram(), b, imp)
}

#[test]
fn gauss_legendre_integrates_polynomials_exactly() {
    for k in 1..=8 {
        let nodes = gauss_legendre_unit(k);
        for deg in 0..(2 * k) as i32 {
            let v: f64 = nodes.iter().map(|(x, w)| w * x.powi(deg)).sum();
            assert!(
                (v - 1.0 / (deg as f64 + 1.0)).abs() < 1e-14,
                "k {k} deg {deg}: {v}"
            );
        }
    }
}

/// Within 3e-5 relative of the exact loss (kernel support sum in f64) at `M = 1024`, converging
/// at second order in the grid step, with bias
/// and importance, for p = 1, 2 and densities from 1/1000 to 1.
#[test]
fn quadrature_matches_the_exact_support_sum() {
    let mut worst: f64 = 0.0;
    for (seed, n, m) in [(1, 4, 2), (2, 5, 2), (3, 6, 3), (4, 5, 3)] {
        let (g, b, imp) = random_case(seed, n, m);
        for p in [1, 2] {
            let model = Model::new(Activation::Rect, p, Values::Uniform).unwrap();
            let exact = oracle_polynomial(&model, &g, Some(&b), Some(&imp)).unwrap();
            for s in [0.001, 0.05, 0.3, 0.7, 1.0] {
                let e = exact.eval(&s);
                let rel = |points: usize| {
                    let q = Quadrature::new(&model, s, points);
                    let (v, _, _) = q.value_and_gamma(&g, Some(&b), Some(&imp));
                    (v - e).abs() / e
                };
                let (coarse, fine) = (rel(1024), rel(4096));
                worst = worst.max(coarse);
                eprintln!(
                    "n {n} p {p} s {s}: relative error {coarse:.2e} (M = 1024), {fine:.2e} (4096)"
                );
                assert!(
                    coarse < 3e-5,
                    "n {n} p {p} s {s}: relative error {coarse:e}"
                );
                // Second order in h: four times the points, at least 8 times less error.
                assert!(
                    fine <= (coarse / 8.0).max(1e-12),
                    "n {n} p {p} s {s}: {coarse:e} -> {fine:e}"
                );
            }
        }
    }
    eprintln!("worst relative error {worst:e}");
}

/// The analytic gradient (in G and b) agrees with central differences of the value.
#[test]
fn quadrature_gradient_matches_differences() {
    for (seed, n, m, p, s) in [(5, 5, 2, 1, 0.3), (6, 7, 3, 2, 0.05), (7, 6, 2, 1, 1.0)] {
        let model = Model::new(Activation::Rect, p, Values::Uniform).unwrap();
        let (g, b, imp) = random_case(seed, n, m);
        let q = Quadrature::new(&model, s, 512);
        let (_, gamma, gb) = q.value_and_gamma(&g, Some(&b), Some(&imp));
        let eps = 1e-6;
        for i in 0..n {
            for j in 0..n {
                // Row i's own use of G_ij: perturb the entry of row i only.
                let f = |d: f64| {
                    let mut gp = g.clone();
                    gp.data[i * n + j] += d;
                    q.value_and_gamma(&gp, Some(&b), Some(&imp)).0
                };
                let fd = (f(eps) - f(-eps)) / (2.0 * eps);
                let an = gamma[i * n + j];
                assert!(
                    (fd - an).abs() <= 1e-5 * (1.0 + an.abs()),
                    "case {seed} G[{i}][{j}]: analytic {an} differences {fd}"
                );
            }
            let f = |d: f64| {
                let mut bp = b.clone();
                bp[i] += d;
                q.value_and_gamma(&g, Some(&bp), Some(&imp)).0
            };
            let fd = (f(eps) - f(-eps)) / (2.0 * eps);
            assert!(
                (fd - gb[i]).abs() <= 1e-5 * (1.0 + gb[i].abs()),
                "case {seed} b[{i}]: analytic {} differences {fd}",
                gb[i]
            );
        }
    }
}

/// Couplings far below the grid step (`1e-17`, as a rounded `cos(pi/2)` gives) and a row whose
/// couplings are all tiny keep the value finite, and close to the value with those couplings
/// set to zero.
#[test]
fn quadrature_with_negligible_couplings_is_finite_and_continuous() {
    let model = Model::new(Activation::Rect, 1, Values::Uniform).unwrap();
    let (mut g, b, imp) = random_case(8, 5, 2);
    let n = 5;
    for j in 0..n {
        if j != 2 {
            g.data[2 * n + j] = 1e-17;
        }
    }
    g.data[n + 3] = -3e-17;
    let mut zeroed = g.clone();
    for v in zeroed.data.iter_mut() {
        if v.abs() < 1e-16 {
            *v = 0.0;
        }
    }
    for s in [0.01, 0.5, 1.0] {
        let q = Quadrature::new(&model, s, 1024);
        let (v, gamma, gb) = q.value_and_gamma(&g, Some(&b), Some(&imp));
        let (v0, _, _) = q.value_and_gamma(&zeroed, Some(&b), Some(&imp));
        assert!(v.is_finite() && gamma.iter().chain(&gb).all(|x| x.is_finite()));
        // Not identical: a zero coupling keeps the atom exact, a tiny one puts its share on
        // the grid (an O(s h^2) difference).
        assert!((v - v0).abs() / v0 < 1e-7, "s {s}: {v} against {v0}");
        let exact = oracle_polynomial(&model, &zeroed, Some(&b), Some(&imp))
            .unwrap()
            .eval(&s);
        assert!(
            (v - exact).abs() / exact < 3e-5,
            "s {s}: {v} against exact {exact}"
        );
    }
}

/// Regression: a coupling far below the grid step (a feature the optimiser switched off) used
/// to spread the empty support's atom on the grid, where the value samples `phi` at grid points:
/// the value then had kinks at grid points as a function of `b_i`, and the optimiser's biases
/// snapped to multiples of the grid step (`b = 1/64, 3/128, 3/64` at n = 5, S = 0.7). The
/// derivative in `b_1` along a line must now change smoothly: its increments between equally
/// spaced points stay within a factor 1.5 of each other (they ranged over 8x before).
#[test]
fn quadrature_is_smooth_in_the_bias_with_a_switched_off_feature() {
    let w = Mat {
        rows: 2,
        cols: 5,
        data: vec![
            0.15525997254560475,
            1.0093963512301372,
            -0.9814378266878936,
            -0.1370205731897174,
            -2.5079813774766303e-08,
            -1.0243738012221628,
            0.15298985161855067,
            -0.14875234982673247,
            0.9040337970205354,
            6.566392075911819e-08,
        ],
    };
    let b0 = [0.0097658, 0.015625, 0.0234375, 0.046875, 0.15];
    let imp: Vec<f64> = (0..5).map(|i| 0.7f64.powi(i)).collect();
    let g = w.gram();
    let model = Model::new(Activation::Rect, 1, Values::Uniform).unwrap();
    let q = Quadrature::new(&model, 0.3, 256);
    let slopes: Vec<f64> = (-6..=6)
        .map(|k| {
            let mut b = b0.to_vec();
            b[1] = 0.015625 + k as f64 * 0.0005;
            q.value_and_gamma(&g, Some(&b), Some(&imp)).2[1]
        })
        .collect();
    let steps: Vec<f64> = slopes.windows(2).map(|w| w[1] - w[0]).collect();
    let (lo, hi) = steps
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(
        lo > 0.0 && hi <= 1.5 * lo,
        "derivative increments {steps:?}"
    );
}
