//! Prost messages of the `.rpr` header, written by hand from
//! `rpr-export/proto/rpr_header.proto` so that no protoc is needed to build.
//! Field numbers and types must match the schema.

/// Top-level header message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Header {
    #[prost(message, optional, tag = "1")]
    pub model: Option<Model>,
    #[prost(message, optional, tag = "2")]
    pub tensors: Option<TensorTable>,
    #[prost(message, optional, tag = "3")]
    pub quantization: Option<Quantization>,
    #[prost(message, optional, tag = "4")]
    pub calibration: Option<Calibration>,
    #[prost(message, repeated, tag = "5")]
    pub sections: Vec<Section>,
    #[prost(string, tag = "6")]
    pub producer: String,
}

/// Model description. Inputs and the output refer to tensor ids and node
/// indices instead of names.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Model {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(uint32, repeated, tag = "2")]
    pub input_shape: Vec<u32>,
    #[prost(message, repeated, tag = "3")]
    pub nodes: Vec<Node>,
    #[prost(uint32, tag = "4")]
    pub output: u32,
}

/// One node of the model description.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Node {
    #[prost(string, tag = "1")]
    pub name: String,
    /// Tensor ids: 0 is the graph input, `k` the output of node `k - 1`.
    #[prost(uint32, repeated, tag = "2")]
    pub inputs: Vec<u32>,
    #[prost(oneof = "node::Op", tags = "3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13")]
    pub op: Option<node::Op>,
}

/// The `op` oneof of [`Node`].
pub mod node {
    /// Operation of a node, with its attributes.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Op {
        #[prost(message, tag = "3")]
        Conv2d(super::Conv2d),
        #[prost(message, tag = "4")]
        BatchNorm(super::BatchNorm),
        #[prost(message, tag = "5")]
        Relu(super::Empty),
        #[prost(message, tag = "6")]
        Add(super::Empty),
        #[prost(message, tag = "7")]
        MaxPool(super::Pool2d),
        #[prost(message, tag = "8")]
        AvgPool(super::Pool2d),
        #[prost(message, tag = "9")]
        GlobalAvgPool(super::Empty),
        #[prost(message, tag = "10")]
        Concat(super::Empty),
        #[prost(message, tag = "11")]
        Flatten(super::Empty),
        #[prost(message, tag = "12")]
        Linear(super::Linear),
        #[prost(message, tag = "13")]
        Upsample(super::Upsample),
    }
}

/// Attributes of an operation that has none.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Empty {}

/// Convolution attributes. Pairs are `[vertical, horizontal]`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Conv2d {
    #[prost(uint32, tag = "1")]
    pub in_channels: u32,
    #[prost(uint32, tag = "2")]
    pub out_channels: u32,
    #[prost(uint32, repeated, tag = "3")]
    pub kernel: Vec<u32>,
    #[prost(uint32, repeated, tag = "4")]
    pub stride: Vec<u32>,
    #[prost(uint32, repeated, tag = "5")]
    pub padding: Vec<u32>,
    #[prost(uint32, repeated, tag = "6")]
    pub dilation: Vec<u32>,
    #[prost(uint32, tag = "7")]
    pub groups: u32,
    #[prost(bool, tag = "8")]
    pub bias: bool,
}

/// BatchNorm attributes.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct BatchNorm {
    #[prost(uint32, tag = "1")]
    pub channels: u32,
    #[prost(float, tag = "2")]
    pub eps: f32,
}

/// Pooling window attributes. Pairs are `[vertical, horizontal]`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Pool2d {
    #[prost(uint32, repeated, tag = "1")]
    pub kernel: Vec<u32>,
    #[prost(uint32, repeated, tag = "2")]
    pub stride: Vec<u32>,
    #[prost(uint32, repeated, tag = "3")]
    pub padding: Vec<u32>,
    #[prost(bool, tag = "4")]
    pub ceil_mode: bool,
}

/// Fully connected layer attributes.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Linear {
    #[prost(uint32, tag = "1")]
    pub in_features: u32,
    #[prost(uint32, tag = "2")]
    pub out_features: u32,
    #[prost(bool, tag = "3")]
    pub bias: bool,
}

/// Bilinear resize attributes.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Upsample {
    #[prost(uint32, tag = "1")]
    pub size: u32,
}

/// Storage type of a tensor payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DType {
    Unspecified = 0,
    F32 = 1,
    PackedBinary = 2,
    PackedTernary2 = 3,
    PackedTernary3 = 4,
}

/// Role of a tensor within its node. The tensor name is `<node>.<role>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum TensorRole {
    Unspecified = 0,
    Weight = 1,
    Bias = 2,
    Scale = 3,
    RunningMean = 4,
    RunningVar = 5,
}

/// Tensor table as parallel arrays, one element per payload in file order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorTable {
    /// Index of the owning node in [`Model::nodes`].
    #[prost(uint32, repeated, tag = "1")]
    pub nodes: Vec<u32>,
    #[prost(enumeration = "TensorRole", repeated, tag = "2")]
    pub roles: Vec<i32>,
    #[prost(enumeration = "DType", repeated, tag = "3")]
    pub dtypes: Vec<i32>,
    #[prost(fixed32, repeated, tag = "4")]
    pub crc32s: Vec<u32>,
}

/// Weight alphabet in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WeightBits {
    Unspecified = 0,
    Binary = 1,
    Ternary = 2,
}

/// Weight scale granularity in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WeightGranularity {
    Unspecified = 0,
    PerTensor = 1,
    PerChannel = 2,
}

/// Weight quantization parameters.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Quantization {
    #[prost(enumeration = "WeightBits", tag = "1")]
    pub bits: i32,
    #[prost(enumeration = "WeightGranularity", tag = "2")]
    pub granularity: i32,
}

/// Activation calibration results.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Calibration {
    #[prost(uint64, tag = "1")]
    pub samples: u64,
    #[prost(string, tag = "2")]
    pub dataset: String,
    #[prost(float, tag = "3")]
    pub percentile: f32,
    /// Scale per tensor id, where 0 means that the tensor has no scale.
    #[prost(float, repeated, tag = "4")]
    pub scales: Vec<f32>,
    /// Signedness per tensor id, same length as `scales`.
    #[prost(bool, repeated, tag = "5")]
    pub unsigned: Vec<bool>,
}

/// Extension section added after format 2.0.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Section {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(bool, tag = "2")]
    pub required: bool,
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
    #[prost(uint32, tag = "4")]
    pub crc32: u32,
}
