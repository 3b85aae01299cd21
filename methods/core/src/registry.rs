use crate::{did_you_mean, MixError, MixMethod, ParamInfo, Params, Result};

/// A registered method: its name, what it is, its parameters and its constructor.
#[derive(Clone, Copy)]
pub struct MethodInfo {
    /// Name used in suite files and on the command line.
    pub name: &'static str,
    /// One line: the paper and what the method does.
    pub summary: &'static str,
    /// Parameters with their defaults (those of the official CIFAR commands).
    pub params: &'static [ParamInfo],
    /// Builds the method from parameters; fails on unknown keys or bad values.
    pub build: fn(&Params) -> Result<Box<dyn MixMethod>>,
}

/// Name -> constructor map; the single source of truth for which methods exist.
#[derive(Clone, Default)]
pub struct Registry {
    methods: Vec<MethodInfo>,
}

impl Registry {
    /// A registry holding `methods`, in the order given (the order of reports).
    pub fn new(methods: Vec<MethodInfo>) -> Self {
        Registry { methods }
    }

    /// Every registered method.
    pub fn methods(&self) -> &[MethodInfo] {
        &self.methods
    }

    /// The method called `name`, or an error listing the registered names.
    pub fn info(&self, name: &str) -> Result<&MethodInfo> {
        self.methods.iter().find(|m| m.name == name).ok_or_else(|| {
            let names = self.methods.iter().map(|m| m.name);
            MixError::UnknownMethod {
                name: name.to_string(),
                hint: did_you_mean(name, names.clone()),
                known: names.collect::<Vec<_>>().join(", "),
            }
        })
    }

    /// Builds `name` with `params`.
    pub fn build(&self, name: &str, params: &Params) -> Result<Box<dyn MixMethod>> {
        (self.info(name)?.build)(params)
    }
}
