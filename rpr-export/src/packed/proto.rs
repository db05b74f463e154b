//! Prost messages of the `.rpr` header, written by hand from
//! `rpr-export/proto/rpr_header.proto` so that no protoc is needed to build.
//! Field numbers and types must match the schema.

/// Top-level header message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Header {
    #[prost(string, tag = "1")]
    pub model_json: String,
    #[prost(message, repeated, tag = "2")]
    pub tensors: Vec<TensorEntry>,
    #[prost(message, optional, tag = "3")]
    pub quantization: Option<Quantization>,
    #[prost(message, optional, tag = "4")]
    pub calibration: Option<Calibration>,
    #[prost(message, repeated, tag = "5")]
    pub sections: Vec<Section>,
    #[prost(string, tag = "6")]
    pub producer: String,
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

/// One row of the tensor table.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorEntry {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(enumeration = "DType", tag = "2")]
    pub dtype: i32,
    #[prost(uint64, repeated, tag = "3")]
    pub shape: Vec<u64>,
    #[prost(uint64, tag = "4")]
    pub offset: u64,
    #[prost(uint64, tag = "5")]
    pub length: u64,
    #[prost(uint32, tag = "6")]
    pub crc32: u32,
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
    #[prost(message, repeated, tag = "3")]
    pub layers: Vec<QuantizedLayer>,
}

/// Weight scales of one quantized layer, before BatchNorm folding.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QuantizedLayer {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, repeated, tag = "2")]
    pub weight_scales: Vec<f32>,
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
    #[prost(message, repeated, tag = "4")]
    pub activations: Vec<ActivationScale>,
}

/// Symmetric int8 (or u8 with zero point 0) scale of one tensor.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActivationScale {
    #[prost(string, tag = "1")]
    pub tensor: String,
    #[prost(float, tag = "2")]
    pub scale: f32,
    #[prost(bool, tag = "3")]
    pub unsigned: bool,
}

/// Extension section added after format 1.0.
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
