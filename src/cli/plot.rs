//! `superbound plot`.

use super::*;

#[derive(Args, Debug)]
pub struct PlotArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    size: SizeArgs,
    /// bounds: lower/upper bounds and the optimiser against density; arrows: W's columns (m = 2).
    #[arg(long, default_value = "bounds")]
    kind: String,
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

pub fn plot_command(args: &PlotArgs) -> Result<String> {
    use crate::search::optimise::{Objective, Options, Problem, optimise};
    let model = args.model.model()?;
    let st = Setting::new(model, args.size.n, args.size.m)?;
    match args.kind.as_str() {
        "bounds" => {
            let (from, to) = plot_range(args)?;
            let series =
                crate::report::plot::bounds_series(&st, from, to, args.points, !args.no_optimize)?;
            let first = crate::bounds::best_of(&crate::bounds::first_order_entries(&st))?;
            crate::report::plot::draw_bounds(
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
                fmt_decimal_exact(&found.value)
            );
            crate::report::plot::draw_arrows(&title, &w, &args.out)?;
        }
        other => {
            return Err(Error::input(format!(
                "unknown --kind {other:?} (bounds or arrows)"
            )));
        }
    }
    Ok(format!("wrote {}\n", args.out.display()))
}
