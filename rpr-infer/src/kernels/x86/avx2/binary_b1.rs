//! XNOR-popcount kernel for binary weights and 1-bit activations. AVX2 has
//! no vector popcount, so each byte of `a ^ w` is counted with two 16-entry
//! `vpshufb` lookups (one per nibble) and `vpsadbw` adds the byte counts.
//! Only the `k / 32` full words go through the vector loop; a partial last
//! word is masked in scalar code, so padding bits never count.

use std::arch::x86_64::*;

use super::{hsum_epi64, read_word};
use crate::kernels::check::{valid_bits, Dims};
use crate::kernels::tiles::tiles;
use crate::kernels::x86::Avx2;

const MR: usize = 4;
const NR: usize = 2;

pub(crate) const NAME: &str = "avx2_pshufb_binary_b1_4x2";

pub(crate) fn gemm(_token: Avx2, d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]) {
    let mut i0 = 0;
    while i0 < d.p {
        let m = MR.min(d.p - i0);
        let mut j0 = 0;
        while j0 < d.o {
            let n = NR.min(d.o - j0);
            for (di, dj, tm, tn) in tiles(m, n, MR, NR) {
                let (i, j) = (i0 + di, j0 + dj);
                // SAFETY: the token proves AVX2. `check` verified `a`
                // (`p * words`), `w` (`o * row_bytes`) and `out`
                // (`(p - 1) * stride + o`); the tile stays inside them.
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

/// Per-byte popcount of `v`, summed into four 64-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn popcount_epi64(v: __m256i) -> __m256i {
    let table = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    );
    let low_nibble = _mm256_set1_epi8(0x0f);
    let low = _mm256_and_si256(v, low_nibble);
    let high = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low_nibble);
    let counts = _mm256_add_epi8(
        _mm256_shuffle_epi8(table, low),
        _mm256_shuffle_epi8(table, high),
    );
    _mm256_sad_epu8(counts, _mm256_setzero_si256())
}

#[target_feature(enable = "avx2")]
unsafe fn tile<const M: usize, const N: usize>(
    d: &Dims,
    a: *const u32,
    w: *const u8,
    out: *mut i32,
) {
    let full_words = d.k / 32;
    let mut acc = [[_mm256_setzero_si256(); N]; M];
    let mut start = 0;
    while start < full_words {
        let count = 8.min(full_words - start);
        // Lane `l` loads when `l < count`: maskload tests each lane's sign bit.
        let lanes = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(count as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        let mut weights = [_mm256_setzero_si256(); N];
        for (j, v) in weights.iter_mut().enumerate() {
            // SAFETY: words `start..start + count < words` of weight row `j`
            // exist, and the masked load touches no other word.
            *v = unsafe { _mm256_maskload_epi32(w.add(j * d.row_bytes + 4 * start).cast(), lanes) };
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: words `start..start + count` of activation row `i` exist.
            let x = unsafe { _mm256_maskload_epi32(a.add(i * d.words + start).cast(), lanes) };
            for (acc_ij, &v) in acc_row.iter_mut().zip(&weights) {
                *acc_ij = _mm256_add_epi64(*acc_ij, popcount_epi64(_mm256_xor_si256(x, v)));
            }
        }
        start += count;
    }
    let partial = !d.k.is_multiple_of(32);
    let last_mask = valid_bits(d.k, full_words);
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            let mut differing = hsum_epi64(v);
            if partial {
                // SAFETY: word `full_words < words` exists in both rows.
                let (x, y) = unsafe {
                    (
                        a.add(i * d.words + full_words).read(),
                        read_word(w.add(j * d.row_bytes), 4 * full_words),
                    )
                };
                differing += i64::from(((x ^ y) & last_mask).count_ones());
            }
            let sum = d.k as i64 - 2 * differing;
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = sum as i32 };
        }
    }
}
