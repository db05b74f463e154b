//! Errors of the exporters.

use std::path::PathBuf;

use rpr_core::checkpoint::CheckpointError;
use rpr_core::pack::PackError;

/// An export failed. No output file is created or replaced when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("invalid checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),

    #[error("checkpoint has no quant.json, but an .rpr file stores a binary or ternary model; export a float model with --onnx instead")]
    NotQuantized,

    #[error("tensor `{name}` is missing from the checkpoint")]
    MissingTensor { name: String },

    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    #[error(
        "layer `{layer}`: {count} weights are not {bits:?} codes times the layer's scales \
         (first at flat index {index}: weight {value}, scale {scale}); re-run quantization before export"
    )]
    OffGrid {
        layer: String,
        bits: rpr_core::quant::Bits,
        count: usize,
        index: usize,
        value: f32,
        scale: f32,
    },

    #[error("layer `{layer}` has {found} weight scales, expected {expected}")]
    ScaleCount { layer: String, expected: usize, found: usize },

    #[error("failed to pack the weights of layer `{layer}`: {source}")]
    Pack {
        layer: String,
        #[source]
        source: PackError,
    },

    #[error("layer `{layer}` is listed in quant.json but is a {op} node; only conv and linear layers can be quantized")]
    NotQuantizable { layer: String, op: String },

    #[error("node `{node}`: op {op} has no ONNX mapping")]
    UnsupportedOp { node: String, op: String },

    #[error("--qdq needs activation scales; pass --calibrate N")]
    QdqWithoutCalibration,

    #[error("calibration failed: {0}")]
    Calibration(String),

    #[error("{field} = {value} is too large for the .rpr format, which has 32-bit sizes and decoded headers of at most 64 MiB")]
    TooLarge { field: String, value: usize },

    #[error("invalid export option: {0}")]
    Option(String),

    #[error("failed to write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
