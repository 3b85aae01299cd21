//! The module layering of `harness/src` and of the libtorch-free `harness/results/src`,
//! checked mechanically (see `docs/architecture.md`, *Layers*); Cargo itself keeps the
//! results crate from importing the `mixbench` crate:
//!
//! 1. every top-level module sits in a layer, and imports only from modules of lower layers;
//! 2. the files of each crate import each other without a cycle.
//!
//! "Imports" are what the source text names: `use` declarations (brace groups expanded) and
//! paths in code that start with `crate::`, `super::`, `self::` or the name of a sub-module the
//! file declares (`mod x;` then `x::...`). Each is resolved to the file that defines the longest
//! matching module path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of the `mixbench` crate, lowest first. A module may import from modules of
/// strictly lower layers only. (`records`, `report`, `claims`, `compare`, `history`,
/// `metrics` and `catalogue` are re-exports of the results crate, and `data` of the data
/// crate, below all of them.)
const LAYERS: &[&[&str]] = &[
    &["system", "interrupt"],
    &["models", "methods"],
    &["engine"],
    &["cell"],
    &["evaluations"],
    &["executor"],
    &["suite", "mix_command"],
    &["cli"],
];

/// The layers of the `mixbench-results` crate, lowest first.
const RESULTS_LAYERS: &[&[&str]] = &[
    &["records", "metrics"],
    &["report"],
    &["evaluations"],
    &["catalogue"],
    &["claims"],
    &["history"],
    &["compare"],
];

/// Each checked crate: its source folder and its layers.
fn crates() -> [(PathBuf, &'static [&'static [&'static str]]); 2] {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        (harness.join("src"), LAYERS),
        (harness.join("results/src"), RESULTS_LAYERS),
    ]
}

/// Module path of a source file: `a/b.rs` -> [a, b], `a/mod.rs` -> [a], `lib.rs` -> [].
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments, string literals and `#[cfg(test)]` modules (tests may reach
/// anywhere).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut in_string = false;
        let mut prev = ' ';
        for c in code.chars() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into full paths.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or(&tree).to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            expand_use(p)
                .into_iter()
                .map(move |s| format!("{prefix}{s}"))
        })
        .collect()
}

/// Paths a file's code names, each as module segments, made absolute from `module`.
fn imported_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let children: BTreeSet<String> = code
        .lines()
        .filter_map(|l| {
            let l = l
                .trim()
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ");
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect();
    let mut raw: Vec<String> = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') {
            raw.extend(expand_use(&after[..end]));
        }
        rest = &after[end.min(after.len())..];
    }
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        // `a::b::` before a brace group is read with its `use` tree above.
        .filter(|w| w.contains("::") && !w.ends_with("::"))
        .collect();
    raw.extend(words.iter().map(|w| w.to_string()));
    let mut out = Vec::new();
    for path in raw {
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let Some(first) = segs.first() else { continue };
        let mut abs: Vec<String> = match *first {
            "crate" | "mixbench" => Vec::new(),
            "super" => {
                let mut m = module.to_vec();
                m.pop();
                m
            }
            "self" => module.to_vec(),
            child if children.contains(child) => {
                let mut m = module.to_vec();
                m.push(child.to_string());
                out.push(m);
                continue;
            }
            _ => continue,
        };
        let mut tail = &segs[1..];
        while tail.first() == Some(&"super") {
            abs.pop();
            tail = &tail[1..];
        }
        abs.extend(tail.iter().map(|s| s.to_string()));
        out.push(abs);
    }
    out
}

struct Tree {
    /// Module path -> file (relative to src).
    files: BTreeMap<Vec<String>, PathBuf>,
    /// File -> files it imports.
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
}

fn read_tree(src: &Path) -> Tree {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let files: BTreeMap<Vec<String>, PathBuf> = paths
        .iter()
        .filter(|p| !p.ends_with("main.rs"))
        .map(|p| {
            let rel = p.strip_prefix(src).unwrap().to_path_buf();
            (module_of(&rel), rel)
        })
        .collect();
    let mut edges = BTreeMap::new();
    for (module, rel) in &files {
        let code = code_of(&std::fs::read_to_string(src.join(rel)).unwrap());
        let mut targets = BTreeSet::new();
        for path in imported_paths(&code, module) {
            let target = (0..=path.len())
                .rev()
                .find_map(|n| files.get(&path[..n]))
                .unwrap();
            // A path that resolves to the crate root names a re-export of another crate.
            if target != rel && !module_of(target).is_empty() {
                targets.insert(target.clone());
            }
        }
        edges.insert(rel.clone(), targets);
    }
    Tree { files, edges }
}

fn layer_of(file: &Path, layers: &[&[&str]]) -> Option<(usize, String)> {
    let top = module_of(file).into_iter().next()?;
    let layer = layers
        .iter()
        .position(|l| l.contains(&top.as_str()))
        .unwrap_or_else(|| panic!("module `{top}` is in no layer of tests/layers.rs"));
    Some((layer, top))
}

#[test]
fn top_level_modules_import_only_lower_layers() {
    let mut upward = Vec::new();
    for (src, layers) in crates() {
        let tree = read_tree(&src);
        for (from, targets) in &tree.edges {
            let Some((from_layer, from_top)) = layer_of(from, layers) else {
                continue;
            };
            for to in targets {
                let Some((to_layer, to_top)) = layer_of(to, layers) else {
                    continue;
                };
                if from_top != to_top && to_layer >= from_layer {
                    upward.push(format!(
                        "{}: {} -> {}",
                        src.display(),
                        from.display(),
                        to.display()
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not go down a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn files_import_each_other_without_a_cycle() {
    for (src, _) in crates() {
        assert_no_cycle(&read_tree(&src));
    }
}

/// Panics with the first import cycle among the files of `tree`.
fn assert_no_cycle(tree: &Tree) {
    // Depth-first search with colours; report the first cycle found.
    fn visit(
        node: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for file in tree.files.values() {
        if state.get(file).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(file, &tree.edges, &mut state, &mut Vec::new()) {
                let names: Vec<String> = cycle.iter().map(|p| p.display().to_string()).collect();
                panic!("import cycle: {}", names.join(" -> "));
            }
        }
    }
}

/// The checker itself: a `use` tree expands fully, and the paths a file names resolve from its
/// own module (so the two tests above cannot pass by reading nothing).
#[test]
fn the_checker_reads_use_trees_and_relative_paths() {
    assert_eq!(
        expand_use("crate::report::{stats::mean, order::{self, method_order}}"),
        [
            "crate::report::stats::mean",
            "crate::report::order::self",
            "crate::report::order::method_order"
        ]
    );
    let module = vec!["evaluations".to_string(), "robustness".to_string()];
    let code =
        "mod report;\nuse super::Evaluation;\nfn f() { report::build(); crate::cell::open(); }\n";
    let paths = imported_paths(code, &module);
    assert!(paths.contains(&vec!["evaluations".into(), "Evaluation".into()]));
    assert!(paths.contains(&vec![
        "evaluations".into(),
        "robustness".into(),
        "report".into()
    ]));
    assert!(paths.contains(&vec!["cell".into(), "open".into()]));
    let [(harness, _), (results, _)] = crates();
    let cli = read_tree(&harness);
    let cli = cli.edges.get(Path::new("cli.rs")).unwrap();
    assert!(cli.iter().any(|p| p.starts_with("suite")), "{cli:?}");
    let results = read_tree(&results);
    let compare = results.edges.get(Path::new("compare/load.rs")).unwrap();
    assert!(
        compare.iter().any(|p| p.starts_with("evaluations")),
        "{compare:?}"
    );
}
