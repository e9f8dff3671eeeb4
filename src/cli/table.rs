//! `superbound table`.

use super::*;

#[derive(Args, Debug)]
pub struct TableArgs {
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
    /// Sparsities S = 1 - s instead of densities, comma-separated (1 means first order).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "density")]
    sparsity: Option<String>,
    /// Distribution of an active feature's value: uniform, one, or beta:A,B.
    #[arg(long, default_value = "uniform")]
    values: String,
    /// Ask about the optimum over W and a bias b (only bounds proved with a bias apply).
    #[arg(long)]
    bias: bool,
    #[command(flatten)]
    importance: ImportanceArgs,
    /// Add the optimiser's exact value as an upper bound (slower).
    #[arg(long)]
    optimize: bool,
    /// Output format: md, csv, latex or json.
    #[arg(long, default_value = "md")]
    format: String,
    /// Store file (CSV): finished rows are appended at once; a rerun skips them.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write every row's evidence (the lower bound's proof, the upper bound's witness) into
    /// this directory, with the table as table.csv; `superbound check DIR` re-verifies it.
    #[arg(long)]
    evidence: Option<PathBuf>,
    /// Compute only the K-th of N deterministic slices, e.g. 2/3.
    #[arg(long)]
    shard: Option<String>,
}

pub fn table_command(args: &TableArgs) -> Result<String> {
    use crate::report::table::{
        Grid, RunOptions, parse_densities, parse_list, parse_shard, render, run, shard,
    };
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
    let ps = parse_list(&args.p, "p", crate::kernel::model::MAX_P as usize)?;
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
        bias: args.bias,
        importance: args.importance.spec()?,
        acts,
        ps: ps.into_iter().map(|p| p as u32).collect(),
        ns,
        ms,
        densities: {
            let (option, text) = match &args.sparsity {
                None => ("--density", args.density.clone()),
                Some(sp) => ("--sparsity", sparsities_as_densities(sp)?),
            };
            let ds = parse_densities(&text)
                .map_err(|e| Error::input(e.to_string().replacen("--density", option, 1)))?;
            for (t, d) in text.split(',').zip(&ds) {
                if let Some(d) = d {
                    warn_if_underflows(option, t.trim(), d);
                }
            }
            ds
        },
        values,
    };
    // An explicit importance list must fit every n of the grid (refused here, once, rather than
    // row by row).
    if let Some(spec) = &grid.importance {
        for &n in &grid.ns {
            spec.weights(n)?;
        }
    }
    let shard_spec = args.shard.as_deref().map(parse_shard).transpose()?;
    let specs = shard(grid.specs(), shard_spec);
    if specs.len() > 100_000 {
        return Err(Error::too_large(format!(
            "{} rows; at most 100000 per run (use --shard)",
            specs.len()
        )));
    }
    check_table_work(&specs, args.optimize)?;
    let rows = run(
        &specs,
        &RunOptions {
            optimize: args.optimize,
            store: args.out.as_deref(),
            evidence: args.evidence.as_deref(),
            progress: true,
        },
    )?;
    if let Some(dir) = &args.evidence {
        let name = match shard_spec {
            None => "table.csv".to_string(),
            Some((k, n)) => format!("table-shard-{k}-of-{n}.csv"),
        };
        let path = dir.join(name);
        std::fs::write(&path, render(&rows, "csv", &serde_json::Value::Null)?)
            .map_err(|e| Error::io(path.display().to_string(), e))?;
    }
    let arguments = json!({
        "act": args.act, "p": args.p, "n": args.n, "m": args.m, "density": args.density, "sparsity": args.sparsity,
        "values": args.values, "optimize": args.optimize, "shard": args.shard,
    });
    render(&rows, &args.format, &arguments)
}

/// Largest estimated cost `n^2 p^2` of one row (measured: about 1e-4 s per unit on one core, so
/// `p = 16, n = 16` takes some 8 s).
const MAX_ROW_COST: u64 = 131_072;
/// Largest estimated cost of a whole table (sum over rows; `--optimize` counts four times).
const MAX_TABLE_COST: u64 = 4_000_000;

/// Refuses up front a table whose rows would take too long, naming the options to change.
fn check_table_work(specs: &[crate::report::table::Spec], optimize: bool) -> Result<()> {
    let factor = if optimize { 4 } else { 1 };
    let mut total: u64 = 0;
    for s in specs {
        let cost = (s.n as u64).pow(2) * (s.p as u64).pow(2) * factor;
        if cost > MAX_ROW_COST {
            return Err(Error::too_large(format!(
                "the row p = {}, n = {}, m = {} has estimated cost n^2 p^2{} = {cost}, above the \
                 per-row limit {MAX_ROW_COST}: lower --n or --p",
                s.p,
                s.n,
                s.m,
                if optimize { " x 4 (--optimize)" } else { "" }
            )));
        }
        total += cost;
    }
    if total > MAX_TABLE_COST {
        return Err(Error::too_large(format!(
            "{} rows with estimated total cost {total} (sum of n^2 p^2 per row) above the limit \
             {MAX_TABLE_COST}: use fewer values of --n, --p, --m or --density, or --shard",
            specs.len()
        )));
    }
    Ok(())
}

/// `--sparsity 0.9,0.99` as the density list `1/10,1/100` (exact: `1 - S`).
fn sparsities_as_densities(text: &str) -> Result<String> {
    text.split(',')
        .map(|t| {
            let big_s = crate::kernel::arith::parse_rational(t.trim())
                .map_err(|e| Error::input(format!("--sparsity {}: {e}", t.trim())))?;
            let s = BigRational::from_integer(1.into()) - big_s;
            if s < BigRational::from_integer(0.into()) || s > BigRational::from_integer(1.into()) {
                return Err(Error::input(format!(
                    "--sparsity {}: the sparsity must be in [0, 1]",
                    t.trim()
                )));
            }
            Ok(s.to_string())
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.join(","))
}
