//! The model lowered to engine steps: fused operations with their weights, independent of the
//! batch size and of the activation precision.

mod build;
mod conv;
mod fuse;

pub(crate) use build::build;

use rpr_core::pack::{Encoding, PackedMatrix};

use crate::ops::float_conv::FloatConvWeights;
use crate::ops::geometry::ConvGeometry;
use crate::ops::pool::PoolGeometry;

/// Index of a tensor in [`Program::tensors`].
pub(crate) type TensorId = usize;

/// Per-sample shape of a tensor, stored NHWC for feature maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Feature map `[c, h, w]`, stored as `h x w x c`.
    Map { c: usize, h: usize, w: usize },
    /// Feature vector of this length.
    Flat(usize),
}

impl Shape {
    /// Elements per sample.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Map { c, h, w } => c * h * w,
            Shape::Flat(n) => n,
        }
    }

    /// Returns the shape as the model description writes it: `[c, h, w]` or `[features]`.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Map { c, h, w } => vec![c, h, w],
            Shape::Flat(n) => vec![n],
        }
    }
}

/// A tensor flowing between steps.
#[derive(Clone, Debug)]
pub(crate) struct TensorMeta {
    pub name: String,
    pub shape: Shape,
    /// Provably `>= 0` for every input: produced by ReLU, or by max/avg pooling, concatenation,
    /// addition, resizing or flattening of such tensors.
    pub nonnegative: bool,
    /// Calibrated u8 step size (`x = scale * q`, `q` in `0..=255`), present only for
    /// non-negative tensors that the file calibrated as unsigned.
    pub u8_scale: Option<f32>,
}

/// Storage of a packed conv's weight codes at run time.
#[derive(Debug)]
pub(crate) enum PackedWeights {
    /// In place from the model file, under this tensor name.
    InFile(String),
    /// Expanded at load time (base-3 files are stored as 2-bit planes for the kernels).
    Owned(PackedMatrix),
}

/// A convolution with bit-packed weights; BatchNorm is folded into `scale` and `bias`.
#[derive(Debug)]
pub(crate) struct PackedConv {
    pub geom: ConvGeometry,
    pub out_channels: usize,
    pub encoding: Encoding,
    pub weights: PackedWeights,
    /// Padded reduction length `KH * KW * C` rounded up to 32, the im2col row width.
    pub kp: usize,
    pub scale: Vec<f32>,
    pub bias: Vec<f32>,
    pub relu: bool,
}

/// A full-precision convolution.
pub(crate) struct FloatConv {
    pub geom: ConvGeometry,
    pub weights: FloatConvWeights,
    pub relu: bool,
}

impl std::fmt::Debug for FloatConv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloatConv")
            .field("geom", &self.geom)
            .field("relu", &self.relu)
            .finish()
    }
}

/// A fully connected layer, weight row-major `[out, in]`.
#[derive(Debug)]
pub(crate) struct Linear {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Operation of one step.
#[derive(Debug)]
pub(crate) enum StepOp {
    PackedConv(Box<PackedConv>),
    FloatConv(Box<FloatConv>),
    /// Unfolded BatchNorm as `x * scale + shift`.
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
        relu: bool,
    },
    Relu,
    Add {
        relu: bool,
    },
    MaxPool(PoolGeometry),
    AvgPool(PoolGeometry),
    GlobalAvgPool,
    Concat,
    Flatten,
    Linear(Linear),
    Upsample,
}

impl StepOp {
    /// Short name for logs and profiles.
    pub fn kind(&self) -> &'static str {
        match self {
            StepOp::PackedConv(_) => "packed_conv",
            StepOp::FloatConv(_) => "float_conv",
            StepOp::Affine { .. } => "batch_norm",
            StepOp::Relu => "relu",
            StepOp::Add { .. } => "add",
            StepOp::MaxPool(_) => "max_pool",
            StepOp::AvgPool(_) => "avg_pool",
            StepOp::GlobalAvgPool => "global_avg_pool",
            StepOp::Concat => "concat",
            StepOp::Flatten => "flatten",
            StepOp::Linear(_) => "linear",
            StepOp::Upsample => "upsample",
        }
    }
}

/// One executable step: a node of the model, possibly with a following ReLU fused into it.
#[derive(Debug)]
pub(crate) struct Step {
    /// Name of the model node the step comes from.
    pub node: String,
    pub inputs: Vec<TensorId>,
    pub output: TensorId,
    pub op: StepOp,
}

/// The lowered model.
#[derive(Debug)]
pub(crate) struct Program {
    pub tensors: Vec<TensorMeta>,
    pub steps: Vec<Step>,
    pub input: TensorId,
    pub output: TensorId,
}
