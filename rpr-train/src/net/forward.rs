//! The forward pass: one libtorch call per graph node.

use std::collections::HashMap;

use rpr_core::graph::{Conv2d, Node, Op, Pool2d, INPUT};
use tch::Tensor;

use super::Network;
use crate::error::{Result, TrainError};

/// Effective weights that replace a node's stored `.weight` in the forward
/// pass, keyed by node name (the quantized layers during RPR, STE and INQ).
pub type WeightOverrides = HashMap<String, Tensor>;

/// Normalization mode of the BatchNorm nodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BatchNormMode {
    /// Batch statistics; running statistics move by `momentum` (PyTorch's
    /// convention: `running = (1 - momentum) * running + momentum * batch`)
    /// and `num_batches_tracked` counts up.
    Train { momentum: f64 },
    /// Running statistics.
    Eval,
}

impl BatchNormMode {
    /// PyTorch's default training mode.
    pub const TRAIN: BatchNormMode = BatchNormMode::Train { momentum: 0.1 };
}

impl Network {
    /// Runs the graph on an NCHW batch and returns the output node's tensor
    /// (the logits). Nodes named in `overrides` use that tensor as weight.
    pub fn forward(
        &self,
        input: &Tensor,
        bn: BatchNormMode,
        overrides: &WeightOverrides,
    ) -> Result<Tensor> {
        let mut values: HashMap<&str, Tensor> = HashMap::new();
        values.insert(INPUT, input.shallow_clone());
        for (index, node) in self.model.nodes.iter().enumerate() {
            let inputs = node
                .inputs
                .iter()
                .map(|name| {
                    values.get(name.as_str()).ok_or_else(|| {
                        TrainError::Model(format!(
                            "node `{}` reads `{name}`, which no earlier node produces",
                            node.name
                        ))
                    })
                })
                .collect::<Result<Vec<&Tensor>>>()?;
            let output = self.run_node(node, &inputs, bn, overrides)?;
            values.insert(node.name.as_str(), output);
            for released in &self.release_after[index] {
                values.remove(released.as_str());
            }
        }
        values.remove(self.model.output.as_str()).ok_or_else(|| {
            TrainError::Model(format!("output `{}` is not a node of the model", self.model.output))
        })
    }

    fn run_node(
        &self,
        node: &Node,
        inputs: &[&Tensor],
        bn: BatchNormMode,
        overrides: &WeightOverrides,
    ) -> Result<Tensor> {
        let wrap = |source| TrainError::Node { node: node.name.clone(), source };
        let single = || -> Result<&Tensor> {
            match inputs {
                [x] => Ok(*x),
                _ => Err(TrainError::Model(format!(
                    "node `{}` takes one input but lists {}",
                    node.name,
                    inputs.len()
                ))),
            }
        };
        match &node.op {
            Op::Conv2d(conv) => self.conv2d(node, single()?, conv, overrides),
            Op::BatchNorm { eps, .. } => self.batch_norm(node, single()?, *eps, bn),
            Op::Relu => single()?.f_relu().map_err(wrap),
            Op::Add => {
                let (first, rest) = inputs.split_first().ok_or_else(|| {
                    TrainError::Model(format!("add node `{}` has no inputs", node.name))
                })?;
                let mut sum = first.shallow_clone();
                for x in rest {
                    sum = sum.f_add(x).map_err(wrap)?;
                }
                Ok(sum)
            }
            Op::MaxPool(p) => max_pool(single()?, p).map_err(wrap),
            Op::AvgPool(p) => avg_pool(single()?, p).map_err(wrap),
            Op::GlobalAvgPool => single()?.f_adaptive_avg_pool2d([1, 1]).map_err(wrap),
            Op::Concat => Tensor::f_cat(inputs, 1).map_err(wrap),
            Op::Flatten => single()?.f_flatten(1, -1).map_err(wrap),
            Op::Linear { bias, .. } => {
                let weight = match overrides.get(&node.name) {
                    Some(w) => w.shallow_clone(),
                    None => self.param(&format!("{}.weight", node.name))?.shallow_clone(),
                };
                let bias = if *bias { Some(self.param(&format!("{}.bias", node.name))?) } else { None };
                single()?.f_linear(&weight, bias).map_err(wrap)
            }
            Op::Upsample { size } => {
                let size = *size as i64;
                single()?.f_upsample_bilinear2d([size, size], false, None, None).map_err(wrap)
            }
        }
    }

    fn conv2d(
        &self,
        node: &Node,
        x: &Tensor,
        conv: &Conv2d,
        overrides: &WeightOverrides,
    ) -> Result<Tensor> {
        let weight = match overrides.get(&node.name) {
            Some(w) => w.shallow_clone(),
            None => self.param(&format!("{}.weight", node.name))?.shallow_clone(),
        };
        let bias = if conv.bias { Some(self.param(&format!("{}.bias", node.name))?) } else { None };
        x.f_conv2d(
            &weight,
            bias,
            to_i64(conv.stride),
            to_i64(conv.padding),
            to_i64(conv.dilation),
            conv.groups as i64,
        )
        .map_err(|source| TrainError::Node { node: node.name.clone(), source })
    }

    fn batch_norm(&self, node: &Node, x: &Tensor, eps: f32, mode: BatchNormMode) -> Result<Tensor> {
        let key = |leaf: &str| format!("{}.{leaf}", node.name);
        let weight = self.param(&key("weight"))?;
        let bias = self.param(&key("bias"))?;
        let mean = self.param(&key("running_mean"))?;
        let var = self.param(&key("running_var"))?;
        let (training, momentum) = match mode {
            BatchNormMode::Train { momentum } => (true, momentum),
            BatchNormMode::Eval => (false, 0.0),
        };
        let wrap = |source| TrainError::Node { node: node.name.clone(), source };
        let y = x
            .f_batch_norm(
                Some(weight),
                Some(bias),
                Some(mean),
                Some(var),
                training,
                momentum,
                f64::from(eps),
                true,
            )
            .map_err(wrap)?;
        if training {
            let mut tracked = self.param(&key("num_batches_tracked"))?.shallow_clone();
            let _ = tch::no_grad(|| tracked.f_add_scalar_(1)).map_err(wrap)?;
        }
        Ok(y)
    }
}

fn to_i64(pair: [usize; 2]) -> [i64; 2] {
    [pair[0] as i64, pair[1] as i64]
}

fn max_pool(x: &Tensor, p: &Pool2d) -> Result<Tensor, tch::TchError> {
    x.f_max_pool2d(to_i64(p.kernel), to_i64(p.stride), to_i64(p.padding), [1, 1], p.ceil_mode)
}

fn avg_pool(x: &Tensor, p: &Pool2d) -> Result<Tensor, tch::TchError> {
    x.f_avg_pool2d(to_i64(p.kernel), to_i64(p.stride), to_i64(p.padding), p.ceil_mode, true, None)
}
