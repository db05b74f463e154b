//! Model description: a directed acyclic graph of named nodes.
//!
//! Node names follow torchvision's module paths, so the parameters of a node
//! named `layer1.0.conv1` are `layer1.0.conv1.weight` (and `.bias`), exactly
//! the keys of a torchvision `state_dict`. Tensors flowing between nodes are
//! named by the node that produces them; the graph input is `input`.

use serde::{Deserialize, Serialize};

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
    BatchNorm { channels: usize, eps: f32 },
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
    Linear { in_features: usize, out_features: usize, bias: bool },
    /// Bilinear resize to `[size, size]` (align_corners = false), used to feed
    /// 28x28 images to ImageNet topologies.
    Upsample { size: usize },
}

/// Convolution hyperparameters, in PyTorch's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    pub in_channels: usize,
    pub out_channels: usize,
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero padding `[top/bottom, left/right]`.
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    pub bias: bool,
}

/// Pooling window hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool2d {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub ceil_mode: bool,
}
