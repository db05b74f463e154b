//! `vpdpbusd` kernels for `u8` activations: the 2-bit (ternary) or 1-bit
//! (binary) weight planes are expanded into 64 signed bytes of {-1, 0, +1}
//! with two masked moves, then multiplied with 64 activations and summed
//! into 16 `i32` lanes per instruction.
//!
//! The codes of 4 weight rows are expanded once per block of `P_BLOCK`
//! activation rows into a buffer of at most `4 * kp` bytes. Every 4x4 tile
//! of the block reuses them, so the inner loop is one load per activation
//! vector and one `vpdpbusd` per tile element.

use std::arch::x86_64::*;

use crate::kernels::check::Dims;
use crate::kernels::x86::reduce::hsum4_epi32;
use crate::kernels::x86::Avx512Vnni;

/// Activation rows per register tile.
const MR: usize = 4;
/// Weight rows per register tile.
const NR: usize = 4;
/// Activation rows that share one code expansion: 64 rows of `k = 1024`
/// are 64 KiB, which stays in L2 while the weight rows stream past.
const P_BLOCK: usize = 64;

pub(crate) const TERNARY_NAME: &str = "avx512_vnni_ternary_u8_4x4";
pub(crate) const BINARY_NAME: &str = "avx512_vnni_binary_u8_4x4";

/// Computes the whole GEMM; `BINARY` selects the 1-bit weight layout.
pub(crate) fn gemm<const BINARY: bool>(
    _token: Avx512Vnni,
    d: &Dims,
    a: &[u8],
    w: &[u8],
    out: &mut [i32],
) {
    // SAFETY: the token proves AVX-512 F/BW/VNNI, and `check` verified the
    // lengths that `blocked` relies on (see there).
    unsafe { blocked::<BINARY>(d, a, w, out) }
}

/// # Safety
/// AVX-512 F/BW/VNNI must be available, `a` must hold `p * kp` bytes, `w`
/// `o * row_bytes` bytes and `out` at least `(p - 1) * stride + o` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn blocked<const BINARY: bool>(d: &Dims, a: &[u8], w: &[u8], out: &mut [i32]) {
    let chunks = d.kp.div_ceil(64);
    // Codes of chunk `c` of tile row `j` sit at `codes[c * NR + j]`.
    let mut codes = vec![_mm512_setzero_si512(); NR * chunks];
    let mut p0 = 0;
    while p0 < d.p {
        let p1 = (p0 + P_BLOCK).min(d.p);
        let mut j0 = 0;
        while j0 < d.o {
            let n = NR.min(d.o - j0);
            expand_codes::<BINARY>(d, w, j0, n, &mut codes);
            let mut i0 = p0;
            while i0 < p1 {
                let m = MR.min(p1 - i0);
                // SAFETY: rows `i0..i0 + m <= p` and columns `j0..j0 + n <= o`
                // are inside `a` and `out` by the function's contract.
                unsafe {
                    let a_tile = a.as_ptr().add(i0 * d.kp);
                    let out_tile = out.as_mut_ptr().add(i0 * d.stride + j0);
                    match (m, n) {
                        (MR, NR) => tile::<MR, NR>(d, a_tile, &codes, out_tile),
                        (MR, _) => {
                            for c in 0..n {
                                tile_column::<MR>(d, a_tile, &codes, c, out_tile.add(c));
                            }
                        }
                        (_, NR) => {
                            for r in 0..m {
                                tile::<1, NR>(
                                    d,
                                    a_tile.add(r * d.kp),
                                    &codes,
                                    out_tile.add(r * d.stride),
                                );
                            }
                        }
                        _ => {
                            for r in 0..m {
                                for c in 0..n {
                                    let dst = out_tile.add(r * d.stride + c);
                                    tile_column::<1>(d, a_tile.add(r * d.kp), &codes, c, dst);
                                }
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

/// Writes the byte codes of weight rows `j0..j0 + n` into `codes`. The tail
/// chunk of a row whose `kp` is not a multiple of 64 gets zero upper bytes.
#[target_feature(enable = "avx512f,avx512bw")]
fn expand_codes<const BINARY: bool>(
    d: &Dims,
    w: &[u8],
    j0: usize,
    n: usize,
    codes: &mut [__m512i],
) {
    let one = _mm512_set1_epi8(1);
    let minus_one = _mm512_set1_epi8(-1);
    let full = d.kp / 64;
    for j in 0..n {
        let row = d.weight_row(w, j0 + j);
        for chunk in 0..d.kp.div_ceil(64) {
            let tail = chunk == full;
            let nonzero = read_bits(row, 8 * chunk, tail);
            codes[chunk * NR + j] = if BINARY {
                let lanes = if tail { u64::from(u32::MAX) } else { u64::MAX };
                _mm512_maskz_mov_epi8(lanes, _mm512_mask_blend_epi8(nonzero, minus_one, one))
            } else {
                let negative = read_bits(row, 4 * d.words + 8 * chunk, tail);
                _mm512_mask_mov_epi8(_mm512_maskz_mov_epi8(nonzero, one), negative, minus_one)
            };
        }
    }
}

/// Reads 64 plane bits at byte `offset` of `row`, or 32 in the tail chunk.
#[inline]
fn read_bits(row: &[u8], offset: usize, tail: bool) -> u64 {
    let low = u64::from(crate::kernels::check::word(row, offset / 4));
    if tail {
        low
    } else {
        low | u64::from(crate::kernels::check::word(row, offset / 4 + 1)) << 32
    }
}

/// `M x N` register tile: `M` activation rows at `a` (stride `kp`) against
/// the expanded codes of `N` weight rows, results at `out` (stride `stride`).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile<const M: usize, const N: usize>(
    d: &Dims,
    a: *const u8,
    codes: &[__m512i],
    out: *mut i32,
) {
    // Index loops over the constant `M` and `N` unroll fully and keep `acc`
    // in registers even without LTO, where iterator adapters were not
    // inlined into this `target_feature` function.
    let mut acc = [[_mm512_setzero_si512(); N]; M];
    let full = d.kp / 64;
    for chunk in 0..d.kp.div_ceil(64) {
        let code = &codes[chunk * NR..chunk * NR + NR];
        // `kp` is a multiple of 32, so the last chunk has 64 or 32 columns.
        let lanes = if chunk < full {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        for i in 0..M {
            // SAFETY: the masked load reads only the columns of row `i` below `kp`.
            let x = unsafe { _mm512_maskz_loadu_epi8(lanes, a.add(i * d.kp + 64 * chunk).cast()) };
            for j in 0..N {
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], x, code[j]);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        // SAFETY: output row `i` has `N` writable elements from `out + i * stride`.
        unsafe {
            let dst = out.add(i * d.stride);
            if N == 4 {
                let sums = hsum4_epi32(acc_row[0], acc_row[1], acc_row[2], acc_row[3]);
                _mm_storeu_si128(dst.cast(), sums);
            } else {
                for (j, &v) in acc_row.iter().enumerate() {
                    *dst.add(j) = _mm512_reduce_add_epi32(v);
                }
            }
        }
    }
}

/// `M x 1` tile against the codes of tile row `column`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile_column<const M: usize>(
    d: &Dims,
    a: *const u8,
    codes: &[__m512i],
    column: usize,
    out: *mut i32,
) {
    let mut acc = [_mm512_setzero_si512(); M];
    let full = d.kp / 64;
    for chunk in 0..d.kp.div_ceil(64) {
        let code = codes[chunk * NR + column];
        let lanes = if chunk < full {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        for i in 0..M {
            // SAFETY: the masked load reads only the columns of row `i` below `kp`.
            let x = unsafe { _mm512_maskz_loadu_epi8(lanes, a.add(i * d.kp + 64 * chunk).cast()) };
            acc[i] = _mm512_dpbusd_epi32(acc[i], x, code);
        }
    }
    for (i, &v) in acc.iter().enumerate() {
        // SAFETY: element `(i, 0)` of the tile is inside `out` (see `blocked`).
        unsafe { *out.add(i * d.stride) = _mm512_reduce_add_epi32(v) };
    }
}
