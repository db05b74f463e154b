//! The inference engines under comparison, behind one [`Backend`] trait so
//! worker processes time them with the same loop and the same input.
//!
//! ONNX Runtime and PyTorch eager run in a Python process ([`script`]) and
//! are timed there with the same schedule, so they are not a [`Backend`].
//! [`ort_quantize`] makes ONNX Runtime's own int8 model of each network.

pub mod ort_quantize;
pub mod rpr;
pub mod script;
#[cfg(feature = "libtorch")]
pub mod torch;
#[cfg(feature = "tract")]
pub mod tract;

use std::path::PathBuf;

use ndarray::{Array2, ArrayView4};
use thiserror::Error;

/// Failure of one engine; the comparison records it in that engine's row
/// and goes on with the others.
#[derive(Debug, Error)]
pub enum BackendError {
    #[error("{engine}: failed to load `{model}`: {message}")]
    Load { engine: &'static str, model: String, message: String },
    #[error("{engine}: inference failed: {message}")]
    Run { engine: &'static str, message: String },
    #[error("Python script: {0}")]
    Script(String),
    #[error("input file {path}: {message}")]
    Input { path: PathBuf, message: String },
    /// A worker process failed to start, crashed or wrote no usable response.
    #[error("{engine} worker process: {message}")]
    Worker { engine: &'static str, message: String },
    /// A worker request with counts or a shape out of range.
    #[error("invalid worker request: {0}")]
    Request(String),
    /// Logits of the wrong shape or with non-finite values.
    #[error("{engine}: {message}")]
    Logits { engine: &'static str, message: String },
    /// An error that a worker process caught and wrote into its response.
    #[error("{0}")]
    Reported(String),
}

/// One engine, configured for one model, thread count and batch size.
pub trait Backend {
    /// Engine name, for example `rpr-infer`.
    fn engine(&self) -> &'static str;
    /// Numeric format of weights and activations, for example `int8` or `fp32`.
    fn variant(&self) -> String;
    /// Threads the engine computes with.
    fn threads(&self) -> usize;
    /// Runs an NCHW f32 batch and returns the logits `[n, classes]`.
    fn run(&mut self, input: ArrayView4<'_, f32>) -> Result<Array2<f32>, BackendError>;
}
