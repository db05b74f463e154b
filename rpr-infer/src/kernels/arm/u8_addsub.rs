//! Multiplier-free kernels for `u8` activations, for cores without `sdot`
//! such as the Cortex-A72 of the Raspberry Pi 4: byte masks select the
//! activations under +1 and under -1 codes, and `uadalp` adds neighbouring
//! selected bytes into 16-bit lanes. The 16-bit sums are widened into
//! `i32` every 128 chunks of 16 columns, before they can reach 2^16.

use std::arch::aarch64::*;

use super::bits::{expand_bits_u8, read_u16};
use super::Neon;
use crate::kernels::check::Dims;
use crate::kernels::tiles::for_each_tile;

const MR: usize = 4;
const NR: usize = 2;
/// Chunks per widening: each 16-bit lane gains at most 2 * 255 per chunk.
const FLUSH: usize = 128;

pub(crate) const TERNARY_NAME: &str = "neon_addsub_ternary_u8_4x2";
pub(crate) const BINARY_NAME: &str = "neon_addsub_binary_u8_4x2";

pub(crate) fn gemm<const BINARY: bool>(
    _token: Neon,
    d: &Dims,
    a: &[u8],
    w: &[u8],
    out: &mut [i32],
) {
    for_each_tile(d.p, d.o, MR, NR, |i, j, tm, tn| {
        // SAFETY: the token proves NEON. `check` verified `a` (`p * kp`),
        // `w` (`o * row_bytes`) and `out` (`(p - 1) * stride + o`), and the
        // tile rows `i..i + tm <= p` and columns `j..j + tn <= o` stay inside them.
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
    a: *const u8,
    w: *const u8,
    out: *mut i32,
) {
    let mut acc = [[vdupq_n_s32(0); N]; M];
    let mut added = [[vdupq_n_u16(0); N]; M];
    let mut subtracted = [[vdupq_n_u16(0); N]; M];
    let chunks = d.kp / 16;
    for chunk in 0..chunks {
        let mut plus = [vdupq_n_u8(0); N];
        let mut minus = [vdupq_n_u8(0); N];
        for j in 0..N {
            let row = w.wrapping_add(j * d.row_bytes);
            // SAFETY: bytes `2 * chunk..2 * chunk + 2 <= kp / 8` of each plane of row `j` exist.
            let bits = unsafe { read_u16(row, 2 * chunk) };
            if BINARY {
                plus[j] = expand_bits_u8(bits);
                minus[j] = vmvnq_u8(plus[j]);
            } else {
                // SAFETY: as above, in the negative plane.
                let negative = unsafe { read_u16(row, 4 * d.words + 2 * chunk) };
                plus[j] = expand_bits_u8(bits & !negative);
                minus[j] = expand_bits_u8(negative);
            }
        }
        for i in 0..M {
            // SAFETY: columns `16 * chunk..16 * chunk + 16 <= kp` of row `i` exist.
            let x = unsafe { vld1q_u8(a.add(i * d.kp + 16 * chunk)) };
            for j in 0..N {
                added[i][j] = vpadalq_u8(added[i][j], vandq_u8(x, plus[j]));
                subtracted[i][j] = vpadalq_u8(subtracted[i][j], vandq_u8(x, minus[j]));
            }
        }
        if (chunk + 1) % FLUSH == 0 || chunk + 1 == chunks {
            for i in 0..M {
                for j in 0..N {
                    let plus32 = vreinterpretq_s32_u32(vpaddlq_u16(added[i][j]));
                    let minus32 = vreinterpretq_s32_u32(vpaddlq_u16(subtracted[i][j]));
                    acc[i][j] = vsubq_s32(vaddq_s32(acc[i][j], plus32), minus32);
                    added[i][j] = vdupq_n_u16(0);
                    subtracted[i][j] = vdupq_n_u16(0);
                }
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = vaddvq_s32(v) };
        }
    }
}
