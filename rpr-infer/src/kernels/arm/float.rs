//! `f32` kernels without multiplies: per 4 columns, the sign bit of the
//! activations under -1 codes is flipped, the activations under 0 codes are
//! masked off, and the rest is added.

use std::arch::aarch64::*;

use super::bits::expand_bits_u32;
use super::Neon;
use crate::kernels::check::Dims;
use crate::kernels::tiles::for_each_tile;

const MR: usize = 4;
const NR: usize = 2;

pub(crate) const TERNARY_NAME: &str = "neon_addsub_ternary_f32_4x2";
pub(crate) const BINARY_NAME: &str = "neon_addsub_binary_f32_4x2";

pub(crate) fn gemm<const BINARY: bool>(
    _token: Neon,
    d: &Dims,
    a: &[f32],
    w: &[u8],
    out: &mut [f32],
) {
    for_each_tile(d.p, d.o, MR, NR, |i, j, tm, tn| {
        // SAFETY: the token proves NEON. `check` verified `a` (`p * kp`),
        // `w` (`o * row_bytes`) and `out` (`(p - 1) * stride + o`), and the
        // tile stays inside them.
        unsafe {
            let a_tile = a.as_ptr().add(i * d.kp);
            let w_tile = w.as_ptr().add(j * d.row_bytes);
            let out_tile = out.as_mut_ptr().add(i * d.stride + j);
            match (tm, tn) {
                (MR, NR) => tile::<BINARY, MR, NR>(d, a_tile, w_tile, out_tile),
                (MR, 1) => tile::<BINARY, MR, 1>(d, a_tile, w_tile, out_tile),
                (1, NR) => tile::<BINARY, 1, NR>(d, a_tile, w_tile, out_tile),
                _ => tile::<BINARY, 1, 1>(d, a_tile, w_tile, out_tile),
            }
        }
    });
}

#[target_feature(enable = "neon")]
unsafe fn tile<const BINARY: bool, const M: usize, const N: usize>(
    d: &Dims,
    a: *const f32,
    w: *const u8,
    out: *mut f32,
) {
    let sign_bit = vdupq_n_u32(0x8000_0000);
    let mut acc = [[vdupq_n_f32(0.0); N]; M];
    // Padding columns hold zero activations, so chunks stop at `k`.
    for chunk in 0..d.k.div_ceil(4) {
        let mut flip = [vdupq_n_u32(0); N];
        let mut keep = [vdupq_n_u32(0); N];
        let shift = 4 * (chunk % 2);
        for j in 0..N {
            let row = w.wrapping_add(j * d.row_bytes);
            // SAFETY: byte `chunk / 2 < kp / 8` of the first plane of row `j` exists.
            let bits = expand_bits_u32(unsafe { row.add(chunk / 2).read() } >> shift & 0xf);
            if BINARY {
                flip[j] = vbicq_u32(sign_bit, bits);
            } else {
                // SAFETY: as above, in the negative plane, which ternary rows have.
                let negative = unsafe { row.add(4 * d.words + chunk / 2).read() } >> shift & 0xf;
                flip[j] = vandq_u32(expand_bits_u32(negative), sign_bit);
                keep[j] = bits;
            }
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: columns `4 * chunk..4 * chunk + 4 <= kp` of row `i` exist.
            let x = vreinterpretq_u32_f32(unsafe { vld1q_f32(a.add(i * d.kp + 4 * chunk)) });
            for (j, acc_ij) in acc_row.iter_mut().enumerate() {
                let signed = veorq_u32(x, flip[j]);
                let term = if BINARY {
                    signed
                } else {
                    vandq_u32(signed, keep[j])
                };
                *acc_ij = vaddq_f32(*acc_ij, vreinterpretq_f32_u32(term));
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = vaddvq_f32(v) };
        }
    }
}
