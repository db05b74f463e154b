//! Conversion between [`rpr_core::graph::Model`] and the header's protobuf
//! model description.
//!
//! The protobuf form refers to tensors by id instead of by name: id 0 is the
//! graph input and id `k` is the output of node `k - 1`. Names are stored
//! once per node, which keeps the header small.

use rpr_core::graph::{Conv2d, Model, Node, Op, Pool2d, INPUT};

use super::proto::{self, node};

/// Tensor id of the graph input.
pub(crate) const INPUT_ID: u32 = 0;

/// A dimension or index that does not fit the format's 32-bit fields.
#[derive(Debug)]
pub(crate) struct TooLarge {
    pub field: String,
    pub value: usize,
}

impl From<TooLarge> for crate::error::ExportError {
    fn from(error: TooLarge) -> Self {
        crate::error::ExportError::TooLarge { field: error.field, value: error.value }
    }
}

/// Converts `model` to its protobuf form.
pub(crate) fn to_proto(model: &Model) -> Result<proto::Model, TooLarge> {
    let mut nodes = Vec::with_capacity(model.nodes.len());
    for node in &model.nodes {
        let inputs = node
            .inputs
            .iter()
            .map(|input| tensor_id(model, input))
            .collect::<Result<Vec<_>, _>>()?;
        let op = op_to_proto(&node.name, &node.op)?;
        nodes.push(proto::Node { name: node.name.clone(), inputs, op: Some(op) });
    }
    let output = model
        .nodes
        .iter()
        .position(|node| node.name == model.output)
        .expect("a validated model's output is one of its nodes");
    Ok(proto::Model {
        name: model.name.clone(),
        input_shape: model
            .input_shape
            .iter()
            .map(|&dim| narrow("input_shape", dim))
            .collect::<Result<_, _>>()?,
        nodes,
        output: narrow("output node index", output)?,
    })
}

/// Returns the tensor id of tensor `name`: [`INPUT_ID`] for the graph input,
/// else one more than the index of the node that produces it.
pub(crate) fn tensor_id(model: &Model, name: &str) -> Result<u32, TooLarge> {
    if name == INPUT {
        return Ok(INPUT_ID);
    }
    let index = model
        .nodes
        .iter()
        .position(|node| node.name == name)
        .expect("a validated model only reads tensors that its nodes produce");
    narrow("tensor id", index + 1)
}

/// Converts a protobuf model description back. The result is not validated yet.
pub(crate) fn from_proto(message: &proto::Model) -> Result<Model, String> {
    let tensor_name = |id: u32| -> Option<String> {
        if id == INPUT_ID {
            return Some(INPUT.to_string());
        }
        message.nodes.get(id as usize - 1).map(|node| node.name.clone())
    };

    let mut nodes = Vec::with_capacity(message.nodes.len());
    for (index, node) in message.nodes.iter().enumerate() {
        let context = |reason: String| format!("node {index} (`{}`): {reason}", node.name);
        let inputs = node
            .inputs
            .iter()
            .map(|&id| {
                tensor_name(id).ok_or_else(|| {
                    context(format!("input tensor id {id} is beyond the {} nodes", message.nodes.len()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let op = node.op.as_ref().ok_or_else(|| context("no op is set".into()))?;
        let op = op_from_proto(op).map_err(context)?;
        nodes.push(Node { name: node.name.clone(), inputs, op });
    }

    let output = message
        .nodes
        .get(message.output as usize)
        .ok_or_else(|| format!("output node index {} is beyond the {} nodes", message.output, message.nodes.len()))?
        .name
        .clone();
    let input_shape: [u32; 3] = message
        .input_shape
        .as_slice()
        .try_into()
        .map_err(|_| format!("input_shape has {} values, expected 3 (channels, height, width)", message.input_shape.len()))?;
    Ok(Model { name: message.name.clone(), input_shape: input_shape.map(|dim| dim as usize), nodes, output })
}

fn op_to_proto(name: &str, op: &Op) -> Result<node::Op, TooLarge> {
    let field = |field: &str, value: usize| narrow(&format!("node `{name}`: {field}"), value);
    let pair = |label: &str, values: [usize; 2]| -> Result<Vec<u32>, TooLarge> {
        values.iter().map(|&value| field(label, value)).collect()
    };
    Ok(match op {
        Op::Conv2d(conv) => node::Op::Conv2d(proto::Conv2d {
            in_channels: field("in_channels", conv.in_channels)?,
            out_channels: field("out_channels", conv.out_channels)?,
            kernel: pair("kernel", conv.kernel)?,
            stride: pair("stride", conv.stride)?,
            padding: pair("padding", conv.padding)?,
            dilation: pair("dilation", conv.dilation)?,
            groups: field("groups", conv.groups)?,
            bias: conv.bias,
        }),
        Op::BatchNorm { channels, eps } => {
            node::Op::BatchNorm(proto::BatchNorm { channels: field("channels", *channels)?, eps: *eps })
        }
        Op::Relu => node::Op::Relu(proto::Empty {}),
        Op::Add => node::Op::Add(proto::Empty {}),
        Op::MaxPool(pool) => node::Op::MaxPool(pool_to_proto(pool, pair)?),
        Op::AvgPool(pool) => node::Op::AvgPool(pool_to_proto(pool, pair)?),
        Op::GlobalAvgPool => node::Op::GlobalAvgPool(proto::Empty {}),
        Op::Concat => node::Op::Concat(proto::Empty {}),
        Op::Flatten => node::Op::Flatten(proto::Empty {}),
        Op::Linear { in_features, out_features, bias } => node::Op::Linear(proto::Linear {
            in_features: field("in_features", *in_features)?,
            out_features: field("out_features", *out_features)?,
            bias: *bias,
        }),
        Op::Upsample { size } => node::Op::Upsample(proto::Upsample { size: field("size", *size)? }),
    })
}

fn pool_to_proto(
    pool: &Pool2d,
    pair: impl Fn(&str, [usize; 2]) -> Result<Vec<u32>, TooLarge>,
) -> Result<proto::Pool2d, TooLarge> {
    Ok(proto::Pool2d {
        kernel: pair("kernel", pool.kernel)?,
        stride: pair("stride", pool.stride)?,
        padding: pair("padding", pool.padding)?,
        ceil_mode: pool.ceil_mode,
    })
}

fn op_from_proto(op: &node::Op) -> Result<Op, String> {
    Ok(match op {
        node::Op::Conv2d(conv) => Op::Conv2d(Conv2d {
            in_channels: conv.in_channels as usize,
            out_channels: conv.out_channels as usize,
            kernel: pair("conv2d kernel", &conv.kernel)?,
            stride: pair("conv2d stride", &conv.stride)?,
            padding: pair("conv2d padding", &conv.padding)?,
            dilation: pair("conv2d dilation", &conv.dilation)?,
            groups: conv.groups as usize,
            bias: conv.bias,
        }),
        node::Op::BatchNorm(bn) => Op::BatchNorm { channels: bn.channels as usize, eps: bn.eps },
        node::Op::Relu(_) => Op::Relu,
        node::Op::Add(_) => Op::Add,
        node::Op::MaxPool(pool) => Op::MaxPool(pool_from_proto("max_pool", pool)?),
        node::Op::AvgPool(pool) => Op::AvgPool(pool_from_proto("avg_pool", pool)?),
        node::Op::GlobalAvgPool(_) => Op::GlobalAvgPool,
        node::Op::Concat(_) => Op::Concat,
        node::Op::Flatten(_) => Op::Flatten,
        node::Op::Linear(linear) => Op::Linear {
            in_features: linear.in_features as usize,
            out_features: linear.out_features as usize,
            bias: linear.bias,
        },
        node::Op::Upsample(upsample) => Op::Upsample { size: upsample.size as usize },
    })
}

fn pool_from_proto(op: &str, pool: &proto::Pool2d) -> Result<Pool2d, String> {
    Ok(Pool2d {
        kernel: pair(&format!("{op} kernel"), &pool.kernel)?,
        stride: pair(&format!("{op} stride"), &pool.stride)?,
        padding: pair(&format!("{op} padding"), &pool.padding)?,
        ceil_mode: pool.ceil_mode,
    })
}

fn pair(field: &str, values: &[u32]) -> Result<[usize; 2], String> {
    match values {
        &[first, second] => Ok([first as usize, second as usize]),
        _ => Err(format!("{field} has {} values, expected 2 ([vertical, horizontal])", values.len())),
    }
}

fn narrow(field: &str, value: usize) -> Result<u32, TooLarge> {
    u32::try_from(value).map_err(|_| TooLarge { field: field.to_string(), value })
}

#[cfg(test)]
mod tests {
    use rpr_core::zoo::{self, ZooConfig};

    use super::*;

    #[test]
    fn zoo_models_roundtrip() {
        let config = ZooConfig { input_channels: 3, input_size: 32, num_classes: 10, upsample_to: Some(64) };
        for arch in ["resnet20", "resnet18", "googlenet"] {
            let model = zoo::build(arch, &config).unwrap();
            let message = to_proto(&model).unwrap();
            assert_eq!(from_proto(&message).unwrap(), model, "{arch}");
        }
    }

    #[test]
    fn input_id_beyond_nodes_is_rejected() {
        let config = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: None };
        let mut message = to_proto(&zoo::build("resnet20", &config).unwrap()).unwrap();
        let count = message.nodes.len() as u32;
        message.nodes[3].inputs[0] = count + 1;
        let error = from_proto(&message).unwrap_err();
        assert!(error.contains("node 3"), "{error}");
        assert!(error.contains("beyond"), "{error}");
    }

    #[test]
    fn missing_op_and_bad_pair_are_rejected() {
        let config = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: None };
        let model = to_proto(&zoo::build("resnet20", &config).unwrap()).unwrap();

        let mut no_op = model.clone();
        no_op.nodes[1].op = None;
        let error = from_proto(&no_op).unwrap_err();
        assert!(error.contains("no op"), "{error}");

        let mut bad_kernel = model.clone();
        let Some(node::Op::Conv2d(conv)) = &mut bad_kernel.nodes[0].op else { panic!("node 0 is a conv") };
        conv.kernel.push(3);
        let error = from_proto(&bad_kernel).unwrap_err();
        assert!(error.contains("kernel has 3 values"), "{error}");
    }
}
