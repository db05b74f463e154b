//! Model zoo: the architectures RPR is evaluated on, as [`Model`]
//! descriptions whose parameter keys equal torchvision's `state_dict` keys.

mod builder;
mod googlenet;
mod resnet;

use thiserror::Error;

use crate::graph::{GraphError, Model};

/// Names accepted by [`build`].
pub const ARCHITECTURES: &[&str] = &[
    "resnet20",
    "resnet32",
    "resnet56",
    "resnet18",
    "resnet50",
    "googlenet",
];

/// Input and output geometry of a zoo model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZooConfig {
    /// Image channels (3 for RGB, 1 for grayscale).
    pub input_channels: usize,
    /// Image height and width before any upsampling.
    pub input_size: usize,
    /// Classifier outputs.
    pub num_classes: usize,
    /// If set, a bilinear `Upsample` node named `upsample` resizes the input
    /// to this size first, so small images fit ImageNet topologies.
    pub upsample_to: Option<usize>,
}

impl Default for ZooConfig {
    /// CIFAR-10 geometry: 3x32x32 inputs, 10 classes, no upsampling.
    fn default() -> Self {
        ZooConfig {
            input_channels: 3,
            input_size: 32,
            num_classes: 10,
            upsample_to: None,
        }
    }
}

/// A zoo model that cannot be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ZooError {
    /// The architecture name is not in [`ARCHITECTURES`].
    #[error("unknown architecture `{name}`; choose one of {}", ARCHITECTURES.join(", "))]
    UnknownArchitecture {
        /// The requested name.
        name: String,
    },
    /// The configuration gives an invalid network, for example an input too
    /// small for the downsampling stages.
    #[error("architecture `{arch}` does not fit {cfg:?}: {source}")]
    InvalidConfig {
        /// Architecture name.
        arch: String,
        /// The rejected configuration.
        cfg: ZooConfig,
        /// The validation failure.
        #[source]
        source: Box<GraphError>,
    },
}

/// Builds architecture `arch` for the geometry in `cfg` and validates it.
pub fn build(arch: &str, cfg: &ZooConfig) -> Result<Model, ZooError> {
    let model = match arch {
        "resnet20" => resnet::cifar(arch, 3, cfg),
        "resnet32" => resnet::cifar(arch, 5, cfg),
        "resnet56" => resnet::cifar(arch, 9, cfg),
        "resnet18" => resnet::resnet18(cfg),
        "resnet50" => resnet::resnet50(cfg),
        "googlenet" => googlenet::googlenet(cfg),
        _ => {
            return Err(ZooError::UnknownArchitecture {
                name: arch.to_string(),
            })
        }
    };
    model.validate().map_err(|source| ZooError::InvalidConfig {
        arch: arch.to_string(),
        cfg: *cfg,
        source: Box::new(source),
    })?;
    Ok(model)
}
