//! XNOR-popcount kernel for binary weights and 1-bit activations: `vpxorq`
//! marks the differing signs of 512 columns and `vpopcntq` counts them, so
//! the dot product is `k - 2 * differing`. The last vector of each
//! activation row is masked to the `k` valid bits, and weight padding bits
//! are zero (checked), so padding never counts.
//!
//! With `k = 1024` a row is only two vectors, so the horizontal sums cost as
//! much as the loop. The 2x8 tile therefore reduces its 8 accumulators per
//! activation row together, in 21 instructions instead of 8 separate
//! reductions (about 64).

use std::arch::x86_64::*;

use crate::kernels::check::{valid_bits, Dims};
use crate::kernels::tiles::tiles;
use crate::kernels::x86::Avx512Popcnt;

const MR: usize = 2;
const NR: usize = 8;

pub(crate) const NAME: &str = "avx512_vpopcntdq_binary_b1_2x8";

pub(crate) fn gemm(_token: Avx512Popcnt, d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]) {
    // SAFETY: the token proves AVX-512 F/BW/VPOPCNTDQ, and `check` verified
    // the lengths that `blocked` relies on (see there).
    unsafe { blocked(d, a, w, out) }
}

/// Walks the output in register tiles. Running the loop itself with the
/// target features lets the tiles inline into it, which saves a call per
/// tile. That call matters because with `k = 1024` a tile does only 2
/// vectors of work per output.
///
/// # Safety
/// AVX-512 F/BW/VPOPCNTDQ must be available, `a` must contain `p * words`
/// words, `w` `o * row_bytes` bytes and `out` at least
/// `(p - 1) * stride + o` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
unsafe fn blocked(d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]) {
    let mut i0 = 0;
    while i0 < d.p {
        let m = MR.min(d.p - i0);
        let mut j0 = 0;
        while j0 < d.o {
            let n = NR.min(d.o - j0);
            for (di, dj, tm, tn) in tiles(m, n, MR, NR) {
                let (i, j) = (i0 + di, j0 + dj);
                // SAFETY: the tile stays inside `a`, `w` and `out`, whose
                // lengths the function's contract gives.
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
            }
            j0 += n;
        }
        i0 += m;
    }
}

/// Sums each of eight `u64x8` vectors: lane `j` of the result is `sum v[j]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn hsum8_epi64(v: &[__m512i; 8]) -> __m512i {
    // Level 1: 128-bit block `b` of s01 is [v0 block sum, v1 block sum].
    let s01 = _mm512_add_epi64(
        _mm512_unpacklo_epi64(v[0], v[1]),
        _mm512_unpackhi_epi64(v[0], v[1]),
    );
    let s23 = _mm512_add_epi64(
        _mm512_unpacklo_epi64(v[2], v[3]),
        _mm512_unpackhi_epi64(v[2], v[3]),
    );
    let s45 = _mm512_add_epi64(
        _mm512_unpacklo_epi64(v[4], v[5]),
        _mm512_unpackhi_epi64(v[4], v[5]),
    );
    let s67 = _mm512_add_epi64(
        _mm512_unpacklo_epi64(v[6], v[7]),
        _mm512_unpackhi_epi64(v[6], v[7]),
    );
    // Level 2: 0x88 picks blocks (0, 2) of each operand and 0xDD blocks
    // (1, 3), so s0123 contains [v0, v1] over blocks 0-1, then over blocks 2-3,
    // then [v2, v3] likewise.
    let s0123 = _mm512_add_epi64(
        _mm512_shuffle_i64x2::<0x88>(s01, s23),
        _mm512_shuffle_i64x2::<0xDD>(s01, s23),
    );
    let s4567 = _mm512_add_epi64(
        _mm512_shuffle_i64x2::<0x88>(s45, s67),
        _mm512_shuffle_i64x2::<0xDD>(s45, s67),
    );
    // Level 3: the same shuffles add the two halves, giving lane `j` = sum v[j].
    _mm512_add_epi64(
        _mm512_shuffle_i64x2::<0x88>(s0123, s4567),
        _mm512_shuffle_i64x2::<0xDD>(s0123, s4567),
    )
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile<const M: usize, const N: usize>(
    d: &Dims,
    a: *const u32,
    w: *const u8,
    out: *mut i32,
) {
    let mut acc = [[_mm512_setzero_si512(); N]; M];
    let mut start = 0;
    while start < d.words {
        // 16 words per vector; the last vector loads only the words left.
        let count = 16.min(d.words - start);
        let last = start + count == d.words;
        let lanes: u16 = if count == 16 {
            u16::MAX
        } else {
            (1u16 << count) - 1
        };
        // Index loops over the constant `M` and `N` keep `acc` in registers
        // even where iterator adapters are not inlined (builds without LTO).
        let mut weights = [_mm512_setzero_si512(); N];
        for j in 0..N {
            // SAFETY: words `start..start + count <= words` of weight row `j` exist.
            weights[j] = unsafe {
                _mm512_maskz_loadu_epi32(lanes, w.add(j * d.row_bytes + 4 * start).cast())
            };
        }
        // Only the last word of a row can hold padding bits.
        let valid = if last {
            _mm512_mask_set1_epi32(
                _mm512_set1_epi32(-1),
                1 << (count - 1),
                valid_bits(d.k, d.words - 1) as i32,
            )
        } else {
            _mm512_set1_epi32(-1)
        };
        for i in 0..M {
            // SAFETY: words `start..start + count` of activation row `i` exist.
            let x = unsafe { _mm512_maskz_loadu_epi32(lanes, a.add(i * d.words + start).cast()) };
            let x = _mm512_and_si512(x, valid);
            for j in 0..N {
                acc[i][j] = _mm512_add_epi64(
                    acc[i][j],
                    _mm512_popcnt_epi64(_mm512_xor_si512(x, weights[j])),
                );
            }
        }
        start += count;
    }
    let k = _mm512_set1_epi64(d.k as i64);
    for (i, acc_row) in acc.iter().enumerate() {
        // SAFETY: output row `i` has `N` writable elements from `out + i * stride`.
        let dst = unsafe { out.add(i * d.stride) };
        if N == 8 {
            let mut all = [_mm512_setzero_si512(); 8];
            all.copy_from_slice(&acc_row[..8]);
            let differing = hsum8_epi64(&all);
            let sums = _mm512_sub_epi64(k, _mm512_add_epi64(differing, differing));
            // |sum| <= k <= MAX_K, so narrowing to i32 is exact.
            // SAFETY: `N = 8` elements of output row `i` are writable.
            unsafe { _mm256_storeu_si256(dst.cast(), _mm512_cvtepi64_epi32(sums)) };
        } else {
            for (j, &v) in acc_row.iter().enumerate() {
                let differing = _mm512_reduce_add_epi64(v);
                // SAFETY: element `j < N` of output row `i` is writable.
                unsafe { *dst.add(j) = (d.k as i64 - 2 * differing) as i32 };
            }
        }
    }
}
