//! The parameters an ONNX graph is built from: float arrays, or integer codes
//! with per-output-channel scales for quantized layers.

use std::collections::BTreeMap;

use ndarray::{ArrayD, IxDyn};
use rpr_core::checkpoint::Checkpoint;
use rpr_core::graph::Model;
use rpr_core::pack::{self, PackedView};

use crate::error::ExportError;
use crate::fold::{self, FoldedModel};
use crate::packed::TensorDType;

/// One parameter tensor.
pub(crate) enum Param {
    Float(ArrayD<f32>),
    /// Effective weight `scales[o] * codes[o, ...]`.
    Codes { codes: ArrayD<i8>, scales: Vec<f32> },
}

/// A model and its parameters by name.
pub(crate) struct Lowered {
    pub model: Model,
    pub params: BTreeMap<String, Param>,
}

/// Keeps the checkpoint graph as is (BatchNorm included) and turns the
/// weights of quantized layers into codes.
pub(crate) fn unfolded(checkpoint: &Checkpoint) -> Result<Lowered, ExportError> {
    let mut params = BTreeMap::new();
    for (name, value) in &checkpoint.tensors {
        // ONNX BatchNormalization has no batch counter.
        if !name.ends_with(".num_batches_tracked") {
            params.insert(name.clone(), Param::Float(value.clone()));
        }
    }
    if let Some(quant) = &checkpoint.quant {
        for (layer, spec) in &quant.layers {
            let name = format!("{layer}.weight");
            let weight = checkpoint.tensors.get(&name).ok_or_else(|| ExportError::MissingTensor { name: name.clone() })?;
            let channels = weight.shape().first().copied().unwrap_or(0);
            let scales = fold::expand_scales(layer, &spec.scales, quant.granularity, channels)?;
            let codes = fold::weight_codes(layer, weight, &scales, quant.bits)?;
            params.insert(name, Param::Codes { codes: codes.into_dyn(), scales });
        }
    }
    Ok(Lowered { model: checkpoint.model.clone(), params })
}

/// Uses the BatchNorm-folded graph of an `.rpr` export, unpacking the codes.
pub(crate) fn folded(folded: &FoldedModel) -> Result<Lowered, ExportError> {
    let mut params = BTreeMap::new();
    let scales: BTreeMap<&str, &[u8]> = folded
        .tensors
        .iter()
        .filter(|t| t.name.ends_with(".scale"))
        .map(|t| (t.name.as_str(), t.bytes.as_slice()))
        .collect();
    for tensor in &folded.tensors {
        if scales.contains_key(tensor.name.as_str()) {
            continue;
        }
        let param = match tensor.dtype {
            TensorDType::F32 => Param::Float(f32_array(&tensor.shape, &tensor.bytes)),
            TensorDType::Packed(encoding) => {
                let layer = tensor.name.trim_end_matches(".weight");
                let rows = tensor.shape[0];
                let k: usize = tensor.shape[1..].iter().product();
                let pack_error = |source| ExportError::Pack { layer: layer.to_string(), source };
                let view = PackedView::new(encoding, rows, k, &tensor.bytes).map_err(pack_error)?;
                let shape: [usize; 4] = tensor.shape.as_slice().try_into().map_err(|_| ExportError::Shape {
                    name: tensor.name.clone(),
                    expected: vec![rows, 0, 0, 0],
                    found: tensor.shape.clone(),
                })?;
                let rows_codes = view.try_unpack().map_err(pack_error)?;
                let codes = pack::try_rows_to_conv(rows_codes.view(), shape).map_err(pack_error)?.into_dyn();
                let scale_bytes = scales
                    .get(format!("{layer}.scale").as_str())
                    .ok_or_else(|| ExportError::MissingTensor { name: format!("{layer}.scale") })?;
                let scales = f32_array(&[rows], scale_bytes).into_raw_vec_and_offset().0;
                Param::Codes { codes, scales }
            }
        };
        params.insert(tensor.name.clone(), param);
    }
    Ok(Lowered { model: folded.model.clone(), params })
}

fn f32_array(shape: &[usize], bytes: &[u8]) -> ArrayD<f32> {
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).expect("fold produces bytes matching each shape")
}
