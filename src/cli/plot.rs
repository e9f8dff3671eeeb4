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

pub fn plot_command(args: &PlotArgs) -> Result<String> {
    use crate::search::optimise::{Objective, Options, Problem, optimise};
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
