//! `mixbench history`: storing a real run with its evaluations, series and steps over many
//! runs, two writers at once, a writer killed mid-transaction, schema versions and bad input.
//!
//! Run folders are either made by a tiny suite trained in-process or written directly
//! (`summary.csv` alone, with chosen numbers), so the expected series are known exactly.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};

use mixbench::history::store::{self, RunDate, RunFilter};
use mixbench::history::{run_folder, schema, series, step_report};
use mixbench::methods::registry;
use mixbench::suite::{self, config::LoadedSuite};
use rusqlite::Connection;

/// Two methods on a synthetic data set and a few-shot one, one short epoch each, with every
/// evaluation that has a run-level file (robustness, few-shot, background, runtime).
const SUITE: &str = "\
name: nightly
datasets:
  - synthetic: {classes: 4, train_per_class: 40, test_per_class: 10, size: 16, seed: 3}
  - fewshot:
      name: toy-fs
      source: {synthetic: {classes: 6, train_per_class: 30, test_per_class: 6, size: 16, seed: 4}}
      base: [0, 1, 2]
      novel: [3, 4, 5]
models: [small_cnn]
methods: [vanilla, mixup]
seeds: [0]
training:
  epochs: 1
  batch_size: 20
  lr: 0.05
  max_train_batches: 2
  device: cpu
  threads: 1
  isolation: inline
evaluations:
  robustness: {noise: [0.1], fgsm: [8], max_images: 20, batch_size: 20}
  fewshot: {ways: [3], shots: [1], queries: 3, episodes: 4}
  background: {max_images: 20, batch_size: 20, examples: 2}
  runtime: {warmup_steps: 1, steps: 2, repeats: 3, eval_batches: 1, pytorch: off}
";

const SUMMARY_HEADER: &str = "run,cell,status,suite,dataset,model,method,method_params,seed,\
epochs_done,top1_last,top1_best,best_epoch,top1_median_last10,top5_last,top5_best,\
train_loss_last,epoch_time_mean,mix_time_mean,saliency_time_mean,config_hash,code_version,\
device,libtorch,parameters,error";

/// Writes a run folder holding only `summary.csv`: one done cell per `(method, seed, top1)`
/// on data set `toy` and model `cnn`, built from `commit`.
fn write_run(dir: &Path, commit: &str, cells: &[(&str, u64, f64)]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut text = format!("{SUMMARY_HEADER}\n");
    for (method, seed, top1) in cells {
        text.push_str(&format!(
            "run,toy-cnn-{method}-s{seed},done,nightly,toy,cnn,{method},,{seed},3,{top1},{top1},2,\
             {top1},99,99,0.5,1.5,0.1,0,abc,0.1.0+{commit},cpu (2 threads),2.11.0,1000,\n"
        ));
    }
    std::fs::write(dir.join("summary.csv"), text).unwrap();
}

/// `mixbench history ARGS...`, its output captured.
fn history(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .arg("history")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stores a written run folder through the library.
fn add(db: &Path, dir: &Path, date: &str) -> store::Added {
    let folder = run_folder::read(dir, None).unwrap();
    let mut conn = schema::open_or_create(db).unwrap();
    store::add(&mut conn, db, &folder, &RunDate::Given(date.into()), dir).unwrap()
}

fn run_names(db: &Path) -> Vec<String> {
    let conn = schema::open_existing(db).unwrap();
    store::list(&conn, db, &RunFilter::default())
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

/// A real run (trained in-process, evaluated, reported) is stored through the binary with its
/// provenance and a metric row for every cell's summary numbers and every evaluation file;
/// storing it again is refused and names the run; list and export show it.
#[test]
fn a_real_run_is_stored_with_its_evaluations() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("nightly-1");
    let loaded =
        LoadedSuite::from_text(SUITE, Path::new("suite.yaml"), Path::new("."), &registry())
            .unwrap();
    let outcome = suite::run(&loaded, &run_dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    mixbench::report::build_report(&run_dir, &mixbench::evaluations::report_sections()).unwrap();
    let db = tmp.path().join("history.sqlite");
    let dbs = db.to_str().unwrap();

    let out = history(&["add", run_dir.to_str().unwrap(), "--db", dbs]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("stored run `nightly-1` (run date 20"),
        "{}",
        text(&out.stdout)
    );

    let conn = Connection::open(&db).unwrap();
    let (suite_name, code_version, commit, libtorch, device): (String, String, String, String, String) = conn
        .query_row(
            "SELECT suite, code_version, commit_hash, libtorch, device FROM runs WHERE name = 'nightly-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(suite_name, "nightly");
    assert_eq!(code_version, mixbench::system::code_version());
    assert!(
        code_version.ends_with(&format!("+{commit}")),
        "{code_version} {commit}"
    );
    assert_eq!(libtorch, mixbench::system::libtorch_version());
    assert!(device.starts_with("cpu"), "{device}");
    let cells: i64 = conn
        .query_row("SELECT count(*) FROM cells", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cells, 4, "2 data sets x 2 methods");
    let count = |metric: &str, condition: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM metrics WHERE metric = ?1 AND condition = ?2",
            [metric, condition],
            |r| r.get(0),
        )
        .unwrap()
    };
    // Every cell: its summary numbers, robustness per condition, runtime per phase.
    for (metric, condition) in [
        ("top1_last", ""),
        ("top1_median_last10", ""),
        ("epoch_time_mean", ""),
        ("robustness_top1", "clean"),
        ("robustness_top1", "noise:0.1"),
        ("robustness_top1", "fgsm:8"),
        ("robust_top1", ""),
        ("runtime_epoch", ""),
        ("runtime_forward_backward", ""),
    ] {
        assert_eq!(count(metric, condition), 4, "{metric} [{condition}]");
    }
    // Few-shot on the few-shot data set's cells, background on the synthetic ones; the runtime
    // ratio once per method and data set.
    assert_eq!(count("fewshot_accuracy", "3way-1shot"), 2);
    assert_eq!(count("bg_gap", ""), 2);
    assert_eq!(count("background_top1", "mixed_rand"), 2);
    let ratios: Vec<(String, Option<i64>, f64)> = conn
        .prepare("SELECT cell, seed, value FROM metrics WHERE metric = 'runtime_ratio'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ratios.len(), 4, "{ratios:?}");
    assert!(ratios
        .iter()
        .all(|(cell, seed, v)| cell.is_empty() && seed.is_none() && *v > 0.0));

    // Compare and the history speak one vocabulary: every metric and condition a comparison
    // of the run judges (all but the bit-exact check) is stored under the same names.
    let comparison = mixbench::compare::compare(
        &run_dir,
        &run_dir,
        &mixbench::compare::Thresholds::default(),
    )
    .unwrap();
    let judged: std::collections::BTreeSet<(String, String)> = comparison
        .rows
        .iter()
        .filter(|r| r.metric != "bit_exact")
        .map(|r| (r.metric.to_string(), r.condition.clone()))
        .collect();
    assert!(judged.len() > 20, "{judged:?}");
    for (metric, condition) in &judged {
        assert!(count(metric, condition) > 0, "{metric} [{condition}]");
    }

    // The same run again: refused, naming the run and the way out; nothing was added.
    let again = history(&["add", run_dir.to_str().unwrap(), "--db", dbs]);
    assert_eq!(again.status.code(), Some(1));
    let err = text(&again.stderr);
    assert!(
        err.contains("`nightly-1` is already stored") && err.contains("--name"),
        "{err}"
    );
    assert!(err.contains(dbs), "{err}");
    assert_eq!(run_names(&db), ["nightly-1"]);

    let list = history(&["list", "--db", dbs, "--suite", "nightly"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let listed = text(&list.stdout);
    assert!(
        listed.starts_with("run ") && listed.contains("nightly-1"),
        "{listed}"
    );
    assert!(listed.contains("4/4 done"), "{listed}");
    let other = history(&["list", "--db", dbs, "--suite", "other"]);
    assert_eq!(text(&other.stdout).lines().count(), 1, "the header only");

    let export = history(&[
        "export",
        "--db",
        dbs,
        "--metric",
        "robustness_top1",
        "--method",
        "mixup",
        "--format",
        "json",
    ]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let json: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    let series = json.as_array().unwrap();
    assert_eq!(series.len(), 6, "2 data sets x 3 conditions");
    assert!(series
        .iter()
        .all(|s| s["method"] == "mixup" && s["points"].as_array().unwrap().len() == 1));
    assert_eq!(series[0]["points"][0]["run"], "nightly-1");
}

/// Twelve runs stored out of date order: the series comes back in date order with the mean
/// over seeds; the step put into CutMix's accuracy at the ninth night is the one step found,
/// at that run and commit, and Vanilla's noisy flat series has none.
#[test]
fn series_are_in_date_order_and_steps_name_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    // Night i: vanilla 80 + noise, cutmix 85 + noise, dropping to 82 from night 8 on (commit
    // c8). Noise of about 0.3 points, different per seed; seeds average it down.
    let wiggle = [
        0.3, -0.2, 0.1, -0.4, 0.25, 0.0, -0.1, 0.35, -0.3, 0.15, -0.05, 0.2,
    ];
    let order = [3, 0, 11, 7, 1, 9, 5, 2, 10, 4, 8, 6];
    for &night in &order {
        let w = wiggle[night];
        let cutmix = if night >= 8 { 82.0 } else { 85.0 };
        write_run(
            &tmp.path().join(format!("night-{night:02}")),
            &format!("c{night}"),
            &[
                ("vanilla", 0, 80.0 + w),
                ("vanilla", 1, 80.0 - w / 2.0),
                ("cutmix", 0, cutmix - w),
                ("cutmix", 1, cutmix + w / 3.0),
            ],
        );
        add(
            &db,
            &tmp.path().join(format!("night-{night:02}")),
            &format!("2026-12-{:02} 03:00:00", night + 1),
        );
    }
    let conn = schema::open_existing(&db).unwrap();
    let all = series::series(&conn, &db, "top1_last", None).unwrap();
    let labels: Vec<String> = all.iter().map(|s| s.label()).collect();
    assert_eq!(labels, ["toy/cnn/cutmix", "toy/cnn/vanilla"]);
    let vanilla = &all[1];
    let runs: Vec<&str> = vanilla.points.iter().map(|p| p.run.as_str()).collect();
    let expected: Vec<String> = (0..12).map(|i| format!("night-{i:02}")).collect();
    assert_eq!(runs, expected);
    for (i, p) in vanilla.points.iter().enumerate() {
        assert_eq!(p.n, 2);
        assert!((p.mean - (80.0 + wiggle[i] / 4.0)).abs() < 1e-9, "{p:?}");
        assert_eq!(p.commit, format!("c{i}"));
    }

    let steps = step_report::find_steps(&all);
    assert_eq!(
        steps.len(),
        1,
        "{:?}",
        steps.iter().map(|s| s.line()).collect::<Vec<_>>()
    );
    let step = &steps[0];
    assert_eq!(
        (step.series.method.as_str(), step.at.run.as_str()),
        ("cutmix", "night-08")
    );
    assert_eq!(step.previous.run, "night-07");
    assert!(
        (step.before - 85.0).abs() < 0.2 && (step.after - 82.0).abs() < 0.2,
        "{step:?}"
    );

    // The same through the binary: one line naming the series, run, commit and levels.
    let dbs = db.to_str().unwrap();
    let out = history(&["steps", "--db", dbs, "--metric", "top1_last"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("top1_last toy/cnn/cutmix: 84.9875 -> 82.0000 (-2.9875, -3.52%)")
            && lines[0].contains("at run night-08 (commit c8, 2026-12-09 03:00:00)")
            && lines[0].contains("after run night-07 (commit c7)"),
        "{}",
        lines[0]
    );
    assert!(text(&out.stderr).contains("1 step(s) in 2 series of 1 metric(s)"));

    let csv = history(&[
        "export",
        "--db",
        dbs,
        "--metric",
        "top1_last",
        "--method",
        "vanilla",
    ]);
    let csv = text(&csv.stdout);
    assert!(
        csv.starts_with("metric,dataset,model,method,condition,run,run_date,commit,n,mean\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 13);
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("top1_last,toy,cnn,vanilla,,night-00,2026-12-01 03:00:00,c0,2,"));

    // --since keeps the later runs; a metric that is not stored names those that are.
    let since = history(&["list", "--db", dbs, "--since", "2026-12-10"]);
    assert_eq!(
        text(&since.stdout).lines().count(),
        4,
        "{}",
        text(&since.stdout)
    );
    let bad = history(&["export", "--db", dbs, "--metric", "top1"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("no values of metric `top1`; stored metrics: epoch_time_mean"),
        "{}",
        text(&bad.stderr)
    );
    let bad_date = history(&["list", "--db", dbs, "--since", "yesterday-ish"]);
    assert!(text(&bad_date.stderr).contains("--since `yesterday-ish`: not a date"));
}

/// Two threads store different runs in a new database at once (released together by a
/// barrier), then two `mixbench history add` processes do: every run is there afterwards.
#[test]
fn two_writers_at_once_both_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| tmp.path().join(format!("run-{i}")))
        .collect();
    for (i, dir) in dirs.iter().enumerate() {
        let cells: Vec<(&str, u64, f64)> =
            (0..200).map(|s| ("vanilla", s, 70.0 + i as f64)).collect();
        write_run(dir, &format!("c{i}"), &cells);
    }
    let db = tmp.path().join("history.sqlite");
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = dirs[..2]
        .iter()
        .cloned()
        .map(|dir| {
            let (db, barrier) = (db.clone(), barrier.clone());
            std::thread::spawn(move || {
                let folder = run_folder::read(&dir, None).unwrap();
                barrier.wait();
                let mut conn = schema::open_or_create(&db).unwrap();
                store::add(
                    &mut conn,
                    &db,
                    &folder,
                    &RunDate::Given("2026-12-01".into()),
                    &dir,
                )
                .unwrap()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().cells, 200);
    }
    let children: Vec<_> = dirs[2..]
        .iter()
        .map(|dir| {
            Command::new(env!("CARGO_BIN_EXE_mixbench"))
                .args([
                    "history",
                    "add",
                    dir.to_str().unwrap(),
                    "--db",
                    db.to_str().unwrap(),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let mut names = run_names(&db);
    names.sort();
    assert_eq!(names, ["run-0", "run-1", "run-2", "run-3"]);
    let conn = Connection::open(&db).unwrap();
    let values: i64 = conn
        .query_row(
            "SELECT count(*) FROM metrics WHERE metric = 'top1_last'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(values, 800);
}

/// The reading commands take no lock: they answer while another process holds the write
/// lock of an up-to-date database (only a migration waits for it).
#[test]
fn readers_answer_while_a_writer_holds_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    write_run(&tmp.path().join("one"), "c1", &[("vanilla", 0, 80.0)]);
    add(&db, &tmp.path().join("one"), "2026-12-01");
    let mut writer = Connection::open(&db).unwrap();
    let tx = writer
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    for args in [
        ["list", "--db", db.to_str().unwrap()],
        ["steps", "--db", db.to_str().unwrap()],
    ] {
        let out = history(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    tx.rollback().unwrap();
}

/// Environment variable naming the database [`partial_writer_helper`] writes to.
const PARTIAL_DB: &str = "MIXBENCH_TEST_PARTIAL_WRITER_DB";

/// Not a test on its own: [`a_killed_writer_leaves_no_partial_run`] runs this test binary
/// again with only this function (it is ignored otherwise, and does nothing without the
/// variable). It opens the database with rusqlite, begins a write transaction, inserts a run,
/// a cell and metric rows as `history add` would, says so on stdout and waits to be killed.
#[test]
#[ignore]
fn partial_writer_helper() {
    let Some(db) = std::env::var_os(PARTIAL_DB) else {
        return;
    };
    let mut conn = Connection::open(db).unwrap();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute(
        "INSERT INTO runs (name, suite, code_version, commit_hash, libtorch, device, run_date, \
         added, source) VALUES ('partial', 'nightly', '0.1.0+c9', 'c9', '2.11.0', 'cpu', \
         '2026-12-02 00:00:00', datetime('now'), '/nowhere')",
        [],
    )
    .unwrap();
    let run_id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO cells (run_id, cell, status, suite, dataset, model, method, method_params, \
         seed, epochs_done, config_hash, code_version, device, libtorch, parameters, error) \
         VALUES (?1, 'toy-cnn-vanilla-s0', 'done', 'nightly', 'toy', 'cnn', 'vanilla', '', 0, 3, \
         'abc', '0.1.0+c9', 'cpu', '2.11.0', 1000, '')",
        [run_id],
    )
    .unwrap();
    for i in 0..5000 {
        tx.execute(
            "INSERT INTO metrics (run_id, cell, dataset, model, method, seed, metric, condition, \
             value) VALUES (?1, 'toy-cnn-vanilla-s0', 'toy', 'cnn', 'vanilla', 0, 'top1_last', \
             '', ?2)",
            rusqlite::params![run_id, 50.0 + f64::from(i)],
        )
        .unwrap();
    }
    println!("inserted, not committed");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// A writer killed with SIGKILL in the middle of its transaction (a separate process that
/// inserted a run's rows and never committed) leaves no trace: `history list` shows only the
/// run stored before, the database is intact, and the next `history add` gets the lock.
#[test]
fn a_killed_writer_leaves_no_partial_run() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    write_run(&tmp.path().join("before"), "c1", &[("vanilla", 0, 80.0)]);
    add(&db, &tmp.path().join("before"), "2026-12-01");

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "partial_writer_helper",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PARTIAL_DB, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let inserted = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("inserted, not committed"));
    assert!(inserted, "the helper did not reach its insertions");
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let out = history(&["list", "--db", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("before") && !listed.contains("partial"),
        "{listed}"
    );
    let conn = Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM metrics WHERE run_id NOT IN (SELECT id FROM runs)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    write_run(&tmp.path().join("after"), "c2", &[("vanilla", 0, 81.0)]);
    add(&db, &tmp.path().join("after"), "2026-12-02");
    assert_eq!(run_names(&db), ["before", "after"]);
}

/// A database of schema version 1 (runtime phase times stored as `runtime_seconds` with the
/// phase as the condition) is brought up to date by the first command that opens it, a reading
/// one included: the times become `runtime_<phase>` and the version 2.
#[test]
fn a_version_1_database_is_migrated_when_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    write_run(&tmp.path().join("one"), "c1", &[("vanilla", 0, 80.0)]);
    add(&db, &tmp.path().join("one"), "2026-12-01");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE meta SET value = '1' WHERE key = 'schema_version';
         INSERT INTO metrics (run_id, cell, dataset, model, method, seed, metric, condition, value)
         VALUES (1, 'c', 'd', 'm', 'vanilla', 0, 'runtime_seconds', 'epoch', 1.5),
                (1, 'c', 'd', 'm', 'vanilla', 0, 'runtime_seconds', 'mix', 0.25);",
    )
    .unwrap();
    drop(conn);
    let out = history(&["steps", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let conn = Connection::open(&db).unwrap();
    let version: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "2");
    let runtime: Vec<(String, String, f64)> = conn
        .prepare("SELECT metric, condition, value FROM metrics WHERE metric LIKE 'runtime_%' ORDER BY metric")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        runtime,
        [
            ("runtime_epoch".to_string(), String::new(), 1.5),
            ("runtime_mix".to_string(), String::new(), 0.25)
        ]
    );
}

/// A database written by a newer mixbench (higher schema_version) is refused by every command
/// with the file named; so are an SQLite file of another program, a missing database for the
/// reading commands, and a folder without summary.csv.
#[test]
fn newer_schemas_foreign_files_and_missing_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    let dbs = db.to_str().unwrap();
    write_run(&tmp.path().join("one"), "c1", &[("vanilla", 0, 80.0)]);
    add(&db, &tmp.path().join("one"), "2026-12-01");
    let conn = Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    write_run(&tmp.path().join("two"), "c2", &[("vanilla", 0, 80.0)]);
    for args in [
        vec!["list", "--db", dbs],
        vec!["add", tmp.path().join("two").to_str().unwrap(), "--db", dbs],
        vec!["steps", "--db", dbs],
    ] {
        let out = history(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(dbs)
                && err.contains("schema version 99 is newer than this mixbench's (2)"),
            "{args:?}: {err}"
        );
    }

    let foreign = tmp.path().join("other.sqlite");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT);")
        .unwrap();
    let err = format!("{:#}", schema::open_or_create(&foreign).unwrap_err());
    assert!(
        err.contains("not a mixbench history") && err.contains("other.sqlite"),
        "{err}"
    );

    let missing = tmp.path().join("missing.sqlite");
    let err = format!("{:#}", schema::open_existing(&missing).unwrap_err());
    assert!(
        err.contains("missing.sqlite: no history database there"),
        "{err}"
    );
    assert!(!missing.exists(), "reading commands create nothing");

    let empty = tmp.path().join("empty-run");
    std::fs::create_dir(&empty).unwrap();
    let err = format!("{:#}", run_folder::read(&empty, None).unwrap_err());
    assert!(err.contains("empty-run: no summary.csv"), "{err}");

    let bad = history(&[
        "add",
        tmp.path().join("one").to_str().unwrap(),
        "--db",
        tmp.path().join("new.sqlite").to_str().unwrap(),
        "--date",
        "someday",
    ]);
    assert!(
        text(&bad.stderr).contains("--date `someday`: not a date"),
        "{}",
        text(&bad.stderr)
    );
}
