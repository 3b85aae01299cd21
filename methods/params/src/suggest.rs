/// The candidate closest to `name` by normalised Damerau-Levenshtein similarity, when it is
/// close enough to be a plausible typo (similarity at least 0.6), formatted as
/// `", did you mean `x`?"`; otherwise the empty string. Used by every name lookup so that all
/// "unknown X" errors read alike.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(name, c), c))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(", did you mean `{c}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("mixpu", ["mixup", "cutmix"]),
            ", did you mean `mixup`?"
        );
        assert_eq!(did_you_mean("resnet", ["mixup", "cutmix"]), "");
    }
}
