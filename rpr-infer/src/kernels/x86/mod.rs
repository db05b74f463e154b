//! x86_64 kernels: AVX2 and AVX-512, each behind a safe entry point that
//! checks the arguments and then proves the CPU feature with a token.

mod avx2;
mod avx512;
mod reduce;
mod tokens;

use rpr_core::pack::{Encoding, PackedView};

use super::check::{binary_dense, check_bits, check_conv, ternary_dense, weight_checks, Dims};
use super::set::{gemm_entry, AnyKernel, KernelNames, KernelSet, KernelVariant};
use super::{ConvOutput, Isa, KernelError, PreparedWeights, Windows};

pub(crate) use tokens::{Avx2, Avx512, Avx512Popcnt, Avx512Vnni};

/// Turns a missing token into an error. The entries are only reachable
/// through a set built after detection, so this fails only when a caller
/// kept a function pointer from a [`KernelVariant`] marked unavailable.
fn proven<T>(token: Option<T>, isa: &'static str) -> Result<T, KernelError> {
    token.ok_or(KernelError::IsaUnavailable { isa })
}

gemm_entry!(
    avx512_vnni_ternary_u8,
    avx512_vnni_ternary_u8_strided,
    avx512::u8_dot::TERNARY_NAME,
    u8,
    i32,
    ternary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx512Vnni::try_new(), "avx512 vnni")?;
        avx512::u8_dot::gemm::<false>(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx512_vnni_binary_u8,
    avx512_vnni_binary_u8_strided,
    avx512::u8_dot::BINARY_NAME,
    u8,
    i32,
    binary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx512Vnni::try_new(), "avx512 vnni")?;
        avx512::u8_dot::gemm::<true>(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx512_bcast_ternary_u8,
    avx512_bcast_ternary_u8_strided,
    avx512::u8_bcast::TERNARY_NAME,
    u8,
    i32,
    ternary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx512Vnni::try_new(), "avx512 vnni")?;
        avx512::u8_bcast::gemm::<false>(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx512_bcast_binary_u8,
    avx512_bcast_binary_u8_strided,
    avx512::u8_bcast::BINARY_NAME,
    u8,
    i32,
    binary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx512Vnni::try_new(), "avx512 vnni")?;
        avx512::u8_bcast::gemm::<true>(token, d, a, w, out);
        Ok(())
    }
);
/// Name and weight encoding of a broadcast `vpdpbusd` kernel.
fn bcast_kernel<const BINARY: bool>() -> (&'static str, Encoding) {
    if BINARY {
        (avx512::u8_bcast::BINARY_NAME, Encoding::Binary)
    } else {
        (avx512::u8_bcast::TERNARY_NAME, Encoding::Ternary2)
    }
}

/// Expands weights for [`avx512_bcast_u8_conv`] (a [`super::PrepareFn`]).
pub(crate) fn avx512_bcast_u8_prepare<const BINARY: bool>(
    w: &PackedView<'_>,
) -> Result<PreparedWeights, KernelError> {
    let (kernel, encoding) = bcast_kernel::<BINARY>();
    let d = weight_checks(kernel, w, encoding)?;
    let token = proven(Avx512Vnni::try_new(), "avx512 vnni")?;
    let vectors = avx512::u8_bcast::prepare::<BINARY>(token, &d, w.data);
    Ok(PreparedWeights {
        kernel,
        rows: w.rows,
        k: w.k,
        vectors,
    })
}

/// Implicit-GEMM entry of the broadcast `vpdpbusd` kernels (a
/// [`super::ConvGemmFn`]); `BINARY` selects the 1-bit weight layout.
pub(crate) fn avx512_bcast_u8_conv<const BINARY: bool>(
    image: &[u8],
    windows: &Windows,
    w: &PackedView<'_>,
    prepared: Option<&PreparedWeights>,
    out: ConvOutput<'_>,
) -> Result<(), KernelError> {
    use avx512::u8_bcast::{block_vectors, conv_gemm, ScaledSink, SumSink};

    let (name, encoding) = bcast_kernel::<BINARY>();
    let (d, tap_steps) = check_conv(name, encoding, image, windows, w, &out)?;
    if d.p == 0 || d.o == 0 {
        return Ok(());
    }
    let prepared = match prepared {
        None => None,
        Some(p) => {
            let expected = d.o.div_ceil(64) * block_vectors(d.k.div_ceil(4));
            if p.kernel != name || p.rows != d.o || p.k != d.k || p.vectors.len() != expected {
                return Err(KernelError::PreparedMismatch {
                    kernel: name,
                    made_by: p.kernel,
                    rows: p.rows,
                    k: p.k,
                });
            }
            Some(p.vectors.as_slice())
        }
    };
    let token = proven(Avx512Vnni::try_new(), "avx512 vnni")?;
    let stride = d.stride;
    // SAFETY: `check_conv` verified the windows, the weights, that `out`
    // contains `p` rows of `o` outputs, that the scales contain `o` values and
    // that a residual is as long as `out`. `prepared` was made for weights
    // of this shape and contains every block.
    unsafe {
        match out {
            ConvOutput::Sums(out) => {
                let sink = SumSink {
                    out: out.as_mut_ptr(),
                    stride,
                };
                conv_gemm::<BINARY, _>(
                    token, &d, image, windows, tap_steps, w.data, prepared, sink,
                );
            }
            ConvOutput::F32 { out, epilogue } => {
                let sink = ScaledSink::new(out.as_mut_ptr(), stride, &epilogue, 1.0);
                conv_gemm::<BINARY, _>(
                    token, &d, image, windows, tap_steps, w.data, prepared, sink,
                );
            }
            ConvOutput::U8 {
                out,
                epilogue,
                inv_scale,
            } => {
                let sink = ScaledSink::new(out.as_mut_ptr(), stride, &epilogue, inv_scale);
                conv_gemm::<BINARY, _>(
                    token, &d, image, windows, tap_steps, w.data, prepared, sink,
                );
            }
        }
    }
    Ok(())
}

gemm_entry!(
    avx512_addsub_ternary_u8,
    avx512_addsub_ternary_u8_strided,
    avx512::u8_addsub::NAME,
    u8,
    i32,
    ternary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx512::try_new(), "avx512")?;
        avx512::u8_addsub::gemm(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx512_popcnt_binary_b1,
    avx512_popcnt_binary_b1_strided,
    avx512::binary_b1::NAME,
    u32,
    i32,
    check_bits,
    |d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx512Popcnt::try_new(), "avx512 vpopcntdq")?;
        avx512::binary_b1::gemm(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx512_bcast_binary_b1,
    avx512_bcast_binary_b1_strided,
    avx512::b1_bcast::NAME,
    u32,
    i32,
    check_bits,
    |d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx512Popcnt::try_new(), "avx512 vpopcntdq")?;
        avx512::b1_bcast::gemm(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx512_ternary_f32,
    avx512_ternary_f32_strided,
    avx512::float::TERNARY_NAME,
    f32,
    f32,
    ternary_dense,
    |d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]| {
        let token = proven(Avx512::try_new(), "avx512")?;
        avx512::float::gemm::<false>(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx512_binary_f32,
    avx512_binary_f32_strided,
    avx512::float::BINARY_NAME,
    f32,
    f32,
    binary_dense,
    |d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]| {
        let token = proven(Avx512::try_new(), "avx512")?;
        avx512::float::gemm::<true>(token, d, a, w, out);
        Ok(())
    }
);

gemm_entry!(
    avx2_maddubs_ternary_u8,
    avx2_maddubs_ternary_u8_strided,
    avx2::u8_dot::TERNARY_NAME,
    u8,
    i32,
    ternary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx2::try_new(), "avx2")?;
        avx2::u8_dot::gemm::<false>(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx2_maddubs_binary_u8,
    avx2_maddubs_binary_u8_strided,
    avx2::u8_dot::BINARY_NAME,
    u8,
    i32,
    binary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx2::try_new(), "avx2")?;
        avx2::u8_dot::gemm::<true>(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx2_addsub_ternary_u8,
    avx2_addsub_ternary_u8_strided,
    avx2::u8_addsub::NAME,
    u8,
    i32,
    ternary_dense,
    |d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx2::try_new(), "avx2")?;
        avx2::u8_addsub::gemm(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx2_pshufb_binary_b1,
    avx2_pshufb_binary_b1_strided,
    avx2::binary_b1::NAME,
    u32,
    i32,
    check_bits,
    |d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]| {
        let token = proven(Avx2::try_new(), "avx2")?;
        avx2::binary_b1::gemm(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx2_ternary_f32,
    avx2_ternary_f32_strided,
    avx2::float::TERNARY_NAME,
    f32,
    f32,
    ternary_dense,
    |d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]| {
        let token = proven(Avx2::try_new(), "avx2")?;
        avx2::float::gemm::<false>(token, d, a, w, out);
        Ok(())
    }
);
gemm_entry!(
    avx2_binary_f32,
    avx2_binary_f32_strided,
    avx2::float::BINARY_NAME,
    f32,
    f32,
    binary_dense,
    |d: &Dims, a: &[f32], w: &[u8], out: &mut [f32]| {
        let token = proven(Avx2::try_new(), "avx2")?;
        avx2::float::gemm::<true>(token, d, a, w, out);
        Ok(())
    }
);

/// The AVX2 set. `ternary_u8` uses the multiplier-free add/sub kernel, which
/// was faster than the `vpmaddubsw` kernel on every shape measured. It ran at
/// 62.3 against 61.1 GMAC/s on 1024^3, and at 44.2 against 37.6, 57.3 against
/// 52.7 and 58.2 against 49.6 on the three ResNet-20 conv shapes. These come
/// from `cargo bench -p rpr-benches --no-default-features --bench kernels`,
/// built without LTO, on one otherwise idle AMD EPYC Zen 4 core. The `vpmaddubsw` kernel stays
/// available as a variant and is still the `binary_u8` default.
pub(crate) fn avx2_set() -> Option<KernelSet> {
    Avx2::try_new()?;
    Some(KernelSet {
        isa: Isa::Avx2,
        names: KernelNames {
            ternary_u8: avx2::u8_addsub::NAME,
            binary_u8: avx2::u8_dot::BINARY_NAME,
            binary_b1: avx2::binary_b1::NAME,
            ternary_f32: avx2::float::TERNARY_NAME,
            binary_f32: avx2::float::BINARY_NAME,
        },
        ternary_u8: avx2_addsub_ternary_u8,
        ternary_u8_strided: avx2_addsub_ternary_u8_strided,
        binary_u8: avx2_maddubs_binary_u8,
        binary_u8_strided: avx2_maddubs_binary_u8_strided,
        ternary_u8_conv: None,
        binary_u8_conv: None,
        ternary_u8_prepare: None,
        binary_u8_prepare: None,
        binary_b1: avx2_pshufb_binary_b1,
        binary_b1_strided: avx2_pshufb_binary_b1_strided,
        ternary_f32: avx2_ternary_f32,
        ternary_f32_strided: avx2_ternary_f32_strided,
        binary_f32: avx2_binary_f32,
        binary_f32_strided: avx2_binary_f32_strided,
    })
}

/// The AVX-512 set; needs F and BW. Families whose best kernel needs VNNI or
/// VPOPCNTDQ fall back to the AVX2 kernel when those are missing.
///
/// `ternary_u8` and `binary_u8` use `vpdpbusd`: on 1024^3 it ran 2.6x faster
/// than the AVX-512 add/sub kernel (126 against 48 GMAC/s, AMD EPYC Zen 4,
/// one core). Without VNNI the AVX2 kernels still beat the AVX-512 add/sub
/// kernel (57 against 48 for `vpmaddubsw` in an older run), so the AVX-512
/// add/sub kernel is never the default.
///
/// Of the two `vpdpbusd` kernels, the output-channel-vectorized one in
/// `u8_bcast` is the default because it was faster on every shape measured.
/// It ran at 223 against 177 GMAC/s on 1024^3 and 140 against 80 on the
/// `784 x 16 x 144` GEMM of a ResNet-20 stage-1 conv. On the stage-2 and
/// stage-3 shapes it ran at 193 against 128 and 158 against 145. These come
/// from `cargo bench -p rpr-benches --no-default-features --bench kernels`,
/// built without LTO, on one otherwise idle AMD EPYC Zen 4 core. The
/// row-dot-product kernel in `u8_dot` stays available as a variant.
///
/// `binary_b1` likewise uses the output-channel-vectorized kernel in
/// `b1_bcast`, which needs no horizontal sums. In one run of the same
/// benchmark it ran at 1012 against 547 GMAC/s on 1024^3, and at 530
/// against 123, 741 against 250 and 706 against 314 on the three ResNet-20
/// shapes, against the row-vectorized kernel in `binary_b1`.
pub(crate) fn avx512_set() -> Option<KernelSet> {
    Avx512::try_new()?;
    // Every AVX-512 CPU has AVX2, which covers the families below that lack
    // an AVX-512 kernel on this CPU.
    let mut set = avx2_set()?;
    set.isa = Isa::Avx512;
    if Avx512Vnni::try_new().is_some() {
        set.names.ternary_u8 = avx512::u8_bcast::TERNARY_NAME;
        set.ternary_u8 = avx512_bcast_ternary_u8;
        set.ternary_u8_strided = avx512_bcast_ternary_u8_strided;
        set.names.binary_u8 = avx512::u8_bcast::BINARY_NAME;
        set.binary_u8 = avx512_bcast_binary_u8;
        set.binary_u8_strided = avx512_bcast_binary_u8_strided;
        set.ternary_u8_conv = Some(avx512_bcast_u8_conv::<false>);
        set.binary_u8_conv = Some(avx512_bcast_u8_conv::<true>);
        set.ternary_u8_prepare = Some(avx512_bcast_u8_prepare::<false>);
        set.binary_u8_prepare = Some(avx512_bcast_u8_prepare::<true>);
    }
    if Avx512Popcnt::try_new().is_some() {
        set.names.binary_b1 = avx512::b1_bcast::NAME;
        set.binary_b1 = avx512_bcast_binary_b1;
        set.binary_b1_strided = avx512_bcast_binary_b1_strided;
    }
    set.names.ternary_f32 = avx512::float::TERNARY_NAME;
    set.ternary_f32 = avx512_ternary_f32;
    set.ternary_f32_strided = avx512_ternary_f32_strided;
    set.names.binary_f32 = avx512::float::BINARY_NAME;
    set.binary_f32 = avx512_binary_f32;
    set.binary_f32_strided = avx512_binary_f32_strided;
    Some(set)
}

pub(crate) fn variants() -> Vec<KernelVariant> {
    let avx2 = Avx2::try_new().is_some();
    let avx512 = Avx512::try_new().is_some();
    let vnni = Avx512Vnni::try_new().is_some();
    let popcnt = Avx512Popcnt::try_new().is_some();
    let variant = |name, isa, available, kernel| KernelVariant {
        name,
        isa,
        available,
        kernel,
    };
    vec![
        variant(
            avx2::u8_dot::TERNARY_NAME,
            Isa::Avx2,
            avx2,
            AnyKernel::TernaryU8(avx2_maddubs_ternary_u8_strided),
        ),
        variant(
            avx2::u8_addsub::NAME,
            Isa::Avx2,
            avx2,
            AnyKernel::TernaryU8(avx2_addsub_ternary_u8_strided),
        ),
        variant(
            avx2::u8_dot::BINARY_NAME,
            Isa::Avx2,
            avx2,
            AnyKernel::BinaryU8(avx2_maddubs_binary_u8_strided),
        ),
        variant(
            avx2::binary_b1::NAME,
            Isa::Avx2,
            avx2,
            AnyKernel::BinaryB1(avx2_pshufb_binary_b1_strided),
        ),
        variant(
            avx2::float::TERNARY_NAME,
            Isa::Avx2,
            avx2,
            AnyKernel::TernaryF32(avx2_ternary_f32_strided),
        ),
        variant(
            avx2::float::BINARY_NAME,
            Isa::Avx2,
            avx2,
            AnyKernel::BinaryF32(avx2_binary_f32_strided),
        ),
        variant(
            avx512::u8_dot::TERNARY_NAME,
            Isa::Avx512,
            vnni,
            AnyKernel::TernaryU8(avx512_vnni_ternary_u8_strided),
        ),
        variant(
            avx512::u8_bcast::TERNARY_NAME,
            Isa::Avx512,
            vnni,
            AnyKernel::TernaryU8(avx512_bcast_ternary_u8_strided),
        ),
        variant(
            avx512::u8_bcast::BINARY_NAME,
            Isa::Avx512,
            vnni,
            AnyKernel::BinaryU8(avx512_bcast_binary_u8_strided),
        ),
        variant(
            avx512::u8_addsub::NAME,
            Isa::Avx512,
            avx512,
            AnyKernel::TernaryU8(avx512_addsub_ternary_u8_strided),
        ),
        variant(
            avx512::u8_dot::BINARY_NAME,
            Isa::Avx512,
            vnni,
            AnyKernel::BinaryU8(avx512_vnni_binary_u8_strided),
        ),
        variant(
            avx512::binary_b1::NAME,
            Isa::Avx512,
            popcnt,
            AnyKernel::BinaryB1(avx512_popcnt_binary_b1_strided),
        ),
        variant(
            avx512::b1_bcast::NAME,
            Isa::Avx512,
            popcnt,
            AnyKernel::BinaryB1(avx512_bcast_binary_b1_strided),
        ),
        variant(
            avx512::float::TERNARY_NAME,
            Isa::Avx512,
            avx512,
            AnyKernel::TernaryF32(avx512_ternary_f32_strided),
        ),
        variant(
            avx512::float::BINARY_NAME,
            Isa::Avx512,
            avx512,
            AnyKernel::BinaryF32(avx512_binary_f32_strided),
        ),
    ]
}
