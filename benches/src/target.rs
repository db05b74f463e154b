//! The engine configurations of the comparison, one per table row family.

use serde::{Deserialize, Serialize};

/// Engine and numeric format of one comparison row, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    RprInt8,
    RprF32,
    Torch,
    TractFloat,
    TractQdq,
    OrtFloat,
    OrtQdq,
}

impl Target {
    /// Every target, in table order.
    pub const ALL: [Target; 7] =
        [Target::RprInt8, Target::RprF32, Target::Torch, Target::TractFloat, Target::TractQdq, Target::OrtFloat, Target::OrtQdq];

    /// Engine and format as the table prints them.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Target::RprInt8 => ("rpr-infer", "int8"),
            Target::RprF32 => ("rpr-infer", "f32"),
            Target::Torch => ("libtorch", "fp32"),
            Target::TractFloat => ("tract", "fp32"),
            Target::TractQdq => ("tract", "qdq int8"),
            Target::OrtFloat => ("ONNX Runtime", "fp32"),
            Target::OrtQdq => ("ONNX Runtime", "qdq int8"),
        }
    }

    /// Returns true for tract, which runs on the calling thread only and so gets a 1-thread row alone.
    pub fn single_threaded(self) -> bool {
        matches!(self, Target::TractFloat | Target::TractQdq)
    }

    /// Returns true when this build contains the engine (cargo features `libtorch` and `tract`).
    // The match keeps one arm per feature; without features clippy would fold it into `matches!`.
    #[allow(clippy::match_like_matches_macro)]
    pub fn compiled_in(self) -> bool {
        match self {
            Target::Torch => cfg!(feature = "libtorch"),
            Target::TractFloat | Target::TractQdq => cfg!(feature = "tract"),
            _ => true,
        }
    }

    /// Returns true for ONNX Runtime, which runs in `scripts/ort_bench.py` instead of a worker of the compare binary.
    pub fn is_ort(self) -> bool {
        matches!(self, Target::OrtFloat | Target::OrtQdq)
    }
}
