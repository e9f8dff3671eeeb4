//! The `superbound` command line. Each subcommand parses and checks its arguments, calls the
//! library, and renders plain text (exact rational with a decimal beside it) or `--json`.

use crate::bounds::{Best, Entry, Setting};
use crate::evaluate::{self, MonteCarlo};
use crate::kernel::arith::{Scalar, fmt_decimal, fmt_decimal_exact, fmt_exact};
use crate::kernel::error::{Error, Result};
use crate::kernel::model::{Activation, Density, Model, Values, Weights};
use clap::{Args, Parser, Subcommand};
use num_rational::BigRational;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

mod bounds;
mod certify;
mod check;
mod loss;
mod optimize;
mod plot;
mod search;
mod table;

use bounds::*;
use certify::*;
use check::*;
use loss::*;
pub use loss::{first_order_json, loss_json, loss_records};
use optimize::*;
use plot::*;
use search::*;
use table::*;

#[derive(Parser, Debug)]
#[command(
    name = "superbound",
    version,
    about = "Exact bounds on the loss of the toy autoencoder xhat = sigma(W^T W x)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The exact expected loss of a given W (rectified with more than 8 coupled features: an
    /// exact enclosure lo <= L <= hi, beside a Monte Carlo estimate).
    Loss(LossArgs),
    /// Every applicable lower and upper bound on the optimal loss, exact, with witnesses.
    Bounds(BoundsArgs),
    /// Minimise the loss (L-BFGS with restarts); report the exact loss of the W found.
    Optimize(OptimizeArgs),
    /// Solve the LP (Delsarte-type) lower bound, round it and verify it exactly.
    Certify(CertifyArgs),
    /// Re-verify a certificate file from scratch.
    Check(CheckArgs),
    /// A table of bound tightness over a grid of models and densities (the main job).
    Table(TableArgs),
    /// Draw an SVG: bounds against density, or (m = 2) the optimiser's columns as arrows.
    Plot(PlotArgs),
    /// Improve the store of best-known first-order witnesses (proofs/witnesses/): optimise each
    /// model and replace its stored W only by a strictly better one.
    Search(SearchArgs),
}

/// The model: activation, exponent and value distribution.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Activation: power (t^p) or rect (max(t,0)^p).
    #[arg(long, value_enum)]
    act: Activation,
    /// The exponent p >= 1.
    #[arg(long)]
    p: u32,
    /// Distribution of an active feature's value: uniform, one, or beta:A,B (integers).
    #[arg(long, default_value = "uniform")]
    values: String,
}

impl ModelArgs {
    pub fn model(&self) -> Result<Model> {
        let values: Values = self.values.parse().map_err(Error::input)?;
        Model::new(self.act, self.p, values)
    }
}

/// Importance weights `I_i` of the loss `sum_i I_i E (x_i - xhat_i)^2`.
#[derive(Args, Debug, Clone)]
pub struct ImportanceArgs {
    /// Importance weights: a comma-separated list of n rationals, or geometric:R for I_i = R^i
    /// (i = 0..n-1). Default: equal importance.
    #[arg(long)]
    importance: Option<String>,
}

impl ImportanceArgs {
    /// The parsed weights (`None`: equal importance).
    pub fn spec(&self) -> Result<Option<crate::bounds::ImportanceSpec>> {
        self.importance
            .as_deref()
            .map(crate::bounds::ImportanceSpec::parse)
            .transpose()
    }

    /// The weights for `n` features (`None`: equal importance).
    pub fn weights(&self, n: usize) -> Result<Option<Vec<BigRational>>> {
        self.spec()?.map(|s| s.weights(n)).transpose()
    }
}

/// The sizes: `n` features in `m` hidden dimensions.
#[derive(Args, Debug, Clone, Copy)]
pub struct SizeArgs {
    /// Number of features n >= 1.
    #[arg(long)]
    n: usize,
    /// Number of hidden dimensions m >= 1.
    #[arg(long)]
    m: usize,
}

impl Cli {
    /// Parses a command line (program name first) as the binary does; the error is clap's
    /// message (the Python module's `bounds`, `optimize` and `check` go through here).
    pub fn try_parse_args<I, T>(args: I) -> std::result::Result<Self, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::try_parse_from(args).map_err(|e| e.to_string())
    }
}

/// Runs the command line; returns the process exit code (0 success, 1 error, 2 usage).
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush())
            {
                Ok(()) => 0,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
                Err(e) => {
                    eprintln!(
                        "superbound: error: writing output: {}",
                        crate::kernel::model::one_line(&e.to_string())
                    );
                    1
                }
            }
        }
        Err(e) => {
            eprintln!(
                "superbound: error: {}",
                crate::kernel::model::one_line(&e.to_string())
            );
            1
        }
    }
}

/// Executes a parsed command and returns what it prints.
pub fn run(cli: Cli) -> Result<String> {
    match cli.command {
        Command::Loss(args) => loss_command(&args),
        Command::Bounds(args) => bounds_command(&args),
        Command::Optimize(args) => optimize_command(&args),
        Command::Certify(args) => certify_command(&args),
        Command::Check(args) => check_command(&args),
        Command::Table(args) => table_command(&args),
        Command::Plot(args) => plot_command(&args),
        Command::Search(args) => search_command(&args),
    }
}

/// Warns on stderr (one line; the command goes on) when a positive density given to `option`
/// as `text` rounds to 0 in `f64`: its exact values are right, but whatever runs in floating
/// point (tuning a witness's scale, the optimiser, Monte Carlo) sees `s = 0`.
fn warn_if_underflows(option: &str, text: &str, s: &BigRational) {
    if s.to_f64() == 0.0 {
        eprintln!(
            "superbound: warning: {option} {}: positive but below the smallest f64 (it rounds to \
             0): exact values use it exactly, but f64 tuning and optimisation see 0",
            crate::kernel::model::shown(text)
        );
    }
}

/// An exact value as `{"value": "a/b", "float": x}` parts.
pub fn exact_json(q: &BigRational) -> serde_json::Value {
    json!(fmt_exact(q))
}

/// `a/b  (≈ decimal)` for plain output.
pub fn exact_text(q: &BigRational) -> String {
    format!("{}  (≈ {})", fmt_exact(q), fmt_decimal_exact(q))
}

fn read_file(path: &std::path::Path) -> Result<String> {
    crate::kernel::model::read_text(path, 64 << 20)
}

/// The witness `W` as `m` rows of `"a/b"` strings.
fn witness_json(w: &Weights) -> serde_json::Value {
    let rows: Vec<Vec<String>> = (0..w.m())
        .map(|r| w.w.row(r).iter().map(fmt_exact).collect())
        .collect();
    json!(rows)
}

fn best_json(best: &Best) -> serde_json::Value {
    let side = |e: &Entry, with_witness: bool| {
        let mut o = serde_json::Map::new();
        o.insert("value".into(), exact_json(&e.value.value));
        o.insert("float".into(), json!(e.value.value.to_f64()));
        o.insert(
            "by".into(),
            json!(e.value.detail.clone().unwrap_or_else(|| e.name.to_string())),
        );
        if with_witness && let Some(w) = &e.value.witness {
            o.insert("witness".into(), witness_json(w));
        }
        serde_json::Value::Object(o)
    };
    json!({
        "lower": side(&best.lower, false),
        "upper": side(&best.upper, true),
        "ratio": best.ratio(),
        "certified": best.certified(),
        "ratio_exact": best.ratio_exact().map(|r| fmt_exact(&r)),
    })
}

fn entry_json(e: &Entry, at: &str) -> serde_json::Value {
    json!({
        "kind": e.side.name(),
        "name": e.name,
        "detail": e.value.detail,
        "value": fmt_exact(&e.value.value),
        "float": e.value.value.to_f64(),
        "at": at,
        "scope": crate::bounds::registry()
            .iter()
            .find(|b| b.name() == e.name)
            .map(|b| b.scope().describe()),
    })
}

fn ratio_text(best: &Best) -> String {
    match best.ratio() {
        Some(r) => format!("{r:.15}"),
        None => "infinite (lower bound 0)".into(),
    }
}
