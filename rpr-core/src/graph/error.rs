//! Errors of the model description: parsing, structure and shapes.

use thiserror::Error;

/// A model description that cannot be parsed or is not a valid network.
///
/// Every variant about a node carries the node's name, so the message points
/// at the line of `model.json` to fix.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum GraphError {
    /// The text is not valid JSON or the top level is not a model object.
    #[error("invalid model JSON: {message}")]
    Json {
        /// Parser message, with line and column where available.
        message: String,
    },
    /// A top-level field of the model object is missing, unknown or has the wrong type.
    #[error("invalid model field `{field}`: {message}")]
    ModelField {
        /// Field name, for example `input_shape`.
        field: String,
        /// Description of the problem.
        message: String,
    },
    /// A node object could not be read.
    #[error("invalid node `{node}` (nodes[{index}]): {message}")]
    InvalidNode {
        /// Position in the `nodes` array.
        index: usize,
        /// Node name, or `?` when the name itself is unreadable.
        node: String,
        /// Description of the problem.
        message: String,
    },
    /// A node uses an operation this version does not know.
    #[error("node `{node}` has unknown op `{op}`; known ops: {known}")]
    UnknownOp {
        /// Node name.
        node: String,
        /// The unknown op tag.
        op: String,
        /// Comma-separated list of the supported op tags.
        known: String,
    },
    /// The model has no nodes.
    #[error("model `{model}` has no nodes")]
    Empty {
        /// Model name.
        model: String,
    },
    /// The model input shape has a zero dimension.
    #[error("model `{model}` has input shape {shape:?}; every dimension must be at least 1")]
    InvalidInputShape {
        /// Model name.
        model: String,
        /// The declared `[c, h, w]`.
        shape: [usize; 3],
    },
    /// A node name is empty or equal to the graph input name.
    #[error("node name `{node}` is reserved or empty; rename the node")]
    ReservedName {
        /// The offending name.
        node: String,
    },
    /// Two nodes share a name, so their output tensors would collide.
    #[error("duplicate node name `{node}`; tensor names must be unique")]
    DuplicateName {
        /// The repeated name.
        node: String,
    },
    /// A node reads a tensor that no node produces.
    #[error("node `{node}` reads tensor `{input}`, which no node produces")]
    UnknownInput {
        /// Node name.
        node: String,
        /// The dangling input name.
        input: String,
    },
    /// A node reads a tensor produced by itself or a later node: a cycle or
    /// an ordering error, because nodes must be in topological order.
    #[error(
        "node `{node}` reads tensor `{input}` before it is produced; nodes must be in \
         topological order and the graph must not contain cycles"
    )]
    ForwardReference {
        /// Node name.
        node: String,
        /// The input produced later (or by the node itself).
        input: String,
    },
    /// A node has the wrong number of inputs for its op.
    #[error("node `{node}` ({op}) has {actual} inputs; expected {expected}")]
    InputCount {
        /// Node name.
        node: String,
        /// Op tag.
        op: &'static str,
        /// Required count, for example `1` or `at least 2`.
        expected: &'static str,
        /// Number of inputs given.
        actual: usize,
    },
    /// The model output names no node.
    #[error("model output `{output}` is not the name of a node")]
    UnknownOutput {
        /// The declared output name.
        output: String,
    },
    /// A hyperparameter is out of range (zero stride, zero kernel, pool
    /// padding over half the kernel, non-positive eps, ...).
    #[error("node `{node}` has invalid {field}: {message}")]
    InvalidHyperparameter {
        /// Node name.
        node: String,
        /// Field name, for example `stride`.
        field: &'static str,
        /// Description of the problem and the allowed range.
        message: String,
    },
    /// An input tensor has the wrong rank for the op.
    #[error("node `{node}` expects a {expected} input but `{input}` has shape {shape:?}")]
    RankMismatch {
        /// Node name.
        node: String,
        /// Expected layout, for example `[c, h, w]`.
        expected: &'static str,
        /// Input tensor name.
        input: String,
        /// Its per-sample shape.
        shape: Vec<usize>,
    },
    /// The input channel count differs from the one the node declares.
    #[error("node `{node}` declares {expected} input channels but `{input}` has {actual}")]
    ChannelMismatch {
        /// Node name.
        node: String,
        /// Declared channels.
        expected: usize,
        /// Input tensor name.
        input: String,
        /// Channels of the input tensor.
        actual: usize,
    },
    /// `groups` does not divide the input or output channels.
    #[error(
        "node `{node}` has groups = {groups}, which must divide in_channels = {in_channels} \
         and out_channels = {out_channels}"
    )]
    Groups {
        /// Node name.
        node: String,
        /// Declared groups.
        groups: usize,
        /// Declared input channels.
        in_channels: usize,
        /// Declared output channels.
        out_channels: usize,
    },
    /// The (dilated) window does not fit in the padded input, so the output
    /// would be empty.
    #[error(
        "node `{node}`: window {window:?} (after dilation) does not fit input {input:?} \
         with padding {padding:?}"
    )]
    WindowTooLarge {
        /// Node name.
        node: String,
        /// Effective window `[kh, kw]`, `dilation * (kernel - 1) + 1`.
        window: [usize; 2],
        /// Input `[h, w]`.
        input: [usize; 2],
        /// Padding `[top/bottom, left/right]`.
        padding: [usize; 2],
    },
    /// A tensor size does not fit in `usize`.
    #[error(
        "node `{node}` produces a tensor whose size overflows usize; check its hyperparameters"
    )]
    SizeOverflow {
        /// Node name.
        node: String,
    },
    /// Inputs of an `Add` differ in shape.
    #[error("node `{node}` adds `{first}` {first_shape:?} and `{other}` {other_shape:?}; shapes must be equal")]
    AddShapeMismatch {
        /// Node name.
        node: String,
        /// First input name.
        first: String,
        /// First input shape.
        first_shape: Vec<usize>,
        /// The input whose shape differs.
        other: String,
        /// Its shape.
        other_shape: Vec<usize>,
    },
    /// Inputs of a `Concat` differ in spatial size.
    #[error(
        "node `{node}` concatenates `{first}` {first_shape:?} and `{other}` {other_shape:?}; \
         height and width must be equal"
    )]
    ConcatShapeMismatch {
        /// Node name.
        node: String,
        /// First input name.
        first: String,
        /// First input shape.
        first_shape: Vec<usize>,
        /// The input whose spatial size differs.
        other: String,
        /// Its shape.
        other_shape: Vec<usize>,
    },
    /// A `Linear` node's `in_features` differs from its input size.
    #[error("node `{node}` declares in_features = {expected} but `{input}` has {actual} features")]
    LinearInFeatures {
        /// Node name.
        node: String,
        /// Declared `in_features`.
        expected: usize,
        /// Input tensor name.
        input: String,
        /// Features of the input.
        actual: usize,
    },
}
