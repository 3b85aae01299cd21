//! `report.html` in a real browser: headless Chromium (Debian's `chromium`, which `ci/test.sh`
//! installs when missing) loads a run's page from disk; the screenshot must not be blank and the
//! page's DOM must hold its tables, inline SVG charts and links to the cells' files. Skips with a
//! message where no Chromium is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use mixbench::methods::registry;
use mixbench::suite::{self, config::LoadedSuite};

const SUITE: &str = "\
name: html
datasets:
  - synthetic: {classes: 3, train_per_class: 30, test_per_class: 10, size: 16, seed: 1}
models: [small_cnn]
methods: [vanilla, mixup]
seeds: [0, 1]
training:
  epochs: 2
  batch_size: 15
  lr: 0.05
  device: cpu
  threads: 1
  isolation: inline
evaluations:
  robustness: {noise: [0.1]}
";

/// The Chromium executable: `MIXBENCH_CHROMIUM`, else the first of Debian's and other usual
/// names on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MIXBENCH_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `page` with `args` and returns its standard output. Each run has
/// a profile of its own (another browser of the same user holds the default one's lock) and
/// keeps shared memory off `/dev/shm` (small in containers).
fn headless(browser: &Path, page: &Path, args: &[&str]) -> String {
    let url = format!("file://{}", page.display());
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args([
            "--disable-dev-shm-usage",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--window-size=1200,1600",
        ])
        .args(args)
        .arg(&url)
        .output()
        .expect("starting Chromium");
    assert!(
        output.status.success(),
        "Chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipping: no Chromium found (apt-get install chromium; ci/test.sh installs it, or set \
             MIXBENCH_CHROMIUM)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let loaded =
        LoadedSuite::from_text(SUITE, Path::new("html.yaml"), Path::new("."), &registry()).unwrap();
    let run_dir = tmp.path().join("run");
    suite::run(&loaded, &run_dir, SUITE).unwrap();
    let files = mixbench::report::build_report(&run_dir, &mixbench::evaluations::report_sections())
        .unwrap();
    let page = files.report_html;
    let html = std::fs::read_to_string(&page).unwrap();
    for remote in ["src=\"http", "href=\"http", "<script", "<link"] {
        assert!(
            !html.contains(remote),
            "the page must fetch nothing: {remote}"
        );
    }

    // The page as the browser built it.
    let dom = headless(&browser, &page, &["--dump-dom"]);
    assert!(dom.matches("<table").count() >= 3, "tables: {dom:.2000}");
    assert!(dom.matches("<svg").count() >= 3, "inline charts");
    assert!(dom.contains("<h2>Robustness</h2>") && dom.contains("<h2>Cells</h2>"));
    assert!(dom.contains("href=\"cells/synthetic-small_cnn-mixup-s1/metrics.csv\""));

    // Its screenshot: not blank (many colours, a good share of non-white pixels).
    let shot = tmp.path().join("report.png");
    let arg = format!("--screenshot={}", shot.display());
    headless(&browser, &page, &[&arg]);
    let image = image::open(&shot).expect("a screenshot").to_rgb8();
    assert_eq!(image.dimensions(), (1200, 1600));
    let pixels = image.pixels().count() as f64;
    let inked = image
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 200))
        .count() as f64;
    let mut colours: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        inked / pixels > 0.02,
        "{:.3} of the pixels are inked",
        inked / pixels
    );
    assert!(colours.len() > 50, "{} colours", colours.len());
}
