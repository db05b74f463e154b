//! Model description: a directed acyclic graph of named nodes.
//!
//! Node names follow torchvision's module paths, so the parameters of a node
//! named `layer1.0.conv1` are `layer1.0.conv1.weight` (and `.bias`), exactly
//! the keys of a torchvision `state_dict`. Tensors flowing between nodes are
//! named by the node that produces them; the graph input is `input`.
//!
//! [`Model::from_json`] parses node by node and validates, so every error
//! names the offending node. [`Model::infer_shapes`] follows PyTorch's
//! output-size formulas.

mod check;
mod error;
mod json;
mod params;
mod shape;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use error::GraphError;
pub use params::{ParamKind, ParamSpec};
pub use shape::{conv_output_len, pool_output_len};

/// Name of the graph input tensor.
pub const INPUT: &str = "input";

/// A whole network: its input shape (without the batch axis), nodes in
/// topological order, and the name of the output tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Architecture name, for example `resnet20`.
    pub name: String,
    /// Input shape as `[channels, height, width]`.
    pub input_shape: [usize; 3],
    /// Nodes in topological order. Each node's output tensor carries the node's name.
    pub nodes: Vec<Node>,
    /// Name of the node whose output is the network output (the logits).
    pub output: String,
}

/// One operation and the tensors it reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique name, equal to the torchvision module path for nodes with parameters.
    pub name: String,
    /// Names of the input tensors: other nodes' names or [`INPUT`].
    pub inputs: Vec<String>,
    /// The operation.
    pub op: Op,
}

/// Operations of the model description. Tensors are NCHW in this description;
/// engines may choose other layouts internally.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// 2-D convolution; parameters `{name}.weight` `[out, in/groups, kh, kw]`
    /// and, if `bias`, `{name}.bias` `[out]`.
    Conv2d(Conv2d),
    /// Batch normalization over channels; parameters `{name}.weight`,
    /// `.bias`, `.running_mean`, `.running_var` (all `[channels]`) and the
    /// buffer `.num_batches_tracked` (scalar, i64 in torchvision).
    BatchNorm {
        /// Number of channels.
        channels: usize,
        /// Added to the variance before the square root (1e-5 in PyTorch's
        /// default, 1e-3 in torchvision's GoogLeNet).
        eps: f32,
    },
    /// Elementwise `max(x, 0)`.
    Relu,
    /// Elementwise sum of two or more tensors of equal shape.
    Add,
    /// Max pooling; padded positions never win.
    MaxPool(Pool2d),
    /// Average pooling; padded positions count as zeros (`count_include_pad`).
    AvgPool(Pool2d),
    /// Mean over the whole spatial extent, giving `[n, c, 1, 1]`.
    GlobalAvgPool,
    /// Concatenation along the channel axis.
    Concat,
    /// Reshape `[n, c, h, w]` to `[n, c*h*w]`.
    Flatten,
    /// Fully connected layer; parameters `{name}.weight` `[out, in]` and,
    /// if `bias`, `{name}.bias` `[out]`.
    Linear {
        /// Input features.
        in_features: usize,
        /// Output features (classes for the classifier).
        out_features: usize,
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// Bilinear resize to `[size, size]` (align_corners = false), used to feed
    /// 28x28 images to ImageNet topologies.
    Upsample {
        /// Output height and width.
        size: usize,
    },
}

/// Convolution hyperparameters, in PyTorch's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[vertical, horizontal]` step.
    pub stride: [usize; 2],
    /// Zero padding `[top/bottom, left/right]`.
    pub padding: [usize; 2],
    /// `[vertical, horizontal]` spacing of kernel taps.
    pub dilation: [usize; 2],
    /// Channel groups. Each output channel reads `in_channels / groups` inputs.
    pub groups: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
}

/// Pooling window hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool2d {
    /// Window `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[vertical, horizontal]` step.
    pub stride: [usize; 2],
    /// Implicit padding `[top/bottom, left/right]`, at most half the kernel.
    pub padding: [usize; 2],
    /// Round the output size up instead of down, as PyTorch's `ceil_mode`.
    pub ceil_mode: bool,
}

impl Op {
    /// JSON tags of all ops, in declaration order.
    pub const TAGS: &'static [&'static str] = &[
        "conv2d",
        "batch_norm",
        "relu",
        "add",
        "max_pool",
        "avg_pool",
        "global_avg_pool",
        "concat",
        "flatten",
        "linear",
        "upsample",
    ];

    /// Returns the JSON tag of this op, for example `conv2d`.
    pub fn tag(&self) -> &'static str {
        let index = match self {
            Op::Conv2d(_) => 0,
            Op::BatchNorm { .. } => 1,
            Op::Relu => 2,
            Op::Add => 3,
            Op::MaxPool(_) => 4,
            Op::AvgPool(_) => 5,
            Op::GlobalAvgPool => 6,
            Op::Concat => 7,
            Op::Flatten => 8,
            Op::Linear { .. } => 9,
            Op::Upsample { .. } => 10,
        };
        Self::TAGS[index]
    }
}

impl Model {
    /// Parses a model from JSON and validates it with [`Model::validate`].
    ///
    /// Nodes are read one at a time, so an unknown op or a bad field is
    /// reported with the node's name and position.
    pub fn from_json(text: &str) -> Result<Model, GraphError> {
        json::parse(text)
    }

    /// Serializes the model to pretty-printed JSON that [`Model::from_json`] reads back.
    pub fn to_json(&self) -> String {
        // Serializing plain structs with string keys cannot fail. A NaN eps
        // becomes `null`, which `from_json` then rejects as an invalid node.
        serde_json::to_string_pretty(self).expect("a Model always serializes to JSON")
    }

    /// Checks that the model is a well-formed network: unique names,
    /// inputs produced by earlier nodes (no cycles), input counts, valid
    /// hyperparameters, an existing output node and consistent shapes.
    pub fn validate(&self) -> Result<(), GraphError> {
        self.infer_shapes().map(|_| ())
    }

    /// Infers the per-sample shape of every tensor, keyed by tensor name
    /// (including [`INPUT`]): `[c, h, w]` for feature maps, `[features]`
    /// after `Flatten` and `Linear`. Runs all checks of [`Model::validate`].
    pub fn infer_shapes(&self) -> Result<BTreeMap<String, Vec<usize>>, GraphError> {
        shape::infer(self)
    }

    /// Lists all parameters and buffers with their torchvision keys and
    /// shapes, in node order.
    pub fn parameters(&self) -> Vec<ParamSpec> {
        params::list(self)
    }

    /// Returns the node named `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Returns the nodes that read the tensor `tensor`, in node order.
    pub fn consumers(&self, tensor: &str) -> Vec<&Node> {
        self.nodes
            .iter()
            .filter(|n| n.inputs.iter().any(|i| i == tensor))
            .collect()
    }
}
