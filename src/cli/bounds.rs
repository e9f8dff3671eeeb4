//! `superbound bounds`.

use super::*;

#[derive(Args, Debug)]
pub struct BoundsArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// Also bound the loss at this density s in (0, 1] (exact: 1/100, 0.01, 1e-2).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "sparsity")]
    density: Option<String>,
    /// The same as a sparsity S = 1 - s in [0, 1).
    #[arg(long, allow_hyphen_values = true)]
    sparsity: Option<String>,
    /// Ask about the optimum over W and a bias b (only bounds proved with a bias apply).
    #[arg(long)]
    bias: bool,
    #[command(flatten)]
    importance: ImportanceArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn bounds_command(args: &BoundsArgs) -> Result<String> {
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    let density = (args.density.is_some() || args.sparsity.is_some())
        .then(|| Density::parse(args.density.as_deref(), args.sparsity.as_deref()))
        .transpose()?;
    if let Some(d) = &density {
        let (option, text) = match (&args.density, &args.sparsity) {
            (Some(t), _) => ("--density", t.as_str()),
            (None, Some(t)) => ("--sparsity", t.as_str()),
            _ => ("--density", ""),
        };
        warn_if_underflows(option, text, &d.0);
    }
    let query = crate::bounds::Query {
        setting: st,
        bias: args.bias,
        importance: args.importance.weights(st.n)?,
    };
    let first = crate::bounds::first_order_entries_for(&query);
    let best_first = crate::bounds::best_of(&first)?;
    let dens = density.as_ref().map(|d| {
        let entries = crate::bounds::density_entries_for(&query, &d.0);
        crate::bounds::best_of(&entries).map(|b| (entries, b))
    });
    let dens = dens.transpose()?;
    // Theorem 3 compares with orthogonal W at b = 0 and equal importance only.
    let cross = (query == crate::bounds::Query::plain(st))
        .then(|| crate::bounds::crossover(&st, &first))
        .flatten();
    let skipped = if density.is_some() {
        crate::bounds::skipped_at_density(&st)
    } else {
        Vec::new()
    };
    let c_p = crate::bounds::c_p(&model);
    let kap = crate::kernel::gegenbauer::kappa(st.m, model.p);
    if args.json {
        let mut all: Vec<_> = first.iter().map(|e| entry_json(e, "first_order")).collect();
        let mut obj = serde_json::Map::new();
        obj.insert("activation".into(), json!(model.act.name()));
        obj.insert("p".into(), json!(model.p));
        obj.insert("n".into(), json!(st.n));
        obj.insert("m".into(), json!(st.m));
        obj.insert("values".into(), json!(model.values.to_string()));
        obj.insert("bias".into(), json!(query.bias));
        obj.insert(
            "importance".into(),
            json!(
                query
                    .importance
                    .as_ref()
                    .map(|v| v.iter().map(fmt_exact).collect::<Vec<_>>())
            ),
        );
        obj.insert("question".into(), json!(query.describe()));
        obj.insert(
            "constants".into(),
            json!({"c_p": fmt_exact(&c_p), "alpha": fmt_exact(&crate::kernel::gegenbauer::alpha(st.m, model.p)), "kappa": fmt_exact(&kap)}),
        );
        obj.insert("first_order".into(), best_json(&best_first));
        if let (Some(d), Some((entries, best))) = (&density, &dens) {
            let mut b = best_json(best);
            b["density"] = exact_json(&d.0);
            b["skipped"] = json!(skipped);
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
                    "skipped": c.skipped,
                }),
            },
        );
        return Ok(format!("{}\n", serde_json::Value::Object(obj)));
    }
    let mut out = format!(
        "model: {model}; n = {} features, m = {} hidden dimensions\nquestion: {}; only bounds whose scope covers it are listed\nc_p = {}   kappa_{{m,p}} = {}\n\nfirst order (L1* = lim L*(s)/s):\n",
        st.n,
        st.m,
        query.describe(),
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
    let short_text = |x: &BigRational| format!("{}  (≈ {})", short(x), fmt_decimal_exact(x));
    let table = |entries: &[Entry]| -> String {
        let mut t = String::new();
        for e in entries {
            let name = e.value.detail.clone().unwrap_or_else(|| e.name.to_string());
            t += &format!(
                "  {:5}  {:34}  {:>20}  {}\n",
                e.side.name(),
                name,
                fmt_decimal_exact(&e.value.value),
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
        for why in &skipped {
            out += &format!("  skipped (no exact loss): {why}\n");
        }
        out += &summary(best);
    }
    match &cross {
        Some(c) => {
            out += &format!(
                "\ncrossover (Theorem 3): {} has L1 = {} < {} (every orthogonal W);\n",
                c.by,
                fmt_decimal_exact(&c.construction),
                fmt_decimal_exact(&c.orthogonal)
            );
            out += &match (&c.bracket, &c.skipped) {
                (_, Some(why)) => format!("  the crossover density is not located: {why}\n"),
                (Some((lo, hi)), None) => format!(
                    "  it beats every orthogonal W for densities below s* in ({}, {}]  (s* ≈ {})\n",
                    fmt_exact(lo),
                    fmt_exact(hi),
                    fmt_decimal_exact(lo)
                ),
                (None, None) => {
                    "  and beats every orthogonal W at all densities in (0, 1]\n".into()
                }
            };
        }
        None => {
            out += "\nno superposing construction beats the orthogonal optimum at first order\n"
        }
    }
    Ok(out)
}
