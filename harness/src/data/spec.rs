//! What a suite file says about data: [`DataSpec`], one variant per kind of data set, and the
//! few-shot specs ([`FewShotSpec`], [`MiniImagenetSpec`], [`CifarFsSpec`]) that name base and
//! novel classes. Pure data: loading lives with each kind ([`super::cifar`],
//! [`super::folder`], [`super::synthetic`], [`super::fewshot`]) and is dispatched by
//! `DataSpec::load` in [`super`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{cifar, fashion_cifar, folder, mnist, synthetic};

/// What a suite file says about data. serde, externally tagged so a YAML file reads:
///   data: { synthetic: { classes: 10, train_per_class: 500 } }
///   data: { cifar10: { root: data } }
///   data: { cifar100: { root: data, labels: coarse } }
///   data: { folder: { root: my_images, image_size: 32, test_fraction: 0.2 } }
///
/// (De)serialised through [`DataSpecRepr`], a struct with one optional field per kind: YAML
/// libraries of the serde_yaml 0.9 family (serde_norway included) read and write externally
/// tagged enums only as YAML tags (`!synthetic {..}`), not as the one-key mapping above. The
/// same form works with any serde format (JSON: `{"cifar10": {"root": "data"}}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DataSpecRepr", into = "DataSpecRepr")]
pub enum DataSpec {
    /// Generated shapes on textures ([`synthetic::SyntheticSpec`]); needs no files.
    Synthetic(synthetic::SyntheticSpec),
    /// The CIFAR-10 binary release ([`cifar::Cifar10Spec`]).
    Cifar10(cifar::Cifar10Spec),
    /// The CIFAR-100 binary release ([`cifar::Cifar100Spec`]).
    Cifar100(cifar::Cifar100Spec),
    /// A folder of images, one sub-folder per class ([`folder::FolderSpec`]).
    Folder(folder::FolderSpec),
    /// Any data set with base and novel classes ([`FewShotSpec`]).
    Fewshot(FewShotSpec),
    /// mini-ImageNet with the Ravi-Larochelle split ([`MiniImagenetSpec`]).
    MiniImagenet(MiniImagenetSpec),
    /// CIFAR-FS ([`CifarFsSpec`]).
    CifarFs(CifarFsSpec),
    /// Fashion-MNIST items on CIFAR-10 backgrounds, with masks
    /// ([`fashion_cifar::FashionOnCifarSpec`]).
    FashionOnCifar(fashion_cifar::FashionOnCifarSpec),
    /// An MNIST-format data set from its IDX files: Fashion-MNIST, MNIST, KMNIST
    /// ([`mnist::MnistSpec`]).
    Idx(mnist::MnistSpec),
}

/// The serde form of [`DataSpec`]: a mapping with exactly one of these keys. `synthetic:` with
/// no value (YAML null) means the default synthetic data set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpecRepr {
    /// See [`DataSpec::Synthetic`].
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub synthetic: Option<synthetic::SyntheticSpec>,
    /// See [`DataSpec::Cifar10`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar10: Option<cifar::Cifar10Spec>,
    /// See [`DataSpec::Cifar100`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar100: Option<cifar::Cifar100Spec>,
    /// See [`DataSpec::Folder`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<folder::FolderSpec>,
    /// See [`DataSpec::Fewshot`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fewshot: Option<FewShotSpec>,
    /// See [`DataSpec::MiniImagenet`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mini_imagenet: Option<MiniImagenetSpec>,
    /// See [`DataSpec::CifarFs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar_fs: Option<CifarFsSpec>,
    /// See [`DataSpec::FashionOnCifar`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fashion_on_cifar: Option<fashion_cifar::FashionOnCifarSpec>,
    /// See [`DataSpec::Idx`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<mnist::MnistSpec>,
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

impl TryFrom<DataSpecRepr> for DataSpec {
    type Error = String;

    fn try_from(r: DataSpecRepr) -> std::result::Result<Self, String> {
        let mut found = Vec::new();
        if let Some(s) = r.synthetic {
            found.push(DataSpec::Synthetic(s));
        }
        if let Some(s) = r.cifar10 {
            found.push(DataSpec::Cifar10(s));
        }
        if let Some(s) = r.cifar100 {
            found.push(DataSpec::Cifar100(s));
        }
        if let Some(s) = r.folder {
            found.push(DataSpec::Folder(s));
        }
        if let Some(s) = r.fewshot {
            found.push(DataSpec::Fewshot(s));
        }
        if let Some(s) = r.mini_imagenet {
            found.push(DataSpec::MiniImagenet(s));
        }
        if let Some(s) = r.cifar_fs {
            found.push(DataSpec::CifarFs(s));
        }
        if let Some(s) = r.fashion_on_cifar {
            found.push(DataSpec::FashionOnCifar(s));
        }
        if let Some(s) = r.idx {
            found.push(DataSpec::Idx(s));
        }
        match found.len() {
            1 => Ok(found.pop().unwrap()),
            0 => Err(
                "data: give one of `synthetic`, `cifar10`, `cifar100`, `folder`, `fewshot`, \
                      `mini_imagenet`, `cifar_fs`, `fashion_on_cifar`, `idx`"
                    .into(),
            ),
            _ => Err(format!(
                "data: give only one of `synthetic`, `cifar10`, `cifar100`, `folder`, `fewshot`, \
                 `mini_imagenet`, `cifar_fs`, `fashion_on_cifar`, `idx` (found {})",
                found
                    .iter()
                    .map(DataSpec::kind)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

impl From<DataSpec> for DataSpecRepr {
    fn from(d: DataSpec) -> Self {
        let mut r = DataSpecRepr::default();
        match d {
            DataSpec::Synthetic(s) => r.synthetic = Some(s),
            DataSpec::Cifar10(s) => r.cifar10 = Some(s),
            DataSpec::Cifar100(s) => r.cifar100 = Some(s),
            DataSpec::Folder(s) => r.folder = Some(s),
            DataSpec::Fewshot(s) => r.fewshot = Some(s),
            DataSpec::MiniImagenet(s) => r.mini_imagenet = Some(s),
            DataSpec::CifarFs(s) => r.cifar_fs = Some(s),
            DataSpec::FashionOnCifar(s) => r.fashion_on_cifar = Some(s),
            DataSpec::Idx(s) => r.idx = Some(s),
        }
        r
    }
}

impl Default for DataSpec {
    /// The embedded synthetic data set with its defaults: a suite without a `data` entry runs
    /// anywhere, offline.
    fn default() -> Self {
        DataSpec::Synthetic(synthetic::SyntheticSpec::default())
    }
}

impl DataSpec {
    /// The kind's key in a suite file: "synthetic", "cifar10", "folder", "fashion_on_cifar", ...
    pub fn kind(&self) -> &'static str {
        match self {
            DataSpec::Synthetic(_) => "synthetic",
            DataSpec::Cifar10(_) => "cifar10",
            DataSpec::Cifar100(_) => "cifar100",
            DataSpec::Folder(_) => "folder",
            DataSpec::Fewshot(_) => "fewshot",
            DataSpec::MiniImagenet(_) => "mini_imagenet",
            DataSpec::CifarFs(_) => "cifar_fs",
            DataSpec::FashionOnCifar(_) => "fashion_on_cifar",
            DataSpec::Idx(_) => "idx",
        }
    }

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
