//! Verification end to end on run folders built with known per-seed values: every verdict
//! path (holds, fails, each inconclusive reason), every claim kind and the correction across
//! a file's claims.

use std::path::Path;

use super::*;
use crate::claims::verdict::Reason;

const HEADER: &str = "run,cell,status,suite,dataset,model,method,method_params,seed,epochs_done,top1_last,top1_best,best_epoch,top1_median_last10,top5_last,top5_best,train_loss_last,epoch_time_mean,mix_time_mean,saliency_time_mean,config_hash,code_version,device,libtorch,parameters,error";

/// A cell row: method (label), params, seed, epochs, top-1 (all three statistics offset so a
/// wrong column shows), epoch time (empty when `None`).
struct Row<'a>(&'a str, &'a str, u64, usize, f64, Option<f64>);

fn summary(rows: &[Row]) -> String {
    let mut text = format!("{HEADER}\n");
    for Row(method, params, seed, epochs, top1, time) in rows {
        let time = time.map(|t| t.to_string()).unwrap_or_default();
        text.push_str(&format!(
            "r,d-m-{method}-s{seed},done,r,d,m,{method},{params},{seed},{epochs},{top1},{},0,{},90,91,0.1,{time},0.1,0.1,h,v,cpu,2.11,1,\n",
            top1 + 10.0,
            top1 - 10.0,
        ));
    }
    text
}

/// A run folder with `summary.csv` (and more files) and a report to splice into.
fn run_dir(rows: &[Row], extra: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("summary.csv"), summary(rows)).unwrap();
    std::fs::write(tmp.path().join("report.md"), "# Run\n\n## Training\n\nx\n").unwrap();
    for (name, text) in extra {
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    tmp
}

fn claims(body: &str) -> ClaimsFile {
    let text =
        format!("title: t\nsource: test\nbootstrap: {{reps: 2000, seed: 1}}\nclaims:\n{body}");
    ClaimsFile::parse(&text, Path::new("test-claims.yaml")).unwrap()
}

fn verify_one(dir: &Path, body: &str, accept: bool) -> Vec<Outcome> {
    verify(
        dir,
        &[claims(body)],
        Options {
            accept_protocol: accept,
        },
    )
    .unwrap()
    .outcomes
}

/// Three seeds each: sage 80, 81, 82 (mean 81); cutmix 78, 79, 80 (mean 79).
fn three_seeds() -> Vec<Row<'static>> {
    let mut rows = Vec::new();
    for (seed, (s, c)) in [(80.0, 78.0), (81.0, 79.0), (82.0, 80.0)]
        .into_iter()
        .enumerate()
    {
        rows.push(Row(
            "sage",
            "",
            seed as u64,
            300,
            s,
            Some(20.0 + seed as f64),
        ));
        rows.push(Row(
            "cutmix",
            "",
            seed as u64,
            300,
            c,
            Some(10.0 + seed as f64 * 0.5),
        ));
    }
    rows
}

const COMMON: &str = "    source: s\n    dataset: d\n    model: m\n";

#[test]
fn value_claim_holds_fails_and_is_undecided() {
    let dir = run_dir(&three_seeds(), &[]);
    // Mean 81, se 1/sqrt 3, df 2 (F_2(t) = 1/2 + t / (2 sqrt(2 + t^2))). Inside 81 ± 5: TOST
    // p = 1 - F_2(5 sqrt 3) = 0.006536. Published 90 ± 1: the mean is below 89 by 8 = 13.9 se:
    // fails. 81.5 ± 1: inside, but the test cannot tell (TOST p = max(1 - F_2(0.5 sqrt 3),
    // F_2(-1.5 sqrt 3)) = max(0.238884, 0.060845)).
    let out = verify_one(
        dir.path(),
        &format!(
            "  - id: near\n    kind: value\n{COMMON}    method: sage\n    value: 81\n    tolerance: 5\n\
             \x20 - id: far\n    kind: value\n{COMMON}    method: sage\n    value: 90\n    tolerance: 1\n\
             \x20 - id: close\n    kind: value\n{COMMON}    method: sage\n    value: 81.5\n    tolerance: 1\n"
        ),
        false,
    );
    assert_eq!(out[0].verdict, Verdict::Holds, "{out:?}");
    assert!(
        (out[0].p.unwrap() - 0.006_536).abs() < 1e-6,
        "{:?}",
        out[0].p
    );
    assert!(
        (out[2].p.unwrap() - 0.238_884).abs() < 1e-6,
        "{:?}",
        out[2].p
    );
    assert_eq!(out[0].estimate, Some(81.0));
    assert_eq!((out[0].n_a, out[0].ci_level), (Some(3), Some(0.9)));
    // 90% interval: 81 ± 2.919986 / sqrt 3 = 81 ± 1.685850.
    assert!((out[0].ci_low.unwrap() - 79.314_150).abs() < 1e-5);
    assert_eq!(out[1].verdict, Verdict::Fails, "{:?}", out[1]);
    assert!(out[1].test.contains("against the claim"));
    assert_eq!(out[2].verdict, Verdict::Inconclusive);
    assert_eq!(out[2].reason, Some(Reason::NotSignificant));
    // Holm over the three tested claims: the smallest p (far) times 3, then near times 2.
    let (p_near, h_near) = (out[0].p.unwrap(), out[0].p_holm.unwrap());
    assert!(out[1].p.unwrap() < p_near);
    assert!((h_near - 2.0 * p_near).abs() < 1e-12, "{h_near} {p_near}");
    // The cells used are named; the statistic picked the last epoch's column.
    assert!(out[0].cells.contains("d-m-sage-s0") && out[0].cells.contains("d-m-sage-s2"));
    // The outputs: claims.csv, the chart, the report section.
    assert!(dir.path().join("claims.csv").exists());
    assert!(dir
        .path()
        .join("plots/claims-test-claims-top1.png")
        .exists());
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        report.contains("## Training") && report.contains("## Claims"),
        "{report}"
    );
    assert!(report.contains("| **holds** | near |"), "{report}");
}

#[test]
fn the_correction_can_turn_a_verdict_inconclusive() {
    // 81 ± 3 alone holds (p = 1 - F_2(3 sqrt 3) = 0.017549); five such claims in one file get
    // Holm-adjusted p = 5 · 0.017549 = 0.0877 and none holds.
    let dir = run_dir(&three_seeds(), &[]);
    let one = format!(
        "  - id: c0\n    kind: value\n{COMMON}    method: sage\n    value: 81\n    tolerance: 3\n"
    );
    assert_eq!(
        verify_one(dir.path(), &one, false)[0].verdict,
        Verdict::Holds
    );
    let five: String = (0..5)
        .map(|i| one.replace("id: c0", &format!("id: c{i}")))
        .collect();
    let out = verify_one(dir.path(), &five, false);
    for o in &out {
        assert_eq!(o.verdict, Verdict::Inconclusive, "{o:?}");
        assert_eq!(o.reason, Some(Reason::NotSignificant));
        assert!((o.p_holm.unwrap() - (5.0 * o.p.unwrap()).min(1.0)).abs() < 1e-12);
    }
}

#[test]
fn order_and_equivalence_use_welch() {
    let dir = run_dir(&three_seeds(), &[]);
    // sage - cutmix = 2, se sqrt(2/3), df 4: p(> 0) = 0.035242; by at least 0.5: t = 1.837117,
    // p = 0.070; cutmix beats sage: against, p = 0.035242.
    let out = verify_one(
        dir.path(),
        &format!(
            "  - id: o\n    kind: order\n{COMMON}    a: sage\n    b: cutmix\n\
             \x20 - id: r\n    kind: order\n{COMMON}    a: cutmix\n    b: sage\n\
             \x20 - id: e\n    kind: equivalence\n{COMMON}    a: sage\n    b: cutmix\n    margin: 6\n"
        ),
        false,
    );
    assert!((out[0].p.unwrap() - 0.035_242).abs() < 1e-6, "{:?}", out[0]);
    assert_eq!(out[0].estimate, Some(2.0));
    assert!(out[0].test.starts_with("welch (for"));
    assert!(out[1].test.starts_with("welch (against"));
    // Equivalence within 6: TOST p = F_4((2 - 6)/0.816497) = F_4(-4.898979) = 0.004025.
    assert!(out[2].test.starts_with("welch-tost"));
    assert!(
        (out[2].p.unwrap() - 0.004_025).abs() < 1e-6,
        "{:?}",
        out[2].p
    );
    // Holm over 3: 0.004025 * 3 = 0.0121 < 0.05 holds; then 0.035242 * 2 = 0.0705: both
    // order claims are not significant after the correction.
    assert_eq!(out[2].verdict, Verdict::Holds);
    assert_eq!(out[0].verdict, Verdict::Inconclusive);
    assert_eq!(out[1].reason, Some(Reason::NotSignificant));
}

#[test]
fn ratio_claims_bootstrap_over_shared_seeds_and_need_timing() {
    // sage 20, 21, 22 s; cutmix 10, 10.5, 11 s: every paired resample has ratio exactly 2.
    let dir = run_dir(&three_seeds(), &[]);
    let out = verify_one(
        dir.path(),
        &format!(
            "  - id: ok\n    kind: ratio\n{COMMON}    metric: epoch_time\n    a: sage\n    b: cutmix\n    value: 2.0\n    tolerance: 0.3\n\
             \x20 - id: bound\n    kind: ratio\n{COMMON}    metric: epoch_time\n    a: sage\n    b: cutmix\n    at_most: 1.5\n"
        ),
        false,
    );
    assert_eq!(out[0].estimate, Some(2.0));
    assert_eq!((out[0].ci_low, out[0].ci_high), (Some(2.0), Some(2.0)));
    assert_eq!(out[0].verdict, Verdict::Holds, "{:?}", out[0]);
    // (0 + 1) / (2000 + 1) resamples on the wrong side.
    assert!((out[0].p.unwrap() - 1.0 / 2001.0).abs() < 1e-12);
    assert_eq!(out[1].verdict, Verdict::Fails);
    assert!(dir
        .path()
        .join("plots/claims-test-claims-ratio-epoch_time.png")
        .exists());

    // Without timing for one of the cells: data missing, named.
    let mut rows = three_seeds();
    rows[1].5 = None;
    let dir = run_dir(&rows, &[]);
    let out = verify_one(
        dir.path(),
        &format!("  - id: ok\n    kind: ratio\n{COMMON}    metric: epoch_time\n    a: sage\n    b: cutmix\n    at_most: 3\n"),
        false,
    );
    assert_eq!(out[0].reason, Some(Reason::DataMissing));
    assert!(
        out[0].detail.contains("no timing data for d-m-cutmix-s0"),
        "{}",
        out[0].detail
    );
}

#[test]
fn inconclusive_reasons() {
    let mut rows = three_seeds();
    rows.push(Row("vanilla", "", 0, 300, 75.0, Some(5.0)));
    rows.push(Row("sage-short", "upper_lambda=0.6", 0, 6, 70.0, Some(5.0)));
    rows.push(Row("sage-short", "upper_lambda=0.6", 1, 6, 71.0, Some(5.0)));
    let dir = run_dir(&rows, &[]);
    let body = format!(
        "  - id: missing\n    kind: value\n{COMMON}    method: comixup\n    value: 80\n    tolerance: 1\n\
         \x20 - id: one-seed\n    kind: order\n{COMMON}    a: sage\n    b: vanilla\n\
         \x20 - id: epochs\n    kind: value\n{COMMON}    method: sage-short\n    value: 70.5\n    tolerance: 50\n    protocol: {{epochs: 300}}\n\
         \x20 - id: seeds\n    kind: value\n{COMMON}    method: sage\n    value: 81\n    tolerance: 5\n    protocol: {{seeds: 5}}\n\
         \x20 - id: params\n    kind: value\n{COMMON}    method: {{method: sage-short, params: {{upper_lambda: 0.7}}}}\n    value: 70.5\n    tolerance: 5\n\
         \x20 - id: params-ok\n    kind: value\n{COMMON}    method: {{method: sage-short, params: {{upper_lambda: 0.60}}}}\n    value: 70.5\n    tolerance: 50\n\
         \x20 - id: robust\n    kind: value\n{COMMON}    metric: robust_top1\n    method: sage\n    value: 50\n    tolerance: 1\n"
    );
    let out = verify_one(dir.path(), &body, false);
    let reason = |i: usize| out[i].reason;
    assert_eq!(reason(0), Some(Reason::CellsMissing));
    assert!(
        out[0].detail.contains("no cells of comixup"),
        "{}",
        out[0].detail
    );
    assert!(
        out[0].detail.contains("sage, cutmix, vanilla"),
        "{}",
        out[0].detail
    );
    assert_eq!(reason(1), Some(Reason::FewerSeedsThanNeeded));
    assert!(
        out[1].detail.contains("vanilla has 1 value"),
        "{}",
        out[1].detail
    );
    assert_eq!(reason(2), Some(Reason::ProtocolDiffers));
    assert!(out[2]
        .detail
        .contains("trained 6 epochs where the claim assumes 300"));
    assert_eq!(reason(3), Some(Reason::ProtocolDiffers));
    assert!(out[3].detail.contains("3 seeds where the claim assumes 5"));
    assert_eq!(reason(4), Some(Reason::ProtocolDiffers));
    assert!(out[4]
        .detail
        .contains("upper_lambda=0.6 where the claim assumes upper_lambda=0.7"));
    // 0.60 and 0.6 are the same number; the claim is tested (and holds with its wide band).
    assert_eq!(out[5].verdict, Verdict::Holds, "{:?}", out[5]);
    assert_eq!(reason(6), Some(Reason::DataMissing));
    assert!(out[6].detail.contains("no robustness results"));

    // --accept-protocol tests them, saying what differed.
    let out = verify_one(dir.path(), &body, true);
    assert_eq!(out[2].verdict, Verdict::Holds, "{:?}", out[2]);
    assert!(out[2].detail.starts_with("protocol differs, accepted:"));
    assert_ne!(out[3].reason, Some(Reason::ProtocolDiffers));
    // The exit status: no failure -> 0; --strict counts the inconclusive ones.
    let v = verify(dir.path(), &[claims(&body)], Options::default()).unwrap();
    assert_eq!((v.exit_code(false), v.exit_code(true)), (0, 1));
}

#[test]
fn relation_and_fewshot_claims() {
    // Robustness: sage clean 81, 82, 83 (above vanilla's 78, 79, 80), robust 50, 50.5, 51
    // (vanilla 50, 50.5, 51): clean higher holds, robust not lower by 2 holds.
    let mut rows = three_seeds();
    for seed in 0..3 {
        rows.push(Row("vanilla", "", seed, 300, 75.0, Some(5.0)));
    }
    let mut robustness =
        String::from("cell,dataset,model,method,seed,clean_top1,robust_top1,evaluations\n");
    // Clean accuracy is read from the per-condition file, as the report writes it.
    let mut conditions = String::from(
        "cell,dataset,model,method,seed,corruption,severity,level,top1,images,seconds\n",
    );
    for seed in 0..3u64 {
        let s = seed as f64;
        for (method, clean) in [("sage", 81.0 + s), ("vanilla", 78.0 + s)] {
            robustness.push_str(&format!(
                "d-m-{method}-s{seed},d,m,{method},{seed},{clean},{},3\n",
                50.0 + s / 2.0
            ));
            conditions.push_str(&format!(
                "d-m-{method}-s{seed},d,m,{method},{seed},clean,0,0.0,{clean},100,1\n"
            ));
        }
    }
    // Few-shot: 40 episodes per cell (three seeds): sage 60 ± 2 alternating, vanilla 40 ± 2.
    let mut fewshot = String::from("cell,dataset,model,method,seed,ways,shots,queries,episodes,mean,ci95,std,unconverged,seconds\n");
    let mut episodes = String::from("cell,method,seed,ways,shots,episode,accuracy\n");
    for seed in 0..3 {
        for (method, centre) in [("sage", 60.0), ("vanilla", 40.0)] {
            let cell = format!("d-m-{method}-s{seed}");
            fewshot.push_str(&format!(
                "{cell},d,m,{method},{seed},5,1,15,40,{centre},1,2,0,1\n"
            ));
            for e in 0..40 {
                let acc = centre + if e % 2 == 0 { 2.0 } else { -2.0 };
                episodes.push_str(&format!("{cell},{method},{seed},5,1,{e},{acc}\n"));
            }
        }
    }
    let dir = run_dir(
        &rows,
        &[
            ("robustness-cells.csv", &robustness),
            ("robustness.csv", &conditions),
            ("fewshot.csv", &fewshot),
            ("fewshot-episodes.csv", &episodes),
        ],
    );
    let out = verify_one(
        dir.path(),
        &format!(
            "  - id: rel\n    kind: relation\n{COMMON}    a: sage\n    b: vanilla\n    parts:\n      - {{metric: clean_top1, compare: greater}}\n      - {{metric: robust_top1, compare: not_less, margin: 2}}\n\
             \x20 - id: rel-bad\n    kind: relation\n{COMMON}    a: sage\n    b: vanilla\n    parts:\n      - {{metric: clean_top1, compare: less}}\n      - {{metric: robust_top1, compare: not_less, margin: 2}}\n\
             \x20 - id: fs\n    kind: order\n{COMMON}    metric: fewshot_5way_1shot\n    a: sage\n    b: vanilla\n    margin: 10\n\
             \x20 - id: fs-chance\n    kind: value\n{COMMON}    metric: fewshot_5way_1shot\n    method: vanilla\n    at_least: 20\n\
             \x20 - id: fs-missing\n    kind: value\n{COMMON}    metric: fewshot_5way_5shot\n    method: vanilla\n    at_least: 20\n"
        ),
        false,
    );
    assert_eq!(out[0].verdict, Verdict::Holds, "{:?}", out[0]);
    assert!(out[0].test.starts_with("iut over 2"));
    assert!(out[0].detail.contains("clean_top1") && out[0].detail.contains("robust_top1"));
    assert_eq!(out[1].verdict, Verdict::Fails, "{:?}", out[1]);
    // Episodes are the few-shot unit, pooled over seeds: 3 x 40 values per side.
    assert_eq!(
        (out[2].n_a, out[2].n_b),
        (Some(120), Some(120)),
        "{:?}",
        out[2]
    );
    assert_eq!(out[2].verdict, Verdict::Holds, "{:?}", out[2]);
    assert_eq!(out[3].verdict, Verdict::Holds);
    assert_eq!(out[4].reason, Some(Reason::DataMissing));
}

#[test]
fn claims_csv_round_trips_and_the_section_rebuilds_from_it() {
    let dir = run_dir(&three_seeds(), &[]);
    let out = verify_one(
        dir.path(),
        &format!("  - id: near\n    kind: value\n{COMMON}    method: sage\n    value: 81\n    tolerance: 5\n"),
        false,
    );
    let read = report::read_csv(&dir.path().join(CLAIMS_CSV)).unwrap();
    assert_eq!(read, out);
    let header = std::fs::read_to_string(dir.path().join(CLAIMS_CSV)).unwrap();
    assert!(header.starts_with("file,id,kind,verdict,reason,detail,source,dataset,model,metric,statistic,a,b,published,low,high,estimate,ci_low,ci_high,ci_level,mean_a,mean_b,n_a,n_b,test,p,p_holm,alpha,protocol,run_protocol,cells\n"), "{header}");
    let section = ClaimsSection.section(dir.path()).unwrap().unwrap();
    assert!(section.markdown.starts_with("## Claims\n"));
    assert!(section
        .markdown
        .contains("![plots/claims-test-claims-top1.png]"));
}

#[test]
fn a_folder_without_summary_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = verify(
        tmp.path(),
        &[claims(&format!(
            "  - id: x\n    kind: value\n{COMMON}    method: sage\n    at_least: 1\n"
        ))],
        Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no summary.csv"), "{err}");
}

/// The three-seed run plus Vanilla (three seeds), with the corruptions, calibration and
/// runtime evaluations' run-level files: per seed s, corruption mean top-1 sage 60 + s,
/// vanilla 50 + s; mCE sage 80 + s, vanilla 99 + s; fog at severity 3 sage 40 + s; ECE
/// without scaling sage 2 + s, vanilla 8 + s, with temperature scaling 0.5 + s / 2 for both;
/// runtime ratio sage 1.8 (one value for the method).
fn evaluated_run() -> tempfile::TempDir {
    let mut rows = three_seeds();
    for seed in 0..3 {
        rows.push(Row("vanilla", "", seed, 300, 75.0 + seed as f64, Some(5.0)));
    }
    let mut cells = String::from(
        "cell,dataset,model,method,seed,clean_top1,mean_top1,extra_mean_top1,mce,relative_mce\n",
    );
    let mut corruptions = String::from("cell,dataset,model,method,seed,corruption,severity,top1\n");
    let mut calibration =
        String::from("cell,dataset,model,method,seed,scaling,top1,ece,aece,mce,nll,brier\n");
    for seed in 0..3u64 {
        let s = seed as f64;
        for (method, mean, mce, ece) in [
            ("sage", 60.0 + s, 80.0 + s, 2.0 + s),
            ("vanilla", 50.0 + s, 99.0 + s, 8.0 + s),
        ] {
            let cell = format!("d-m-{method}-s{seed}");
            cells.push_str(&format!(
                "{cell},d,m,{method},{seed},90,{mean},,{mce},{}\n",
                mce + 1.0
            ));
            corruptions.push_str(&format!(
                "{cell},d,m,{method},{seed},clean,0,90\n{cell},d,m,{method},{seed},fog,3,{}\n",
                40.0 + s
            ));
            calibration.push_str(&format!(
                "{cell},d,m,{method},{seed},none,80,{ece},{ece},{ece},1,0.3\n\
                 {cell},d,m,{method},{seed},temperature,80,{t},{t},{t},0.9,0.3\n",
                t = 0.5 + s / 2.0
            ));
        }
    }
    let runtime = "dataset,model,method,ratio,ratio_lo,ratio_hi\nd,m,sage,1.8,1.7,1.9\n";
    run_dir(
        &rows,
        &[
            ("corruptions-cells.csv", &cells),
            ("corruptions.csv", &corruptions),
            ("calibration.csv", &calibration),
            ("runtime-methods.csv", runtime),
        ],
    )
}

/// Claims on the corruptions evaluation by catalogue name: "SAGE's mean corruption accuracy
/// is not below Vanilla's", and on the mCE, where lower is better, "SAGE's is below
/// Vanilla's", written on the values (`less`, `order` with Vanilla first) or on merit
/// (`better`); the naive order "SAGE above Vanilla" fails, and says the metric is
/// lower-is-better.
#[test]
fn claims_on_corruption_metrics_by_catalogue_name() {
    let dir = evaluated_run();
    let relation = |id: &str, metric: &str, compare: &str| {
        format!(
            "  - id: {id}\n    kind: relation\n{COMMON}    a: sage\n    b: vanilla\n    parts:\n      - {{metric: {metric}, compare: {compare}}}\n"
        )
    };
    let body = [
        relation("mean-not-below", "corruption_mean_top1", "not_less"),
        relation("mce-below", "corruption_mce", "less"),
        relation("mce-better", "corruption_mce", "better"),
        format!("  - id: mce-vanilla-above\n    kind: order\n{COMMON}    metric: corruption_mce\n    a: vanilla\n    b: sage\n"),
        format!("  - id: mce-sage-above\n    kind: order\n{COMMON}    metric: corruption_mce\n    a: sage\n    b: vanilla\n"),
        format!("  - id: fog\n    kind: value\n{COMMON}    metric: corruption_top1 [fog:3]\n    method: sage\n    at_least: 30\n"),
    ]
    .concat();
    let out = verify_one(dir.path(), &body, false);
    let verdicts: Vec<Verdict> = out.iter().map(|o| o.verdict).collect();
    use Verdict::{Fails, Holds};
    assert_eq!(
        verdicts,
        [Holds, Holds, Holds, Holds, Fails, Holds],
        "{out:#?}"
    );
    assert_eq!((out[0].mean_a, out[0].mean_b), (Some(61.0), Some(51.0)));
    assert_eq!(out[0].metric, "corruption_mean_top1");
    assert_eq!((out[1].mean_a, out[1].mean_b), (Some(81.0), Some(100.0)));
    assert!(
        out[1]
            .detail
            .starts_with("corruption_mce (lower is better): sage - vanilla = -19"),
        "{}",
        out[1].detail
    );
    assert_eq!(out[3].estimate, Some(19.0));
    assert!(
        out[4].detail.ends_with("(corruption_mce: lower is better)"),
        "{}",
        out[4].detail
    );
    assert_eq!(
        (out[5].metric.as_str(), out[5].estimate),
        ("corruption_top1 [fog:3]", Some(41.0))
    );
    // claims.csv writes the catalogue names, and reads back.
    let read = report::read_csv(&dir.path().join(CLAIMS_CSV)).unwrap();
    assert_eq!(read, out);
}

/// A claim on a calibration metric reads the values of the condition it names; a run without
/// the evaluation says so, and a metric of a method as a whole (the runtime ratio) is one
/// value, too few to test.
#[test]
fn claims_on_calibration_read_their_condition() {
    let dir = evaluated_run();
    let body = format!(
        "  - id: ece-none\n    kind: value\n{COMMON}    metric: calibration_ece [none]\n    method: sage\n    value: 3\n    tolerance: 7\n\
         \x20 - id: ece-temperature\n    kind: value\n{COMMON}    metric: \"calibration_ece [temperature]\"\n    method: sage\n    at_most: 10\n\
         \x20 - id: ece-better\n    kind: relation\n{COMMON}    a: sage\n    b: vanilla\n    parts:\n      - {{metric: \"calibration_ece [none]\", compare: better}}\n\
         \x20 - id: ratio\n    kind: value\n{COMMON}    metric: runtime_ratio\n    method: sage\n    at_most: 2\n"
    );
    let out = verify_one(dir.path(), &body, false);
    assert_eq!(out[0].verdict, Verdict::Holds, "{:?}", out[0]);
    assert_eq!(out[0].estimate, Some(3.0));
    assert_eq!(out[0].metric, "calibration_ece [none]");
    assert_eq!(out[1].estimate, Some(1.0), "{:?}", out[1]);
    assert_eq!(out[2].verdict, Verdict::Holds, "{:?}", out[2]);
    assert_eq!((out[2].mean_a, out[2].mean_b), (Some(3.0), Some(9.0)));
    assert_eq!(
        out[3].reason,
        Some(Reason::FewerSeedsThanNeeded),
        "{:?}",
        out[3]
    );
    assert!(
        out[3].detail.contains("sage has 1 value of runtime_ratio"),
        "{}",
        out[3].detail
    );
    assert!(dir
        .path()
        .join("plots/claims-test-claims-calibration_ece__none_.png")
        .exists());

    // Without the evaluation's files: data missing, naming the files read.
    let bare = run_dir(&three_seeds(), &[]);
    let out = verify_one(
        bare.path(),
        &format!("  - id: ece\n    kind: value\n{COMMON}    metric: calibration_ece [none]\n    method: sage\n    at_most: 10\n"),
        false,
    );
    assert_eq!(out[0].reason, Some(Reason::DataMissing));
    assert!(
        out[0].detail.contains(
            "calibration_ece [none]: the run has no calibration results (calibration.csv)"
        ),
        "{}",
        out[0].detail
    );
}

/// A missing or superfluous condition and an unknown name are errors naming the file, the
/// line and the claim, with the documented conditions or the closest catalogue name.
#[test]
fn catalogue_metric_errors_name_the_claim() {
    for (metric, needles) in [
        (
            "calibration_ece",
            &[
                "test-claims.yaml:10",
                "claim `c`",
                "conditions: none, temperature",
            ][..],
        ),
        (
            "corruption_mean_top1 [clean]",
            &[
                "test-claims.yaml:10",
                "claim `c`",
                "no conditions; write `corruption_mean_top1`",
            ],
        ),
        (
            "corruption_mean_top",
            &[
                "test-claims.yaml:10",
                "claim `c`",
                "did you mean `corruption_mean_top1`",
            ],
        ),
    ] {
        let text = format!(
            "title: t\nsource: test\nclaims:\n  - id: c\n    kind: value\n{COMMON}    method: sage\n    metric: {metric}\n    at_least: 1\n"
        );
        let err = ClaimsFile::parse(&text, Path::new("test-claims.yaml"))
            .unwrap_err()
            .to_string();
        for needle in needles {
            assert!(err.contains(needle), "{metric}: `{needle}` not in {err}");
        }
    }
}

/// The documentation's claims on lower-is-better metrics parse, and mean what it says.
#[test]
fn the_documented_lower_is_better_example_parses() {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/claims.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let start = text
        .find("```yaml\n  - id: sage-corruptions")
        .expect("the example")
        + 8;
    let block = &text[start..start + text[start..].find("```").unwrap()];
    let file = ClaimsFile::parse(
        &format!("title: t\nsource: s\nclaims:\n{block}"),
        Path::new("docs/claims.md"),
    )
    .unwrap();
    let parts: Vec<(String, crate::claims::file::Compare)> = file.claims[0]
        .parts
        .iter()
        .map(|p| (p.metric.to_string(), p.compare))
        .collect();
    use crate::claims::file::Compare::{Less, NotGreater, NotLess};
    assert_eq!(
        parts,
        [
            ("corruption_mean_top1".to_string(), NotLess),
            ("corruption_mce".to_string(), Less),
            ("calibration_ece [none]".to_string(), NotGreater),
        ]
    );
    assert_eq!(file.claims[1].metric.to_string(), "occlusion_auc [salient]");
}
