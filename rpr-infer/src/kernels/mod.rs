//! GEMM kernels over packed binary and ternary weights.
//!
//! Every kernel computes `out[i][j] = sum_k code[j][k] * a[i][k]`, where `a`
//! contains `p` im2col rows padded with zeros to `kp = padded_k(k)` columns and
//! the codes come from a [`PackedView`](rpr_core::pack::PackedView) in the
//! layout of `rpr_core::pack`. The portable kernels in `scalar` are the
//! oracle; each SIMD kernel returns bit-identical integers (the `f32` kernels
//! only differ by summation order).
//!
//! The implicit-GEMM entries ([`ConvGemmFn`]) compute the same sums with row
//! `i` of `a` read in place from an NHWC image, as [`Windows`] describes, and
//! can apply the conv's epilogue before they store.
//!
//! [`kernels`] detects the CPU once and returns the fastest set. Every entry
//! is a safe function that checks lengths, encoding and padding (the
//! implicit-GEMM entries leave the codes to one check at program build) and
//! then proves the CPU feature with a zero-sized token before it runs
//! `#[target_feature]` code.

mod check;
mod dispatch;
mod error;
mod isa;
mod output;
mod prepared;
mod scalar;
mod set;
mod tiles;
mod windows;

#[cfg(target_arch = "aarch64")]
mod arm;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use check::MAX_K;
pub use dispatch::{kernel_set, kernels, variants, KERNEL_ENV};
pub use error::KernelError;
pub use isa::{Isa, ParseIsaError};
pub use output::{ConvOutput, Epilogue};
pub use prepared::PreparedWeights;
#[cfg(target_arch = "x86_64")]
pub(crate) use prepared::Vector64;
pub use set::{
    AnyKernel, ConvGemmFn, GemmFn, KernelNames, KernelSet, KernelVariant, StridedGemmFn,
};
pub use windows::Windows;
