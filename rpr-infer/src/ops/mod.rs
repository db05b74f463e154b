//! Operations on NHWC tensors that the execution loop calls.

pub(crate) mod direct_conv;
pub(crate) mod elementwise;
pub(crate) mod float_conv;
pub(crate) mod geometry;
pub(crate) mod im2col;
pub(crate) mod implicit_conv;
pub(crate) mod layout;
pub(crate) mod packed_conv;
pub(crate) mod parallel;
pub(crate) mod pool;
pub(crate) mod tiling;
