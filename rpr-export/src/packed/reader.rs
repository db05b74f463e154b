//! Validating reader of `.rpr` files. Everything is checked at open, so the
//! accessors afterwards only look up validated entries.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use rpr_core::graph::Model;
use rpr_core::pack::PackedView;
use rpr_core::quant::{Bits, Granularity};

use super::container::{Preamble, PREAMBLE_LEN};
use super::error::FormatError;
use super::proto::Header;
use super::storage::Storage;
use super::tensor::{ActivationQuant, CalibrationInfo, TensorDType, TensorInfo};
use super::{compress, graph, header, table, validate};

/// Weight quantization recorded in a file. The per-channel multipliers after
/// BatchNorm folding are the `<layer>.scale` tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantInfo {
    pub bits: Bits,
    /// Granularity of the weight scales in the checkpoint before folding.
    pub granularity: Granularity,
}

/// An opened and fully validated `.rpr` file.
pub struct RprFile {
    storage: Storage,
    version: (u16, u16),
    model: Model,
    tensors: BTreeMap<String, TensorInfo>,
    quant: QuantInfo,
    activations: BTreeMap<String, ActivationQuant>,
    calibration: Option<CalibrationInfo>,
    producer: String,
}

impl std::fmt::Debug for RprFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RprFile")
            .field("version", &self.version)
            .field("model", &self.model.name)
            .field("tensors", &self.tensors.len())
            .field("bytes", &self.storage.bytes().len())
            .finish()
    }
}

impl RprFile {
    /// Memory-maps and validates the file at `path`.
    pub fn open(path: &Path) -> Result<RprFile, FormatError> {
        Self::parse(Storage::map(path)?)
    }

    /// Validates a file held in memory. The bytes are copied into a 64-byte
    /// aligned buffer so that f32 payloads can be viewed in place.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<RprFile, FormatError> {
        Self::parse(Storage::from_vec(bytes))
    }

    /// Returns the exported model description, with BatchNorm folded where exact.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Returns the format version `(major, minor)` the file was written with.
    pub fn version(&self) -> (u16, u16) {
        self.version
    }

    /// Returns the weight alphabet of the quantized layers.
    pub fn bits(&self) -> Bits {
        self.quant.bits
    }

    /// Returns the weight quantization parameters.
    pub fn quantization(&self) -> &QuantInfo {
        &self.quant
    }

    /// Returns the name and version of the program that wrote the file.
    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// Returns the bytes of the whole file.
    pub fn as_bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    /// Returns the tensor table, sorted by name.
    pub fn tensors(&self) -> impl Iterator<Item = &TensorInfo> {
        self.tensors.values()
    }

    /// Returns the table entry of tensor `name`.
    pub fn tensor_info(&self, name: &str) -> Result<&TensorInfo, FormatError> {
        self.tensors
            .get(name)
            .ok_or_else(|| FormatError::TensorNotFound { name: name.to_string() })
    }

    /// Returns the logical shape of tensor `name`.
    pub fn tensor_shape(&self, name: &str) -> Result<&[usize], FormatError> {
        Ok(&self.tensor_info(name)?.shape)
    }

    /// Returns the raw payload bytes of tensor `name`.
    pub fn tensor_bytes(&self, name: &str) -> Result<&[u8], FormatError> {
        let info = self.tensor_info(name)?;
        Ok(&self.storage.bytes()[info.offset..info.offset + info.length])
    }

    /// Returns the f32 values of tensor `name`, read in place.
    pub fn tensor_f32(&self, name: &str) -> Result<&[f32], FormatError> {
        let info = self.tensor_info(name)?;
        if info.dtype != TensorDType::F32 {
            return Err(FormatError::WrongDType {
                name: name.to_string(),
                expected: TensorDType::F32.label(),
                found: info.dtype.label(),
            });
        }
        let bytes = &self.storage.bytes()[info.offset..info.offset + info.length];
        // Offsets are multiples of 64 from a 64-byte aligned base, and the
        // length is a multiple of 4, both checked at open.
        bytemuck::try_cast_slice(bytes).map_err(|error| {
            FormatError::invalid(format!("tensor `{name}`"), info.offset as u64, format!("cannot view as f32: {error}"))
        })
    }

    /// Returns the packed weight codes of tensor `name` as an `O x K` matrix view.
    pub fn packed(&self, name: &str) -> Result<PackedView<'_>, FormatError> {
        let info = self.tensor_info(name)?;
        let TensorDType::Packed(encoding) = info.dtype else {
            return Err(FormatError::WrongDType {
                name: name.to_string(),
                expected: "packed weights",
                found: info.dtype.label(),
            });
        };
        let rows = info.shape[0];
        let k: usize = info.shape[1..].iter().product();
        let bytes = &self.storage.bytes()[info.offset..info.offset + info.length];
        PackedView::new(encoding, rows, k, bytes).map_err(|error| {
            FormatError::invalid(format!("tensor `{name}`"), info.offset as u64, error.to_string())
        })
    }

    /// Returns the calibrated scale of activation tensor `tensor` (a node name or `input`).
    pub fn activation_scale(&self, tensor: &str) -> Option<f32> {
        self.activations.get(tensor).map(|quant| quant.scale)
    }

    /// Returns the calibrated scale and signedness of activation tensor `tensor`.
    pub fn activation_quant(&self, tensor: &str) -> Option<ActivationQuant> {
        self.activations.get(tensor).copied()
    }

    /// Returns all calibrated activations by tensor name.
    pub fn activations(&self) -> &BTreeMap<String, ActivationQuant> {
        &self.activations
    }

    /// Returns how the activation scales were measured, if the file was calibrated.
    pub fn calibration(&self) -> Option<&CalibrationInfo> {
        self.calibration.as_ref()
    }

    fn parse(storage: Storage) -> Result<RprFile, FormatError> {
        if cfg!(target_endian = "big") {
            return Err(FormatError::BigEndianHost);
        }
        let bytes = storage.bytes();
        let preamble = Preamble::parse(bytes)?;
        let header_end = PREAMBLE_LEN + preamble.header_len as usize;
        let header = decode_header(bytes, &preamble)?;

        let version = (preamble.major, preamble.minor);
        header::check_sections(&header, version)?;

        let model = read_model(&header)?;
        // An absent table is an empty one, as for any protobuf message.
        let table = header.tensors.clone().unwrap_or_default();
        let tensors = table::read(&table, &model, bytes, header_end)?;
        let quant = header::read_quantization(&header)?;
        validate::tensors_match_model(&model, &tensors, &quant)?;
        let (activations, calibration) = header::read_calibration(&header, &model)?;

        Ok(RprFile {
            storage,
            version,
            model,
            tensors,
            quant,
            activations,
            calibration,
            producer: header.producer,
        })
    }
}

/// Checks the CRC-32 of the compressed header that follows the preamble and
/// decodes it. `preamble` is the parsed preamble of `bytes`.
pub(crate) fn decode_header(bytes: &[u8], preamble: &Preamble) -> Result<Header, FormatError> {
    let stored = &bytes[PREAMBLE_LEN..PREAMBLE_LEN + preamble.header_len as usize];
    table::check_crc("header", PREAMBLE_LEN as u64, stored, preamble.header_crc32)?;
    let decoded = compress::inflate(stored, preamble.decoded_header_len as usize)
        .map_err(|reason| FormatError::invalid("header", PREAMBLE_LEN as u64, reason))?;
    Header::decode(decoded.as_slice()).map_err(|source| FormatError::HeaderDecode { offset: PREAMBLE_LEN as u64, source })
}

/// Converts and validates the model description. Errors point at the start
/// of the header, because the header is stored compressed.
fn read_model(header: &Header) -> Result<Model, FormatError> {
    let invalid = |reason: String| FormatError::invalid("model description", PREAMBLE_LEN as u64, reason);
    let message = header.model.as_ref().ok_or_else(|| invalid("missing from the header".into()))?;
    let model = graph::from_proto(message).map_err(invalid)?;
    model.validate().map_err(|error| invalid(error.to_string()))?;
    Ok(model)
}
