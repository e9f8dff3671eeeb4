//! The `superbound` command line. Each subcommand parses and checks its arguments, calls the
//! library, and renders plain text (exact rational with a decimal beside it) or `--json`.

use crate::arith::{Scalar, fmt_decimal, fmt_exact};
use crate::bounds::{self, Best, Entry, Setting};
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
    /// The exact expected loss of a given W (rectified with more than 8 coupled features: a
    /// Monte Carlo estimate).
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
}

#[derive(Args, Debug)]
struct PlotArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// bounds: lower/upper bounds and the optimiser against density; arrows: W's columns (m = 2).
    #[arg(long, default_value = "bounds")]
    kind: String,
    /// Smallest and largest density of the bounds plot.
    #[arg(long, default_value = "1e-4")]
    from: String,
    #[arg(long, default_value = "1")]
    to: String,
    /// Number of densities (log-spaced).
    #[arg(long, default_value_t = 13)]
    points: usize,
    /// Leave out the optimiser (faster).
    #[arg(long)]
    no_optimize: bool,
    /// The SVG file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct TableArgs {
    /// Activations, comma-separated.
    #[arg(long, default_value = "power,rect")]
    act: String,
    /// Exponents: a list 1,2,3 or a range 1..3.
    #[arg(long, default_value = "1,2,3")]
    p: String,
    /// Features: a list or a range such as 2..12.
    #[arg(long, default_value = "2..6")]
    n: String,
    /// Hidden dimensions: a list or a range.
    #[arg(long, default_value = "2,3")]
    m: String,
    /// Densities, comma-separated; 0 means first order (s -> 0).
    #[arg(long, default_value = "0,1/100", allow_hyphen_values = true)]
    density: String,
    /// Distribution of an active feature's value: uniform, one, or beta:A,B.
    #[arg(long, default_value = "uniform")]
    values: String,
    /// Add the optimiser's exact value as an upper bound (slower).
    #[arg(long)]
    optimize: bool,
    /// Output format: md, csv, latex or json.
    #[arg(long, default_value = "md")]
    format: String,
    /// Store file (CSV): finished rows are appended at once; a rerun skips them.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Compute only the K-th of N deterministic slices, e.g. 2/3.
    #[arg(long)]
    shard: Option<String>,
}

#[derive(Args, Debug)]
struct CertifyArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// Degree of the LP polynomial (default max(12, 2p)).
    #[arg(long)]
    degree: Option<usize>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the certificate file.
    #[arg(long)]
    save: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// A certificate file written by `certify --save`.
    file: PathBuf,
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
    /// Monte Carlo samples (rectified beyond the exact route, or with --monte-carlo).
    #[arg(long, default_value_t = 200_000)]
    samples: usize,
    /// Seed of the Monte Carlo estimate.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also estimate by Monte Carlo where the exact value is known (a cross-check).
    #[arg(long)]
    monte_carlo: bool,
}

#[derive(Args, Debug)]
struct BoundsArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// Also bound the loss at this density s in (0, 1] (exact: 1/100, 0.01, 1e-2).
    #[arg(long, allow_hyphen_values = true)]
    density: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct OptimizeArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// Minimise the first-order coefficient L1 (the s -> 0 limit).
    #[arg(long, conflicts_with = "density")]
    first_order: bool,
    /// Minimise the loss at this density s in (0, 1].
    #[arg(long, allow_hyphen_values = true)]
    density: Option<String>,
    /// Random restarts (the constructions are always added as starts).
    #[arg(long, default_value_t = 16)]
    restarts: usize,
    /// Seed: restart k uses the stream k of ChaCha8 seeded with it.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train a bias b (power activation at a density; with --method adam, either activation).
    #[arg(long)]
    bias: bool,
    /// lbfgs: exact expectations; adam: the literature's baseline (sampled batches of 1024,
    /// learning rate 1e-3; at first order, Adam on the exact L1 gradient).
    #[arg(long, value_enum, default_value = "lbfgs")]
    method: crate::optimise::Method,
    /// Adam steps per restart.
    #[arg(long, default_value_t = 10_000)]
    steps: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the W found (exact, as the weights file `loss --weights` reads).
    #[arg(long)]
    save: Option<PathBuf>,
}

/// Largest number of restarts accepted.
const MAX_RESTARTS: usize = 10_000;

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
            match stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush())
            {
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
        Command::Bounds(args) => bounds_command(&args),
        Command::Optimize(args) => optimize_command(&args),
        Command::Certify(args) => certify_command(&args),
        Command::Check(args) => check_command(&args),
        Command::Table(args) => table_command(&args),
        Command::Plot(args) => plot_command(&args),
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
        obj.insert(
            "first_order_float".into(),
            json!(report.first_order.to_f64()),
        );
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
        if weights.bias.is_some() {
            ", with bias"
        } else {
            ""
        },
        if weights.importance.is_some() {
            ", with importance weights"
        } else {
            ""
        },
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
    })
}

fn ratio_text(best: &Best) -> String {
    match best.ratio() {
        Some(r) => format!("{r:.15}"),
        None => "infinite (lower bound 0)".into(),
    }
}

fn bounds_command(args: &BoundsArgs) -> Result<String> {
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    let density = args
        .density
        .as_deref()
        .map(|d| Density::parse(Some(d), None))
        .transpose()?;
    let first = bounds::first_order_entries(&st);
    let best_first = bounds::best_of(&first)?;
    let dens = density.as_ref().map(|d| {
        let entries = bounds::density_entries(&st, &d.0);
        bounds::best_of(&entries).map(|b| (entries, b))
    });
    let dens = dens.transpose()?;
    let cross = bounds::crossover(&st, &first);
    let c_p = bounds::c_p(&model);
    let kap = crate::gegenbauer::kappa(st.m, model.p);
    if args.json {
        let mut all: Vec<_> = first.iter().map(|e| entry_json(e, "first_order")).collect();
        let mut obj = serde_json::Map::new();
        obj.insert("activation".into(), json!(model.act.name()));
        obj.insert("p".into(), json!(model.p));
        obj.insert("n".into(), json!(st.n));
        obj.insert("m".into(), json!(st.m));
        obj.insert("values".into(), json!(model.values.to_string()));
        obj.insert(
            "constants".into(),
            json!({"c_p": fmt_exact(&c_p), "alpha": fmt_exact(&crate::gegenbauer::alpha(st.m, model.p)), "kappa": fmt_exact(&kap)}),
        );
        obj.insert("first_order".into(), best_json(&best_first));
        if let (Some(d), Some((entries, best))) = (&density, &dens) {
            let mut b = best_json(best);
            b["density"] = exact_json(&d.0);
            obj.insert("at_density".into(), b);
            all.extend(entries.iter().map(|e| entry_json(e, &fmt_exact(&d.0))));
        }
        obj.insert("all".into(), json!(all));
        obj.insert(
            "crossover".into(),
            match &cross {
                None => serde_json::Value::Null,
                Some(c) => json!({
                    "by": c.by,
                    "orthogonal_first_order": fmt_exact(&c.orthogonal),
                    "construction_first_order": fmt_exact(&c.construction),
                    "bracket": c.bracket.as_ref().map(|(lo, hi)| vec![fmt_exact(lo), fmt_exact(hi)]),
                    "float": c.bracket.as_ref().map(|(lo, hi)| (lo.to_f64() + hi.to_f64()) / 2.0),
                }),
            },
        );
        return Ok(format!("{}\n", serde_json::Value::Object(obj)));
    }
    let mut out = format!(
        "model: {model}; n = {} features, m = {} hidden dimensions\nc_p = {}   kappa_{{m,p}} = {}\n\nfirst order (L1* = lim L*(s)/s):\n",
        st.n,
        st.m,
        exact_text(&c_p),
        exact_text(&kap)
    );
    // Exact values of rounded witnesses run to hundreds of digits: abbreviated here, whole in --json.
    let short = |x: &BigRational| -> String {
        let t = fmt_exact(x);
        if t.len() <= 40 {
            t
        } else {
            format!("(exact: {} digits, see --json)", t.len())
        }
    };
    let short_text = |x: &BigRational| format!("{}  (≈ {})", short(x), fmt_decimal(x.to_f64()));
    let table = |entries: &[Entry]| -> String {
        let mut t = String::new();
        for e in entries {
            let name = e.value.detail.clone().unwrap_or_else(|| e.name.to_string());
            t += &format!(
                "  {:5}  {:34}  {:>20}  {}\n",
                e.side.name(),
                name,
                fmt_decimal(e.value.value.to_f64()),
                short(&e.value.value)
            );
        }
        t
    };
    let summary = |best: &Best| -> String {
        format!(
            "  best lower: {} by {}\n  best upper: {} by {}\n  ratio upper/lower: {}{}\n",
            short_text(&best.lower.value.value),
            best.lower
                .value
                .detail
                .clone()
                .unwrap_or_else(|| best.lower.name.to_string()),
            short_text(&best.upper.value.value),
            best.upper
                .value
                .detail
                .clone()
                .unwrap_or_else(|| best.upper.name.to_string()),
            ratio_text(best),
            if best.certified() {
                "  (the optimum is certified)"
            } else {
                ""
            }
        )
    };
    out += &table(&first);
    out += &summary(&best_first);
    if let (Some(d), Some((entries, best))) = (&density, &dens) {
        out += &format!("\nat density s = {}:\n", exact_text(&d.0));
        out += &table(entries);
        out += &summary(best);
    }
    match &cross {
        Some(c) => {
            out += &format!(
                "\ncrossover (Theorem 3): {} has L1 = {} < {} (every orthogonal W);\n",
                c.by,
                fmt_decimal(c.construction.to_f64()),
                fmt_decimal(c.orthogonal.to_f64())
            );
            out += &match &c.bracket {
                Some((lo, hi)) => format!(
                    "  it beats every orthogonal W for densities below s* in ({}, {}]  (s* ≈ {})\n",
                    fmt_exact(lo),
                    fmt_exact(hi),
                    fmt_decimal(lo.to_f64())
                ),
                None => "  and beats every orthogonal W at all densities in (0, 1]\n".into(),
            };
        }
        None => {
            out += "\nno superposing construction beats the orthogonal optimum at first order\n"
        }
    }
    Ok(out)
}

fn optimize_command(args: &OptimizeArgs) -> Result<String> {
    use crate::optimise::{
        Objective, Options, Problem, REPRESENTED_NORM, feature_summary, optimise,
    };
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    let objective = match (&args.density, args.first_order) {
        (Some(d), false) => Objective::Density(Density::parse(Some(d), None)?.0),
        (None, true) => Objective::FirstOrder,
        _ => return Err(Error::input("give --first-order or --density R")),
    };
    if args.restarts > MAX_RESTARTS {
        return Err(Error::too_large(format!(
            "--restarts {} is above the limit {MAX_RESTARTS}",
            args.restarts
        )));
    }
    if st.n * st.m > 4096 {
        return Err(Error::too_large(format!(
            "n m = {} weights; the optimiser takes at most 4096",
            st.n * st.m
        )));
    }
    let problem = Problem {
        setting: st,
        objective,
        bias: args.bias,
        importance: None,
    };
    if args.steps > 10_000_000 {
        return Err(Error::too_large(format!(
            "--steps {} is above the limit 10000000",
            args.steps
        )));
    }
    let opts = Options {
        restarts: args.restarts,
        seed: args.seed,
        method: args.method,
        adam_steps: args.steps,
        progress: true,
        ..Default::default()
    };
    let found = optimise(&problem, &opts)?;
    let wf = found.weights.w.map(<f64 as Scalar>::from_rational);
    let (norms, dims) = feature_summary(&wf);
    let represented = norms.iter().filter(|&&x| x > REPRESENTED_NORM).count();
    if let Some(path) = &args.save {
        std::fs::write(path, format!("{}\n", found.weights.to_json()))
            .map_err(|e| Error::io(path.display().to_string(), e))?;
    }
    if args.json {
        let rows: Vec<Vec<f64>> = (0..wf.rows).map(|r| wf.row(r).to_vec()).collect();
        let mut obj = serde_json::Map::new();
        let kind = if found.objective.starts_with("first_order") {
            "first_order"
        } else {
            "loss"
        };
        obj.insert("objective".into(), json!(kind));
        obj.insert("objective_detail".into(), json!(found.objective));
        obj.insert("value".into(), exact_json(&found.value));
        obj.insert("float".into(), json!(found.value.to_f64()));
        obj.insert("W".into(), json!(rows));
        if let Some(b) = &found.weights.bias {
            obj.insert(
                "b".into(),
                json!(b.iter().map(|x| x.to_f64()).collect::<Vec<_>>()),
            );
        }
        obj.insert("seed".into(), json!(args.seed));
        obj.insert("restarts".into(), json!(args.restarts));
        obj.insert(
            "method".into(),
            json!(format!("{:?}", args.method).to_lowercase()),
        );
        obj.insert("start".into(), json!(found.start));
        obj.insert("norms".into(), json!(norms));
        obj.insert("dimensionality".into(), json!(dims));
        obj.insert("represented".into(), json!(represented));
        obj.insert("represented_threshold".into(), json!(REPRESENTED_NORM));
        return Ok(format!("{}\n", serde_json::Value::Object(obj)));
    }
    let mut out = format!(
        "model: {model}; n = {} features, m = {} hidden dimensions\nobjective: {} (method {:?})\nbest of {} random restarts{} (seed {}); best start: {}\n",
        st.n,
        st.m,
        found.objective,
        args.method,
        args.restarts,
        if args.method == crate::optimise::Method::Lbfgs {
            " and the constructions"
        } else {
            ""
        },
        args.seed,
        found.start
    );
    out += &format!(
        "exact value of the W found (an upper bound on the optimum): {}  (≈ {})\n",
        if fmt_exact(&found.value).len() <= 60 {
            fmt_exact(&found.value)
        } else {
            format!("({} digits, see --json)", fmt_exact(&found.value).len())
        },
        fmt_decimal(found.value.to_f64())
    );
    out += &format!(
        "represented features (norm > {REPRESENTED_NORM}): {represented} of {}\n",
        st.n
    );
    out += "feature  norm            dimensionality  column of W\n";
    for i in 0..st.n {
        let col: Vec<String> = (0..st.m).map(|r| format!("{:+.6}", wf.get(r, i))).collect();
        out += &format!(
            "{i:7}  {:<14}  {:<14}  [{}]\n",
            fmt_decimal(norms[i]),
            fmt_decimal(dims[i]),
            col.join(", ")
        );
    }
    Ok(out)
}

fn certify_command(args: &CertifyArgs) -> Result<String> {
    use crate::certificate::{certify, default_degree};
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    let degree = args.degree.unwrap_or_else(|| default_degree(&st));
    let cert = certify(&st, degree)?;
    if let Some(path) = &args.save {
        std::fs::write(path, format!("{}\n", cert.to_json()))
            .map_err(|e| Error::io(path.display().to_string(), e))?;
    }
    if args.json {
        let mut v = cert.to_json();
        v["float"] = json!(cert.lower.to_f64());
        v["verified"] = json!(true);
        return Ok(format!("{v}\n"));
    }
    Ok(format!(
        "model: {model}; n = {} features, m = {} hidden dimensions\nLP certificate of degree {degree}, verified exactly (q_k >= 0, f - q >= 0 on [-1, 1] by Sturm sequences)\nL1 >= {}\n",
        st.n,
        st.m,
        exact_text(&cert.lower)
    ))
}

fn check_command(args: &CheckArgs) -> Result<String> {
    use crate::certificate::{Certificate, verify};
    let text = read_file(&args.file)?;
    let cert = Certificate::from_json(&text)
        .map_err(|e| Error::input(format!("{}: {e}", args.file.display())))?;
    let bound = verify(&cert)
        .map_err(|e| Error::input(format!("{}: refused: {e}", args.file.display())))?;
    Ok(format!(
        "{}: verified: {} n = {}, m = {}: L1 >= {}\n",
        args.file.display(),
        cert.setting.model,
        cert.setting.n,
        cert.setting.m,
        exact_text(&bound)
    ))
}

fn table_command(args: &TableArgs) -> Result<String> {
    use crate::table::{Grid, parse_densities, parse_list, parse_shard, render, run, shard};
    let acts = args
        .act
        .split(',')
        .map(|a| match a.trim() {
            "power" => Ok(Activation::Power),
            "rect" => Ok(Activation::Rect),
            other => Err(Error::input(format!(
                "--act: unknown activation {other:?} (power or rect)"
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    let ps = parse_list(&args.p, "p", crate::model::MAX_P as usize)?;
    if ps.contains(&0) {
        return Err(Error::input("--p: p must be at least 1"));
    }
    let ns = parse_list(&args.n, "n", 64)?;
    let ms = parse_list(&args.m, "m", 64)?;
    if ns.contains(&0) || ms.contains(&0) {
        return Err(Error::input("n and m must be at least 1"));
    }
    let values: Values = args.values.parse().map_err(Error::input)?;
    if !matches!(args.format.as_str(), "md" | "csv" | "latex" | "json") {
        return Err(Error::input(format!(
            "unknown --format {:?} (md, csv, latex or json)",
            args.format
        )));
    }
    let grid = Grid {
        acts,
        ps: ps.into_iter().map(|p| p as u32).collect(),
        ns,
        ms,
        densities: parse_densities(&args.density)?,
        values,
    };
    let shard_spec = args.shard.as_deref().map(parse_shard).transpose()?;
    let specs = shard(grid.specs(), shard_spec);
    if specs.len() > 100_000 {
        return Err(Error::too_large(format!(
            "{} rows; at most 100000 per run (use --shard)",
            specs.len()
        )));
    }
    let rows = run(&specs, values, args.optimize, args.out.as_deref(), true)?;
    let arguments = json!({
        "act": args.act, "p": args.p, "n": args.n, "m": args.m, "density": args.density,
        "values": args.values, "optimize": args.optimize, "shard": args.shard,
    });
    render(&rows, &args.format, &arguments)
}

fn plot_command(args: &PlotArgs) -> Result<String> {
    use crate::optimise::{Objective, Options, Problem, optimise};
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    match args.kind.as_str() {
        "bounds" => {
            let from = Density::parse(Some(&args.from), None)?.0.to_f64();
            let to = Density::parse(Some(&args.to), None)?.0.to_f64();
            if from >= to {
                return Err(Error::input("--from must be below --to"));
            }
            if !(2..=100).contains(&args.points) {
                return Err(Error::input("--points must be between 2 and 100"));
            }
            let series = crate::plot::bounds_series(&st, from, to, args.points, !args.no_optimize)?;
            let first = bounds::best_of(&bounds::first_order_entries(&st))?;
            crate::plot::draw_bounds(
                &st,
                &series,
                (&first.lower.value.value, &first.upper.value.value),
                &args.out,
            )?;
        }
        "arrows" => {
            if st.m != 2 {
                return Err(Error::input("--kind arrows needs --m 2"));
            }
            let pr = Problem {
                setting: st,
                objective: Objective::FirstOrder,
                bias: false,
                importance: None,
            };
            let found = optimise(&pr, &Options::default())?;
            let w = found.weights.w.map(<f64 as Scalar>::from_rational);
            let title = format!(
                "{} p={}, n={}, m=2: optimiser's W (L1 = {})",
                model.act,
                model.p,
                st.n,
                fmt_decimal(found.value.to_f64())
            );
            crate::plot::draw_arrows(&title, &w, &args.out)?;
        }
        other => {
            return Err(Error::input(format!(
                "unknown --kind {other:?} (bounds or arrows)"
            )));
        }
    }
    Ok(format!("wrote {}\n", args.out.display()))
}
