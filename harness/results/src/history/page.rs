//! `history html`: the history as one static, self-contained page (the report's HTML toolkit,
//! inline SVG): the detected steps first, as a table naming the run and commit where each
//! metric moved, then per metric and (dataset, model, condition) a trend chart with one line
//! per method (a dot per run) and each step marked with a red ring on the first run at its new
//! level.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::series::Series;
use super::step_report::{find_steps, FoundStep};
use crate::report::html::{escape, Page};

/// Line colours, one per method in order of appearance.
const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// The page for `metrics`, each with its series (from [`super::series::series`]).
pub fn history_page(db_name: &str, metrics: &[(String, Vec<Series>)]) -> String {
    let mut page = Page::new(&format!("mixbench history: {db_name}"));
    page.heading(1, &format!("mixbench history: {db_name}"));
    let steps: Vec<_> = metrics.iter().flat_map(|(_, s)| find_steps(s)).collect();
    page.heading(2, "Steps");
    let method =
        "a piecewise-constant fit with a penalty; see docs/regression-and-history.md, History";
    page.paragraph(&match steps.len() {
        0 => format!("No step detected ({method})."),
        n => format!(
            "{n} step(s) detected ({method}). Each row names the first run at the new level."
        ),
    });
    let rows: Vec<Vec<(String, Option<String>)>> = steps
        .iter()
        .map(|s| {
            vec![
                (s.series.metric.clone(), None),
                (s.series.label(), None),
                (format!("{:.4}", s.before), None),
                (format!("{:.4}", s.after), None),
                (format!("{:+.4}", s.after - s.before), None),
                (s.at.run.clone(), None),
                (s.at.commit.clone(), None),
                (s.at.run_date.clone(), None),
            ]
        })
        .collect();
    if !rows.is_empty() {
        page.table(
            &[
                "metric", "series", "before", "after", "change", "run", "commit", "run date",
            ],
            &rows,
        );
    }
    for (metric, series) in metrics {
        page.heading(2, metric);
        let mut groups: BTreeMap<String, Vec<&Series>> = BTreeMap::new();
        for s in series {
            let mut key = format!("{}/{}", s.dataset, s.model);
            if !s.condition.is_empty() {
                key.push_str(&format!(" [{}]", s.condition));
            }
            groups.entry(key).or_default().push(s);
        }
        for (group, members) in groups {
            let caption = format!("{metric}, {group}: mean over seeds per run; red rings: steps");
            page.svg(&trend_chart(&members, &steps), &caption);
        }
    }
    page.finish()
}

/// A line chart of `series` over the runs (x: run order; y: the means), with each series'
/// steps (those of `steps` on it) ringed.
fn trend_chart(series: &[&Series], steps: &[FoundStep]) -> String {
    let (width, height, left, right, top, bottom) = (720.0, 280.0, 70.0, 170.0, 15.0, 45.0);
    let runs = series.iter().map(|s| s.points.len()).max().unwrap_or(0);
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.mean));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let x = |i: usize| left + plot_w * i as f64 / (runs.max(2) - 1) as f64;
    let y = |v: f64| top + plot_h * (hi - v) / (hi - lo);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\
         <rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" \
         stroke=\"#999\"/>"
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.3}</text>",
            left - 4.0,
            y(v) + 4.0
        );
    }
    if let Some(first) = series.iter().find(|s| !s.points.is_empty()) {
        let points = &first.points;
        let ends = [
            (0, &points[0]),
            (points.len() - 1, &points[points.len() - 1]),
        ];
        for &(i, label) in &ends[..points.len().min(2)] {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x(i),
                height - bottom + 16.0,
                escape(&label.run_date)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">run ({} in all)</text>",
            left + plot_w / 2.0,
            height - 8.0,
            points.len()
        );
    }
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let path: Vec<String> = s
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.mean)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\" points=\"{}\"/>",
            path.join(" ")
        );
        for (i, p) in s.points.iter().enumerate() {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\"/>",
                x(i),
                y(p.mean)
            );
        }
        for step in steps.iter().filter(|step| std::ptr::eq(step.series, *s)) {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"6\" fill=\"none\" stroke=\"#d00\" \
                 stroke-width=\"2\"><title>step at {}</title></circle>",
                x(step.index),
                y(step.after),
                escape(&step.at.run)
            );
        }
        let legend_y = top + 14.0 * k as f64 + 8.0;
        let _ = write!(
            svg,
            "<line x1=\"{}\" y1=\"{legend_y}\" x2=\"{}\" y2=\"{legend_y}\" stroke=\"{colour}\" \
             stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{}</text>",
            width - right + 10.0,
            width - right + 30.0,
            width - right + 35.0,
            legend_y + 4.0,
            escape(&s.method)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::series::Point;

    /// A series with a step gets a steps-table row naming the run, a chart with one line per
    /// method and a ring at the step; a flat one gets its line and no ring.
    #[test]
    fn steps_come_first_and_are_ringed_in_the_trend_charts() {
        let points = |values: &[f64]| -> Vec<Point> {
            values
                .iter()
                .enumerate()
                .map(|(i, &mean)| Point {
                    run: format!("night-{i:02}"),
                    run_date: format!("2026-11-{:02}", i + 1),
                    commit: format!("c{i}"),
                    n: 2,
                    mean,
                })
                .collect()
        };
        let wobble = |base: f64, i: usize| base + [0.01, -0.02, 0.015, -0.01][i % 4];
        let flat: Vec<f64> = (0..16).map(|i| wobble(50.0, i)).collect();
        let stepped: Vec<f64> = (0..16)
            .map(|i| wobble(if i < 9 { 50.0 } else { 47.0 }, i))
            .collect();
        let series = |method: &str, values: &[f64]| Series {
            metric: "top1_last".into(),
            dataset: "cifar10".into(),
            model: "small_cnn".into(),
            method: method.into(),
            condition: String::new(),
            points: points(values),
        };
        let html = history_page(
            "h.sqlite",
            &[(
                "top1_last".into(),
                vec![series("vanilla", &flat), series("mixup", &stepped)],
            )],
        );
        let steps_at = html.find("<h2>Steps</h2>").unwrap();
        let chart_at = html.find("<svg").unwrap();
        assert!(steps_at < chart_at, "the steps table comes first");
        assert!(html.contains("<td>night-09</td><td>c9</td>"), "{html}");
        assert_eq!(html.matches("<polyline").count(), 2);
        // Every point a dot (2 x 16), and one red ring.
        assert_eq!(html.matches("<circle").count(), 33);
        assert_eq!(html.matches("stroke=\"#d00\"").count(), 1);
        assert!(html.contains("step at night-09"));
    }
}
