//! Tables: invariants of the default table, loss-free resumption after a kill, shards, and the
//! golden tables that catch any change in a stored value.

use num_rational::BigRational;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use superbound::kernel::model::{Activation, Values};
use superbound::report::table::{COLUMNS, Grid, Row, parse_densities, run, shard};

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
    let rows = run(&g.specs(), Values::Uniform, false, None, false).unwrap();
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
    assert!(
        rows.iter()
            .any(|r| r.get("ratio") != "inf" && r.get("ratio").parse::<f64>().unwrap() > 1.01)
    );
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

fn csv_rows(text: &str) -> Vec<String> {
    text.lines().skip(1).map(String::from).collect()
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
        .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
        .collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "a row was stored twice");
    assert_eq!(keys.len(), 20, "2 p x 5 n x 2 densities");
    assert!(stored.lines().next().unwrap() == COLUMNS.join(","));
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
    let all = run(&g.specs(), Values::Uniform, false, None, false).unwrap();
    let mut union: Vec<Row> = Vec::new();
    for k in 1..=3 {
        let part = shard(g.specs(), Some((k, 3)));
        union.extend(run(&part, Values::Uniform, false, None, false).unwrap());
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
                "row {}: {side} changed from {} to {} (relative {:+.3e}) by {} — {}",
                r.key(),
                o.get(&format!("{side}_float")),
                r.get(&format!("{side}_float")),
                superbound::kernel::arith::Scalar::to_f64(&rel),
                r.get(&format!("{side}_by")),
                if crossing {
                    "CROSSES the other side: a refutation"
                } else if improved {
                    "an improvement"
                } else {
                    "a regression"
                }
            ));
        }
    }
    problems
}

fn read_rows(text: &str) -> Vec<Row> {
    let path = std::env::temp_dir().join(format!("superbound-golden-{}.csv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let rows = superbound::report::table::Store::open(&path).unwrap().rows;
    let _ = std::fs::remove_file(path);
    rows
}

#[test]
fn golden_first_order_table() {
    let fresh = run(&golden_grid().specs(), Values::Uniform, false, None, false).unwrap();
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
}
