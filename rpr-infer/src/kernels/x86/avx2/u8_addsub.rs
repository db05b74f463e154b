//! Multiplier-free ternary kernel for `u8` activations: byte masks select
//! the activations under +1 and under -1 codes, and `vpsadbw` against zero
//! sums each group of 8 selected bytes into a 64-bit lane.

use std::arch::x86_64::*;

use super::{expand_bits_epi8, hsum_epi64, read_word};
use crate::kernels::check::Dims;
use crate::kernels::tiles::tiles;
use crate::kernels::x86::Avx2;

const MR: usize = 4;
const NR: usize = 2;

pub(crate) const NAME: &str = "avx2_addsub_ternary_u8_4x2";

pub(crate) fn gemm(_token: Avx2, d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]) {
    let mut i0 = 0;
    while i0 < d.p {
        let m = MR.min(d.p - i0);
        let mut j0 = 0;
        while j0 < d.o {
            let n = NR.min(d.o - j0);
            for (di, dj, tm, tn) in tiles(m, n, MR, NR) {
                let (i, j) = (i0 + di, j0 + dj);
                // SAFETY: the token proves AVX2. `check` verified `a`
                // (`p * kp`), `w` (`o * row_bytes`) and `out`
                // (`(p - 1) * stride + o`); the tile stays inside them.
                unsafe {
                    let a_tile = a.as_ptr().add(i * d.kp);
                    let w_tile = w.as_ptr().add(j * d.row_bytes);
                    let out_tile = out.as_mut_ptr().add(i * d.stride + j);
                    match (tm, tn) {
                        (MR, NR) => tile::<MR, NR>(d, a_tile, w_tile, out_tile),
                        (MR, 1) => tile::<MR, 1>(d, a_tile, w_tile, out_tile),
                        (1, NR) => tile::<1, NR>(d, a_tile, w_tile, out_tile),
                        _ => tile::<1, 1>(d, a_tile, w_tile, out_tile),
                    }
                }
            }
            j0 += n;
        }
        i0 += m;
    }
}

#[target_feature(enable = "avx2")]
unsafe fn tile<const M: usize, const N: usize>(d: &Dims, a: *const u8, w: *const u8, out: *mut i32) {
    let zero = _mm256_setzero_si256();
    let mut acc = [[_mm256_setzero_si256(); N]; M];
    for chunk in 0..d.words {
        let mut plus = [zero; N];
        let mut minus = [zero; N];
        for j in 0..N {
            let row = w.wrapping_add(j * d.row_bytes);
            // SAFETY: word `chunk < words` of both planes of row `j` exists.
            let (nonzero, negative) =
                unsafe { (read_word(row, 4 * chunk), read_word(row, 4 * (d.words + chunk))) };
            plus[j] = expand_bits_epi8(nonzero & !negative);
            minus[j] = expand_bits_epi8(negative);
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: columns `32 * chunk..32 * chunk + 32 <= kp` of row `i` exist.
            let x = unsafe { _mm256_loadu_si256(a.add(i * d.kp + 32 * chunk).cast()) };
            for (j, acc_ij) in acc_row.iter_mut().enumerate() {
                let added = _mm256_sad_epu8(_mm256_and_si256(x, plus[j]), zero);
                let subtracted = _mm256_sad_epu8(_mm256_and_si256(x, minus[j]), zero);
                *acc_ij = _mm256_sub_epi64(_mm256_add_epi64(*acc_ij, added), subtracted);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // The sum fits in i32 because `k <= MAX_K`.
            let sum = hsum_epi64(v) as i32;
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = sum };
        }
    }
}
