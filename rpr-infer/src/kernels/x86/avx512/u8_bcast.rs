//! Output-channel-vectorized `vpdpbusd` kernels for `u8` activations.
//!
//! Each `i32` lane of a code vector contains the 4 signed byte codes of one
//! output channel for 4 consecutive columns, so one vector covers 16 output
//! channels. The kernel broadcasts 4 activation bytes of one row to all
//! lanes and `vpdpbusd` adds their dot product with each channel's codes to
//! that channel's lane. An accumulator therefore ends as 16 finished outputs
//! of one row, with no horizontal sum, and the reduction stops at `k`
//! rounded up to 4 instead of `kp`.
//!
//! That suits short reductions with few output channels, such as the 3x3
//! convs of a CIFAR-sized ResNet (`k = 144`, 16 channels), where the
//! horizontal sums of the row-dot-product kernel in `u8_dot` cost about as
//! much as its multiplies.
//!
//! The codes of up to 64 channels are expanded once per call into
//! `ceil(k / 4)` vectors per 16 channels, and every activation row reuses
//! them.

use std::arch::x86_64::*;

use crate::kernels::check::Dims;
use crate::kernels::x86::Avx512Vnni;
use crate::kernels::{Epilogue, Vector64, Windows};

/// Byte codes of 16 output channels for 4 columns, with channel `j` in lane `j`.
type CodeVector = Vector64;

/// Output channels per code vector.
const LANES: usize = 16;
/// Code vectors per channel block: 64 output channels.
const MAX_VECTORS: usize = 4;

pub(crate) const TERNARY_NAME: &str = "avx512_vnni_bcast_ternary_u8_5x64";
pub(crate) const BINARY_NAME: &str = "avx512_vnni_bcast_binary_u8_5x64";

/// Byte codes of 4 columns, indexed by the 4 plane bits of those columns.
/// `vpermd` looks them up for 16 channels at once.
/// - `NONZERO_BYTES[n]`: byte `b` is 1 where bit `b` of `n` is set, else 0.
/// - `NEGATIVE_BYTES[n]`: byte `b` is 2 where bit `b` of `n` is set, else 0.
///   Subtracting it from the nonzero bytes turns +1 into -1 where the
///   negative bit is set (the planes are checked: negative implies nonzero).
/// - `BINARY_BYTES[n]`: byte `b` is +1 where bit `b` of `n` is set, else -1.
const NONZERO_BYTES: [u32; 16] = nibble_bytes(0x01, 0x00);
const NEGATIVE_BYTES: [u32; 16] = nibble_bytes(0x02, 0x00);
const BINARY_BYTES: [u32; 16] = nibble_bytes(0x01, 0xFF);

const fn nibble_bytes(set: u32, clear: u32) -> [u32; 16] {
    let mut table = [0u32; 16];
    let mut index = 0;
    while index < 16 {
        let mut value = 0u32;
        let mut b = 0;
        while b < 4 {
            let byte = if index >> b & 1 == 1 { set } else { clear };
            value |= byte << (8 * b);
            b += 1;
        }
        table[index] = value;
        index += 1;
    }
    table
}

/// Computes the whole GEMM over im2col rows. `BINARY` selects the 1-bit weight layout.
pub(crate) fn gemm<const BINARY: bool>(
    token: Avx512Vnni,
    d: &Dims,
    a: &[u8],
    w: &[u8],
    out: &mut [i32],
) {
    let steps = d.k.div_ceil(4);
    // The rows are one long output row of im2col windows; `check` verified
    // `a.len() == p * kp` with `4 * steps <= kp`.
    let windows = Windows::im2col(d.p, d.kp, steps);
    let sink = SumSink {
        out: out.as_mut_ptr(),
        stride: d.stride,
    };
    // SAFETY: `check` verified that `out` contains `(p - 1) * stride + o` elements.
    unsafe { conv_gemm::<BINARY, _>(token, d, a, &windows, steps, w, None, sink) };
}

/// Vectors of expanded codes per 64-channel block for `steps` steps of 4 columns.
pub(crate) fn block_vectors(steps: usize) -> usize {
    MAX_VECTORS * steps
}

/// Expands the codes of all `o` weight rows for [`conv_gemm`]: block `b`
/// (channels `64b..`) fills `block_vectors(steps)` vectors from
/// `b * block_vectors(steps)`, with `steps = ceil(k / 4)`.
pub(crate) fn prepare<const BINARY: bool>(_token: Avx512Vnni, d: &Dims, w: &[u8]) -> Vec<Vector64> {
    let steps = d.k.div_ceil(4);
    let per_block = block_vectors(steps);
    let mut codes = vec![Vector64([0; LANES]); d.o.div_ceil(LANES * MAX_VECTORS) * per_block];
    for (block, chunk) in codes.chunks_exact_mut(per_block).enumerate() {
        let j0 = block * LANES * MAX_VECTORS;
        let channels = (LANES * MAX_VECTORS).min(d.o - j0);
        // SAFETY: the token proves AVX-512 F/BW. The entry checked that `w`
        // contains `o * row_bytes` bytes and that `4 * steps <= kp`, and
        // `chunk` contains `MAX_VECTORS * steps` vectors.
        unsafe { expand_codes::<BINARY>(d, w, j0, channels, steps, chunk) };
    }
    codes
}

/// Computes the GEMM with activation row `i` read from `image` as `windows`
/// places it, and stores through `sink`. `tap_steps` is `windows.tap_len / 4`.
/// `prepared` contains the codes expanded by [`prepare`], or the GEMM expands
/// each block itself.
///
/// # Safety
/// The checks of the entry point passed for `d`, `image`, `windows` and
/// `w`, `prepared` contains `ceil(o / 64) * block_vectors(k / 4)` vectors made
/// from `w`, and `sink` can store `p` rows of `o` channels.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_gemm<const BINARY: bool, S: Sink>(
    _token: Avx512Vnni,
    d: &Dims,
    image: &[u8],
    windows: &Windows,
    tap_steps: usize,
    w: &[u8],
    prepared: Option<&[Vector64]>,
    sink: S,
) {
    let steps = windows.taps * tap_steps;
    let per_block = block_vectors(steps);
    let mut own = Vec::new();
    let mut j0 = 0;
    while j0 < d.o {
        let channels = (LANES * MAX_VECTORS).min(d.o - j0);
        let vectors = channels.div_ceil(LANES);
        // SAFETY: the token proves AVX-512 F/BW/VNNI. The checks verified
        // that `w` contains `o * row_bytes` bytes with `4 * steps <= kp`
        // and that every run of `windows` lies inside `image`, and the
        // caller that `prepared` covers every block and that `sink` takes
        // every row. The calls stay in channels `j0..j0 + channels <= o`.
        unsafe {
            let codes: &[CodeVector] = match prepared {
                Some(all) => &all[j0 / (LANES * MAX_VECTORS) * per_block..][..per_block],
                None => {
                    own.resize(per_block, Vector64([0; LANES]));
                    expand_codes::<BINARY>(d, w, j0, channels, steps, &mut own);
                    &own
                }
            };
            let block = Block {
                windows,
                tap_steps,
                codes,
                channels,
            };
            let sink = sink.channels(j0);
            match vectors {
                1 => rows::<8, 1, S>(&block, image, sink),
                2 => rows::<8, 2, S>(&block, image, sink),
                3 => rows::<6, 3, S>(&block, image, sink),
                // Five rows, not six: with the epilogue's constants live,
                // 6 x 4 accumulators spilled to the stack inside the loop
                // (ResNet-18 at batch 1 ran 10% slower).
                _ => rows::<5, 4, S>(&block, image, sink),
            }
        }
        j0 += channels;
    }
}

/// One block of up to 64 output channels and its expanded codes.
struct Block<'a> {
    windows: &'a Windows,
    tap_steps: usize,
    codes: &'a [CodeVector],
    channels: usize,
}

/// Fills `codes[t * MAX_VECTORS + v]` with columns `4t..4t + 4` of channels
/// `j0 + 16v ..` for every `t < steps`. A masked gather loads one plane word
/// of 16 channels, and each nibble of it becomes one code vector through a
/// `vpermd` table lookup. Lanes past `channels` hold codes that no store
/// reads.
///
/// # Safety
/// AVX-512 F/BW must be available, `w` must hold weight rows
/// `j0..j0 + channels` of `row_bytes` bytes each, `4 * steps <= kp` and
/// `codes` must hold `MAX_VECTORS * steps` vectors.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn expand_codes<const BINARY: bool>(
    d: &Dims,
    w: &[u8],
    j0: usize,
    channels: usize,
    steps: usize,
    codes: &mut [CodeVector],
) {
    let load = |table: &[u32; 16]| {
        // SAFETY: a table is 16 `u32` values, one unaligned 64-byte load.
        unsafe { _mm512_loadu_si512(table.as_ptr().cast()) }
    };
    let (nonzero_bytes, negative_bytes, binary_bytes) = (
        load(&NONZERO_BYTES),
        load(&NEGATIVE_BYTES),
        load(&BINARY_BYTES),
    );
    // Byte offset of each lane's weight row. `MAX_K` keeps 16 rows below 2^31 bytes.
    let offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(d.row_bytes as i32),
    );
    for v in 0..channels.div_ceil(LANES) {
        let lanes = (channels - LANES * v).min(LANES);
        let mask: u16 = if lanes == LANES {
            u16::MAX
        } else {
            (1u16 << lanes) - 1
        };
        // SAFETY: row `j0 + 16v` is inside `w`, and the masked gathers below
        // read only rows below `j0 + channels`.
        let base = unsafe { w.as_ptr().add((j0 + LANES * v) * d.row_bytes) };
        for word in 0..steps.div_ceil(8) {
            // SAFETY: plane word `word < kp / 32` of each row, and of the
            // negative plane `words` words further, lies inside the row.
            let (mut nonzero, mut negative) = unsafe {
                let gather = |offset: usize| {
                    _mm512_mask_i32gather_epi32::<1>(
                        _mm512_setzero_si512(),
                        mask,
                        offsets,
                        base.add(4 * offset).cast(),
                    )
                };
                (
                    gather(word),
                    if BINARY {
                        _mm512_setzero_si512()
                    } else {
                        gather(d.words + word)
                    },
                )
            };
            for t in 8 * word..(8 * word + 8).min(steps) {
                // `vpermd` reads only the low 4 bits of each index lane.
                let vector = if BINARY {
                    _mm512_permutexvar_epi32(nonzero, binary_bytes)
                } else {
                    _mm512_sub_epi8(
                        _mm512_permutexvar_epi32(nonzero, nonzero_bytes),
                        _mm512_permutexvar_epi32(negative, negative_bytes),
                    )
                };
                // SAFETY: `t < steps` and `v < MAX_VECTORS`, and `CodeVector` is 64-byte aligned.
                unsafe {
                    _mm512_store_si512(codes.as_mut_ptr().add(t * MAX_VECTORS + v).cast(), vector)
                };
                nonzero = _mm512_srli_epi32::<4>(nonzero);
                negative = _mm512_srli_epi32::<4>(negative);
            }
        }
    }
}

/// Runs every activation row against the expanded codes of one channel
/// block. Rows of one output row go in tiles of at most `M`, split evenly
/// so that no short tile of one or two rows reloads every code vector.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be available, every run of `block.windows` must
/// lie inside `image`, `block.codes` must hold `MAX_VECTORS * taps *
/// tap_steps` vectors, `sink` must take every row of the block's channels,
/// and `channels <= 16 * V`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn rows<const M: usize, const V: usize, S: Sink>(block: &Block<'_>, image: &[u8], sink: S) {
    // Lanes of the last vector that hold real channels.
    let tail = block.channels - LANES * (V - 1);
    let last_lanes: u16 = if tail == LANES {
        u16::MAX
    } else {
        (1u16 << tail) - 1
    };
    for span in block.windows.spans() {
        let tiles = span.len.div_ceil(M);
        let mut row = 0;
        for t in 0..tiles {
            // Even split: the first `len % tiles` tiles get one row more.
            let m = span.len / tiles + usize::from(t < span.len % tiles);
            // SAFETY: rows `span.row + row ..+ m` are inside the span, whose
            // windows lie inside `image`, and the sink takes them.
            unsafe {
                let a = image
                    .as_ptr()
                    .add(span.offset + row * block.windows.col_step);
                tile_of_height::<V, S>(m, block, a, last_lanes, sink.rows(span.row + row));
            }
            row += m;
        }
    }
}

/// Calls [`tile`] with the constant height `m`, which is at most 8.
///
/// # Safety
/// As [`tile`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_of_height<const V: usize, S: Sink>(
    m: usize,
    block: &Block<'_>,
    a: *const u8,
    last_lanes: u16,
    sink: S,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match m {
            1 => tile::<1, V, S>(block, a, last_lanes, sink),
            2 => tile::<2, V, S>(block, a, last_lanes, sink),
            3 => tile::<3, V, S>(block, a, last_lanes, sink),
            4 => tile::<4, V, S>(block, a, last_lanes, sink),
            5 => tile::<5, V, S>(block, a, last_lanes, sink),
            6 => tile::<6, V, S>(block, a, last_lanes, sink),
            7 => tile::<7, V, S>(block, a, last_lanes, sink),
            _ => tile::<8, V, S>(block, a, last_lanes, sink),
        }
    }
}

/// `M` activation windows, the first at `a` and the next `col_step` bytes
/// apart, against `16 * V` channels, stored through `sink`. The last vector
/// stores only `last_lanes`.
///
/// # Safety
/// AVX-512 F/BW/VNNI must be available, every run of the `M` windows must be
/// readable, and `sink` must take `M` rows of `16 * (V - 1)` channels plus
/// the `last_lanes` lanes.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::needless_range_loop)]
unsafe fn tile<const M: usize, const V: usize, S: Sink>(
    block: &Block<'_>,
    a: *const u8,
    last_lanes: u16,
    sink: S,
) {
    let Windows {
        col_step,
        taps,
        tap_step,
        ..
    } = *block.windows;
    let tap_steps = block.tap_steps;
    // Index loops over the constant `M` and `V` unroll fully, so `acc` and
    // `code` live in registers. Iterator adapters here were not inlined into
    // this `target_feature` function, which kept the accumulators in memory.
    let mut acc = [[_mm512_setzero_si512(); V]; M];
    let mut code = [_mm512_setzero_si512(); V];
    let mut codes = block.codes.as_ptr();
    for tap in 0..taps {
        // SAFETY: run `tap` of every window is readable by the contract.
        let run = unsafe { a.add(tap * tap_step) };
        for t in 0..tap_steps {
            for v in 0..V {
                // SAFETY: `codes` advances by `MAX_VECTORS` per step, over
                // `taps * tap_steps` steps of aligned vectors, and `v < V <= MAX_VECTORS`.
                code[v] = unsafe { _mm512_load_si512(codes.add(v).cast()) };
            }
            for r in 0..M {
                // SAFETY: bytes `4t..4t + 4 <= tap_len` of run `tap` of window `r` are readable.
                let x = unsafe {
                    _mm512_set1_epi32(run.add(r * col_step + 4 * t).cast::<i32>().read_unaligned())
                };
                for v in 0..V {
                    acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x, code[v]);
                }
            }
            // SAFETY: stays inside `codes` or one past its end after the last step.
            codes = unsafe { codes.add(MAX_VECTORS) };
        }
    }
    for r in 0..M {
        for v in 0..V {
            let lanes = if v + 1 == V { last_lanes } else { u16::MAX };
            // SAFETY: the sink takes row `r < M` and the lanes of vector `v < V`.
            unsafe { sink.store(r, v, acc[r][v], lanes) };
        }
    }
}

/// Destination of a tile's finished sums. A sink points at one output row
/// and the first channel of a block. The kernel moves it with
/// [`Sink::channels`] and [`Sink::rows`] and stores 16 channels at a time.
pub(crate) trait Sink: Copy {
    /// Returns the sink moved `j0` channels right.
    fn channels(self, j0: usize) -> Self;

    /// Returns the sink moved `rows` rows down.
    fn rows(self, rows: usize) -> Self;

    /// Stores the sums `acc` of row `r`, channels `16v..16v + 16`, in the lanes of `lanes`.
    ///
    /// # Safety
    /// AVX-512 F must be available and those outputs must be writable.
    unsafe fn store(self, r: usize, v: usize, acc: __m512i, lanes: u16);
}

/// Stores the `i32` sums, rows `stride` elements apart.
#[derive(Clone, Copy)]
pub(crate) struct SumSink {
    pub out: *mut i32,
    pub stride: usize,
}

impl Sink for SumSink {
    fn channels(self, j0: usize) -> Self {
        Self {
            out: self.out.wrapping_add(j0),
            ..self
        }
    }

    fn rows(self, rows: usize) -> Self {
        Self {
            out: self.out.wrapping_add(rows * self.stride),
            ..self
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store(self, r: usize, v: usize, acc: __m512i, lanes: u16) {
        // SAFETY: the caller guarantees the outputs are writable.
        unsafe {
            _mm512_mask_storeu_epi32(self.out.add(r * self.stride + LANES * v).cast(), lanes, acc)
        };
    }
}

/// Applies the epilogue and stores `f32` (`T = f32`) or quantized `u8`
/// (`T = u8`) outputs, rows `stride` elements apart. `multiplier` and
/// `bias` point at the channel of `out`, and `residual`, when not null, at
/// the element of `out`.
#[derive(Clone, Copy)]
pub(crate) struct ScaledSink<T> {
    out: *mut T,
    stride: usize,
    multiplier: *const f32,
    bias: *const f32,
    residual: *const f32,
    relu: bool,
    inv_scale: f32,
}

impl<T> ScaledSink<T> {
    pub(crate) fn new(out: *mut T, stride: usize, epilogue: &Epilogue<'_>, inv_scale: f32) -> Self {
        Self {
            out,
            stride,
            multiplier: epilogue.multiplier.as_ptr(),
            bias: epilogue.bias.as_ptr(),
            residual: epilogue.residual.map_or(std::ptr::null(), <[f32]>::as_ptr),
            relu: epilogue.relu,
            inv_scale,
        }
    }

    fn moved(self, rows: usize, channels: usize) -> Self {
        let offset = rows * self.stride + channels;
        Self {
            out: self.out.wrapping_add(offset),
            multiplier: self.multiplier.wrapping_add(channels),
            bias: self.bias.wrapping_add(channels),
            residual: if self.residual.is_null() {
                self.residual
            } else {
                self.residual.wrapping_add(offset)
            },
            ..self
        }
    }

    /// `relu?(acc * multiplier + bias + residual)` for row `r`, channels
    /// `16v..`; lanes outside `lanes` read nothing and hold values that no
    /// store writes.
    ///
    /// # Safety
    /// AVX-512 F must be available and the scales and residuals of the
    /// lanes readable.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn finish(self, r: usize, v: usize, acc: __m512i, lanes: u16) -> __m512 {
        // SAFETY: the caller guarantees the scales and residuals of `lanes`
        // are readable; masked loads touch no other lane.
        unsafe {
            let m = _mm512_maskz_loadu_ps(lanes, self.multiplier.add(LANES * v));
            let b = _mm512_maskz_loadu_ps(lanes, self.bias.add(LANES * v));
            // Multiply, then add, each rounded, like the portable epilogue.
            let mut y = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), m), b);
            if !self.residual.is_null() {
                let residual =
                    _mm512_maskz_loadu_ps(lanes, self.residual.add(r * self.stride + LANES * v));
                y = _mm512_add_ps(y, residual);
            }
            // `vmaxps` returns its second operand when the first is NaN, as
            // `f32::max(NaN, 0.0)` returns 0.
            if self.relu {
                y = _mm512_max_ps(y, _mm512_setzero_ps());
            }
            y
        }
    }
}

impl<T: Element> Sink for ScaledSink<T> {
    fn channels(self, j0: usize) -> Self {
        self.moved(0, j0)
    }

    fn rows(self, rows: usize) -> Self {
        self.moved(rows, 0)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store(self, r: usize, v: usize, acc: __m512i, lanes: u16) {
        // SAFETY: the caller guarantees AVX-512 F, the scales and the outputs.
        unsafe {
            let y = self.finish(r, v, acc, lanes);
            T::store_vector(
                self.out.add(r * self.stride + LANES * v),
                lanes,
                y,
                self.inv_scale,
            );
        }
    }
}

/// An output element type of [`ScaledSink`].
pub(crate) trait Element: Copy {
    /// Stores the finished outputs `y` in the lanes of `lanes` at `dst`.
    ///
    /// # Safety
    /// AVX-512 F must be available and those outputs must be writable.
    unsafe fn store_vector(dst: *mut Self, lanes: u16, y: __m512, inv_scale: f32);
}

impl Element for f32 {
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store_vector(dst: *mut Self, lanes: u16, y: __m512, _inv_scale: f32) {
        // SAFETY: the caller guarantees the outputs are writable.
        unsafe { _mm512_mask_storeu_ps(dst, lanes, y) };
    }
}

impl Element for u8 {
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store_vector(dst: *mut Self, lanes: u16, y: __m512, inv_scale: f32) {
        // The portable `quantize_u8`: add half a step, clamp to 0..=255
        // (NaN to 0, as in `finish`), truncate.
        let q = _mm512_add_ps(
            _mm512_mul_ps(y, _mm512_set1_ps(inv_scale)),
            _mm512_set1_ps(0.5),
        );
        let q = _mm512_min_ps(_mm512_max_ps(q, _mm512_setzero_ps()), _mm512_set1_ps(255.0));
        let bytes = _mm512_cvttps_epi32(q);
        // SAFETY: the caller guarantees the outputs are writable.
        unsafe { _mm512_mask_cvtepi32_storeu_epi8(dst.cast(), lanes, bytes) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(value: u32) -> [i8; 4] {
        value.to_le_bytes().map(|b| b as i8)
    }

    #[test]
    fn ternary_tables_decode_planes() {
        // Column 0 is +1, column 1 is -1, column 2 is 0, column 3 is -1.
        let (nonzero, negative) = (0b1011, 0b1010);
        let codes: Vec<i8> = bytes(NONZERO_BYTES[nonzero])
            .iter()
            .zip(bytes(NEGATIVE_BYTES[negative]))
            .map(|(&n, m)| n.wrapping_sub(m))
            .collect();
        assert_eq!(codes, [1, -1, 0, -1]);
    }

    #[test]
    fn binary_table_maps_clear_bits_to_minus_one() {
        assert_eq!(bytes(BINARY_BYTES[0b0101]), [1, -1, 1, -1]);
    }

    use rand::{Rng, SeedableRng};
    use rpr_core::pack::{pack, padded_k, Encoding};

    use crate::kernels::scalar;
    use crate::kernels::x86::{avx512_bcast_binary_u8_strided, avx512_bcast_ternary_u8_strided};

    /// Compares both kernels with the scalar kernels on `(p, o, k)`, with a
    /// stride wider than `o` so that a store past channel `o` shows up.
    fn check_against_scalar(p: usize, o: usize, k: usize, seed: u64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let kp = padded_k(k);
        let mut a = vec![0u8; p * kp];
        for row in a.chunks_exact_mut(kp) {
            row[..k].iter_mut().for_each(|x| {
                *x = if rng.gen_range(0..4) == 0 {
                    255
                } else {
                    rng.gen()
                }
            });
        }
        let ternary = ndarray::Array2::from_shape_fn((o, k), |_| rng.gen_range(-1i8..=1));
        let binary = ternary.mapv(|c| if c >= 0 { 1 } else { -1 });
        let stride = o + 5;
        for (codes, encoding) in [(&ternary, Encoding::Ternary2), (&binary, Encoding::Binary)] {
            let w = pack(codes.view(), encoding).expect("valid codes");
            let (fast, oracle): (
                crate::kernels::StridedGemmFn<u8, i32>,
                crate::kernels::StridedGemmFn<u8, i32>,
            ) = match encoding {
                Encoding::Binary => (avx512_bcast_binary_u8_strided, scalar::binary_u8_strided),
                _ => (avx512_bcast_ternary_u8_strided, scalar::ternary_u8_strided),
            };
            let mut expected = vec![-9i32; p * stride];
            oracle(&a, p, &w.view(), &mut expected, stride).expect("scalar kernel runs");
            let mut got = vec![-9i32; p * stride];
            fast(&a, p, &w.view(), &mut got, stride).expect("kernel runs");
            assert_eq!(got, expected, "{encoding:?} p={p} o={o} k={k} seed={seed}");
        }
    }

    #[test]
    fn bcast_kernels_match_scalar() {
        if Avx512Vnni::try_new().is_none() {
            eprintln!("SKIPPED: this CPU lacks AVX-512 VNNI");
            return;
        }
        // Channel counts below, at and past one vector (16) and one block
        // (64), odd `k` with a partial last step of 4 columns, odd rows.
        let shapes = [
            (1, 1, 1),
            (9, 16, 144),
            (13, 17, 143),
            (7, 33, 5),
            (11, 48, 288),
            (6, 64, 576),
            (5, 70, 97),
            (3, 131, 1025),
        ];
        for (seed, &(p, o, k)) in shapes.iter().enumerate() {
            check_against_scalar(p, o, k, seed as u64);
        }
    }
}
