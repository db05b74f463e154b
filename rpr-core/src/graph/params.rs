//! Parameter and buffer lists of a model, named like a torchvision `state_dict`.

use super::{Model, Op};

/// Role of a parameter or buffer within its node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// Convolution weight `[out, in / groups, kh, kw]`.
    ConvWeight,
    /// Convolution bias `[out]`.
    ConvBias,
    /// BatchNorm scale (gamma) `[channels]`.
    BnWeight,
    /// BatchNorm shift (beta) `[channels]`.
    BnBias,
    /// BatchNorm running mean `[channels]`.
    BnRunningMean,
    /// BatchNorm running variance `[channels]`.
    BnRunningVar,
    /// BatchNorm update counter, a scalar (shape `[]`) stored as i64 by PyTorch.
    BnNumBatchesTracked,
    /// Linear weight `[out, in]`.
    LinearWeight,
    /// Linear bias `[out]`.
    LinearBias,
}

/// One parameter or buffer of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// Full key, for example `layer1.0.conv1.weight`.
    pub name: String,
    /// Name of the node that owns it, for example `layer1.0.conv1`.
    pub node: String,
    /// Shape, empty for a scalar.
    pub shape: Vec<usize>,
    /// Role within the node.
    pub kind: ParamKind,
}

impl ParamKind {
    /// Returns the key suffix after the node name, for example `running_mean`.
    pub fn suffix(self) -> &'static str {
        match self {
            ParamKind::ConvWeight | ParamKind::BnWeight | ParamKind::LinearWeight => "weight",
            ParamKind::ConvBias | ParamKind::BnBias | ParamKind::LinearBias => "bias",
            ParamKind::BnRunningMean => "running_mean",
            ParamKind::BnRunningVar => "running_var",
            ParamKind::BnNumBatchesTracked => "num_batches_tracked",
        }
    }

    /// Tells whether the tensor is a buffer (BatchNorm statistics and
    /// counter) instead of a trainable parameter.
    pub fn is_buffer(self) -> bool {
        matches!(
            self,
            ParamKind::BnRunningMean | ParamKind::BnRunningVar | ParamKind::BnNumBatchesTracked
        )
    }
}

/// Lists parameters and buffers in node order, in the order torchvision
/// registers them within a module.
pub(super) fn list(model: &Model) -> Vec<ParamSpec> {
    let mut params = Vec::new();
    for node in &model.nodes {
        let mut push = |kind: ParamKind, shape: Vec<usize>| {
            params.push(ParamSpec {
                name: format!("{}.{}", node.name, kind.suffix()),
                node: node.name.clone(),
                shape,
                kind,
            });
        };
        match &node.op {
            Op::Conv2d(conv) => {
                let in_per_group = conv.in_channels / conv.groups.max(1);
                push(
                    ParamKind::ConvWeight,
                    vec![
                        conv.out_channels,
                        in_per_group,
                        conv.kernel[0],
                        conv.kernel[1],
                    ],
                );
                if conv.bias {
                    push(ParamKind::ConvBias, vec![conv.out_channels]);
                }
            }
            Op::BatchNorm { channels, .. } => {
                push(ParamKind::BnWeight, vec![*channels]);
                push(ParamKind::BnBias, vec![*channels]);
                push(ParamKind::BnRunningMean, vec![*channels]);
                push(ParamKind::BnRunningVar, vec![*channels]);
                push(ParamKind::BnNumBatchesTracked, vec![]);
            }
            Op::Linear {
                in_features,
                out_features,
                bias,
            } => {
                push(ParamKind::LinearWeight, vec![*out_features, *in_features]);
                if *bias {
                    push(ParamKind::LinearBias, vec![*out_features]);
                }
            }
            Op::Relu
            | Op::Add
            | Op::MaxPool(_)
            | Op::AvgPool(_)
            | Op::GlobalAvgPool
            | Op::Concat
            | Op::Flatten
            | Op::Upsample { .. } => {}
        }
    }
    params
}
