//! The table of kernels that the engine calls through.

use rpr_core::pack::PackedView;

use super::{ConvOutput, Isa, KernelError, PreparedWeights, Windows};

/// A GEMM over im2col rows: `out[i * o + j] = sum_k code[j][k] * a[i][k]` for
/// `i < p` and `j < o = w.rows`. `a` contains `p` rows of the padded reduction
/// length (elements for `u8`/`f32`, `u32` words for 1-bit activations).
pub type GemmFn<A, T> =
    fn(a: &[A], p: usize, w: &PackedView<'_>, out: &mut [T]) -> Result<(), KernelError>;

/// [`GemmFn`] that writes output row `i` at `out[i * stride..]`, so a caller can
/// compute a block of output columns by passing a row slice of the weights
/// and the full output width as the stride.
pub type StridedGemmFn<A, T> = fn(
    a: &[A],
    p: usize,
    w: &PackedView<'_>,
    out: &mut [T],
    stride: usize,
) -> Result<(), KernelError>;

/// An implicit-GEMM convolution: the GEMM of [`GemmFn`] with row `i` of `a`
/// read in place from `image` as [`Windows`] describes, stored to `out` as
/// `windows.rows` rows of `w.rows` outputs, raw or finished. `prepared`, when
/// given, contains the codes of `w` expanded by the family's [`PrepareFn`].
///
/// Unlike the other entries it checks only lengths and bounds, not the
/// weight codes: the engine validates the codes of every packed tensor once
/// when it builds a program, and this entry runs once per conv and tile.
pub type ConvGemmFn = fn(
    image: &[u8],
    windows: &Windows,
    w: &PackedView<'_>,
    prepared: Option<&PreparedWeights>,
    out: ConvOutput<'_>,
) -> Result<(), KernelError>;

/// Expands packed weights for the [`ConvGemmFn`] of the same family, which
/// then skips its per-call expansion when given them.
pub type PrepareFn = fn(w: &PackedView<'_>) -> Result<PreparedWeights, KernelError>;

/// Kernel names per family, such as `avx512_vnni_ternary_u8_4x4`: ISA,
/// operation, activation type and register tile (activation rows x weight rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelNames {
    pub ternary_u8: &'static str,
    pub binary_u8: &'static str,
    pub binary_b1: &'static str,
    pub ternary_f32: &'static str,
    pub binary_f32: &'static str,
}

/// One kernel per family, chosen for an instruction set.
///
/// The engine splits work over activation rows by slicing `a` and `out`, and
/// over weight rows with the `*_strided` entries.
#[derive(Debug, Clone, Copy)]
pub struct KernelSet {
    /// Best instruction set used by any family of this set.
    pub isa: Isa,
    pub names: KernelNames,
    /// Ternary weights x `u8` activations -> `i32`.
    pub ternary_u8: GemmFn<u8, i32>,
    pub ternary_u8_strided: StridedGemmFn<u8, i32>,
    /// Binary (+1/-1) weights x `u8` activations -> `i32`.
    pub binary_u8: GemmFn<u8, i32>,
    pub binary_u8_strided: StridedGemmFn<u8, i32>,
    /// Implicit-GEMM forms of `ternary_u8` and `binary_u8`, where the set has
    /// them; the engine falls back to im2col rows otherwise.
    pub ternary_u8_conv: Option<ConvGemmFn>,
    pub binary_u8_conv: Option<ConvGemmFn>,
    pub ternary_u8_prepare: Option<PrepareFn>,
    pub binary_u8_prepare: Option<PrepareFn>,
    /// Binary weights x 1-bit (+1/-1) activations -> `i32`, XNOR-popcount.
    pub binary_b1: GemmFn<u32, i32>,
    pub binary_b1_strided: StridedGemmFn<u32, i32>,
    /// Ternary weights x `f32` activations -> `f32`, add/sub only.
    pub ternary_f32: GemmFn<f32, f32>,
    pub ternary_f32_strided: StridedGemmFn<f32, f32>,
    /// Binary weights x `f32` activations -> `f32`, add/sub only.
    pub binary_f32: GemmFn<f32, f32>,
    pub binary_f32_strided: StridedGemmFn<f32, f32>,
}

/// A kernel of any family, for tests and benchmarks that cover every variant.
#[derive(Debug, Clone, Copy)]
pub enum AnyKernel {
    TernaryU8(StridedGemmFn<u8, i32>),
    BinaryU8(StridedGemmFn<u8, i32>),
    BinaryB1(StridedGemmFn<u32, i32>),
    TernaryF32(StridedGemmFn<f32, f32>),
    BinaryF32(StridedGemmFn<f32, f32>),
}

/// One compiled kernel, including variants that dispatch does not pick.
#[derive(Debug, Clone, Copy)]
pub struct KernelVariant {
    pub name: &'static str,
    pub isa: Isa,
    /// Whether this CPU supports every feature the kernel needs.
    pub available: bool,
    pub kernel: AnyKernel,
}

/// Defines the safe entry points `$plain` and `$strided` of one kernel: they
/// run `$check`, then `$body(&dims, a, w.data, out)`, which returns a
/// `Result` because it proves the CPU feature with a token first.
macro_rules! gemm_entry {
    ($plain:ident, $strided:ident, $name:expr, $a:ty, $t:ty, $check:expr, $body:expr) => {
        pub(crate) fn $strided(
            a: &[$a],
            p: usize,
            w: &rpr_core::pack::PackedView<'_>,
            out: &mut [$t],
            stride: usize,
        ) -> Result<(), $crate::kernels::KernelError> {
            let dims = ($check)($name, a, p, w, out.len(), stride)?;
            if dims.p == 0 || dims.o == 0 {
                return Ok(());
            }
            ($body)(&dims, a, w.data, out)
        }

        // Variants that no kernel set selects are only reached strided.
        #[allow(dead_code)]
        pub(crate) fn $plain(
            a: &[$a],
            p: usize,
            w: &rpr_core::pack::PackedView<'_>,
            out: &mut [$t],
        ) -> Result<(), $crate::kernels::KernelError> {
            $strided(a, p, w, out, w.rows)
        }
    };
}
pub(crate) use gemm_entry;
