//! Lowering of a validated `.rpr` model description to engine steps, with ReLU fusion and
//! a check of every tensor the steps read.

use std::collections::HashMap;

use rpr_core::graph::{Model, Node, Op, Pool2d, INPUT};
use rpr_export::packed::RprFile;

use super::conv::{lower_batch_norm, lower_conv, lower_linear};
use super::fuse::fuse_residual_adds;
use super::{Program, Shape, Step, StepOp, TensorId, TensorMeta};
use crate::error::EngineError;
use crate::ops::geometry::pool_out_size;
use crate::ops::pool::PoolGeometry;

/// Lowers the model of `file`, checking that every node is supported and every tensor it reads
/// is present with the right shape.
pub(crate) fn build(file: &RprFile) -> Result<Program, EngineError> {
    let model = file.model();
    let described = model.infer_shapes()?;
    let mut builder = Builder {
        file,
        tensors: Vec::new(),
        ids: HashMap::new(),
        steps: Vec::new(),
    };

    let [c, h, w] = model.input_shape;
    let input = builder.add_tensor(INPUT, Shape::Map { c, h, w }, false);
    let fused = fused_relus(model);

    for node in &model.nodes {
        if fused.values().any(|relu| *relu == node.name) {
            continue;
        }
        let relu = fused.get(node.name.as_str()).map(String::as_str);
        builder.lower(node, relu)?;
    }

    let output = *builder.ids.get(model.output.as_str()).ok_or_else(|| {
        EngineError::invalid(
            &model.output,
            "the model output is not produced by any node",
        )
    })?;
    for meta in &builder.tensors {
        let expected = described.get(&meta.name).ok_or_else(|| {
            EngineError::invalid(
                &meta.name,
                "the model description has no shape for this tensor",
            )
        })?;
        if *expected != meta.shape.dims() {
            return Err(EngineError::invalid(
                &meta.name,
                format!(
                    "engine computed shape {:?}, the model description {expected:?}",
                    meta.shape.dims()
                ),
            ));
        }
    }
    let mut steps = builder.steps;
    fuse_residual_adds(&mut steps, output);
    Ok(Program {
        tensors: builder.tensors,
        steps,
        input,
        output,
    })
}

/// Maps each conv, add or BatchNorm node whose only consumer is a ReLU to that ReLU's name.
/// The model output is never fused away, because its value must stay observable.
fn fused_relus(model: &Model) -> HashMap<&str, String> {
    let mut fused = HashMap::new();
    for node in &model.nodes {
        if !matches!(node.op, Op::Conv2d(_) | Op::Add | Op::BatchNorm { .. })
            || node.name == model.output
        {
            continue;
        }
        let consumers = model.consumers(&node.name);
        if let [only] = consumers.as_slice() {
            if only.op == Op::Relu && only.inputs.len() == 1 {
                fused.insert(node.name.as_str(), only.name.clone());
            }
        }
    }
    fused
}

struct Builder<'a> {
    file: &'a RprFile,
    tensors: Vec<TensorMeta>,
    ids: HashMap<String, TensorId>,
    steps: Vec<Step>,
}

impl Builder<'_> {
    fn add_tensor(&mut self, name: &str, shape: Shape, nonnegative: bool) -> TensorId {
        // A non-negative tensor may use a signed calibration too: its codes then stay in 0..=127.
        let u8_scale = self
            .file
            .activation_quant(name)
            .map(|quant| quant.scale)
            .filter(|scale| nonnegative && scale.is_finite() && *scale > 0.0);
        let id = self.tensors.len();
        self.tensors.push(TensorMeta {
            name: name.to_owned(),
            shape,
            nonnegative,
            u8_scale,
        });
        self.ids.insert(name.to_owned(), id);
        id
    }

    fn input(&self, node: &Node, index: usize) -> Result<TensorId, EngineError> {
        let name = node.inputs.get(index).ok_or_else(|| {
            EngineError::invalid(
                &node.name,
                format!(
                    "needs at least {} inputs, has {}",
                    index + 1,
                    node.inputs.len()
                ),
            )
        })?;
        self.ids.get(name).copied().ok_or_else(|| {
            EngineError::invalid(
                &node.name,
                format!("input `{name}` is not produced by an earlier node"),
            )
        })
    }

    fn map_shape(&self, node: &Node, id: TensorId) -> Result<(usize, usize, usize), EngineError> {
        match self.tensors[id].shape {
            Shape::Map { c, h, w } => Ok((c, h, w)),
            Shape::Flat(_) => Err(EngineError::invalid(
                &node.name,
                format!(
                    "input `{}` is a flat vector, expected a feature map",
                    self.tensors[id].name
                ),
            )),
        }
    }

    /// Lowers one node; `relu` names the fused ReLU node whose tensor the step writes.
    fn lower(&mut self, node: &Node, relu: Option<&str>) -> Result<(), EngineError> {
        let fuse = relu.is_some();
        let first = self.input(node, 0)?;
        let first_nonnegative = self.tensors[first].nonnegative;
        let (op, shape, inputs, nonnegative) = match &node.op {
            Op::Conv2d(conv) => {
                let (c, h, w) = self.map_shape(node, first)?;
                let (op, out_shape) = lower_conv(self.file, node, conv, [c, h, w], fuse)?;
                (op, out_shape, vec![first], fuse)
            }
            Op::BatchNorm { channels, eps } => {
                let (c, h, w) = self.map_shape(node, first)?;
                if c != *channels {
                    return Err(EngineError::invalid(
                        &node.name,
                        format!("BatchNorm over {channels} channels reads {c}"),
                    ));
                }
                let op = lower_batch_norm(self.file, node, *channels, *eps, fuse)?;
                (op, Shape::Map { c, h, w }, vec![first], fuse)
            }
            Op::Relu => (StepOp::Relu, self.tensors[first].shape, vec![first], true),
            Op::Add => {
                let inputs = (0..node.inputs.len())
                    .map(|i| self.input(node, i))
                    .collect::<Result<Vec<_>, _>>()?;
                let shape = self.tensors[first].shape;
                if inputs.len() < 2 || inputs.iter().any(|&i| self.tensors[i].shape != shape) {
                    return Err(EngineError::invalid(
                        &node.name,
                        "Add needs two or more inputs of equal shape",
                    ));
                }
                let all_nonnegative = inputs.iter().all(|&i| self.tensors[i].nonnegative);
                (
                    StepOp::Add { relu: fuse },
                    shape,
                    inputs,
                    fuse || all_nonnegative,
                )
            }
            Op::MaxPool(pool) | Op::AvgPool(pool) => {
                let (c, h, w) = self.map_shape(node, first)?;
                let geom = pool_geometry(node, pool, [c, h, w])?;
                let shape = Shape::Map {
                    c,
                    h: geom.out_hw[0],
                    w: geom.out_hw[1],
                };
                let op = if matches!(node.op, Op::MaxPool(_)) {
                    StepOp::MaxPool(geom)
                } else {
                    StepOp::AvgPool(geom)
                };
                (op, shape, vec![first], first_nonnegative)
            }
            Op::GlobalAvgPool => {
                let (c, _, _) = self.map_shape(node, first)?;
                (
                    StepOp::GlobalAvgPool,
                    Shape::Map { c, h: 1, w: 1 },
                    vec![first],
                    first_nonnegative,
                )
            }
            Op::Concat => self.lower_concat(node)?,
            Op::Flatten => {
                let len = self.tensors[first].shape.len();
                (
                    StepOp::Flatten,
                    Shape::Flat(len),
                    vec![first],
                    first_nonnegative,
                )
            }
            Op::Linear {
                in_features,
                out_features,
                bias,
            } => {
                let shape = self.tensors[first].shape;
                let flat_ok = match shape {
                    Shape::Flat(n) => n == *in_features,
                    Shape::Map { c, h: 1, w: 1 } => c == *in_features,
                    Shape::Map { .. } => false,
                };
                if !flat_ok {
                    return Err(EngineError::invalid(
                        &node.name,
                        format!(
                            "Linear expects {in_features} input features, its input has shape {:?}",
                            shape.dims()
                        ),
                    ));
                }
                let op = lower_linear(self.file, node, *in_features, *out_features, *bias)?;
                (op, Shape::Flat(*out_features), vec![first], false)
            }
            Op::Upsample { size } => {
                let (c, _, _) = self.map_shape(node, first)?;
                if *size == 0 {
                    return Err(EngineError::invalid(
                        &node.name,
                        "Upsample size must be positive",
                    ));
                }
                (
                    StepOp::Upsample,
                    Shape::Map {
                        c,
                        h: *size,
                        w: *size,
                    },
                    vec![first],
                    first_nonnegative,
                )
            }
        };

        let name = relu.unwrap_or(&node.name);
        let output = self.add_tensor(name, shape, nonnegative);
        self.steps.push(Step {
            node: node.name.clone(),
            inputs,
            output,
            op,
        });
        Ok(())
    }

    fn lower_concat(
        &self,
        node: &Node,
    ) -> Result<(StepOp, Shape, Vec<TensorId>, bool), EngineError> {
        let inputs = (0..node.inputs.len())
            .map(|i| self.input(node, i))
            .collect::<Result<Vec<_>, _>>()?;
        let (_, h, w) = self.map_shape(node, inputs[0])?;
        let mut channels = 0;
        for &id in &inputs {
            let (c, ih, iw) = self.map_shape(node, id)?;
            if (ih, iw) != (h, w) {
                return Err(EngineError::invalid(
                    &node.name,
                    format!(
                        "Concat input `{}` is {ih}x{iw}, expected {h}x{w}",
                        self.tensors[id].name
                    ),
                ));
            }
            channels += c;
        }
        let nonnegative = inputs.iter().all(|&i| self.tensors[i].nonnegative);
        Ok((
            StepOp::Concat,
            Shape::Map { c: channels, h, w },
            inputs,
            nonnegative,
        ))
    }
}

fn pool_geometry(
    node: &Node,
    pool: &Pool2d,
    [c, h, w]: [usize; 3],
) -> Result<PoolGeometry, EngineError> {
    let size = |axis: usize, len: usize| {
        pool_out_size(
            len,
            pool.kernel[axis],
            pool.stride[axis],
            pool.padding[axis],
            pool.ceil_mode,
        )
    };
    let (Some(out_h), Some(out_w)) = (size(0, h), size(1, w)) else {
        return Err(EngineError::invalid(
            &node.name,
            format!(
                "pooling window {:?} does not fit a {h}x{w} input",
                pool.kernel
            ),
        ));
    };
    if pool.padding[0] * 2 > pool.kernel[0] || pool.padding[1] * 2 > pool.kernel[1] {
        return Err(EngineError::invalid(
            &node.name,
            "pooling padding must be at most half the kernel size",
        ));
    }
    Ok(PoolGeometry {
        channels: c,
        in_hw: [h, w],
        out_hw: [out_h, out_w],
        kernel: pool.kernel,
        stride: pool.stride,
        padding: pool.padding,
    })
}
