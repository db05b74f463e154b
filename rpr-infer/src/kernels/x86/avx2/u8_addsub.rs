//! Multiplier-free ternary kernel for `u8` activations: byte masks select
//! the activations under +1 and under -1 codes, and `vpsadbw` against zero
//! sums each group of 8 selected bytes into a 64-bit lane.
//!
//! AVX2 has no mask registers, and expanding a 32-bit plane word into a
//! byte mask takes about 5 instructions. The kernel therefore expands the
//! masks of 2 weight rows once per block of `P_BLOCK` activation rows, into
//! a buffer that every 4-row tile of the block reuses. Expanding them per
//! tile instead ran at about 42 GMAC/s on 1024^3 (AMD EPYC Zen 4, one core).

use std::arch::x86_64::*;

use super::{expand_bits_epi8, hsum_epi64, read_word};
use crate::kernels::check::Dims;
use crate::kernels::x86::Avx2;

const MR: usize = 4;
const NR: usize = 2;
/// Activation rows that share one mask expansion: 64 rows of `k = 1024`
/// are 64 KiB, which stays in L2 while the weight rows stream past.
const P_BLOCK: usize = 64;

pub(crate) const NAME: &str = "avx2_addsub_ternary_u8_4x2";

pub(crate) fn gemm(_token: Avx2, d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]) {
    // SAFETY: the token proves AVX2, and `check` verified the lengths that
    // `blocked` relies on (see there).
    unsafe { blocked(d, a, w, out) }
}

/// # Safety
/// AVX2 must be available, `a` must hold `p * kp` bytes, `w` `o * row_bytes`
/// bytes and `out` at least `(p - 1) * stride + o` elements.
#[target_feature(enable = "avx2")]
unsafe fn blocked(d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]) {
    // Per chunk of 32 columns and weight row: the +1 mask, then the -1 mask.
    let mut masks = vec![_mm256_setzero_si256(); 2 * NR * d.words];
    let mut p0 = 0;
    while p0 < d.p {
        let p1 = (p0 + P_BLOCK).min(d.p);
        let mut j0 = 0;
        while j0 < d.o {
            let n = NR.min(d.o - j0);
            expand_masks(d, w, j0, n, &mut masks);
            let mut i0 = p0;
            while i0 < p1 {
                let m = MR.min(p1 - i0);
                // SAFETY: rows `i0..i0 + m <= p` and columns `j0..j0 + n <= o`
                // are inside `a` and `out` by the function's contract.
                unsafe {
                    let a_tile = a.as_ptr().add(i0 * d.kp);
                    let out_tile = out.as_mut_ptr().add(i0 * d.stride + j0);
                    match (m, n) {
                        (MR, NR) => tile::<MR, NR>(d, a_tile, &masks, out_tile),
                        (MR, _) => tile::<MR, 1>(d, a_tile, &masks, out_tile),
                        (_, NR) => {
                            for r in 0..m {
                                tile::<1, NR>(
                                    d,
                                    a_tile.add(r * d.kp),
                                    &masks,
                                    out_tile.add(r * d.stride),
                                );
                            }
                        }
                        _ => {
                            for r in 0..m {
                                tile::<1, 1>(
                                    d,
                                    a_tile.add(r * d.kp),
                                    &masks,
                                    out_tile.add(r * d.stride),
                                );
                            }
                        }
                    }
                }
                i0 += m;
            }
            j0 += n;
        }
        p0 = p1;
    }
}

/// Writes the +1 and -1 byte masks of weight rows `j0..j0 + n` into `masks`.
#[target_feature(enable = "avx2")]
fn expand_masks(d: &Dims, w: &[u8], j0: usize, n: usize, masks: &mut [__m256i]) {
    for j in 0..n {
        let row = d.weight_row(w, j0 + j);
        for chunk in 0..d.words {
            // SAFETY: `row` contains both planes of `words` words each.
            let (nonzero, negative) = unsafe {
                (
                    read_word(row.as_ptr(), 4 * chunk),
                    read_word(row.as_ptr(), 4 * (d.words + chunk)),
                )
            };
            let slot = 2 * (chunk * NR + j);
            masks[slot] = expand_bits_epi8(nonzero & !negative);
            masks[slot + 1] = expand_bits_epi8(negative);
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn tile<const M: usize, const N: usize>(
    d: &Dims,
    a: *const u8,
    masks: &[__m256i],
    out: *mut i32,
) {
    let zero = _mm256_setzero_si256();
    let mut acc = [[_mm256_setzero_si256(); N]; M];
    for (chunk, chunk_masks) in masks.chunks_exact(2 * NR).enumerate() {
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: columns `32 * chunk..32 * chunk + 32 <= kp` of row `i` exist.
            let x = unsafe { _mm256_loadu_si256(a.add(i * d.kp + 32 * chunk).cast()) };
            for (j, acc_ij) in acc_row.iter_mut().enumerate() {
                let added = _mm256_sad_epu8(_mm256_and_si256(x, chunk_masks[2 * j]), zero);
                let subtracted = _mm256_sad_epu8(_mm256_and_si256(x, chunk_masks[2 * j + 1]), zero);
                *acc_ij = _mm256_sub_epi64(_mm256_add_epi64(*acc_ij, added), subtracted);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // The sum fits in i32 because `k <= MAX_K`.
            let sum = hsum_epi64(v) as i32;
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `blocked`).
            unsafe { *out.add(i * d.stride + j) = sum };
        }
    }
}
