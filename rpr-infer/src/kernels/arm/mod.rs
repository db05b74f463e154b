//! aarch64 kernels: Advanced SIMD (NEON), with `sdot` where the CPU has the
//! `dotprod` extension. Each sits behind a safe entry point that checks the
//! arguments and then proves the CPU feature with a token.

mod binary_b1;
mod bits;
mod float;
mod tokens;
mod u8_addsub;
mod u8_sdot;

use super::check::{binary_dense, check_bits, ternary_dense, Dims};
use super::set::{gemm_entry, AnyKernel, KernelNames, KernelSet, KernelVariant};
use super::{Isa, KernelError};

pub(crate) use tokens::{Neon, NeonDot};

/// Turns a missing token into an error. The entries are only reachable
/// through a set built after detection, so this fails only when a caller
/// kept a function pointer from a [`KernelVariant`] marked unavailable.
fn proven<T>(token: Option<T>, isa: &'static str) -> Result<T, KernelError> {
    token.ok_or(KernelError::IsaUnavailable { isa })
}

gemm_entry!(
    neon_addsub_ternary_u8,
    neon_addsub_ternary_u8_strided,
    u8_addsub::TERNARY_NAME,
    u8,
    i32,
    ternary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        u8_addsub::gemm::<false>(proven(Neon::try_new(), "neon")?, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    neon_addsub_binary_u8,
    neon_addsub_binary_u8_strided,
    u8_addsub::BINARY_NAME,
    u8,
    i32,
    binary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        u8_addsub::gemm::<true>(proven(Neon::try_new(), "neon")?, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    neon_sdot_ternary_u8,
    neon_sdot_ternary_u8_strided,
    u8_sdot::TERNARY_NAME,
    u8,
    i32,
    ternary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        u8_sdot::gemm::<false>(proven(NeonDot::try_new(), "neon dotprod")?, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    neon_sdot_binary_u8,
    neon_sdot_binary_u8_strided,
    u8_sdot::BINARY_NAME,
    u8,
    i32,
    binary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        u8_sdot::gemm::<true>(proven(NeonDot::try_new(), "neon dotprod")?, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    neon_cnt_binary_b1,
    neon_cnt_binary_b1_strided,
    binary_b1::NAME,
    u32,
    i32,
    check_bits,
    |d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]| {
        binary_b1::gemm(proven(Neon::try_new(), "neon")?, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    neon_ternary_f32,
    neon_ternary_f32_strided,
    float::TERNARY_NAME,
    f32,
    f32,
    ternary_dense,
    |d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]| {
        float::gemm::<false>(proven(Neon::try_new(), "neon")?, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    neon_binary_f32,
    neon_binary_f32_strided,
    float::BINARY_NAME,
    f32,
    f32,
    binary_dense,
    |d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]| {
        float::gemm::<true>(proven(Neon::try_new(), "neon")?, d, a, w, out);
        Ok(())
    }
);

/// The NEON set. The `u8` families use `sdot` when the CPU has `dotprod`:
/// one `sdot` does 16 MACs, where the add/sub kernel spends 4 instructions
/// (2 AND, 2 UADALP) on the same 16.
// NOTE: that choice follows from instruction counts; it has not been timed
// on Arm hardware (qemu timings mean nothing).
pub(crate) fn neon_set() -> Option<KernelSet> {
    Neon::try_new()?;
    let mut set = KernelSet {
        isa: Isa::Neon,
        names: KernelNames {
            ternary_u8: u8_addsub::TERNARY_NAME,
            binary_u8: u8_addsub::BINARY_NAME,
            binary_b1: binary_b1::NAME,
            ternary_f32: float::TERNARY_NAME,
            binary_f32: float::BINARY_NAME,
        },
        ternary_u8: neon_addsub_ternary_u8,
        ternary_u8_strided: neon_addsub_ternary_u8_strided,
        binary_u8: neon_addsub_binary_u8,
        binary_u8_strided: neon_addsub_binary_u8_strided,
        ternary_u8_conv: None,
        binary_u8_conv: None,
        ternary_u8_prepare: None,
        binary_u8_prepare: None,
        binary_b1: neon_cnt_binary_b1,
        binary_b1_strided: neon_cnt_binary_b1_strided,
        ternary_f32: neon_ternary_f32,
        ternary_f32_strided: neon_ternary_f32_strided,
        binary_f32: neon_binary_f32,
        binary_f32_strided: neon_binary_f32_strided,
    };
    if NeonDot::try_new().is_some() {
        set.names.ternary_u8 = u8_sdot::TERNARY_NAME;
        set.ternary_u8 = neon_sdot_ternary_u8;
        set.ternary_u8_strided = neon_sdot_ternary_u8_strided;
        set.names.binary_u8 = u8_sdot::BINARY_NAME;
        set.binary_u8 = neon_sdot_binary_u8;
        set.binary_u8_strided = neon_sdot_binary_u8_strided;
    }
    Some(set)
}

pub(crate) fn variants() -> Vec<KernelVariant> {
    let neon = Neon::try_new().is_some();
    let dot = NeonDot::try_new().is_some();
    let variant = |name, available, kernel| KernelVariant {
        name,
        isa: Isa::Neon,
        available,
        kernel,
    };
    vec![
        variant(
            u8_addsub::TERNARY_NAME,
            neon,
            AnyKernel::TernaryU8(neon_addsub_ternary_u8_strided),
        ),
        variant(
            u8_sdot::TERNARY_NAME,
            dot,
            AnyKernel::TernaryU8(neon_sdot_ternary_u8_strided),
        ),
        variant(
            u8_addsub::BINARY_NAME,
            neon,
            AnyKernel::BinaryU8(neon_addsub_binary_u8_strided),
        ),
        variant(
            u8_sdot::BINARY_NAME,
            dot,
            AnyKernel::BinaryU8(neon_sdot_binary_u8_strided),
        ),
        variant(
            binary_b1::NAME,
            neon,
            AnyKernel::BinaryB1(neon_cnt_binary_b1_strided),
        ),
        variant(
            float::TERNARY_NAME,
            neon,
            AnyKernel::TernaryF32(neon_ternary_f32_strided),
        ),
        variant(
            float::BINARY_NAME,
            neon,
            AnyKernel::BinaryF32(neon_binary_f32_strided),
        ),
    ]
}
