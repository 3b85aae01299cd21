//! Finished cells whose stored configuration differs from the suite's: a rerun into an existing
//! run folder must neither skip them silently (the folder would then misdescribe its results)
//! nor mix old and new results. [`changed_cells`] finds them with the keys that changed, and
//! [`changed_evaluations`] the finished evaluations whose settings changed.

use std::path::Path;

use anyhow::{Context, Result};
use serde_norway::Value;

use crate::cell::config::RUN_ONLY_KEYS;
use crate::cell::CellConfig;
use crate::evaluations::EvaluationKind;
use crate::executor::Unit;
use crate::records;
use mixbench_core::{Params, Registry};

/// A finished or resumable cell trained with another configuration than the suite's now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedCell {
    /// Cell id.
    pub cell: String,
    /// The changed keys as `path: old -> new` (dotted paths, e.g. `training.epochs: 1 -> 3`).
    pub changes: Vec<String>,
}

/// The finished cells (with a `done` marker) and the cells with training to lose (a resume
/// checkpoint) under `cells_dir` whose `config.yaml` differs
/// from the suite's configuration of the same cell, ignoring [`RUN_ONLY_KEYS`] keys; method
/// parameters recorded as a `key=value` list are resolved by `registry` first.
pub fn changed_cells(
    cells: &[CellConfig],
    cells_dir: &Path,
    registry: &Registry,
) -> Result<Vec<ChangedCell>> {
    let mut changed = Vec::new();
    for cell in cells {
        let dir = cells_dir.join(&cell.cell);
        if !dir.join(records::DONE).exists() && !dir.join(records::RESUME).exists() {
            continue;
        }
        let path = dir.join(records::CONFIG);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut stored: Value =
            serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        resolve_recorded_params(&mut stored, registry);
        let wanted: Value = serde_norway::from_str(&cell.to_yaml()?)?;
        let mut changes = Vec::new();
        diff("", &stored, &wanted, &mut changes);
        if !changes.is_empty() {
            changed.push(ChangedCell {
                cell: cell.cell.clone(),
                changes,
            });
        }
    }
    Ok(changed)
}

/// The finished evaluations (with a `<kind>.done` marker) of the finished cells under
/// `cells_dir` that are not in `retrained`, whose settings differ from the suite's
/// `evaluations`; reported as `<cell> (<kind>)` with the changed keys under
/// `evaluations.<kind>`.
pub fn changed_evaluations(
    cells: &[CellConfig],
    cells_dir: &Path,
    evaluations: &[(&'static dyn EvaluationKind, String)],
    retrained: &[ChangedCell],
) -> Result<Vec<ChangedCell>> {
    let mut changed = Vec::new();
    for cell in cells {
        let dir = cells_dir.join(&cell.cell);
        if !dir.join(records::DONE).exists() || retrained.iter().any(|c| c.cell == cell.cell) {
            continue;
        }
        for (kind, settings) in evaluations {
            let unit = Unit::evaluate(&dir, *kind);
            if !kind.applies_to(cell) || !unit.done_file().exists() || unit.is_finished(settings) {
                continue;
            }
            let path = unit.settings_file();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let stored: Value = serde_norway::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            let wanted: Value = serde_norway::from_str(settings)?;
            let mut changes = Vec::new();
            diff(
                &format!("evaluations.{}", kind.name()),
                &stored,
                &wanted,
                &mut changes,
            );
            if changes.is_empty() {
                // Same settings, another marker (an older format): still a change to redo.
                changes.push(format!("evaluations.{}: marker differs", kind.name()));
            }
            changed.push(ChangedCell {
                cell: format!("{} ({})", cell.cell, kind.name()),
                changes,
            });
        }
    }
    Ok(changed)
}

/// Resolves the `method.params` of a configuration recorded before parameters were resolved
/// (a list of the `key=value` texts a suite spelled out) against the method's typed struct, so
/// that the defaults it left out compare as the defaults they are. A list that no longer
/// resolves (a removed key) is left as it is and shows as changed.
fn resolve_recorded_params(stored: &mut Value, registry: &Registry) {
    let Some(method) = stored.get_mut("method") else {
        return;
    };
    let (Some(name), Some(Value::Sequence(items))) = (
        method
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string),
        method.get("params"),
    ) else {
        return;
    };
    let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
    let resolved = Params::parse(&name, texts)
        .map_err(mixbench_core::MixError::from)
        .and_then(|given| registry.info(&name)?.resolve(&given));
    if let (Some(value), Value::Mapping(fields)) = (
        resolved.ok().and_then(|r| serde_norway::to_value(r).ok()),
        method,
    ) {
        fields.insert(Value::String("params".into()), value);
    }
}

/// Appends `path: old -> new` for every leaf where `old` and `new` differ.
fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    if RUN_ONLY_KEYS.contains(&path) || old == new {
        return;
    }
    if let (Value::Mapping(a), Value::Mapping(b)) = (old, new) {
        let mut keys: Vec<&Value> = a.keys().chain(b.keys()).collect();
        keys.sort_by_key(|k| scalar(k));
        keys.dedup();
        for key in keys {
            let child = match path {
                "" => scalar(key),
                _ => format!("{path}.{}", scalar(key)),
            };
            let missing = Value::Null;
            diff(
                &child,
                a.get(key).unwrap_or(&missing),
                b.get(key).unwrap_or(&missing),
                out,
            );
        }
        return;
    }
    out.push(format!("{path}: {} -> {}", scalar(old), scalar(new)));
}

/// A value on one line, as in a flow-style YAML document.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "(absent)".into(),
        Value::String(s) => s.clone(),
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(scalar).collect();
            format!("[{}]", items.join(", "))
        }
        other => serde_norway::to_string(other)
            .map(|s| s.trim().replace('\n', " "))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nested keys are reported with dotted paths, added and removed keys as absent, and the
    /// run-only keys (`base_dir`, `training.isolation`) not at all.
    #[test]
    fn diff_names_every_changed_leaf() {
        let old: Value = serde_norway::from_str(
            "seed: 0\nbase_dir: /a\ntraining: {epochs: 1, lr: 0.1, isolation: process, gamma: [0.1]}\n",
        )
        .unwrap();
        let new: Value = serde_norway::from_str(
            "seed: 0\nbase_dir: /b\ntraining: {epochs: 3, lr: 0.1, isolation: inline, gamma: [0.2], threads: 2}\n",
        )
        .unwrap();
        let mut out = Vec::new();
        diff("", &old, &new, &mut out);
        assert_eq!(
            out,
            vec![
                "training.epochs: 1 -> 3",
                "training.gamma: [0.1] -> [0.2]",
                "training.threads: (absent) -> 2",
            ]
        );
        let mut none = Vec::new();
        diff("", &old, &old, &mut none);
        assert!(none.is_empty());
    }
}
