//! XNOR-popcount kernel for binary weights and 1-bit activations: `eor`
//! marks the differing signs of 128 columns, `cnt` counts them per byte and
//! `uadalp` accumulates the counts. The last word of each activation row is
//! masked to the `k` valid bits, and weight padding bits are zero (checked),
//! so padding never counts.

use std::arch::aarch64::*;

use super::Neon;
use crate::kernels::check::{valid_bits, Dims};
use crate::kernels::tiles::for_each_tile;

const MR: usize = 4;
const NR: usize = 2;
/// Vectors per widening: each 16-bit lane gains at most 16 per vector.
const FLUSH: usize = 2048;

pub(crate) const NAME: &str = "neon_cnt_binary_b1_4x2";

pub(crate) fn gemm(_token: Neon, d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]) {
    for_each_tile(d.p, d.o, MR, NR, |i, j, tm, tn| {
        // SAFETY: the token proves NEON. `check` verified `a` (`p * words`
        // words), `w` (`o * row_bytes`) and `out` (`(p - 1) * stride + o`),
        // and the tile stays inside them.
        unsafe {
            let a_tile = a.as_ptr().add(i * d.words);
            let w_tile = w.as_ptr().add(j * d.row_bytes);
            let out_tile = out.as_mut_ptr().add(i * d.stride + j);
            match (tm, tn) {
                (MR, NR) => tile::<MR, NR>(d, a_tile, w_tile, out_tile),
                (MR, 1) => tile::<MR, 1>(d, a_tile, w_tile, out_tile),
                (1, NR) => tile::<1, NR>(d, a_tile, w_tile, out_tile),
                _ => tile::<1, 1>(d, a_tile, w_tile, out_tile),
            }
        }
    });
}

/// Loads `count <= 4` words from `ptr`, zero-filling the rest.
///
/// # Safety
/// `count` words from `ptr` must be readable.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn load_words(ptr: *const u32, count: usize) -> uint8x16_t {
    let mut words = [0u32; 4];
    // SAFETY: the caller guarantees `count` readable words; `words` has room for 4.
    unsafe { std::ptr::copy_nonoverlapping(ptr, words.as_mut_ptr(), count) };
    // SAFETY: `words` is 16 readable bytes.
    vreinterpretq_u8_u32(unsafe { vld1q_u32(words.as_ptr()) })
}

#[target_feature(enable = "neon")]
unsafe fn tile<const M: usize, const N: usize>(
    d: &Dims,
    a: *const u32,
    w: *const u8,
    out: *mut i32,
) {
    let mut totals = [[0u32; N]; M];
    let mut counts = [[vdupq_n_u16(0); N]; M];
    let mut start = 0;
    let mut vectors = 0;
    while start < d.words {
        let count = 4.min(d.words - start);
        let mut weights = [vdupq_n_u8(0); N];
        for (j, v) in weights.iter_mut().enumerate() {
            // SAFETY: words `start..start + count <= words` of weight row `j` exist.
            *v = unsafe { load_words(w.add(j * d.row_bytes + 4 * start).cast(), count) };
        }
        let mut valid = [u32::MAX; 4];
        if start + count == d.words {
            valid[count - 1] = valid_bits(d.k, d.words - 1);
        }
        // SAFETY: `valid` is 16 readable bytes.
        let valid = vreinterpretq_u8_u32(unsafe { vld1q_u32(valid.as_ptr()) });
        for (i, count_row) in counts.iter_mut().enumerate() {
            // SAFETY: words `start..start + count` of activation row `i` exist.
            let x = vandq_u8(
                unsafe { load_words(a.add(i * d.words + start), count) },
                valid,
            );
            for (c, &v) in count_row.iter_mut().zip(&weights) {
                *c = vpadalq_u8(*c, vcntq_u8(veorq_u8(x, v)));
            }
        }
        start += count;
        vectors += 1;
        if vectors % FLUSH == 0 || start == d.words {
            for (total_row, count_row) in totals.iter_mut().zip(counts.iter_mut()) {
                for (t, c) in total_row.iter_mut().zip(count_row.iter_mut()) {
                    *t += vaddlvq_u16(*c);
                    *c = vdupq_n_u16(0);
                }
            }
        }
    }
    for (i, total_row) in totals.iter().enumerate() {
        for (j, &differing) in total_row.iter().enumerate() {
            let sum = d.k as i64 - 2 * i64::from(differing);
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = sum as i32 };
        }
    }
}
