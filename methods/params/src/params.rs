//! Method parameters in two forms: the `key=value` transport form [`Params`] (what the CLI's
//! `--set` and suite files carry) and the typed struct of each method ([`MethodParams`],
//! declared with [`crate::method_params!`]), which is the only way to read a [`Params`] and the
//! single source of a method's parameter names, defaults and docs.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

use crate::{did_you_mean, ParamError, Result};

/// One field of a typed parameter struct: its key and its one-line meaning, both taken by
/// [`crate::method_params!`] from the tokens that declare the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamField {
    /// Key as written in `--set key=value` or a suite file (the field's name).
    pub name: &'static str,
    /// One-line meaning (the field's doc comment).
    pub doc: &'static str,
}

/// Documentation of one method parameter with its default rendered as text, as
/// `mixbench methods` and the README's methods table show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamDoc {
    /// Key as written in `--set key=value` or a suite file.
    pub name: &'static str,
    /// Default value, rendered from the typed struct's `Default` as a YAML scalar.
    pub default: String,
    /// One-line meaning.
    pub doc: &'static str,
}

/// The typed parameters of one method: a struct whose `Default` holds the method's defaults,
/// deserialised strictly (unknown fields rejected) from [`Params`] by [`Params::typed`].
/// Implemented by [`crate::method_params!`], which also writes the struct.
pub trait MethodParams:
    Serialize + DeserializeOwned + Default + Clone + std::fmt::Debug + PartialEq + 'static
{
    /// Registry name of the method these parameters configure.
    const METHOD: &'static str;
    /// Every field, in declaration order (the order of `mixbench methods` and the README).
    const FIELDS: &'static [ParamField];

    /// Range and consistency checks the types alone do not express; a violation is a
    /// [`ParamError::BadValue`] naming the key (see [`MethodParams::bad`]).
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// A [`ParamError::BadValue`] of this method for `key` = `value`, which should be
    /// `expected`.
    fn bad(key: &str, value: impl ToString, expected: &str) -> ParamError {
        ParamError::BadValue {
            method: Self::METHOD.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Checks that the float parameter `key` lies in `lo..=hi`.
    fn in_range(key: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
        if (lo..=hi).contains(&value) {
            Ok(())
        } else {
            Err(Self::bad(
                key,
                value,
                &format!("expected a number in [{lo}, {hi}]"),
            ))
        }
    }

    /// Every parameter with its default rendered from `Self::default()`.
    fn docs() -> Vec<ParamDoc> {
        let defaults = match serde_norway::to_value(Self::default()) {
            Ok(Value::Mapping(map)) => map,
            other => panic!(
                "the defaults of `{}` do not serialise to a map: {other:?}",
                Self::METHOD
            ),
        };
        Self::FIELDS
            .iter()
            .map(|field| ParamDoc {
                name: field.name,
                default: defaults
                    .get(field.name)
                    .map(scalar_text)
                    .unwrap_or_else(|| {
                        panic!("`{}` has no default for `{}`", Self::METHOD, field.name)
                    }),
                doc: field.doc,
            })
            .collect()
    }
}

/// A YAML value as text: strings as they are, anything else as YAML writes it.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_else(|e| format!("<{e}>")),
    }
}

/// Declares the typed parameters of a method: a struct with one `///` line and a default per
/// field, so that the field's name, type, default and doc come from the same tokens.
///
/// Generates the struct (`Clone`, `Debug`, `PartialEq`, `Serialize`, `Deserialize`, with
/// `#[serde(deny_unknown_fields, default)]`: absent keys take their default, unknown keys are
/// errors), its `Default`, and its [`MethodParams`] implementation, whose body is whatever
/// follows the struct (typically `fn validate`). The calling crate needs `serde` as a
/// dependency.
///
/// ```
/// use mixbench_params::{method_params, MethodParams, Params, Result};
///
/// method_params! {
///     /// Parameters of Input Mixup.
///     pub struct MixupParams for "mixup" {
///         /// Beta(alpha, alpha) parameter of lambda
///         pub alpha: f64 = 1.0,
///     }
///     fn validate(&self) -> Result<()> {
///         Self::in_range("alpha", self.alpha, 0.0, 1e6)
///     }
/// }
///
/// assert_eq!(MixupParams::docs()[0].default, "1.0");
/// let p: MixupParams = Params::parse("mixup", ["alpha=2"])?.typed()?;
/// assert_eq!(p.alpha, 2.0);
/// assert!(Params::parse("mixup", ["alpha=-1"])?.typed::<MixupParams>().is_err());
/// # Ok::<(), mixbench_params::ParamError>(())
/// ```
#[macro_export]
macro_rules! method_params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident for $method:literal {
            $(
                #[doc = $doc:literal]
                $fvis:vis $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
        $($body:tt)*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        $vis struct $name {
            $(
                #[doc = $doc]
                $fvis $field: $ty,
            )*
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                $name {
                    $($field: $default,)*
                }
            }
        }

        impl $crate::MethodParams for $name {
            const METHOD: &'static str = $method;
            const FIELDS: &'static [$crate::ParamField] = &[
                $($crate::ParamField {
                    name: ::std::stringify!($field),
                    doc: $doc.trim_ascii(),
                },)*
            ];
            $($body)*
        }
    };
}

/// Parameters of a method as given: `key=value` items of the command line's `--set`, or the
/// YAML values of a suite file's method entry. The transport form: it is read only by
/// resolving it against the method's typed struct ([`Params::typed`], [`Params::resolve`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    method: String,
    values: BTreeMap<String, Value>,
}

impl Params {
    /// Empty parameters for `method` (all defaults).
    pub fn new(method: &str) -> Self {
        Params {
            method: method.to_string(),
            values: BTreeMap::new(),
        }
    }

    /// Parses `key=value` items (the `--set` syntax); a later item overrides an earlier one
    /// with the same key.
    pub fn parse<'a>(method: &str, items: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut params = Params::new(method);
        for item in items {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| ParamError::Syntax(item.to_string()))?;
            params.set(key.trim(), value.trim());
        }
        Ok(params)
    }

    /// Sets one parameter from its text, read as a YAML scalar (`1` an integer, `random` a
    /// string; text that is not a scalar stays text).
    pub fn set(&mut self, key: &str, text: &str) {
        let value = serde_norway::from_str::<Value>(text)
            .ok()
            .filter(is_scalar)
            .unwrap_or_else(|| Value::String(text.to_string()));
        self.values.insert(key.to_string(), value);
    }

    /// Sets one parameter to a YAML value as a suite file holds it; only scalars are
    /// parameters, anything else is a [`ParamError::BadValue`] naming the key.
    pub fn set_value(&mut self, key: &str, value: Value) -> Result<()> {
        if !is_scalar(&value) {
            return Err(ParamError::BadValue {
                method: self.method.clone(),
                key: key.to_string(),
                value: scalar_text(&value),
                expected: "a scalar (number, boolean or string)".into(),
            });
        }
        self.values.insert(key.to_string(), value);
        Ok(())
    }

    /// The parameters as the typed struct `P`, checked by [`MethodParams::validate`]; absent
    /// keys take `P`'s defaults.
    ///
    /// A key that is not a field of `P` is a [`ParamError::UnknownParam`] with the closest
    /// field suggested; a value of the wrong type a [`ParamError::BadValue`] naming its key.
    /// An integer is accepted where a float is expected, and for compatibility `0` and `1`
    /// where a boolean is.
    pub fn typed<P: MethodParams>(&self) -> Result<P> {
        let mut map = Mapping::new();
        for (key, value) in &self.values {
            if !P::FIELDS.iter().any(|f| f.name == key) {
                return Err(self.unknown::<P>(key));
            }
            map.insert(
                Value::String(key.clone()),
                self.field_value::<P>(key, value)?,
            );
        }
        from_mapping(&self.method, map)
    }

    /// The parameters resolved against `P`: every field, defaults filled in, in canonical
    /// form (what a cell's configuration records and its hash covers).
    pub fn resolve<P: MethodParams>(&self) -> Result<ResolvedParams> {
        Ok(ResolvedParams::of(&self.typed::<P>()?))
    }

    /// `value` of `key` checked alone against `P`, so that a type error names its key; a
    /// `0` or `1` where `P` wants a boolean becomes that boolean.
    fn field_value<P: MethodParams>(&self, key: &str, value: &Value) -> Result<Value> {
        let alone = |value: &Value| {
            let mut map = Mapping::new();
            map.insert(Value::String(key.to_string()), value.clone());
            serde_norway::from_value::<P>(Value::Mapping(map)).map(|_| ())
        };
        match alone(value) {
            Ok(()) => Ok(value.clone()),
            Err(err) => {
                let as_bool = match value.as_u64() {
                    Some(0) => Some(Value::Bool(false)),
                    Some(1) => Some(Value::Bool(true)),
                    _ => None,
                };
                match as_bool {
                    Some(flag) if alone(&flag).is_ok() => Ok(flag),
                    _ => Err(ParamError::BadValue {
                        method: self.method.clone(),
                        key: key.to_string(),
                        value: scalar_text(value),
                        expected: err.to_string(),
                    }),
                }
            }
        }
    }

    /// The [`ParamError::UnknownParam`] of `key` for `P`.
    fn unknown<P: MethodParams>(&self, key: &str) -> ParamError {
        let names = P::FIELDS.iter().map(|f| f.name);
        ParamError::UnknownParam {
            method: self.method.clone(),
            key: key.to_string(),
            hint: did_you_mean(key, names.clone()),
            known: if P::FIELDS.is_empty() {
                "(none)".into()
            } else {
                names.collect::<Vec<_>>().join(", ")
            },
        }
    }
}

/// Whether a YAML value is a scalar (not a mapping, sequence or tagged value).
fn is_scalar(value: &Value) -> bool {
    matches!(
        value,
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)
    )
}

/// `map` deserialised strictly into `P` and validated. The fields were checked one by one
/// before, so this fails only for a struct whose fields constrain each other; the error then
/// names them all.
fn from_mapping<P: MethodParams>(method: &str, map: Mapping) -> Result<P> {
    let joined = |texts: Vec<String>| texts.join(", ");
    let keys = joined(map.keys().map(scalar_text).collect());
    let values = joined(map.values().map(scalar_text).collect());
    let params: P =
        serde_norway::from_value(Value::Mapping(map)).map_err(|e| ParamError::BadValue {
            method: method.to_string(),
            key: keys,
            value: values,
            expected: e.to_string(),
        })?;
    params.validate()?;
    Ok(params)
}

/// A method's parameters resolved against its typed struct: every field with its value, the
/// defaults filled in, as YAML scalars sorted by key. This is the one form a cell's
/// `config.yaml` and `cell.json` record, its configuration hash covers and `summary.csv`
/// writes (as [`ResolvedParams::text`]), so a changed default changes the hash of the cells
/// that use it, and a claim naming a default matches a run that left it implicit.
///
/// Deserialises from that mapping, and from the list of `key=value` texts that runs before
/// the resolved form recorded (which held only the keys a suite spelled out).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ResolvedParams(BTreeMap<String, Value>);

impl ResolvedParams {
    /// The resolved form of the typed parameters `params`.
    pub fn of<P: MethodParams>(params: &P) -> Self {
        match serde_norway::to_value(params) {
            Ok(Value::Mapping(map)) => ResolvedParams(
                map.into_iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
                    .collect(),
            ),
            other => panic!(
                "the parameters of `{}` do not serialise to a map: {other:?}",
                P::METHOD
            ),
        }
    }

    /// The typed struct `P` of these parameters, validated.
    pub fn typed<P: MethodParams>(&self) -> Result<P> {
        let mut params = Params::new(P::METHOD);
        params.values = self.0.clone();
        params.typed()
    }

    /// The value of `key`, if recorded.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// Every `(key, value)`, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether no parameter is recorded (a method without parameters).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The readable canonical text `key=value;key=value`, sorted by key (the `method_params`
    /// column of `summary.csv`); [`ResolvedParams::parse_text`] reads it back.
    pub fn text(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={}", scalar_text(v)))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Reads [`ResolvedParams::text`] back, and the `key=value;...` text of the explicit keys
    /// that `summary.csv` held before the resolved form; values are read as YAML scalars.
    pub fn parse_text(text: &str) -> Result<Self> {
        let items = text.split(';').filter(|item| !item.trim().is_empty());
        Ok(ResolvedParams(Params::parse("", items)?.values))
    }
}

/// Whether two recorded parameter values are the same: numbers by value (`1` = `1.0`), the
/// rest as YAML scalars.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl<'de> Deserialize<'de> for ResolvedParams {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The two recorded forms.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Recorded {
            Resolved(BTreeMap<String, Value>),
            KeyValueTexts(Vec<String>),
        }
        match Recorded::deserialize(deserializer)? {
            Recorded::Resolved(map) => Ok(ResolvedParams(map)),
            Recorded::KeyValueTexts(items) => Params::parse("", items.iter().map(String::as_str))
                .map(|p| ResolvedParams(p.values))
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a test switch behaves.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Exact,
    }

    method_params! {
        /// Parameters of a test method.
        struct TestParams for "test" {
            /// Beta parameter
            alpha: f64 = 1.0,
            /// Count
            count: usize = 3,
            /// Switch
            flag: bool = true,
            /// Mode
            mode: Mode = Mode::Fast,
        }
        fn validate(&self) -> Result<()> {
            Self::in_range("alpha", self.alpha, 0.0, 10.0)
        }
    }

    #[test]
    fn names_docs_and_defaults_come_from_the_declaration() {
        let docs = TestParams::docs();
        let rendered: Vec<(&str, &str, &str)> = docs
            .iter()
            .map(|d| (d.name, d.default.as_str(), d.doc))
            .collect();
        assert_eq!(
            rendered,
            [
                ("alpha", "1.0", "Beta parameter"),
                ("count", "3", "Count"),
                ("flag", "true", "Switch"),
                ("mode", "fast", "Mode"),
            ]
        );
        assert_eq!(TestParams::METHOD, "test");
    }

    #[test]
    fn parses_typed_values_and_keeps_defaults() {
        let p: TestParams = Params::parse("test", ["alpha = 0.4", "mode=exact", "flag=0"])
            .unwrap()
            .typed()
            .unwrap();
        assert_eq!(
            p,
            TestParams {
                alpha: 0.4,
                mode: Mode::Exact,
                flag: false,
                ..TestParams::default()
            }
        );
        // An integer where a float is expected.
        let p: TestParams = Params::parse("test", ["alpha=2"]).unwrap().typed().unwrap();
        assert_eq!(p.alpha, 2.0);
        assert_eq!(
            Params::new("test").typed::<TestParams>().unwrap(),
            TestParams::default()
        );
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let p = Params::parse("test", ["alhpa=0.4"]).unwrap();
        let err = p.typed::<TestParams>().unwrap_err().to_string();
        assert!(
            err.contains("`alhpa`")
                && err.contains("did you mean `alpha`")
                && err.contains("alpha, count, flag, mode"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_and_syntax_are_errors() {
        assert!(Params::parse("test", ["alpha"]).is_err());
        for (item, key, value) in [
            ("alpha=x", "alpha", "`x`"),
            ("count=1.5", "count", "`1.5`"),
            ("count=-1", "count", "`-1`"),
            ("flag=maybe", "flag", "`maybe`"),
            ("mode=slow", "mode", "`slow`"),
        ] {
            let err = Params::parse("test", [item])
                .unwrap()
                .typed::<TestParams>()
                .unwrap_err();
            assert!(matches!(err, ParamError::BadValue { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("parameter `{key}`")) && text.contains(value),
                "{text}"
            );
        }
        let err = Params::parse("test", ["alpha=-1"])
            .unwrap()
            .typed::<TestParams>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`alpha`") && err.contains("[0, 10]"), "{err}");
    }
}
