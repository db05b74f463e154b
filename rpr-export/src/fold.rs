//! BatchNorm folding and weight-code extraction: turns a checkpoint into the
//! graph and tensors stored in an `.rpr` file.
//!
//! A BatchNorm node `B` is folded into conv `X` when `B` reads only `X` and is
//! the only consumer of `X`. With `m = gamma / sqrt(var + eps)`, the conv
//! output becomes `m * (conv(x) + b) + (beta - m * mean)`:
//! - quantized `X` keeps its codes; `X.scale = weight_scale * m` and
//!   `X.bias = m * b + beta - m * mean`;
//! - float `X` gets `m` multiplied into its weights and the same bias.
//!
//! Consumers of `B` then read `X`, which now produces `B`'s values.

use std::collections::BTreeMap;

use ndarray::{ArrayD, Axis};
use rpr_core::checkpoint::{QuantSpec, Tensors};
use rpr_core::graph::{Conv2d, Model, Node, Op};
use rpr_core::pack::{self, Encoding};
use rpr_core::quant::{Bits, Granularity};

use crate::error::ExportError;
use crate::packed::TensorDType;

/// A tensor ready to be written: its storage type, logical shape and bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportTensor {
    pub name: String,
    pub dtype: TensorDType,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

/// Result of folding a checkpoint.
#[derive(Clone, Debug)]
pub struct FoldedModel {
    pub model: Model,
    /// Tensors in node order.
    pub tensors: Vec<ExportTensor>,
    /// Folded BatchNorm node name to the conv that now produces its values.
    pub renamed: BTreeMap<String, String>,
}

impl FoldedModel {
    /// Name of the tensor that carries the values of original tensor `name`
    /// in the folded graph, or `None` if folding removed it (a conv output
    /// that only fed a folded BatchNorm).
    pub fn folded_name<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        if let Some(conv) = self.renamed.get(name) {
            return Some(conv);
        }
        if self.renamed.values().any(|conv| conv == name) {
            return None;
        }
        Some(name)
    }
}

/// Per-channel affine map `y = mult * x + add` of a folded BatchNorm.
struct ChannelAffine {
    mult: Vec<f64>,
    add: Vec<f64>,
}

/// Folds BatchNorm into convs and packs quantized conv weights with `encoding`
/// (which must suit `quant.bits`).
pub fn fold(model: &Model, tensors: &Tensors, quant: &QuantSpec, encoding: Encoding) -> Result<FoldedModel, ExportError> {
    for layer in quant.layers.keys() {
        match model.node(layer).map(|node| &node.op) {
            Some(Op::Conv2d(_) | Op::Linear { .. }) => {}
            Some(op) => return Err(ExportError::NotQuantizable { layer: layer.clone(), op: op_name(op) }),
            None => return Err(ExportError::MissingTensor { name: format!("{layer}.weight") }),
        }
    }

    let folds = foldable_batchnorms(model);
    let renamed: BTreeMap<String, String> = folds.iter().map(|(conv, bn)| (bn.name.clone(), conv.clone())).collect();

    let mut nodes = Vec::with_capacity(model.nodes.len());
    let mut out = Vec::new();
    for node in &model.nodes {
        if renamed.contains_key(&node.name) {
            continue;
        }
        let mut node = node.clone();
        for input in &mut node.inputs {
            if let Some(conv) = renamed.get(input) {
                *input = conv.clone();
            }
        }
        match &mut node.op {
            Op::Conv2d(conv) => {
                let affine = match folds.get(&node.name) {
                    Some(bn) => Some(batchnorm_affine(bn, tensors)?),
                    None => None,
                };
                fold_conv(&node.name, conv, affine, tensors, quant, encoding, &mut out)?;
            }
            Op::Linear { in_features, out_features, bias } => {
                // Linear layers stay f32 in format 2.x; a quantized one stores
                // its effective weights `scale * code`, which are exact in f32.
                let weight = get(tensors, &format!("{}.weight", node.name), &[*out_features, *in_features])?;
                out.push(f32_tensor(format!("{}.weight", node.name), weight));
                if *bias {
                    let bias = get(tensors, &format!("{}.bias", node.name), &[*out_features])?;
                    out.push(f32_tensor(format!("{}.bias", node.name), bias));
                }
            }
            Op::BatchNorm { channels, .. } => {
                for suffix in ["weight", "bias", "running_mean", "running_var"] {
                    let name = format!("{}.{suffix}", node.name);
                    let value = get(tensors, &name, &[*channels])?;
                    out.push(f32_tensor(name, value));
                }
            }
            _ => {}
        }
        nodes.push(node);
    }

    let output = renamed.get(&model.output).cloned().unwrap_or_else(|| model.output.clone());
    let model = Model { nodes, output, ..model.clone() };
    Ok(FoldedModel { model, tensors: out, renamed })
}

/// Maps each conv name to the BatchNorm node that can be folded into it.
fn foldable_batchnorms(model: &Model) -> BTreeMap<String, Node> {
    let mut folds = BTreeMap::new();
    for node in &model.nodes {
        let Op::BatchNorm { channels, .. } = node.op else { continue };
        let [input] = node.inputs.as_slice() else { continue };
        let Some(producer) = model.node(input) else { continue };
        let Op::Conv2d(conv) = producer.op else { continue };
        let only_consumer = model.consumers(input).len() == 1;
        if only_consumer && conv.out_channels == channels && model.output != *input {
            folds.insert(input.clone(), node.clone());
        }
    }
    folds
}

fn batchnorm_affine(bn: &Node, tensors: &Tensors) -> Result<ChannelAffine, ExportError> {
    let Op::BatchNorm { channels, eps } = bn.op else {
        unreachable!("foldable_batchnorms only returns BatchNorm nodes")
    };
    let param = |suffix: &str| get(tensors, &format!("{}.{suffix}", bn.name), &[channels]);
    let (gamma, beta, mean, var) = (param("weight")?, param("bias")?, param("running_mean")?, param("running_var")?);
    let mut mult = Vec::with_capacity(channels);
    let mut add = Vec::with_capacity(channels);
    for c in 0..channels {
        let m = f64::from(gamma[c]) / (f64::from(var[c]) + f64::from(eps)).sqrt();
        mult.push(m);
        add.push(f64::from(beta[c]) - m * f64::from(mean[c]));
    }
    Ok(ChannelAffine { mult, add })
}

fn fold_conv(
    name: &str,
    conv: &mut Conv2d,
    affine: Option<ChannelAffine>,
    tensors: &Tensors,
    quant: &QuantSpec,
    encoding: Encoding,
    out: &mut Vec<ExportTensor>,
) -> Result<(), ExportError> {
    let channels = conv.out_channels;
    let shape = [channels, conv.in_channels / conv.groups.max(1), conv.kernel[0], conv.kernel[1]];
    let weight = get(tensors, &format!("{name}.weight"), &shape)?;
    let bias: Vec<f64> = if conv.bias {
        get(tensors, &format!("{name}.bias"), &[channels])?.iter().map(|&b| f64::from(b)).collect()
    } else {
        vec![0.0; channels]
    };
    let (mult, add) = match &affine {
        Some(affine) => (affine.mult.clone(), affine.add.clone()),
        None => (vec![1.0; channels], vec![0.0; channels]),
    };
    let folded_bias: Vec<f32> = (0..channels).map(|c| (mult[c] * bias[c] + add[c]) as f32).collect();

    if let Some(layer) = quant.layers.get(name) {
        let scales = expand_scales(name, &layer.scales, quant.granularity, channels)?;
        let codes = weight_codes(name, weight, &scales, quant.bits)?;
        let rows = pack::conv_to_rows(codes.view());
        let packed = pack::pack(rows.view(), encoding)
            .map_err(|source| ExportError::Pack { layer: name.to_string(), source })?;
        out.push(ExportTensor {
            name: format!("{name}.weight"),
            dtype: TensorDType::Packed(encoding),
            shape: shape.to_vec(),
            bytes: packed.data,
        });
        let scale: Vec<f32> = (0..channels).map(|c| (f64::from(scales[c]) * mult[c]) as f32).collect();
        out.push(f32_vec(format!("{name}.scale"), vec![channels], &scale));
        out.push(f32_vec(format!("{name}.bias"), vec![channels], &folded_bias));
        conv.bias = true;
        return Ok(());
    }

    if affine.is_none() {
        out.push(f32_tensor(format!("{name}.weight"), weight));
        if conv.bias {
            out.push(f32_tensor(format!("{name}.bias"), get(tensors, &format!("{name}.bias"), &[channels])?));
        }
        return Ok(());
    }
    let mut folded = weight.clone();
    for (c, mut filter) in folded.axis_iter_mut(Axis(0)).enumerate() {
        filter.mapv_inplace(|w| (f64::from(w) * mult[c]) as f32);
    }
    out.push(f32_tensor(format!("{name}.weight"), &folded));
    out.push(f32_vec(format!("{name}.bias"), vec![channels], &folded_bias));
    conv.bias = true;
    Ok(())
}

pub(crate) fn expand_scales(layer: &str, scales: &[f32], granularity: Granularity, channels: usize) -> Result<Vec<f32>, ExportError> {
    let expected = match granularity {
        Granularity::PerTensor => 1,
        Granularity::PerChannel => channels,
    };
    if scales.len() != expected {
        return Err(ExportError::ScaleCount { layer: layer.to_string(), expected, found: scales.len() });
    }
    Ok(if expected == 1 { vec![scales[0]; channels] } else { scales.to_vec() })
}

/// Recovers integer codes from effective weights `scale[c] * code`, counting
/// weights that are off the grid or outside the alphabet.
pub(crate) fn weight_codes(
    layer: &str,
    weight: &ArrayD<f32>,
    scales: &[f32],
    bits: Bits,
) -> Result<ndarray::Array4<i8>, ExportError> {
    let shape: [usize; 4] = weight.shape().try_into().map_err(|_| ExportError::Shape {
        name: format!("{layer}.weight"),
        expected: vec![scales.len(), 0, 0, 0],
        found: weight.shape().to_vec(),
    })?;
    let per_channel = shape[1] * shape[2] * shape[3];
    let mut off_grid = 0usize;
    let mut first: Option<(usize, f32, f32)> = None;
    let mut codes = Vec::with_capacity(weight.len());
    // `iter` walks in logical row-major order, so `index` is the flat index.
    for (index, &value) in weight.iter().enumerate() {
        let scale = scales[index / per_channel.max(1)];
        let ratio = value / scale;
        let code = ratio.round();
        let allowed = match bits {
            Bits::Binary => code == 1.0 || code == -1.0,
            Bits::Ternary => (-1.0..=1.0).contains(&code),
        };
        // The checkpoint stores `scale * code` in f32, so `value / scale`
        // is within a few ulps of the code.
        let on_grid = scale > 0.0 && (ratio - code).abs() <= 1e-4;
        if allowed && on_grid {
            codes.push(code as i8);
        } else {
            off_grid += 1;
            first.get_or_insert((index, value, scale));
            codes.push(0);
        }
    }
    if let Some((index, value, scale)) = first {
        return Err(ExportError::OffGrid { layer: layer.to_string(), bits, count: off_grid, index, value, scale });
    }
    Ok(ndarray::Array4::from_shape_vec(shape, codes).expect("one code per weight"))
}

fn get<'t>(tensors: &'t Tensors, name: &str, shape: &[usize]) -> Result<&'t ArrayD<f32>, ExportError> {
    let tensor = tensors.get(name).ok_or_else(|| ExportError::MissingTensor { name: name.to_string() })?;
    if tensor.shape() != shape {
        return Err(ExportError::Shape { name: name.to_string(), expected: shape.to_vec(), found: tensor.shape().to_vec() });
    }
    Ok(tensor)
}

fn f32_tensor(name: String, value: &ArrayD<f32>) -> ExportTensor {
    let values: Vec<f32> = value.iter().copied().collect();
    f32_vec(name, value.shape().to_vec(), &values)
}

fn f32_vec(name: String, shape: Vec<usize>, values: &[f32]) -> ExportTensor {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    ExportTensor { name, dtype: TensorDType::F32, shape, bytes }
}

pub(crate) fn op_name(op: &Op) -> String {
    op.tag().to_string()
}
