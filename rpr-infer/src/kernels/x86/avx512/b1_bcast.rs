//! Output-channel-vectorized XNOR-popcount kernel for binary weights and
//! 1-bit activations.
//!
//! Each `u64` lane of a weight vector contains 64 columns of one output
//! channel, so one vector covers 8 channels. The kernel broadcasts 64
//! activation bits of one row to all lanes, and `vpxorq` + `vpopcntq` +
//! `vpaddq` add that row's count of differing signs to each channel's lane.
//! An accumulator therefore ends as 8 finished counts, with no horizontal
//! sum: three vector instructions per 512 MACs and nothing else in the loop.
//!
//! The row-vectorized kernel in `binary_b1` spends a third of its
//! instructions on horizontal sums when `k` is a few vectors long, which is
//! the common case for convolutions (`k = 9 * channels`).
//!
//! The weights of up to 32 channels are interleaved once per call into
//! `ceil(k / 64)` vectors per 8 channels, and every activation row reuses
//! them. Weight padding bits are zero (checked), and the last activation
//! word is masked to the valid bits, so padding never counts.

use std::arch::x86_64::*;

use crate::kernels::check::{valid_bits, word, Dims};
use crate::kernels::x86::Avx512Popcnt;

/// The 64-bit weight words of 8 output channels, with channel `j` in lane `j`.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct WordVector([u64; LANES]);

/// Output channels per weight vector.
const LANES: usize = 8;
/// Weight vectors per channel block: 32 output channels.
const MAX_VECTORS: usize = 4;

pub(crate) const NAME: &str = "avx512_vpopcntdq_bcast_binary_b1_6x32";

/// Computes the whole GEMM.
pub(crate) fn gemm(_token: Avx512Popcnt, d: &Dims, a: &[u32], w: &[u8], out: &mut [i32]) {
    let steps = d.words.div_ceil(2);
    if steps == 0 {
        // `k = 0`: every dot product is empty.
        for i in 0..d.p {
            out[i * d.stride..i * d.stride + d.o].fill(0);
        }
        return;
    }
    let mut weights = vec![WordVector([0; LANES]); MAX_VECTORS * steps];
    let mut j0 = 0;
    while j0 < d.o {
        let channels = (LANES * MAX_VECTORS).min(d.o - j0);
        interleave(d, w, j0, channels, steps, &mut weights);
        // SAFETY: the token proves AVX-512 F/BW/VPOPCNTDQ. `check` verified
        // that `a` contains `p * words` words and that `out` contains
        // `(p - 1) * stride + o` elements; `rows` stays in channels
        // `j0..j0 + channels <= o`.
        unsafe {
            match channels.div_ceil(LANES) {
                1 => rows::<8, 1>(d, a, &weights, steps, j0, channels, out),
                2 => rows::<8, 2>(d, a, &weights, steps, j0, channels, out),
                3 => rows::<6, 3>(d, a, &weights, steps, j0, channels, out),
                _ => rows::<6, 4>(d, a, &weights, steps, j0, channels, out),
            }
        }
        j0 += channels;
    }
}

/// Fills `weights[t * MAX_VECTORS + v]` with 64-bit word `t` of channels
/// `j0 + 8v ..`. When `words` is odd, the last word contains only the last
/// `u32`, with zeros above it. Lanes past `channels` stay zero, and no store
/// reads them.
fn interleave(
    d: &Dims,
    w: &[u8],
    j0: usize,
    channels: usize,
    steps: usize,
    weights: &mut [WordVector],
) {
    weights.fill(WordVector([0; LANES]));
    for c in 0..channels {
        let row = d.weight_row(w, j0 + c);
        let (v, lane) = (c / LANES, c % LANES);
        for t in 0..steps {
            let low = word(row, 2 * t) as u64;
            let high = if 2 * t + 1 < d.words {
                word(row, 2 * t + 1) as u64
            } else {
                0
            };
            weights[t * MAX_VECTORS + v].0[lane] = low | high << 32;
        }
    }
}

/// Runs every activation row against the interleaved weights of one channel
/// block, `M` rows at a time.
///
/// # Safety
/// AVX-512 F/BW/VPOPCNTDQ must be available, `a` must hold `p * words`
/// words with `steps = ceil(words / 2)`, and `out` must hold
/// `(p - 1) * stride + j0 + channels` elements, with `channels <= 8 * V`.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
#[allow(clippy::too_many_arguments)]
unsafe fn rows<const M: usize, const V: usize>(
    d: &Dims,
    a: &[u32],
    weights: &[WordVector],
    steps: usize,
    j0: usize,
    channels: usize,
    out: &mut [i32],
) {
    // Lanes of the last vector that hold real channels.
    let tail = channels - LANES * (V - 1);
    let last_lanes: u8 = if tail == LANES {
        u8::MAX
    } else {
        (1u8 << tail) - 1
    };
    let mut i = 0;
    while i < d.p {
        let m = M.min(d.p - i);
        let rows_here = &a[i * d.words..(i + m) * d.words];
        // SAFETY: rows `i..i + m <= p` of `out` exist by the contract.
        let out_tile = unsafe { out.as_mut_ptr().add(i * d.stride + j0) };
        if m == M {
            // SAFETY: `rows_here` contains `M` rows, and the rest is this function's contract.
            unsafe { tile::<M, V>(d, rows_here, weights, steps, last_lanes, out_tile) };
        } else {
            for r in 0..m {
                let row = &rows_here[r * d.words..(r + 1) * d.words];
                // SAFETY: as above, for one row at output row `i + r`.
                unsafe {
                    tile::<1, V>(
                        d,
                        row,
                        weights,
                        steps,
                        last_lanes,
                        out_tile.add(r * d.stride),
                    )
                };
            }
        }
        i += m;
    }
}

/// Reads the last 64-bit word of an activation row, masked to the valid bits.
#[inline]
fn last_word(d: &Dims, row: &[u32], t: usize) -> u64 {
    let low = (row[2 * t] & valid_bits(d.k, 2 * t)) as u64;
    let high = if 2 * t + 1 < d.words {
        (row[2 * t + 1] & valid_bits(d.k, 2 * t + 1)) as u64
    } else {
        0
    };
    low | high << 32
}

/// `M` activation rows (`a`, stride `words`) against `8 * V` channels,
/// results at `out` (stride `stride`). The last vector stores only `last_lanes`.
///
/// # Safety
/// AVX-512 F/BW/VPOPCNTDQ must be available, `a` must hold `M * words`
/// words, `weights` `MAX_VECTORS * steps` vectors, and `out` rows
/// `0..M` (stride `stride`) must have `8 * (V - 1) + popcount(last_lanes)`
/// writable elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile<const M: usize, const V: usize>(
    d: &Dims,
    a: &[u32],
    weights: &[WordVector],
    steps: usize,
    last_lanes: u8,
    out: *mut i32,
) {
    debug_assert!(a.len() >= M * d.words && weights.len() >= MAX_VECTORS * steps);

    // Index loops over the constant `M` and `V` unroll fully and keep `acc`
    // in registers (see `u8_bcast::tile`).
    let mut acc = [[_mm512_setzero_si512(); V]; M];

    // Every word but the last is whole: only the last `u32` of a row can
    // hold padding, and the last 64-bit word may have only one `u32`.
    for t in 0..steps - 1 {
        let mut x = [_mm512_setzero_si512(); M];
        for r in 0..M {
            // SAFETY: words `2t, 2t + 1 < words` of row `r < M` are inside `a`.
            x[r] = unsafe {
                _mm512_set1_epi64(
                    a.as_ptr()
                        .add(r * d.words + 2 * t)
                        .cast::<i64>()
                        .read_unaligned(),
                )
            };
        }
        // SAFETY: `t < steps`, and AVX-512 F/VPOPCNTDQ are available.
        unsafe { accumulate(&mut acc, &x, weights, t) };
    }
    let t = steps - 1;
    let mut x = [_mm512_setzero_si512(); M];
    for r in 0..M {
        x[r] = _mm512_set1_epi64(last_word(d, &a[r * d.words..(r + 1) * d.words], t) as i64);
    }
    // SAFETY: as above.
    unsafe { accumulate(&mut acc, &x, weights, t) };

    let k = _mm512_set1_epi64(d.k as i64);
    for r in 0..M {
        for v in 0..V {
            // Matching bits add 1 and differing bits subtract 1.
            let sums = _mm512_sub_epi64(k, _mm512_add_epi64(acc[r][v], acc[r][v]));
            // |sum| <= k <= MAX_K, so narrowing to i32 is exact.
            let narrow = _mm512_cvtepi64_epi32(sums);
            let lanes = if v + 1 == V { last_lanes } else { u8::MAX };
            // SAFETY: channels `8v..` of output row `r`, up to the valid
            // lanes, are writable by the contract. The 512-bit masked store
            // writes only the low 8 lanes, which needs no AVX-512 VL.
            unsafe {
                _mm512_mask_storeu_epi32(
                    out.add(r * d.stride + LANES * v).cast(),
                    lanes as u16,
                    _mm512_castsi256_si512(narrow),
                )
            };
        }
    }
}

/// Adds the differing-sign counts of the broadcast activation words `x`
/// against weight word `t` of every vector to `acc`.
///
/// # Safety
/// AVX-512 F/VPOPCNTDQ must be available and `weights` must hold
/// `MAX_VECTORS * (t + 1)` vectors.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
#[allow(clippy::needless_range_loop)]
unsafe fn accumulate<const M: usize, const V: usize>(
    acc: &mut [[__m512i; V]; M],
    x: &[__m512i; M],
    weights: &[WordVector],
    t: usize,
) {
    let mut wv = [_mm512_setzero_si512(); V];
    for v in 0..V {
        // SAFETY: `v < V <= MAX_VECTORS`, the contract covers word `t`, and `WordVector` is 64-byte aligned.
        wv[v] = unsafe { _mm512_load_si512(weights.as_ptr().add(t * MAX_VECTORS + v).cast()) };
    }
    for r in 0..M {
        for v in 0..V {
            acc[r][v] = _mm512_add_epi64(
                acc[r][v],
                _mm512_popcnt_epi64(_mm512_xor_si512(x[r], wv[v])),
            );
        }
    }
}
