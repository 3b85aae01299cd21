//! The claims chart: published (x) against measured (y) values, one point per claim with its
//! interval as a vertical bar and the diagonal `y = x` where a reproduction lands, drawn with
//! plotters on PNG and SVG like the report's other charts (same size, font and palette).

use std::path::{Path, PathBuf};

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::charts::{colour, draw_no_data, plot_error, FONT};
use crate::report::eval_charts::{write_chart, Drawable};

/// One claim on the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Short label (the claim id).
    pub label: String,
    /// Published value.
    pub published: f64,
    /// Measured estimate.
    pub measured: f64,
    /// Interval of the estimate.
    pub interval: (f64, f64),
    /// Verdict word, shown after the label.
    pub verdict: String,
}

fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    axis: &str,
    points: &[Point],
) -> Result<()> {
    let values = points
        .iter()
        .flat_map(|p| [p.published, p.measured, p.interval.0, p.interval.1])
        .filter(|v| v.is_finite());
    let Some((lo, hi)) = values.fold(None, |acc: Option<(f64, f64)>, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    }) else {
        return draw_no_data(area, title);
    };
    let pad = if hi > lo { 0.08 * (hi - lo) } else { 1.0 };
    let (lo, hi) = (lo - pad, hi + pad);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(lo..hi, lo..hi)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc(format!("published {axis}"))
        .y_desc(format!("measured {axis}"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    let grey = RGBColor(110, 110, 110);
    chart
        .draw_series(DashedLineSeries::new(
            [(lo, lo), (hi, hi)],
            8,
            6,
            grey.stroke_width(2),
        ))
        .map_err(plot_error)?;
    for (i, p) in points.iter().enumerate() {
        let c = colour(i);
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                p.published,
                p.interval.0,
                p.measured,
                p.interval.1,
                c.stroke_width(2),
                10,
            )))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.published, p.measured),
                6,
                c.filled(),
            )))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{} ({})", p.label, p.verdict),
                (p.published, p.measured),
                (FONT, 14)
                    .into_font()
                    .color(&c)
                    .pos(Pos::new(HPos::Left, VPos::Bottom)),
            )))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// The published-versus-measured chart of a claims file, on the report's chart writer.
struct ClaimsChart<'a> {
    axis: &'a str,
    points: &'a [Point],
}

impl Drawable for ClaimsChart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, title: &str) -> Result<()> {
        draw(area, title, self.axis, self.points)
    }
}

/// Draws the chart to `<dir>/<stem>.png` and `.svg` (each atomically); returns both paths.
pub fn write(
    dir: &Path,
    stem: &str,
    title: &str,
    axis: &str,
    points: &[Point],
) -> Result<Vec<PathBuf>> {
    write_chart(dir, stem, &ClaimsChart { axis, points }, title)
}
