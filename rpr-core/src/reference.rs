//! Naive f32 NCHW executor of a [`Model`], used as the test oracle for the
//! inference engine and for activation calibration.
//!
//! Every op is a direct loop over its definition in PyTorch (eval mode:
//! BatchNorm uses running statistics). Convolution goes through im2col and
//! a plain matrix product so that a CIFAR ResNet runs quickly even in a
//! debug build.

mod conv;
mod error;
mod ops;
mod pool;
mod upsample;

use std::collections::{BTreeMap, HashMap};

use ndarray::{Array2, ArrayD, ArrayView4, ArrayViewD, Ix1, Ix2, Ix4};

use crate::checkpoint::Tensors;
use crate::graph::{GraphError, Model, Node, Op, ParamKind, INPUT};

pub use error::ReferenceError;

/// Runs `model` on an NCHW `input` batch and returns the logits `[n, classes]`.
pub fn run(
    model: &Model,
    tensors: &Tensors,
    input: ArrayView4<f32>,
) -> Result<Array2<f32>, ReferenceError> {
    run_with_observer(model, tensors, input, &mut |_, _| {})
}

/// Runs `model` like [`run`] and calls `observer` with every node's name
/// and output (batch axis included), in node order.
///
/// Checks the model, the input shape and every parameter the executor
/// reads before computing anything. `num_batches_tracked` is not read and
/// may be absent, and tensors the model does not use are ignored.
pub fn run_with_observer(
    model: &Model,
    tensors: &Tensors,
    input: ArrayView4<f32>,
    observer: &mut dyn FnMut(&str, ArrayViewD<f32>),
) -> Result<Array2<f32>, ReferenceError> {
    let shapes = model.infer_shapes()?;
    let (n, c, h, w) = input.dim();
    if [c, h, w] != model.input_shape {
        return Err(ReferenceError::InputShape {
            expected: model.input_shape,
            actual: [n, c, h, w],
        });
    }
    check_parameters(model, tensors)?;
    for (tensor, shape) in &shapes {
        let elements = shape.iter().try_fold(n, |acc, &d| acc.checked_mul(d));
        if elements.is_none() {
            return Err(GraphError::SizeOverflow {
                node: tensor.clone(),
            }
            .into());
        }
    }
    let output_shape = &shapes[&model.output];
    if output_shape.len() != 1 {
        return Err(ReferenceError::OutputRank {
            output: model.output.clone(),
            shape: output_shape.clone(),
        });
    }

    // Drop each activation after its last reader to bound memory.
    let mut last_use: HashMap<&str, usize> = HashMap::new();
    for (index, node) in model.nodes.iter().enumerate() {
        for name in &node.inputs {
            last_use.insert(name.as_str(), index);
        }
    }

    let mut values: HashMap<&str, ArrayD<f32>> = HashMap::new();
    values.insert(INPUT, input.to_owned().into_dyn());
    for (index, node) in model.nodes.iter().enumerate() {
        let inputs: Vec<ArrayViewD<f32>> = node
            .inputs
            .iter()
            .map(|name| values[name.as_str()].view())
            .collect();
        let output = execute(node, &inputs, tensors, &shapes);
        drop(inputs);
        observer(&node.name, output.view());
        values.insert(node.name.as_str(), output);
        for name in &node.inputs {
            if last_use.get(name.as_str()) == Some(&index) && name != &model.output {
                values.remove(name.as_str());
            }
        }
    }

    let logits = values
        .remove(model.output.as_str())
        .expect("the output node was executed");
    Ok(logits
        .into_dimensionality::<Ix2>()
        .expect("output shape inference gave [features]"))
}

/// Checks that every tensor the executor reads exists with its model shape.
fn check_parameters(model: &Model, tensors: &Tensors) -> Result<(), ReferenceError> {
    for spec in model.parameters() {
        if spec.kind == ParamKind::BnNumBatchesTracked {
            continue;
        }
        let Some(tensor) = tensors.get(&spec.name) else {
            return Err(ReferenceError::MissingTensor {
                node: spec.node,
                tensor: spec.name,
            });
        };
        if tensor.shape() != spec.shape.as_slice() {
            return Err(ReferenceError::TensorShape {
                node: spec.node,
                tensor: spec.name,
                expected: spec.shape,
                actual: tensor.shape().to_vec(),
            });
        }
    }
    Ok(())
}

/// Computes one node. `run_with_observer` checked the graph shapes and
/// every parameter shape beforehand, so the dimensionality conversions
/// below cannot fail.
fn execute(
    node: &Node,
    inputs: &[ArrayViewD<f32>],
    tensors: &Tensors,
    shapes: &BTreeMap<String, Vec<usize>>,
) -> ArrayD<f32> {
    let param = |suffix: &str| &tensors[&format!("{}.{suffix}", node.name)];
    let out_shape = &shapes[&node.name];
    let spatial = || [out_shape[1], out_shape[2]];
    let output = match &node.op {
        Op::Conv2d(conv) => {
            let weight = param("weight")
                .view()
                .into_dimensionality::<Ix4>()
                .expect("checked rank 4");
            let bias = conv.bias.then(|| {
                param("bias")
                    .view()
                    .into_dimensionality::<Ix1>()
                    .expect("checked rank 1")
            });
            conv::conv2d(as4(&inputs[0]), conv, weight, bias, spatial()).into_dyn()
        }
        Op::BatchNorm { eps, .. } => {
            let vector = |suffix: &str| {
                param(suffix)
                    .view()
                    .into_dimensionality::<Ix1>()
                    .expect("checked rank 1")
            };
            let bn = ops::BatchNormParams {
                weight: vector("weight"),
                bias: vector("bias"),
                running_mean: vector("running_mean"),
                running_var: vector("running_var"),
                eps: *eps,
            };
            ops::batch_norm(as4(&inputs[0]), &bn).into_dyn()
        }
        Op::Relu => ops::relu(inputs[0].view()),
        Op::Add => ops::add(inputs),
        Op::MaxPool(pool) => pool::max_pool(as4(&inputs[0]), pool, spatial()).into_dyn(),
        Op::AvgPool(pool) => pool::avg_pool(as4(&inputs[0]), pool, spatial()).into_dyn(),
        Op::GlobalAvgPool => pool::global_avg_pool(as4(&inputs[0])).into_dyn(),
        Op::Concat => ops::concat(inputs),
        Op::Flatten => ops::flatten(inputs[0].view()).into_dyn(),
        Op::Linear { bias, .. } => {
            let x = inputs[0]
                .view()
                .into_dimensionality::<Ix2>()
                .expect("checked [n, features]");
            let weight = param("weight")
                .view()
                .into_dimensionality::<Ix2>()
                .expect("checked rank 2");
            let bias = bias.then(|| {
                param("bias")
                    .view()
                    .into_dimensionality::<Ix1>()
                    .expect("checked rank 1")
            });
            ops::linear(x, weight, bias).into_dyn()
        }
        Op::Upsample { size } => upsample::bilinear(as4(&inputs[0]), *size).into_dyn(),
    };
    debug_assert_eq!(
        &output.shape()[1..],
        out_shape.as_slice(),
        "node {}",
        node.name
    );
    output
}

fn as4<'a>(x: &ArrayViewD<'a, f32>) -> ArrayView4<'a, f32> {
    x.clone()
        .into_dimensionality::<Ix4>()
        .expect("shape inference checked [c, h, w]")
}
