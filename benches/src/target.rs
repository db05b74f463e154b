//! The engine configurations of the comparison, one per table row family.

use serde::{Deserialize, Serialize};

/// Engine and numeric format of one comparison row, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    RprInt8,
    RprF32,
    /// libtorch through tch, in the worker process: no Python between calls.
    Torch,
    /// PyTorch eager from Python, in `scripts/torch_bench.py`.
    TorchEager,
    TractFloat,
    TractQdq,
    OrtFloat,
    OrtQdq,
    /// ONNX Runtime on the model that its own `quantize_static` makes from the float file.
    OrtStatic,
}

impl Target {
    /// Every target, in table order.
    pub const ALL: [Target; 9] = [
        Target::RprInt8,
        Target::RprF32,
        Target::Torch,
        Target::TorchEager,
        Target::TractFloat,
        Target::TractQdq,
        Target::OrtFloat,
        Target::OrtQdq,
        Target::OrtStatic,
    ];

    /// Engine and format as the table prints them. "qdq int8 (rpr-export)"
    /// is the QDQ file that rpr-export writes.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Target::RprInt8 => ("rpr-infer", "int8"),
            Target::RprF32 => ("rpr-infer", "f32"),
            Target::Torch => ("libtorch", "fp32"),
            Target::TorchEager => ("PyTorch eager", "fp32"),
            Target::TractFloat => ("tract", "fp32"),
            Target::TractQdq => ("tract", "qdq int8 (rpr-export)"),
            Target::OrtFloat => ("ONNX Runtime", "fp32"),
            Target::OrtQdq => ("ONNX Runtime", "qdq int8 (rpr-export)"),
            Target::OrtStatic => ("ONNX Runtime", "int8 (quantize_static)"),
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

    /// Returns true for ONNX Runtime, which runs in `scripts/ort_bench.py`.
    pub fn is_ort(self) -> bool {
        matches!(self, Target::OrtFloat | Target::OrtQdq | Target::OrtStatic)
    }

    /// Returns true for the engines that a Python script times instead of a worker of the compare binary.
    pub fn runs_in_python(self) -> bool {
        self.is_ort() || self == Target::TorchEager
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_and_names() {
        let names: Vec<(&str, &str)> = Target::ALL.iter().map(|target| target.names()).collect();
        assert_eq!(
            names,
            vec![
                ("rpr-infer", "int8"),
                ("rpr-infer", "f32"),
                ("libtorch", "fp32"),
                ("PyTorch eager", "fp32"),
                ("tract", "fp32"),
                ("tract", "qdq int8 (rpr-export)"),
                ("ONNX Runtime", "fp32"),
                ("ONNX Runtime", "qdq int8 (rpr-export)"),
                ("ONNX Runtime", "int8 (quantize_static)"),
            ]
        );
    }

    #[test]
    fn ort_static_runs_in_ort_script() {
        assert!(Target::OrtStatic.is_ort());
        assert!(!Target::OrtStatic.single_threaded());
        assert!(Target::OrtStatic.compiled_in());
        assert!(Target::OrtStatic.runs_in_python());
        assert!(Target::TorchEager.runs_in_python());
        assert!(!Target::TorchEager.is_ort());
        assert!(!Target::Torch.runs_in_python());
        let ort: Vec<Target> = Target::ALL.into_iter().filter(|target| target.is_ort()).collect();
        assert_eq!(ort, vec![Target::OrtFloat, Target::OrtQdq, Target::OrtStatic]);
    }

    #[test]
    fn rows_are_distinct() {
        for (index, target) in Target::ALL.iter().enumerate() {
            for other in &Target::ALL[index + 1..] {
                assert_ne!(target.names(), other.names(), "{target:?} and {other:?} print the same row name");
            }
        }
    }

    #[test]
    fn serde_name_is_kebab_case() {
        assert_eq!(serde_json::to_string(&Target::OrtStatic).unwrap(), "\"ort-static\"");
        let parsed: Target = serde_json::from_str("\"ort-static\"").unwrap();
        assert_eq!(parsed, Target::OrtStatic);
    }
}
