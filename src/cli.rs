//! The `superbound` command line. Each subcommand parses and checks its arguments, calls the
//! library, and renders plain text (exact rational with a decimal beside it) or `--json`.

use crate::arith::{Scalar, fmt_decimal, fmt_exact};
use crate::error::{Error, Result};
use crate::loss::{self, MonteCarlo};
use crate::model::{Activation, Density, Model, Values, Weights};
use clap::{Args, Parser, Subcommand};
use num_rational::BigRational;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

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
    /// The exact expected loss of a given W (rectified with n > 8: a Monte Carlo estimate).
    Loss(LossArgs),
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

#[derive(Args, Debug)]
struct LossArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Feature density s in (0, 1], exact: 1/100, 0.01 or 1e-2.
    #[arg(long, allow_hyphen_values = true)]
    density: Option<String>,
    /// Sparsity S in [0, 1): the density is s = 1 - S.
    #[arg(long, allow_hyphen_values = true)]
    sparsity: Option<String>,
    /// JSON file {"W": [[n entries] x m rows], "b": [n]?, "importance": [n]?}; entries are
    /// numbers or rational strings such as "-3/7".
    #[arg(long)]
    weights: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Monte Carlo samples (rectified with n > 8, or with --monte-carlo).
    #[arg(long, default_value_t = 200_000)]
    samples: usize,
    /// Seed of the Monte Carlo estimate.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also estimate by Monte Carlo where the exact value is known (a cross-check).
    #[arg(long)]
    monte_carlo: bool,
}

/// Largest Monte Carlo sample count accepted.
const MAX_SAMPLES: usize = 100_000_000;

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
            match stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush()) {
                Ok(()) => 0,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
                Err(e) => {
                    eprintln!("superbound: error: writing output: {e}");
                    1
                }
            }
        }
        Err(e) => {
            eprintln!("superbound: error: {e}");
            1
        }
    }
}

/// Executes a parsed command and returns what it prints.
pub fn run(cli: Cli) -> Result<String> {
    match cli.command {
        Command::Loss(args) => loss_command(&args),
    }
}

/// An exact value as `{"value": "a/b", "float": x}` parts.
pub fn exact_json(q: &BigRational) -> serde_json::Value {
    json!(fmt_exact(q))
}

/// `a/b  (≈ decimal)` for plain output.
pub fn exact_text(q: &BigRational) -> String {
    format!("{}  (≈ {})", fmt_exact(q), fmt_decimal(q.to_f64()))
}

fn read_file(path: &PathBuf) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    const MAX_BYTES: u64 = 64 << 20;
    if meta.len() > MAX_BYTES {
        return Err(Error::too_large(format!(
            "{}: {} bytes; files up to {MAX_BYTES} bytes are read",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path.display().to_string(), e))
}

fn loss_command(args: &LossArgs) -> Result<String> {
    let model = args.model.model()?;
    let density = Density::parse(args.density.as_deref(), args.sparsity.as_deref())?;
    if args.samples > MAX_SAMPLES {
        return Err(Error::too_large(format!(
            "--samples {} is above the limit {MAX_SAMPLES}",
            args.samples
        )));
    }
    let text = read_file(&args.weights)?;
    let weights = Weights::from_json(&text)
        .map_err(|e| Error::input(format!("{}: {e}", args.weights.display())))?;
    let s = &density.0;
    let report = loss::evaluate(
        &model,
        &weights,
        s,
        MonteCarlo {
            samples: args.samples,
            seed: args.seed,
            always: args.monte_carlo,
        },
    )?;
    let (n, m) = (weights.n(), weights.m());
    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert("activation".into(), json!(model.act.name()));
        obj.insert("p".into(), json!(model.p));
        obj.insert("values".into(), json!(model.values.to_string()));
        obj.insert("n".into(), json!(n));
        obj.insert("m".into(), json!(m));
        obj.insert("density".into(), exact_json(s));
        if let Some(l) = &report.exact {
            obj.insert("loss".into(), exact_json(l));
            obj.insert("float".into(), json!(l.to_f64()));
        }
        if let Some(poly) = &report.polynomial {
            let deg = poly.0.len().saturating_sub(1).max(1);
            let coeffs: Vec<_> = (1..=deg).map(|k| exact_json(&poly.coeff(k))).collect();
            obj.insert("density_polynomial".into(), json!(coeffs));
            obj.insert("constant_term".into(), exact_json(&poly.coeff(0)));
        }
        obj.insert("first_order".into(), exact_json(&report.first_order));
        obj.insert("first_order_float".into(), json!(report.first_order.to_f64()));
        if let Some(est) = &report.estimate {
            obj.insert("loss_estimate".into(), json!(est.mean));
            obj.insert("std_error".into(), json!(est.std_error));
            obj.insert("samples".into(), json!(est.samples));
            obj.insert("seed".into(), json!(est.seed));
        }
        return Ok(format!("{}\n", serde_json::Value::Object(obj)));
    }
    let mut out = format!(
        "model: {model}; n = {n} features, m = {m} hidden dimensions{}{}\ndensity s = {}\n",
        if weights.bias.is_some() { ", with bias" } else { "" },
        if weights.importance.is_some() { ", with importance weights" } else { "" },
        exact_text(s),
    );
    if let Some(l) = &report.exact {
        out += &format!("loss L(W; s) = {}\n", exact_text(l));
    }
    if let Some(est) = &report.estimate {
        out += &format!(
            "loss estimate (Monte Carlo, {} samples, seed {}) = {} ± {} (standard error)\n",
            est.samples,
            est.seed,
            fmt_decimal(est.mean),
            fmt_decimal(est.std_error)
        );
    }
    out += &format!("first order L1(W) = {}\n", exact_text(&report.first_order));
    if let Some(poly) = &report.polynomial {
        out += "density polynomial L(W; s) = sum_k c_k s^k:\n";
        for (k, c) in poly.0.iter().enumerate() {
            if k == 0 && num_traits::Zero::is_zero(c) {
                continue;
            }
            out += &format!("  s^{k}: {}\n", exact_text(c));
        }
    }
    Ok(out)
}
