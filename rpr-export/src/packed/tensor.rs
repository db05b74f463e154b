//! Tensor table entries and activation quantization parameters as the reader
//! exposes them.

use rpr_core::graph::Op;
use rpr_core::pack::{self, Encoding};

use super::proto::{self, DType};

/// Storage type of a tensor in a `.rpr` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorDType {
    /// Little-endian f32 values in row-major order.
    F32,
    /// Weight codes in the `rpr_core::pack` layout.
    Packed(Encoding),
}

impl TensorDType {
    pub(crate) fn from_proto(dtype: DType) -> Option<TensorDType> {
        match dtype {
            DType::Unspecified => None,
            DType::F32 => Some(TensorDType::F32),
            DType::PackedBinary => Some(TensorDType::Packed(Encoding::Binary)),
            DType::PackedTernary2 => Some(TensorDType::Packed(Encoding::Ternary2)),
            DType::PackedTernary3 => Some(TensorDType::Packed(Encoding::Ternary3)),
        }
    }

    pub(crate) fn to_proto(self) -> DType {
        match self {
            TensorDType::F32 => DType::F32,
            TensorDType::Packed(Encoding::Binary) => DType::PackedBinary,
            TensorDType::Packed(Encoding::Ternary2) => DType::PackedTernary2,
            TensorDType::Packed(Encoding::Ternary3) => DType::PackedTernary3,
        }
    }

    /// Short name for messages and summaries.
    pub fn label(self) -> &'static str {
        match self {
            TensorDType::F32 => "f32",
            TensorDType::Packed(Encoding::Binary) => "binary (1 bit)",
            TensorDType::Packed(Encoding::Ternary2) => "ternary (2 bits)",
            TensorDType::Packed(Encoding::Ternary3) => "ternary (base 3)",
        }
    }

    /// Payload size in bytes of a tensor of `shape`, or `None` on overflow
    /// or when a packed tensor has fewer than two axes.
    pub fn payload_len(self, shape: &[usize]) -> Option<usize> {
        match self {
            TensorDType::F32 => shape.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d)),
            TensorDType::Packed(encoding) => {
                let (&rows, rest) = shape.split_first()?;
                if rest.is_empty() {
                    return None;
                }
                let k = rest.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
                // `row_bytes` pads k to a multiple of 32, so bound k first to
                // keep its arithmetic from overflowing.
                if k > usize::MAX / 8 {
                    return None;
                }
                rows.checked_mul(pack::row_bytes(encoding, k))
            }
        }
    }
}

/// Role of a tensor within the node that owns it. The tensor's name is the
/// node's name, a dot and [`TensorRole::suffix`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TensorRole {
    Weight,
    Bias,
    /// Folded per-channel multiplier of a packed conv.
    Scale,
    RunningMean,
    RunningVar,
}

impl TensorRole {
    /// All roles, in the order of their protobuf values.
    pub const ALL: [TensorRole; 5] =
        [TensorRole::Weight, TensorRole::Bias, TensorRole::Scale, TensorRole::RunningMean, TensorRole::RunningVar];

    /// Returns the part of the tensor name after the node name, for example `weight`.
    pub fn suffix(self) -> &'static str {
        match self {
            TensorRole::Weight => "weight",
            TensorRole::Bias => "bias",
            TensorRole::Scale => "scale",
            TensorRole::RunningMean => "running_mean",
            TensorRole::RunningVar => "running_var",
        }
    }

    /// Splits a tensor name such as `layer1.0.conv1.weight` into the node
    /// name and the role, or returns `None` if the suffix is no role.
    pub fn split_name(name: &str) -> Option<(&str, TensorRole)> {
        let (node, suffix) = name.rsplit_once('.')?;
        let role = Self::ALL.into_iter().find(|role| role.suffix() == suffix)?;
        Some((node, role))
    }

    pub(crate) fn from_proto(role: proto::TensorRole) -> Option<TensorRole> {
        match role {
            proto::TensorRole::Unspecified => None,
            proto::TensorRole::Weight => Some(TensorRole::Weight),
            proto::TensorRole::Bias => Some(TensorRole::Bias),
            proto::TensorRole::Scale => Some(TensorRole::Scale),
            proto::TensorRole::RunningMean => Some(TensorRole::RunningMean),
            proto::TensorRole::RunningVar => Some(TensorRole::RunningVar),
        }
    }

    pub(crate) fn to_proto(self) -> proto::TensorRole {
        match self {
            TensorRole::Weight => proto::TensorRole::Weight,
            TensorRole::Bias => proto::TensorRole::Bias,
            TensorRole::Scale => proto::TensorRole::Scale,
            TensorRole::RunningMean => proto::TensorRole::RunningMean,
            TensorRole::RunningVar => proto::TensorRole::RunningVar,
        }
    }

    /// Returns the logical shape of this parameter of a node with `op`, or
    /// `None` when that op has no such parameter. Whether the node stores it
    /// (a bias, a scale) is checked against the whole table elsewhere.
    pub fn shape(self, op: &Op) -> Option<Vec<usize>> {
        match (op, self) {
            (Op::Conv2d(conv), TensorRole::Weight) => {
                let per_group = conv.in_channels.checked_div(conv.groups)?;
                Some(vec![conv.out_channels, per_group, conv.kernel[0], conv.kernel[1]])
            }
            (Op::Conv2d(conv), TensorRole::Bias | TensorRole::Scale) => Some(vec![conv.out_channels]),
            (Op::Linear { in_features, out_features, .. }, TensorRole::Weight) => {
                Some(vec![*out_features, *in_features])
            }
            (Op::Linear { out_features, .. }, TensorRole::Bias) => Some(vec![*out_features]),
            (Op::BatchNorm { channels, .. }, _) if self != TensorRole::Scale => Some(vec![*channels]),
            _ => None,
        }
    }
}

/// One entry of the tensor table after validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: TensorDType,
    /// Logical shape; a packed conv weight keeps `[O, I/groups, KH, KW]`.
    pub shape: Vec<usize>,
    /// Byte offset from the start of the file, a multiple of 64.
    pub offset: usize,
    /// Payload length in bytes.
    pub length: usize,
}

/// Symmetric activation quantization of one tensor: `x = scale * q` with
/// zero point 0, `q` in `0..=255` if `unsigned`, else in `-127..=127`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationQuant {
    pub scale: f32,
    pub unsigned: bool,
}

/// Provenance of the activation scales.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationInfo {
    /// Number of images run through the float graph.
    pub samples: u64,
    /// Data set name.
    pub dataset: String,
    /// Percentile of |x| used as the range; 100 means max |x|.
    pub percentile: f32,
}
