//! Drawing the three plot kinds on any plotters backend (bitmap for PNG, SVG), from the series
//! of `plot_data`. Text uses the font family [`FONT`], which `plots` registers (DejaVu Sans,
//! compiled in) before anything is drawn.

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32, RangedCoordusize};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot_data::{Curve, FinalPoint, PhaseBar, PHASES};

/// Font family every text of a chart uses.
pub(crate) const FONT: &str = "sans-serif";

/// Tableau 10: distinguishable colours, reused in order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the `i`-th series (shared with the evaluation charts).
pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A plot, ready to be drawn on any backend.
pub(crate) enum Chart<'a> {
    /// Test top-1 per epoch, one line (mean) and band (min-max) per method.
    Accuracy(&'a [Curve]),
    /// Last-epoch test top-1 per method: each seed, mean and ±1 std.
    Final(&'a [FinalPoint]),
    /// Mean seconds per epoch per method, stacked by phase.
    EpochTime(&'a [PhaseBar]),
}

impl Chart<'_> {
    /// Draws the chart with its title onto `area` (already filled with the background).
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> Result<()> {
        match self {
            Chart::Accuracy(curves) => draw_accuracy(area, title, curves),
            Chart::Final(points) => draw_final(area, title, points),
            Chart::EpochTime(bars) => draw_epoch_time(area, title, bars),
        }
    }
}

/// Turns a plotters error (whose type depends on the backend) into an [`anyhow::Error`].
pub(crate) fn plot_error<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing: {e}")
}

/// `[lo, hi]` widened by 5 % of its span on each side, or by 1 on each side if it is a
/// single value.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
    (lo - pad, hi + pad)
}

/// Categorical x axis of `n` items: item `i` is the segment from `Exact(i)` to `Exact(i + 1)`,
/// labelled at `CenterOf(i)`. A single item sits in the middle of three segments (plotters
/// cannot map a one-value range).
fn categories(n: usize) -> SegmentedCoord<RangedCoordi32> {
    match n {
        0 | 1 => (-1..1).into_segmented(),
        _ => (0..n as i32 - 1).into_segmented(),
    }
}

/// Axis text of a category position (only segment centres carry a label).
fn category_label(labels: &[String], x: &SegmentValue<i32>) -> String {
    match x {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| labels.get(i))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Share of its category's width left free on each side of a bar.
const BAR_GAP: f64 = 0.2;

/// Width in pixels of the legend column beside the stacked bars.
const LEGEND_WIDTH: u32 = 190;

/// Writes "no data" in the middle of an empty chart, so an empty group still yields a file.
pub(crate) fn draw_no_data<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<()> {
    let area = area
        .margin(8, 0, 0, 0)
        .titled(title, (FONT, 22))
        .map_err(plot_error)?;
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text("no data", &style, (w as i32 / 2, h as i32 / 2))
        .map_err(plot_error)
}

/// Line chart of test top-1 per epoch.
fn draw_accuracy<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    curves: &[Curve],
) -> Result<()> {
    let points = curves.iter().flat_map(|c| c.points.iter());
    let Some(last_epoch) = points.clone().map(|p| p.epoch).max() else {
        return draw_no_data(area, title);
    };
    let lo = points.clone().map(|p| p.min).fold(f64::INFINITY, f64::min);
    let hi = points.map(|p| p.max).fold(f64::NEG_INFINITY, f64::max);
    let (y_lo, y_hi) = padded(lo, hi);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0..last_epoch.max(1), y_lo..y_hi)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("test top-1 (%)")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    for (i, curve) in curves.iter().enumerate() {
        draw_curve(&mut chart, curve, colour(i))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .label_font((FONT, 15))
        .draw()
        .map_err(plot_error)
}

/// One method's min-max band, mean line (a dot if there is a single epoch) and legend entry.
fn draw_curve<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordusize, RangedCoordf64>>,
    curve: &Curve,
    c: RGBColor,
) -> Result<()> {
    let upper = curve.points.iter().map(|p| (p.epoch, p.max));
    let lower = curve.points.iter().rev().map(|p| (p.epoch, p.min));
    let band = Polygon::new(upper.chain(lower).collect::<Vec<_>>(), c.mix(0.15));
    chart
        .draw_series(std::iter::once(band))
        .map_err(plot_error)?;
    let line = curve.points.iter().map(|p| (p.epoch, p.mean));
    chart
        .draw_series(LineSeries::new(line, c.stroke_width(2)))
        .map_err(plot_error)?
        .label(curve.label.as_str())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
    if let [p] = curve.points.as_slice() {
        let dot = Circle::new((p.epoch, p.mean), 4, c.filled());
        chart
            .draw_series(std::iter::once(dot))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// Each seed's last-epoch top-1 (hollow circles), the mean (filled) and ±1 std (error bar).
fn draw_final<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    points: &[FinalPoint],
) -> Result<()> {
    let values: Vec<f64> = points
        .iter()
        .flat_map(|p| p.values.iter().copied())
        .collect();
    if values.is_empty() {
        return draw_no_data(area, title);
    }
    let spread = points.iter().filter_map(|p| Some((p.mean?, p.std?)));
    let lo = spread
        .clone()
        .map(|(m, s)| m - s)
        .chain(values.iter().copied())
        .fold(f64::INFINITY, f64::min);
    let hi = spread
        .map(|(m, s)| m + s)
        .chain(values.iter().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    let (y_lo, y_hi) = padded(lo, hi);
    let labels: Vec<String> = points.iter().map(|p| p.label.clone()).collect();
    let label_of = |x: &SegmentValue<i32>| category_label(&labels, x);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(categories(points.len()), y_lo..y_hi)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&label_of)
        .y_desc("final test top-1 (%)")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    for (i, point) in points.iter().enumerate() {
        let (x, c) = (|| SegmentValue::CenterOf(i as i32), colour(i));
        let seeds = point
            .values
            .iter()
            .map(move |&v| Circle::new((x(), v), 5, c.stroke_width(2)));
        chart.draw_series(seeds).map_err(plot_error)?;
        if let (Some(mean), Some(std)) = (point.mean, point.std) {
            let bar =
                ErrorBar::new_vertical(x(), mean - std, mean, mean + std, c.stroke_width(2), 16);
            chart
                .draw_series(std::iter::once(bar))
                .map_err(plot_error)?;
        }
        if let Some(mean) = point.mean {
            chart
                .draw_series(std::iter::once(Circle::new((x(), mean), 6, c.filled())))
                .map_err(plot_error)?;
        }
    }
    Ok(())
}

/// Stacked bars of mean seconds per epoch by phase, one bar per method, with the legend in a
/// column of its own so that it never hides a bar.
fn draw_epoch_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    bars: &[PhaseBar],
) -> Result<()> {
    let total = |b: &PhaseBar| b.seconds.iter().sum::<f64>();
    let top = bars.iter().map(total).fold(0.0, f64::max);
    if top <= 0.0 {
        return draw_no_data(area, title);
    }
    let area = area
        .margin(8, 0, 0, 0)
        .titled(title, (FONT, 22))
        .map_err(plot_error)?;
    let (plot, legend) =
        area.split_horizontally(area.dim_in_pixel().0.saturating_sub(LEGEND_WIDTH));
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    // Each category's width in pixels: the plot's width over its segments (a single bar sits
    // in the middle of three, see `categories`).
    let (y_label_width, chart_margin) = (64, 16);
    let segments = if bars.len() < 2 { 3 } else { bars.len() as u32 };
    let category_px = plot
        .dim_in_pixel()
        .0
        .saturating_sub(y_label_width + 2 * chart_margin)
        / segments;
    // Labels wider than their category are turned to read upwards, below their bar.
    let label_font = TextStyle::from((FONT, 15).into_font());
    let mut widest = 0;
    for label in &labels {
        widest = widest.max(
            plot.estimate_text_size(label, &label_font)
                .map_err(plot_error)?
                .0,
        );
    }
    let upright = widest <= category_px;
    let x_label_area = if upright { 48 } else { 24 + widest };
    // Turned labels are drawn below (see there), not by the mesh.
    let label_of = |x: &SegmentValue<i32>| {
        if upright {
            category_label(&labels, x)
        } else {
            String::new()
        }
    };
    let mut chart = ChartBuilder::on(&plot)
        .margin(chart_margin)
        .x_label_area_size(x_label_area)
        .y_label_area_size(y_label_width)
        .build_cartesian_2d(categories(bars.len()), 0.0..top * 1.05)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&label_of)
        .y_desc("seconds per epoch")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    if !upright {
        // Turned labels, drawn here: plotters centres a turned text on its anchor, so each is
        // anchored half its length below the axis, its end just under its bar.
        let style = label_font
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center));
        let (base_x, base_y) = plot.get_base_pixel();
        for (i, label) in labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(SegmentValue::CenterOf(i as i32), 0.0));
            let (length, _) = plot.estimate_text_size(label, &style).map_err(plot_error)?;
            let anchor = (x - base_x, y - base_y + 8 + length as i32 / 2);
            plot.draw(&Text::new(label.clone(), anchor, &style))
                .map_err(plot_error)?;
        }
    }
    let bar_gap = (BAR_GAP * category_px as f64) as u32;
    let mut entries = Vec::new();
    for (phase, name) in PHASES.iter().enumerate() {
        if bars.iter().all(|b| b.seconds[phase] <= 0.0) {
            continue;
        }
        let c = colour(phase);
        let rects = bars.iter().enumerate().map(|(i, b)| {
            let base: f64 = b.seconds[..phase].iter().sum();
            let (left, right) = (
                SegmentValue::Exact(i as i32),
                SegmentValue::Exact(i as i32 + 1),
            );
            let mut bar =
                Rectangle::new([(left, base), (right, base + b.seconds[phase])], c.filled());
            bar.set_margin(0, 0, bar_gap, bar_gap);
            bar
        });
        chart.draw_series(rects).map_err(plot_error)?;
        entries.push((*name, c));
    }
    // Top of the legend = top of the stack.
    entries.reverse();
    draw_legend(&legend, &entries)
}

/// A legend of filled squares and names, top-down, in its own drawing area.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(&str, RGBColor)],
) -> Result<()> {
    let style = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (k, (name, c)) in entries.iter().enumerate() {
        let y = 32 + 24 * k as i32;
        area.draw(&Rectangle::new([(8, y - 7), (22, y + 7)], c.filled()))
            .map_err(plot_error)?;
        area.draw_text(name, &style, (30, y)).map_err(plot_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width in pixels of each run of `colour` along row `y` of an RGB buffer `width` wide.
    fn runs(buffer: &[u8], width: usize, y: usize, colour: RGBColor) -> Vec<usize> {
        let mut out = Vec::new();
        let mut run = 0;
        for x in 0..width {
            let p = &buffer[(y * width + x) * 3..][..3];
            if (p[0], p[1], p[2]) == (colour.0, colour.1, colour.2) {
                run += 1;
            } else if run > 0 {
                out.push(run);
                run = 0;
            }
        }
        out
    }

    /// Eight methods with long labels (the quickstart's chart): every bar keeps a width of the
    /// order of its category (the fixed 40-pixel margins drew 4-pixel bars).
    #[test]
    fn eight_bars_keep_the_width_of_their_categories() {
        super::super::ensure_font().unwrap();
        let methods = [
            "vanilla",
            "comixup",
            "cutmix",
            "manifold",
            "mixup",
            "puzzlemix",
            "sage",
            "saliencymix",
        ];
        let bars: Vec<PhaseBar> = methods
            .iter()
            .map(|m| PhaseBar {
                label: format!("{m} (n=1)"),
                seconds: [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
            })
            .collect();
        let (width, height) = (960usize, 600usize);
        let mut buffer = vec![0u8; width * height * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (width as u32, height as u32))
                .into_drawing_area();
            root.fill(&WHITE).unwrap();
            Chart::EpochTime(&bars).draw(&root, "t").unwrap();
            root.present().unwrap();
        }
        // Phase 3 (forward_backward) fills every bar from 0 to its top; look half-way up.
        let colour = colour(3);
        let row = (0..height)
            .find(|&y| runs(&buffer, width, y, colour).len() == methods.len())
            .expect("a row crossing all eight bars");
        let widths = runs(&buffer, width, row + 40, colour);
        assert_eq!(widths.len(), methods.len(), "{widths:?}");
        assert!(widths.iter().all(|&w| w >= 40), "{widths:?}");
    }
}
