//! The order methods appear in, in every table and chart of a report, and the baseline method
//! they are read against.

/// Label of the baseline method: listed first in every group, the denominator of runtime
/// ratios, the reference of relative robustness. One name for every reader of results.
pub const BASELINE_METHOD: &str = "vanilla";

/// Methods of a group in report order: `vanilla` (the baseline of every comparison) first, then
/// by first appearance.
pub fn method_order<'a>(methods: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for m in methods {
        if !order.iter().any(|o| o == m) {
            order.push(m.to_string());
        }
    }
    if let Some(i) = order.iter().position(|m| m == BASELINE_METHOD) {
        let v = order.remove(i);
        order.insert(0, v);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vanilla_first_then_first_appearance() {
        let order = method_order(["mixup", "sage", "vanilla", "mixup"].into_iter());
        assert_eq!(order, ["vanilla", "mixup", "sage"]);
    }
}
