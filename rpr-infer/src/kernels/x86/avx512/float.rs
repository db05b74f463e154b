//! `f32` kernels without multiplies: per 16 columns, a masked add of the
//! activations under +1 codes and a masked subtract of those under -1 codes.

use std::arch::x86_64::*;

use crate::kernels::check::Dims;
use crate::kernels::tiles::tiles;
use crate::kernels::x86::Avx512;

const MR: usize = 4;
const NR: usize = 4;

pub(crate) const TERNARY_NAME: &str = "avx512_addsub_ternary_f32_4x4";
pub(crate) const BINARY_NAME: &str = "avx512_addsub_binary_f32_4x4";

pub(crate) fn gemm<const BINARY: bool>(
    _token: Avx512,
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
                // SAFETY: the token proves AVX-512 F/BW. `check` verified `a`
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

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn tile<const BINARY: bool, const M: usize, const N: usize>(
    d: &Dims,
    a: *const f32,
    w: *const u8,
    out: *mut f32,
) {
    let mut acc = [[_mm512_setzero_ps(); N]; M];
    // Padding columns hold zero activations, so chunks stop at `k`.
    for chunk in 0..d.k.div_ceil(16) {
        let mut plus = [0u16; N];
        let mut minus = [0u16; N];
        for j in 0..N {
            // SAFETY: chunk `chunk < kp / 16` has 2 bytes in each plane of row `j`.
            unsafe {
                let row = w.add(j * d.row_bytes);
                let bits = u16::from_le(row.add(2 * chunk).cast::<u16>().read_unaligned());
                if BINARY {
                    plus[j] = bits;
                    minus[j] = !bits;
                } else {
                    let negative = u16::from_le(
                        row.add(4 * d.words + 2 * chunk)
                            .cast::<u16>()
                            .read_unaligned(),
                    );
                    plus[j] = bits & !negative;
                    minus[j] = negative;
                }
            }
        }
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: columns `16 * chunk..16 * chunk + 16 <= kp` of row `i` exist.
            let x = unsafe { _mm512_loadu_ps(a.add(i * d.kp + 16 * chunk)) };
            for (j, acc_ij) in acc_row.iter_mut().enumerate() {
                *acc_ij = _mm512_mask_add_ps(*acc_ij, plus[j], *acc_ij, x);
                *acc_ij = _mm512_mask_sub_ps(*acc_ij, minus[j], *acc_ij, x);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().enumerate() {
            // SAFETY: element `(i, j)` of the tile is inside `out` (see `gemm`).
            unsafe { *out.add(i * d.stride + j) = _mm512_reduce_add_ps(v) };
        }
    }
}
