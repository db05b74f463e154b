//! Binary and ternary weight quantizers with error-minimizing scales.
//!
//! A quantized weight is `scale * code` with codes in {-1, +1} (binary) or
//! {-1, 0, +1} (ternary). The scale belongs to the whole tensor or to one
//! output channel (axis 0). [`optimal_scale`] finds the scale that minimizes
//! the L2, L1 or L-infinity error of nearest-level codes exactly, and
//! [`codes_for_scale`] assigns those codes.

mod codes;
mod error;
mod scale;
mod scale_l1;
mod scale_l2;
mod scale_linf;
mod tensor;

use serde::{Deserialize, Serialize};

pub use codes::{codes_for_scale, reconstruction_error};
pub use error::QuantError;
pub use scale::{optimal_scale, MIN_SCALE, ZERO_TERNARY_SCALE};
pub use tensor::{quantize, quantize_with_scales, Quantized};

/// Weight alphabet of a quantized layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bits {
    /// Codes {-1, +1}.
    Binary,
    /// Codes {-1, 0, +1}.
    Ternary,
}

/// How many scales a weight tensor gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One scale for the whole tensor.
    PerTensor,
    /// One scale per output channel (axis 0).
    PerChannel,
}

/// Error norm that the scale search minimizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleNorm {
    /// Sum of squared differences.
    #[default]
    L2,
    /// Sum of absolute differences.
    L1,
    /// Largest absolute difference.
    LInf,
}

/// Settings of [`quantize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuantConfig {
    /// Code alphabet.
    pub bits: Bits,
    /// One scale per tensor or per output channel.
    pub granularity: Granularity,
    /// Error norm that the scales minimize.
    pub norm: ScaleNorm,
}

impl Default for QuantConfig {
    /// Ternary codes with one L2-optimal scale per output channel.
    fn default() -> Self {
        Self {
            bits: Bits::Ternary,
            granularity: Granularity::PerChannel,
            norm: ScaleNorm::L2,
        }
    }
}
