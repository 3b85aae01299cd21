//! The order methods appear in, in every table and chart of a report.

/// Methods of a group in report order: `vanilla` (the baseline of every comparison) first, then
/// by first appearance.
pub fn method_order<'a>(methods: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for m in methods {
        if !order.iter().any(|o| o == m) {
            order.push(m.to_string());
        }
    }
    if let Some(i) = order.iter().position(|m| m == "vanilla") {
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
