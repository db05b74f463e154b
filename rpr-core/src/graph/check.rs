//! Structural checks that need no shapes: names, ordering, input counts and
//! hyperparameter ranges.

use std::collections::{HashMap, HashSet};

use super::{Conv2d, GraphError, Model, Node, Op, Pool2d, INPUT};

/// Checks everything about `model` except shapes.
pub(super) fn structure(model: &Model) -> Result<(), GraphError> {
    if model.input_shape.contains(&0) {
        return Err(GraphError::InvalidInputShape {
            model: model.name.clone(),
            shape: model.input_shape,
        });
    }
    if model.nodes.is_empty() {
        return Err(GraphError::Empty {
            model: model.name.clone(),
        });
    }

    // Position of every node, to tell a forward reference from a dangling one.
    let mut position: HashMap<&str, usize> = HashMap::with_capacity(model.nodes.len());
    for (index, node) in model.nodes.iter().enumerate() {
        if node.name.is_empty() || node.name == INPUT {
            return Err(GraphError::ReservedName {
                node: node.name.clone(),
            });
        }
        if position.insert(node.name.as_str(), index).is_some() {
            return Err(GraphError::DuplicateName {
                node: node.name.clone(),
            });
        }
    }

    let mut defined: HashSet<&str> = HashSet::from([INPUT]);
    for node in &model.nodes {
        input_count(node)?;
        for input in &node.inputs {
            if defined.contains(input.as_str()) {
                continue;
            }
            let error = if position.contains_key(input.as_str()) {
                GraphError::ForwardReference {
                    node: node.name.clone(),
                    input: input.clone(),
                }
            } else {
                GraphError::UnknownInput {
                    node: node.name.clone(),
                    input: input.clone(),
                }
            };
            return Err(error);
        }
        hyperparameters(node)?;
        defined.insert(node.name.as_str());
    }

    if !position.contains_key(model.output.as_str()) {
        return Err(GraphError::UnknownOutput {
            output: model.output.clone(),
        });
    }
    Ok(())
}

fn input_count(node: &Node) -> Result<(), GraphError> {
    let actual = node.inputs.len();
    let (ok, expected) = match node.op {
        Op::Add => (actual >= 2, "at least 2"),
        Op::Concat => (actual >= 1, "at least 1"),
        _ => (actual == 1, "1"),
    };
    if ok {
        Ok(())
    } else {
        Err(GraphError::InputCount {
            node: node.name.clone(),
            op: node.op.tag(),
            expected,
            actual,
        })
    }
}

fn hyperparameters(node: &Node) -> Result<(), GraphError> {
    let invalid = |field: &'static str, message: String| GraphError::InvalidHyperparameter {
        node: node.name.clone(),
        field,
        message,
    };
    match &node.op {
        Op::Conv2d(conv) => conv_hyperparameters(node, conv),
        Op::MaxPool(pool) | Op::AvgPool(pool) => pool_hyperparameters(node, pool),
        Op::BatchNorm { channels, eps } => {
            if *channels == 0 {
                return Err(invalid("channels", "must be at least 1".into()));
            }
            if !(eps.is_finite() && *eps > 0.0) {
                return Err(invalid("eps", format!("{eps} must be finite and positive")));
            }
            Ok(())
        }
        Op::Linear {
            in_features,
            out_features,
            ..
        } => {
            if *in_features == 0 || *out_features == 0 {
                return Err(invalid(
                    "features",
                    format!("in_features = {in_features} and out_features = {out_features} must be at least 1"),
                ));
            }
            Ok(())
        }
        Op::Upsample { size } => {
            if *size == 0 {
                return Err(invalid("size", "must be at least 1".into()));
            }
            Ok(())
        }
        Op::Relu | Op::Add | Op::GlobalAvgPool | Op::Concat | Op::Flatten => Ok(()),
    }
}

fn conv_hyperparameters(node: &Node, conv: &Conv2d) -> Result<(), GraphError> {
    let invalid = |field: &'static str, message: String| GraphError::InvalidHyperparameter {
        node: node.name.clone(),
        field,
        message,
    };
    if conv.in_channels == 0 || conv.out_channels == 0 {
        return Err(invalid(
            "channels",
            format!(
                "in_channels = {} and out_channels = {} must be at least 1",
                conv.in_channels, conv.out_channels
            ),
        ));
    }
    for (field, value) in [
        ("kernel", conv.kernel),
        ("stride", conv.stride),
        ("dilation", conv.dilation),
    ] {
        if value.contains(&0) {
            return Err(invalid(
                field,
                format!("{value:?} must be at least 1 on both axes"),
            ));
        }
    }
    if conv.groups == 0
        || !conv.in_channels.is_multiple_of(conv.groups)
        || !conv.out_channels.is_multiple_of(conv.groups)
    {
        return Err(GraphError::Groups {
            node: node.name.clone(),
            groups: conv.groups,
            in_channels: conv.in_channels,
            out_channels: conv.out_channels,
        });
    }
    Ok(())
}

fn pool_hyperparameters(node: &Node, pool: &Pool2d) -> Result<(), GraphError> {
    let invalid = |field: &'static str, message: String| GraphError::InvalidHyperparameter {
        node: node.name.clone(),
        field,
        message,
    };
    for (field, value) in [("kernel", pool.kernel), ("stride", pool.stride)] {
        if value.contains(&0) {
            return Err(invalid(
                field,
                format!("{value:?} must be at least 1 on both axes"),
            ));
        }
    }
    // PyTorch rejects padding above half the kernel, because a window could
    // then lie wholly in the padding.
    for axis in 0..2 {
        if pool.padding[axis] > pool.kernel[axis] / 2 {
            return Err(invalid(
                "padding",
                format!(
                    "{:?} must be at most half of kernel {:?}",
                    pool.padding, pool.kernel
                ),
            ));
        }
    }
    Ok(())
}
