//! Checkpoint directories: the model description, its weights and the
//! quantization of each quantized layer.
//!
//! A directory contains `model.json` ([`Model`]), `weights.safetensors` (every
//! parameter and buffer under its torchvision key) and, for a quantized
//! network, `quant.json` ([`QuantSpec`]). A quantized layer stores its
//! effective weight `scale[c] * code`, so `code = weight / scale[c]` is
//! exact. Every file is replaced atomically.

mod atomic;
mod error;
mod safetensors_io;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use crate::graph::Model;
use crate::quant::{Bits, Granularity};

pub use atomic::write_atomic;
pub use error::CheckpointError;
pub use safetensors_io::{read_safetensors, write_safetensors};

/// Named f32 tensors, sorted by name.
pub type Tensors = BTreeMap<String, ArrayD<f32>>;

/// File name of the model description.
pub const MODEL_FILE: &str = "model.json";
/// File name of the quantization description.
pub const QUANT_FILE: &str = "quant.json";
/// File name of the weights.
pub const WEIGHTS_FILE: &str = "weights.safetensors";

/// Scales of one quantized layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerQuant {
    /// One scale per output channel, or a single scale for per-tensor granularity.
    pub scales: Vec<f32>,
}

/// Quantization of a network. Layers not listed are full precision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantSpec {
    /// Code alphabet of all quantized layers.
    pub bits: Bits,
    /// Scale granularity of all quantized layers.
    pub granularity: Granularity,
    /// Scales per quantized node name.
    pub layers: BTreeMap<String, LayerQuant>,
}

/// A model, its weights and optional quantization, as stored in a checkpoint directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The network.
    pub model: Model,
    /// The quantization, or `None` for a full-precision network.
    pub quant: Option<QuantSpec>,
    /// Every parameter and buffer, keyed like a torchvision `state_dict`.
    pub tensors: Tensors,
}

impl Checkpoint {
    /// Reads a checkpoint directory and validates it with [`Checkpoint::validate`].
    ///
    /// A missing `quant.json` means a full-precision network.
    pub fn load(dir: &Path) -> Result<Self, CheckpointError> {
        let model_path = dir.join(MODEL_FILE);
        let text = read_text(&model_path)?;
        let model = Model::from_json(&text).map_err(|source| CheckpointError::Model {
            path: model_path,
            source: Box::new(source),
        })?;

        let quant_path = dir.join(QUANT_FILE);
        let quant = if quant_path.exists() {
            let text = read_text(&quant_path)?;
            let spec = serde_json::from_str(&text).map_err(|e| CheckpointError::QuantJson {
                path: quant_path,
                message: e.to_string(),
            })?;
            Some(spec)
        } else {
            None
        };

        let tensors = read_safetensors(&dir.join(WEIGHTS_FILE))?;
        let checkpoint = Checkpoint {
            model,
            quant,
            tensors,
        };
        checkpoint.validate()?;
        Ok(checkpoint)
    }

    /// Validates the checkpoint and writes it to `dir`, creating the directory if needed.
    ///
    /// Each file is replaced atomically. The weights go first and
    /// `model.json` last. Without quantization, a stale `quant.json` is
    /// removed, so the directory never mixes two checkpoints' quantization.
    pub fn save(&self, dir: &Path) -> Result<(), CheckpointError> {
        self.validate()?;
        std::fs::create_dir_all(dir).map_err(|source| CheckpointError::Io {
            path: dir.into(),
            source,
        })?;

        write_safetensors(&dir.join(WEIGHTS_FILE), &self.tensors)?;
        let quant_path = dir.join(QUANT_FILE);
        match &self.quant {
            Some(spec) => {
                let text =
                    serde_json::to_string_pretty(spec).map_err(|e| CheckpointError::QuantJson {
                        path: quant_path.clone(),
                        message: e.to_string(),
                    })?;
                write_file(&quant_path, text.as_bytes())?;
            }
            None => match std::fs::remove_file(&quant_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(CheckpointError::Io {
                        path: quant_path,
                        source,
                    })
                }
            },
        }
        write_file(&dir.join(MODEL_FILE), self.model.to_json().as_bytes())
    }

    /// Checks the model and that the tensor keys and shapes equal the
    /// model's parameters, with finite values only and no negative
    /// BatchNorm running variance.
    ///
    /// Each quantized layer must be a conv or linear node with one positive
    /// scale per output channel (or one in total, per tensor), and each of
    /// its weights must equal `scale * code` exactly for an allowed code.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        validate::checkpoint(self)
    }
}

fn read_text(path: &Path) -> Result<String, CheckpointError> {
    std::fs::read_to_string(path).map_err(|source| CheckpointError::Io {
        path: path.into(),
        source,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    write_atomic(path, bytes).map_err(|source| CheckpointError::Io {
        path: path.into(),
        source,
    })
}
