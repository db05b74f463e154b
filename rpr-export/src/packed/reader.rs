//! Validating reader of `.rpr` files. Everything is checked at open, so the
//! accessors afterwards only look up validated entries.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use rpr_core::graph::Model;
use rpr_core::pack::PackedView;
use rpr_core::quant::{Bits, Granularity};

use super::container::{self, Preamble, FORMAT_MAJOR, FORMAT_MINOR, MAGIC, MAX_HEADER_LEN, PREAMBLE_LEN};
use super::error::FormatError;
use super::proto::{self, Header};
use super::storage::Storage;
use super::tensor::{ActivationQuant, CalibrationInfo, TensorDType, TensorInfo};
use super::validate;

/// Largest tensor rank the reader accepts.
const MAX_RANK: usize = 8;

/// Weight quantization recorded in a file.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantInfo {
    pub bits: Bits,
    pub granularity: Granularity,
    /// Weight scales of each quantized layer before BatchNorm folding.
    pub layers: BTreeMap<String, Vec<f32>>,
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
        let preamble = read_preamble(bytes)?;
        let header_end = PREAMBLE_LEN + preamble.header_len as usize;
        let header_bytes = &bytes[PREAMBLE_LEN..header_end];
        check_crc("header", PREAMBLE_LEN as u64, header_bytes, preamble.header_crc32)?;
        let header = Header::decode(header_bytes)
            .map_err(|source| FormatError::HeaderDecode { offset: PREAMBLE_LEN as u64, source })?;

        let version = (preamble.major, preamble.minor);
        check_sections(&header, version)?;

        let data_start = container::align_up(header_end as u64).unwrap_or(u64::MAX);
        let tensors = read_tensor_table(&header, bytes, header_end, data_start)?;

        let model = Model::from_json(&header.model_json).map_err(|error| {
            FormatError::invalid("model description", PREAMBLE_LEN as u64, error.to_string())
        })?;
        model
            .validate()
            .map_err(|error| FormatError::invalid("model description", PREAMBLE_LEN as u64, error.to_string()))?;

        let quant = read_quantization(&header)?;
        validate::tensors_match_model(&model, &tensors, &quant)?;
        let (activations, calibration) = read_calibration(&header, &model)?;

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

fn check_crc(section: &str, offset: u64, bytes: &[u8], stored: u32) -> Result<(), FormatError> {
    let computed = crc32fast::hash(bytes);
    if computed != stored {
        return Err(FormatError::Checksum {
            section: section.to_string(),
            offset,
            stored,
            computed,
        });
    }
    Ok(())
}

fn read_preamble(bytes: &[u8]) -> Result<Preamble, FormatError> {
    if bytes.len() < PREAMBLE_LEN {
        return Err(FormatError::TooShort { len: bytes.len(), min: PREAMBLE_LEN });
    }
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&bytes[0..8]);
    if magic != MAGIC {
        return Err(FormatError::BadMagic { found: magic, expected: MAGIC });
    }
    // The version is checked before the preamble checksum, because a later
    // major version may lay out the rest of the preamble differently.
    let major = container::read_u16(bytes, 8);
    let minor = container::read_u16(bytes, 10);
    if major != FORMAT_MAJOR {
        return Err(FormatError::UnsupportedVersion {
            file_major: major,
            file_minor: minor,
            reader_major: FORMAT_MAJOR,
            reader_minor: FORMAT_MINOR,
        });
    }
    check_crc("preamble", 0, &bytes[0..28], container::read_u32(bytes, 28))?;

    let preamble = Preamble {
        major,
        minor,
        header_len: container::read_u32(bytes, 12),
        header_crc32: container::read_u32(bytes, 16),
        file_len: container::read_u64(bytes, 20),
    };
    if preamble.file_len != bytes.len() as u64 {
        return Err(FormatError::Length { expected: preamble.file_len, actual: bytes.len() as u64 });
    }
    if preamble.header_len > MAX_HEADER_LEN {
        return Err(FormatError::invalid(
            "preamble",
            12,
            format!("header length {} exceeds the limit of {MAX_HEADER_LEN} bytes", preamble.header_len),
        ));
    }
    if PREAMBLE_LEN as u64 + u64::from(preamble.header_len) > bytes.len() as u64 {
        return Err(FormatError::invalid(
            "preamble",
            12,
            format!("header length {} runs past the end of the {}-byte file", preamble.header_len, bytes.len()),
        ));
    }
    Ok(preamble)
}

fn check_sections(header: &Header, (file_major, file_minor): (u16, u16)) -> Result<(), FormatError> {
    for section in &header.sections {
        check_crc(&format!("section `{}`", section.name), PREAMBLE_LEN as u64, &section.payload, section.crc32)?;
        // Format 1.0 defines no sections, so every section is unknown here.
        if section.required {
            return Err(FormatError::UnknownRequiredSection {
                name: section.name.clone(),
                file_major,
                file_minor,
                reader_major: FORMAT_MAJOR,
                reader_minor: FORMAT_MINOR,
            });
        }
        tracing::debug!(section = %section.name, "skipping optional section unknown to this reader");
    }
    Ok(())
}

fn read_tensor_table(
    header: &Header,
    bytes: &[u8],
    header_end: usize,
    data_start: u64,
) -> Result<BTreeMap<String, TensorInfo>, FormatError> {
    let file_len = bytes.len() as u64;
    let mut tensors = BTreeMap::new();
    for entry in &header.tensors {
        let section = format!("tensor table entry `{}`", entry.name);
        let invalid = |reason: String| FormatError::invalid(section.clone(), entry.offset, reason);

        if entry.name.is_empty() {
            return Err(invalid("empty tensor name".into()));
        }
        let dtype = proto::DType::try_from(entry.dtype)
            .ok()
            .and_then(TensorDType::from_proto)
            .ok_or_else(|| invalid(format!("unknown dtype {}", entry.dtype)))?;
        if entry.shape.is_empty() || entry.shape.len() > MAX_RANK {
            return Err(invalid(format!("rank {} is outside 1..={MAX_RANK}", entry.shape.len())));
        }
        let shape = entry
            .shape
            .iter()
            .map(|&dim| usize::try_from(dim).ok().filter(|&dim| dim > 0))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| invalid(format!("shape {:?} has a zero or oversized dimension", entry.shape)))?;
        let expected_len = dtype
            .payload_len(&shape)
            .ok_or_else(|| invalid(format!("{} tensor of shape {shape:?} has no valid size", dtype.label())))?;
        if entry.length != expected_len as u64 {
            return Err(invalid(format!(
                "length {} does not match {} bytes of a {} tensor of shape {shape:?}",
                entry.length,
                expected_len,
                dtype.label()
            )));
        }
        if entry.offset % container::ALIGN != 0 {
            return Err(invalid(format!("offset is not a multiple of {}", container::ALIGN)));
        }
        if entry.offset < data_start {
            return Err(invalid(format!("payload overlaps the header, which ends at {data_start}")));
        }
        let end = entry.offset.checked_add(entry.length).filter(|&end| end <= file_len).ok_or_else(|| {
            invalid(format!("payload of {} bytes runs past the end of the {file_len}-byte file", entry.length))
        })?;
        let payload = &bytes[entry.offset as usize..end as usize];
        check_crc(&format!("tensor `{}`", entry.name), entry.offset, payload, entry.crc32)?;
        if let TensorDType::Packed(encoding) = dtype {
            // Kernels rely on zero padding bits and valid trits, so check
            // every row once here instead of in each kernel.
            let k = shape[1..].iter().product();
            PackedView::new(encoding, shape[0], k, payload)
                .and_then(|view| view.validate())
                .map_err(|error| invalid(format!("invalid packed codes: {error}")))?;
        }

        let info = TensorInfo {
            name: entry.name.clone(),
            dtype,
            shape,
            offset: entry.offset as usize,
            length: entry.length as usize,
        };
        if tensors.insert(entry.name.clone(), info).is_some() {
            return Err(invalid("duplicate tensor name".into()));
        }
    }

    // Payloads must not overlap, so no two names alias the same bytes.
    let mut spans: Vec<&TensorInfo> = tensors.values().collect();
    spans.sort_by_key(|info| info.offset);
    for pair in spans.windows(2) {
        if pair[0].offset + pair[0].length > pair[1].offset {
            return Err(FormatError::invalid(
                format!("tensor `{}`", pair[1].name),
                pair[1].offset as u64,
                format!("payload overlaps tensor `{}`", pair[0].name),
            ));
        }
    }
    check_padding(bytes, header_end, &spans)?;
    Ok(tensors)
}

/// Checks that every byte outside the preamble, header and payloads is zero.
/// Checksums do not cover alignment padding, so without this check a
/// corrupted padding byte would go unnoticed.
fn check_padding(bytes: &[u8], header_end: usize, spans: &[&TensorInfo]) -> Result<(), FormatError> {
    let mut gap_start = header_end;
    let gap_ends = spans.iter().map(|info| (info.offset, info.offset + info.length)).chain([(bytes.len(), bytes.len())]);
    for (gap_end, next_start) in gap_ends {
        if let Some(position) = bytes[gap_start..gap_end].iter().position(|&b| b != 0) {
            return Err(FormatError::invalid(
                "padding",
                (gap_start + position) as u64,
                "alignment padding must be zero bytes",
            ));
        }
        gap_start = next_start;
    }
    Ok(())
}

fn read_quantization(header: &Header) -> Result<QuantInfo, FormatError> {
    let offset = PREAMBLE_LEN as u64;
    let quant = header
        .quantization
        .as_ref()
        .ok_or_else(|| FormatError::invalid("quantization", offset, "missing; an .rpr file stores a quantized model"))?;
    let bits = match proto::WeightBits::try_from(quant.bits) {
        Ok(proto::WeightBits::Binary) => Bits::Binary,
        Ok(proto::WeightBits::Ternary) => Bits::Ternary,
        _ => return Err(FormatError::invalid("quantization", offset, format!("unknown weight bits {}", quant.bits))),
    };
    let granularity = match proto::WeightGranularity::try_from(quant.granularity) {
        Ok(proto::WeightGranularity::PerTensor) => Granularity::PerTensor,
        Ok(proto::WeightGranularity::PerChannel) => Granularity::PerChannel,
        _ => {
            return Err(FormatError::invalid(
                "quantization",
                offset,
                format!("unknown granularity {}", quant.granularity),
            ))
        }
    };
    let mut layers = BTreeMap::new();
    for layer in &quant.layers {
        if let Some(bad) = layer.weight_scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(FormatError::invalid(
                format!("quantization of layer `{}`", layer.name),
                offset,
                format!("weight scale {bad} is not a positive finite number"),
            ));
        }
        if layers.insert(layer.name.clone(), layer.weight_scales.clone()).is_some() {
            return Err(FormatError::invalid("quantization", offset, format!("layer `{}` listed twice", layer.name)));
        }
    }
    Ok(QuantInfo { bits, granularity, layers })
}

type Activations = (BTreeMap<String, ActivationQuant>, Option<CalibrationInfo>);

fn read_calibration(header: &Header, model: &Model) -> Result<Activations, FormatError> {
    let Some(calibration) = &header.calibration else {
        return Ok((BTreeMap::new(), None));
    };
    let offset = PREAMBLE_LEN as u64;
    if !(calibration.percentile > 0.0 && calibration.percentile <= 100.0) {
        return Err(FormatError::invalid(
            "calibration",
            offset,
            format!("percentile {} is outside (0, 100]", calibration.percentile),
        ));
    }
    let mut activations = BTreeMap::new();
    for entry in &calibration.activations {
        let known = entry.tensor == rpr_core::graph::INPUT || model.node(&entry.tensor).is_some();
        if !known {
            return Err(FormatError::invalid(
                "calibration",
                offset,
                format!("scale for tensor `{}`, which no node produces", entry.tensor),
            ));
        }
        if !(entry.scale.is_finite() && entry.scale > 0.0) {
            return Err(FormatError::invalid(
                "calibration",
                offset,
                format!("scale {} of tensor `{}` is not a positive finite number", entry.scale, entry.tensor),
            ));
        }
        let quant = ActivationQuant { scale: entry.scale, unsigned: entry.unsigned };
        if activations.insert(entry.tensor.clone(), quant).is_some() {
            return Err(FormatError::invalid("calibration", offset, format!("tensor `{}` listed twice", entry.tensor)));
        }
    }
    let info = CalibrationInfo {
        samples: calibration.samples,
        dataset: calibration.dataset.clone(),
        percentile: calibration.percentile,
    };
    Ok((activations, Some(info)))
}
