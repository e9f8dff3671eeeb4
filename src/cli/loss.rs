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
    /// Weights file: JSON {"W": [[n entries] x m rows], "b": [n]?, "importance": [n]?} (entries
    /// numbers or rational strings such as "-3/7"), NumPy .npy (W) or .npz, or .safetensors
    /// (W of shape (m, n), or (instances, m, n) for one result per instance; b and importance
    /// (n,) or (instances, n)). Floats are read exactly as the binary fractions they are.
    #[arg(long)]
    weights: PathBuf,
    /// Which arrays of an .npz or .safetensors file hold W, b and importance, e.g.
    /// W=encoder.weight,b=decoder.bias (default W=W,b=b,importance=importance; b and importance
    /// are optional).
    #[arg(long)]
    tensor: Option<String>,
    /// The array's last two axes are (n, m), not (m, n): the layout of Elhage et al.'s notebook,
    /// W of shape (instances, n_features, n_hidden).
    #[arg(long)]
    transpose: bool,
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
    /// Enclose the loss with support limit K: supports with more than K active features in a
    /// coupled group are bounded, not summed (used where the exact value is refused; giving it
    /// forces the enclosure).
    #[arg(long)]
    support_limit: Option<usize>,
    /// Where this W stands: the best proved lower bound and the best known upper bound on the
    /// optimum for the same question (its bias, its importance weights), and the W's loss as a
    /// multiple of each.
    #[arg(long)]
    compare: bool,
    /// Relative width (hi - lo)/hi the enclosure aims at, exact (default 1e-6): K grows until it
    /// is met or the cost budget is spent (giving it forces the enclosure).
    #[arg(long, allow_hyphen_values = true)]
    enclosure_width: Option<String>,
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
    let mut enc = evaluate::EnclosureOptions {
        support_limit: args.support_limit,
        force: args.support_limit.is_some() || args.enclosure_width.is_some(),
        ..Default::default()
    };
    if let Some(t) = &args.enclosure_width {
        if args.support_limit.is_some() {
            return Err(Error::input(
                "give either --support-limit or --enclosure-width, not both",
            ));
        }
        let shown = crate::kernel::model::shown(t);
        let w = crate::kernel::arith::parse_rational(t)
            .map_err(|e| Error::input(format!("--enclosure-width {shown}: {e}")))?;
        if w <= BigRational::from_integer(0.into()) {
            return Err(Error::input(format!(
                "--enclosure-width {shown}: the relative width must be positive"
            )));
        }
        enc.width = w;
    }
    let names = match &args.tensor {
        Some(t) => crate::weights_file::TensorNames::parse(t)?,
        None => crate::weights_file::TensorNames::default(),
    };
    let loaded = crate::weights_file::load(&args.weights, &names, args.transpose)?;
    let s = &density.0;
    let mc = MonteCarlo {
        samples: args.samples,
        seed: args.seed,
        always: args.monte_carlo,
    };
    let read = loaded.describe();
    if args.json {
        let records = records(&model, &loaded, Some(s), mc, &enc, args.compare)?;
        return Ok(format!("{records}\n"));
    }
    let mut out = String::new();
    if let Some(r) = &read {
        out += &format!("weights: {r}\n");
    }
    if loaded.batched {
        out += &format!(
            "{} instances, each evaluated on its own\n",
            loaded.instances.len()
        );
    }
    for (k, weights) in loaded.instances.iter().enumerate() {
        let outcome = Outcome::compute(&model, weights, s, mc, &enc)
            .map_err(|e| in_instance(e, loaded.batched, k))?;
        if loaded.batched {
            out += &format!("\ninstance {k}:\n");
        }
        out += &outcome.text(&model, weights, s);
        if args.compare {
            let c = Comparison::compute(&model, weights, s, &outcome.report)
                .map_err(|e| in_instance(e, loaded.batched, k))?;
            out += &c.text();
        }
    }
    Ok(out)
}

/// The JSON `loss --json` prints for every model of a weights file: one record, or an array of
/// records with their `"instance"` for a 3-D array; each says how binary floats were read. With
/// no density, the first-order records of [`first_order_json`] (what the Python module gives).
pub fn loss_records(
    model: &Model,
    loaded: &crate::weights_file::Loaded,
    s: Option<&BigRational>,
    mc: MonteCarlo,
) -> Result<serde_json::Value> {
    loss_records_with(model, loaded, s, mc, &evaluate::EnclosureOptions::default())
}

/// [`loss_records`] with the enclosure's options (`--support-limit`, `--enclosure-width`).
pub fn loss_records_with(
    model: &Model,
    loaded: &crate::weights_file::Loaded,
    s: Option<&BigRational>,
    mc: MonteCarlo,
    enc: &evaluate::EnclosureOptions,
) -> Result<serde_json::Value> {
    records(model, loaded, s, mc, enc, false)
}

/// [`loss_records_with`], with each record's `"compare"` (`loss --compare`) at a density.
fn records(
    model: &Model,
    loaded: &crate::weights_file::Loaded,
    s: Option<&BigRational>,
    mc: MonteCarlo,
    enc: &evaluate::EnclosureOptions,
    compare: bool,
) -> Result<serde_json::Value> {
    let read = loaded.describe();
    let mut records = Vec::with_capacity(loaded.instances.len());
    for (k, weights) in loaded.instances.iter().enumerate() {
        let mut v = match s {
            Some(s) => Outcome::compute(model, weights, s, mc, enc).and_then(|o| {
                let mut v = o.json(model, weights, s);
                if compare {
                    v["compare"] = Comparison::compute(model, weights, s, &o.report)?.json();
                }
                Ok(v)
            }),
            None => first_order_json(model, weights),
        }
        .map_err(|e| in_instance(e, loaded.batched, k))?;
        if let serde_json::Value::Object(obj) = &mut v {
            if loaded.batched {
                obj.insert("instance".into(), json!(k));
            }
            if let Some(r) = &read {
                obj.insert("weights".into(), json!(r));
            }
        }
        records.push(v);
    }
    Ok(if loaded.batched {
        serde_json::Value::Array(records)
    } else {
        records.pop().expect("one model")
    })
}

/// Names the instance of a 3-D array in an error.
fn in_instance(e: Error, batched: bool, k: usize) -> Error {
    match e {
        Error::Input(msg) if batched => Error::input(format!("instance {k}: {msg}")),
        Error::TooLarge(msg) if batched => Error::too_large(format!("instance {k}: {msg}")),
        other => other,
    }
}

/// The loss report of one `W` at density `s`, as the record `loss --json` prints (the Python
/// module returns the same).
pub fn loss_json(
    model: &Model,
    weights: &Weights,
    s: &BigRational,
    mc: MonteCarlo,
) -> Result<serde_json::Value> {
    let enc = evaluate::EnclosureOptions::default();
    Ok(Outcome::compute(model, weights, s, mc, &enc)?.json(model, weights, s))
}

/// The first-order loss `L1(W) = lim L(W; s) / s` alone (no density), as a JSON record with the
/// fields of `loss --json` that do not depend on the density. Refused when a bias makes the loss
/// tend to a positive constant as `s -> 0`.
pub fn first_order_json(model: &Model, weights: &Weights) -> Result<serde_json::Value> {
    let constant = bias_constant(model, weights);
    if !num_traits::Zero::is_zero(&constant) {
        return Err(Error::input(format!(
            "with this bias the loss tends to {} as s -> 0, so there is no first-order L1; give a density",
            fmt_exact(&constant)
        )));
    }
    let first = evaluate::first_order(model, weights)?;
    Ok(json!({
        "activation": model.act.name(),
        "p": model.p,
        "values": model.values.to_string(),
        "n": weights.n(),
        "m": weights.m(),
        "first_order": exact_json(&first),
        "first_order_float": first.to_f64(),
    }))
}

/// At `s = 0` every `x` is 0 and `xhat = sigma(b)`: the constant term is `sum_i I_i sigma(b_i)^2`.
fn bias_constant(model: &Model, weights: &Weights) -> BigRational {
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
        })
}

/// What `loss` computes about one `W`.
struct Outcome {
    report: evaluate::LossReport,
    constant: BigRational,
}

impl Outcome {
    fn compute(
        model: &Model,
        weights: &Weights,
        s: &BigRational,
        mc: MonteCarlo,
        enc: &evaluate::EnclosureOptions,
    ) -> Result<Self> {
        let report = evaluate::evaluate_with(model, weights, s, mc, enc)?;
        // With a bias the loss need not vanish as s -> 0: then the s^1 coefficient is not the
        // first-order loss L1 = lim L/s (which is infinite), and it is not called so.
        let constant = bias_constant(model, weights);
        Ok(Outcome { report, constant })
    }

    /// Whether the enclosure meets its width target (always, with a fixed support limit).
    fn met(&self, e: &crate::kernel::enclosure::Enclosure) -> bool {
        self.report
            .width_target
            .as_ref()
            .is_none_or(|w| e.relative_width() <= *w)
    }

    fn has_l1(&self) -> bool {
        num_traits::Zero::is_zero(&self.constant)
    }

    fn json(&self, model: &Model, weights: &Weights, s: &BigRational) -> serde_json::Value {
        let report = &self.report;
        let (n, m) = (weights.n(), weights.m());
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
        // "value": the exact loss, else the enclosure's upper end (a rigorous upper bound).
        match (&report.exact, &report.enclosure) {
            (Some(l), _) => {
                obj.insert("value".into(), exact_json(l));
                obj.insert("exact".into(), json!(true));
            }
            (None, Some(e)) => {
                obj.insert("value".into(), exact_json(&e.hi));
                obj.insert("exact".into(), json!(e.is_exact()));
            }
            (None, None) => {}
        }
        if let Some(e) = &report.enclosure {
            obj.insert(
                "enclosure".into(),
                json!([fmt_exact(&e.lo), fmt_exact(&e.hi)]),
            );
            obj.insert(
                "enclosure_float".into(),
                json!([e.lo.to_f64(), e.hi.to_f64()]),
            );
            obj.insert("relative_width".into(), json!(e.relative_width().to_f64()));
            obj.insert("support_limit".into(), json!(e.k));
            obj.insert("tail_probability".into(), exact_json(&e.tail_probability));
            obj.insert(
                "width_target".into(),
                report
                    .width_target
                    .as_ref()
                    .map_or(serde_json::Value::Null, exact_json),
            );
            obj.insert("width_met".into(), json!(self.met(e)));
            obj.insert("cost".into(), json!(e.cost));
        }
        if let Some(poly) = &report.polynomial {
            let deg = poly.0.len().saturating_sub(1).max(1);
            let coeffs: Vec<_> = (1..=deg).map(|k| exact_json(&poly.coeff(k))).collect();
            obj.insert("density_polynomial".into(), json!(coeffs));
            obj.insert("constant_term".into(), exact_json(&poly.coeff(0)));
        }
        if self.has_l1() {
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
        serde_json::Value::Object(obj)
    }

    fn text(&self, model: &Model, weights: &Weights, s: &BigRational) -> String {
        let report = &self.report;
        let (n, m) = (weights.n(), weights.m());
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
        if let Some(e) = &report.enclosure {
            if report.exact.is_none() {
                out += if e.is_exact() {
                    "exact value computed by the enclosure's full support sums (lo = hi):\n"
                } else {
                    "exact value not computed: enclosure (exact rationals, lo <= L(W; s) <= hi):\n"
                };
            } else {
                out += "enclosure (exact rationals, lo <= L(W; s) <= hi):\n";
            }
            out += &format!(
                "  lo = {}\n  hi = {}\n",
                exact_text(&e.lo),
                exact_text(&e.hi)
            );
            let target = match &report.width_target {
                Some(w) => format!(
                    " (target {}: {})",
                    fmt_decimal_exact(w),
                    if self.met(e) {
                        "met".to_string()
                    } else {
                        format!(
                            "not met within the cost budget {:.1e}",
                            evaluate::EnclosureOptions::default().budget
                        )
                    }
                ),
                None => String::new(),
            };
            out += &format!(
                "  relative width (hi - lo)/hi ≈ {}{target}\n  support limit K = {}; P(|S| > K) summed over the coupled groups = {}; estimated cost {:.2e}\n",
                fmt_decimal_exact(&e.relative_width()),
                e.k,
                exact_text(&e.tail_probability),
                e.cost,
            );
        }
        if let Some(est) = &report.estimate {
            out += &format!(
                "loss estimate (Monte Carlo, {} samples, seed {}; an estimate, not a bound) = {} ± {} (standard error)\n",
                est.samples,
                est.seed,
                fmt_decimal(est.mean),
                fmt_decimal(est.std_error)
            );
        }
        if self.has_l1() {
            out += &format!("first order L1(W) = {}\n", exact_text(&report.first_order));
        } else {
            out += &format!(
                "coefficient of s^1 = {}\n  (not a first-order L1: with this bias the loss tends to {} as s -> 0)\n",
                exact_text(&report.first_order),
                exact_text(&self.constant),
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
        out
    }
}

/// Where a user's `W` stands against the bounds on the optimum `L*(s)` for its own question:
/// `b = 0` or any bias (as the file has one or not), its importance weights.
struct Comparison {
    question: String,
    lower: crate::bounds::Entry,
    upper: crate::bounds::Entry,
    /// The W's loss: exact, or the enclosure `[lo, hi]`, or only a Monte Carlo estimate.
    loss: LossValue,
    /// The Monte Carlo estimate and its standard error, where one was made.
    estimate: Option<(f64, f64)>,
}

enum LossValue {
    Exact(BigRational),
    Enclosure(BigRational, BigRational),
    Estimate(f64, f64),
}

impl Comparison {
    fn compute(
        model: &Model,
        weights: &Weights,
        s: &BigRational,
        report: &evaluate::LossReport,
    ) -> Result<Self> {
        let setting = Setting::new(*model, weights.n(), weights.m())?;
        let query = crate::bounds::Query {
            setting,
            bias: weights.bias.is_some(),
            importance: weights.importance.clone(),
        };
        // The instances of a batched file usually ask one question: its bounds are computed once.
        static SEEN: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashMap<String, crate::bounds::Best>>,
        > = std::sync::OnceLock::new();
        let key = format!(
            "{model:?}|{}|{}|{}|{:?}|{s}",
            setting.n, setting.m, query.bias, query.importance
        );
        let seen = SEEN.get_or_init(Default::default);
        let cached = seen.lock().ok().and_then(|m| m.get(&key).cloned());
        let best = match cached {
            Some(best) => best,
            None => {
                let best = crate::bounds::best_of(&crate::bounds::density_entries_for(&query, s))?;
                if let Ok(mut m) = seen.lock() {
                    m.insert(key, best.clone());
                }
                best
            }
        };
        let estimate = report.estimate.as_ref().map(|e| (e.mean, e.std_error));
        let loss = match (&report.exact, &report.enclosure, estimate) {
            (Some(l), _, _) => LossValue::Exact(l.clone()),
            (None, Some(e), _) => LossValue::Enclosure(e.lo.clone(), e.hi.clone()),
            (None, None, Some((mean, se))) => LossValue::Estimate(mean, se),
            (None, None, None) => {
                return Err(Error::input("internal: no value of the loss to compare"));
            }
        };
        let c = Comparison {
            question: crate::report::table::question_text(query.bias, query.importance.as_deref()),
            lower: best.lower,
            upper: best.upper,
            loss,
            estimate,
        };
        // A rigorous loss below a proved lower bound refutes the bound: never printed as a ratio.
        let rigorous_hi = match &c.loss {
            LossValue::Exact(l) | LossValue::Enclosure(_, l) => Some(l),
            LossValue::Estimate(..) => None,
        };
        if let Some(hi) = rigorous_hi
            && *hi < c.lower.value.value
        {
            return Err(Error::input(format!(
                "refutation: this W's loss is at most {}, below the lower bound {} = {}: please report it",
                fmt_decimal_exact(hi),
                c.lower.name,
                fmt_decimal_exact(&c.lower.value.value)
            )));
        }
        Ok(c)
    }

    fn by(e: &crate::bounds::Entry) -> String {
        e.value.detail.clone().unwrap_or_else(|| e.name.to_string())
    }

    /// `loss / bound` in words (`None` for a zero bound).
    fn ratio(loss: &BigRational, bound: &BigRational) -> Option<f64> {
        (!num_traits::Zero::is_zero(bound)).then(|| (loss / bound).to_f64())
    }

    /// The loss's place: `Some(true)` below the best known upper bound (a new best configuration),
    /// `Some(false)` at or above it, `None` when it cannot be told (an estimate or an enclosure
    /// across it).
    fn beats_best_known(&self) -> Option<bool> {
        let u = &self.upper.value.value;
        match &self.loss {
            LossValue::Exact(l) => Some(l < u),
            LossValue::Enclosure(lo, hi) => {
                if hi < u {
                    Some(true)
                } else if lo >= u {
                    Some(false)
                } else {
                    None
                }
            }
            LossValue::Estimate(..) => None,
        }
    }

    fn text(&self) -> String {
        let (l, u) = (&self.lower.value.value, &self.upper.value.value);
        let mut out = format!(
            "where this W stands ({}), against the optimum L*(s):\n  proved lower bound  L* >= {}  (by {})\n  best known upper    L* <= {}  (by {})\n",
            self.question,
            fmt_decimal_exact(l),
            Self::by(&self.lower),
            fmt_decimal_exact(u),
            Self::by(&self.upper),
        );
        let times = |x: Option<f64>| x.map_or("undefined (bound 0)".to_string(), fmt_decimal);
        match &self.loss {
            LossValue::Exact(x) => {
                out += &format!(
                    "  this W: L = {} = {} x the lower bound, {} x the best known\n",
                    fmt_decimal_exact(x),
                    times(Self::ratio(x, l)),
                    times(Self::ratio(x, u)),
                );
            }
            LossValue::Enclosure(lo, hi) => {
                out += &format!(
                    "  this W: L in [{}, {}]: at most {} x the lower bound; between {} and {} x the best known\n",
                    fmt_decimal_exact(lo),
                    fmt_decimal_exact(hi),
                    times(Self::ratio(hi, l)),
                    times(Self::ratio(lo, u)),
                    times(Self::ratio(hi, u)),
                );
                if let Some((mean, se)) = self.estimate {
                    out += &format!(
                        "  this W's Monte Carlo estimate: {} ± {} (not a bound) ≈ {} x the lower bound, {} x the best known\n",
                        fmt_decimal(mean),
                        fmt_decimal(se),
                        times((!num_traits::Zero::is_zero(l)).then(|| mean / l.to_f64())),
                        times((!num_traits::Zero::is_zero(u)).then(|| mean / u.to_f64())),
                    );
                }
            }
            LossValue::Estimate(mean, se) => {
                out += &format!(
                    "  this W: L ≈ {} ± {} (an estimate, not a bound) ≈ {} x the lower bound, {} x the best known\n",
                    fmt_decimal(*mean),
                    fmt_decimal(*se),
                    times((!num_traits::Zero::is_zero(l)).then(|| mean / l.to_f64())),
                    times((!num_traits::Zero::is_zero(u)).then(|| mean / u.to_f64())),
                );
            }
        }
        if self.beats_best_known() == Some(true) {
            out += "  it beats every known configuration for this question (keep it: `superbound search` stores the best per model)\n";
        }
        if num_traits::Zero::is_zero(l) {
            out += "  no lower bound above 0 is proved for this question at this density\n";
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let (l, u) = (&self.lower.value.value, &self.upper.value.value);
        let (lo, hi) = match &self.loss {
            LossValue::Exact(x) => (Some(x.clone()), Some(x.clone())),
            LossValue::Enclosure(a, b) => (Some(a.clone()), Some(b.clone())),
            LossValue::Estimate(..) => (None, None),
        };
        json!({
            "question": self.question,
            "lower": {"by": Self::by(&self.lower), "value": fmt_exact(l), "float": l.to_f64()},
            "upper": {"by": Self::by(&self.upper), "value": fmt_exact(u), "float": u.to_f64()},
            "loss_over_lower": hi.as_ref().and_then(|h| Self::ratio(h, l)),
            "loss_over_upper": [lo.as_ref().and_then(|x| Self::ratio(x, u)), hi.as_ref().and_then(|x| Self::ratio(x, u))],
            "beats_best_known": self.beats_best_known(),
            "estimate_over_lower": self.estimate.and_then(|(m, _)| (!num_traits::Zero::is_zero(l)).then(|| m / l.to_f64())),
        })
    }
}

/// Largest Monte Carlo sample count accepted.
const MAX_SAMPLES: usize = 100_000_000;
