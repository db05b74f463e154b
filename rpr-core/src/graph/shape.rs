//! Shape inference with PyTorch's output-size formulas.
//!
//! Shapes are per sample, without the batch axis: `[c, h, w]` for feature
//! maps and `[features]` after `Flatten` or `Linear`. Structural checks
//! (names, ordering, input counts, hyperparameter ranges) run first, so
//! inference never indexes a missing tensor.

use std::collections::BTreeMap;

use super::{check, Conv2d, GraphError, Model, Node, Op, Pool2d, INPUT};

/// Computes the output length of a convolution along one axis, as
/// `torch.nn.Conv2d` does: `floor((n + 2p - d (k - 1) - 1) / s) + 1`.
///
/// Returns `None` when the dilated kernel does not fit the padded input, a
/// kernel, stride or dilation is zero, or the arithmetic overflows `usize`.
pub fn conv_output_len(
    n: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Option<usize> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let window = dilation.checked_mul(kernel - 1)?.checked_add(1)?;
    let padded = padding.checked_mul(2)?.checked_add(n)?;
    if padded < window {
        return None;
    }
    Some((padded - window) / stride + 1)
}

/// Computes the output length of a max or average pool along one axis, as
/// PyTorch's `pooling_output_shape` does.
///
/// With `ceil_mode` the division rounds up, but a window must still start
/// inside the input or the left padding, so the last window is dropped when
/// it would start in the right padding. This allows a window longer than the
/// padded input in ceil mode (a 2x2 pool of a 1x1 map gives 1x1). Returns
/// `None` when the result is below 1 or the kernel or stride is zero.
pub fn pool_output_len(
    n: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    ceil_mode: bool,
) -> Option<usize> {
    if kernel == 0 || stride == 0 {
        return None;
    }
    // Every usize operand and intermediate sum fits in i128, so nothing overflows.
    let (n, k, s, p) = (n as i128, kernel as i128, stride as i128, padding as i128);
    let rounding = if ceil_mode { s - 1 } else { 0 };
    // `div_euclid` rounds toward negative infinity for a positive divisor,
    // like PyTorch's `div_rtn`, so a window longer than the input gives 0 here.
    let mut out = (n + 2 * p - (k - 1) - 1 + rounding).div_euclid(s) + 1;
    if ceil_mode && (out - 1) * s >= n + p {
        out -= 1;
    }
    usize::try_from(out).ok().filter(|&o| o >= 1)
}

/// Infers every tensor's per-sample shape, as documented at [`Model::infer_shapes`].
pub(super) fn infer(model: &Model) -> Result<BTreeMap<String, Vec<usize>>, GraphError> {
    check::structure(model)?;
    let mut shapes = BTreeMap::new();
    shapes.insert(INPUT.to_string(), model.input_shape.to_vec());
    for node in &model.nodes {
        let inputs: Vec<(&str, &[usize])> = node
            .inputs
            .iter()
            .map(|name| (name.as_str(), shapes[name.as_str()].as_slice()))
            .collect();
        let shape = node_output(node, &inputs)?;
        // Executors allocate `elements` values per sample, so the count must exist.
        let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if elements.is_none() {
            return Err(size_overflow(node));
        }
        shapes.insert(node.name.clone(), shape);
    }
    Ok(shapes)
}

/// Returns the output shape of one node from its input shapes.
fn node_output(node: &Node, inputs: &[(&str, &[usize])]) -> Result<Vec<usize>, GraphError> {
    let (first_name, first) = inputs[0];
    match &node.op {
        Op::Conv2d(conv) => conv_output(node, conv, first_name, first),
        Op::BatchNorm { channels, .. } => {
            let [c, _, _] = feature_map(node, first_name, first)?;
            if c != *channels {
                return Err(channel_mismatch(node, *channels, first_name, c));
            }
            Ok(first.to_vec())
        }
        Op::Relu => Ok(first.to_vec()),
        Op::Add => {
            for &(name, shape) in &inputs[1..] {
                if shape != first {
                    return Err(GraphError::AddShapeMismatch {
                        node: node.name.clone(),
                        first: first_name.to_string(),
                        first_shape: first.to_vec(),
                        other: name.to_string(),
                        other_shape: shape.to_vec(),
                    });
                }
            }
            Ok(first.to_vec())
        }
        Op::MaxPool(pool) | Op::AvgPool(pool) => pool_output(node, pool, first_name, first),
        Op::GlobalAvgPool => {
            let [c, _, _] = feature_map(node, first_name, first)?;
            Ok(vec![c, 1, 1])
        }
        Op::Concat => concat_output(node, inputs),
        Op::Flatten => {
            let [c, h, w] = feature_map(node, first_name, first)?;
            let features = c.checked_mul(h).and_then(|ch| ch.checked_mul(w));
            Ok(vec![features.ok_or_else(|| size_overflow(node))?])
        }
        Op::Linear {
            in_features,
            out_features,
            ..
        } => {
            let [features] = first else {
                return Err(rank_mismatch(node, "[features]", first_name, first));
            };
            if features != in_features {
                return Err(GraphError::LinearInFeatures {
                    node: node.name.clone(),
                    expected: *in_features,
                    input: first_name.to_string(),
                    actual: *features,
                });
            }
            Ok(vec![*out_features])
        }
        Op::Upsample { size } => {
            let [c, _, _] = feature_map(node, first_name, first)?;
            Ok(vec![c, *size, *size])
        }
    }
}

fn conv_output(
    node: &Node,
    conv: &Conv2d,
    input: &str,
    shape: &[usize],
) -> Result<Vec<usize>, GraphError> {
    let [c, h, w] = feature_map(node, input, shape)?;
    if c != conv.in_channels {
        return Err(channel_mismatch(node, conv.in_channels, input, c));
    }
    let out_h = conv_output_len(
        h,
        conv.kernel[0],
        conv.stride[0],
        conv.padding[0],
        conv.dilation[0],
    );
    let out_w = conv_output_len(
        w,
        conv.kernel[1],
        conv.stride[1],
        conv.padding[1],
        conv.dilation[1],
    );
    match (out_h, out_w) {
        (Some(oh), Some(ow)) => Ok(vec![conv.out_channels, oh, ow]),
        _ => Err(GraphError::WindowTooLarge {
            node: node.name.clone(),
            window: [0, 1].map(|a| {
                conv.dilation[a]
                    .saturating_mul(conv.kernel[a] - 1)
                    .saturating_add(1)
            }),
            input: [h, w],
            padding: conv.padding,
        }),
    }
}

fn pool_output(
    node: &Node,
    pool: &Pool2d,
    input: &str,
    shape: &[usize],
) -> Result<Vec<usize>, GraphError> {
    let [c, h, w] = feature_map(node, input, shape)?;
    let out_h = pool_output_len(
        h,
        pool.kernel[0],
        pool.stride[0],
        pool.padding[0],
        pool.ceil_mode,
    );
    let out_w = pool_output_len(
        w,
        pool.kernel[1],
        pool.stride[1],
        pool.padding[1],
        pool.ceil_mode,
    );
    match (out_h, out_w) {
        (Some(oh), Some(ow)) => Ok(vec![c, oh, ow]),
        _ => Err(GraphError::WindowTooLarge {
            node: node.name.clone(),
            window: pool.kernel,
            input: [h, w],
            padding: pool.padding,
        }),
    }
}

fn concat_output(node: &Node, inputs: &[(&str, &[usize])]) -> Result<Vec<usize>, GraphError> {
    let (first_name, first) = inputs[0];
    let [_, h, w] = feature_map(node, first_name, first)?;
    let mut channels: usize = 0;
    for &(name, shape) in inputs {
        let [c, hi, wi] = feature_map(node, name, shape)?;
        if (hi, wi) != (h, w) {
            return Err(GraphError::ConcatShapeMismatch {
                node: node.name.clone(),
                first: first_name.to_string(),
                first_shape: first.to_vec(),
                other: name.to_string(),
                other_shape: shape.to_vec(),
            });
        }
        channels = channels.checked_add(c).ok_or_else(|| size_overflow(node))?;
    }
    Ok(vec![channels, h, w])
}

/// Reads `[c, h, w]` from a shape or reports the wrong rank.
fn feature_map(node: &Node, input: &str, shape: &[usize]) -> Result<[usize; 3], GraphError> {
    <[usize; 3]>::try_from(shape).map_err(|_| rank_mismatch(node, "[c, h, w]", input, shape))
}

fn rank_mismatch(node: &Node, expected: &'static str, input: &str, shape: &[usize]) -> GraphError {
    GraphError::RankMismatch {
        node: node.name.clone(),
        expected,
        input: input.to_string(),
        shape: shape.to_vec(),
    }
}

fn size_overflow(node: &Node) -> GraphError {
    GraphError::SizeOverflow {
        node: node.name.clone(),
    }
}

fn channel_mismatch(node: &Node, expected: usize, input: &str, actual: usize) -> GraphError {
    GraphError::ChannelMismatch {
        node: node.name.clone(),
        expected,
        input: input.to_string(),
        actual,
    }
}
