//! The store of best-known witnesses (`proofs/witnesses/`): every stored witness re-verified by
//! the kernel, the store never gets worse, and the bounds use it (issue 11's acceptance rows).

use num_rational::BigRational;
use superbound::bounds::{Setting, best_of, first_order_entries};
use superbound::kernel::evidence::verify_witness;
use superbound::kernel::model::{Activation, Mat, Model, Values, Weights};
use superbound::search::store::{Outcome, file_name, load_from, offer};

fn q(n: i64, d: i64) -> BigRational {
    BigRational::new(n.into(), d.into())
}

fn setting(act: Activation, p: u32, n: usize, m: usize) -> Setting {
    Setting::new(Model::new(act, p, Values::Uniform).unwrap(), n, m).unwrap()
}

fn store_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs/witnesses")
}

/// Every stored witness: the kernel recomputes its exact `L1` and it equals the claim; the file
/// is named after its model, and the store covers the grid and Elhage's sizes.
#[test]
fn every_stored_witness_is_verified() {
    let mut count = 0;
    for entry in std::fs::read_dir(store_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let value = verify_witness(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let act = match v["activation"].as_str().unwrap() {
            "power" => Activation::Power,
            _ => Activation::Rect,
        };
        let st = setting(
            act,
            v["p"].as_u64().unwrap() as u32,
            v["n"].as_u64().unwrap() as usize,
            v["m"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            file_name(&st),
            "the file name names its model"
        );
        let stored = load_from(&store_dir(), &st).unwrap().unwrap();
        assert_eq!(
            (stored.value.clone(), stored.value.clone()),
            value,
            "an exact claim: lo = hi"
        );
        assert!(
            !stored.source.is_empty(),
            "{}: no provenance",
            path.display()
        );
        count += 1;
    }
    // The grid (2 activations, p = 1..4, n = 2..12, m = 2..4) and (20, 5), (100, 10) at p = 1, 2.
    for act in [Activation::Power, Activation::Rect] {
        for p in 1..=4 {
            for n in 2..=12 {
                for m in 2..=4 {
                    let st = setting(act, p, n, m);
                    assert!(
                        store_dir().join(file_name(&st)).exists(),
                        "{} is missing",
                        file_name(&st)
                    );
                }
            }
        }
        for p in 1..=2 {
            for (n, m) in [(20, 5), (100, 10)] {
                assert!(store_dir().join(file_name(&setting(act, p, n, m))).exists());
            }
        }
    }
    assert!(count >= 264 + 8, "only {count} stored witnesses");
}

fn temp_store(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("superbound-store-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `W` with the given columns (`m = 2`).
fn w2(cols: &[(i64, i64)], den: i64) -> Weights {
    let n = cols.len();
    let mut data = vec![q(0, 1); 2 * n];
    for (i, &(a, b)) in cols.iter().enumerate() {
        data[i] = q(a, den);
        data[n + i] = q(b, den);
    }
    Weights::new(Mat {
        rows: 2,
        cols: n,
        data,
    })
}

/// The store is only ever improved: a worse witness is refused (the file is unchanged), an
/// equal one too, a strictly better one replaces it. Values by hand: power p = 1, n = 3, m = 2,
/// uniform values (mu_2 = 1/3, mu_1 = 1/2):
/// `L1 = sum_i (mu_2 - 2 mu_2 G_ii + mu_2 G_ii^2) + mu_2 sum_{i != j} G_ij^2`.
/// Orthogonal unit columns on two features and a zero third: `L1 = 1/3`. Columns scaled by
/// 1/2: each of the two costs `(1/3)(1 - 1/4)^2 = 3/16`, plus `1/3`: `17/24`.
#[test]
fn the_store_never_gets_worse() {
    let dir = temp_store("never-worse");
    let st = setting(Activation::Power, 1, 3, 2);
    let good = w2(&[(1, 0), (0, 1), (0, 0)], 1);
    let worse = w2(&[(1, 0), (0, 1), (0, 0)], 2);
    let (o, v) = offer(&dir, &st, &worse, "test: worse first").unwrap();
    assert_eq!(o, Outcome::New);
    assert_eq!(v, q(17, 24));
    let (o, v) = offer(&dir, &st, &good, "test: better").unwrap();
    assert_eq!(o, Outcome::Improved(q(17, 24)));
    assert_eq!(v, q(1, 3));
    let path = dir.join(file_name(&st));
    let before = std::fs::read_to_string(&path).unwrap();
    let (o, v) = offer(&dir, &st, &worse, "test: worse again").unwrap();
    assert_eq!(o, Outcome::Kept(q(1, 3)));
    assert_eq!(v, q(17, 24));
    let (o, _) = offer(&dir, &st, &good, "test: equal").unwrap();
    assert_eq!(o, Outcome::Kept(q(1, 3)));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert!(before.contains("test: better"));
    let stored = load_from(&dir, &st).unwrap().unwrap();
    assert_eq!(stored.value, q(1, 3));
    // A tampered claim is refused on reading.
    std::fs::write(&path, before.replace("\"1/3\"", "\"1/4\"")).unwrap();
    assert!(load_from(&dir, &st).is_err());
    // ... and a tampered file is replaced even by a worse witness (it proves nothing).
    let (o, _) = offer(&dir, &st, &worse, "test: after tampering").unwrap();
    assert_eq!(o, Outcome::New);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command refuses nothing silently: `search` writes, a rerun keeps or improves.
#[test]
fn search_command_fills_and_keeps() {
    let dir = temp_store("cli");
    let out = assert_cmd::Command::cargo_bin("superbound")
        .unwrap()
        .args([
            "search",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "3",
            "--m",
            "2",
            "--restarts",
            "4",
            "--store",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("power-p2-n3-m2.json: new"), "{text}");
    // Three equiangular lines meet Theorem 1 at (3, 2, 2): L1 = 1/6 (THEORY's worked example).
    let st = setting(Activation::Power, 2, 3, 2);
    let stored = load_from(&dir, &st).unwrap().unwrap();
    let gap = (&stored.value - q(1, 6)) / q(1, 6);
    assert!(
        gap >= q(0, 1) && gap < q(1, 1_000_000_000_000),
        "{}",
        stored.value
    );
    let out = assert_cmd::Command::cargo_bin("superbound")
        .unwrap()
        .args([
            "search",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "3",
            "--m",
            "2",
            "--restarts",
            "4",
            "--store",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("kept") || text.contains("improved"), "{text}");
    assert!(load_from(&dir, &st).unwrap().unwrap().value <= stored.value);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ratio(st: &Setting) -> (BigRational, BigRational, String) {
    let best = best_of(&first_order_entries(st)).unwrap();
    (
        best.lower.value.value.clone(),
        best.upper.value.value.clone(),
        best.upper
            .value
            .detail
            .clone()
            .unwrap_or_else(|| best.upper.name.to_string()),
    )
}

/// Issue 11's rows: power (20, 5, 2) meets Theorem 1's 145/48 = 20/3 - (5/16)(35/3); power
/// (4, 3, 2) meets the regular tetrahedron's 43/336 (LP certificate q = 5/81 + (4/27) P_2,
/// beta = 7/27: 4/3 - (5/16)(27/7)); both to 1e-9 relative by default.
#[test]
fn issue_rows_are_certified_by_default() {
    let tol = q(1, 1_000_000_000);
    for (n, m, value) in [(20, 5, q(145, 48)), (4, 3, q(43, 336))] {
        let st = setting(Activation::Power, 2, n, m);
        let (lo, up, by) = ratio(&st);
        assert_eq!(lo, value, "(n, m) = ({n}, {m}): lower");
        assert!(up >= lo);
        assert!(
            (&up - &lo) / &lo <= tol,
            "(n, m) = ({n}, {m}): upper {} by {by}",
            superbound::kernel::arith::rational_to_f64(&up)
        );
    }
    // (5, 3, 2): the best-known witness is the upper bound.
    let st = setting(Activation::Power, 2, 5, 3);
    let (_, up, by) = ratio(&st);
    let stored = load_from(&store_dir(), &st).unwrap().unwrap();
    assert!(up <= stored.value);
    assert!(by.contains("best-known") || up < stored.value, "{by}");
}

/// Rectified (5, 2, 1): the LP certificate meets the pentagon's value to 1e-12 (the optimum
/// is a quadratic irrational; both sides are rationals within 1e-12 of it), so it is certified.
#[test]
fn pentagon_row_is_certified() {
    let st = setting(Activation::Rect, 1, 5, 2);
    let best = best_of(&first_order_entries(&st)).unwrap();
    assert!(best.certified());
    let (lo, up) = (&best.lower.value.value, &best.upper.value.value);
    assert!((up - lo) / lo < q(1, 1_000_000_000_000), "{lo} {up}");
    // The pentagon's value, independently: 0.2672624276... (five unit-ish columns at 72
    // degrees, scale minimising L1), agrees to 1e-9.
    let x = superbound::kernel::arith::rational_to_f64(lo);
    assert!((x - 0.267262427652).abs() < 1e-11, "{x}");
}
