//! The store of best-known witnesses (`proofs/witnesses/`): every stored witness re-verified by
//! the kernel, the store never gets worse, and the bounds use it (issue 11's acceptance rows).

use num_rational::BigRational;
use superbound::bounds::{
    Query, Setting, best_of, density_entries, first_order_entries, first_order_entries_for,
};
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
    use rayon::prelude::*;
    let paths: Vec<std::path::PathBuf> = std::fs::read_dir(store_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.par_iter().for_each(|path| {
        let text = std::fs::read_to_string(path).unwrap();
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
        let s: BigRational = v["density"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            file_name(&st, &s),
            "the file name names its model and density"
        );
        let stored = load_from(&store_dir(), &st, &s).unwrap().unwrap();
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
    });
    let count = paths.len();
    // The grid (2 activations, p = 1..4, n = 2..12, m = 2..4) and (20, 5), (100, 10) at p = 1, 2.
    for act in [Activation::Power, Activation::Rect] {
        for p in 1..=4 {
            for n in 2..=12 {
                for m in 2..=4 {
                    let st = setting(act, p, n, m);
                    assert!(
                        store_dir().join(file_name(&st, &q(0, 1))).exists(),
                        "{} is missing",
                        file_name(&st, &q(0, 1))
                    );
                }
            }
        }
        for p in 1..=2 {
            for (n, m) in [(20, 5), (100, 10)] {
                assert!(
                    store_dir()
                        .join(file_name(&setting(act, p, n, m), &q(0, 1)))
                        .exists()
                );
            }
        }
    }
    // The default table's models at 1/10, 1/100 and 1/1000; the grid's power models and Elhage's
    // power sizes at 1/100 (the grid's rectified models where the exact loss exists).
    for act in [Activation::Power, Activation::Rect] {
        for p in 1..=3 {
            for n in 2..=6 {
                for m in 2..=3 {
                    for s in [q(1, 10), q(1, 100), q(1, 1000)] {
                        let name = file_name(&setting(act, p, n, m), &s);
                        assert!(store_dir().join(&name).exists(), "{name} is missing");
                    }
                }
            }
        }
    }
    for p in 1..=4 {
        for n in 2..=12 {
            for m in 2..=4 {
                let name = file_name(&setting(Activation::Power, p, n, m), &q(1, 100));
                assert!(store_dir().join(&name).exists(), "{name} is missing");
            }
        }
        for (n, m) in [(20, 5), (100, 10)] {
            let name = file_name(&setting(Activation::Power, p, n, m), &q(1, 100));
            assert!(store_dir().join(&name).exists(), "{name} is missing");
        }
    }
    assert!(
        count >= 264 + 8 + 180 + 228 + 8 - 60,
        "only {count} stored witnesses"
    );
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
    let (o, v) = offer(&dir, &st, &q(0, 1), &worse, "test: worse first").unwrap();
    assert_eq!(o, Outcome::New);
    assert_eq!(v, q(17, 24));
    let (o, v) = offer(&dir, &st, &q(0, 1), &good, "test: better").unwrap();
    assert_eq!(o, Outcome::Improved(q(17, 24)));
    assert_eq!(v, q(1, 3));
    let path = dir.join(file_name(&st, &q(0, 1)));
    let before = std::fs::read_to_string(&path).unwrap();
    let (o, v) = offer(&dir, &st, &q(0, 1), &worse, "test: worse again").unwrap();
    assert_eq!(o, Outcome::Kept(q(1, 3)));
    assert_eq!(v, q(17, 24));
    let (o, _) = offer(&dir, &st, &q(0, 1), &good, "test: equal").unwrap();
    assert_eq!(o, Outcome::Kept(q(1, 3)));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert!(before.contains("test: better"));
    let stored = load_from(&dir, &st, &q(0, 1)).unwrap().unwrap();
    assert_eq!(stored.value, q(1, 3));
    // A tampered claim is refused on reading.
    std::fs::write(&path, before.replace("\"1/3\"", "\"1/4\"")).unwrap();
    assert!(load_from(&dir, &st, &q(0, 1)).is_err());
    // ... and a tampered file is replaced even by a worse witness (it proves nothing).
    let (o, _) = offer(&dir, &st, &q(0, 1), &worse, "test: after tampering").unwrap();
    assert_eq!(o, Outcome::New);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Witnesses at a density: stored as `...-s1_100.json` with their exact loss `L(W; s)`,
/// re-verified at that density, refused under another density's name, never replaced by a
/// worse one. Values by hand: power p = 1 (`xhat = G x`), n = 3, m = 2, `E x_j^2 = s/3`.
/// Orthogonal unit columns on two features and a zero third reconstruct the two exactly and
/// miss the third: `L = s/3`, `1/300` at `s = 1/100`. Columns scaled by 1/2 miss each of the
/// two by `(3/4)^2 s/3`: `L = s (3/8 + 1/3) = 17 s/24`, `17/2400`.
#[test]
fn density_witnesses_are_stored_and_checked_at_their_density() {
    let dir = temp_store("density");
    let st = setting(Activation::Power, 1, 3, 2);
    let s = q(1, 100);
    let good = w2(&[(1, 0), (0, 1), (0, 0)], 1);
    let worse = w2(&[(1, 0), (0, 1), (0, 0)], 2);
    assert_eq!(file_name(&st, &s), "power-p1-n3-m2-s1_100.json");
    let (o, v) = offer(&dir, &st, &s, &worse, "test: worse").unwrap();
    assert_eq!((o, v), (Outcome::New, q(17, 2400)));
    let (o, v) = offer(&dir, &st, &s, &good, "test: better").unwrap();
    assert_eq!((o, v), (Outcome::Improved(q(17, 2400)), q(1, 300)));
    let (o, _) = offer(&dir, &st, &s, &worse, "test: worse again").unwrap();
    assert_eq!(o, Outcome::Kept(q(1, 300)));
    assert_eq!(load_from(&dir, &st, &s).unwrap().unwrap().value, q(1, 300));
    // No first-order file was written, and another density has none either.
    assert!(load_from(&dir, &st, &q(0, 1)).unwrap().is_none());
    assert!(load_from(&dir, &st, &q(1, 50)).unwrap().is_none());
    // The file under another density's name is refused: its claim is for s = 1/100.
    let path = dir.join(file_name(&st, &s));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"density\": \"1/100\""), "{text}");
    std::fs::write(dir.join(file_name(&st, &q(1, 50))), &text).unwrap();
    let err = load_from(&dir, &st, &q(1, 50)).unwrap_err().to_string();
    assert!(err.contains("density 1/100, not at 1/50"), "{err}");
    // ... and with the density changed inside too, the claim 1/300 is wrong at 1/50 (2/300).
    std::fs::write(
        dir.join(file_name(&st, &q(1, 50))),
        text.replace("\"1/100\"", "\"1/50\""),
    )
    .unwrap();
    let err = load_from(&dir, &st, &q(1, 50)).unwrap_err().to_string();
    assert!(
        err.contains("exact value is ≈ 0.00666666666667: 1/150"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A store file is read as strictly as the kernel's other files, and cheaply: a key given twice
/// (a visible false claim first, the true one last), an `"n"` that is not `W`'s, an entry of
/// 2000 digits (whose exact loss would stall `bounds`), a file over the size limit, and a
/// density the kernel reads as a decimal are all handled before any arithmetic on the entries.
/// The good file (orthogonal unit columns, `L1 = 1/3`, see `the_store_never_gets_worse`) loads.
#[test]
fn crafted_store_files_are_refused_quickly() {
    use superbound::search::store::{MAX_ENTRY_CHARS, MAX_FILE_BYTES};
    let dir = temp_store("crafted");
    let st = setting(Activation::Power, 1, 3, 2);
    let s0 = q(0, 1);
    offer(&dir, &st, &s0, &w2(&[(1, 0), (0, 1), (0, 0)], 1), "test").unwrap();
    let path = dir.join(file_name(&st, &s0));
    let good = std::fs::read_to_string(&path).unwrap();
    assert!(good.contains("\"value\": \"1/3\""), "{good}");
    let refused = |text: &str, needle: &str| {
        std::fs::write(&path, text).unwrap();
        let t = std::time::Instant::now();
        let err = load_from(&dir, &st, &s0).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
        assert!(t.elapsed().as_secs_f64() < 1.0, "{:?}", t.elapsed());
        // the checker refuses the same text alone
        err
    };
    // 1. The key "value" twice: the first (false) one is what a reader sees.
    let twice = good.replace(
        "\"value\": \"1/3\"",
        "\"value\": \"1/4\",\n  \"value\": \"1/3\"",
    );
    refused(&twice, "\"value\" twice");
    let err = verify_witness(&twice).unwrap_err();
    assert!(err.contains("twice"), "{err}");
    // 2. "n" says 4, W has 3 columns.
    let n4 = good.replace("\"n\": 3", "\"n\": 4");
    assert_ne!(n4, good);
    refused(&n4, "\"n\" is 4, but W has n = 3");
    // 3. A 2000-digit entry (the value of W is unchanged: 10^2000 / 10^2000 = 1).
    let big = format!("\"{0}/{0}\"", "1".to_string() + &"0".repeat(1000));
    assert!(big.len() > MAX_ENTRY_CHARS);
    let long = good.replacen("\"1\"", &big, 1);
    assert_ne!(long, good);
    refused(&long, "W entry of 2003 characters");
    // 4. Over the size limit (padding in the source string).
    let padded = good.replace(
        "\"source\": \"test\"",
        &format!("\"source\": \"{}\"", "x".repeat(MAX_FILE_BYTES)),
    );
    refused(&padded, "more than 262144 bytes");
    // 4b. Short entries, but distinct 31-digit odd denominators: every entry is under the
    //     character cap, the common denominator is not (found by review: n = 100, m = 10,
    //     p = 4 stalled `bounds` for over a minute). Here 6 entries of 62 characters.
    let mut odd = Vec::new();
    for k in 0..6u64 {
        let d = format!("{}{:015}", "9".repeat(16), 2 * k + 1);
        odd.push(format!("\"1/{d}\""));
    }
    let w_lcm = format!(
        "\"W\": [\n    [{}],\n    [{}]\n  ]",
        odd[..3].join(","),
        odd[3..].join(",")
    );
    let start = good.find("\"W\"").unwrap();
    let lcm_text = format!("{}{}\n}}\n", &good[..start], w_lcm);
    refused(&lcm_text, "common denominator of more than 128 bits");
    // 4c. A short literal for a long number: 1e-4096 is 7 characters, 4097 digits as a/b.
    let tiny = format!(
        "{}{}",
        &good[..start],
        good[start..].replacen("\"0\"", "1e-4096", 1)
    );
    assert!(tiny.contains("1e-4096"));
    refused(&tiny, "longer than 64 characters as a/b");
    // 4d. Not a regular file: a named pipe (its size reads as 0) would block, /dev/zero never
    //     ends. Both are refused without reading.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let err = load_from(&dir, &st, &s0).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(&path).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success()
    );
    let err = load_from(&dir, &st, &s0).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(&path).unwrap();
    // 5. The density as a decimal reads as the kernel reads it: "0.0" is first order, and
    //    "0.01" is 1/100 (refused under the first-order name, by its value).
    std::fs::write(
        &path,
        good.replace("\"density\": \"0\"", "\"density\": \"0.0\""),
    )
    .unwrap();
    assert_eq!(load_from(&dir, &st, &s0).unwrap().unwrap().value, q(1, 3));
    let centi = good.replace("\"density\": \"0\"", "\"density\": \"0.01\"");
    assert_ne!(centi, good);
    refused(&centi, "density 1/100, not at 0");
    // The good file still loads.
    std::fs::write(&path, &good).unwrap();
    assert_eq!(load_from(&dir, &st, &s0).unwrap().unwrap().value, q(1, 3));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `E sum_i (x_i - (G x)_i^p)^2` for the power activation, `x_j = B_j U_j` with `B_j ~
/// Bernoulli(s)` and `U_j` uniform on `[0, 1]`: summed over the `2^n` supports, each square
/// expanded as a polynomial in the active `U_j` (`E U^k = 1/(k+1)`), in `f64`. A second
/// implementation, sharing nothing with the kernel's moment recursion.
fn power_loss_by_supports(g: &[Vec<f64>], p: u32, s: f64) -> f64 {
    use std::collections::HashMap;
    type Poly = HashMap<Vec<u32>, f64>;
    let mul = |a: &Poly, b: &Poly| {
        let mut out = Poly::new();
        for (ea, ca) in a {
            for (eb, cb) in b {
                let e: Vec<u32> = ea.iter().zip(eb).map(|(x, y)| x + y).collect();
                *out.entry(e).or_insert(0.0) += ca * cb;
            }
        }
        out
    };
    let n = g.len();
    let mut total = 0.0;
    for mask in 0u32..(1 << n) {
        let active: Vec<usize> = (0..n).filter(|j| mask >> j & 1 == 1).collect();
        let k = active.len();
        let unit = |a: usize| (0..k).map(|b| u32::from(a == b)).collect::<Vec<u32>>();
        let prob = s.powi(k as i32) * (1.0 - s).powi((n - k) as i32);
        for (i, row) in g.iter().enumerate() {
            let lin: Poly = active
                .iter()
                .enumerate()
                .map(|(a, &j)| (unit(a), row[j]))
                .collect();
            let mut e: Poly = [(vec![0; k], 1.0)].into_iter().collect();
            for _ in 0..p {
                e = mul(&e, &lin);
            }
            e.values_mut().for_each(|c| *c = -*c);
            if let Some(a) = active.iter().position(|&j| j == i) {
                *e.entry(unit(a)).or_insert(0.0) += 1.0;
            }
            let sq = mul(&e, &e);
            let mean: f64 = sq
                .iter()
                .map(|(ex, c)| c * ex.iter().map(|&d| 1.0 / (d as f64 + 1.0)).product::<f64>())
                .sum();
            total += prob * mean;
        }
    }
    total
}

/// The table at density 1/100 uses the store: power (4, 3, 2), whose orthogonal columns gave
/// ratio 3.18 before, has its upper bound from the stored witness at 1/100, within 10% of the
/// lower bound. The stored value is confirmed by [`power_loss_by_supports`] to 1e-12.
#[test]
fn density_rows_use_the_store() {
    let st = setting(Activation::Power, 2, 4, 3);
    let s = q(1, 100);
    let best = best_of(&density_entries(&st, &s)).unwrap();
    let (lo, up) = (&best.lower.value.value, &best.upper.value.value);
    let by = best.upper.value.detail.clone().unwrap_or_default();
    assert!(
        by.contains("best-known (stored: power-p2-n4-m3-s1_100.json)"),
        "{by}"
    );
    assert!(up >= lo && up / lo < q(11, 10), "{lo} {up}");
    let stored = load_from(&store_dir(), &st, &s).unwrap().unwrap();
    assert_eq!(&stored.value, up);
    let w = &stored.weights;
    let g: Vec<Vec<f64>> = (0..st.n)
        .map(|i| {
            (0..st.n)
                .map(|j| {
                    (0..st.m)
                        .map(|r| {
                            let x = |c: usize| {
                                superbound::kernel::arith::rational_to_f64(&w.w.data[r * st.n + c])
                            };
                            x(i) * x(j)
                        })
                        .sum()
                })
                .collect()
        })
        .collect();
    let independent = power_loss_by_supports(&g, 2, 0.01);
    let exact = superbound::kernel::arith::rational_to_f64(up);
    assert!(
        ((independent - exact) / exact).abs() < 1e-12,
        "{independent} vs {exact}"
    );
    // The orthogonal construction's value at 1/100 (the old upper bound) is 3.18 times the
    // lower bound: mu_2 - c_2 = 1/3 - 5/16 = 1/48 per represented feature (three) plus
    // mu_2 = 1/3 for the fourth, times s.
    let orth = (q(3, 48) + q(1, 3)) * q(1, 100);
    assert!(up * q(2, 1) < orth);
}

/// Beyond the corner: a stored `W` (found for `b = 0` and equal importance) bounds every
/// question from above once its loss is computed for it. Power (5, 3, 2) with a bias and
/// importance `0.7^i`: the best-known entry's `W` carries the weights, its value agrees with an
/// independent `f64` evaluation of `L1 = sum_i I_i l(d_i) + mu_4 sum_{i != j} I_i G_ij^4`
/// (`l(d) = 1/3 - 2 d^2/4 + d^4/5`) to 1e-12, it beats orthogonal columns (the old upper bound of
/// this question), and it is no worse than the columns in their stored order.
#[test]
fn best_known_answers_questions_with_importance_and_bias() {
    let st = setting(Activation::Power, 2, 5, 3);
    let imp: Vec<BigRational> = (0..5).map(|i| q(7i64.pow(i), 10i64.pow(i))).collect();
    let query = Query {
        setting: st,
        bias: true,
        importance: Some(imp.clone()),
    };
    let entries = first_order_entries_for(&query);
    let get = |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no {name} entry"))
            .value
            .clone()
    };
    let best = get("best-known");
    let w = best.witness.clone().unwrap();
    assert_eq!(w.importance.as_ref(), Some(&imp));
    let f = superbound::kernel::arith::rational_to_f64;
    let (n, m) = (5, 3);
    let g = |i: usize, j: usize| -> f64 {
        (0..m)
            .map(|r| f(&w.w.data[r * n + i]) * f(&w.w.data[r * n + j]))
            .sum()
    };
    let mut l1 = 0.0;
    for (i, imp_i) in imp.iter().enumerate() {
        let d = g(i, i);
        let mut row = 1.0 / 3.0 - d * d / 2.0 + d.powi(4) / 5.0;
        for j in (0..n).filter(|&j| j != i) {
            row += g(i, j).powi(4) / 5.0;
        }
        l1 += f(imp_i) * row;
    }
    let exact = f(&best.value);
    assert!(((l1 - exact) / exact).abs() < 1e-12, "{l1} vs {exact}");
    assert!(best.value < get("orthogonal").value);
    let mut as_stored = load_from(&store_dir(), &st, &q(0, 1))
        .unwrap()
        .unwrap()
        .weights;
    as_stored.importance = Some(imp);
    assert!(best.value <= superbound::kernel::loss::first_order_exact(&st.model, &as_stored));
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
    let stored = load_from(&dir, &st, &q(0, 1)).unwrap().unwrap();
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
    assert!(load_from(&dir, &st, &q(0, 1)).unwrap().unwrap().value <= stored.value);
    // A density the store cannot name a file by is refused before any optimisation (it used
    // to end in an I/O error after the search).
    let long = format!("1/{}", "1".to_string() + &"0".repeat(80));
    let t = std::time::Instant::now();
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
            "--density",
        ])
        .arg(&long)
        .arg("--store")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at most 64 characters"), "{err}");
    assert!(out.stdout.is_empty());
    assert!(t.elapsed().as_secs_f64() < 5.0);
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
    let stored = load_from(&store_dir(), &st, &q(0, 1)).unwrap().unwrap();
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
