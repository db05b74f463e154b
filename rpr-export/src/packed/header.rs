//! Checks of the header parts that do not describe payloads: extension
//! sections, weight quantization and activation calibration. Errors point at
//! the start of the header, because the header is stored compressed.

use std::collections::BTreeMap;

use rpr_core::graph::{Model, INPUT};
use rpr_core::quant::{Bits, Granularity};

use super::container::{FORMAT_MAJOR, FORMAT_MINOR, PREAMBLE_LEN};
use super::error::FormatError;
use super::proto::{self, Header};
use super::reader::QuantInfo;
use super::table::check_crc;
use super::tensor::{ActivationQuant, CalibrationInfo};

const OFFSET: u64 = PREAMBLE_LEN as u64;

/// Checks section checksums and rejects required sections, because format
/// 2.0 defines no section. Optional sections are skipped.
pub(crate) fn check_sections(header: &Header, (file_major, file_minor): (u16, u16)) -> Result<(), FormatError> {
    for section in &header.sections {
        check_crc(&format!("section `{}`", section.name), OFFSET, &section.payload, section.crc32)?;
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

pub(crate) fn read_quantization(header: &Header) -> Result<QuantInfo, FormatError> {
    let quant = header
        .quantization
        .as_ref()
        .ok_or_else(|| FormatError::invalid("quantization", OFFSET, "missing; an .rpr file stores a quantized model"))?;
    let bits = match proto::WeightBits::try_from(quant.bits) {
        Ok(proto::WeightBits::Binary) => Bits::Binary,
        Ok(proto::WeightBits::Ternary) => Bits::Ternary,
        _ => return Err(FormatError::invalid("quantization", OFFSET, format!("unknown weight bits {}", quant.bits))),
    };
    let granularity = match proto::WeightGranularity::try_from(quant.granularity) {
        Ok(proto::WeightGranularity::PerTensor) => Granularity::PerTensor,
        Ok(proto::WeightGranularity::PerChannel) => Granularity::PerChannel,
        _ => {
            return Err(FormatError::invalid(
                "quantization",
                OFFSET,
                format!("unknown granularity {}", quant.granularity),
            ))
        }
    };
    Ok(QuantInfo { bits, granularity })
}

type Activations = (BTreeMap<String, ActivationQuant>, Option<CalibrationInfo>);

/// Reads the activation scales, keyed by tensor name (a node name or `input`).
pub(crate) fn read_calibration(header: &Header, model: &Model) -> Result<Activations, FormatError> {
    let Some(calibration) = &header.calibration else {
        return Ok((BTreeMap::new(), None));
    };
    let invalid = |reason: String| FormatError::invalid("calibration", OFFSET, reason);
    if !(calibration.percentile > 0.0 && calibration.percentile <= 100.0) {
        return Err(invalid(format!("percentile {} is outside (0, 100]", calibration.percentile)));
    }
    let tensor_count = model.nodes.len() + 1;
    if calibration.scales.len() != calibration.unsigned.len() {
        return Err(invalid(format!(
            "{} scales but {} signedness flags; both are indexed by tensor id",
            calibration.scales.len(),
            calibration.unsigned.len()
        )));
    }
    if calibration.scales.len() > tensor_count {
        return Err(invalid(format!(
            "{} scales for {tensor_count} tensors (the graph input and {} node outputs)",
            calibration.scales.len(),
            model.nodes.len()
        )));
    }
    let mut activations = BTreeMap::new();
    for (id, (&scale, &unsigned)) in calibration.scales.iter().zip(&calibration.unsigned).enumerate() {
        // A scale of 0 marks a tensor without calibration.
        if scale == 0.0 {
            continue;
        }
        let tensor = match id.checked_sub(1) {
            None => INPUT,
            Some(node) => model.nodes[node].name.as_str(),
        };
        if !(scale.is_finite() && scale > 0.0) {
            return Err(invalid(format!("scale {scale} of tensor `{tensor}` is not a positive finite number")));
        }
        activations.insert(tensor.to_string(), ActivationQuant { scale, unsigned });
    }
    let info = CalibrationInfo {
        samples: calibration.samples,
        dataset: calibration.dataset.clone(),
        percentile: calibration.percentile,
    };
    Ok((activations, Some(info)))
}
