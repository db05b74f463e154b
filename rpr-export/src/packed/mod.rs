//! `.rpr` model files: a versioned container of bit-packed weights that a
//! board can memory-map and read in place.
//!
//! Layout: a 36-byte preamble (magic, version, header lengths and checksums),
//! a DEFLATE-compressed protobuf header (model description, tensor table,
//! quantization, activation calibration), then uncompressed tensor payloads
//! at 64-byte aligned offsets, each with its own CRC-32. See `docs/FORMAT.md`.

mod compress;
mod container;
mod error;
mod graph;
mod header;
mod patch;
pub mod proto;
mod reader;
mod storage;
mod table;
mod tensor;
mod validate;
mod writer;

pub use container::{ALIGN, FORMAT_MAJOR, FORMAT_MINOR, MAGIC, MAX_HEADER_LEN, PREAMBLE_LEN};
pub use error::FormatError;
#[doc(hidden)]
pub use patch::patch_tensor;
pub use reader::{QuantInfo, RprFile};
pub use tensor::{ActivationQuant, CalibrationInfo, TensorDType, TensorInfo, TensorRole};
pub use writer::{encode_rpr, write_rpr, ExportSummary, PackOptions};
