//! Lowering of nodes with parameters: convolutions (packed or f32), unfolded BatchNorm and
//! Linear. Every tensor is checked for presence, shape and finite values here, once, so the
//! run loop can index without checks.

use rpr_core::graph::{Conv2d, Node};
use rpr_core::pack::{padded_k, ternary3_to_ternary2, Encoding};
use rpr_export::packed::{FormatError, RprFile, TensorDType};

use super::{FloatConv, Linear, PackedConv, PackedWeights, Shape, StepOp};
use crate::error::EngineError;
use crate::ops::float_conv::FloatConvWeights;
use crate::ops::geometry::ConvGeometry;

/// Lowers a convolution to a packed or a float step, depending on how the file stores
/// `{node}.weight`. Returns the step and its output shape.
pub(crate) fn lower_conv(
    file: &RprFile,
    node: &Node,
    conv: &Conv2d,
    [c, h, w]: [usize; 3],
    relu: bool,
) -> Result<(StepOp, Shape), EngineError> {
    if c != conv.in_channels {
        return Err(EngineError::invalid(
            &node.name,
            format!(
                "conv expects {} input channels, its input has {c}",
                conv.in_channels
            ),
        ));
    }
    if conv.groups == 0
        || !c.is_multiple_of(conv.groups)
        || !conv.out_channels.is_multiple_of(conv.groups)
    {
        return Err(EngineError::invalid(
            &node.name,
            format!("groups = {} must divide the channel counts", conv.groups),
        ));
    }
    let geom = ConvGeometry::new(
        c,
        [h, w],
        conv.kernel,
        conv.stride,
        conv.padding,
        conv.dilation,
    )
    .ok_or_else(|| {
        EngineError::invalid(
            &node.name,
            format!(
                "kernel {:?} with dilation {:?} does not fit a {h}x{w} input",
                conv.kernel, conv.dilation
            ),
        )
    })?;
    let shape = Shape::Map {
        c: conv.out_channels,
        h: geom.out_h,
        w: geom.out_w,
    };

    let weight_name = format!("{}.weight", node.name);
    let info = file
        .tensor_info(&weight_name)
        .map_err(|_| missing(node, &weight_name))?;
    let expected = [
        conv.out_channels,
        c / conv.groups,
        conv.kernel[0],
        conv.kernel[1],
    ];
    if info.shape != expected {
        return Err(shape_error(node, &weight_name, &expected, &info.shape));
    }

    let op = match info.dtype {
        TensorDType::Packed(encoding) => {
            if conv.groups != 1 {
                return Err(EngineError::unsupported(
                    &node.name,
                    format!("packed conv with groups = {}", conv.groups),
                ));
            }
            StepOp::PackedConv(Box::new(lower_packed(
                file, node, conv, geom, encoding, relu,
            )?))
        }
        TensorDType::F32 => {
            let weight = f32_tensor(file, node, &weight_name, expected.iter().product())?;
            let bias = optional_bias(file, node, conv.out_channels, conv.bias)?;
            let weights = FloatConvWeights::from_oihw(weight, expected, conv.groups, bias);
            StepOp::FloatConv(Box::new(FloatConv {
                geom,
                weights,
                relu,
            }))
        }
    };
    Ok((op, shape))
}

fn lower_packed(
    file: &RprFile,
    node: &Node,
    conv: &Conv2d,
    geom: ConvGeometry,
    encoding: Encoding,
    relu: bool,
) -> Result<PackedConv, EngineError> {
    let weight_name = format!("{}.weight", node.name);
    let k = geom.k(conv.in_channels);
    let view = file.packed(&weight_name)?;
    if view.rows != conv.out_channels || view.k != k {
        return Err(shape_error(
            node,
            &weight_name,
            &[conv.out_channels, k],
            &[view.rows, view.k],
        ));
    }
    // Checked once here, so that the implicit-GEMM kernels need not scan the
    // codes on every call.
    view.validate().map_err(|error| {
        EngineError::invalid(
            &node.name,
            format!("packed weights `{weight_name}` are invalid: {error}; re-export the model"),
        )
    })?;
    let (encoding, weights) = match encoding {
        Encoding::Ternary3 => {
            let expanded = ternary3_to_ternary2(view).map_err(|error| {
                EngineError::invalid(
                    &node.name,
                    format!("cannot expand base-3 weights `{weight_name}`: {error}"),
                )
            })?;
            (Encoding::Ternary2, PackedWeights::Owned(expanded))
        }
        other => (other, PackedWeights::InFile(weight_name)),
    };
    let scale = f32_tensor(
        file,
        node,
        &format!("{}.scale", node.name),
        conv.out_channels,
    )?
    .to_vec();
    let bias = f32_tensor(
        file,
        node,
        &format!("{}.bias", node.name),
        conv.out_channels,
    )?
    .to_vec();
    Ok(PackedConv {
        geom,
        out_channels: conv.out_channels,
        encoding,
        weights,
        kp: padded_k(k),
        scale,
        bias,
        relu,
    })
}

/// Lowers an unfolded BatchNorm to `x * scale + shift` with eval-mode running statistics.
pub(crate) fn lower_batch_norm(
    file: &RprFile,
    node: &Node,
    channels: usize,
    eps: f32,
    relu: bool,
) -> Result<StepOp, EngineError> {
    let get = |suffix: &str| f32_tensor(file, node, &format!("{}.{suffix}", node.name), channels);
    let (gamma, beta, mean, var) = (
        get("weight")?,
        get("bias")?,
        get("running_mean")?,
        get("running_var")?,
    );
    let mut scale = Vec::with_capacity(channels);
    let mut shift = Vec::with_capacity(channels);
    for c in 0..channels {
        let denominator = (var[c] + eps).sqrt();
        if denominator.is_nan() || denominator <= 0.0 {
            return Err(EngineError::invalid(
                &node.name,
                format!("running_var[{c}] + eps = {} is not positive", var[c] + eps),
            ));
        }
        let s = gamma[c] / denominator;
        scale.push(s);
        shift.push(beta[c] - mean[c] * s);
    }
    Ok(StepOp::Affine { scale, shift, relu })
}

/// Lowers a fully connected layer.
pub(crate) fn lower_linear(
    file: &RprFile,
    node: &Node,
    in_features: usize,
    out_features: usize,
    bias: bool,
) -> Result<StepOp, EngineError> {
    let weight_name = format!("{}.weight", node.name);
    let shape = file
        .tensor_shape(&weight_name)
        .map_err(|_| missing(node, &weight_name))?;
    if shape != [out_features, in_features] {
        return Err(shape_error(
            node,
            &weight_name,
            &[out_features, in_features],
            shape,
        ));
    }
    let weight = f32_tensor(file, node, &weight_name, out_features * in_features)?.to_vec();
    let bias = optional_bias(file, node, out_features, bias)?;
    Ok(StepOp::Linear(Linear { weight, bias }))
}

/// Reads `{node}.bias`: required if `declared`, else zeros when absent. Export may add a bias
/// to a conv declared without one when it folds a BatchNorm into it.
fn optional_bias(
    file: &RprFile,
    node: &Node,
    channels: usize,
    declared: bool,
) -> Result<Vec<f32>, EngineError> {
    let name = format!("{}.bias", node.name);
    match file.tensor_info(&name) {
        Ok(_) => Ok(f32_tensor(file, node, &name, channels)?.to_vec()),
        Err(FormatError::TensorNotFound { .. }) if !declared => Ok(vec![0.0; channels]),
        Err(_) => Err(missing(node, &name)),
    }
}

/// Reads an f32 tensor of exactly `len` finite values.
fn f32_tensor<'f>(
    file: &'f RprFile,
    node: &Node,
    name: &str,
    len: usize,
) -> Result<&'f [f32], EngineError> {
    let values = match file.tensor_f32(name) {
        Ok(values) => values,
        Err(FormatError::TensorNotFound { .. }) => return Err(missing(node, name)),
        Err(other) => return Err(other.into()),
    };
    if values.len() != len {
        return Err(EngineError::TensorShape {
            node: node.name.clone(),
            tensor: name.to_owned(),
            expected: format!("{len} values"),
            found: format!("{} values", values.len()),
        });
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(EngineError::invalid(&node.name, format!("tensor `{name}` contains the non-finite value {} at index {index}; re-export the model", values[index])));
    }
    Ok(values)
}

fn missing(node: &Node, tensor: &str) -> EngineError {
    EngineError::MissingTensor {
        node: node.name.clone(),
        tensor: tensor.to_owned(),
    }
}

fn shape_error(node: &Node, tensor: &str, expected: &[usize], found: &[usize]) -> EngineError {
    EngineError::TensorShape {
        node: node.name.clone(),
        tensor: tensor.to_owned(),
        expected: format!("shape {expected:?}"),
        found: format!("shape {found:?}"),
    }
}
