//! LP certificates: known values, the committed grid re-verified, mutations refused, and never
//! above what the optimiser finds.

use num_rational::BigRational;
use superbound::bounds::{Setting, best_of, first_order_entries};
use superbound::kernel::arith::Scalar;
use superbound::kernel::certificate::{Certificate, bound_from, verify};
use superbound::kernel::model::{Activation, Model, Values};
use superbound::search::lp::{certify, default_degree};
use superbound::search::optimise::{Objective, Options, Problem, optimise};

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(n.into(), d.into())
}

fn setting(act: Activation, p: u32, n: usize, m: usize) -> Setting {
    Setting::new(Model::new(act, p, Values::Uniform).unwrap(), n, m).unwrap()
}

fn certificate_files() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs/certificates");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn pentagon_is_certified_to_1e6() {
    let st = setting(Activation::Rect, 1, 5, 2);
    let cert = certify(&st, default_degree(&st)).unwrap();
    // The pentagon's entry (the stored best-known witness may be lower still).
    let entries = first_order_entries(&st);
    let pentagon = &entries
        .iter()
        .find(|e| e.value.detail.as_deref().is_some_and(|d| d.contains("N=5")))
        .expect("the pentagon is an upper bound")
        .value
        .value;
    assert!(
        cert.lower <= *pentagon,
        "certificate above the pentagon: a contradiction"
    );
    let rel = ((pentagon - &cert.lower) / pentagon).to_f64();
    assert!(rel < 1e-6, "gap {rel}");
}

#[test]
fn lp_equals_theorem1_at_6_3_2() {
    let st = setting(Activation::Power, 2, 6, 3);
    let cert = certify(&st, default_degree(&st)).unwrap();
    let rel = ((q(7, 16) - &cert.lower) / q(7, 16)).to_f64().abs();
    assert!(rel < 1e-9, "{}", cert.lower.to_f64());
    // And the tool says the first-order optimum is certified there (the icosahedron meets it).
    assert!(best_of(&first_order_entries(&st)).unwrap().certified());
}

/// The rectified `(12, 3, p)` LP at degree 12, recomputed: its optimum is the icosahedron's
/// `7/8`, `10/13`, `43/42` (see `tests/grid.rs` for the value from the cosines), met on a
/// degenerate face of optimal `q`. The refined grid and the projection onto the touching
/// conditions bring the certificate to `1e-14` relative (it was `1.6e-7`..`3.8e-7` below with
/// four grid rounds), never above.
#[test]
fn icosahedron_lp_is_certified_to_1e14() {
    for (p, value) in [(2, q(7, 8)), (3, q(10, 13)), (4, q(43, 42))] {
        let st = setting(Activation::Rect, p, 12, 3);
        let cert = certify(&st, 12).unwrap();
        assert_eq!(verify(&cert), Ok(cert.lower.clone()));
        assert!(cert.lower <= value, "p = {p}: above the icosahedron");
        let rel = ((&value - &cert.lower) / &value).to_f64();
        assert!(rel < 1e-14, "p = {p}: {rel}");
    }
}

/// The independently checked LP values of THEORY.md (degree 12, discretised), to 1e-5.
#[test]
fn lp_values_match_the_reference_table() {
    for (act, n, m, p, value) in [
        (Activation::Power, 3, 2, 3, 0.185455),
        (Activation::Power, 5, 3, 2, 0.262099),
        (Activation::Rect, 6, 2, 1, 0.600596),
        (Activation::Rect, 7, 3, 1, 0.178064),
    ] {
        let st = setting(act, p, n, m);
        let cert = certify(&st, 12).unwrap();
        assert!(
            (cert.lower.to_f64() - value).abs() < 1e-5,
            "{act} n={n} m={m} p={p}: {}",
            cert.lower.to_f64()
        );
        assert_eq!(verify(&cert).unwrap(), cert.lower);
    }
}

/// Every committed certificate re-verifies from scratch, and matches the file's model.
#[test]
fn committed_certificates_verify() {
    let files = certificate_files();
    assert_eq!(
        files.len(),
        162,
        "the grid: 2 activations x p 1..3 x m 2..4 x n 2..10"
    );
    for f in &files {
        let cert = Certificate::from_json(&std::fs::read_to_string(f).unwrap()).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let st = cert.setting;
        assert_eq!(
            name,
            format!("{}-p{}-n{}-m{}.json", st.model.act, st.model.p, st.n, st.m)
        );
        assert_eq!(verify(&cert), Ok(cert.lower.clone()), "{name}");
    }
}

/// Changing any coefficient or the claimed bound by 1/1000 makes `verify` refuse; raising `q_0`
/// by 1/1000 and restating the bound it gives is refused by the exact positivity check.
#[test]
fn mutations_are_refused() {
    let delta = q(1, 1000);
    for f in certificate_files() {
        let cert = Certificate::from_json(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for k in 0..cert.coefficients.len() {
            for sign in [1, -1] {
                let mut bad = cert.clone();
                bad.coefficients[k] += &delta * q(sign, 1);
                assert!(
                    verify(&bad).is_err(),
                    "{f:?}: coefficient {k} changed by {sign}/1000 was accepted"
                );
            }
        }
        for sign in [1, -1] {
            let mut bad = cert.clone();
            bad.lower += &delta * q(sign, 1);
            assert!(
                verify(&bad).is_err(),
                "{f:?}: claimed bound changed was accepted"
            );
        }
        let mut bad = cert.clone();
        bad.coefficients[0] += &delta;
        if let Some(lower) = bound_from(&bad.setting, &bad.coefficients) {
            bad.lower = lower;
            let err = verify(&bad).expect_err("a raised q_0 must break q <= f");
            assert!(err.contains("negative"), "{f:?}: {err}");
        }
    }
}

/// A certificate is never above the exact loss of the optimiser's best `W` on the same model.
#[test]
fn certificates_never_beat_the_optimiser() {
    for (act, p, n, m) in [
        (Activation::Power, 2, 5, 3),
        (Activation::Power, 3, 4, 2),
        (Activation::Rect, 1, 5, 2),
        (Activation::Rect, 1, 7, 3),
        (Activation::Rect, 2, 6, 2),
        (Activation::Power, 1, 6, 4),
    ] {
        let st = setting(act, p, n, m);
        let cert = certify(&st, default_degree(&st)).unwrap();
        let pr = Problem {
            setting: st,
            objective: Objective::FirstOrder,
            bias: false,
            importance: None,
        };
        let found = optimise(
            &pr,
            &Options {
                restarts: 8,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            cert.lower <= found.value,
            "REFUTED: certificate {} above the optimiser's exact {} ({act} p={p} n={n} m={m})",
            cert.lower.to_f64(),
            found.value.to_f64()
        );
    }
}
