//! `superbound plot`.

use super::*;

#[derive(Args, Debug)]
pub struct PlotArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Number of features n (from the weights file when --weights is given).
    #[arg(long)]
    n: Option<usize>,
    /// Number of hidden dimensions m (from the weights file when --weights is given).
    #[arg(long)]
    m: Option<usize>,
    /// bounds: lower/upper bounds and the optimiser against density; arrows: W's columns (m = 2);
    /// gram: W^T W and the bias as a heat map (of --weights, else of the optimiser's W);
    /// dimensionality: feature dimensionality D_i and m/|W|_F^2 of the optimiser's W against
    /// 1/(1-S) (Elhage et al.), with --weights drawn beside at --density/--sparsity.
    #[arg(long, default_value = "bounds")]
    kind: String,
    /// A weights file (gram: the W drawn; dimensionality: a trained W drawn beside the optimum).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Which arrays of an .npz or .safetensors file hold W and b (as `loss --tensor`).
    #[arg(long)]
    tensor: Option<String>,
    /// The weights' last two axes are (n, m) (Elhage et al.'s notebook layout).
    #[arg(long)]
    transpose: bool,
    /// The density of the question (gram: optimise at it; dimensionality: of --weights).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "sparsity")]
    density: Option<String>,
    /// The same as a sparsity S = 1 - s.
    #[arg(long, allow_hyphen_values = true)]
    sparsity: Option<String>,
    /// Train a bias (the optimiser's W), and use only bounds valid with one.
    #[arg(long)]
    bias: bool,
    #[command(flatten)]
    importance: ImportanceArgs,
    /// Smallest and largest density of the bounds plot.
    #[arg(long, default_value = "1e-4", allow_hyphen_values = true)]
    from: String,
    #[arg(long, default_value = "1", allow_hyphen_values = true)]
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

/// Largest number of densities of a bounds plot.
const MAX_POINTS: usize = 200;

/// `--from`, `--to` (densities in `(0, 1]`, `from < to`, both positive in `f64`: the plot is
/// log-spaced in floating point) and `--points` (`2..=MAX_POINTS`), each error naming its option.
fn plot_range(args: &PlotArgs) -> Result<(f64, f64)> {
    let from = Density::parse_option("--from", &args.from)?.0;
    let to = Density::parse_option("--to", &args.to)?.0;
    if from >= to {
        return Err(Error::input(format!(
            "--from {} must be below --to {}",
            crate::kernel::model::shown(&args.from),
            crate::kernel::model::shown(&args.to)
        )));
    }
    let (f, t) = (from.to_f64(), to.to_f64());
    if f < f64::MIN_POSITIVE {
        return Err(Error::input(format!(
            "--from {}: below the smallest normal f64 (the plot is drawn in floating point)",
            crate::kernel::model::shown(&args.from)
        )));
    }
    if f >= t {
        return Err(Error::input(format!(
            "--from {} and --to {} are equal in f64 (the plot is drawn in floating point)",
            crate::kernel::model::shown(&args.from),
            crate::kernel::model::shown(&args.to)
        )));
    }
    if !(2..=MAX_POINTS).contains(&args.points) {
        return Err(Error::input(format!(
            "--points {}: must be between 2 and {MAX_POINTS}",
            args.points
        )));
    }
    Ok((f, t))
}

/// The weights of a file (JSON, .npy, .npz or .safetensors; a 3-D array gives one panel per
/// instance), each with a title.
fn weight_panels(args: &PlotArgs, path: &std::path::Path) -> Result<Vec<(String, Weights)>> {
    let names = match &args.tensor {
        Some(t) => crate::weights_file::TensorNames::parse(t)?,
        None => crate::weights_file::TensorNames::default(),
    };
    let loaded = crate::weights_file::load(path, &names, args.transpose)?;
    let file = path
        .file_name()
        .map_or(path.display().to_string(), |f| f.to_string_lossy().into());
    let batched = loaded.batched;
    Ok(loaded
        .instances
        .into_iter()
        .enumerate()
        .map(|(k, w)| {
            let title = if batched {
                format!("{file}, instance {k}")
            } else {
                file.clone()
            };
            (title, w)
        })
        .collect())
}

/// `--density`/`--sparsity`, if given.
fn plot_density(args: &PlotArgs) -> Result<Option<BigRational>> {
    match (&args.density, &args.sparsity) {
        (None, None) => Ok(None),
        (d, sp) => Ok(Some(Density::parse(d.as_deref(), sp.as_deref())?.0)),
    }
}

pub fn plot_command(args: &PlotArgs) -> Result<String> {
    use crate::search::optimise::{Objective, Options, Problem, optimise};
    let model = args.model.model()?;
    let size = || -> Result<Setting> {
        match (args.n, args.m) {
            (Some(n), Some(m)) => Setting::new(model, n, m),
            _ => Err(Error::input(format!(
                "--kind {} needs --n and --m",
                args.kind
            ))),
        }
    };
    let importance = |n: usize| -> Result<Option<Vec<BigRational>>> { args.importance.weights(n) };
    let to_f64 = |v: &Option<Vec<BigRational>>| {
        v.as_ref()
            .map(|v| v.iter().map(|x| x.to_f64()).collect::<Vec<f64>>())
    };
    let density = plot_density(args)?;
    // The optimiser's W for the question (density or first order, bias, importance).
    let optimised = |st: Setting| -> Result<crate::search::optimise::Found> {
        let pr = Problem {
            setting: st,
            objective: density
                .clone()
                .map_or(Objective::FirstOrder, Objective::Density),
            bias: args.bias,
            importance: to_f64(&importance(st.n)?),
        };
        optimise(&pr, &Options::default())
    };
    let out = &args.out;
    match args.kind.as_str() {
        "gram" => {
            let panels: Vec<crate::report::plot::GramPanel> = match &args.weights {
                Some(path) => weight_panels(args, path)?
                    .into_iter()
                    .map(|(title, w)| crate::report::plot::GramPanel {
                        title,
                        gram: w.w.map(<f64 as Scalar>::from_rational).gram(),
                        bias: w
                            .bias
                            .as_ref()
                            .map(|b| b.iter().map(|x| x.to_f64()).collect()),
                    })
                    .collect(),
                None => {
                    let found = optimised(size()?)?;
                    vec![crate::report::plot::GramPanel {
                        title: format!(
                            "optimiser, {}, loss <= {}",
                            density
                                .as_ref()
                                .map_or("first order".to_string(), |s| format!(
                                    "s = {}",
                                    fmt_decimal_exact(s)
                                )),
                            fmt_decimal_exact(&found.value)
                        ),
                        gram: found.weights.w.map(<f64 as Scalar>::from_rational).gram(),
                        bias: found
                            .weights
                            .bias
                            .as_ref()
                            .map(|b| b.iter().map(|x| x.to_f64()).collect()),
                    }]
                }
            };
            crate::report::plot::draw_gram(
                &format!("{model}: W^T W (bias b in the right column)"),
                &panels,
                out,
            )?;
        }
        "dimensionality" => {
            let st = match (&args.weights, args.n, args.m) {
                (Some(path), None, None) => {
                    let w = &weight_panels(args, path)?[0].1;
                    Setting::new(model, w.n(), w.m())?
                }
                _ => size()?,
            };
            let (from, to) = plot_range(args)?;
            let imp = importance(st.n)?;
            let series = crate::report::plot::dimensionality_series(
                &st,
                from,
                to,
                args.points,
                args.bias,
                to_f64(&imp).as_deref(),
            )?;
            let trained = match &args.weights {
                None => Vec::new(),
                Some(path) => {
                    let s = density.clone().ok_or_else(|| {
                        Error::input("--kind dimensionality with --weights needs the weights' --density or --sparsity")
                    })?;
                    weight_panels(args, path)?
                        .iter()
                        .map(|(_, w)| {
                            if (w.n(), w.m()) != (st.n, st.m) {
                                return Err(Error::input(format!(
                                    "the weights have n = {}, m = {}; the plot is for n = {}, m = {}",
                                    w.n(), w.m(), st.n, st.m
                                )));
                            }
                            Ok(crate::report::plot::dimensionality_point(
                                s.to_f64(),
                                &w.w.map(<f64 as Scalar>::from_rational),
                            ))
                        })
                        .collect::<Result<Vec<_>>>()?
                }
            };
            crate::report::plot::draw_dimensionality(
                &format!(
                    "{model}, n = {}, m = {}: feature dimensionality",
                    st.n, st.m
                ),
                &series,
                &trained,
                out,
            )?;
        }
        "bounds" => {
            let st = size()?;
            let (from, to) = plot_range(args)?;
            let query = crate::bounds::Query {
                setting: st,
                bias: args.bias,
                importance: importance(st.n)?,
            };
            let series = crate::report::plot::bounds_series(
                &query,
                from,
                to,
                args.points,
                !args.no_optimize,
            )?;
            let first = crate::bounds::best_of(&crate::bounds::first_order_entries_for(&query))?;
            crate::report::plot::draw_bounds(
                &st,
                &series,
                (&first.lower.value.value, &first.upper.value.value),
                out,
            )?;
        }
        "arrows" => {
            let st = size()?;
            if st.m != 2 {
                return Err(Error::input("--kind arrows needs --m 2"));
            }
            let found = optimised(st)?;
            let w = found.weights.w.map(<f64 as Scalar>::from_rational);
            let title = format!(
                "{} p={}, n={}, m=2: optimiser's W ({} = {})",
                model.act,
                model.p,
                st.n,
                if density.is_some() { "loss" } else { "L1" },
                fmt_decimal_exact(&found.value)
            );
            crate::report::plot::draw_arrows(&title, &w, out)?;
        }
        other => {
            return Err(Error::input(format!(
                "unknown --kind {other:?} (bounds, arrows, gram or dimensionality)"
            )));
        }
    }
    Ok(format!("wrote {}\n", out.display()))
}
