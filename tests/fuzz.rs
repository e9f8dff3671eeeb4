//! A seeded fuzz harness over the binary: random weights files, certificate files and flag
//! combinations (small sizes), each run with a time limit. Every call must exit 0, 1 or 2, never
//! panic, finish in time, print one error line (warnings aside) when it fails, and print no
//! `inf`/`NaN` value when it succeeds.
//!
//! `cargo test --release --test fuzz` runs ~300 inputs; `-- --ignored` runs ~10^4. A failure
//! names the seed and the input, so it replays exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A call with no answer in this time counts as a hang. The slowest fuzz input takes about 3.5 s
/// alone on two cores; 10 s was exceeded once in CI with another job sharing the cores, so the
/// limit is 30 s (a real hang runs forever).
const TIMEOUT: Duration = Duration::from_secs(30);

fn pick<'a, T: ?Sized>(rng: &mut ChaCha8Rng, items: &[&'a T]) -> &'a T {
    items[rng.random_range(0..items.len())]
}

/// A number as JSON text: mostly small rationals, sometimes hostile.
fn number(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..20) {
        0..=5 => format!("{}", rng.random_range(-3i32..=3)),
        6..=8 => format!(
            "\"{}/{}\"",
            rng.random_range(-5i32..=5),
            rng.random_range(1..=7)
        ),
        9..=10 => format!("{:.3}", rng.random_range(-1.5f64..1.5)),
        11 => "\"1e4096\"".into(),
        12 => "\"1e-400\"".into(),
        13 => pick(rng, &["1e308", "-1e308", "1e-320", "1e400", "0.0", "-0"]).into(),
        14 => pick(rng, &["NaN", "Infinity", "-Infinity", "nan", "inf"]).into(),
        15 => pick(
            rng,
            &["\"abc\"", "null", "true", "[]", "{}", "\"\"", "\"1/0\""],
        )
        .into(),
        16 => format!("\"{}\"", "9".repeat(rng.random_range(10..6000))),
        17 => pick(
            rng,
            &["\"1e99999\"", "\"-3/-7\"", "\" 2 \"", "\"0x10\"", "\"1e\""],
        )
        .into(),
        _ => format!("\"{}/{}\"", rng.random_range(-100i64..=100), 1u64 << 50),
    }
}

fn array(rng: &mut ChaCha8Rng, len: usize) -> String {
    let items: Vec<String> = (0..len).map(|_| number(rng)).collect();
    format!("[{}]", items.join(","))
}

/// A weights file text: `{"W": m rows of n, "b"?, "importance"?}`, often broken.
fn weights_text(rng: &mut ChaCha8Rng, n: usize, m: usize) -> String {
    let mut rows: Vec<String> = (0..m)
        .map(|_| {
            if rng.random_bool(0.1) {
                // A zero row.
                format!("[{}]", vec!["0"; n].join(","))
            } else {
                let len = if rng.random_bool(0.08) { n + 1 } else { n };
                array(rng, len)
            }
        })
        .collect();
    if rng.random_bool(0.05) {
        rows.clear();
    }
    let mut fields = vec![format!("\"W\": [{}]", rows.join(","))];
    if rng.random_bool(0.2) {
        let len = if rng.random_bool(0.8) { n } else { n + 1 };
        fields.push(format!("\"b\": {}", array(rng, len)));
    }
    if rng.random_bool(0.2) {
        let len = if rng.random_bool(0.8) {
            n
        } else {
            n.saturating_sub(1)
        };
        let imp = if rng.random_bool(0.3) {
            format!("[{}]", vec!["-1"; len].join(","))
        } else {
            array(rng, len)
        };
        fields.push(format!("\"importance\": {imp}"));
    }
    if rng.random_bool(0.05) {
        fields.push("\"extra\": 1".into());
    }
    if rng.random_bool(0.05) {
        fields.push("\"W\": [[1]]".into());
    }
    let mut text = format!("{{{}}}", fields.join(", "));
    mangle(rng, &mut text);
    text
}

/// Sometimes: a byte-order mark, truncation, or garbage.
fn mangle(rng: &mut ChaCha8Rng, text: &mut String) {
    match rng.random_range(0..25) {
        0 => text.insert(0, '\u{feff}'),
        1 if text.len() > 2 => {
            let cut = rng.random_range(1..text.len());
            let cut = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap();
            text.truncate(cut);
        }
        2 => *text = pick(rng, &["", "null", "[]", "not json", "{\"W\": 5}", "\u{0}"]).into(),
        _ => {}
    }
}

/// A certificate file text for `check`.
fn certificate_text(rng: &mut ChaCha8Rng) -> String {
    let degree = rng.random_range(0..=14usize);
    let len = if rng.random_bool(0.85) {
        degree + 1
    } else {
        rng.random_range(0..20)
    };
    let coeffs: Vec<String> = (0..len)
        .map(|_| match rng.random_range(0..6) {
            0 => "\"0\"".into(),
            1 => format!("\"{}/{}\"", rng.random_range(0..5), rng.random_range(1..9)),
            _ => number(rng),
        })
        .collect();
    let act = pick(rng, &["\"power\"", "\"rect\"", "\"tanh\"", "1"]);
    let values = pick(
        rng,
        &[
            "\"uniform\"",
            "\"one\"",
            "\"beta:2,3\"",
            "\"beta:0,1\"",
            "7",
        ],
    );
    let int = |rng: &mut ChaCha8Rng| -> String {
        match rng.random_range(0..10) {
            0 => pick(rng, &["0", "-1", "99999999999", "1.5", "\"3\"", "1e3"]).into(),
            _ => rng.random_range(1..=8).to_string(),
        }
    };
    let (p, n, m) = (int(rng), int(rng), int(rng));
    let lower = number(rng);
    let mut fields = vec![
        format!("\"activation\":{act}"),
        format!("\"p\":{p}"),
        format!("\"n\":{n}"),
        format!("\"m\":{m}"),
        format!("\"values\":{values}"),
        format!("\"degree\":{degree}"),
        format!("\"coefficients\":[{}]", coeffs.join(",")),
        format!("\"lower\":{lower}"),
    ];
    if rng.random_bool(0.1) {
        let k = rng.random_range(0..fields.len());
        fields.remove(k);
    }
    let mut text = format!("{{{}}}", fields.join(","));
    mangle(rng, &mut text);
    text
}

fn density(rng: &mut ChaCha8Rng) -> String {
    pick(
        rng,
        &[
            "1/2", "0.1", "1e-2", "1/100", "1", "3/4", "0", "2", "-1/2", "1e-400", "1e-300", "abc",
            "", "1/0", "nan", "inf", "0.999", " 1/3 ",
        ],
    )
    .to_string()
}

fn model_flags(rng: &mut ChaCha8Rng, args: &mut Vec<String>) {
    let act = pick(rng, &["power", "rect", "rect", "power", "relu"]);
    let p = pick(rng, &["1", "2", "3", "1", "2", "0", "17"]);
    args.extend(["--act".into(), act.into(), "--p".into(), p.into()]);
    if rng.random_bool(0.5) {
        let v = pick(
            rng,
            &[
                "uniform", "one", "beta:2,3", "beta:1,1", "beta:3,2", "beta:0,2", "x",
            ],
        );
        args.extend(["--values".into(), v.into()]);
    }
}

fn size_flags(rng: &mut ChaCha8Rng, args: &mut Vec<String>) {
    let n = if rng.random_bool(0.05) {
        0
    } else {
        rng.random_range(1..=6)
    };
    let m = if rng.random_bool(0.05) {
        0
    } else {
        rng.random_range(1..=3)
    };
    args.extend(["--n".into(), n.to_string(), "--m".into(), m.to_string()]);
}

/// One random call: its arguments (files written under `dir`).
fn random_call(rng: &mut ChaCha8Rng, dir: &Path, k: usize) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    match rng.random_range(0..12) {
        0..=3 => {
            args.push("loss".into());
            model_flags(rng, &mut args);
            match rng.random_range(0..10) {
                0 => args.extend(["--sparsity".into(), density(rng)]),
                1 => {}
                _ => args.extend(["--density".into(), density(rng)]),
            }
            let (n, m) = (rng.random_range(1..=6), rng.random_range(1..=3));
            let path = dir.join(format!("w{k}.json"));
            std::fs::write(&path, weights_text(rng, n, m)).unwrap();
            args.extend(["--weights".into(), path.display().to_string()]);
            args.extend(["--samples".into(), "2000".into()]);
            if rng.random_bool(0.1) {
                args.push("--monte-carlo".into());
            }
        }
        4..=5 => {
            args.push("bounds".into());
            model_flags(rng, &mut args);
            size_flags(rng, &mut args);
            if rng.random_bool(0.6) {
                args.extend(["--density".into(), density(rng)]);
            }
        }
        6..=7 => {
            args.push("optimize".into());
            model_flags(rng, &mut args);
            size_flags(rng, &mut args);
            if rng.random_bool(0.5) {
                args.push("--first-order".into());
            } else {
                args.extend(["--density".into(), density(rng)]);
            }
            let restarts = rng.random_range(1..=4).to_string();
            args.extend(["--restarts".into(), restarts]);
            if rng.random_bool(0.15) {
                args.push("--bias".into());
            }
            if rng.random_bool(0.15) {
                args.extend([
                    "--method".into(),
                    "adam".into(),
                    "--steps".into(),
                    "200".into(),
                ]);
            }
            if rng.random_bool(0.1) {
                let path = dir.join(format!("save{k}.json"));
                args.extend(["--save".into(), path.display().to_string()]);
            }
        }
        8 => {
            args.push("certify".into());
            model_flags(rng, &mut args);
            size_flags(rng, &mut args);
            if rng.random_bool(0.3) {
                let d = pick(rng, &["0", "1", "4", "12", "30", "-1"]);
                args.extend(["--degree".into(), d.into()]);
            }
            if rng.random_bool(0.3) {
                args.push("--spectral".into());
            }
        }
        9..=10 => {
            args.push("check".into());
            let path = dir.join(format!("c{k}.json"));
            std::fs::write(&path, certificate_text(rng)).unwrap();
            args.push(path.display().to_string());
        }
        _ => {
            args.push("table".into());
            let act = pick(rng, &["power", "rect", "power,rect", "tanh"]);
            let p = pick(rng, &["1", "1,2", "1..3", "0", "3..1", "x"]);
            let n = pick(rng, &["2", "2..4", "3,5", "0", "6"]);
            let m = pick(rng, &["2", "1", "2,3", "0"]);
            let d = format!("0,{}", density(rng));
            args.extend(["--act", act, "--p", p, "--n", n, "--m", m].map(String::from));
            args.extend(["--density".into(), d]);
            let f = pick(rng, &["md", "csv", "latex", "json", "xml"]);
            args.extend(["--format".into(), f.into()]);
        }
    }
    if matches!(args[0].as_str(), "loss" | "bounds" | "optimize" | "certify")
        && rng.random_bool(0.4)
    {
        args.push("--json".into());
    }
    args
}

/// Whether `text` has `inf`, `NaN` and the like as a token (words such as `info` are fine).
fn non_finite_token(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || ",:\"[](){}=|;".contains(c))
        .find(|t| {
            let t = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
            t == "inf" || t == "nan" || t == "infinity"
        })
        .map(String::from)
}

/// Runs one call and returns what is wrong with it, if anything.
fn check_call(args: &[String], dir: &Path, k: usize) -> Result<(), String> {
    let (out_path, err_path) = (dir.join(format!("out{k}")), dir.join(format!("err{k}")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_superbound"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no answer within {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&std::fs::read(&out_path).unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    let code = status.code();
    if !matches!(code, Some(0..=2)) {
        return Err(format!("exit {status:?}; stderr {stderr:?}"));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        return Err(format!("panic: {stderr:?}"));
    }
    if code == Some(0)
        && let Some(t) = non_finite_token(&stdout)
    {
        return Err(format!("printed the value {t:?}: {stdout:?}"));
    }
    if code == Some(1) {
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("superbound: warning:"))
            .collect();
        if errors.len() != 1 || !errors[0].starts_with("superbound: error: ") {
            return Err(format!("not one error line: {stderr:?}"));
        }
        if !stdout.is_empty() && args[0] != "table" {
            return Err(format!("failed but printed {stdout:?}"));
        }
    }
    Ok(())
}

/// Runs `count` calls from `seed` and fails naming every bad one.
fn campaign(seed: u64, count: usize) {
    let dir = std::env::temp_dir().join(format!("superbound-fuzz-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let calls: Vec<(usize, Vec<String>)> = (0..count)
        .map(|k| (k, random_call(&mut rng, &dir, k)))
        .collect();
    // Two workers: the machine's cores are shared.
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((k, args)) = calls.get(i) else { break };
                    if let Err(why) = check_call(args, &dir, *k) {
                        let input = input_files(args);
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("input {k} {args:?}{input}: {why}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "fuzz seed {seed}: {count} calls in {:?}, {} failures",
        started.elapsed(),
        failures.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The text of the input files among `args` (for replaying a failure).
fn input_files(args: &[String]) -> String {
    args.iter()
        .filter(|a| a.ends_with(".json") && !a.contains("save"))
        .filter_map(|a| std::fs::read_to_string(PathBuf::from(a)).ok())
        .map(|t| format!(" file {:?}", t.chars().take(300).collect::<String>()))
        .collect()
}

#[test]
fn fuzz_300_inputs() {
    campaign(1, 300);
}

#[test]
#[ignore = "about 10^4 inputs: minutes; run with --ignored"]
fn fuzz_10000_inputs() {
    campaign(2, 10_000);
}
