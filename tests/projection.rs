//! The projection bound (src/kernel/projection.rs, proofs/projection-bound.md) and the ReLU's
//! linear upper bound (proofs/relu-below-linear.md): values against an independent mpmath
//! evaluation, a closed form, the exact linear optimum, and exact losses of random models with
//! biases and importance weights; the evidence route through `table` and `check`.

use assert_cmd::Command;
use num_rational::BigRational;
use proptest::prelude::*;
use superbound::bounds::{Bound, PrincipalSubspace, Projection, Query};
use superbound::kernel::closed_form::linear_optimum;
use superbound::kernel::loss::exact_loss;
use superbound::kernel::model::{Activation, Mat, Model, Setting, Values, Weights};
use superbound::kernel::projection::{projection_bound, top_weights};

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(n.into(), d.into())
}

fn f(x: &BigRational) -> f64 {
    superbound::kernel::arith::rational_to_f64(x)
}

/// Two features, one dimension, dense: `c_1 = 1/12` exactly (the variance of a uniform segment of
/// unit length; no `pi`), `C(2, 1) = 2`, so the bound is `1/24`; the best linear reconstruction
/// misses `1/12` (Eckart–Young), above it.
#[test]
fn two_features_in_one_dimension_give_one_24th() {
    let ones = vec![q(1, 1); 2];
    assert_eq!(
        projection_bound(1, &ones, &q(1, 1), None).unwrap(),
        q(1, 24)
    );
    // At density s only the support {1, 2} (probability s^2) counts; the probability is rounded
    // down to 160 significant bits.
    let got = projection_bound(1, &ones, &q(1, 3), None).unwrap();
    let exact = q(1, 9) * q(1, 24);
    assert!(
        got <= exact && (&exact - &got) / &exact < q(1, 1 << 50) * q(1, 1 << 50) * q(1, 1 << 50)
    );
    let st = Setting::new(
        Model::new(Activation::Power, 1, Values::Uniform).unwrap(),
        2,
        1,
    )
    .unwrap();
    assert_eq!(linear_optimum(&st, Some(&q(1, 1))), q(1, 12));
}

/// Independent values (tests/independent/projection_bound.py: mpmath, true `pi` and `Gamma`): the
/// kernel's rational lies below each (it rounds `pi` up to `355/113` and roots up) and within
/// `1e-6` relative.
#[test]
fn matches_an_independent_mpmath_evaluation() {
    let independent: [(&str, f64); 11] = [
        ("20,5,1", 0.5273376236736179),
        ("20,5,1/2", 0.12793628912466215),
        ("20,5,3/10", 0.027797064320244105),
        ("5,2,1", 0.10717467556747279),
        ("100,10,1/2", 1.4177320595695555),
        ("6,2,9/10", 0.1258120785835095),
        ("12,4,1/3", 0.013225968456222538),
        ("geo5,2,1", 0.046396883638798125),
        ("geo5,2,1/2", 0.00960281654208514),
        ("5,2,1/2,e", 0.023375223219560905),
        ("20,5,1/10,e", 0.003165659814056633),
    ];
    let e2 = q(15272409, 10_000_000_000);
    let geo: Vec<BigRational> = (0..5).map(|i| num_traits::pow(q(7, 10), i)).collect();
    for (name, expected) in independent {
        let parts: Vec<&str> = name.split(',').collect();
        let m: usize = parts[1].parse().unwrap();
        let s = superbound::kernel::arith::parse_rational(parts[2]).unwrap();
        let weights = if let Some(n) = parts[0].strip_prefix("geo") {
            assert_eq!(n, "5");
            geo.clone()
        } else {
            vec![q(1, 1); parts[0].parse().unwrap()]
        };
        let e = (parts.len() == 4).then_some(&e2);
        let got = f(&projection_bound(m, &weights, &s, e).unwrap());
        assert!(got <= expected, "{name}: {got} above {expected}");
        assert!(
            got >= expected * (1.0 - 1e-6),
            "{name}: {got} far below {expected}"
        );
    }
}

/// For the linear activation with a bias the optimum is known exactly at every density,
/// `(n - m)(s/3 - s^2/4)`; a bound on every decoder must lie below it, everywhere.
#[test]
fn below_the_exact_linear_optimum() {
    let model = Model::new(Activation::Power, 1, Values::Uniform).unwrap();
    let mut checked = 0;
    for n in 2..=16 {
        for m in 1..n {
            let st = Setting::new(model, n, m).unwrap();
            let ones = vec![q(1, 1); n];
            for s in [q(1, 1), q(99, 100), q(9, 10), q(1, 2), q(1, 10), q(1, 1000)] {
                let bound = projection_bound(m, &ones, &s, None).unwrap();
                let optimum = linear_optimum(&st, Some(&s));
                assert!(
                    bound <= optimum,
                    "n = {n}, m = {m}, s = {s}: {bound} > {optimum}"
                );
                assert!(bound > q(0, 1));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 120 * 6);
    // The dense ratio at Elhage's size: the bound is within a factor 2.4 of the optimum.
    let st = Setting::new(model, 20, 5).unwrap();
    let ratio = f(&linear_optimum(&st, Some(&q(1, 1))))
        / f(&projection_bound(5, &vec![q(1, 1); 20], &q(1, 1), None).unwrap());
    assert!((2.36..2.38).contains(&ratio), "{ratio}");
}

/// The features kept: the `j` of largest importance; none of importance 0; not more than `n`.
#[test]
fn top_weights_keep_the_largest() {
    let imp = vec![q(1, 2), q(0, 1), q(3, 1), q(1, 1)];
    assert_eq!(
        top_weights(Some(&imp), 4, 3).unwrap(),
        vec![q(3, 1), q(1, 1), q(1, 2)]
    );
    assert!(top_weights(Some(&imp), 4, 4).is_err());
    assert!(top_weights(None, 4, 5).is_err());
    assert!(projection_bound(2, &[q(1, 1), q(0, 1)], &q(1, 2), None).is_err());
    assert!(projection_bound(2, &[q(1, 1)], &q(3, 2), None).is_err());
}

fn rational() -> impl Strategy<Value = BigRational> {
    prop_oneof![
        1 => Just(q(0, 1)),
        4 => (-6i64..=6, 1i64..=5).prop_map(|(n, d)| q(n, d)),
    ]
}

/// Random models with biases and importance weights, `n <= 6`: the exact loss (support sum for
/// the ReLU, the power engine for `t^p`) is above the registry's projection bound, and for the
/// ReLU below the linear loss of the same `W` and `b`.
fn model_case() -> impl Strategy<Value = (Model, Weights, BigRational)> {
    (2usize..=6, 1usize..=2, any::<bool>(), 1u32..=2, 0usize..4).prop_flat_map(
        |(n, m, rect, p, si)| {
            let act = if rect {
                Activation::Rect
            } else {
                Activation::Power
            };
            let s = [q(1, 1), q(3, 4), q(1, 2), q(1, 5)][si].clone();
            (
                proptest::collection::vec(rational(), n * m),
                proptest::option::of(proptest::collection::vec(rational(), n)),
                proptest::option::of(proptest::collection::vec(
                    (1i64..=5, 1i64..=4).prop_map(|(a, b)| q(a, b)),
                    n,
                )),
            )
                .prop_map(move |(data, bias, importance)| {
                    let model = Model::new(act, p, Values::Uniform).unwrap();
                    let w = Weights {
                        w: Mat {
                            rows: m,
                            cols: n,
                            data,
                        },
                        bias,
                        importance,
                    };
                    (model, w, s.clone())
                })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]
    #[test]
    fn exact_losses_lie_above_the_projection_bound((model, w, s) in model_case()) {
        let (n, m) = (w.w.cols, w.w.rows);
        let query = Query {
            setting: Setting::new(model, n, m).unwrap(),
            bias: true,
            importance: w.importance.clone(),
        };
        let loss = exact_loss(&model, &w, &s).expect("n <= 6 has an exact loss");
        match Projection.at_density(&query, &s) {
            Some(bound) => {
                prop_assert!(bound.value <= loss, "bound {} above the loss {}", bound.value, loss);
            }
            // Positive weights and n > m always give a positive bound: the check is not vacuous.
            None => prop_assert!(n <= m && model.p == 1, "no bound at n = {}, m = {}", n, m),
        }
        if model.act == Activation::Rect && model.p == 1 {
            let linear = Model { act: Activation::Power, ..model };
            let upper = exact_loss(&linear, &w, &s).unwrap();
            prop_assert!(loss <= upper, "ReLU loss {} above the linear loss {}", loss, upper);
        }
    }
}

/// The registry's ReLU upper bound at Elhage's size, dense, with a bias: the principal
/// subspace's linear loss, `15/12` up to its rounding; the projection bound below it.
#[test]
fn elhage_dense_relu_is_bracketed() {
    let model = Model::new(Activation::Rect, 1, Values::Uniform).unwrap();
    let query = Query {
        setting: Setting::new(model, 20, 5).unwrap(),
        bias: true,
        importance: None,
    };
    let s = q(1, 1);
    let upper = PrincipalSubspace.at_density(&query, &s).unwrap();
    assert!(
        (f(&upper.value) - 1.25).abs() < 1e-12,
        "{}",
        f(&upper.value)
    );
    assert_eq!(
        upper.evidence.get("via").and_then(|v| v.as_str()),
        Some("linear")
    );
    let lower = Projection.at_density(&query, &s).unwrap();
    assert!((f(&lower.value) - 0.52733762).abs() < 1e-6);
    // Outside its scope (values not uniform) the projection bound says nothing.
    let beta = Query {
        setting: Setting::new(
            Model::new(Activation::Rect, 1, Values::Beta(2, 2)).unwrap(),
            20,
            5,
        )
        .unwrap(),
        bias: true,
        importance: None,
    };
    assert!(Projection.at_density(&beta, &s).is_none());
}

/// `table --evidence` at the dense ReLU with a bias writes a `projection` lower bound and a
/// `"via": "linear"` upper bound; `check` re-derives both. Mutations are refused: another
/// feature count, a missing `"via"` (the ReLU loss of 20 coupled features has no exact route),
/// `"via"` on another activation, and non-uniform values.
#[test]
fn evidence_round_trip_and_mutations() {
    let dir = std::env::temp_dir().join(format!("superbound-projection-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::cargo_bin("superbound")
        .unwrap()
        .args([
            "table",
            "--act",
            "rect",
            "--p",
            "1",
            "--n",
            "20",
            "--m",
            "5",
            "--density",
            "1",
            "--bias",
            "--format",
            "csv",
            "--evidence",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = |path: &std::path::Path| {
        Command::cargo_bin("superbound")
            .unwrap()
            .arg("check")
            .arg(path)
            .output()
            .unwrap()
    };
    let ok = check(&dir);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(original["lower"]["bound"], "projection");
    assert_eq!(original["upper"]["via"], "linear");
    let one = check(&file);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );

    type Mutation = (&'static str, fn(&mut serde_json::Value));
    let mutations: [Mutation; 5] = [
        ("19 features", |v| v["lower"]["features"] = 19.into()),
        ("21 features", |v| v["lower"]["features"] = 21.into()),
        ("no via", |v| {
            v["upper"].as_object_mut().unwrap().remove("via");
        }),
        ("power", |v| v["activation"] = "power".into()),
        ("beta values", |v| v["values"] = "beta:2,2".into()),
    ];
    for (what, mutate) in mutations {
        let mut v = original.clone();
        mutate(&mut v);
        let path = dir.join(format!("mutated-{}.json", what.replace(' ', "-")));
        std::fs::write(&path, v.to_string()).unwrap();
        let out = check(&path);
        assert_eq!(out.status.code(), Some(1), "{what} was accepted");
        std::fs::remove_file(&path).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Review finding: a 390-byte evidence file with a density of 4,000 digits kept `check` busy for
/// 48 s (the exact binomial weights `s^k (1-s)^(j-k)` grew with the density's digits); a
/// 300-digit density at n = 200 took 94 s. The weights are now rounded down to 160 bits and
/// negligible ones left out: each file is decided in well under a second.
#[test]
fn long_densities_are_decided_quickly() {
    for (n, density) in [
        (30usize, "1e-4000".to_string()),
        (200, format!("1/{}", "7".repeat(300))),
    ] {
        let mut w = vec!["0".to_string(); n];
        w[0] = "1".into();
        let text = serde_json::json!({"format": "superbound-evidence/1", "activation": "rect",
            "p": 1, "n": n, "m": 1, "density": density, "bias": false,
            "lower": {"bound": "projection", "features": n, "value": "0"},
            "upper": {"W": [w], "value": "0", "bound": "orthogonal"}})
        .to_string();
        let path = std::env::temp_dir().join(format!(
            "superbound-longdensity-{}-{n}.json",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        let start = std::time::Instant::now();
        let out = Command::cargo_bin("superbound")
            .unwrap()
            .arg("check")
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            start.elapsed().as_secs_f64() < 5.0,
            "n = {n}: {:?}",
            start.elapsed()
        );
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        // n = 30 at 1e-4000: the lower bound 0 is re-derived (every weight negligible) and the
        // upper claim refused; n = 200: the lower bound is about 1e-600, not the claimed 0.
        let expected = if n == 30 {
            "witness's exact value is"
        } else {
            "the lower bound is"
        };
        assert!(err.contains(expected), "n = {n}: {err}");
    }
}
