//! `vpmaddubsw` kernels for `u8` activations: each weight row's bit planes
//! are expanded into 32 signed bytes of {-1, 0, +1}, multiplied with 32
//! activations into 16 `i16` pair sums (at most 2 * 255, so no saturation),
//! and widened to `i32` with `vpmaddwd` against ones.

use std::arch::x86_64::*;

use super::{expand_bits_epi8, hsum_epi32, read_word};
use crate::kernels::check::Dims;
use crate::kernels::tiles::tiles;
use crate::kernels::x86::Avx2;

const MR: usize = 4;
const NR: usize = 2;

pub(crate) const TERNARY_NAME: &str = "avx2_maddubs_ternary_u8_4x2";
pub(crate) const BINARY_NAME: &str = "avx2_maddubs_binary_u8_4x2";

pub(crate) fn gemm<const BINARY: bool>(
    _token: Avx2,
    d: &Dims,
    a: &[u8],
    w: &[u8],
    out: &mut [i32],
) {
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
                        (MR, NR) => tile::<BINARY, MR, NR>(d, a_tile, w_tile, out_tile),
                        (MR, 1) => tile::<BINARY, MR, 1>(d, a_tile, w_tile, out_tile),
                        (1, NR) => tile::<BINARY, 1, NR>(d, a_tile, w_tile, out_tile),
                        _ => tile::<BINARY, 1, 1>(d, a_tile, w_tile, out_tile),
                    }
                }
            }
            j0 += n;
        }
        i0 += m;
    }
}

#[target_feature(enable = "avx2")]
unsafe fn tile<const BINARY: bool, const M: usize, const N: usize>(
    d: &Dims,
    a: *const u8,
    w: *const u8,
    out: *mut i32,
) {
    let one = _mm256_set1_epi8(1);
    let ones_i16 = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); N]; M];
    for chunk in 0..d.words {
        let mut code = [_mm256_setzero_si256(); N];
        for (j, c) in code.iter_mut().enumerate() {
            let row = w.wrapping_add(j * d.row_bytes);
            // SAFETY: word `chunk < words` of each plane of row `j` exists.
            let bits = expand_bits_epi8(unsafe { read_word(row, 4 * chunk) });
            *c = if BINARY {
                // A set bit gives 2 - 1 = +1 and a clear bit 0 - 1 = -1.
                _mm256_sub_epi8(_mm256_and_si256(bits, _mm256_set1_epi8(2)), one)
            } else {
                // SAFETY: as above, in the negative plane.
                let negative = expand_bits_epi8(unsafe { read_word(row, 4 * (d.words + chunk)) });
                _mm256_and_si256(bits, _mm256_or_si256(negative, one))
            };
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: columns `32 * chunk..32 * chunk + 32 <= kp` of row `i` exist.
            let x = unsafe { _mm256_loadu_si256(a.add(i * d.kp + 32 * chunk).cast()) };
            for (acc_ij, &c) in acc_row.iter_mut().zip(&code) {
                let pairs = _mm256_maddubs_epi16(x, c);
                *acc_ij = _mm256_add_epi32(*acc_ij, _mm256_madd_epi16(pairs, ones_i16));
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = hsum_epi32(v) };
        }
    }
}
