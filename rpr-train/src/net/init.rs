//! Initial parameter values, following torchvision's ResNet initialization.

use rpr_core::graph::{Model, Op, ParamKind, ParamSpec};
use tch::{Device, Kind, Tensor};

use crate::error::{Result, TrainError};

/// Draws the starting value of one parameter or buffer.
///
/// Convolutions get He-normal weights with fan-out (`std = sqrt(2 / (O*KH*KW))`),
/// linear layers `U(-1/sqrt(in), 1/sqrt(in))` for weight and bias, BatchNorm
/// weight 1 and bias 0, running statistics mean 0 and variance 1.
pub(super) fn initial_value(spec: &ParamSpec, model: &Model, device: Device) -> Result<Tensor> {
    let shape: Vec<i64> = spec.shape.iter().map(|&d| d as i64).collect();
    let options = (Kind::Float, device);
    let tensor = match spec.kind {
        ParamKind::ConvWeight => {
            let fan_out = spec.shape.first().copied().unwrap_or(1)
                * spec.shape.iter().skip(2).product::<usize>();
            let std = (2.0 / fan_out.max(1) as f64).sqrt();
            Tensor::randn(&shape, options) * std
        }
        ParamKind::ConvBias | ParamKind::BnBias | ParamKind::BnRunningMean => {
            Tensor::zeros(&shape, options)
        }
        ParamKind::BnWeight | ParamKind::BnRunningVar => Tensor::ones(&shape, options),
        ParamKind::BnNumBatchesTracked => Tensor::zeros(&shape, (Kind::Int64, device)),
        ParamKind::LinearWeight | ParamKind::LinearBias => {
            let fan_in = linear_in_features(spec, model)?;
            let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
            Tensor::rand(&shape, options) * (2.0 * bound) - bound
        }
    };
    Ok(tensor)
}

fn linear_in_features(spec: &ParamSpec, model: &Model) -> Result<usize> {
    let node_name = spec.name.rsplit_once('.').map(|(node, _)| node).unwrap_or(&spec.name);
    match model.node(node_name).map(|n| &n.op) {
        Some(Op::Linear { in_features, .. }) => Ok(*in_features),
        _ => Err(TrainError::Model(format!(
            "parameter `{}` is a linear parameter but node `{node_name}` is not a linear layer",
            spec.name
        ))),
    }
}
