//! `superbound loss`.

use super::*;

#[derive(Args, Debug)]
pub struct LossArgs {
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

pub fn loss_command(args: &LossArgs) -> Result<String> {
    let model = args.model.model()?;
    let density = Density::parse(args.density.as_deref(), args.sparsity.as_deref())?;
    match (&args.density, &args.sparsity) {
        (Some(d), _) => warn_if_underflows("--density", d, &density.0),
        (None, Some(sp)) => warn_if_underflows("--sparsity", sp, &density.0),
        (None, None) => {}
    }
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
    let report = evaluate::evaluate(
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
    // With a bias the loss need not vanish as s -> 0: then the s^1 coefficient is not the
    // first-order loss L1 = lim L/s (which is infinite), and it is not called so.
    // At s = 0 every x is 0 and xhat = sigma(b): the constant term is sum_i I_i sigma(b_i)^2.
    let constant: BigRational =
        weights
            .bias
            .iter()
            .flatten()
            .enumerate()
            .fold(num_traits::Zero::zero(), |acc, (i, b)| {
                let imp = weights
                    .importance
                    .as_ref()
                    .map_or(num_traits::One::one(), |v| v[i].clone());
                let y = model.sigma(b);
                acc + imp * &y * &y
            });
    let has_l1 = num_traits::Zero::is_zero(&constant);
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
        if has_l1 {
            obj.insert("first_order".into(), exact_json(&report.first_order));
            obj.insert(
                "first_order_float".into(),
                json!(report.first_order.to_f64()),
            );
        } else {
            obj.insert("first_order".into(), serde_json::Value::Null);
            obj.insert("s1_coefficient".into(), exact_json(&report.first_order));
        }
        if let Some(why) = &report.no_exact {
            obj.insert("no_exact_loss".into(), json!(why));
        }
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
    if let Some(why) = &report.no_exact {
        out += &format!("no exact loss: {why}\n");
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
    if has_l1 {
        out += &format!("first order L1(W) = {}\n", exact_text(&report.first_order));
    } else {
        out += &format!(
            "coefficient of s^1 = {}\n  (not a first-order L1: with this bias the loss tends to {} as s -> 0)\n",
            exact_text(&report.first_order),
            exact_text(&constant),
        );
    }
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

/// Largest Monte Carlo sample count accepted.
const MAX_SAMPLES: usize = 100_000_000;
