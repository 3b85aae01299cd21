//! Charts of the evaluation suites (robustness and few-shot), drawn with plotters on PNG and
//! SVG like the training plots (same size, font and palette): a scatter with error bars in
//! both directions and a reference line, line charts of accuracy against a level, points
//! with confidence bars per method, bars grouped by method (one per test-set variant), bars
//! stacked by phase, and points with (asymmetric) intervals against a reference line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{colour, draw_no_data, plot_error};
use crate::records;

/// Font family registered by the report module.
const FONT: &str = "sans-serif";

/// Size of every chart of the report (training and evaluation plots), pixels or SVG units.
const SIZE: (u32, u32) = (960, 600);

/// A value with an optional spread (± half-width) for error bars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Centre.
    pub value: f64,
    /// Half-width of the bar (std over seeds, or a CI half-width); `None`: no bar.
    pub half: Option<f64>,
}

/// One method in a scatter.
#[derive(Clone, Debug, PartialEq)]
pub struct ScatterPoint {
    /// Method label.
    pub label: String,
    /// x (standard accuracy).
    pub x: Spread,
    /// y (robust accuracy).
    pub y: Spread,
}

/// One line of a line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Method label.
    pub label: String,
    /// `(x, y)` points in x order.
    pub points: Vec<(f64, f64)>,
}

/// A chart of the evaluation suites.
pub enum EvalChart<'a> {
    /// Scatter with error bars, a horizontal reference line `(y, label)`, axis titles.
    Scatter {
        /// Points, one per method.
        points: &'a [ScatterPoint],
        /// Horizontal reference line.
        reference: Option<(f64, String)>,
        /// Axis titles (x, y).
        axes: (&'a str, &'a str),
    },
    /// Lines of y against x, with axis titles.
    Lines {
        /// One line per method.
        lines: &'a [Line],
        /// Axis titles (x, y).
        axes: (&'a str, &'a str),
    },
    /// Bars grouped by category (method): one bar per series (a test-set variant) in each
    /// group, coloured by series, with a legend and error bars.
    GroupedBars {
        /// `(category, one value per series)`.
        groups: &'a [(String, Vec<Spread>)],
        /// Series names, in bar order.
        series: &'a [String],
        /// y axis title.
        y_axis: &'a str,
    },
    /// Bars stacked per category (method): one segment per series (a phase), coloured by
    /// series, with a legend and the total above each bar.
    StackedBars {
        /// `(category, one non-negative value per series)`.
        groups: &'a [(String, Vec<f64>)],
        /// Series names, bottom segment first.
        series: &'a [String],
        /// y axis title.
        y_axis: &'a str,
    },
    /// One point per category (method) with an interval that need not be symmetric (a
    /// bootstrap interval), and a horizontal reference line `(y, label)`.
    Intervals {
        /// `(label, value, (lo, hi))`.
        points: &'a [(String, f64, (f64, f64))],
        /// Horizontal reference line.
        reference: Option<(f64, String)>,
        /// y axis title.
        y_axis: &'a str,
    },
    /// One point per category (method) with a vertical bar.
    Points {
        /// `(label, value ± half)`.
        points: &'a [(String, Spread)],
        /// y axis title.
        y_axis: &'a str,
    },
}

/// The series legend in the upper right corner, in `size`-point type, on a translucent box.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    size: u32,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, size))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

/// The x-axis formatter of a categorical chart whose categories sit at 0, 1, 2, ...: the label
/// of the category at an integer position, nothing elsewhere.
fn index_labels(labels: Vec<String>) -> impl Fn(&f64) -> String {
    move |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    }
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let pad = if hi > lo { 0.08 * (hi - lo) } else { 1.0 };
    (lo - pad, hi + pad)
}

fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

/// A chart that can draw itself on any plotters backend, so that [`write_chart`] writes it as
/// PNG and SVG alike.
pub trait Drawable {
    /// Draws the chart, captioned `title`, on `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, title: &str) -> Result<()>;
}

impl Drawable for EvalChart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, title: &str) -> Result<()> {
        match self {
            EvalChart::Scatter {
                points,
                reference,
                axes,
            } => draw_scatter(area, title, points, reference.as_ref(), *axes),
            EvalChart::Lines { lines, axes } => draw_lines(area, title, lines, *axes),
            EvalChart::Points { points, y_axis } => draw_points(area, title, points, y_axis),
            EvalChart::StackedBars {
                groups,
                series,
                y_axis,
            } => draw_stacked_bars(area, title, groups, series, y_axis),
            EvalChart::Intervals {
                points,
                reference,
                y_axis,
            } => draw_intervals(area, title, points, reference.as_ref(), y_axis),
            EvalChart::GroupedBars {
                groups,
                series,
                y_axis,
            } => draw_grouped_bars(area, title, groups, series, y_axis),
        }
    }
}

/// A chart over the `x` and `y` ranges with its grid and axis titles drawn.
fn xy_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: (f64, f64),
    y: (f64, f64),
    axes: (&str, &str),
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

fn draw_scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    points: &[ScatterPoint],
    reference: Option<&(f64, String)>,
    axes: (&str, &str),
) -> Result<()> {
    let xs = points.iter().flat_map(|p| {
        let h = p.x.half.unwrap_or(0.0);
        [p.x.value - h, p.x.value + h]
    });
    let ys = points
        .iter()
        .flat_map(|p| {
            let h = p.y.half.unwrap_or(0.0);
            [p.y.value - h, p.y.value + h]
        })
        .chain(reference.map(|r| r.0));
    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (bounds(xs), bounds(ys)) else {
        return draw_no_data(area, title);
    };
    let (x_lo, x_hi) = padded(x_lo, x_hi);
    let mut chart = xy_chart(area, title, (x_lo, x_hi), padded(y_lo, y_hi), axes)?;
    if let Some((y, label)) = reference {
        let grey = RGBColor(110, 110, 110);
        chart
            .draw_series(DashedLineSeries::new(
                [(x_lo, *y), (x_hi, *y)],
                8,
                6,
                grey.stroke_width(2),
            ))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (x_lo + 0.01 * (x_hi - x_lo), *y + 0.015 * (y_hi - y_lo)),
                (FONT, 15).into_font().color(&grey),
            )))
            .map_err(plot_error)?;
    }
    for (i, p) in points.iter().enumerate() {
        let c = colour(i);
        if let Some(h) = p.x.half {
            chart
                .draw_series(std::iter::once(ErrorBar::new_horizontal(
                    p.y.value,
                    p.x.value - h,
                    p.x.value,
                    p.x.value + h,
                    c.stroke_width(2),
                    10,
                )))
                .map_err(plot_error)?;
        }
        if let Some(h) = p.y.half {
            chart
                .draw_series(std::iter::once(ErrorBar::new_vertical(
                    p.x.value,
                    p.y.value - h,
                    p.y.value,
                    p.y.value + h,
                    c.stroke_width(2),
                    10,
                )))
                .map_err(plot_error)?;
        }
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.x.value, p.y.value),
                7,
                c.filled(),
            )))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Text::new(
                p.label.clone(),
                (p.x.value, p.y.value),
                (FONT, 16)
                    .into_font()
                    .color(&c)
                    .pos(Pos::new(HPos::Left, VPos::Bottom)),
            )))
            .map_err(plot_error)?;
    }
    Ok(())
}

fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    lines: &[Line],
    axes: (&str, &str),
) -> Result<()> {
    let all = lines.iter().flat_map(|l| l.points.iter());
    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) =
        (bounds(all.clone().map(|p| p.0)), bounds(all.map(|p| p.1)))
    else {
        return draw_no_data(area, title);
    };
    let (x_lo, x_hi) = padded(x_lo, x_hi);
    let mut chart = xy_chart(area, title, (x_lo, x_hi), padded(y_lo, y_hi), axes)?;
    for (i, line) in lines.iter().enumerate() {
        let c = colour(i);
        chart
            .draw_series(LineSeries::new(line.points.clone(), c.stroke_width(2)))
            .map_err(plot_error)?
            .label(line.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(3)));
        chart
            .draw_series(
                line.points
                    .iter()
                    .map(move |&p| Circle::new(p, 4, c.filled())),
            )
            .map_err(plot_error)?;
    }
    draw_legend(&mut chart, 15)
}

/// A chart whose categories sit at x = 0, 1, ..., labelled below, over `y`.
fn category_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    labels: Vec<String>,
    y: (f64, f64),
    y_axis: &str,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let n = labels.len();
    let label_of = index_labels(labels);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, y.0..y.1)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&label_of)
        .y_desc(y_axis)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

fn draw_stacked_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    groups: &[(String, Vec<f64>)],
    series: &[String],
    y_axis: &str,
) -> Result<()> {
    let totals: Vec<f64> = groups
        .iter()
        .map(|(_, v)| v.iter().filter(|x| x.is_finite()).map(|x| x.max(0.0)).sum())
        .collect();
    let Some((_, y_hi)) = bounds(totals.iter().copied()).filter(|b| b.1 > 0.0) else {
        return draw_no_data(area, title);
    };
    let labels = groups.iter().map(|g| g.0.clone()).collect();
    // Head room for the totals and the legend.
    let mut chart = category_chart(area, title, labels, (0.0, y_hi * 1.4), y_axis)?;
    for (k, name) in series.iter().enumerate() {
        let c = colour(k);
        let segments: Vec<(f64, f64, f64)> = groups
            .iter()
            .enumerate()
            .map(|(g, (_, v))| {
                let below: f64 = v[..k]
                    .iter()
                    .filter(|x| x.is_finite())
                    .map(|x| x.max(0.0))
                    .sum();
                let own = v
                    .get(k)
                    .copied()
                    .filter(|x| x.is_finite())
                    .unwrap_or(0.0)
                    .max(0.0);
                (g as f64, below, below + own)
            })
            .collect();
        chart
            .draw_series(
                segments.iter().map(|&(x, lo, hi)| {
                    Rectangle::new([(x - 0.35, lo), (x + 0.35, hi)], c.filled())
                }),
            )
            .map_err(plot_error)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
    }
    chart
        .draw_series(totals.iter().enumerate().map(|(g, &t)| {
            Text::new(
                format_total(t),
                (g as f64, t + 0.02 * y_hi),
                (FONT, 14)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))
        .map_err(plot_error)?;
    draw_legend(&mut chart, 14)
}

/// A bar total with three significant digits.
fn format_total(t: f64) -> String {
    if t >= 100.0 {
        format!("{t:.0}")
    } else if t >= 10.0 {
        format!("{t:.1}")
    } else {
        format!("{t:.2}")
    }
}

fn draw_intervals<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    points: &[(String, f64, (f64, f64))],
    reference: Option<&(f64, String)>,
    y_axis: &str,
) -> Result<()> {
    let ys = points
        .iter()
        .flat_map(|(_, v, (lo, hi))| [*v, *lo, *hi])
        .chain(reference.map(|r| r.0));
    let Some((y_lo, y_hi)) = bounds(ys) else {
        return draw_no_data(area, title);
    };
    let (y_lo, y_hi) = padded(y_lo, y_hi);
    let labels = points.iter().map(|p| p.0.clone()).collect();
    let mut chart = category_chart(area, title, labels, (y_lo, y_hi), y_axis)?;
    if let Some((y, label)) = reference {
        let grey = RGBColor(110, 110, 110);
        let x_hi = points.len() as f64 - 0.5;
        chart
            .draw_series(DashedLineSeries::new(
                [(-0.5, *y), (x_hi, *y)],
                8,
                6,
                grey.stroke_width(2),
            ))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (-0.45, *y + 0.015 * (y_hi - y_lo)),
                (FONT, 15).into_font().color(&grey),
            )))
            .map_err(plot_error)?;
    }
    for (i, (_, value, (lo, hi))) in points.iter().enumerate() {
        let c = colour(i);
        let x = i as f64;
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                x,
                *lo,
                *value,
                *hi,
                c.stroke_width(2),
                16,
            )))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Circle::new((x, *value), 7, c.filled())))
            .map_err(plot_error)?;
    }
    Ok(())
}

fn draw_points<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    points: &[(String, Spread)],
    y_axis: &str,
) -> Result<()> {
    let ys = points.iter().flat_map(|(_, s)| {
        let h = s.half.unwrap_or(0.0);
        [s.value - h, s.value + h]
    });
    let Some((y_lo, y_hi)) = bounds(ys) else {
        return draw_no_data(area, title);
    };
    let labels = points.iter().map(|p| p.0.clone()).collect();
    let mut chart = category_chart(area, title, labels, padded(y_lo, y_hi), y_axis)?;
    for (i, (_, s)) in points.iter().enumerate() {
        let c = colour(i);
        let x = i as f64;
        if let Some(h) = s.half {
            chart
                .draw_series(std::iter::once(ErrorBar::new_vertical(
                    x,
                    s.value - h,
                    s.value,
                    s.value + h,
                    c.stroke_width(2),
                    16,
                )))
                .map_err(plot_error)?;
        }
        chart
            .draw_series(std::iter::once(Circle::new((x, s.value), 7, c.filled())))
            .map_err(plot_error)?;
    }
    Ok(())
}

fn draw_grouped_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    groups: &[(String, Vec<Spread>)],
    series: &[String],
    y_axis: &str,
) -> Result<()> {
    let tops = groups
        .iter()
        .flat_map(|(_, v)| v.iter().map(|s| s.value + s.half.unwrap_or(0.0)));
    let Some((_, y_hi)) = bounds(tops.chain(std::iter::once(0.0))) else {
        return draw_no_data(area, title);
    };
    let y_hi = if y_hi > 0.0 { y_hi * 1.12 } else { 1.0 };
    let labels = groups.iter().map(|g| g.0.clone()).collect();
    let mut chart = category_chart(area, title, labels, (0.0, y_hi), y_axis)?;
    let width = 0.8 / series.len().max(1) as f64;
    for (k, name) in series.iter().enumerate() {
        let c = colour(k);
        let bars: Vec<(f64, Spread)> = groups
            .iter()
            .enumerate()
            .filter_map(|(g, (_, v))| {
                let s = *v.get(k)?;
                s.value
                    .is_finite()
                    .then_some((g as f64 - 0.4 + width * k as f64, s))
            })
            .collect();
        chart
            .draw_series(
                bars.iter().map(|&(x, s)| {
                    Rectangle::new([(x, 0.0), (x + width * 0.9, s.value)], c.filled())
                }),
            )
            .map_err(plot_error)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        chart
            .draw_series(bars.iter().filter_map(|&(x, s)| {
                let h = s.half?;
                let mid = x + width * 0.45;
                Some(ErrorBar::new_vertical(
                    mid,
                    s.value - h,
                    s.value,
                    s.value + h,
                    BLACK.stroke_width(1),
                    4,
                ))
            }))
            .map_err(plot_error)?;
    }
    draw_legend(&mut chart, 14)
}

/// Draws `chart` to `<dir>/<stem>.png` and `<dir>/<stem>.svg` (each atomically); returns both
/// paths.
pub fn write_chart(
    dir: &Path,
    stem: &str,
    chart: &impl Drawable,
    title: &str,
) -> Result<Vec<PathBuf>> {
    crate::report::ensure_font()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let png = dir.join(format!("{stem}.png"));
    records::replace_png_atomic(&png, |tmp| {
        let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        chart.draw(&root, title)?;
        root.present().map_err(plot_error)
    })
    .with_context(|| format!("drawing {}", png.display()))?;
    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    (|| -> Result<()> {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        chart.draw(&root, title)?;
        root.present().map_err(plot_error)
    })()
    .with_context(|| format!("drawing {}", svg_path.display()))?;
    records::write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png, svg_path])
}
