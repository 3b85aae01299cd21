//! Every registered method's parameters have one source: its typed parameter struct. Its
//! defaults, the `mixbench methods` listing and the README's methods table must agree, every
//! parameter must be documented, and the `key=value` transport form must read back into the
//! struct exactly (unknown keys and wrong types rejected with the key named).

use std::path::Path;

use mixbench::methods::{describe, registry};
use mixbench_core::{MixError, ParamDoc, ParamError, Params};

/// `key=default` of every parameter of `docs`, as `mixbench methods` and the README write them.
fn items(docs: &[ParamDoc]) -> Vec<String> {
    docs.iter()
        .map(|p| format!("{}={}", p.name, p.default))
        .collect()
}

/// The `Params` holding every default of `docs` as text.
fn rendered_defaults(method: &str, docs: &[ParamDoc]) -> Params {
    let items = items(docs);
    Params::parse(method, items.iter().map(String::as_str)).unwrap()
}

/// For every registered method, from the registry alone (no second list of methods): the
/// resolved defaults (typed struct -> canonical mapping) equal what the rendered defaults of
/// `mixbench methods` resolve to, survive the YAML a cell's `config.yaml` holds and the text
/// `summary.csv` holds, and build the method.
#[test]
fn resolved_parameters_round_trip_for_every_registered_method() {
    for info in registry().methods() {
        let defaults = info.resolve(&Params::new(info.name)).unwrap();
        let docs = info.params.docs();
        assert_eq!(
            defaults.iter().map(|(k, _)| k).collect::<Vec<_>>().len(),
            docs.len(),
            "{}: every parameter is resolved",
            info.name
        );
        let rendered = info.resolve(&rendered_defaults(info.name, &docs)).unwrap();
        assert_eq!(rendered, defaults, "{}", info.name);
        let yaml = serde_norway::to_string(&defaults).unwrap();
        let read: mixbench_core::ResolvedParams = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(read, defaults, "{}: {yaml}", info.name);
        let text = mixbench_core::ResolvedParams::parse_text(&defaults.text()).unwrap();
        let mut given = Params::new(info.name);
        for (key, value) in text.iter() {
            given.set_value(key, value.clone()).unwrap();
        }
        assert_eq!(info.resolve(&given).unwrap(), defaults, "{}", info.name);
        let method = info.build_resolved(&defaults).unwrap();
        assert_eq!(method.name(), info.name);
    }
}

#[test]
fn every_parameter_is_documented_and_its_defaults_build_the_method() {
    for info in registry().methods() {
        let docs = info.params.docs();
        for p in &docs {
            assert!(
                !p.doc.trim().is_empty(),
                "{}: `{}` has no doc",
                info.name,
                p.name
            );
            assert!(
                !p.default.is_empty(),
                "{}: `{}` has no default",
                info.name,
                p.name
            );
        }
        let method = info
            .build(&rendered_defaults(info.name, &docs))
            .unwrap_or_else(|e| {
                panic!("{}: its rendered defaults do not build it: {e}", info.name)
            });
        assert_eq!(method.name(), info.name);
    }
}

#[test]
fn unknown_keys_are_rejected_with_a_suggestion() {
    for info in registry().methods() {
        let docs = info.params.docs();
        let Some(first) = docs.first() else {
            let err = info
                .build(&Params::parse(info.name, ["alpha=1"]).unwrap())
                .err()
                .unwrap();
            assert!(err.to_string().contains("(none)"), "{err}");
            continue;
        };
        // A typo: the last two letters swapped.
        let mut typo: Vec<char> = first.name.chars().collect();
        let n = typo.len();
        typo.swap(n - 1, n - 2);
        let typo: String = typo.into_iter().collect();
        let item = format!("{typo}=1");
        let err = info
            .build(&Params::parse(info.name, [item.as_str()]).unwrap())
            .err()
            .unwrap();
        assert!(
            matches!(err, MixError::Param(ParamError::UnknownParam { .. })),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("`{typo}`"))
                && text.contains(&format!("did you mean `{}`", first.name)),
            "{text}"
        );
        let all: Vec<&str> = docs.iter().map(|p| p.name).collect();
        assert!(text.contains(&all.join(", ")), "{text}");
    }
    // The example of the CLI's documentation.
    let err = registry()
        .build("mixup", &Params::parse("mixup", ["alhpa=0.4"]).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("`alhpa`") && err.contains("did you mean `alpha`"),
        "{err}"
    );
}

#[test]
fn wrong_types_are_rejected_naming_the_key() {
    for info in registry().methods() {
        for p in info.params {
            for bad in ["@@", "[1, 2]"] {
                let item = format!("{}={bad}", p.name);
                let err = info
                    .build(&Params::parse(info.name, [item.as_str()]).unwrap())
                    .err()
                    .unwrap_or_else(|| panic!("{}: {item} accepted", info.name));
                assert!(
                    matches!(err, MixError::Param(ParamError::BadValue { .. })),
                    "{err}"
                );
                let text = err.to_string();
                assert!(
                    text.contains(&format!("parameter `{}`", p.name))
                        && text.contains(&format!("`{bad}`")),
                    "{text}"
                );
            }
        }
    }
    // An integer is accepted where a float is expected; a float is not an integer.
    let reg = registry();
    assert!(reg
        .build("mixup", &Params::parse("mixup", ["alpha=2"]).unwrap())
        .is_ok());
    let err = reg
        .build(
            "comixup",
            &Params::parse("comixup", ["m_part=2.5"]).unwrap(),
        )
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("`m_part`") && err.contains("`2.5`"), "{err}");
}

#[test]
fn methods_listing_shows_the_typed_defaults() {
    let registry = registry();
    let text = describe(&registry);
    for info in registry.methods() {
        assert!(
            text.lines()
                .any(|l| l.starts_with(info.name) && l.contains(info.summary)),
            "{}",
            info.name
        );
        for p in info.params {
            let line = format!("    {:<26} {}", format!("{}={}", p.name, p.default), p.doc);
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in:\n{text}"
            );
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .arg("methods")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
}

/// The rows of the README's methods table: name and the backticked `key=value` items of the
/// parameters column (none for `-`).
fn readme_rows() -> Vec<(String, Vec<String>)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let section = readme
        .split("\n## Methods\n")
        .nth(1)
        .expect("a `## Methods` section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| name |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let name = cells[0]
                .trim_start_matches("| ")
                .trim_matches('`')
                .to_string();
            let params = cells[1]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            (name, params)
        })
        .collect()
}

#[test]
fn readme_methods_table_shows_the_typed_defaults() {
    let rows = readme_rows();
    let registry = registry();
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    let registered: Vec<&str> = registry.methods().iter().map(|m| m.name).collect();
    assert_eq!(
        names, registered,
        "one README row per registered method, in order"
    );
    for (info, (_, readme)) in registry.methods().iter().zip(&rows) {
        assert_eq!(
            readme,
            &items(&info.params.docs()),
            "README row of `{}`",
            info.name
        );
    }
}
