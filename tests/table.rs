//! Tables: invariants of the default table, loss-free resumption after a kill, shards, and the
//! golden tables that catch any change in a stored value.

use num_rational::BigRational;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use superbound::kernel::model::{Activation, Values};
use superbound::report::table::{COLUMNS, Grid, Row, RunOptions, parse_densities, run, shard};

fn grid(
    acts: &[Activation],
    ps: &[u32],
    ns: std::ops::RangeInclusive<usize>,
    ms: &[usize],
    dens: &str,
) -> Grid {
    Grid {
        acts: acts.to_vec(),
        ps: ps.to_vec(),
        ns: ns.collect(),
        ms: ms.to_vec(),
        densities: parse_densities(dens).unwrap(),
        values: Values::Uniform,
        bias: false,
        importance: None,
    }
}

fn rat(s: &str) -> BigRational {
    superbound::kernel::arith::parse_rational(s).unwrap()
}

/// The default table (the README's main job): lower <= upper exactly in every row, and some rows
/// are tight (ratio exactly 1, certified).
#[test]
fn default_table_is_consistent() {
    let g = grid(
        &[Activation::Power, Activation::Rect],
        &[1, 2, 3],
        2..=6,
        &[2, 3],
        "0,1/100",
    );
    let rows = run(&g.specs(), &RunOptions::default()).unwrap();
    assert_eq!(rows.len(), 120);
    for r in &rows {
        assert!(
            rat(r.get("lower")) <= rat(r.get("upper")),
            "row {}: lower above upper",
            r.key()
        );
    }
    let tight = rows.iter().filter(|r| r.get("certified") == "true").count();
    assert!(tight >= 20, "only {tight} certified rows");
    // Some rows are far from tight: their ratio parses and exceeds 1.01.
    let loose = rows
        .iter()
        .filter(|r| r.get("ratio").parse::<f64>().is_ok_and(|x| x > 1.01))
        .count();
    assert!(loose >= 10, "only {loose} rows with ratio above 1.01");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_superbound"))
}

const SWEEP: [&str; 12] = [
    "table",
    "--act",
    "rect",
    "--p",
    "1,2",
    "--n",
    "3..7",
    "--m",
    "2",
    "--density",
    "0,1/10",
    "--format",
];

/// The rows of a store file (after its argument line and its header).
fn csv_rows(text: &str) -> Vec<String> {
    text.lines().skip(2).map(String::from).collect()
}

/// Kill a sweep midway, leave a half-written line, run it again: exactly the complete set of
/// rows, once each, equal to an uninterrupted run.
#[test]
fn killed_sweep_resumes_without_loss_or_repeat() {
    let store = std::env::temp_dir().join(format!("superbound-table-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&store);
    let mut child = bin()
        .args(SWEEP)
        .arg("csv")
        .arg("--out")
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let lines = std::fs::read_to_string(&store)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 || start.elapsed().as_secs() > 120 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let before = std::fs::read_to_string(&store).unwrap();
    let done_before = before.lines().count() - 1;
    assert!(
        done_before >= 2,
        "the sweep should have finished some rows before the kill"
    );
    // A half-written row, as if killed mid-write.
    std::fs::write(&store, format!("{before}rect,2,7,2,1/10,123/4")).unwrap();
    let out = bin()
        .args(SWEEP)
        .arg("csv")
        .arg("--out")
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = std::fs::read_to_string(&store).unwrap();
    assert!(stored.ends_with('\n'));
    let keys: Vec<String> = csv_rows(&stored)
        .iter()
        .map(|l| l.split(',').take(7).collect::<Vec<_>>().join(","))
        .collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "a row was stored twice");
    assert_eq!(keys.len(), 20, "2 p x 5 n x 2 densities");
    let mut head = stored.lines();
    assert!(
        head.next()
            .is_some_and(|l| l.starts_with("# superbound table store {"))
    );
    assert_eq!(head.next(), Some(COLUMNS.join(",").as_str()));
    // Same rows as an uninterrupted run, in canonical order on stdout.
    let fresh = bin().args(SWEEP).arg("csv").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&fresh.stdout)
    );
    let _ = std::fs::remove_file(&store);
}

/// Shards 1/3, 2/3, 3/3 together are the unsharded table.
#[test]
fn shards_partition_the_table() {
    let g = grid(
        &[Activation::Power, Activation::Rect],
        &[1, 2],
        2..=5,
        &[2],
        "0,1/10",
    );
    let all = run(&g.specs(), &RunOptions::default()).unwrap();
    let mut union: Vec<Row> = Vec::new();
    for k in 1..=3 {
        let part = shard(g.specs(), Some((k, 3)));
        union.extend(run(&part, &RunOptions::default()).unwrap());
    }
    let key_map = |rows: &[Row]| {
        rows.iter()
            .map(|r| (r.key(), r.0.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(union.len(), all.len());
    assert_eq!(key_map(&union), key_map(&all));
}

const GOLDEN: &str = "tests/golden/first_order.csv";

fn golden_grid() -> Grid {
    grid(
        &[Activation::Power, Activation::Rect],
        &[1, 2, 3],
        2..=6,
        &[2, 3],
        "0",
    )
}

/// Compares a regenerated table with the stored golden one. Any change fails and names the row
/// and how much it moved; a lower bound above a stored upper (or an upper below a stored lower)
/// is called a crossing: a refutation, not an improvement. `UPDATE_GOLDEN=1` rewrites the file.
fn compare(stored: &[Row], fresh: &[Row]) -> Vec<String> {
    let old: BTreeMap<String, &Row> = stored.iter().map(|r| (r.key(), r)).collect();
    let mut problems = Vec::new();
    for r in fresh {
        let Some(o) = old.get(&r.key()) else {
            problems.push(format!("row {}: new (not in the golden table)", r.key()));
            continue;
        };
        for (side, better) in [("lower", true), ("upper", false)] {
            let (a, b) = (rat(o.get(side)), rat(r.get(side)));
            if a == b {
                continue;
            }
            let rel = (&b - &a) / if a == rat("0") { rat("1") } else { a.clone() };
            let improved = if better { b > a } else { b < a };
            let crossing = if better {
                b > rat(o.get("upper"))
            } else {
                b < rat(o.get("lower"))
            };
            problems.push(format!(
                "row {}: {side} changed from {} to {} (relative {:+.3e}) by {} ({}) — {}",
                r.key(),
                o.get(&format!("{side}_float")),
                r.get(&format!("{side}_float")),
                superbound::kernel::arith::Scalar::to_f64(&rel),
                r.get(&format!("{side}_by")),
                o.get(&format!("{side}_by")),
                if crossing {
                    "CROSSES the other side: a refutation"
                } else if improved {
                    "an improvement"
                } else {
                    "a regression"
                }
            ));
        }
        // Every other column too: by whom, decimals, ratio, kappa, certified, crossover.
        for c in COLUMNS {
            if c != "lower" && c != "upper" && o.get(c) != r.get(c) {
                problems.push(format!(
                    "row {}: column {c} changed from {:?} to {:?}",
                    r.key(),
                    o.get(c),
                    r.get(c)
                ));
            }
        }
    }
    problems
}

fn read_rows(text: &str) -> Vec<Row> {
    let path = std::env::temp_dir().join(format!("superbound-golden-{}.csv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let rows =
        superbound::report::table::parse_rows(&std::fs::read_to_string(&path).unwrap(), "golden")
            .unwrap();
    let _ = std::fs::remove_file(path);
    rows
}

#[test]
fn golden_first_order_table() {
    let fresh = run(&golden_grid().specs(), &RunOptions::default()).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let rendered =
        superbound::report::table::render(&fresh, "csv", &serde_json::json!({})).unwrap();
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::write(&path, &rendered).unwrap();
    }
    assert!(
        path.exists(),
        "{GOLDEN} is missing: run with UPDATE_GOLDEN=1 once and commit it"
    );
    let stored = read_rows(&std::fs::read_to_string(&path).unwrap());
    let problems = compare(&stored, &fresh);
    assert!(
        problems.is_empty(),
        "the golden table changed (UPDATE_GOLDEN=1 to accept):\n{}",
        problems.join("\n")
    );
    assert_eq!(stored.len(), fresh.len());
}

/// The comparison itself: a changed stored value fails, and the message names the row.
#[test]
fn golden_comparison_names_the_row() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let text = std::fs::read_to_string(&path).expect("the golden table is committed");
    let stored = read_rows(&text);
    let mut tampered = stored.clone();
    let i = tampered.iter().position(|r| r.get("lower") != "0").unwrap();
    let lower_col = COLUMNS.iter().position(|c| *c == "lower").unwrap();
    let old = rat(tampered[i].get("lower"));
    tampered[i].0[lower_col] = (&old * rat("1001/1000")).to_string();
    let problems = compare(&stored, &tampered);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains(&tampered[i].key()), "{}", problems[0]);
    assert!(problems[0].contains("lower changed"), "{}", problems[0]);
    // A column other than the two values is compared too.
    let mut flipped = stored.clone();
    let cert_col = COLUMNS.iter().position(|c| *c == "certified").unwrap();
    flipped[i].0[cert_col] = if flipped[i].get("certified") == "true" {
        "false".into()
    } else {
        "true".into()
    };
    let problems = compare(&stored, &flipped);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("column certified"), "{}", problems[0]);
}

/// A store written under other arguments (here `--values one`) is refused by a run with
/// `--values uniform`, with a message naming the argument; the same arguments resume it.
#[test]
fn a_store_written_under_other_arguments_is_refused() {
    let store = std::env::temp_dir().join(format!("superbound-keys-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&store);
    let args = [
        "table",
        "--act",
        "power",
        "--p",
        "2",
        "--n",
        "3",
        "--m",
        "2",
        "--density",
        "0",
    ];
    let first = bin()
        .args(args)
        .args(["--values", "one", "--out"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let other = bin().args(args).arg("--out").arg(&store).output().unwrap();
    assert_eq!(other.status.code(), Some(1));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains("other arguments") && err.contains("values"),
        "{err}"
    );
    let optimize = bin()
        .args(args)
        .args(["--values", "one", "--optimize", "--out"])
        .arg(&store)
        .output()
        .unwrap();
    assert_eq!(optimize.status.code(), Some(1));
    let same = bin()
        .args(args)
        .args(["--values", "one", "--out"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(same.status.success());
    assert_eq!(first.stdout, same.stdout);
    let _ = std::fs::remove_file(&store);
}

/// `table --evidence DIR` writes every row's proof; `check DIR` re-verifies them with the kernel
/// alone; a tampered witness, a tampered claim or a tampered table row is refused, by name.
#[test]
fn table_evidence_is_rechecked_and_tampering_is_caught() {
    let dir = std::env::temp_dir().join(format!("superbound-evidence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bin()
        .args([
            "table",
            "--act",
            "power,rect",
            "--p",
            "1,2",
            "--n",
            "3,5",
            "--m",
            "2",
            "--density",
            "0,1/100",
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
    let check = |what: &std::path::Path| bin().arg("check").arg(what).output().unwrap();
    let ok = check(&dir);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(text.contains("16 row evidence files verified"), "{text}");
    assert!(text.contains("16 of 16 rows match"), "{text}");

    // An LP row and a first-order row with a witness.
    let lp = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("\"lp-certificate\"")
        })
        .expect("some row is proved by an LP certificate");
    let original = std::fs::read_to_string(&lp).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    // 1. A witness entry changed: its exact value no longer matches the claim.
    v["upper"]["W"][0][0] = serde_json::json!("1/3");
    std::fs::write(&lp, v.to_string()).unwrap();
    let bad = check(&dir);
    assert_eq!(bad.status.code(), Some(1));
    let name = lp.file_name().unwrap().to_string_lossy().to_string();
    assert!(String::from_utf8_lossy(&bad.stderr).contains(&name));
    // 2. The certificate's coefficient raised: refused by the certificate check or the claim.
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["lower"]["certificate"]["coefficients"][0] = serde_json::json!("1");
    std::fs::write(&lp, v.to_string()).unwrap();
    assert_eq!(check(&dir).status.code(), Some(1));
    // 3. A claimed lower value raised by a hair.
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    let lower = rat(v["lower"]["value"].as_str().unwrap());
    v["lower"]["value"] =
        serde_json::json!((lower + rat("1/1000000000000000000000000000000")).to_string());
    std::fs::write(&lp, v.to_string()).unwrap();
    assert_eq!(check(&dir).status.code(), Some(1));
    std::fs::write(&lp, &original).unwrap();
    assert!(check(&dir).status.success());
    // 4. The table's row edited (the evidence intact): the row is named.
    let table = dir.join("table.csv");
    let csv = std::fs::read_to_string(&table).unwrap();
    let edited = csv.replacen(",true,", ",false,", 1);
    assert_ne!(csv, edited);
    std::fs::write(&table, &edited).unwrap();
    let bad = check(&dir);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("certified"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A decimal column on a tie: the lower bound of power (3, 5, 2) at `s = 1/10` is
/// `1019781002483/20000000000000 = 0.05098905012415` exactly, so its 12 digits round up to
/// `...1242`, while the nearest `f64` lies below the tie and printed `...1241`. `table` prints
/// the exact rounding; `check` must recompute the column the same way, or it refuses a true
/// table (found by review).
#[test]
fn check_rounds_the_decimal_columns_as_the_table_does() {
    let dir = std::env::temp_dir().join(format!("superbound-tie-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bin()
        .args([
            "table",
            "--act",
            "power",
            "--p",
            "3",
            "--n",
            "5",
            "--m",
            "2",
            "--density",
            "1/10",
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
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rows = superbound::report::table::parse_rows(&text, "table").unwrap();
    assert_eq!(rows[0].get("lower"), "1019781002483/20000000000000");
    assert_eq!(rows[0].get("lower_float"), "0.0509890501242");
    assert_eq!(
        superbound::kernel::arith::fmt_decimal(1019781002483.0 / 20000000000000.0),
        "0.0509890501241",
        "the f64 rounding this test guards against"
    );
    let check = bin().arg("check").arg(&dir).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("1 of 1 rows match"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A table about a trained bias and importance weights `0.7^i`: the question is in every row,
/// only bounds valid for it are used (the floor for p = 2; the projection bound or 0 for the ReLU), and the
/// evidence re-verifies with the same question.
#[test]
fn tables_with_bias_and_importance_use_only_bounds_in_scope() {
    let dir = std::env::temp_dir().join(format!("superbound-bias-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bin()
        .args([
            "table",
            "--act",
            "power,rect",
            "--p",
            "1,2",
            "--n",
            "3",
            "--m",
            "2",
            "--sparsity",
            "0.99",
            "--bias",
            "--importance",
            "geometric:7/10",
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
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rows = superbound::report::table::parse_rows(&text, "table").unwrap();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r.get("question"), "b=any I=1;7/10;49/100", "{}", r.key());
        let by = r.get("lower_by");
        assert!(
            by.starts_with("floor") || by == "zero" || by.starts_with("projection"),
            "row {}: lower bound by {by}, outside the question's scope",
            r.key()
        );
        if r.get("p") == "2" {
            // The floor, alone or per support size inside the projection bound.
            assert!(by.contains("floor"), "{}: {by}", r.key());
        }
    }
    let check = bin().arg("check").arg(&dir).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("4 of 4 rows match"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Found by review: `check` compared a CSV row with its evidence's model, size and density but
/// not its question. Evidence proved for importance weights `1000, 1000` (the floor gives `2`)
/// then vouched for an equal-importance row, whose optimum is `1/24` (the self bound, met by
/// orthonormal columns), so a false lower bound of `2` passed. It is now refused, naming both.
#[test]
fn check_refuses_evidence_for_another_question() {
    let dir = std::env::temp_dir().join(format!("superbound-question-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("power-p2-n2-m2-uniform-s0.json"),
        r#"{"format": "superbound-evidence/1", "activation": "power", "p": 2, "values": "uniform", "n": 2, "m": 2,
 "importance": ["1000", "1000"],
 "lower": {"bound": "floor", "e_lb": "1/1000", "value": "2"},
 "upper": {"W": [["1", "0"], ["0", "1"]], "value": "200/3"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("table.csv"),
        "activation,p,n,m,values,question,density,lower,lower_float,lower_by,upper,upper_float,upper_by,ratio,kappa,certified,crossover\n\
         power,2,2,2,uniform,b=0 I=equal,0,2,2,floor,200/3,66.6666666667,identity,33.333333333333,8/3,false,-\n",
    )
    .unwrap();
    let out = bin().arg("check").arg(&dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the row asks \"b=0 I=equal\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
