//! Shared code of the rpr benchmarks: the side-by-side engine comparison
//! (`compare` binary, `scripts/compare.sh`) and helpers of the criterion
//! benches.
//!
//! The comparison times rpr-infer (int8 and f32 activations), libtorch FP32
//! through tch, tract-onnx and ONNX Runtime on the same exported network and
//! the same inputs, and writes a Markdown table, `results.json` and a PNG
//! chart. Ratios come from one run because the absolute times of a shared
//! machine drift.

pub mod engines;
pub mod harness;
pub mod logits;
pub mod machine;
pub mod network;
pub mod plot;
pub mod process;
pub mod report;
pub mod stats;
pub mod target;
pub mod timing;
pub mod worker;
