//! Method parameters are resolved once, at suite load, with every default filled in: a
//! release that changes a method's default changes the configuration hash of the cells that
//! use it, a run folder trained under the old default then stops with the key named, and a
//! claim that names a default explicitly matches a run that left it implicit.

use std::path::Path;

use mixbench::claims::verdict::Reason;
use mixbench::claims::{verify, ClaimsFile, Options};
use mixbench::records;
use mixbench::suite::config::LoadedSuite;
use mixbench::suite::{expand, run_with, RunOptions};
use mixbench_core::vanilla::Vanilla;
use mixbench_core::{method_params, Batch, MethodInfo, MixMethod, MixRng, Mixed, Registry, Result};

method_params! {
    /// A method's parameters in one release.
    struct OldDefaults for "blend" {
        /// Strength
        alpha: f64 = 1.0,
        /// Steps
        steps: usize = 3,
    }
}

method_params! {
    /// The same method's parameters in the next release: `alpha`'s default changed.
    struct NewDefaults for "blend" {
        /// Strength
        alpha: f64 = 0.4,
        /// Steps
        steps: usize = 3,
    }
}

/// A method that mixes nothing (its parameters are what the test is about).
struct Blend;

impl From<OldDefaults> for Blend {
    fn from(_: OldDefaults) -> Self {
        Blend
    }
}

impl From<NewDefaults> for Blend {
    fn from(_: NewDefaults) -> Self {
        Blend
    }
}

impl MixMethod for Blend {
    fn name(&self) -> &'static str {
        "blend"
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        Vanilla.mix(batch, rng)
    }
}

fn registry(new_release: bool) -> Registry {
    let blend = if new_release {
        MethodInfo::of::<NewDefaults, Blend>("test method, next release")
    } else {
        MethodInfo::of::<OldDefaults, Blend>("test method")
    };
    Registry::new(vec![mixbench_core::vanilla::info(), blend])
}

const SUITE: &str = "name: defaults\ndatasets:\n  - synthetic: {classes: 3}\nmodels: [small_cnn]\nmethods: [vanilla, blend]\nseeds: [0]\ntraining:\n  epochs: 1\n";

fn load(new_release: bool, dir: &Path) -> LoadedSuite {
    LoadedSuite::from_text(SUITE, &dir.join("suite.yaml"), dir, &registry(new_release)).unwrap()
}

#[test]
fn a_changed_default_changes_the_hash_and_stops_an_existing_run_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (old, new) = (load(false, tmp.path()), load(true, tmp.path()));
    // The defaults are part of the cell's configuration.
    assert_eq!(old.methods[1].params.text(), "alpha=1.0;steps=3");
    assert_eq!(new.methods[1].params.text(), "alpha=0.4;steps=3");
    let (old_cells, new_cells) = (expand(&old).unwrap(), expand(&new).unwrap());
    let hashes = |cells: &[mixbench::cell::CellConfig]| -> Vec<String> {
        cells.iter().map(|c| c.hash().unwrap()).collect()
    };
    let (old_hashes, new_hashes) = (hashes(&old_cells), hashes(&new_cells));
    assert_eq!(old_hashes[0], new_hashes[0], "vanilla's cell is unchanged");
    assert_ne!(
        old_hashes[1], new_hashes[1],
        "blend's cell changed with its default"
    );

    // A run folder whose blend cell finished under the old default.
    let run_dir = tmp.path().join("run");
    let cell_dir = run_dir.join(records::CELLS_DIR).join(&old_cells[1].cell);
    std::fs::create_dir_all(&cell_dir).unwrap();
    std::fs::write(
        cell_dir.join(records::CONFIG),
        old_cells[1].to_yaml().unwrap(),
    )
    .unwrap();
    std::fs::write(cell_dir.join(records::DONE), "trained\n").unwrap();
    let err = run_with(&new, &run_dir, SUITE, RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&old_cells[1].cell) && err.contains("method.params.alpha: 1.0 -> 0.4"),
        "{err}"
    );
    assert!(!err.contains("steps"), "{err}");
    // Nothing was trained or written for the unchanged vanilla cell.
    assert!(!run_dir
        .join(records::CELLS_DIR)
        .join(&old_cells[0].cell)
        .exists());
}

/// A cell recorded before the resolved form (`params: [key=value, ...]`, only the keys the
/// suite spelled out) reads back as those keys, and is unchanged when the defaults it left
/// out are still the defaults.
#[test]
fn a_recorded_key_value_list_reads_back_and_is_resolved_before_comparing() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = load(true, tmp.path());
    let cells = expand(&suite).unwrap();
    let run_dir = tmp.path().join("run");
    let cell_dir = run_dir.join(records::CELLS_DIR).join(&cells[1].cell);
    std::fs::create_dir_all(&cell_dir).unwrap();
    let yaml = cells[1].to_yaml().unwrap();
    let old_form = yaml.replace(
        "  params:\n    alpha: 0.4\n    steps: 3\n",
        "  params:\n  - steps=3\n",
    );
    assert_ne!(old_form, yaml, "the test rewrites the params of:\n{yaml}");
    std::fs::write(cell_dir.join(records::CONFIG), &old_form).unwrap();
    let read = mixbench::cell::CellConfig::read(&cell_dir).unwrap();
    assert_eq!(read.method.params.text(), "steps=3");
    std::fs::write(cell_dir.join(records::DONE), "trained\n").unwrap();
    let changed = mixbench::suite::changes::changed_cells(
        &cells,
        &run_dir.join(records::CELLS_DIR),
        &suite.registry,
    )
    .unwrap();
    assert!(changed.is_empty(), "{changed:?}");
}

/// A claim that names a method's default explicitly matches the cells of a suite that left it
/// implicit: `summary.csv` holds the resolved parameters.
#[test]
fn a_claim_naming_a_default_matches_a_run_that_left_it_implicit() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = load(true, tmp.path());
    let params = suite.methods[1].params.text();
    let header = "run,cell,status,suite,dataset,model,method,method_params,seed,epochs_done,top1_last,top1_best,best_epoch,top1_median_last10,top5_last,top5_best,train_loss_last,epoch_time_mean,mix_time_mean,saliency_time_mean,config_hash,code_version,device,libtorch,parameters,error";
    let mut summary = format!("{header}\n");
    for (seed, top1) in [(0, 70.0), (1, 71.0), (2, 72.0)] {
        summary.push_str(&format!(
            "r,d-m-blend-s{seed},done,r,d,m,blend,{params},{seed},1,{top1},{top1},0,{top1},90,91,0.1,1,0.1,0.1,h,v,cpu,2.11,1,\n"
        ));
    }
    std::fs::write(tmp.path().join("summary.csv"), summary).unwrap();
    std::fs::write(tmp.path().join("report.md"), "# Run\n\n## Training\n\nx\n").unwrap();
    let claim = |params: &str| {
        let text = format!(
            "title: t\nsource: test\nclaims:\n  - id: c\n    kind: value\n    source: s\n    dataset: d\n    model: m\n    metric: top1\n    method: {{method: blend, params: {{{params}}}}}\n    value: 71\n    tolerance: 5\n"
        );
        let file = ClaimsFile::parse(&text, Path::new("c.yaml")).unwrap();
        verify(tmp.path(), &[file], Options::default())
            .unwrap()
            .outcomes
            .remove(0)
    };
    // alpha 0.4 is the default the suite left implicit; 1 = 1.0 for `steps`.
    let explicit = claim("alpha: 0.4, steps: 3");
    assert_ne!(
        explicit.reason,
        Some(Reason::ProtocolDiffers),
        "{explicit:?}"
    );
    let other = claim("alpha: 1.0");
    assert_eq!(other.reason, Some(Reason::ProtocolDiffers), "{other:?}");
    assert!(
        other
            .detail
            .contains("alpha=0.4 where the claim assumes alpha=1.0"),
        "{}",
        other.detail
    );
}
