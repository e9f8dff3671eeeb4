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
    method: crate::search::optimise::Method,
    /// Adam steps per restart.
    #[arg(long, default_value_t = 10_000)]
    steps: usize,
    #[command(flatten)]
    importance: ImportanceArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the W found (exact, as the weights file `loss --weights` reads).
    #[arg(long)]
    save: Option<PathBuf>,
}

pub fn optimize_command(args: &OptimizeArgs) -> Result<String> {
    use crate::search::optimise::{
        Objective, Options, Problem, REPRESENTED_NORM, feature_summary, optimise,
    };
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
    if st.n * st.m > 4096 {
        return Err(Error::too_large(format!(
            "n m = {} weights; the optimiser takes at most 4096",
            st.n * st.m
        )));
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
        ..Default::default()
    };
    let mut found = optimise(&problem, &opts)?;
    if let Some(imp) = &importance {
        // The search used f64 weights; the exact value is for the exact importance given.
        found.weights.importance = Some(imp.clone());
        found.value = match &objective {
            Objective::FirstOrder => crate::kernel::loss::first_order_exact(&model, &found.weights),
            Objective::Density(s) => crate::kernel::loss::exact_loss(&model, &found.weights, s)
                .ok_or_else(|| {
                    Error::too_large("no exact loss for the W found (more than 8 coupled features)")
                })?,
        };
    }
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
        let stopped: serde_json::Map<String, serde_json::Value> = found
            .stopped
            .iter()
            .map(|(k, n)| (k.name().to_string(), json!(n)))
            .collect();
        obj.insert("stopped".into(), serde_json::Value::Object(stopped));
        obj.insert("norms".into(), json!(norms));
        obj.insert("dimensionality".into(), json!(dims));
        obj.insert("represented".into(), json!(represented));
        obj.insert("question".into(), json!(query.describe()));
        if let Some(l) = &lower {
            obj.insert(
                "lower_bound".into(),
                json!({"by": l.value.detail.clone().unwrap_or_else(|| l.name.to_string()), "value": fmt_exact(&l.value.value), "float": l.value.value.to_f64()}),
            );
        }
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
        if args.method == crate::search::optimise::Method::Lbfgs {
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
        fmt_decimal_exact(&found.value)
    );
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

/// Largest number of restarts accepted.
const MAX_RESTARTS: usize = 1000;
/// Largest `restarts * n * m * p^2` accepted (each restart is bounded besides by
/// [`crate::search::optimise::Budget`]: iterations, evaluations and 2 s of wall clock).
const MAX_RESTART_WORK: u128 = 4_000_000;
