//! `report.html`: the run's report as one static, self-contained page (no script, no network
//! fetch): verdicts first when the run was verified (`claims.csv`), then every section of
//! `report.md` rendered from its Markdown with each chart's SVG inlined, then a table of the
//! cells whose numbers link to each cell's `metrics.csv` and `cell.json`.
//!
//! The Markdown renderer covers what mixbench's reports use: headings, pipe tables, bullet
//! lists, paragraphs, images (`![alt](plots/x.png)`, inlined from the `.svg` beside the PNG),
//! links, `**bold**` and `` `code` ``. [`Page`] is the small toolkit other pages (comparisons,
//! history) are built with.

use std::fmt::Write as _;
use std::path::Path;

use super::summary::SummaryRow;
use super::Section;

/// File name of the page, `RUN_DIR/report.html`.
pub const REPORT_HTML: &str = "report.html";

/// The page's style sheet (inline: the page fetches nothing).
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;\
padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:14px}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}\
td:first-child,th:first-child{text-align:left}code{background:#f6f6f6;padding:0 3px}\
.verdict-holds,.verdict-improved{color:#17651a;font-weight:bold}\
.verdict-fails,.verdict-regressed{color:#a11;font-weight:bold}\
.verdict-inconclusive,.verdict-changed{color:#8a5a00;font-weight:bold}\
figure{margin:1em 0}svg{max-width:100%;height:auto}a{color:#0645ad}";

/// An HTML page under construction: sections appended in order, rendered by [`Page::finish`].
pub struct Page {
    title: String,
    body: String,
}

impl Page {
    /// An empty page titled `title`.
    pub fn new(title: &str) -> Self {
        Page {
            title: title.to_string(),
            body: String::new(),
        }
    }

    /// A heading of `level` (1-4).
    pub fn heading(&mut self, level: u8, text: &str) {
        let level = level.clamp(1, 4);
        let _ = writeln!(self.body, "<h{level}>{}</h{level}>", inline(text));
    }

    /// A paragraph of Markdown-formatted inline text.
    pub fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", inline(text));
    }

    /// A table: `header` cells, then rows of cells, each cell optionally a link
    /// (`(text, Some(href))`). A cell whose text is a verdict word gets its colour class.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<(String, Option<String>)>]) {
        self.body.push_str("<table>\n<thead><tr>");
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", escape(h));
        }
        self.body.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            self.body.push_str("<tr>");
            for (text, href) in row {
                let class = verdict_class(text);
                let content = match href {
                    Some(href) => format!("<a href=\"{}\">{}</a>", escape(href), escape(text)),
                    None => escape(text),
                };
                match class {
                    Some(c) => {
                        let _ = write!(self.body, "<td class=\"{c}\">{content}</td>");
                    }
                    None => {
                        let _ = write!(self.body, "<td>{content}</td>");
                    }
                }
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody>\n</table>\n");
    }

    /// An inline SVG chart (its XML declaration dropped) with a caption.
    pub fn svg(&mut self, svg: &str, caption: &str) {
        let start = svg.find("<svg").unwrap_or(0);
        let _ = writeln!(
            self.body,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            &svg[start..],
            escape(caption)
        );
    }

    /// Markdown text (a report or a section of one), rendered; images whose `.svg` sibling
    /// exists under `base_dir` are inlined.
    pub fn markdown(&mut self, md: &str, base_dir: &Path) {
        render_markdown(md, base_dir, &mut self.body);
    }

    /// The complete document.
    pub fn finish(self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
            escape(&self.title),
            self.body
        )
    }
}

/// The run's page: verdict sections first, then the main report (`main`, Markdown), the other
/// sections, and the cells with links from their numbers to their files.
pub(crate) fn run_page(
    run: &str,
    run_dir: &Path,
    main: &str,
    sections: &[Section],
    rows: &[SummaryRow],
) -> String {
    let mut page = Page::new(&format!("mixbench report: {run}"));
    let (verdicts, others): (Vec<&Section>, Vec<&Section>) =
        sections.iter().partition(|s| s.verdicts);
    for section in verdicts {
        page.markdown(&section.markdown, run_dir);
    }
    page.markdown(main, run_dir);
    for section in others {
        page.markdown(&section.markdown, run_dir);
    }
    page.heading(2, "Cells");
    page.paragraph(
        "Every cell of the run; each number links to the file it comes from (`metrics.csv`: \
         one row per epoch; `cell.json`: provenance).",
    );
    let number = |v: Option<f64>, digits: usize, href: &str| {
        (
            v.map_or(String::new(), |v| format!("{v:.digits$}")),
            Some(href.to_string()),
        )
    };
    let table: Vec<Vec<(String, Option<String>)>> = rows
        .iter()
        .map(|r| {
            let metrics = format!("cells/{}/metrics.csv", r.cell);
            let info = format!("cells/{}/cell.json", r.cell);
            vec![
                (r.cell.clone(), Some(info.clone())),
                (r.status.clone(), None),
                (r.dataset.clone(), None),
                (r.model.clone(), None),
                (r.method.clone(), None),
                (r.seed.map_or(String::new(), |s| s.to_string()), None),
                (r.epochs_done.to_string(), Some(metrics.clone())),
                number(r.top1_last, 2, &metrics),
                number(r.top1_best, 2, &metrics),
                number(r.top1_median_last10, 2, &metrics),
                number(r.top5_last, 2, &metrics),
                number(r.epoch_time_mean, 3, &metrics),
                (r.config_hash.clone(), Some(info)),
            ]
        })
        .collect();
    page.table(
        &[
            "cell",
            "status",
            "dataset",
            "model",
            "method",
            "seed",
            "epochs",
            "top-1 last",
            "top-1 best",
            "top-1 median last 10",
            "top-5 last",
            "epoch time (s)",
            "config hash",
        ],
        &table,
    );
    page.finish()
}

/// `text` with `&`, `<`, `>` and `"` escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The colour class of a verdict word (`holds`, `fails`, `regressed`, ..., bold or not), if
/// `text` is one.
fn verdict_class(text: &str) -> Option<&'static str> {
    Some(match text.trim().trim_matches('*') {
        "holds" => "verdict-holds",
        "fails" => "verdict-fails",
        "inconclusive" => "verdict-inconclusive",
        "regressed" => "verdict-regressed",
        "improved" => "verdict-improved",
        "changed" => "verdict-changed",
        _ => return None,
    })
}

/// Inline Markdown: `` `code` ``, `**bold**`, `[text](href)`; everything else escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`') {
            if let Some(end) = after.find('`') {
                let _ = write!(out, "<code>{}</code>", escape(&after[..end]));
                rest = &after[end + 1..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("**") {
            if let Some(end) = after.find("**") {
                let _ = write!(out, "<strong>{}</strong>", inline(&after[..end]));
                rest = &after[end + 2..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix('[') {
            if let Some((label, href, used)) = link(after) {
                let _ = write!(out, "<a href=\"{}\">{}</a>", escape(href), inline(label));
                rest = &after[used..];
                continue;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push_str(&escape(&c.to_string()));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `label](href)` at the start of `text` (after a `[`): the label, the target and the bytes
/// used.
fn link(text: &str) -> Option<(&str, &str, usize)> {
    let close = text.find("](")?;
    let end = text[close + 2..].find(')')? + close + 2;
    Some((&text[..close], &text[close + 2..end], end + 1))
}

/// Renders the Markdown subset of mixbench's reports into `out`.
fn render_markdown(md: &str, base_dir: &Path, out: &mut String) {
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, out: &mut String| {
        if !paragraph.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", inline(&paragraph.join(" ")));
            paragraph.clear();
        }
    };
    while i < lines.len() {
        let line = lines[i].trim_end();
        if line.trim().is_empty() {
            flush(&mut paragraph, out);
        } else if let Some((level, text)) = heading(line) {
            flush(&mut paragraph, out);
            let _ = writeln!(out, "<h{level}>{}</h{level}>", inline(text));
        } else if line.starts_with('|') {
            flush(&mut paragraph, out);
            let start = i;
            while i < lines.len() && lines[i].starts_with('|') {
                i += 1;
            }
            table(&lines[start..i], out);
            continue;
        } else if let Some(item) = line.strip_prefix("- ") {
            flush(&mut paragraph, out);
            out.push_str("<ul>\n");
            let _ = writeln!(out, "<li>{}</li>", inline(item));
            while i + 1 < lines.len() && lines[i + 1].starts_with("- ") {
                i += 1;
                let _ = writeln!(out, "<li>{}</li>", inline(&lines[i][2..]));
            }
            out.push_str("</ul>\n");
        } else if let Some(after) = line.strip_prefix("![") {
            flush(&mut paragraph, out);
            if let Some((alt, href, _)) = link(after) {
                out.push_str(&figure(alt, href, base_dir));
            }
        } else if line.starts_with('[') && line.contains(" as SVG](") {
            // The Markdown report's "[... as SVG](...)" link: the SVG is inlined already.
        } else {
            paragraph.push(line.trim());
        }
        i += 1;
    }
    flush(&mut paragraph, out);
}

/// `(level, text)` of a `#`-heading line.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    (1..=6)
        .contains(&level)
        .then(|| line[level..].strip_prefix(' '))
        .flatten()
        .map(|text| (level, text))
}

/// A pipe table (header, separator, rows) as HTML.
fn table(lines: &[&str], out: &mut String) {
    let cells = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_string()).collect()
    };
    out.push_str("<table>\n");
    for (k, line) in lines.iter().enumerate() {
        if k == 1 && line.contains("---") {
            continue;
        }
        let tag = if k == 0 { "th" } else { "td" };
        out.push_str("<tr>");
        for cell in cells(line) {
            match verdict_class(&cell) {
                Some(class) => {
                    let _ = write!(out, "<{tag} class=\"{class}\">{}</{tag}>", inline(&cell));
                }
                None => {
                    let _ = write!(out, "<{tag}>{}</{tag}>", inline(&cell));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// An image as a figure: the SVG beside it inlined when it exists, else a link to the file.
fn figure(alt: &str, href: &str, base_dir: &Path) -> String {
    let svg_path = base_dir.join(Path::new(href).with_extension("svg"));
    match std::fs::read_to_string(&svg_path) {
        Ok(svg) => {
            let start = svg.find("<svg").unwrap_or(0);
            format!(
                "<figure>{}<figcaption>{}</figcaption></figure>\n",
                &svg[start..],
                escape(alt)
            )
        }
        Err(_) => format!(
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
            escape(href),
            escape(alt),
            escape(alt)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headings, tables, lists, inline formatting and verdict colours render; text is escaped;
    /// an image with an SVG beside it is inlined, one without becomes a relative image.
    #[test]
    fn markdown_subset_renders_and_inlines_svg() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("plots")).unwrap();
        std::fs::write(
            tmp.path().join("plots/a.svg"),
            "<?xml version=\"1.0\"?>\n<svg width=\"10\"><rect/></svg>",
        )
        .unwrap();
        let md = "# Title <x>\n\nSome **bold** and `code` and [a link](cells/c/metrics.csv).\n\
                  \n| claim | verdict |\n|---|---|\n| c1 | holds |\n| c2 | fails |\n\n- one\n- two\n\n\
                  ![chart](plots/a.png)  \n[chart as SVG](plots/a.svg)\n\n![missing](plots/b.png)\n";
        let mut page = Page::new("t");
        page.markdown(md, tmp.path());
        let html = page.finish();
        assert!(html.contains("<h1>Title &lt;x&gt;</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("<code>code</code>"));
        assert!(html.contains("<a href=\"cells/c/metrics.csv\">a link</a>"));
        assert!(html.contains("<td class=\"verdict-holds\">holds</td>"));
        assert!(html.contains("<td class=\"verdict-fails\">fails</td>"));
        assert!(html.contains("<li>one</li>\n<li>two</li>"));
        assert!(html.contains("<figure><svg width=\"10\"><rect/></svg>"));
        assert!(!html.contains("<?xml") && !html.contains("as SVG"));
        assert!(html.contains("<img src=\"plots/b.png\""));
        assert!(!html.contains("http"), "the page fetches nothing");
    }
}
