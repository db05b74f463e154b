//! Exporters of rpr checkpoints: bit-packed `.rpr` model files for the rpr
//! inference engine and ONNX graphs for other runtimes.

pub mod calibrate;
mod error;
pub mod fold;
pub mod onnx;
pub mod packed;
pub mod summary;

pub use error::ExportError;
