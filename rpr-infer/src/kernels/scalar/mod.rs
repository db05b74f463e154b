//! Portable kernels. They are the fallback on every CPU and the oracle that
//! the SIMD kernels are tested against, so they favour plain loops over speed.

mod binary_b1;
mod binary_u8;
mod float;
mod ternary_u8;

use super::check::{binary_dense, check_bits, ternary_dense, Dims};
use super::set::{gemm_entry, AnyKernel, KernelNames, KernelSet, KernelVariant};
use super::{Isa, KernelError};

pub(crate) const NAMES: KernelNames = KernelNames {
    ternary_u8: "scalar_ternary_u8_1x1",
    binary_u8: "scalar_binary_u8_1x1",
    binary_b1: "scalar_binary_b1_1x1",
    ternary_f32: "scalar_ternary_f32_1x1",
    binary_f32: "scalar_binary_f32_1x1",
};

/// Adapts an infallible scalar kernel to the entry macro's fallible body.
fn infallible<A, T>(
    kernel: fn(&Dims, &[A], &[u8], &mut [T]),
) -> impl Fn(&Dims, &[A], &[u8], &mut [T]) -> Result<(), KernelError> {
    move |d, a, w, out| {
        kernel(d, a, w, out);
        Ok(())
    }
}

gemm_entry!(
    ternary_u8,
    ternary_u8_strided,
    NAMES.ternary_u8,
    u8,
    i32,
    ternary_dense,
    infallible(ternary_u8::scalar_ternary_u8_1x1)
);
gemm_entry!(
    binary_u8,
    binary_u8_strided,
    NAMES.binary_u8,
    u8,
    i32,
    binary_dense,
    infallible(binary_u8::scalar_binary_u8_1x1)
);
gemm_entry!(
    binary_b1,
    binary_b1_strided,
    NAMES.binary_b1,
    u32,
    i32,
    check_bits,
    infallible(binary_b1::scalar_binary_b1_1x1)
);
gemm_entry!(
    ternary_f32,
    ternary_f32_strided,
    NAMES.ternary_f32,
    f32,
    f32,
    ternary_dense,
    infallible(float::scalar_ternary_f32_1x1)
);
gemm_entry!(
    binary_f32,
    binary_f32_strided,
    NAMES.binary_f32,
    f32,
    f32,
    binary_dense,
    infallible(float::scalar_binary_f32_1x1)
);

/// Builds the portable set, which every CPU supports.
pub(crate) fn set() -> KernelSet {
    KernelSet {
        isa: Isa::Scalar,
        names: NAMES,
        ternary_u8,
        ternary_u8_strided,
        binary_u8,
        binary_u8_strided,
        ternary_u8_conv: None,
        binary_u8_conv: None,
        ternary_u8_prepare: None,
        binary_u8_prepare: None,
        binary_b1,
        binary_b1_strided,
        ternary_f32,
        ternary_f32_strided,
        binary_f32,
        binary_f32_strided,
    }
}

pub(crate) fn variants() -> Vec<KernelVariant> {
    let variant = |name, kernel| KernelVariant {
        name,
        isa: Isa::Scalar,
        available: true,
        kernel,
    };
    vec![
        variant(NAMES.ternary_u8, AnyKernel::TernaryU8(ternary_u8_strided)),
        variant(NAMES.binary_u8, AnyKernel::BinaryU8(binary_u8_strided)),
        variant(NAMES.binary_b1, AnyKernel::BinaryB1(binary_b1_strided)),
        variant(
            NAMES.ternary_f32,
            AnyKernel::TernaryF32(ternary_f32_strided),
        ),
        variant(NAMES.binary_f32, AnyKernel::BinaryF32(binary_f32_strided)),
    ]
}
