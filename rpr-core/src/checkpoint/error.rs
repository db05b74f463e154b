//! Errors of checkpoint reading, writing and validation.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use crate::graph::GraphError;

/// A checkpoint that cannot be read, written or trusted.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system error.
        #[source]
        source: io::Error,
    },
    /// A safetensors file is truncated, corrupt or could not be encoded.
    #[error("{}: invalid safetensors data: {message}; rewrite the file or restore it from a backup", path.display())]
    Safetensors {
        /// The file involved.
        path: PathBuf,
        /// The safetensors library's message.
        message: String,
    },
    /// A tensor in a safetensors file has a dtype that has no f32 conversion here.
    #[error("{}: tensor `{tensor}` has dtype {dtype}; expected F32, F64, F16, BF16, I64 or I32", path.display())]
    UnsupportedDtype {
        /// The file involved.
        path: PathBuf,
        /// Tensor name.
        tensor: String,
        /// The dtype found.
        dtype: String,
    },
    /// `model.json` is not a valid model description.
    #[error("{}: {source}", path.display())]
    Model {
        /// The file involved.
        path: PathBuf,
        /// The parse or validation failure.
        #[source]
        source: Box<GraphError>,
    },
    /// `quant.json` is not a valid quantization description.
    #[error("{}: invalid quantization description: {message}", path.display())]
    QuantJson {
        /// The file involved.
        path: PathBuf,
        /// The JSON parser's message.
        message: String,
    },
    /// The model held in memory is not valid.
    #[error("invalid model: {0}")]
    Graph(#[source] Box<GraphError>),
    /// Tensors the model needs are absent.
    #[error("{} tensors missing, for example `{}`; the weights do not belong to this model", names.len(), names[0])]
    MissingTensors {
        /// Every missing key, sorted.
        names: Vec<String>,
    },
    /// Tensors the model does not have are present.
    #[error("{} unexpected tensors, for example `{}`; the weights do not belong to this model", names.len(), names[0])]
    ExtraTensors {
        /// Every unexpected key, sorted.
        names: Vec<String>,
    },
    /// A tensor's shape differs from the model's parameter shape.
    #[error("tensor `{tensor}` has shape {actual:?}; the model expects {expected:?}")]
    ShapeMismatch {
        /// Tensor name.
        tensor: String,
        /// Shape from the model.
        expected: Vec<usize>,
        /// Shape found.
        actual: Vec<usize>,
    },
    /// A tensor contains NaN or an infinity.
    #[error("tensor `{tensor}` holds non-finite value {value} at flat index {index}")]
    NonFinite {
        /// Tensor name.
        tensor: String,
        /// Row-major index of the first non-finite element.
        index: usize,
        /// The value there.
        value: f32,
    },
    /// A BatchNorm running variance is negative.
    #[error("tensor `{tensor}` has negative variance {value} at index {index}; variances must be at least 0")]
    NegativeVariance {
        /// Tensor name, ending in `.running_var`.
        tensor: String,
        /// Index of the first negative entry.
        index: usize,
        /// The value there.
        value: f32,
    },
    /// `quant.json` lists a layer that is not a conv or linear node of the model.
    #[error("quantized layer `{layer}` is not a conv2d or linear node of the model")]
    UnknownQuantLayer {
        /// The listed name.
        layer: String,
    },
    /// A quantized layer has the wrong number of scales for its granularity.
    #[error("quantized layer `{layer}` has {actual} scales; expected {expected} for {granularity} granularity")]
    ScaleCount {
        /// Layer name.
        layer: String,
        /// Required count.
        expected: usize,
        /// Count found.
        actual: usize,
        /// `per_channel` or `per_tensor`.
        granularity: &'static str,
    },
    /// A scale is zero, negative or not finite.
    #[error("quantized layer `{layer}` has scale {value} at index {index}; scales must be finite and positive")]
    InvalidScale {
        /// Layer name.
        layer: String,
        /// Index into the layer's scales.
        index: usize,
        /// The scale.
        value: f32,
    },
    /// Weights of a quantized layer are not exactly `scale * code` with an allowed code.
    #[error(
        "quantized layer `{layer}` has {count} of {total} weights off the {bits} levels, for example \
         weight {value} at flat index {index} with scale {scale}; re-quantize the layer"
    )]
    OffLevel {
        /// Layer name.
        layer: String,
        /// Number of weights off the allowed levels.
        count: usize,
        /// Number of weights in the layer.
        total: usize,
        /// `binary` or `ternary`.
        bits: &'static str,
        /// Flat index of the first offending weight.
        index: usize,
        /// Its value.
        value: f32,
        /// The scale that applies to it.
        scale: f32,
    },
}

impl From<GraphError> for CheckpointError {
    fn from(error: GraphError) -> Self {
        CheckpointError::Graph(Box::new(error))
    }
}
