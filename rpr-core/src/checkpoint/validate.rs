//! Consistency checks between a model, its tensors and its quantization.

use std::collections::BTreeMap;

use super::{Checkpoint, CheckpointError, QuantSpec, Tensors};
use crate::graph::{Model, Op, ParamKind};
use crate::quant::{Bits, Granularity};

/// Runs all checks of [`Checkpoint::validate`], stopping at the first failure.
pub(super) fn checkpoint(ckpt: &Checkpoint) -> Result<(), CheckpointError> {
    ckpt.model.validate()?;
    tensor_set(&ckpt.model, &ckpt.tensors)?;
    finite(&ckpt.tensors)?;
    variances(&ckpt.model, &ckpt.tensors)?;
    if let Some(quant) = &ckpt.quant {
        quantized_layers(&ckpt.model, &ckpt.tensors, quant)?;
    }
    Ok(())
}

/// Checks that the tensor keys equal the model's parameter keys and that
/// every shape matches.
fn tensor_set(model: &Model, tensors: &Tensors) -> Result<(), CheckpointError> {
    let expected: BTreeMap<String, Vec<usize>> = model
        .parameters()
        .into_iter()
        .map(|p| (p.name, p.shape))
        .collect();

    let missing: Vec<String> = expected
        .keys()
        .filter(|k| !tensors.contains_key(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(CheckpointError::MissingTensors { names: missing });
    }
    let extra: Vec<String> = tensors
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .cloned()
        .collect();
    if !extra.is_empty() {
        return Err(CheckpointError::ExtraTensors { names: extra });
    }
    for (name, shape) in &expected {
        let actual = tensors[name].shape();
        if actual != shape.as_slice() {
            return Err(CheckpointError::ShapeMismatch {
                tensor: name.clone(),
                expected: shape.clone(),
                actual: actual.to_vec(),
            });
        }
    }
    Ok(())
}

/// Checks that BatchNorm running variances are not negative, because
/// `sqrt(var + eps)` would turn them into NaN at inference.
fn variances(model: &Model, tensors: &Tensors) -> Result<(), CheckpointError> {
    for spec in model.parameters() {
        if spec.kind != ParamKind::BnRunningVar {
            continue;
        }
        let values = &tensors[&spec.name];
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| **v < 0.0) {
            return Err(CheckpointError::NegativeVariance {
                tensor: spec.name,
                index,
                value,
            });
        }
    }
    Ok(())
}

fn finite(tensors: &Tensors) -> Result<(), CheckpointError> {
    for (name, array) in tensors {
        if let Some((index, &value)) = array.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(CheckpointError::NonFinite {
                tensor: name.clone(),
                index,
                value,
            });
        }
    }
    Ok(())
}

/// Checks the scales of every quantized layer and that each weight is
/// exactly `scale * code` for an allowed code.
fn quantized_layers(
    model: &Model,
    tensors: &Tensors,
    quant: &QuantSpec,
) -> Result<(), CheckpointError> {
    for (layer, spec) in &quant.layers {
        let out_channels = match model.node(layer).map(|n| &n.op) {
            Some(Op::Conv2d(conv)) => conv.out_channels,
            Some(Op::Linear { out_features, .. }) => *out_features,
            _ => {
                return Err(CheckpointError::UnknownQuantLayer {
                    layer: layer.clone(),
                })
            }
        };
        let (expected, granularity) = match quant.granularity {
            Granularity::PerChannel => (out_channels, "per_channel"),
            Granularity::PerTensor => (1, "per_tensor"),
        };
        if spec.scales.len() != expected {
            return Err(CheckpointError::ScaleCount {
                layer: layer.clone(),
                expected,
                actual: spec.scales.len(),
                granularity,
            });
        }
        if let Some((index, &value)) = spec
            .scales
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s > 0.0))
        {
            return Err(CheckpointError::InvalidScale {
                layer: layer.clone(),
                index,
                value,
            });
        }

        // `tensor_set` ran first, so the weight exists with `out_channels` rows.
        let weight = &tensors[&format!("{layer}.weight")];
        let per_row = weight.len() / out_channels;
        let mut off = 0;
        let mut first_off = None;
        for (index, &value) in weight.iter().enumerate() {
            let scale = spec.scales[if expected == 1 { 0 } else { index / per_row }];
            if !on_level(value, scale, quant.bits) {
                off += 1;
                first_off.get_or_insert((index, value, scale));
            }
        }
        if let Some((index, value, scale)) = first_off {
            return Err(CheckpointError::OffLevel {
                layer: layer.clone(),
                count: off,
                total: weight.len(),
                bits: match quant.bits {
                    Bits::Binary => "binary",
                    Bits::Ternary => "ternary",
                },
                index,
                value,
                scale,
            });
        }
    }
    Ok(())
}

/// Tells whether `value` equals `scale * code` exactly in f32 for a code of `bits`.
fn on_level(value: f32, scale: f32, bits: Bits) -> bool {
    let magnitude_ok = value == scale || value == -scale;
    match bits {
        Bits::Binary => magnitude_ok,
        Bits::Ternary => magnitude_ok || value == 0.0,
    }
}
