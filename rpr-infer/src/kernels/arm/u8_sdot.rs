//! `sdot` kernels for `u8` activations. `sdot` multiplies signed bytes
//! only, so activations are shifted to `a - 128` (an XOR with 0x80) and the
//! tile adds back `128 * sum_k code[k]` per weight row, summed over all `kp`
//! columns to match the shifted padding. The codes {-1, 0, +1} come from
//! the bit planes on the fly, 16 columns at a time.

use std::arch::aarch64::*;
use std::arch::asm;

use super::bits::{expand_bits_u8, read_u16};
use super::NeonDot;
use crate::kernels::check::{word, Dims};
use crate::kernels::tiles::for_each_tile;

const MR: usize = 4;
const NR: usize = 2;

pub(crate) const TERNARY_NAME: &str = "neon_sdot_ternary_u8_4x2";
pub(crate) const BINARY_NAME: &str = "neon_sdot_binary_u8_4x2";

pub(crate) fn gemm<const BINARY: bool>(
    _token: NeonDot,
    d: &Dims,
    a: &[u8],
    w: &[u8],
    out: &mut [i32],
) {
    for_each_tile(d.p, d.o, MR, NR, |i, j, tm, tn| {
        let code_sums: [i32; NR] = std::array::from_fn(|jj| {
            if jj < tn {
                code_sum::<BINARY>(d, d.weight_row(w, j + jj))
            } else {
                0
            }
        });
        // SAFETY: the token proves NEON and dotprod. `check` verified `a`
        // (`p * kp`), `w` (`o * row_bytes`) and `out` (`(p - 1) * stride + o`),
        // and the tile rows `i..i + tm <= p` and columns `j..j + tn <= o`
        // stay inside them.
        unsafe {
            let a_tile = a.as_ptr().add(i * d.kp);
            let w_tile = w.as_ptr().add(j * d.row_bytes);
            let out_tile = out.as_mut_ptr().add(i * d.stride + j);
            match (tm, tn) {
                (MR, NR) => tile::<BINARY, MR, NR>(d, a_tile, w_tile, &code_sums, out_tile),
                (MR, 1) => tile::<BINARY, MR, 1>(d, a_tile, w_tile, &code_sums, out_tile),
                (1, NR) => tile::<BINARY, 1, NR>(d, a_tile, w_tile, &code_sums, out_tile),
                _ => tile::<BINARY, 1, 1>(d, a_tile, w_tile, &code_sums, out_tile),
            }
        }
    });
}

/// Sum of the codes of one weight row over all `kp` columns.
fn code_sum<const BINARY: bool>(d: &Dims, row: &[u8]) -> i32 {
    let ones: u32 = (0..d.words)
        .map(|index| word(row, index).count_ones())
        .sum();
    if BINARY {
        // Clear bits, padding included, are -1.
        2 * ones as i32 - d.kp as i32
    } else {
        let negative: u32 = (0..d.words)
            .map(|index| word(row, d.words + index).count_ones())
            .sum();
        ones as i32 - 2 * negative as i32
    }
}

/// `acc + sum of x[4l..4l+4] * y[4l..4l+4]` per lane `l`, as signed bytes.
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn sdot(mut acc: int32x4_t, x: int8x16_t, y: int8x16_t) -> int32x4_t {
    // `vdotq_s32` is not stable in Rust 1.95, so the instruction is written out.
    // SAFETY: `sdot` only reads and writes these vector registers; the
    // target feature guarantees the CPU has it.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {x:v}.16b, {y:v}.16b",
            acc = inout(vreg) acc,
            x = in(vreg) x,
            y = in(vreg) y,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn tile<const BINARY: bool, const M: usize, const N: usize>(
    d: &Dims,
    a: *const u8,
    w: *const u8,
    code_sums: &[i32],
    out: *mut i32,
) {
    let one = vdupq_n_u8(1);
    let two = vdupq_n_u8(2);
    let shift = vdupq_n_u8(0x80);
    let mut acc = [[vdupq_n_s32(0); N]; M];
    for chunk in 0..d.kp / 16 {
        let mut code = [vdupq_n_s8(0); N];
        for (j, c) in code.iter_mut().enumerate() {
            let row = w.wrapping_add(j * d.row_bytes);
            // SAFETY: bytes `2 * chunk..2 * chunk + 2 <= kp / 8` of each plane of row `j` exist.
            let bits = expand_bits_u8(unsafe { read_u16(row, 2 * chunk) });
            let codes = if BINARY {
                // A set bit gives 2 - 1 = +1 and a clear bit 0 - 1 = -1.
                vsubq_u8(vandq_u8(bits, two), one)
            } else {
                // SAFETY: as above, in the negative plane.
                let negative = expand_bits_u8(unsafe { read_u16(row, 4 * d.words + 2 * chunk) });
                vandq_u8(bits, vorrq_u8(negative, one))
            };
            *c = vreinterpretq_s8_u8(codes);
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: columns `16 * chunk..16 * chunk + 16 <= kp` of row `i` exist.
            let x = unsafe { vld1q_u8(a.add(i * d.kp + 16 * chunk)) };
            let x = vreinterpretq_s8_u8(veorq_u8(x, shift));
            for (acc_ij, &c) in acc_row.iter_mut().zip(&code) {
                *acc_ij = sdot(*acc_ij, x, c);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            let sum = vaddvq_s32(v) + 128 * code_sums[j];
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = sum };
        }
    }
}
