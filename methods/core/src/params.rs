use std::collections::BTreeMap;
use std::str::FromStr;

use crate::{did_you_mean, MixError, Result};

/// Documentation of one method parameter: name, default, meaning. Methods list theirs in
/// their [`crate::MethodInfo`] so that the CLI, the README and the errors share one source.
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo {
    /// Key as written in `--set key=value` or a suite file.
    pub name: &'static str,
    /// Default value, as text.
    pub default: &'static str,
    /// One-line meaning.
    pub doc: &'static str,
}

/// `key=value` parameters of a method, as given on the command line or in a suite file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    method: String,
    values: BTreeMap<String, String>,
}

impl Params {
    /// Empty parameters for `method` (all defaults).
    pub fn new(method: &str) -> Self {
        Params {
            method: method.to_string(),
            values: BTreeMap::new(),
        }
    }

    /// Parses `key=value` items; a later item overrides an earlier one with the same key.
    pub fn parse<'a>(method: &str, items: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut params = Params::new(method);
        for item in items {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| MixError::Syntax(item.to_string()))?;
            params.set(key.trim(), value.trim());
        }
        Ok(params)
    }

    /// Sets one parameter.
    pub fn set(&mut self, key: &str, value: &str) {
        self.values.insert(key.to_string(), value.to_string());
    }

    /// The parameters as given, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Fails on the first key not in `known`, suggesting the closest known key.
    pub fn expect_only(&self, known: &[ParamInfo]) -> Result<()> {
        for key in self.values.keys() {
            if !known.iter().any(|p| p.name == key) {
                let names = known.iter().map(|p| p.name);
                return Err(MixError::UnknownParam {
                    method: self.method.clone(),
                    key: key.clone(),
                    hint: did_you_mean(key, names.clone()),
                    known: if known.is_empty() {
                        "(none)".into()
                    } else {
                        names.collect::<Vec<_>>().join(", ")
                    },
                });
            }
        }
        Ok(())
    }

    /// The value of `key` parsed as `T`, or `default` when absent.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> Result<T> {
        match self.values.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| self.bad(key, raw, std::any::type_name::<T>())),
        }
    }

    /// Boolean parameter `key` (`true`/`false`, `1`/`0`), or `default` when absent.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool> {
        let text: String = self.get(key, default.to_string())?;
        match text.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(self.bad(key, other, "true or false")),
        }
    }

    /// As [`Params::get`] for a float that must lie in `lo..=hi`.
    pub fn get_in_range(&self, key: &str, default: f64, lo: f64, hi: f64) -> Result<f64> {
        let value: f64 = self.get(key, default)?;
        if !(lo..=hi).contains(&value) {
            return Err(self.bad(
                key,
                &value.to_string(),
                &format!("expected a number in [{lo}, {hi}]"),
            ));
        }
        Ok(value)
    }

    /// A [`MixError::BadValue`] for `key`.
    pub fn bad(&self, key: &str, value: &str, expected: &str) -> MixError {
        MixError::BadValue {
            method: self.method.clone(),
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[ParamInfo] = &[ParamInfo {
        name: "alpha",
        default: "1.0",
        doc: "",
    }];

    #[test]
    fn parses_and_reads_typed_values() {
        let p = Params::parse("mixup", ["alpha = 0.4"]).unwrap();
        assert_eq!(p.get::<f64>("alpha", 1.0).unwrap(), 0.4);
        assert_eq!(p.get::<f64>("beta", 2.0).unwrap(), 2.0);
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let p = Params::parse("mixup", ["alhpa=0.4"]).unwrap();
        let err = p.expect_only(KNOWN).unwrap_err().to_string();
        assert!(
            err.contains("`alhpa`") && err.contains("did you mean `alpha`"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_and_syntax_are_errors() {
        assert!(Params::parse("m", ["alpha"]).is_err());
        let p = Params::parse("m", ["alpha=x"]).unwrap();
        assert!(p
            .get::<f64>("alpha", 1.0)
            .unwrap_err()
            .to_string()
            .contains("`x`"));
        let p = Params::parse("m", ["alpha=-1"]).unwrap();
        assert!(p.get_in_range("alpha", 1.0, 0.0, 10.0).is_err());
    }
}
