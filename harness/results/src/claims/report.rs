//! The outputs of a verification: `claims.csv`, the "Claims" section of `report.md` and the
//! published-versus-measured charts. The section and the charts are rebuilt from `claims.csv`
//! alone ([`ClaimsSection`]), so `mixbench report` keeps them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::chart::{self, Point};
use super::verdict::{fmt_p, Outcome, Verdict};
use crate::records;
use crate::report::{sanitise, Section, SectionSource, PLOTS_DIR, REPORT_MD};

/// File name of the verdicts, `RUN_DIR/claims.csv`: one row per claim, the columns of
/// [`Outcome`] in field order (a stable interface: new columns go at the end).
pub const CLAIMS_CSV: &str = "claims.csv";

/// Heading of the section in `report.md`.
const HEADING: &str = "## Claims";

/// Writes `claims.csv` atomically.
pub fn write_csv(run_dir: &Path, outcomes: &[Outcome]) -> Result<PathBuf> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for o in outcomes {
        writer.serialize(o)?;
    }
    let bytes = writer.into_inner().context("serialising claims.csv")?;
    let path = run_dir.join(CLAIMS_CSV);
    records::write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Reads `claims.csv`, naming the file and row in errors (the CSV reader of every run file).
pub fn read_csv(path: &Path) -> Result<Vec<Outcome>> {
    records::read_csv(path)
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_default()
}

/// Escapes a cell of a Markdown table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The section's Markdown for `outcomes`, linking `plots` (paths relative to the run folder).
pub fn markdown(outcomes: &[Outcome], plots: &[String]) -> String {
    let mut md = format!("{HEADING}\n\n");
    let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
    md.push_str(&format!(
        "`mixbench verify` checked {} claims: {} hold, {} fail, {} inconclusive (verdicts from \
         `{CLAIMS_CSV}`; tests at the claims file's alpha with Holm's correction within each file, \
         intervals at level 1 - 2 alpha; see docs/claims.md).\n\n",
        outcomes.len(),
        count(Verdict::Holds),
        count(Verdict::Fails),
        count(Verdict::Inconclusive)
    ));
    let mut files: Vec<&str> = Vec::new();
    for o in outcomes {
        if !files.contains(&o.file.as_str()) {
            files.push(&o.file);
        }
    }
    for file in files {
        md.push_str(&format!("### {file}\n\n"));
        md.push_str("| verdict | claim | source | data / model | compared | published | measured | interval | n | test | p (Holm) | evidence | cells |\n");
        md.push_str("|---|---|---|---|---|---:|---:|---|---|---|---|---|---|\n");
        for o in outcomes.iter().filter(|o| o.file == file) {
            let verdict = match o.reason {
                Some(r) => format!("**{}** ({})", o.verdict.name(), r.name()),
                None => format!("**{}**", o.verdict.name()),
            };
            let compared = if o.b.is_empty() {
                format!("{} {}", o.a, o.metric)
            } else {
                format!("{} vs {} {}", o.a, o.b, o.metric)
            };
            let interval = match (o.ci_low, o.ci_high, o.ci_level) {
                (Some(l), Some(h), Some(level)) => {
                    format!("[{l:.2}, {h:.2}] ({:.0}%)", 100.0 * level)
                }
                _ => String::new(),
            };
            let n = match (o.n_a, o.n_b) {
                (Some(a), Some(b)) => format!("{a} / {b}"),
                (Some(a), None) => a.to_string(),
                _ => String::new(),
            };
            let p = match (o.p, o.p_holm) {
                (Some(p), Some(h)) => format!("{} ({})", fmt_p(p), fmt_p(h)),
                _ => String::new(),
            };
            md.push_str(&format!(
                "| {verdict} | {} | {} | {} / {} | {} | {} | {} | {interval} | {n} | {} | {p} | {} | {} |\n",
                cell(&o.id),
                cell(&o.source),
                cell(&o.dataset),
                cell(&o.model),
                cell(&compared),
                num(o.published),
                num(o.estimate),
                cell(&o.test),
                cell(&o.detail),
                cell(&o.cells.replace(';', ", ")),
            ));
        }
        md.push('\n');
        for plot in plots
            .iter()
            .filter(|p| p.contains(&format!("claims-{}-", sanitise(file))))
        {
            md.push_str(&format!("![{plot}]({plot})\n\n"));
        }
    }
    md
}

/// Charts of the value and ratio claims that have a published value and a measurement: one
/// per claims file and metric (ratios as their own group), under `RUN_DIR/plots/`.
pub fn write_charts(run_dir: &Path, outcomes: &[Outcome]) -> Result<Vec<PathBuf>> {
    let mut groups: Vec<(String, String, Vec<Point>)> = Vec::new();
    for o in outcomes {
        let (Some(published), Some(measured), Some(lo), Some(hi)) =
            (o.published, o.estimate, o.ci_low, o.ci_high)
        else {
            continue;
        };
        let key = if o.kind == "ratio" {
            format!("{}-ratio-{}", o.file, o.metric)
        } else {
            format!("{}-{}", o.file, o.metric)
        };
        let point = Point {
            label: o.id.clone(),
            published,
            measured,
            interval: (lo, hi),
            verdict: o.verdict.name().into(),
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.2.push(point),
            None => {
                let axis = if o.kind == "ratio" {
                    format!("{} ratio", o.metric)
                } else {
                    o.metric.clone()
                };
                groups.push((key, axis, vec![point]));
            }
        }
    }
    let dir = run_dir.join(PLOTS_DIR);
    let mut written = Vec::new();
    for (key, axis, points) in groups {
        let stem = format!("claims-{}", sanitise(&key));
        let title = format!("{key}: published vs measured");
        written.extend(chart::write(&dir, &stem, &title, &axis, &points)?);
    }
    Ok(written)
}

/// The claims section of a run's report, rebuilt from its `claims.csv` (none when the run was
/// never verified).
pub struct ClaimsSection;

impl SectionSource for ClaimsSection {
    fn section(&self, run_dir: &Path) -> Result<Option<Section>> {
        let path = run_dir.join(CLAIMS_CSV);
        if !path.exists() {
            return Ok(None);
        }
        let outcomes = read_csv(&path)?;
        let plots = write_charts(run_dir, &outcomes)?;
        let relative: Vec<String> = plots
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .filter_map(|p| p.strip_prefix(run_dir).ok())
            .map(|p| p.display().to_string())
            .collect();
        Ok(Some(Section {
            markdown: markdown(&outcomes, &relative),
            plots,
            verdicts: true,
        }))
    }
}

/// Replaces the claims section of `RUN_DIR/report.md` with `section` (appending it when there
/// is none; creating the file when the run has no report), atomically. A copied report folder
/// has no cells to rebuild its report from, so verification edits the report in place.
pub fn splice(run_dir: &Path, section: &str) -> Result<PathBuf> {
    let path = run_dir.join(REPORT_MD);
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    // A leading newline lets a section at the very start be found like any other.
    let old = format!("\n{old}");
    let mut text = match old.find(&format!("\n{HEADING}\n")) {
        Some(start) => {
            let rest = &old[start + 1 + HEADING.len()..];
            // The section ends at the next second-level heading.
            let end = rest.find("\n## ").map(|i| i + 1);
            let mut kept = old[..start + 1].to_string();
            if let Some(end) = end {
                kept.push_str(&rest[end..]);
            }
            kept
        }
        None => old,
    };
    let mut text = text.split_off(1);
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
    }
    text.push_str(section);
    records::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_claims_section() {
        let tmp = tempfile::tempdir().unwrap();
        let report = tmp.path().join(REPORT_MD);
        std::fs::write(
            &report,
            "# Run\n\n## Training\n\nx\n\n## Claims\n\nold\n\n## Robustness\n\ny\n",
        )
        .unwrap();
        splice(tmp.path(), "## Claims\n\nnew\n").unwrap();
        let text = std::fs::read_to_string(&report).unwrap();
        assert_eq!(
            text,
            "# Run\n\n## Training\n\nx\n\n## Robustness\n\ny\n\n## Claims\n\nnew\n"
        );
        // Twice gives the same file.
        splice(tmp.path(), "## Claims\n\nnew\n").unwrap();
        assert_eq!(std::fs::read_to_string(&report).unwrap(), text);
        // A report that is only the section (a folder without one) is replaced, not grown.
        std::fs::remove_file(&report).unwrap();
        splice(tmp.path(), "## Claims\n\nfirst\n").unwrap();
        splice(tmp.path(), "## Claims\n\nsecond\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&report).unwrap(),
            "## Claims\n\nsecond\n"
        );
    }
}
