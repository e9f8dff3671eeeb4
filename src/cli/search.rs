//! `superbound search`: improves the store of best-known witnesses (first order, or at the
//! densities given).

use super::*;
use num_traits::Zero;

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Activations, comma-separated.
    #[arg(long, default_value = "power,rect")]
    act: String,
    /// Exponents: a list 1,2,3 or a range 1..4.
    #[arg(long, default_value = "1..4")]
    p: String,
    /// Features: a list or a range such as 2..12.
    #[arg(long, default_value = "2..12")]
    n: String,
    /// Hidden dimensions: a list or a range.
    #[arg(long, default_value = "2..4")]
    m: String,
    /// Distribution of an active feature's value: uniform, one, or beta:A,B.
    #[arg(long, default_value = "uniform")]
    values: String,
    /// Densities: `0` is first order (`L1`), anything else a density in `(0, 1]` at which the
    /// exact loss `L(W; s)` is minimised and stored, e.g. `0,1/100`.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    density: String,
    /// Random restarts per model (the constructions and the stored witness are added as starts).
    #[arg(long, default_value_t = 64)]
    restarts: usize,
    /// Seed: restart k uses the stream k of ChaCha8 seeded with it.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The store's directory (default: $SUPERBOUND_STORE, else proofs/witnesses of the source
    /// tree).
    #[arg(long)]
    store: Option<PathBuf>,
    /// Search only the K-th of N deterministic slices of the models, e.g. 2/3.
    #[arg(long)]
    shard: Option<String>,
}

pub fn search_command(args: &SearchArgs) -> Result<String> {
    use crate::report::table::{parse_densities, parse_list, parse_shard};
    use crate::search::optimise::{Objective, Options, Problem, optimise};
    use crate::search::store::{Outcome, load_from, offer, rationalise};
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
    let ns = parse_list(&args.n, "n", 512)?;
    let ms = parse_list(&args.m, "m", 512)?;
    if ps.contains(&0) || ns.contains(&0) || ms.contains(&0) {
        return Err(Error::input("p, n and m must be at least 1"));
    }
    if args.restarts == 0 || args.restarts > 1000 {
        return Err(Error::input("--restarts must be in 1..=1000"));
    }
    let values: Values = args.values.parse().map_err(Error::input)?;
    let densities: Vec<BigRational> = parse_densities(&args.density)?
        .into_iter()
        .map(|d| d.unwrap_or_else(|| BigRational::from_integer(0.into())))
        .collect();
    for s in &densities {
        crate::search::store::check_density(s)?;
    }
    let dir = match &args.store {
        Some(d) => d.clone(),
        None => crate::search::store::default_dir().ok_or_else(|| {
            Error::input("no store: give --store DIR (SUPERBOUND_STORE is empty)")
        })?,
    };
    let mut settings = Vec::new();
    for &act in &acts {
        for &p in &ps {
            for &n in &ns {
                for &m in &ms {
                    let st = Setting::new(Model::new(act, p as u32, values)?, n, m)?;
                    if n * m > 4096 {
                        return Err(Error::too_large(format!(
                            "n m = {} weights at n = {n}, m = {m}; the optimiser takes at most 4096",
                            n * m
                        )));
                    }
                    let work = args.restarts as u128 * (n * m) as u128 * (p as u128).pow(2);
                    if work > 4_000_000 {
                        return Err(Error::too_large(format!(
                            "--restarts {} x n {n} x m {m} x p^2 {} = {work} is above the work \
                             limit 4000000: use fewer --restarts",
                            args.restarts,
                            p * p
                        )));
                    }
                    for s in &densities {
                        settings.push((st, s.clone()));
                    }
                }
            }
        }
    }
    if let Some(s) = &args.shard {
        let (k, n) = parse_shard(s)?;
        settings = settings
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, s)| s)
            .collect();
    }
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut out = String::new();
    for (st, s) in settings {
        let problem = Problem {
            setting: st,
            objective: if s.is_zero() {
                Objective::FirstOrder
            } else {
                Objective::Density(s.clone())
            },
            bias: false,
            importance: None,
        };
        let found = optimise(
            &problem,
            &Options {
                restarts: args.restarts,
                seed: args.seed,
                ..Default::default()
            },
        )?;
        // The stored witness may be better than anything found from these starts: polish it
        // too (an extra start), so repeated searches improve on it. At a density, the stored
        // first-order witness is polished for it as well.
        let mut candidates = vec![(found.weights.clone(), found.start.clone())];
        let zero = BigRational::zero();
        let olds = [
            (&s, "the stored witness, polished"),
            (&zero, "the stored first-order witness, polished"),
        ];
        for (at, from) in olds.into_iter().take(if s.is_zero() { 1 } else { 2 }) {
            let Ok(Some(old)) = load_from(&dir, &st, at) else {
                continue;
            };
            let x0: Vec<f64> = old.weights.w.data.iter().map(|v| v.to_f64()).collect();
            let (x, _) = crate::search::optimise::lbfgs(&problem, x0, 2000);
            let (w, _) = problem.unpack(&x);
            if let Some(data) = w
                .data
                .iter()
                .map(<f64 as Scalar>::to_rational)
                .collect::<Option<Vec<_>>>()
            {
                candidates.push((
                    Weights::new(crate::kernel::model::Mat {
                        rows: w.rows,
                        cols: w.cols,
                        data,
                    }),
                    from.to_string(),
                ));
            }
        }
        let name = crate::search::store::file_name(&st, &s);
        let Some((w, start)) = candidates
            .into_iter()
            .filter_map(|(w, from)| rationalise(&st, &s, &w).map(|r| (r, from)))
            .min_by(|a, b| a.0.1.cmp(&b.0.1))
            .map(|((w, _), from)| (w, from))
        else {
            let line = format!(
                "{name}: skipped (no exact loss at density {s}: rectified, too many coupled \
                 features)"
            );
            eprintln!("{line}");
            out += &line;
            out.push('\n');
            continue;
        };
        let source = format!(
            "superbound search: L-BFGS, seed {}, restarts {}, best start {start}; {date}",
            args.seed, args.restarts
        );
        let (outcome, value) = offer(&dir, &st, &s, &w, &source)?;
        let line = match outcome {
            Outcome::New => format!("{name}: new {}", fmt_decimal_exact(&value)),
            Outcome::Improved(old) => format!(
                "{name}: improved {} -> {} ({:.1e} relative)",
                fmt_decimal_exact(&old),
                fmt_decimal_exact(&value),
                crate::kernel::arith::rational_to_f64(&((&value - &old) / &old))
            ),
            Outcome::Kept(old) => format!(
                "{name}: kept {} (found {})",
                fmt_decimal_exact(&old),
                fmt_decimal_exact(&value)
            ),
        };
        eprintln!("{line}");
        out += &line;
        out.push('\n');
    }
    Ok(out)
}
