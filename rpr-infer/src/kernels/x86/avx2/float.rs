//! `f32` kernels without multiplies: per 8 columns, the sign bit of the
//! activations under -1 codes is flipped, the activations under 0 codes are
//! masked off, and the rest is added.

use std::arch::x86_64::*;

use super::{expand_bits_epi32, hsum_ps};
use crate::kernels::check::Dims;
use crate::kernels::tiles::tiles;
use crate::kernels::x86::Avx2;

const MR: usize = 4;
const NR: usize = 2;

pub(crate) const TERNARY_NAME: &str = "avx2_addsub_ternary_f32_4x2";
pub(crate) const BINARY_NAME: &str = "avx2_addsub_binary_f32_4x2";

pub(crate) fn gemm<const BINARY: bool>(
    _token: Avx2,
    d: &Dims,
    a: &[f32],
    w: &[u8],
    out: &mut [f32],
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
    a: *const f32,
    w: *const u8,
    out: *mut f32,
) {
    let sign_bit = _mm256_set1_epi32(i32::MIN);
    let mut acc = [[_mm256_setzero_ps(); N]; M];
    // Padding columns hold zero activations, so chunks stop at `k`.
    for chunk in 0..d.k.div_ceil(8) {
        let mut flip = [_mm256_setzero_ps(); N];
        let mut keep = [_mm256_setzero_ps(); N];
        for j in 0..N {
            let row = w.wrapping_add(j * d.row_bytes);
            // SAFETY: byte `chunk < kp / 8` of the first plane of row `j` exists.
            let bits = expand_bits_epi32(unsafe { row.add(chunk).read() });
            if BINARY {
                flip[j] = _mm256_castsi256_ps(_mm256_andnot_si256(bits, sign_bit));
            } else {
                // SAFETY: as above, in the negative plane, which ternary rows have.
                let negative = expand_bits_epi32(unsafe { row.add(4 * d.words + chunk).read() });
                flip[j] = _mm256_castsi256_ps(_mm256_and_si256(negative, sign_bit));
                keep[j] = _mm256_castsi256_ps(bits);
            }
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: columns `8 * chunk..8 * chunk + 8 <= kp` of row `i` exist.
            let x = unsafe { _mm256_loadu_ps(a.add(i * d.kp + 8 * chunk)) };
            for (j, acc_ij) in acc_row.iter_mut().enumerate() {
                let signed = _mm256_xor_ps(x, flip[j]);
                let term = if BINARY {
                    signed
                } else {
                    _mm256_and_ps(signed, keep[j])
                };
                *acc_ij = _mm256_add_ps(*acc_ij, term);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = hsum_ps(v) };
        }
    }
}
