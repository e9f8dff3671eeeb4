//! SVG plots (`plotters`, SVG backend, no system fonts): (a) lower and upper bounds, and the
//! optimiser's value, against the density for one model; (b) for `m = 2`, the optimiser's columns
//! of `W` as arrows (the pentagon picture of Elhage et al.).

use crate::bounds::{self, Setting};
use crate::kernel::arith::Scalar;
use crate::kernel::error::{Error, Result};
use crate::search::optimise::{Objective, Options, Problem, optimise};
use num_rational::BigRational;
use plotters::prelude::*;

fn plot_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::input(format!("drawing the plot failed: {e:?}"))
}

/// One point of the bounds plot: density, best lower, best upper, optimiser (all divided by `s`).
#[derive(Clone, Debug)]
pub struct BoundsPoint {
    pub s: f64,
    pub lower: f64,
    pub upper: f64,
    pub optimizer: Option<f64>,
}

/// The bounds on `L*(s)/s` at `points` log-spaced densities from `s_min` to `s_max`.
pub fn bounds_series(
    query: &bounds::Query,
    s_min: f64,
    s_max: f64,
    points: usize,
    optimize: bool,
) -> Result<Vec<BoundsPoint>> {
    (0..points)
        .map(|k| {
            let x = s_min.ln() + (s_max.ln() - s_min.ln()) * k as f64 / (points - 1).max(1) as f64;
            let s = <f64 as Scalar>::to_rational(&x.exp())
                .ok_or_else(|| Error::input("bad density"))?;
            let sf = s.to_f64();
            let best = bounds::best_of(&bounds::density_entries_for(query, &s))?;
            let optimizer = if optimize {
                let pr = Problem {
                    setting: query.setting,
                    objective: Objective::Density(s.clone()),
                    bias: query.bias,
                    importance: query
                        .importance
                        .as_ref()
                        .map(|v| v.iter().map(|x| x.to_f64()).collect()),
                };
                optimise(
                    &pr,
                    &Options {
                        restarts: 8,
                        ..Default::default()
                    },
                )
                .ok()
                .map(|f| f.value.to_f64() / sf)
            } else {
                None
            };
            Ok(BoundsPoint {
                s: sf,
                lower: best.lower.value.value.to_f64() / sf,
                upper: best.upper.value.value.to_f64() / sf,
                optimizer,
            })
        })
        .collect()
}

/// Draws the bounds plot to an SVG file.
pub fn draw_bounds(
    st: &Setting,
    series: &[BoundsPoint],
    first: (&BigRational, &BigRational),
    path: &std::path::Path,
) -> Result<()> {
    let root = SVGBackend::new(path, (720, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let ymax = series
        .iter()
        .flat_map(|p| [p.upper, p.optimizer.unwrap_or(0.0)])
        .fold(first.1.to_f64(), f64::max)
        * 1.05;
    let (smin, smax) = (
        series.first().map_or(1e-4, |p| p.s),
        series.last().map_or(1.0, |p| p.s),
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{} p={}, n={}, m={}: bounds on L*(s)/s",
                st.model.act, st.model.p, st.n, st.m
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((smin..smax).log_scale(), 0.0..ymax)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("density s (log scale)")
        .y_desc("loss / s")
        .draw()
        .map_err(plot_err)?;
    let line = |pts: Vec<(f64, f64)>,
                color: RGBColor,
                label: &str,
                chart: &mut ChartContext<_, _>|
     -> Result<()> {
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(plot_err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        Ok(())
    };
    line(
        series.iter().map(|p| (p.s, p.lower)).collect(),
        BLUE,
        "best lower bound",
        &mut chart,
    )?;
    line(
        series.iter().map(|p| (p.s, p.upper)).collect(),
        RED,
        "best upper bound (construction)",
        &mut chart,
    )?;
    if series.iter().all(|p| p.optimizer.is_some()) {
        chart
            .draw_series(
                series
                    .iter()
                    .map(|p| Circle::new((p.s, p.optimizer.unwrap_or(0.0)), 4, BLACK.filled())),
            )
            .map_err(plot_err)?
            .label("optimiser (exact loss of its W)")
            .legend(|(x, y)| Circle::new((x + 9, y), 4, BLACK.filled()));
    }
    let (l1, u1) = (first.0.to_f64(), first.1.to_f64());
    line(
        vec![(smin, l1), (smax, l1)],
        RGBColor(120, 120, 255),
        "first-order lower (s -> 0)",
        &mut chart,
    )?;
    line(
        vec![(smin, u1), (smax, u1)],
        RGBColor(255, 140, 140),
        "first-order upper (s -> 0)",
        &mut chart,
    )?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Draws the columns of a `2 x n` weight matrix as arrows from the origin.
pub fn draw_arrows(
    title: &str,
    w: &crate::kernel::model::Mat<f64>,
    path: &std::path::Path,
) -> Result<()> {
    if w.rows != 2 {
        return Err(Error::input("the arrows plot needs m = 2"));
    }
    let r = (0..w.cols)
        .map(|i| w.get(0, i).hypot(*w.get(1, i)))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.15;
    let root = SVGBackend::new(path, (520, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(-r..r, -r..r)
        .map_err(plot_err)?;
    chart.configure_mesh().draw().map_err(plot_err)?;
    for i in 0..w.cols {
        let (x, y) = (*w.get(0, i), *w.get(1, i));
        let len = x.hypot(y);
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, 0.0), (x, y)],
                RED.stroke_width(3),
            ))
            .map_err(plot_err)?;
        if len > 0.0 {
            // Arrow head: two short strokes back from the tip.
            let (ux, uy) = (x / len, y / len);
            let h = 0.08 * r;
            for sgn in [1.0, -1.0] {
                let (hx, hy) = (
                    x - h * (ux * 0.87 - sgn * uy * 0.5),
                    y - h * (uy * 0.87 + sgn * ux * 0.5),
                );
                chart
                    .draw_series(LineSeries::new(vec![(x, y), (hx, hy)], RED.stroke_width(3)))
                    .map_err(plot_err)?;
            }
        }
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{i}"),
                (x * 1.07, y * 1.07),
                ("sans-serif", 14),
            )))
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)?;
    Ok(())
}

/// One panel of the Gram picture: a title, `W^T W` (`n x n`) and the bias, if any.
pub struct GramPanel {
    pub title: String,
    pub gram: crate::kernel::model::Mat<f64>,
    pub bias: Option<Vec<f64>>,
}

/// A blue (negative) - white (0) - red (positive) colour for `v` in `[-1, 1]`.
fn diverging(v: f64) -> RGBColor {
    let v = v.clamp(-1.0, 1.0);
    let fade = |t: f64| (255.0 * (1.0 - t.abs())).round() as u8;
    if v >= 0.0 {
        RGBColor(255, fade(v), fade(v))
    } else {
        RGBColor(fade(v), fade(v), 255)
    }
}

/// Draws `W^T W` as a heat map per panel (Elhage et al.'s picture), the bias as an extra column
/// to the right, on one colour scale (`±` the largest absolute entry, stated in the caption).
pub fn draw_gram(title: &str, panels: &[GramPanel], path: &std::path::Path) -> Result<()> {
    if panels.is_empty() {
        return Err(Error::input("nothing to draw"));
    }
    let scale = panels
        .iter()
        .flat_map(|p| p.gram.data.iter().chain(p.bias.iter().flatten()))
        .fold(0.0f64, |a, v| a.max(v.abs()))
        .max(1e-300);
    let cols = panels.len().min(4);
    let rows = panels.len().div_ceil(cols);
    let root =
        SVGBackend::new(path, (420 * cols as u32, 440 * rows as u32 + 40)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let root = root.titled(title, ("sans-serif", 16)).map_err(plot_err)?;
    for (area, panel) in root.split_evenly((rows, cols)).iter().zip(panels) {
        let n = panel.gram.rows;
        let width = n as f64 + if panel.bias.is_some() { 1.5 } else { 0.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{} (red +{scale:.3}, blue -{scale:.3})", panel.title),
                ("sans-serif", 12),
            )
            .margin(10)
            .x_label_area_size(24)
            .y_label_area_size(30)
            .build_cartesian_2d(0.0..width, n as f64..0.0)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n.min(10))
            .y_labels(n.min(10))
            .draw()
            .map_err(plot_err)?;
        let cells = (0..n).flat_map(|i| (0..n).map(move |j| (i, j)));
        chart
            .draw_series(cells.map(|(i, j)| {
                let v = panel.gram.get(i, j) / scale;
                Rectangle::new(
                    [(j as f64, i as f64), (j as f64 + 1.0, i as f64 + 1.0)],
                    diverging(v).filled(),
                )
            }))
            .map_err(plot_err)?;
        if let Some(b) = &panel.bias {
            let x0 = n as f64 + 0.5;
            chart
                .draw_series(b.iter().enumerate().map(|(i, v)| {
                    Rectangle::new(
                        [(x0, i as f64), (x0 + 1.0, i as f64 + 1.0)],
                        diverging(v / scale).filled(),
                    )
                }))
                .map_err(plot_err)?;
        }
    }
    root.present().map_err(plot_err)?;
    Ok(())
}

/// One density of the dimensionality plot: `s`, every feature's `D_i`, and `m / |W|_F^2`.
#[derive(Clone, Debug)]
pub struct DimensionalityPoint {
    pub s: f64,
    pub dims: Vec<f64>,
    pub per_feature: f64,
}

/// The optimiser's `W` at `points` log-spaced densities, summarised as Elhage et al. do.
pub fn dimensionality_series(
    st: &Setting,
    s_min: f64,
    s_max: f64,
    points: usize,
    bias: bool,
    importance: Option<&[f64]>,
) -> Result<Vec<DimensionalityPoint>> {
    (0..points)
        .map(|k| {
            let x = s_min.ln() + (s_max.ln() - s_min.ln()) * k as f64 / (points - 1).max(1) as f64;
            let s = <f64 as Scalar>::to_rational(&x.exp())
                .ok_or_else(|| Error::input("bad density"))?;
            let pr = Problem {
                setting: *st,
                objective: Objective::Density(s.clone()),
                bias,
                importance: importance.map(<[f64]>::to_vec),
            };
            let found = optimise(
                &pr,
                &Options {
                    restarts: 4,
                    ..Default::default()
                },
            )?;
            let w = found.weights.w.map(<f64 as Scalar>::from_rational);
            Ok(dimensionality_point(s.to_f64(), &w))
        })
        .collect()
}

/// The dimensionality summary of one `W` at density `s`.
pub fn dimensionality_point(s: f64, w: &crate::kernel::model::Mat<f64>) -> DimensionalityPoint {
    let f = crate::report::features::features(w, None, crate::report::features::REPRESENTED_NORM);
    DimensionalityPoint {
        s,
        dims: f.features.iter().map(|x| x.dimensionality).collect(),
        per_feature: f.dimensions_per_feature,
    }
}

/// Draws feature dimensionality `D_i` (points) and dimensions per feature `m / |W|_F^2` (line)
/// against `1 / (1 - S) = 1 / s` on a log axis (Elhage et al.'s figure); `trained` points (from
/// weight files) are drawn as larger black circles.
pub fn draw_dimensionality(
    title: &str,
    series: &[DimensionalityPoint],
    trained: &[DimensionalityPoint],
    path: &std::path::Path,
) -> Result<()> {
    let all = || series.iter().chain(trained);
    let (lo, hi) = all().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(1.0 / p.s), b.max(1.0 / p.s))
    });
    if !lo.is_finite() {
        return Err(Error::input("nothing to draw"));
    }
    let ymax = all()
        .flat_map(|p| p.dims.iter().copied().chain(std::iter::once(p.per_feature)))
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        * 1.05;
    let root = SVGBackend::new(path, (760, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d((lo * 0.8..hi * 1.25).log_scale(), 0.0..ymax)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("1 / (1 - S)")
        .y_desc("dimensionality")
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(series.iter().flat_map(|p| {
            p.dims
                .iter()
                .map(move |d| Circle::new((1.0 / p.s, *d), 3, BLUE.mix(0.5).filled()))
        }))
        .map_err(plot_err)?
        .label("D_i of the optimiser's W")
        .legend(|(x, y)| Circle::new((x, y), 3, BLUE.filled()));
    chart
        .draw_series(LineSeries::new(
            series
                .iter()
                .filter(|p| p.per_feature.is_finite())
                .map(|p| (1.0 / p.s, p.per_feature)),
            BLACK.stroke_width(2),
        ))
        .map_err(plot_err)?
        .label("m / |W|_F^2 (dimensions per feature)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    if !trained.is_empty() {
        chart
            .draw_series(trained.iter().flat_map(|p| {
                p.dims
                    .iter()
                    .map(move |d| Circle::new((1.0 / p.s, *d), 5, BLACK.stroke_width(2)))
            }))
            .map_err(plot_err)?
            .label("D_i of the given weights")
            .legend(|(x, y)| Circle::new((x, y), 5, BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}
