//! `vpdpbusd` kernels for `u8` activations: the 2-bit (ternary) or 1-bit
//! (binary) weight planes are expanded on the fly into 64 signed bytes of
//! {-1, 0, +1} with two masked moves, then multiplied with 64 activations
//! and summed into 16 `i32` lanes per instruction.

use std::arch::x86_64::*;

use crate::kernels::check::Dims;
use crate::kernels::tiles::tiles;
use crate::kernels::x86::reduce::hsum4_epi32;
use crate::kernels::x86::Avx512Vnni;

/// Activation rows per register tile.
const MR: usize = 4;
/// Weight rows per register tile.
const NR: usize = 4;

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
    let mut i0 = 0;
    while i0 < d.p {
        let m = MR.min(d.p - i0);
        let mut j0 = 0;
        while j0 < d.o {
            let n = NR.min(d.o - j0);
            for (di, dj, tm, tn) in tiles(m, n, MR, NR) {
                let (i, j) = (i0 + di, j0 + dj);
                // SAFETY: the token proves AVX-512 F/BW/VNNI. `check` verified
                // that `a` holds `p * kp` bytes, `w` holds `o * row_bytes`
                // bytes and `out` reaches `(p - 1) * stride + o`; the tile
                // covers rows `i..i + tm < p` and columns `j..j + tn <= o`.
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

/// 64 weight codes of one row starting at column `64 * chunk` as bytes;
/// `lanes` masks the columns that exist (all 64, or 32 in the tail).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn codes<const BINARY: bool>(d: &Dims, row: *const u8, chunk: usize, lanes: u64) -> __m512i {
    let one = _mm512_set1_epi8(1);
    let minus_one = _mm512_set1_epi8(-1);
    // SAFETY (caller): the row holds `words` u32 words per plane and `lanes`
    // covers only the words that exist, so every read is inside the row.
    unsafe {
        let nonzero = read_bits(row.add(8 * chunk), lanes);
        if BINARY {
            _mm512_mask_blend_epi8(nonzero, minus_one, one)
        } else {
            let negative = read_bits(row.add(4 * d.words + 8 * chunk), lanes);
            _mm512_mask_mov_epi8(_mm512_maskz_mov_epi8(nonzero, one), negative, minus_one)
        }
    }
}

/// Reads 64 bits, or 32 when `lanes` is the 32-bit tail mask.
#[inline(always)]
unsafe fn read_bits(ptr: *const u8, lanes: u64) -> u64 {
    // SAFETY (caller): `ptr` has 8 readable bytes, or 4 when `lanes` is the tail mask.
    unsafe {
        if lanes == u64::MAX {
            u64::from_le(ptr.cast::<u64>().read_unaligned())
        } else {
            u64::from(u32::from_le(ptr.cast::<u32>().read_unaligned()))
        }
    }
}

/// `M x N` register tile: `M` activation rows at `a` (stride `kp`), `N`
/// weight rows at `w` (stride `row_bytes`), results at `out` (stride
/// `stride`).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile<const BINARY: bool, const M: usize, const N: usize>(
    d: &Dims,
    a: *const u8,
    w: *const u8,
    out: *mut i32,
) {
    let mut acc = [[_mm512_setzero_si512(); N]; M];
    let full = d.kp / 64;
    let chunks = d.kp.div_ceil(64);
    for chunk in 0..chunks {
        // `kp` is a multiple of 32, so the last chunk has 64 or 32 columns.
        let lanes = if chunk < full { u64::MAX } else { u64::from(u32::MAX) };
        let mut code = [_mm512_setzero_si512(); N];
        for (j, c) in code.iter_mut().enumerate() {
            // SAFETY: row `j < N` of the tile exists (see `gemm`).
            *c = unsafe { codes::<BINARY>(d, w.add(j * d.row_bytes), chunk, lanes) };
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: the masked load reads only the columns of row `i` below `kp`.
            let x = unsafe { _mm512_maskz_loadu_epi8(lanes, a.add(i * d.kp + 64 * chunk).cast()) };
            for (acc_ij, &c) in acc_row.iter_mut().zip(&code) {
                *acc_ij = _mm512_dpbusd_epi32(*acc_ij, x, c);
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
