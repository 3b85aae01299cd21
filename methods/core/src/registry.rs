use crate::{
    did_you_mean, MethodParams, MixError, MixMethod, ParamDoc, Params, ResolvedParams, Result,
};

/// The parameters of one registered method, derived from its typed struct ([`MethodParams`]):
/// names and docs from the struct's declaration, defaults rendered from its `Default`. Iterate
/// it (or call [`ParamTable::docs`]) for one [`ParamDoc`] per parameter, in declaration order.
#[derive(Clone, Copy)]
pub struct ParamTable {
    docs: fn() -> Vec<ParamDoc>,
}

impl ParamTable {
    /// The table of the typed parameters `P`.
    pub fn of<P: MethodParams>() -> Self {
        ParamTable { docs: P::docs }
    }

    /// Every parameter with its rendered default and doc.
    pub fn docs(&self) -> Vec<ParamDoc> {
        (self.docs)()
    }
}

impl IntoIterator for ParamTable {
    type Item = ParamDoc;
    type IntoIter = std::vec::IntoIter<ParamDoc>;

    fn into_iter(self) -> Self::IntoIter {
        self.docs().into_iter()
    }
}

/// A registered method: its name, what it is, its parameters and its constructor.
#[derive(Clone, Copy)]
pub struct MethodInfo {
    /// Name used in suite files and on the command line.
    pub name: &'static str,
    /// One line: the paper and what the method does.
    pub summary: &'static str,
    /// Parameters with their defaults (those of the official CIFAR commands), from the
    /// method's typed parameter struct.
    pub params: ParamTable,
    resolve: fn(&Params) -> Result<ResolvedParams>,
    make: fn(&ResolvedParams) -> Result<Box<dyn MixMethod>>,
}

impl MethodInfo {
    /// The entry of method `M` configured by the typed parameters `P`: named `P::METHOD`,
    /// resolving [`Params`] against `P` ([`Params::resolve`], which validates) and built by
    /// reading the resolved parameters into `P` and converting.
    pub fn of<P, M>(summary: &'static str) -> Self
    where
        P: MethodParams,
        M: MixMethod + From<P> + 'static,
    {
        MethodInfo {
            name: P::METHOD,
            summary,
            params: ParamTable::of::<P>(),
            resolve: |params| Ok(params.resolve::<P>()?),
            make: |resolved| Ok(Box::new(M::from(resolved.typed::<P>()?))),
        }
    }

    /// The parameters resolved against the method's typed struct: every field, defaults
    /// filled in; fails on unknown keys or bad values.
    pub fn resolve(&self, params: &Params) -> Result<ResolvedParams> {
        (self.resolve)(params)
    }

    /// Builds the method from resolved parameters ([`MethodInfo::resolve`]).
    pub fn build_resolved(&self, params: &ResolvedParams) -> Result<Box<dyn MixMethod>> {
        (self.make)(params)
    }

    /// Builds the method from parameters as given; fails on unknown keys or bad values.
    pub fn build(&self, params: &Params) -> Result<Box<dyn MixMethod>> {
        self.build_resolved(&self.resolve(params)?)
    }
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
        self.info(name)?.build(params)
    }
}
