//! The metric catalogue: every producer of numbers (the training summary, each evaluation)
//! with the metrics it declares ([`crate::metrics::MetricDecl`]), looked up by name, and its
//! listing as a table.

use crate::metrics::MetricDecl;

/// Who declares a group of metrics: the training summary or an evaluation.
#[derive(Clone, Copy, Debug)]
pub struct Producer {
    /// `training` or the evaluation's name.
    pub name: &'static str,
    /// Its metrics.
    pub metrics: &'static [MetricDecl],
}

/// Every producer and its metrics: the training summary first, then each evaluation in the
/// registry's order.
pub fn catalogue() -> Vec<Producer> {
    let mut out = vec![Producer {
        name: "training",
        metrics: crate::report::SUMMARY_METRICS,
    }];
    out.extend(crate::evaluations::registry().iter().map(|e| Producer {
        name: e.name(),
        metrics: e.metrics(),
    }));
    out
}

/// The declaration of `name`, wherever it is declared.
pub fn find(name: &str) -> Option<MetricDecl> {
    catalogue()
        .into_iter()
        .flat_map(|p| p.metrics.iter().copied())
        .find(|m| m.name == name)
}

/// The catalogue as a Markdown table (`mixbench metrics`, the outputs documentation).
pub fn markdown() -> String {
    let mut out = String::from(
        "| metric | declared by | unit | better | kind | conditions | what |\n|---|---|---|---|---|---|---|\n",
    );
    for producer in catalogue() {
        for m in producer.metrics {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                m.name,
                producer.name,
                m.unit,
                m.direction.name(),
                m.kind.name(),
                m.conditions,
                m.doc
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{resolve_alias, ALIASES};

    #[test]
    fn every_metric_is_declared_once() {
        let mut names: Vec<&str> = catalogue()
            .iter()
            .flat_map(|p| p.metrics.iter().map(|m| m.name))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a metric is declared twice");
        for alias in ALIASES {
            assert!(
                find(alias.name).is_some(),
                "alias {} -> {}",
                alias.old,
                alias.name
            );
            assert!(
                find(alias.old).is_none(),
                "alias {} shadows a metric",
                alias.old
            );
        }
    }

    #[test]
    fn old_claims_names_resolve() {
        assert_eq!(
            resolve_alias("fewshot_5way_1shot"),
            Some(("fewshot_accuracy", "5way-1shot".to_string()))
        );
        assert_eq!(
            resolve_alias("clean_top1"),
            Some(("robustness_top1", "clean".to_string()))
        );
        assert_eq!(resolve_alias("fewshot_5way_xshot"), None);
        assert_eq!(resolve_alias("top1_last"), None);
    }

    /// The outputs documentation shows the catalogue as `mixbench metrics` prints it.
    #[test]
    fn the_documented_catalogue_is_the_catalogue() {
        let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/outputs.md");
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(
            text.contains(&markdown()),
            "{}: its metric table differs from `mixbench metrics`",
            page.display()
        );
    }
}
