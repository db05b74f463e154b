//! Errors of the quantizers.

use thiserror::Error;

/// Error returned by the quantizers in [`crate::quant`].
#[derive(Debug, Error, Clone, PartialEq)]
pub enum QuantError {
    /// The tensor or channel to quantize has no elements.
    #[error("cannot quantize an empty tensor of shape {shape:?}; remove the layer from the quantized set or give it at least one weight")]
    Empty {
        /// Shape of the empty tensor (`[0]` for an empty slice).
        shape: Vec<usize>,
    },
    /// A weight is NaN or infinite.
    #[error("weight at index {index:?} is {value}; quantization needs finite weights, so check the checkpoint or the training run that produced it")]
    NonFinite {
        /// Index of the weight: the flat index for a slice, the full index for a tensor.
        index: Vec<usize>,
        /// The offending value.
        value: f32,
    },
    /// Per-channel quantization was requested for a tensor without axis 0.
    #[error("per-channel quantization needs a tensor with at least one axis (axis 0 is the output channel), got a scalar; use per-tensor granularity")]
    NoChannelAxis,
    /// A scale passed to [`crate::quant::quantize_with_scales`] or
    /// [`crate::quant::Quantized::new`] is not finite and positive.
    #[error("scale {index} is {value}; scales must be finite and greater than 0")]
    InvalidScale {
        /// Position of the scale in the scale list.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// The number of scales does not match the granularity and the tensor shape.
    #[error("expected {expected} scale(s) for {granularity:?} quantization of a tensor of shape {shape:?}, got {actual}")]
    ScaleCount {
        /// Number of scales the granularity and shape require.
        expected: usize,
        /// Number of scales given.
        actual: usize,
        /// Requested granularity.
        granularity: super::Granularity,
        /// Shape of the code tensor.
        shape: Vec<usize>,
    },
    /// A code is outside the alphabet of the requested bit width.
    #[error("code {value} at index {index:?} is not a valid {bits:?} code; binary codes are -1 and +1, ternary codes are -1, 0 and +1")]
    InvalidCode {
        /// Full index of the code.
        index: Vec<usize>,
        /// The offending code.
        value: i8,
        /// Alphabet the code was checked against.
        bits: super::Bits,
    },
}
