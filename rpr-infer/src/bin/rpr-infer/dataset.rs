//! Data sets the CLI evaluates on, with the normalization used in training.

use std::path::Path;

use anyhow::{bail, Context};
use clap::ValueEnum;
use rpr_core::data::{self, Dataset, Normalization, Split};

/// Test sets that the CLI can load.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum DatasetArg {
    FashionMnist,
    Mnist,
    Cifar10,
}

impl DatasetArg {
    /// Loads the test split; `root` overrides the default location (required except for
    /// Fashion-MNIST, which defaults to the Debian package `dataset-fashion-mnist`).
    pub fn load_test(self, root: Option<&Path>) -> anyhow::Result<Dataset> {
        let dataset = match (self, root) {
            (DatasetArg::FashionMnist, root) => data::load_fashion_mnist(Split::Test, root)?,
            (DatasetArg::Mnist, Some(root)) => data::load_mnist(root, Split::Test)?,
            (DatasetArg::Cifar10, Some(root)) => data::load_cifar10(root, Split::Test)?,
            (other, None) => {
                let name = other
                    .to_possible_value()
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default();
                bail!("--data-dir is required for --dataset {name}; point it at the extracted data set")
            }
        };
        Ok(dataset)
    }

    /// Normalization of the images in training.
    pub fn normalization(self) -> Normalization {
        match self {
            DatasetArg::FashionMnist => Normalization::fashion_mnist(),
            DatasetArg::Mnist => Normalization::mnist(),
            DatasetArg::Cifar10 => Normalization::cifar10(),
        }
    }

    /// Class names, indexed by label.
    pub fn classes(self) -> Vec<String> {
        let names: &[&str] = match self {
            DatasetArg::FashionMnist => &data::FASHION_MNIST_CLASSES,
            DatasetArg::Mnist => &data::MNIST_CLASSES,
            DatasetArg::Cifar10 => &data::CIFAR10_CLASSES,
        };
        names.iter().map(|s| s.to_string()).collect()
    }
}

/// Fails unless the data set's image shape equals the model input.
pub(crate) fn check_shape(dataset: &Dataset, model_input: [usize; 3]) -> anyhow::Result<()> {
    let shape = dataset.image_shape();
    if shape != model_input {
        bail!(
            "data set {} has images of shape {shape:?}, the model expects {model_input:?}; \
             export a model built for this input size (an Upsample node can adapt 28x28 images)",
            dataset.name
        );
    }
    Ok(())
}

/// Normalized f32 batch of the images at `indices`.
pub(crate) fn batch(
    dataset: &Dataset,
    indices: &[usize],
    norm: &Normalization,
) -> anyhow::Result<ndarray::Array4<f32>> {
    data::try_to_f32_normalized(dataset, indices, norm)
        .with_context(|| format!("cannot normalize {}", dataset.name))
}
