//! Writer of `.rpr` files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use rpr_core::checkpoint::{write_atomic, Checkpoint, QuantSpec};
use rpr_core::pack::Encoding;
use rpr_core::quant::{Bits, Granularity};

use super::container::{Preamble, FORMAT_MAJOR, FORMAT_MINOR, MAX_HEADER_LEN, PREAMBLE_LEN};
use super::reader::RprFile;
use super::tensor::TensorRole;
use super::{compress, graph, proto, table};
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
    let file = RprFile::from_bytes(encode_rpr(checkpoint, opts)?)
        .map_err(|error| ExportError::Option(format!("the encoded file failed validation, which is a bug: {error}")))?;
    let bytes = file.as_bytes();
    write_atomic(out, bytes).map_err(|source| ExportError::Io { path: out.to_path_buf(), source })?;

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
    encode_folded(&folded, quant, opts.calibration.as_ref())
}

fn encode_folded(
    folded: &FoldedModel,
    quant: &QuantSpec,
    calibration: Option<&ActivationCalibration>,
) -> Result<Vec<u8>, ExportError> {
    let header = proto::Header {
        model: Some(graph::to_proto(&folded.model)?),
        tensors: Some(tensor_table(folded)?),
        quantization: Some(quantization_message(quant)),
        calibration: calibration.map(|calibration| calibration_message(folded, calibration)).transpose()?,
        sections: Vec::new(),
        producer: format!("rpr-export {}", env!("CARGO_PKG_VERSION")),
    };
    let payloads: Vec<&[u8]> = folded.tensors.iter().map(|tensor| tensor.bytes.as_slice()).collect();
    assemble(&header, (FORMAT_MAJOR, FORMAT_MINOR), &payloads)
}

/// Builds the bytes of a file of format `major.minor` from its header and
/// its payloads in table order: the preamble, the compressed header, then
/// each payload at the next 64-byte aligned offset, with zero padding.
pub(crate) fn assemble(
    header: &proto::Header,
    (major, minor): (u16, u16),
    payloads: &[&[u8]],
) -> Result<Vec<u8>, ExportError> {
    let decoded = header.encode_to_vec();
    let stored = compress::deflate(&decoded);
    let too_large = |field: &str, value: usize| ExportError::TooLarge { field: field.into(), value };

    let header_end = (PREAMBLE_LEN + stored.len()) as u64;
    let (offsets, file_len) = table::layout(header_end, payloads.iter().map(|payload| payload.len() as u64));
    let preamble = Preamble {
        major,
        minor,
        header_len: u32::try_from(stored.len()).map_err(|_| too_large("stored header length", stored.len()))?,
        header_crc32: crc32fast::hash(&stored),
        file_len,
        decoded_header_len: u32::try_from(decoded.len())
            .ok()
            .filter(|&len| len <= MAX_HEADER_LEN)
            .ok_or_else(|| too_large("decoded header length", decoded.len()))?,
    };

    let mut bytes = vec![0u8; file_len as usize];
    bytes[..PREAMBLE_LEN].copy_from_slice(&preamble.to_bytes());
    bytes[PREAMBLE_LEN..header_end as usize].copy_from_slice(&stored);
    for (&offset, payload) in offsets.iter().zip(payloads) {
        let start = offset as usize;
        bytes[start..start + payload.len()].copy_from_slice(payload);
    }
    Ok(bytes)
}

/// Lists the folded tensors by owning node index and role, in file order.
fn tensor_table(folded: &FoldedModel) -> Result<proto::TensorTable, ExportError> {
    let node_index: BTreeMap<&str, usize> =
        folded.model.nodes.iter().enumerate().map(|(index, node)| (node.name.as_str(), index)).collect();
    let mut table = proto::TensorTable::default();
    for tensor in &folded.tensors {
        let (node, role) = TensorRole::split_name(&tensor.name)
            .and_then(|(node, role)| Some((*node_index.get(node)?, role)))
            .expect("fold names every tensor `<node>.<role>` after one of its nodes");
        table
            .nodes
            .push(u32::try_from(node).map_err(|_| ExportError::TooLarge { field: "node index".into(), value: node })?);
        table.roles.push(role.to_proto() as i32);
        table.dtypes.push(tensor.dtype.to_proto() as i32);
        table.crc32s.push(crc32fast::hash(&tensor.bytes));
    }
    Ok(table)
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
    proto::Quantization { bits: bits as i32, granularity: granularity as i32 }
}

fn calibration_message(
    folded: &FoldedModel,
    calibration: &ActivationCalibration,
) -> Result<proto::Calibration, ExportError> {
    // One value per tensor id: the graph input and every node output.
    let tensor_count = folded.model.nodes.len() + 1;
    let mut scales = vec![0.0; tensor_count];
    let mut unsigned = vec![false; tensor_count];
    for (name, quant) in &calibration.scales {
        // A conv output that only fed a folded BatchNorm no longer exists;
        // the BatchNorm output's scale moves to the conv.
        let Some(tensor) = folded.folded_name(name) else { continue };
        if !(quant.scale.is_finite() && quant.scale > 0.0) {
            // The file marks a tensor without calibration with scale 0, and
            // readers reject other non-positive scales.
            return Err(ExportError::Calibration(format!(
                "scale {} of tensor `{name}` is not a positive finite number",
                quant.scale
            )));
        }
        let id = graph::tensor_id(&folded.model, tensor)? as usize;
        scales[id] = quant.scale;
        unsigned[id] = quant.unsigned;
    }
    Ok(proto::Calibration {
        samples: calibration.samples,
        dataset: calibration.dataset.clone(),
        percentile: calibration.percentile,
        scales,
        unsigned,
    })
}
