//! `superbound optimize`.

use super::*;

#[derive(Args, Debug)]
pub struct OptimizeArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// Minimise the first-order coefficient L1 (the s -> 0 limit).
    #[arg(long, conflicts_with_all = ["density", "sparsity"])]
    first_order: bool,
    /// Minimise the loss at this density s in (0, 1].
    #[arg(long, allow_hyphen_values = true, conflicts_with = "sparsity")]
    density: Option<String>,
    /// The same as a sparsity S = 1 - s in [0, 1).
    #[arg(long, allow_hyphen_values = true)]
    sparsity: Option<String>,
    /// Random restarts (the constructions are always added as starts).
    #[arg(long, default_value_t = crate::search::optimise::Options::default().restarts)]
    restarts: usize,
    /// Seed: restart k uses the stream k of ChaCha8 seeded with it.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train a bias b (at a density or sparsity, either activation and method).
    #[arg(long)]
    bias: bool,
    /// lbfgs: exact expectations; adam: the literature's baseline (sampled batches of 1024,
    /// learning rate 1e-3; at first order, Adam on the exact L1 gradient).
    #[arg(long, value_enum, default_value = "lbfgs")]
    method: crate::search::optimise::Method,
    /// Adam steps per restart.
    #[arg(long, default_value_t = 10_000)]
    steps: usize,
    #[command(flatten)]
    importance: ImportanceArgs,
    /// Inputs of the sampled objective (rect at a density, and --method adam's final choice):
    /// the first sample; the polish and the choice use fresh samples four times larger.
    #[arg(long, default_value_t = crate::search::optimise::DEFAULT_SAMPLES)]
    samples: usize,
    /// A feature counts as represented when its norm exceeds this (Elhage et al.: 0.5).
    #[arg(long, default_value_t = crate::report::features::REPRESENTED_NORM)]
    represented: f64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the W found (exact, as the weights file `loss --weights` reads).
    #[arg(long)]
    save: Option<PathBuf>,
}

pub fn optimize_command(args: &OptimizeArgs) -> Result<String> {
    use crate::search::optimise::{Objective, Options, Problem, optimise};
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    let objective = match (&args.density, &args.sparsity, args.first_order) {
        (Some(d), None, false) => {
            let s = Density::parse_option("--density", d)?.0;
            warn_if_underflows("--density", d, &s);
            Objective::Density(s)
        }
        (None, Some(sp), false) => {
            let s = Density::parse(None, Some(sp))?.0;
            warn_if_underflows("--sparsity", sp, &s);
            Objective::Density(s)
        }
        (None, None, true) => Objective::FirstOrder,
        _ => {
            return Err(Error::input(
                "give --first-order, --density R or --sparsity S",
            ));
        }
    };
    if args.restarts == 0 {
        return Err(Error::input("--restarts must be at least 1"));
    }
    if args.restarts > MAX_RESTARTS {
        return Err(Error::too_large(format!(
            "--restarts {} is above the limit {MAX_RESTARTS}",
            args.restarts
        )));
    }
    let work = args.restarts as u128 * (st.n * st.m) as u128 * (model.p as u128).pow(2);
    if work > MAX_RESTART_WORK {
        return Err(Error::too_large(format!(
            "--restarts {} x n {} x m {} x p^2 {} = {work} is above the work limit \
             {MAX_RESTART_WORK}: use fewer --restarts",
            args.restarts,
            st.n,
            st.m,
            model.p.pow(2)
        )));
    }
    if st.n > MAX_N || st.n * st.m > MAX_WEIGHTS {
        return Err(Error::too_large(format!(
            "n = {}, m = {}: the optimiser takes n <= {MAX_N} and n m <= {MAX_WEIGHTS}",
            st.n, st.m
        )));
    }
    if !(1..=MAX_SAMPLES).contains(&args.samples) {
        return Err(Error::input(format!(
            "--samples must be between 1 and {MAX_SAMPLES}"
        )));
    }
    // The sampled objective (rect at a density): a stage's sample holds 4 x --samples inputs of
    // about max(1, n s) active features, each evaluation costs n times that, and every input is
    // kept in memory.
    if let (Objective::Density(s), crate::kernel::model::Activation::Rect) = (&objective, model.act)
    {
        let active = (st.n as f64 * s.to_f64()).max(1.0);
        let work = 4.0 * args.samples as f64 * active * st.n as f64;
        if work > MAX_SAMPLED_WORK {
            return Err(Error::too_large(format!(
                "the sampled objective would cost 4 x --samples {} x (n s = {active:.0} active) x n {} = {work:.1e} per evaluation, above the limit {MAX_SAMPLED_WORK:.0e}: use a smaller --samples or fewer features",
                args.samples, st.n
            )));
        }
    }
    if !args.represented.is_finite() || args.represented < 0.0 {
        return Err(Error::input("--represented must be a nonnegative number"));
    }
    let importance = args.importance.weights(st.n)?;
    let problem = Problem {
        setting: st,
        objective: objective.clone(),
        bias: args.bias,
        importance: importance
            .as_ref()
            .map(|v| v.iter().map(|x| x.to_f64()).collect()),
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
        samples: args.samples,
        ..Default::default()
    };
    // The value is computed once, for the exact importance given (the search uses its f64).
    let found = optimise(
        &problem,
        &Options {
            exact_importance: importance.clone(),
            ..opts
        },
    )?;
    // The best lower bound whose scope covers this question (bias, importance): the result
    // is compared with nothing else.
    let query = crate::bounds::Query {
        setting: st,
        bias: args.bias,
        importance: importance.clone(),
    };
    let lower = crate::bounds::best_lower_for(
        &query,
        match &objective {
            Objective::FirstOrder => None,
            Objective::Density(s) => Some(s),
        },
    );
    if let Some(l) = &lower
        && l.value.value > found.value
    {
        return Err(Error::input(format!(
            "refutation: the W found has exact value {} below the lower bound {} = {} (a bug or a false bound: please report)",
            found.value, l.name, l.value.value
        )));
    }
    let wf = found.weights.w.map(<f64 as Scalar>::from_rational);
    let bf: Option<Vec<f64>> = found
        .weights
        .bias
        .as_ref()
        .map(|b| b.iter().map(|x| x.to_f64()).collect());
    let feats = crate::report::features::features(&wf, bf.as_deref(), args.represented);
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
        obj.insert("exact".into(), json!(found.exact));
        if let Some((lo, hi)) = &found.enclosure {
            obj.insert("enclosure".into(), json!([exact_json(lo), exact_json(hi)]));
        }
        if let Some(e) = &found.estimate {
            obj.insert("estimate".into(), json!(e));
        }
        if let Some(sampling) = &found.sampling {
            obj.insert("sampling".into(), json!(sampling));
        }
        obj.insert("W".into(), json!(rows));
        if let Some(b) = &bf {
            obj.insert("b".into(), json!(b));
        }
        if let Some(imp) = &importance {
            obj.insert(
                "importance".into(),
                json!(imp.iter().map(|x| x.to_string()).collect::<Vec<_>>()),
            );
        }
        obj.insert("seed".into(), json!(args.seed));
        obj.insert("restarts".into(), json!(args.restarts));
        obj.insert(
            "method".into(),
            json!(format!("{:?}", args.method).to_lowercase()),
        );
        obj.insert("start".into(), json!(found.start));
        let stopped: serde_json::Map<String, serde_json::Value> = found
            .stopped
            .iter()
            .map(|(k, n)| (k.name().to_string(), json!(n)))
            .collect();
        obj.insert("stopped".into(), serde_json::Value::Object(stopped));
        obj.insert("features".into(), json!(feats));
        obj.insert("question".into(), json!(query.describe()));
        if let Some(l) = &lower {
            obj.insert(
                "lower_bound".into(),
                json!({"by": l.value.detail.clone().unwrap_or_else(|| l.name.to_string()), "value": fmt_exact(&l.value.value), "float": l.value.value.to_f64()}),
            );
        }
        return Ok(format!("{}\n", serde_json::Value::Object(obj)));
    }
    let mut out = format!(
        "model: {model}; n = {} features, m = {} hidden dimensions\nobjective: {} (method {:?})\nbest of {} random restarts{} (seed {}); best start: {}\n",
        st.n,
        st.m,
        found.objective,
        args.method,
        args.restarts,
        if args.method == crate::search::optimise::Method::Lbfgs {
            " and the constructions"
        } else {
            ""
        },
        args.seed,
        found.start
    );
    let shown = |q: &BigRational| {
        let e = fmt_exact(q);
        if e.len() <= 60 {
            format!("{e}  (≈ {})", fmt_decimal_exact(q))
        } else {
            format!(
                "≈ {} ({} digits exactly, see --json)",
                fmt_decimal_exact(q),
                e.len()
            )
        }
    };
    if let Some(sampling) = &found.sampling {
        out += &format!("sampled objective: {sampling}\n");
    }
    if let Some(e) = &found.estimate {
        out += &format!(
            "estimated loss of the W found (independent sample, an estimate): {} ± {} (1 standard error)\n",
            fmt_decimal(e.mean),
            fmt_decimal(e.std_error)
        );
    }
    match &found.enclosure {
        None => {
            out += &format!(
                "exact value of the W found (an upper bound on the optimum): {}\n",
                shown(&found.value)
            )
        }
        Some((lo, hi)) => {
            out += &format!(
                "exact value of the W found not computed; it lies in [{}, {}] (exact enclosure); \
                 the upper end is an upper bound on the optimum\n",
                fmt_decimal_exact(lo),
                fmt_decimal_exact(hi)
            )
        }
    }
    out += &format!("question: {}\n", query.describe());
    if let Some(l) = &lower {
        out += &format!(
            "best lower bound valid for this question: {} by {}\n",
            fmt_decimal_exact(&l.value.value),
            l.value.detail.clone().unwrap_or_else(|| l.name.to_string())
        );
    }
    let stopped: Vec<String> = found
        .stopped
        .iter()
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    out += &format!("restarts stopped: {}\n", stopped.join(", "));
    out += &feats.render(&wf);
    Ok(out)
}

/// Largest number of restarts accepted.
const MAX_RESTARTS: usize = 1000;
/// Largest `restarts * n * m * p^2` accepted (each restart is bounded besides by
/// [`crate::search::optimise::Budget`]: iterations, evaluations and 2 s of wall clock).
const MAX_RESTART_WORK: u128 = 4_000_000;
/// Largest number of features.
const MAX_N: usize = crate::kernel::model::MAX_DIM;
/// Largest `n m`.
const MAX_WEIGHTS: usize = 100_000;
/// Largest work of one evaluation of the sampled objective's larger samples
/// (`4 samples x active features x n`; also bounds their memory, about 16 bytes an active entry
/// divided by `n`).
const MAX_SAMPLED_WORK: f64 = 2e9;
/// Largest `--samples`.
const MAX_SAMPLES: usize = 1 << 22;
