//! The binary: good runs print exact values; every bad input gets one clear line and a
//! non-zero exit, never a panic and never a number.

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::Write;

fn bin() -> Command {
    Command::cargo_bin("superbound").unwrap()
}

/// The JSON a successful run prints (the run must succeed; its stderr is shown otherwise).
fn json_of(args: &[&str]) -> serde_json::Value {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn weights_file(text: &str) -> tempfile_path::TempPath {
    tempfile_path::write(text)
}

/// A tiny temporary-file helper (no extra dependency).
mod tempfile_path {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    pub fn write(text: &str) -> TempPath {
        let k = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("superbound-cli-{}-{k}.json", std::process::id()));
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        TempPath(path)
    }
}

const EXAMPLE: &str = r#"{"W": [["1/2","-1/3","2/5","1/7"],["1/4","2/3","-1/5","3/7"]]}"#;

#[test]
fn loss_prints_the_exact_value_and_json() {
    let f = weights_file(EXAMPLE);
    bin()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(&f.0)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "7989563241137754847/15492243194265600000",
        ));
    let out = bin()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--sparsity",
            "0.5",
            "--json",
            "--weights",
        ])
        .arg(&f.0)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["loss"], "7989563241137754847/15492243194265600000");
    assert!((v["float"].as_f64().unwrap() - 0.5157137763).abs() < 1e-9);
    let poly = v["density_polynomial"].as_array().unwrap();
    assert_eq!(poly.len(), 4, "coefficients of s^1..s^4");
    assert_eq!(v["first_order"], poly[0]);
}

#[test]
fn rect_json_has_an_estimate_beyond_the_exact_route() {
    let row: Vec<String> = (0..10).map(|k| format!("\"{}/9\"", k as i64 - 4)).collect();
    let f = weights_file(&format!("{{\"W\": [[{}]]}}", row.join(",")));
    let out = bin()
        .args([
            "loss",
            "--act",
            "rect",
            "--p",
            "1",
            "--density",
            "0.1",
            "--json",
            "--samples",
            "20000",
            "--weights",
        ])
        .arg(&f.0)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("loss").is_none());
    assert!(v["loss_estimate"].as_f64().unwrap() > 0.0);
    assert!(v["std_error"].as_f64().unwrap() > 0.0);
    assert!(v["first_order"].is_string());
}

/// Runs the binary and checks: non-zero exit, a message on stderr, no panic, nothing on stdout.
fn refused(args: &[&str], weights: Option<&str>, needle: &str) {
    let f = weights.map(weights_file);
    let mut cmd = bin();
    cmd.args(args);
    if let Some(f) = &f {
        cmd.arg("--weights").arg(&f.0);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} {weights:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?}: panic: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "{args:?} {weights:?}: stderr {stderr:?} does not mention {needle:?}"
    );
}

#[test]
fn bad_inputs_are_refused_cleanly() {
    let base = ["loss", "--act", "power", "--p", "2", "--density", "1/2"];
    refused(&base, Some("{\"W\": [[1, 2]"), "not valid JSON");
    refused(&base, Some("{\"W\": [[1, 2], [3]]}"), "ragged");
    refused(&base, Some("{\"W\": [[]]}"), "empty");
    refused(&base, Some("{\"W\": []}"), "no rows");
    refused(&base, Some("{\"W\": [[\"abc\"]]}"), "not a number");
    refused(&base, Some("{\"W\": [[\"1/0\"]]}"), "zero denominator");
    refused(&base, Some("{\"W\": [[\"NaN\"]]}"), "not a number");
    refused(&base, Some("{\"W\": [[\"inf\"]]}"), "not a number");
    refused(&base, Some("{\"W\": [[1e999999]]}"), "out of range");
    refused(&base, Some("{\"W\": [[null]]}"), "not a number");
    refused(&base, Some("{\"V\": [[1]]}"), "unknown key");
    refused(&base, Some("{\"W\": [[1, 2]], \"b\": [1]}"), "entries");
    refused(
        &base,
        Some("{\"W\": [[1]], \"importance\": [-1]}"),
        "negative",
    );
    let wide = format!("{{\"W\": [[{}]]}}", vec!["1"; 1001].join(","));
    refused(&base, Some(&wide), "at most 1000");
    let ok = Some(EXAMPLE);
    for density in ["0", "-1/2", "3/2", "1.0001", "abc", "1/0"] {
        refused(
            &["loss", "--act", "power", "--p", "2", "--density", density],
            ok,
            "density",
        );
    }
    refused(
        &["loss", "--act", "power", "--p", "2", "--sparsity", "1"],
        ok,
        "--sparsity 1: the sparsity must be in [0, 1)",
    );
    refused(&["loss", "--act", "power", "--p", "2"], ok, "--density");
    refused(
        &[
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1/2",
            "--sparsity",
            "1/2",
        ],
        ok,
        "not both",
    );
    refused(
        &["loss", "--act", "power", "--p", "0", "--density", "1/2"],
        ok,
        "at least 1",
    );
    refused(
        &["loss", "--act", "power", "--p", "99", "--density", "1/2"],
        ok,
        "limit 16",
    );
    refused(
        &["loss", "--act", "tanh", "--p", "2", "--density", "1/2"],
        ok,
        "invalid value",
    );
    refused(
        &[
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1/2",
            "--values",
            "gauss",
        ],
        ok,
        "unknown value distribution",
    );
    refused(
        &[
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1/2",
            "--values",
            "beta:0,2",
        ],
        ok,
        "outside",
    );
    refused(
        &[
            "loss",
            "--act",
            "rect",
            "--p",
            "1",
            "--density",
            "1/2",
            "--samples",
            "1000000000",
        ],
        ok,
        "limit",
    );
    refused(
        &[
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1/2",
            "--weights",
            "/nonexistent/w.json",
        ],
        None,
        "No such file",
    );
}

fn all_lower(v: &serde_json::Value) -> Vec<(String, String)> {
    v["all"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "lower")
        .map(|e| {
            (
                e["name"].as_str().unwrap_or("").to_string(),
                e["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn bounds_json_has_the_documented_shape() {
    let v = json_of(&[
        "bounds",
        "--act",
        "power",
        "--p",
        "2",
        "--n",
        "3",
        "--m",
        "2",
        "--density",
        "1/100",
        "--json",
    ]);
    let first = &v["first_order"];
    assert_eq!(first["lower"]["value"], "1/6");
    assert_eq!(first["lower"]["by"], "theorem1");
    assert!((first["ratio"].as_f64().unwrap() - 1.0).abs() < 1e-15);
    let witness = first["upper"]["witness"].as_array().unwrap();
    assert_eq!(witness.len(), 2, "m rows");
    assert!(
        witness
            .iter()
            .all(|row| row.as_array().unwrap().len() == 3 && row[0].is_string())
    );
    let dens = &v["at_density"];
    assert!(dens["ratio"].as_f64().unwrap() > 1.0);
    // Single support plus floor: s (1-s)^2 (1/6) + e 3 s (1 - (1-s)^2) at s = 1/100 with the
    // certified floor e = 15272409/10^10 (computed by hand with Python fractions); the plain
    // lift of Theorem 1 alone, 3267/2000000, is below it.
    assert_eq!(dens["lower"]["value"], "16344117628173/10000000000000000");
    assert!(
        all_lower(&v)
            .iter()
            .any(|(name, value)| name == "theorem1" && value == "3267/2000000")
    );
    let all = v["all"].as_array().unwrap();
    assert!(
        all.iter()
            .any(|e| e["kind"] == "lower" && e["name"] == "theorem1")
    );
    assert!(
        all.iter()
            .any(|e| e["kind"] == "upper" && e["name"] == "orthogonal")
    );
    assert!(v["crossover"]["bracket"].is_array());
}

#[test]
fn bounds_refuses_bad_arguments() {
    refused(
        &[
            "bounds", "--act", "power", "--p", "2", "--n", "0", "--m", "2",
        ],
        None,
        "n (features)",
    );
    refused(
        &[
            "bounds", "--act", "power", "--p", "2", "--n", "3", "--m", "0",
        ],
        None,
        "m (hidden",
    );
    refused(
        &[
            "bounds", "--act", "sigmoid", "--p", "2", "--n", "3", "--m", "2",
        ],
        None,
        "invalid value",
    );
    refused(
        &[
            "bounds",
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
        ],
        None,
        "density",
    );
    refused(
        &[
            "bounds",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "3",
            "--m",
            "2",
            "--density",
            "2",
        ],
        None,
        "density",
    );
    refused(
        &[
            "bounds", "--act", "power", "--p", "2", "--n", "-3", "--m", "2",
        ],
        None,
        "unexpected argument",
    );
    refused(
        &[
            "bounds", "--act", "power", "--p", "0", "--n", "3", "--m", "2",
        ],
        None,
        "at least 1",
    );
    refused(
        &[
            "bounds", "--act", "power", "--p", "2", "--n", "9999", "--m", "2",
        ],
        None,
        "at most 1000",
    );
}

#[test]
fn optimize_reports_an_exact_value_and_saves_w() {
    let save = std::env::temp_dir().join(format!("superbound-opt-{}.json", std::process::id()));
    let out = bin()
        .args([
            "optimize",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "3",
            "--m",
            "2",
            "--first-order",
            "--restarts",
            "4",
            "--json",
            "--save",
        ])
        .arg(&save)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["objective"], "first_order");
    assert!((v["float"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-10);
    assert!(v["value"].as_str().unwrap().contains('/'));
    assert_eq!(v["W"].as_array().unwrap().len(), 2);
    // The features as Elhage et al. report them (norm > 0.5: every feature at p = 2, n = 3, m = 2).
    assert_eq!(v["features"]["represented"], 3);
    assert_eq!(v["features"]["threshold"], 0.5);
    assert_eq!(v["exact"], true);
    // The saved W re-evaluates to the same exact first-order value.
    let out = bin()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1/2",
            "--json",
            "--weights",
        ])
        .arg(&save)
        .output()
        .unwrap();
    let l: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(l["first_order"], v["value"]);
    let _ = std::fs::remove_file(save);
}

#[test]
fn optimize_refuses_bad_arguments() {
    refused(
        &[
            "optimize", "--act", "power", "--p", "2", "--n", "3", "--m", "2",
        ],
        None,
        "--first-order, --density R or --sparsity S",
    );
    refused(
        &[
            "optimize",
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
        ],
        None,
        "density",
    );
    refused(
        &[
            "optimize",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "3",
            "--m",
            "2",
            "--first-order",
            "--bias",
        ],
        None,
        "bias",
    );
    refused(
        &[
            "optimize",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "3",
            "--m",
            "2",
            "--first-order",
            "--restarts",
            "99999",
        ],
        None,
        "limit",
    );
    refused(
        &[
            "optimize",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "0",
            "--m",
            "2",
            "--first-order",
        ],
        None,
        "n (features)",
    );
}

#[test]
fn certify_and_check_round_trip() {
    let save = std::env::temp_dir().join(format!("superbound-cert-{}.json", std::process::id()));
    let out = bin()
        .args([
            "certify", "--act", "power", "--p", "2", "--n", "6", "--m", "3", "--json", "--save",
        ])
        .arg(&save)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lower"], "7/16");
    assert_eq!(v["verified"], true);
    assert_eq!(v["degree"], 12);
    bin()
        .arg("check")
        .arg(&save)
        .assert()
        .success()
        .stdout(predicate::str::contains("verified"));
    // A tampered claim is refused with the reason.
    let text = std::fs::read_to_string(&save)
        .unwrap()
        .replace("\"7/16\"", "\"1/2\"");
    let bad = weights_file(&text);
    refused(&["check", bad.0.to_str().unwrap()], None, "differs");
    let _ = std::fs::remove_file(save);
}

/// `certify --spectral` (rect p = 1) at Petersen's size: the bound within `1e-12` of `10/21`,
/// `check` re-verifies the file, and a claim moved by one unit in the last place is refused; the
/// option is refused outside its scope.
#[test]
fn spectral_certificate_round_trip() {
    let save = std::env::temp_dir().join(format!("superbound-spec-{}.json", std::process::id()));
    let out = bin()
        .args([
            "certify",
            "--act",
            "rect",
            "--p",
            "1",
            "--n",
            "10",
            "--m",
            "4",
            "--spectral",
            "--json",
            "--save",
        ])
        .arg(&save)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let float = v["float"].as_f64().unwrap();
    assert!(
        (10.0 / 21.0 * (1.0 - 1e-12)..=10.0 / 21.0).contains(&float),
        "{float}"
    );
    bin()
        .arg("check")
        .arg(&save)
        .assert()
        .success()
        .stdout(predicate::str::contains("verified: spectral certificate"));
    let lower = v["lower"].as_str().unwrap().to_string();
    let (num, den) = lower.split_once('/').unwrap();
    let bumped = format!("{}/{den}", num.parse::<u128>().unwrap() + 1);
    let text = std::fs::read_to_string(&save)
        .unwrap()
        .replace(&format!("\"{lower}\""), &format!("\"{bumped}\""));
    let bad = weights_file(&text);
    refused(&["check", bad.0.to_str().unwrap()], None, "differs");
    // A repeated key (a second, larger R) is refused, not silently resolved.
    let saved = std::fs::read_to_string(&save).unwrap();
    let twice = weights_file(&saved.replacen('{', "{\"R\":\"100\",", 1));
    refused(&["check", twice.0.to_str().unwrap()], None, "twice");
    refused(
        &[
            "certify",
            "--act",
            "power",
            "--p",
            "1",
            "--n",
            "10",
            "--m",
            "4",
            "--spectral",
        ],
        None,
        "rect, p = 1",
    );
    let _ = std::fs::remove_file(save);
}

#[test]
fn check_refuses_hostile_files() {
    let good = r#"{"activation":"power","p":2,"n":6,"m":3,"values":"uniform","degree":1,"coefficients":["1/5","0"],"lower":"1/2"}"#;
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not valid JSON"),
        ("[1,2]".into(), "JSON object"),
        (good.replace("\"power\"", "\"tanh\""), "activation"),
        (good.replace("\"degree\":1", "\"degree\":99999"), "limit"),
        (good.replace("\"degree\":1", "\"degree\":3"), "entries"),
        (
            good.replace("\"0\"]", &format!("\"{}\"]", "9".repeat(5000))),
            "characters",
        ),
        (good.replace("\"0\"]", "\"1/0\"]"), "zero denominator"),
        (good.replace("\"n\":6", "\"n\":0"), "n (features)"),
        (good.replace("\"m\":3", "\"m\":1"), "m >= 2"),
        (good.replace("\"p\":2", "\"p\":-2"), "integer in 1..=16"),
        (good.replace(",\"lower\":\"1/2\"", ""), "lower"),
        (good.replace("\"0\"]", "\"-1/3\"]"), "negative"),
    ];
    for (text, needle) in cases {
        let f = weights_file(&text);
        refused(&["check", f.0.to_str().unwrap()], None, needle);
    }
}

#[test]
fn plots_are_svg() {
    let dir = std::env::temp_dir();
    let bounds_svg = dir.join(format!("superbound-bounds-{}.svg", std::process::id()));
    let arrows_svg = dir.join(format!("superbound-arrows-{}.svg", std::process::id()));
    bin()
        .args([
            "plot",
            "--act",
            "power",
            "--p",
            "2",
            "--n",
            "3",
            "--m",
            "2",
            "--points",
            "4",
            "--no-optimize",
            "--out",
        ])
        .arg(&bounds_svg)
        .assert()
        .success();
    bin()
        .args([
            "plot", "--act", "rect", "--p", "1", "--n", "5", "--m", "2", "--kind", "arrows",
            "--out",
        ])
        .arg(&arrows_svg)
        .assert()
        .success();
    for (f, marks) in [(&bounds_svg, 2), (&arrows_svg, 5)] {
        let svg = std::fs::read_to_string(f).unwrap();
        assert!(svg.starts_with("<svg"), "{f:?}");
        assert!(
            svg.matches("<polyline").count() >= marks,
            "{f:?} has too few lines"
        );
        let _ = std::fs::remove_file(f);
    }
    refused(
        &[
            "plot",
            "--act",
            "rect",
            "--p",
            "1",
            "--n",
            "5",
            "--m",
            "3",
            "--kind",
            "arrows",
            "--out",
            "/tmp/x.svg",
        ],
        None,
        "m 2",
    );
    refused(
        &[
            "plot",
            "--act",
            "rect",
            "--p",
            "1",
            "--n",
            "5",
            "--m",
            "2",
            "--kind",
            "pie",
            "--out",
            "/tmp/x.svg",
        ],
        None,
        "unknown --kind",
    );
}

#[test]
fn table_refuses_bad_arguments() {
    refused(&["table", "--n", "5..2"], None, "empty range");
    refused(&["table", "--p", "0"], None, "at least 1");
    refused(&["table", "--format", "xml"], None, "unknown --format");
    refused(&["table", "--shard", "4/3"], None, "--shard");
    refused(&["table", "--density", "2"], None, "density");
    refused(&["table", "--act", "gelu"], None, "unknown activation");
    refused(&["table", "--n", "1000"], None, "limit");
}

#[test]
fn optimize_objective_is_first_order_or_loss() {
    let v = json_of(&[
        "optimize",
        "--act",
        "rect",
        "--p",
        "1",
        "--n",
        "4",
        "--m",
        "2",
        "--density",
        "1/4",
        "--restarts",
        "2",
        "--json",
    ]);
    assert_eq!(v["objective"], "loss");
    // At n = 4 the screen runs on the quadrature (cheaper than the sample per evaluation).
    let detail = v["objective_detail"].as_str().unwrap();
    assert!(
        detail.contains("quadrature") && !detail.contains("sample"),
        "{detail}"
    );
    let sampling = v["sampling"].as_str().unwrap();
    assert!(
        sampling.contains("screened on the quadrature"),
        "{sampling}"
    );
    assert!(sampling.contains("seed 0"), "{sampling}");
    // n = 4 is within the exact route: the value is the exact loss of the W returned, and the
    // independent sample's estimate agrees with it within 5 standard errors.
    assert_eq!(v["exact"], true);
    assert!(v["value"].as_str().unwrap().contains('/'));
    let (est, se) = (
        v["estimate"]["mean"].as_f64().unwrap(),
        v["estimate"]["std_error"].as_f64().unwrap(),
    );
    assert!(
        (est - v["float"].as_f64().unwrap()).abs() <= 5.0 * se + 1e-12,
        "{v}"
    );
}

// ---- robustness (fuzz campaign findings); every run has a time limit -------------------------

fn timed() -> Command {
    let mut c = bin();
    c.timeout(std::time::Duration::from_secs(30));
    c
}

#[test]
fn optimizer_restarts_are_bounded_and_report_why_they_stopped() {
    for args in [
        ["--p", "1", "--n", "7", "--m", "4"],
        ["--p", "3", "--n", "4", "--m", "5"],
    ] {
        let start = std::time::Instant::now();
        let out = timed()
            .args(["optimize", "--act", "power", "--first-order", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            start.elapsed().as_secs() < 20,
            "{args:?} took {:?}",
            start.elapsed()
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let stopped = v["stopped"].as_object().expect("stopped summary");
        let total: u64 = stopped.values().map(|n| n.as_u64().unwrap()).sum();
        assert!(total >= 16, "{stopped:?}");
    }
    timed()
        .args([
            "optimize", "--act", "power", "--p", "1", "--n", "7", "--m", "4",
        ])
        .arg("--first-order")
        .assert()
        .success()
        .stdout(predicate::str::contains("restarts stopped: "));
}

#[test]
fn optimizer_and_table_refuse_unbounded_work_up_front() {
    let base = [
        "optimize", "--act", "power", "--p", "2", "--n", "5", "--m", "2",
    ];
    timed()
        .args(base)
        .args(["--first-order", "--restarts", "10000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--restarts 10000 is above the limit 1000",
        ));
    timed()
        .args(base)
        .args(["--first-order", "--restarts", "0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--restarts must be at least 1"));
    timed()
        .args([
            "table",
            "--p",
            "16",
            "--n",
            "64",
            "--m",
            "64",
            "--density",
            "0",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("lower --n or --p"));
}

#[test]
fn rect_oracle_on_beta_values_is_fast_and_unchanged() {
    let f = weights_file(r#"{"W": [["1/2", "1/3"]]}"#);
    // beta:16,16: the value of the old code (which took 1.4 s); beta:32,32 never returned.
    for (values, loss) in [("beta:16,16", "787/5346"), ("beta:32,32", "203/1404")] {
        let start = std::time::Instant::now();
        timed()
            .args(["loss", "--act", "rect", "--p", "1", "--density", "1/2"])
            .args(["--values", values, "--weights"])
            .arg(&f.0)
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("loss L(W; s) = {loss}")));
        assert!(
            start.elapsed().as_secs() < 10,
            "{values}: {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn huge_exact_values_get_a_decimal_from_the_exact_value() {
    let f = weights_file(r#"{"W": [["1e4096"]]}"#);
    timed()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "1",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(&f.0)
        .assert()
        .success()
        .stdout(predicate::str::contains("≈ 1.66666666667e16383"))
        .stdout(predicate::str::contains("inf").not())
        .stdout(predicate::str::contains("NaN").not());
    // Rect beyond the oracle with overflowing weights: the enclosure sums every support, so
    // the value is exact. By hand: all G_ij = 1e400 >= 0, so rect = linear and
    // L = 9e800 E[(sum x)^2] = 9e800 (9 (s/3 - s^2/4) + (9 s/2)^2) = 5.4e801 at s = 1/2.
    // A Monte Carlo cross-check of it overflows f64: an error, never a number.
    let big = format!(r#"{{"W": [[{}]]}}"#, ["\"1e200\""; 9].join(","));
    let f = weights_file(&big);
    let args = [
        "loss",
        "--act",
        "rect",
        "--p",
        "1",
        "--density",
        "1/2",
        "--weights",
    ];
    timed()
        .args(args)
        .arg(&f.0)
        .assert()
        .success()
        .stdout(predicate::str::contains("≈ 5.40000000000e801"));
    timed()
        .args(args)
        .arg(&f.0)
        .arg("--monte-carlo")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("overflows f64"));
}

#[test]
fn json_files_refuse_duplicate_keys_and_accept_a_bom() {
    let dup = weights_file(r#"{"W": [["1"]], "W": [["2"]]}"#);
    timed()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "1",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(&dup.0)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the key \"W\" twice"));
    let bom = weights_file("\u{feff}{\"W\": [[\"1/2\"]]}");
    timed()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "1",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(&bom.0)
        .assert()
        .success();
    let cert = weights_file(r#"{"a": 1, "a": 2}"#);
    timed()
        .arg("check")
        .arg(&cert.0)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("twice"));
}

#[test]
fn rect_crossover_of_a_rounded_polygon_is_fast_and_unchanged() {
    // Took 30-47 s before the integer support sum; the bracket is the old code's.
    let start = std::time::Instant::now();
    let out = timed()
        .args([
            "bounds", "--act", "rect", "--p", "3", "--values", "beta:2,3",
        ])
        .args(["--n", "6", "--m", "2", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["crossover"]["bracket"],
        serde_json::json!(["72896029625/549755813888", "145792059251/1099511627776"])
    );
    assert_eq!(v["crossover"]["by"], "regular-polygon-r2 (N=6)");
}

#[test]
fn costly_exact_rect_losses_are_refused_and_said() {
    // Eight coupled features with beta:8,8 values: the oracle's support sum would take ~20 s and
    // is refused; `loss` gets the exact value from the enclosure's walk, which sums every support
    // of a group of at most 8 features (16.6398384979.., Monte Carlo 16.77 ± 0.18 with 1e5
    // samples).
    let start = std::time::Instant::now();
    timed()
        .args([
            "bounds", "--act", "rect", "--p", "3", "--values", "beta:8,8",
        ])
        .args(["--n", "8", "--m", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "the crossover density is not located",
        ))
        .stdout(predicate::str::contains("above the limit"));
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
    let cols: Vec<(f64, f64)> = (0..8)
        .map(|i| {
            let t = std::f64::consts::PI * i as f64 / 8.0;
            (t.cos(), t.sin())
        })
        .collect();
    let row = |f: fn(&(f64, f64)) -> f64| {
        cols.iter()
            .map(|c| format!("\"{}/1024\"", (f(c) * 1024.0).round()))
            .collect::<Vec<_>>()
            .join(",")
    };
    let f = weights_file(&format!(
        r#"{{"W": [[{}], [{}]]}}"#,
        row(|c| c.0),
        row(|c| c.1)
    ));
    timed()
        .args(["loss", "--act", "rect", "--p", "3", "--values", "beta:8,8"])
        .args(["--density", "1/3", "--samples", "1000", "--weights"])
        .arg(&f.0)
        .assert()
        .success()
        .stdout(predicate::str::contains("no exact loss: ").not())
        .stdout(predicate::str::contains("loss L(W; s) = "));
}

/// Every density error names the option and the text given.
#[test]
fn density_errors_name_the_option() {
    let ok = Some(EXAMPLE);
    let model = ["--act", "power", "--p", "2"];
    let sizes = ["--n", "3", "--m", "2"];
    for (d, why) in [
        ("2", "--density 2: the density must be in (0, 1]"),
        ("0", "--density 0: the density must be in (0, 1]"),
        ("-1/2", "--density -1/2: the density must be in (0, 1]"),
        ("abc", "--density abc: "),
        ("1/0", "--density 1/0: zero denominator"),
    ] {
        let loss: Vec<&str> = ["loss"]
            .into_iter()
            .chain(model)
            .chain(["--density", d])
            .collect();
        refused(&loss, ok, why);
        for cmd in ["bounds", "optimize"] {
            let args: Vec<&str> = [cmd]
                .into_iter()
                .chain(model)
                .chain(sizes)
                .chain(["--density", d])
                .collect();
            refused(&args, None, why);
        }
        let out = std::env::temp_dir().join("superbound-never-written.svg");
        let out = out.to_str().unwrap();
        if d != "0" {
            refused(&["table", "--density", &format!("0,{d}")], None, why);
        }
        let from = why.replacen("--density", "--from", 1);
        let plot: Vec<&str> = ["plot"]
            .into_iter()
            .chain(model)
            .chain(sizes)
            .chain(["--from", d, "--out", out])
            .collect();
        refused(&plot, None, &from);
    }
    for (sp, why) in [
        ("1", "--sparsity 1: the sparsity must be in [0, 1)"),
        ("-1", "--sparsity -1: the sparsity must be in [0, 1)"),
        ("x", "--sparsity x: "),
    ] {
        let loss: Vec<&str> = ["loss"]
            .into_iter()
            .chain(model)
            .chain(["--sparsity", sp])
            .collect();
        refused(&loss, ok, why);
    }
    // A long or multi-line text is quoted and cut: the message stays one line.
    let long = format!("1\n{}", "9".repeat(100));
    let loss: Vec<&str> = ["loss"]
        .into_iter()
        .chain(model)
        .chain(["--density", &long])
        .collect();
    refused(&loss, ok, "--density \"1\\n999");
}

#[test]
fn plot_validates_its_range_up_front() {
    let out = std::env::temp_dir().join(format!("superbound-range-{}.svg", std::process::id()));
    let out = out.to_str().unwrap();
    let base = [
        "plot", "--act", "power", "--p", "2", "--n", "3", "--m", "2", "--out", out,
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    for (extra, why) in [
        (&["--to", "2"][..], "--to 2: the density must be in (0, 1]"),
        (&["--to", "0"][..], "--to 0: the density must be in (0, 1]"),
        (&["--to", "junk"][..], "--to junk: "),
        (
            &["--from", "-1"][..],
            "--from -1: the density must be in (0, 1]",
        ),
        (
            &["--from", "1/2", "--to", "1/2"][..],
            "--from 1/2 must be below --to 1/2",
        ),
        (
            &["--from", "1/2", "--to", "1/4"][..],
            "--from 1/2 must be below --to 1/4",
        ),
        (
            &["--from", "1e-400"][..],
            "--from 1e-400: below the smallest normal f64",
        ),
        (
            &["--points", "1"][..],
            "--points 1: must be between 2 and 200",
        ),
        (
            &["--points", "0"][..],
            "--points 0: must be between 2 and 200",
        ),
        (
            &["--points", "201"][..],
            "--points 201: must be between 2 and 200",
        ),
    ] {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let start = std::time::Instant::now();
        refused(&args, None, why);
        assert!(
            start.elapsed().as_secs() < 5,
            "{extra:?}: {:?}",
            start.elapsed()
        );
    }
    assert!(!std::path::Path::new(out).exists());
}

#[test]
fn a_density_below_f64_warns_and_still_computes_exactly() {
    let warning = "superbound: warning: --density 1e-400: positive but below the smallest f64";
    let f = weights_file(EXAMPLE);
    let out = timed()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1e-400",
            "--weights",
        ])
        .arg(&f.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(warning), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("density s = 1/1"));
    for args in [
        &[
            "bounds", "--act", "rect", "--p", "1", "--n", "3", "--m", "2",
        ][..],
        &[
            "optimize",
            "--act",
            "power",
            "--p",
            "1",
            "--n",
            "3",
            "--m",
            "2",
            "--restarts",
            "1",
        ][..],
    ] {
        timed()
            .args(args)
            .args(["--density", "1e-400"])
            .assert()
            .code(0)
            .stderr(predicate::str::starts_with(warning));
    }
    timed()
        .args([
            "table", "--act", "power", "--p", "1", "--n", "2", "--m", "2",
        ])
        .args(["--density", "0,1e-400", "--format", "csv"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(warning));
    timed()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--sparsity",
            "1",
            "--weights",
        ])
        .arg(&f.0)
        .assert()
        .code(1);
    // A normal small density: no warning.
    timed()
        .args([
            "loss",
            "--act",
            "power",
            "--p",
            "2",
            "--density",
            "1e-300",
            "--weights",
        ])
        .arg(&f.0)
        .assert()
        .code(0)
        .stderr(predicate::str::is_empty());
}

#[test]
fn power_p1_lp_is_fast() {
    // q = f on all of [-1, 1]: every fine point was added to the LP grid (8.5 s; fuzz timeout).
    let start = std::time::Instant::now();
    timed()
        .args([
            "bounds", "--act", "power", "--p", "1", "--n", "3", "--m", "2",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("the optimum is certified"));
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}

#[test]
fn table_ratio_with_a_zero_lower_bound_is_a_word() {
    // The ratio column printed "inf" (fuzz: a non-finite token as a value).
    let out = timed()
        .args(["table", "--act", "rect", "--p", "1", "--n", "3", "--m", "2"])
        .args([
            "--density",
            "1/2",
            "--values",
            "one",
            "--bias",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(",infinite,"), "{text}");
    assert!(!text.split(',').any(|t| t == "inf"), "{text}");
}

/// `--sparsity` wherever `--density` is accepted: the same rows and the same optimum.
#[test]
fn sparsity_is_accepted_wherever_density_is() {
    let by_density = bin()
        .args([
            "table", "--act", "power", "--p", "2", "--n", "3", "--m", "2",
        ])
        .args(["--density", "1/100,0", "--format", "csv"])
        .output()
        .unwrap();
    let by_sparsity = bin()
        .args([
            "table", "--act", "power", "--p", "2", "--n", "3", "--m", "2",
        ])
        .args(["--sparsity", "0.99,1", "--format", "csv"])
        .output()
        .unwrap();
    assert!(by_density.status.success());
    assert_eq!(by_density.stdout, by_sparsity.stdout);
    let opt = |flag: &str, v: &str| {
        bin()
            .args([
                "optimize", "--act", "power", "--p", "2", "--n", "3", "--m", "2",
            ])
            .args(["--restarts", "2", "--json", flag, v])
            .output()
            .unwrap()
    };
    let (a, b) = (opt("--density", "1/10"), opt("--sparsity", "9/10"));
    assert!(a.status.success() && b.status.success());
    let va: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let vb: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(va["value"], vb["value"]);
    bin()
        .args([
            "optimize", "--act", "power", "--p", "2", "--n", "3", "--m", "2",
        ])
        .args(["--sparsity", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--sparsity 1"));
}

/// A biased question is compared only with bounds that hold with a bias: for the ReLU only the
/// projection bound and 0, and the header says which question is asked.
#[test]
fn bounds_with_a_bias_use_only_bounds_valid_with_a_bias() {
    let out = bin()
        .args([
            "bounds", "--act", "rect", "--p", "1", "--n", "5", "--m", "2",
        ])
        .args(["--sparsity", "0.99", "--bias", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lowers: Vec<&str> = v["all"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "lower")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // Only the projection bound (any decoder of W x) and 0 hold for the ReLU with a bias; at
    // s = 1/100 the projection bound is 10 s^3 (1-s)^2 / 36 + O(s^4) = 2.7548e-7 (mpmath,
    // tests/independent/projection_bound.py's formula).
    assert!(
        lowers.iter().all(|n| *n == "zero" || *n == "projection"),
        "{lowers:?}"
    );
    assert!(
        v["at_density"]["lower"]["by"]
            .as_str()
            .unwrap()
            .starts_with("projection")
    );
    let lower = v["at_density"]["lower"]["float"].as_f64().unwrap();
    assert!((2.7547e-7..2.7549e-7).contains(&lower), "{lower}");
    // p = 2 with a bias: the floor, valid with any bias, is the best lower bound.
    let out = bin()
        .args([
            "bounds", "--act", "rect", "--p", "2", "--n", "5", "--m", "2",
        ])
        .args([
            "--density",
            "1/100",
            "--bias",
            "--importance",
            "geometric:7/10",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("question: W and a bias b optimised; importance weights given"));
    assert!(
        text.contains("best lower: ") && text.contains("by floor"),
        "{text}"
    );
    assert!(
        !text.contains("theorem1") && !text.contains("lower  self"),
        "{text}"
    );
}

/// `check` on a witness file: the exact value of a rational `W` (with bias and importance) is
/// recomputed; a claim off by 1e-30, an enclosure that misses it, or a first-order claim with a
/// bias is refused. The expected value is the hand computation for one feature:
/// `W = [1]`, power `p = 1`: `xhat = x`, so `L1 = l(1) = mu_2 - 2 mu_2 + mu_2 = 0`; with
/// `W = [1/2]`: `xhat = x/4`, `L(s) = s E(3U/4)^2 = 3s/16`; with importance 2: `3s/8`.
#[test]
fn check_recomputes_witness_files() {
    let check = |text: &str| {
        let f = weights_file(text);
        bin().arg("check").arg(&f.0).output().unwrap()
    };
    let ok =
        check(r#"{"activation":"power","p":1,"W":[["1/2"]],"density":"1/10","value":"3/160"}"#);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("3/160"));
    let weighted = check(
        r#"{"activation":"power","p":1,"W":[["1/2"]],"importance":["2"],"density":"1/10","value":"3/80"}"#,
    );
    assert!(weighted.status.success());
    let hair = check(&format!(
        r#"{{"activation":"power","p":1,"W":[["1/2"]],"density":"1/10","value":"{}"}}"#,
        "18750000000000000000000000000001/1000000000000000000000000000000000"
    ));
    assert_eq!(hair.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&hair.stderr).contains("exact value is ≈ 0.01875: 3/160"));
    let inside = check(
        r#"{"activation":"power","p":1,"W":[["1/2"]],"density":"1/10","enclosure":["1/60","1/50"]}"#,
    );
    assert!(inside.status.success());
    let outside = check(
        r#"{"activation":"power","p":1,"W":[["1/2"]],"density":"1/10","enclosure":["1/50","1/40"]}"#,
    );
    assert_eq!(outside.status.code(), Some(1));
    let first = check(r#"{"activation":"power","p":1,"W":[["1"]],"value":"0"}"#);
    assert!(first.status.success());
    let biased = check(r#"{"activation":"power","p":1,"W":[["1"]],"b":["1/2"],"value":"0"}"#);
    assert_eq!(biased.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&biased.stderr).contains("bias"));
}

/// An importance list that does not fit some `n` of the grid is refused before any row.
#[test]
fn table_refuses_an_importance_list_of_the_wrong_length() {
    bin()
        .args([
            "table", "--act", "power", "--p", "2", "--n", "3,4", "--m", "2",
        ])
        .args(["--density", "0", "--importance", "1,1,1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--importance has 3 weights; n = 4",
        ));
}

/// A dense 5 x 20 `W` with three-decimal entries in [-0.4, 0.4] (the `dense_20` of
/// tests/enclosure.rs), as a weights file's text.
fn dense_20_text() -> String {
    let (m, n) = (5, 20);
    let mut state: u64 = 12345;
    let mut rows = vec![Vec::new(); m];
    for k in 0..m * n {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = ((state >> 33) as f64) / (1u64 << 31) as f64 * 0.8 - 0.4;
        rows[k / n].push(format!("\"{}/1000\"", (x * 1000.0).round() as i64));
    }
    let rows: Vec<String> = rows.iter().map(|r| format!("[{}]", r.join(","))).collect();
    format!("{{\"W\": [{}]}}", rows.join(","))
}

/// `loss` beyond the exact route (rect, 20 coupled features) prints the kernel's enclosure
/// beside the Monte Carlo estimate; its JSON carries value = hi, exact = false and the
/// enclosure as two rational strings. At K = 3 the enclosure is [0.046414.., 0.046498..]
/// (tests/enclosure.rs contains the Monte Carlo value in it).
#[test]
fn loss_encloses_the_rectified_loss_at_n_20() {
    let f = weights_file(&dense_20_text());
    let args = ["loss", "--act", "rect", "--p", "1", "--density", "1/100"];
    timed()
        .args(args)
        .args(["--support-limit", "3", "--samples", "20000", "--weights"])
        .arg(&f.0)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "exact value not computed: enclosure",
        ))
        .stdout(predicate::str::contains("  lo = "))
        .stdout(predicate::str::contains("  hi = "))
        .stdout(predicate::str::contains("support limit K = 3"))
        .stdout(predicate::str::contains("an estimate, not a bound"));
    let out = timed()
        .args(args)
        .args([
            "--enclosure-width",
            "1/1000",
            "--samples",
            "20000",
            "--json",
        ])
        .arg("--weights")
        .arg(&f.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exact"], false);
    assert!(v.get("loss").is_none());
    let enc = v["enclosure"].as_array().unwrap();
    assert_eq!(v["value"], enc[1]);
    let (lo, hi) = (
        v["enclosure_float"][0].as_f64().unwrap(),
        v["enclosure_float"][1].as_f64().unwrap(),
    );
    assert!(0.0464 < lo && lo < hi && hi < 0.0465, "[{lo}, {hi}]");
    assert_eq!(v["width_met"], true);
    // K = 4 is the first with width <= 1e-3 (K = 2: 3.2e-2; K = 3: 1.8e-3; K = 4: 7.2e-5).
    assert_eq!(v["support_limit"], 4);
    assert!(v["relative_width"].as_f64().unwrap() <= 1e-3);
}

/// The enclosure options are checked: one line each, no panic.
#[test]
fn enclosure_options_are_checked() {
    let text = dense_20_text();
    let base = ["loss", "--act", "rect", "--p", "1", "--density", "1/100"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    for (extra, needle) in [
        (vec!["--enclosure-width", "0"], "must be positive"),
        (vec!["--enclosure-width", "x"], "--enclosure-width x"),
        (
            vec!["--enclosure-width", "1e-3", "--support-limit", "2"],
            "not both",
        ),
    ] {
        let args = with(&extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&args, Some(&text), needle);
    }
    // 40 coupled features at K = 12: refused before any work.
    let row: Vec<String> = (0..40).map(|k| format!("\"{}/7\"", k % 5 + 1)).collect();
    let wide = format!("{{\"W\": [[{}]]}}", row.join(","));
    refused(
        &[
            "loss",
            "--act",
            "rect",
            "--p",
            "1",
            "--density",
            "1/100",
            "--support-limit",
            "12",
        ],
        Some(&wide),
        "above the limit",
    );
}

/// `check` of an enclosure claim beyond the exact route: accepted when the kernel's own
/// enclosure lies inside it.
#[test]
fn check_confirms_an_enclosure_claim_at_n_20() {
    let w: serde_json::Value = serde_json::from_str(&dense_20_text()).unwrap();
    let f = weights_file(&format!(
        r#"{{"activation":"rect","p":1,"density":"1/100","W":{},"enclosure":["0.0464","0.0465"]}}"#,
        w["W"]
    ));
    bin()
        .arg("check")
        .arg(&f.0)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "the claimed enclosure contains the kernel's",
        ));
}

// ---- plots of a W: the Gram heat map and the dimensionality figure ------------------------------

/// `plot --kind gram` of a weights file: one cell per entry of `W^T W` (4 x 4 = 16 cells) plus
/// the bias column; `--kind dimensionality` with the file's features beside; missing sizes and
/// a missing density are refused with one line.
#[test]
fn plot_gram_and_dimensionality() {
    let dir = std::env::temp_dir().join(format!("sb-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = weights_file(
        r#"{"W": [["1/2", "-1/3", "2/5", "1/7"], ["1/4", "2/3", "-1/5", "3/7"]], "b": ["1/10", "0", "-1/10", "0"]}"#,
    );
    let gram = dir.join("gram.svg");
    let out = bin()
        .args([
            "plot",
            "--act",
            "rect",
            "--p",
            "1",
            "--kind",
            "gram",
            "--weights",
        ])
        .arg(&f.0)
        .arg("--out")
        .arg(&gram)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&gram).unwrap();
    // 16 Gram cells + 4 bias cells (+ the background and the chart frame).
    let rects = svg.matches("<rect").count();
    assert!((20..=24).contains(&rects), "{rects} rectangles");
    let dim = dir.join("dim.svg");
    let out = bin()
        .args([
            "plot",
            "--act",
            "rect",
            "--p",
            "1",
            "--kind",
            "dimensionality",
            "--from",
            "1/10",
            "--to",
            "1",
            "--points",
            "2",
            "--density",
            "1/2",
            "--weights",
        ])
        .arg(&f.0)
        .arg("--out")
        .arg(&dim)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&dim).unwrap();
    assert!(svg.contains("D_i of the given weights") && svg.contains("m / |W|_F^2"));
    for (args, needle) in [
        (vec!["--kind", "gram"], "needs --n and --m"),
        (
            vec![
                "--kind",
                "dimensionality",
                "--n",
                "4",
                "--m",
                "2",
                "--weights",
            ],
            "--density",
        ),
    ] {
        let mut cmd = bin();
        cmd.args(["plot", "--act", "rect", "--p", "1"]).args(&args);
        if args.last() == Some(&"--weights") {
            cmd.arg(&f.0);
        }
        let out = cmd.arg("--out").arg(dir.join("x.svg")).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(needle) && err.trim().lines().count() == 1,
            "{err}"
        );
    }
}

/// `optimize --importance` with weights that are not dyadic (1/3, 7/10): the search runs on their
/// `f64` values, but the value reported, and the importance saved with `W`, are for the exact
/// weights given; `loss` on the saved file recomputes the same exact value.
#[test]
fn optimize_value_is_for_the_exact_importance() {
    let save = std::env::temp_dir().join(format!("superbound-imp-{}.json", std::process::id()));
    let out = bin()
        .args([
            "optimize",
            "--act",
            "rect",
            "--p",
            "1",
            "--n",
            "3",
            "--m",
            "2",
            "--density",
            "1/2",
        ])
        .args(["--bias", "--importance", "1/3,1,7/10", "--restarts", "2"])
        .args(["--json", "--save"])
        .arg(&save)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exact"], true);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&save).unwrap()).unwrap();
    assert_eq!(saved["importance"], serde_json::json!(["1/3", "1", "7/10"]));
    let out = bin()
        .args([
            "loss",
            "--act",
            "rect",
            "--p",
            "1",
            "--density",
            "1/2",
            "--json",
            "--weights",
        ])
        .arg(&save)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(l["loss"], v["value"]);
    let _ = std::fs::remove_file(save);
}

/// At `n = 16`, `s = 1/100` the sample is the cheaper screen: the output says so, with its size
/// and seed.
#[test]
fn optimize_screens_on_a_sample_where_it_is_cheaper() {
    let v = json_of(&[
        "optimize",
        "--act",
        "rect",
        "--p",
        "1",
        "--n",
        "20",
        "--m",
        "5",
        "--density",
        "1/100",
        "--restarts",
        "2",
        "--seed",
        "3",
        "--json",
    ]);
    let detail = v["objective_detail"].as_str().unwrap();
    assert!(detail.contains("sample average"), "{detail}");
    let sampling = v["sampling"].as_str().unwrap();
    assert!(sampling.contains("sampled inputs (seed 3)"), "{sampling}");
}

/// A refused witness whose exact value has thousands of digits, under a file name with a line
/// break: the error is still one line (the break escaped), cut in the middle to at most 2,000
/// characters, and shows the exact value's decimal before its digits.
#[test]
fn a_long_refusal_stays_one_readable_line() {
    let (n, m) = (12usize, 4usize);
    let big = num_bigint::BigInt::from(10u32).pow(30);
    let w: Vec<Vec<String>> = (0..m)
        .map(|i| {
            (0..n)
                .map(|j| format!("{}/{}", 1 + i + j, &big + 2 * ((i * n + j) % 36) + 1))
                .collect()
        })
        .collect();
    let text = serde_json::json!({"activation": "power", "p": 4, "n": n, "m": m,
        "values": "uniform", "W": w, "value": "0"})
    .to_string();
    let path = std::env::temp_dir().join(format!(
        "superbound-cli-{}-bad\nname.json",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    let out = bin().arg("check").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.matches('\n').count(), 1, "{err}");
    assert!(err.ends_with('\n'));
    assert!(err.contains("bad\\nname.json"), "{err}");
    assert!(err.contains("characters left out"), "{err}");
    assert!(
        err.chars().count() <= 2000 + "superbound: error: \n".len(),
        "{}",
        err.len()
    );
    assert!(
        err.contains("claims 0 (≈ 0), but the exact value is ≈ "),
        "{err}"
    );
}

/// `loss --compare`: where a user's W stands against the optimum for its own question. With a
/// bias in the file the question is "any bias"; the ratio is the exact loss over the proved lower
/// bound (recomputed here from the printed exact values), and a dense ReLU at Elhage's size is
/// bracketed by the projection bound and the principal subspace's linear loss.
#[test]
fn loss_compare_places_the_users_w() {
    let f = weights_file(
        r#"{"W": [["1","1/2","-1/2","0","1/3"],["0","1/2","1/2","-1","1/4"]], "b": ["-1/10","-1/10","-1/10","-1/10","-1/10"]}"#,
    );
    let v = json_of(&[
        "loss",
        "--act",
        "rect",
        "--p",
        "1",
        "--density",
        "1/2",
        "--compare",
        "--json",
        "--weights",
        f.0.to_str().unwrap(),
    ]);
    let c = &v["compare"];
    assert_eq!(c["question"], "b=any I=equal");
    assert!(
        c["lower"]["by"].as_str().unwrap().starts_with("projection"),
        "{c}"
    );
    let r = |x: &serde_json::Value| {
        superbound::kernel::arith::parse_rational(x.as_str().unwrap()).unwrap()
    };
    let (loss, lower, upper) = (
        r(&v["loss"]),
        r(&c["lower"]["value"]),
        r(&c["upper"]["value"]),
    );
    assert!(lower < loss && lower <= upper);
    let ratio = superbound::kernel::arith::rational_to_f64(&(&loss / &lower));
    assert!((c["loss_over_lower"].as_f64().unwrap() - ratio).abs() < 1e-12 * ratio);
    assert_eq!(c["beats_best_known"], serde_json::json!(loss < upper));

    // Dense (20, 5), the principal subspace as a trained ReLU with b = 0 in the file.
    let (n, m) = (20usize, 5usize);
    let mut rows = vec![vec![1.0 / (n as f64).sqrt(); n]];
    for j in 1..m {
        let mut v = vec![0.0; n];
        let norm = ((j * (j + 1)) as f64).sqrt();
        v[..j].iter_mut().for_each(|x| *x = 1.0 / norm);
        v[j] = -(j as f64) / norm;
        rows.push(v);
    }
    let f = weights_file(&serde_json::json!({"W": rows, "b": vec![0.0; n]}).to_string());
    let out = bin()
        .args([
            "loss",
            "--act",
            "rect",
            "--p",
            "1",
            "--density",
            "1",
            "--compare",
        ])
        .args(["--samples", "20000", "--weights", f.0.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("where this W stands (b=any I=equal)"),
        "{text}"
    );
    assert!(
        text.contains("L* >= 0.52733758188  (by projection (20 features))"),
        "{text}"
    );
    assert!(
        text.contains("L* <= 1.25  (by principal-subspace"),
        "{text}"
    );
    assert!(text.contains("Monte Carlo estimate: 1.2"), "{text}");
}

/// Review findings (kernel review, this round), each a crafted file:
/// - a table row with `p = 2^32 + 2` matched the `p = 2` evidence (the column was cast to
///   32 bits) and was accepted: for an even power `L1 >= n (mu_2 - c_p)`, which at that `p` is
///   `0.99999999860` (Python fractions), far above the row's upper bound `1/6`;
/// - a 300-byte floor evidence (`p = 6`, `Beta(64, 64)`, target just below the floor) ran for
///   over 20 minutes;
/// - a witness of 40 entries of 1,000 digits at `p = 16` ran for hours.
///
/// Now: the row is refused, the floor proof stops at its scaled work limit within seconds, and
/// the witness is refused for its size, while a witness of `f64`-sized entries (`2^-1074`) is
/// still computed.
#[test]
fn crafted_rows_floors_and_witnesses_are_refused_quickly() {
    let dir = std::env::temp_dir().join(format!("superbound-wrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = timed()
        .args([
            "table", "--act", "power", "--p", "2", "--n", "3", "--m", "2",
        ])
        .args(["--density", "0", "--format", "csv", "--evidence"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("table.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    assert!(row.starts_with("power,2,3,2,"), "{row}");
    let honest = timed().arg("check").arg(&dir).output().unwrap();
    assert!(
        honest.status.success(),
        "{}",
        String::from_utf8_lossy(&honest.stderr)
    );
    let wrapped = row.replacen("power,2,", "power,4294967298,", 1);
    std::fs::write(dir.join("table.csv"), format!("{header}\n{wrapped}\n")).unwrap();
    for args in [
        vec![dir.clone()],
        vec![dir.join("table.csv"), "--evidence".into(), dir.clone()],
    ] {
        let out = timed().arg("check").args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} accepted a row about p = 2^32 + 2"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is not an integer in 1..=16"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    let floor = weights_file(
        r#"{"format":"superbound-evidence/1","activation":"rect","p":6,"values":"beta:64,64","n":1,"m":1,"bias":true,"importance":null,"lower":{"bound":"floor","e_lb":"15787/3125000000","value":"15787/3125000000"},"upper":{"W":[["0"]],"value":"65/258"},"certified":false}"#,
    );
    let start = std::time::Instant::now();
    let out = timed().arg("check").arg(&floor.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("work limit of 1020 boxes"));
    assert!(start.elapsed().as_secs() < 25, "{:?}", start.elapsed());

    let big: Vec<String> = (0..40)
        .map(|k| format!("1/{}{}", "7".repeat(999), k % 10))
        .collect();
    let witness = weights_file(
        &serde_json::json!({"activation": "power", "p": 16, "W": [big], "value": "0"}).to_string(),
    );
    let out = timed().arg("check").arg(&witness.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than 4096 bits"));
    let tiny = format!("3/{}", num_bigint::BigInt::from(2).pow(1074));
    let witness = weights_file(
        &serde_json::json!({"activation": "power", "p": 2, "W": [[tiny, "1/2"]], "value": "0"})
            .to_string(),
    );
    let out = timed().arg("check").arg(&witness.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("but the exact value is"));
}
