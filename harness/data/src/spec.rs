//! What a suite file says about data: [`DataSpec`], one variant per kind of data set, and the
//! few-shot specs ([`FewShotSpec`], [`MiniImagenetSpec`], [`CifarFsSpec`]) that name base and
//! novel classes. Pure data: loading lives with each kind ([`super::cifar`],
//! [`super::folder`], [`super::synthetic`], [`super::fewshot`]) and is dispatched by
//! `DataSpec::load` in [`super`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{cifar, fashion_cifar, folder, mnist, synthetic};

/// Declares every kind of data set once: the [`DataSpec`] variant, its key in suite files, its
/// spec type and doc. Generates the enum, its serde form [`DataSpecRepr`] (a mapping with
/// exactly one of the keys), the conversions between the two, [`DataSpec::kind`] and
/// [`DataSpec::KINDS`]; `with #[serde(...)]` adds an attribute to the entry's field of
/// [`DataSpecRepr`]. Adding a kind of data set is its module and one line here (then its arms
/// in `label`, `check` and `load`, which the compiler asks for).
macro_rules! data_kinds {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident($key:ident: $spec:ty) $(with #[$field_attr:meta])?,
    )+) => {
        /// What a suite file says about data. serde, externally tagged so a YAML file reads:
        ///   data: { synthetic: { classes: 10, train_per_class: 500 } }
        ///   data: { cifar10: { root: data } }
        ///   data: { cifar100: { root: data, labels: coarse } }
        ///   data: { folder: { root: my_images, image_size: 32, test_fraction: 0.2 } }
        ///
        /// (De)serialised through [`DataSpecRepr`], a struct with one optional field per kind:
        /// YAML libraries of the serde_yaml 0.9 family (serde_norway included) read and write
        /// externally tagged enums only as YAML tags (`!synthetic {..}`), not as the one-key
        /// mapping above. The same form works with any serde format (JSON:
        /// `{"cifar10": {"root": "data"}}`).
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(try_from = "DataSpecRepr", into = "DataSpecRepr")]
        pub enum DataSpec {
            $($(#[doc = $doc])+ $variant($spec),)+
        }

        /// The serde form of [`DataSpec`]: a mapping with exactly one of these keys.
        /// `synthetic:` with no value (YAML null) means the default synthetic data set.
        #[derive(Clone, Debug, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct DataSpecRepr {
            $(
                $(#[doc = $doc])+
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $(#[$field_attr])?
                pub $key: Option<$spec>,
            )+
        }

        impl TryFrom<DataSpecRepr> for DataSpec {
            type Error = String;

            fn try_from(r: DataSpecRepr) -> std::result::Result<Self, String> {
                let mut found = Vec::new();
                $(if let Some(s) = r.$key {
                    found.push(DataSpec::$variant(s));
                })+
                let keys = || {
                    DataSpec::KINDS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match found.len() {
                    1 => Ok(found.pop().unwrap()),
                    0 => Err(format!("data: give one of {}", keys())),
                    _ => Err(format!(
                        "data: give only one of {} (found {})",
                        keys(),
                        found.iter().map(DataSpec::kind).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
        }

        impl From<DataSpec> for DataSpecRepr {
            fn from(d: DataSpec) -> Self {
                let mut r = DataSpecRepr::default();
                match d {
                    $(DataSpec::$variant(s) => r.$key = Some(s),)+
                }
                r
            }
        }

        impl DataSpec {
            /// Every kind's key in a suite file, in declaration order.
            pub const KINDS: &'static [&'static str] = &[$(stringify!($key)),+];

            /// The kind's key in a suite file: "synthetic", "cifar10", "folder", ...
            pub fn kind(&self) -> &'static str {
                match self {
                    $(DataSpec::$variant(_) => stringify!($key),)+
                }
            }
        }
    };
}

data_kinds! {
    /// Generated shapes on textures ([`synthetic::SyntheticSpec`]); needs no files.
    Synthetic(synthetic: synthetic::SyntheticSpec) with #[serde(deserialize_with = "null_as_default")],
    /// The CIFAR-10 binary release ([`cifar::Cifar10Spec`]).
    Cifar10(cifar10: cifar::Cifar10Spec),
    /// The CIFAR-100 binary release ([`cifar::Cifar100Spec`]).
    Cifar100(cifar100: cifar::Cifar100Spec),
    /// A folder of images, one sub-folder per class ([`folder::FolderSpec`]).
    Folder(folder: folder::FolderSpec),
    /// Any data set with base and novel classes ([`FewShotSpec`]).
    Fewshot(fewshot: FewShotSpec),
    /// mini-ImageNet with the Ravi-Larochelle split ([`MiniImagenetSpec`]).
    MiniImagenet(mini_imagenet: MiniImagenetSpec),
    /// CIFAR-FS ([`CifarFsSpec`]).
    CifarFs(cifar_fs: CifarFsSpec),
    /// Fashion-MNIST items on CIFAR-10 backgrounds, with masks
    /// ([`fashion_cifar::FashionOnCifarSpec`]).
    FashionOnCifar(fashion_on_cifar: fashion_cifar::FashionOnCifarSpec),
    /// An MNIST-format data set from its IDX files: Fashion-MNIST, MNIST, KMNIST
    /// ([`mnist::MnistSpec`]).
    Idx(idx: mnist::MnistSpec),
}

/// A present key with a null value becomes `Some(T::default())` (an absent key stays `None`
/// through `#[serde(default)]`).
fn null_as_default<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

impl Default for DataSpec {
    /// The embedded synthetic data set with its defaults: a suite without a `data` entry runs
    /// anywhere, offline.
    fn default() -> Self {
        DataSpec::Synthetic(synthetic::SyntheticSpec::default())
    }
}

impl DataSpec {
    /// Report label: the spec's optional `name` field, else "synthetic" / "cifar10" / "cifar100" / the folder's last path component.
    pub fn label(&self) -> String {
        match self {
            DataSpec::Synthetic(s) => s.name.clone().unwrap_or_else(|| "synthetic".into()),
            DataSpec::Cifar10(s) => s.name.clone().unwrap_or_else(|| "cifar10".into()),
            DataSpec::Cifar100(s) => s.name.clone().unwrap_or_else(|| "cifar100".into()),
            DataSpec::Folder(s) => s.label(),
            DataSpec::Fewshot(s) => s.label(),
            DataSpec::MiniImagenet(s) => s.label(),
            DataSpec::CifarFs(s) => s.label(),
            DataSpec::FashionOnCifar(s) => s.label(),
            DataSpec::Idx(s) => s.label(),
        }
    }

    /// True for the data sets with a base/novel class split (`fewshot`, `mini_imagenet`,
    /// `cifar_fs`), which the few-shot evaluation needs.
    pub fn is_fewshot(&self) -> bool {
        matches!(
            self,
            DataSpec::Fewshot(_) | DataSpec::MiniImagenet(_) | DataSpec::CifarFs(_)
        )
    }

    /// True for the data sets whose test images have foreground masks, which the background
    /// evaluation needs: `synthetic`, `fashion_on_cifar`, and `folder` with `masks:`.
    pub fn has_masks(&self) -> bool {
        match self {
            DataSpec::Synthetic(_) | DataSpec::FashionOnCifar(_) => true,
            DataSpec::Folder(s) => s.masks.is_some(),
            _ => false,
        }
    }
}

/// A class named in a suite file: its index in the source data set or its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassRef {
    /// Index into the source's classes.
    Index(usize),
    /// Class name (folder name, CIFAR class name, synthetic class name).
    Name(String),
}

/// Which split of the source the novel images come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NovelFrom {
    /// The source's test split (default): never seen in pre-training, even as unlabelled data.
    #[default]
    Test,
    /// The source's training split.
    Train,
    /// Both splits.
    All,
}

/// Any data set with user-given base and novel classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FewShotSpec {
    /// Report label (default: the source's label with `-fs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The data set the classes come from.
    pub source: Box<DataSpec>,
    /// Classes to pre-train on.
    pub base: Vec<ClassRef>,
    /// Classes episodes are drawn from.
    pub novel: Vec<ClassRef>,
    /// Split the novel images come from (default `test`).
    #[serde(default)]
    pub novel_from: NovelFrom,
}

/// Which split of mini-ImageNet (or CIFAR-FS) the novel classes come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NovelSplit {
    /// The 20 test classes (default; the numbers papers report).
    #[default]
    Test,
    /// The 16 validation classes (model selection).
    Val,
}

fn default_mini_size() -> usize {
    84
}

/// mini-ImageNet with the Ravi and Larochelle split files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiniImagenetSpec {
    /// Report label (default "mini-imagenet").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Folder holding `images/` and `train.csv`, `val.csv`, `test.csv`; relative to the suite
    /// file.
    pub root: PathBuf,
    /// Square side images are resized to (default 84).
    #[serde(default = "default_mini_size")]
    pub image_size: usize,
    /// Novel classes: `test` (default) or `val`.
    #[serde(default)]
    pub novel_split: NovelSplit,
    /// Images of each base class held out (the last ones of the class in `train.csv`) for the
    /// per-epoch accuracy; default 0: all 600 train, as Tian et al. do (the logged test accuracy
    /// is then empty, 0).
    #[serde(default)]
    pub base_test_per_class: usize,
    /// Use only the first N rows of each class (quick checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_class: Option<usize>,
}

/// CIFAR-FS from the CIFAR-100 binary release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CifarFsSpec {
    /// Report label (default "cifar-fs").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The CIFAR-100 binary folder (`cifar-100-binary/` or its parent), as for `cifar100`.
    pub root: PathBuf,
    /// Novel classes: `test` (default) or `val`.
    #[serde(default)]
    pub novel_split: NovelSplit,
}

impl FewShotSpec {
    /// Report label.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}-fs", self.source.label()))
    }
}

impl CifarFsSpec {
    /// Report label.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| "cifar-fs".into())
    }
}

impl MiniImagenetSpec {
    /// Report label.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| "mini-imagenet".into())
    }
}
