//! Writer of `.rpr` files.

use std::path::{Path, PathBuf};

use prost::Message;
use rpr_core::checkpoint::{write_atomic, Checkpoint, QuantSpec};
use rpr_core::pack::Encoding;
use rpr_core::quant::{Bits, Granularity};

use super::container::{self, Preamble, FORMAT_MAJOR, FORMAT_MINOR, PREAMBLE_LEN};
use super::proto;
use super::reader::RprFile;
use crate::calibrate::ActivationCalibration;
use crate::error::ExportError;
use crate::fold::{self, FoldedModel};

/// Options of [`write_rpr`].
#[derive(Clone, Debug, Default)]
pub struct PackOptions {
    /// Store ternary weights in base 3 (5 trits per byte) instead of 2 bits.
    pub ternary3: bool,
    /// Activation scales measured on the float graph, keyed by the original
    /// (unfolded) tensor names.
    pub calibration: Option<ActivationCalibration>,
}

/// Statistics of a file written by [`write_rpr`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    pub path: PathBuf,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Number of tensors in the file.
    pub tensors: usize,
    /// Convs stored with packed weights.
    pub packed_layers: usize,
    /// BatchNorm nodes folded into the preceding conv.
    pub folded_batchnorms: usize,
    /// Activation tensors with a calibrated scale.
    pub calibrated_tensors: usize,
}

/// Validates `checkpoint`, folds BatchNorm, packs the quantized convs and
/// writes an `.rpr` file to `out` atomically (temporary file and rename), so
/// an existing `out` is replaced only by a complete file. The bytes are read
/// back and validated before they are written.
pub fn write_rpr(checkpoint: &Checkpoint, opts: &PackOptions, out: &Path) -> Result<ExportSummary, ExportError> {
    let bytes = encode_rpr(checkpoint, opts)?;
    let file = RprFile::from_bytes(bytes.clone())
        .map_err(|error| ExportError::Option(format!("the encoded file failed validation, which is a bug: {error}")))?;
    write_atomic(out, &bytes).map_err(|source| ExportError::Io { path: out.to_path_buf(), source })?;

    let packed_layers = file
        .tensors()
        .filter(|info| matches!(info.dtype, super::TensorDType::Packed(_)))
        .count();
    let folded_batchnorms = checkpoint.model.nodes.len() - file.model().nodes.len();
    let summary = ExportSummary {
        path: out.to_path_buf(),
        file_bytes: bytes.len() as u64,
        tensors: file.tensors().count(),
        packed_layers,
        folded_batchnorms,
        calibrated_tensors: file.activations().len(),
    };
    tracing::info!(path = %out.display(), bytes = summary.file_bytes, packed = packed_layers, "wrote .rpr file");
    Ok(summary)
}

/// Builds the bytes of an `.rpr` file from a validated checkpoint.
pub fn encode_rpr(checkpoint: &Checkpoint, opts: &PackOptions) -> Result<Vec<u8>, ExportError> {
    checkpoint.validate()?;
    let quant = checkpoint.quant.as_ref().ok_or(ExportError::NotQuantized)?;
    let encoding = match (quant.bits, opts.ternary3) {
        (Bits::Binary, false) => Encoding::Binary,
        (Bits::Binary, true) => {
            return Err(ExportError::Option("--ternary3 needs a ternary model, but quant.json has binary weights".into()))
        }
        (Bits::Ternary, false) => Encoding::Ternary2,
        (Bits::Ternary, true) => Encoding::Ternary3,
    };
    let folded = fold::fold(&checkpoint.model, &checkpoint.tensors, quant, encoding)?;
    Ok(encode_folded(&folded, quant, opts.calibration.as_ref()))
}

fn encode_folded(folded: &FoldedModel, quant: &QuantSpec, calibration: Option<&ActivationCalibration>) -> Vec<u8> {
    let mut header = proto::Header {
        // Compact JSON: `Model::to_json` pretty-prints, which triples the
        // header of a small network.
        model_json: serde_json::to_string(&folded.model).expect("a Model always serializes to JSON"),
        tensors: Vec::with_capacity(folded.tensors.len()),
        quantization: Some(quantization_message(quant)),
        calibration: calibration.map(|calibration| calibration_message(folded, calibration)),
        sections: Vec::new(),
        producer: format!("rpr-export {}", env!("CARGO_PKG_VERSION")),
    };

    // Offsets depend on where the payloads start, which depends on the header
    // length, which depends on the offsets' varint sizes. Grow the start until
    // the header fits in front of it; this takes one or two rounds.
    let mut data_start = container::align_up(PREAMBLE_LEN as u64).expect("small constant");
    loop {
        header.tensors = tensor_table(folded, data_start);
        let header_end = (PREAMBLE_LEN + header.encoded_len()) as u64;
        let needed = container::align_up(header_end).expect("header length fits in u64");
        if needed <= data_start {
            break;
        }
        data_start = needed;
    }

    let header_bytes = header.encode_to_vec();
    let file_len = header.tensors.last().map_or(data_start, |last| last.offset + last.length);
    let preamble = Preamble {
        major: FORMAT_MAJOR,
        minor: FORMAT_MINOR,
        header_len: u32::try_from(header_bytes.len()).expect("header is below MAX_HEADER_LEN"),
        header_crc32: crc32fast::hash(&header_bytes),
        file_len,
    };

    let mut bytes = vec![0u8; file_len as usize];
    bytes[..PREAMBLE_LEN].copy_from_slice(&preamble.to_bytes());
    bytes[PREAMBLE_LEN..PREAMBLE_LEN + header_bytes.len()].copy_from_slice(&header_bytes);
    for (entry, tensor) in header.tensors.iter().zip(&folded.tensors) {
        let start = entry.offset as usize;
        bytes[start..start + tensor.bytes.len()].copy_from_slice(&tensor.bytes);
    }
    bytes
}

fn tensor_table(folded: &FoldedModel, data_start: u64) -> Vec<proto::TensorEntry> {
    let mut offset = data_start;
    let mut entries = Vec::with_capacity(folded.tensors.len());
    for tensor in &folded.tensors {
        let length = tensor.bytes.len() as u64;
        entries.push(proto::TensorEntry {
            name: tensor.name.clone(),
            dtype: tensor.dtype.to_proto() as i32,
            shape: tensor.shape.iter().map(|&d| d as u64).collect(),
            offset,
            length,
            crc32: crc32fast::hash(&tensor.bytes),
        });
        offset = container::align_up(offset + length).expect("file size fits in u64");
    }
    entries
}

fn quantization_message(quant: &QuantSpec) -> proto::Quantization {
    let bits = match quant.bits {
        Bits::Binary => proto::WeightBits::Binary,
        Bits::Ternary => proto::WeightBits::Ternary,
    };
    let granularity = match quant.granularity {
        Granularity::PerTensor => proto::WeightGranularity::PerTensor,
        Granularity::PerChannel => proto::WeightGranularity::PerChannel,
    };
    let layers = quant
        .layers
        .iter()
        .map(|(name, layer)| proto::QuantizedLayer { name: name.clone(), weight_scales: layer.scales.clone() })
        .collect();
    proto::Quantization { bits: bits as i32, granularity: granularity as i32, layers }
}

fn calibration_message(folded: &FoldedModel, calibration: &ActivationCalibration) -> proto::Calibration {
    let activations = calibration
        .scales
        .iter()
        .filter_map(|(name, quant)| {
            // A conv output that only fed a folded BatchNorm no longer exists;
            // the BatchNorm output's scale moves to the conv.
            let tensor = folded.folded_name(name)?;
            Some(proto::ActivationScale { tensor: tensor.to_string(), scale: quant.scale, unsigned: quant.unsigned })
        })
        .collect();
    proto::Calibration {
        samples: calibration.samples,
        dataset: calibration.dataset.clone(),
        percentile: calibration.percentile,
        activations,
    }
}
