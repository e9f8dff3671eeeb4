//! `superbound check`: re-verify evidence from the files alone, with the kernel.

use super::*;
use crate::kernel::certificate::{Certificate, verify};
use crate::kernel::evidence::{EVIDENCE_FORMAT, VerifiedRow, verify_row, verify_witness};
use crate::report::table::{Row, Spec, parse_rows};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A certificate (`certify [--spectral] --save`), a witness file (`{"W", ..., "value"}`), one row's
    /// evidence, a directory written by `table --evidence DIR`, or a table CSV (with --evidence).
    file: PathBuf,
    /// The evidence directory of a table CSV given as FILE.
    #[arg(long)]
    evidence: Option<PathBuf>,
}

pub fn check_command(args: &CheckArgs) -> Result<String> {
    let path = &args.file;
    if path.is_dir() {
        if args.evidence.is_some() {
            return Err(Error::input(
                "--evidence is for a table CSV; a directory is checked by itself",
            ));
        }
        return check_directory(path);
    }
    if let Some(dir) = &args.evidence {
        let text = read_file(path)?;
        let rows = parse_rows(&text, &path.display().to_string())?;
        let (report, failures) = check_table(&rows, dir, &path.display().to_string());
        return finish(report, failures);
    }
    let text = read_file(path)?;
    let shown = path.display();
    // Strict from the start: a byte-order mark is skipped, a repeated key refused.
    let v = crate::kernel::model::parse_json_strict(&text, &shown.to_string())?;
    if v.get("format").and_then(|f| f.as_str()) == Some(EVIDENCE_FORMAT) {
        let row = with_spinner("verifying the row's evidence exactly", || verify_row(&text))
            .map_err(|e| Error::input(format!("{shown}: refused: {e}")))?;
        return Ok(format!("{shown}: verified: {}\n", describe(&row)));
    }
    if v.get("W").is_some() {
        let (lo, hi) = with_spinner("computing the witness's exact loss", || {
            verify_witness(&text)
        })
        .map_err(|e| Error::input(format!("{shown}: refused: {e}")))?;
        if lo == hi {
            return Ok(format!(
                "{shown}: verified: the witness's exact value is {}\n",
                exact_text(&lo)
            ));
        }
        return Ok(format!(
            "{shown}: verified: the claimed enclosure contains the kernel's [{}, {}]\n",
            exact_text(&lo),
            exact_text(&hi)
        ));
    }
    if v.get("pieces").is_some() {
        use crate::kernel::spectral::{SpectralCertificate, verify as verify_spectral};
        let strict = crate::kernel::model::parse_json_strict(&text, "certificate")
            .map_err(|e| Error::input(format!("{shown}: {e}")))?;
        let cert = SpectralCertificate::from_json(&strict)
            .map_err(|e| Error::input(format!("{shown}: {e}")))?;
        let bound =
            verify_spectral(&cert).map_err(|e| Error::input(format!("{shown}: refused: {e}")))?;
        return Ok(format!(
            "{shown}: verified: spectral certificate, {} n = {}, m = {}: L1 >= {}\n",
            cert.setting.model,
            cert.setting.n,
            cert.setting.m,
            exact_text(&bound)
        ));
    }
    let cert = Certificate::from_json(&text).map_err(|e| Error::input(format!("{shown}: {e}")))?;
    let bound = verify(&cert).map_err(|e| Error::input(format!("{shown}: refused: {e}")))?;
    Ok(format!(
        "{shown}: verified: {} n = {}, m = {}: L1 >= {}\n",
        cert.setting.model,
        cert.setting.n,
        cert.setting.m,
        exact_text(&bound)
    ))
}

/// Runs `work` (the kernel's exact check) and, when it takes longer than a second, shows a
/// spinner with the elapsed time on stderr (drawn only on a terminal). The exact loss of a
/// witness whose entries have long denominators can take minutes (a 100 x 10 `W` with distinct
/// 31-digit denominators: about 70 s at `p = 4`); the check has no limit, because the user asked
/// for that value, but it shows that it is working.
fn with_spinner<T: Send>(what: &str, work: impl FnOnce() -> T + Send) -> T {
    use std::time::Duration;
    std::thread::scope(|scope| {
        let handle = scope.spawn(work);
        let start = std::time::Instant::now();
        let mut bar: Option<indicatif::ProgressBar> = None;
        while !handle.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
            if bar.is_none() && start.elapsed() > Duration::from_secs(1) {
                let b = indicatif::ProgressBar::new_spinner();
                if let Ok(style) =
                    indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                {
                    b.set_style(style);
                }
                b.set_message(what.to_string());
                b.enable_steady_tick(Duration::from_millis(100));
                bar = Some(b);
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn describe(r: &VerifiedRow) -> String {
    format!(
        "{} n = {}, m = {}, {}, {}: {} <= L* <= {}{}",
        r.setting.model,
        r.setting.n,
        r.setting.m,
        r.density
            .as_ref()
            .map_or("first order".to_string(), |s| format!("s = {s}")),
        crate::report::table::question_text(r.bias, r.importance.as_deref()),
        fmt_decimal_exact(&r.lower),
        fmt_decimal_exact(&r.upper),
        if r.exact {
            " (exact)"
        } else if r.certified {
            " (certified to 1e-9)"
        } else {
            ""
        }
    )
}

fn finish(report: String, failures: Vec<String>) -> Result<String> {
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(Error::input(format!(
            "{} failed: {}",
            failures.len(),
            failures.join("; ")
        )))
    }
}

/// Every row evidence file in `dir` is verified; every table CSV in it is compared with them.
fn check_directory(dir: &std::path::Path) -> Result<String> {
    let io = |e| Error::io(dir.display().to_string(), e);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(io)?;
    files.sort();
    let (mut verified, mut failures, mut report) = (0, Vec::new(), String::new());
    let mut tables = Vec::new();
    for f in &files {
        match f.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                let name = f
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                match read_file(f)
                    .map_err(|e| e.to_string())
                    .and_then(|t| verify_row(&t))
                {
                    Ok(_) => verified += 1,
                    Err(e) => failures.push(format!("{name}: {e}")),
                }
            }
            Some("csv") => tables.push(f.clone()),
            _ => {}
        }
    }
    if verified == 0 && failures.is_empty() {
        return Err(Error::input(format!(
            "{}: no evidence files (*.json) to check",
            dir.display()
        )));
    }
    report += &format!(
        "{}: {verified} row evidence files verified by the kernel\n",
        dir.display()
    );
    for t in tables {
        let text = read_file(&t)?;
        let shown = t.display().to_string();
        let rows = parse_rows(&text, &shown)?;
        let (r, f) = check_table(&rows, dir, &shown);
        report += &r;
        failures.extend(f);
    }
    finish(report, failures)
}

/// Each row of a table against its evidence file: the evidence verifies, and the row's exact
/// values, decimals, ratio, `kappa` and `certified` are the ones the kernel derives. (The
/// crossover column, a Sturm bracket of a construction's loss polynomial, is not part of the
/// evidence.)
fn check_table(rows: &[Row], dir: &std::path::Path, shown: &str) -> (String, Vec<String>) {
    let mut failures = Vec::new();
    for row in rows {
        if let Err(e) = check_row(row, dir) {
            failures.push(format!("{shown}: row {}: {e}", row.key()));
        }
    }
    (
        format!(
            "{shown}: {} of {} rows match their verified evidence (the crossover column is not re-verified)\n",
            rows.len() - failures.len(),
            rows.len()
        ),
        failures,
    )
}

fn check_row(row: &Row, dir: &std::path::Path) -> std::result::Result<(), String> {
    use crate::kernel::arith::parse_rational;
    let act = match row.get("activation") {
        "power" => Activation::Power,
        "rect" => Activation::Rect,
        other => return Err(format!("unknown activation {other:?}")),
    };
    let num = |c: &str| -> std::result::Result<usize, String> {
        row.get(c)
            .parse()
            .map_err(|_| format!("{c} is not a number"))
    };
    let density = parse_rational(row.get("density"))?;
    let spec = Spec {
        act,
        // Parsed as the exact u32 it must be: a cast would wrap `2^32 + 2` to `2` and let a row
        // about another model borrow p = 2's evidence.
        p: row
            .get("p")
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=crate::kernel::model::MAX_P).contains(p))
            .ok_or_else(|| {
                format!(
                    "p {:?} is not an integer in 1..={}",
                    crate::kernel::model::shown(row.get("p")),
                    crate::kernel::model::MAX_P
                )
            })?,
        n: num("n")?,
        m: num("m")?,
        values: row.get("values").parse()?,
        bias: false,
        importance: None,
        density: (!num_traits::Zero::is_zero(&density)).then_some(density.clone()),
    };
    let path = dir.join(spec.evidence_name());
    let text = crate::kernel::model::read_text(&path, 64 << 20)
        .map_err(|e| format!("no evidence: {e}"))?;
    let v = verify_row(&text)?;
    let ok_setting = v.setting.model.act == act
        && v.setting.model.p == spec.p
        && v.setting.n == spec.n
        && v.setting.m == spec.m
        && v.setting.model.values == spec.values
        && v.density == spec.density;
    if !ok_setting {
        return Err("the evidence is about another model, size or density".into());
    }
    // The question (bias, importance) the evidence proves must be the row's.
    let proved = crate::report::table::question_text(v.bias, v.importance.as_deref());
    if proved != row.get("question") {
        return Err(format!(
            "the evidence answers the question {proved:?}, the row asks {:?}",
            row.get("question")
        ));
    }
    let (lower, upper) = (
        parse_rational(row.get("lower"))?,
        parse_rational(row.get("upper"))?,
    );
    if lower != v.lower {
        return Err(format!("lower {lower} is not the verified {}", v.lower));
    }
    if upper != v.upper {
        return Err(format!("upper {upper} is not the verified {}", v.upper));
    }
    let ratio = if v.lower == v.upper {
        format!("{:.12}", 1.0)
    } else if num_traits::Zero::is_zero(&v.lower) {
        "infinite".to_string()
    } else {
        format!("{:.12}", (&v.upper / &v.lower).to_f64())
    };
    let expected = [
        ("lower_float", fmt_decimal_exact(&v.lower)),
        ("upper_float", fmt_decimal_exact(&v.upper)),
        ("ratio", ratio),
        (
            "kappa",
            crate::kernel::gegenbauer::kappa(spec.m, spec.p).to_string(),
        ),
        ("certified", v.certified.to_string()),
    ];
    for (col, want) in expected {
        if row.get(col) != want {
            return Err(format!(
                "{col} is {:?}, the kernel gives {want:?}",
                row.get(col)
            ));
        }
    }
    Ok(())
}
