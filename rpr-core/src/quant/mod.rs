//! Binary and ternary weight quantizers with error-minimizing scales.

use serde::{Deserialize, Serialize};

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
