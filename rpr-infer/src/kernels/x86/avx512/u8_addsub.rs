//! Multiplier-free ternary kernel for `u8` activations: masked moves select
//! the activations under +1 and under -1 codes, and `vpsadbw` against zero
//! sums each group of 8 selected bytes. The result is
//! `sum(a under +1) - sum(a under -1)`.

use std::arch::x86_64::*;

use crate::kernels::check::Dims;
use crate::kernels::tiles::tiles;
use crate::kernels::x86::Avx512;

const MR: usize = 4;
const NR: usize = 4;

pub(crate) const NAME: &str = "avx512_addsub_ternary_u8_4x4";

pub(crate) fn gemm(_token: Avx512, d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]) {
    let mut i0 = 0;
    while i0 < d.p {
        let m = MR.min(d.p - i0);
        let mut j0 = 0;
        while j0 < d.o {
            let n = NR.min(d.o - j0);
            for (di, dj, tm, tn) in tiles(m, n, MR, NR) {
                let (i, j) = (i0 + di, j0 + dj);
                // SAFETY: the token proves AVX-512 F/BW. `check` verified the
                // lengths of `a` (`p * kp`), `w` (`o * row_bytes`) and `out`
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

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn tile<const M: usize, const N: usize>(
    d: &Dims,
    a: *const u8,
    w: *const u8,
    out: *mut i32,
) {
    let zero = _mm512_setzero_si512();
    // 64-bit lanes: each `vpsadbw` adds at most 8 * 255 per lane.
    let mut acc = [[_mm512_setzero_si512(); N]; M];
    let full = d.kp / 64;
    for chunk in 0..d.kp.div_ceil(64) {
        let tail = chunk == full;
        let lanes = if tail { u64::from(u32::MAX) } else { u64::MAX };
        let mut plus = [0u64; N];
        let mut minus = [0u64; N];
        for j in 0..N {
            // SAFETY: row `j` contains `words` u32 words per plane; a full chunk
            // reads 2 words and the tail chunk 1 word of each plane.
            unsafe {
                let row = w.add(j * d.row_bytes);
                let (nonzero, negative) = if tail {
                    (
                        u64::from(u32::from_le(
                            row.add(8 * chunk).cast::<u32>().read_unaligned(),
                        )),
                        u64::from(u32::from_le(
                            row.add(4 * d.words + 8 * chunk)
                                .cast::<u32>()
                                .read_unaligned(),
                        )),
                    )
                } else {
                    (
                        u64::from_le(row.add(8 * chunk).cast::<u64>().read_unaligned()),
                        u64::from_le(
                            row.add(4 * d.words + 8 * chunk)
                                .cast::<u64>()
                                .read_unaligned(),
                        ),
                    )
                };
                plus[j] = nonzero & !negative;
                minus[j] = negative;
            }
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: the masked load reads only columns below `kp` of row `i`.
            let x = unsafe { _mm512_maskz_loadu_epi8(lanes, a.add(i * d.kp + 64 * chunk).cast()) };
            for (j, acc_ij) in acc_row.iter_mut().enumerate() {
                let added = _mm512_sad_epu8(_mm512_maskz_mov_epi8(plus[j], x), zero);
                let subtracted = _mm512_sad_epu8(_mm512_maskz_mov_epi8(minus[j], x), zero);
                *acc_ij = _mm512_sub_epi64(_mm512_add_epi64(*acc_ij, added), subtracted);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // The sum fits in i32 because `k <= MAX_K`.
            let sum = _mm512_reduce_add_epi64(v) as i32;
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = sum };
        }
    }
}
