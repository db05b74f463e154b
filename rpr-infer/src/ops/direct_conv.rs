//! Direct float convolution for a first conv on few image channels.
//!
//! With 1 to 4 input channels, im2col copies runs of a few floats per kernel
//! row, and the SGEMM that follows gets short rows. A 3x3 conv on a
//! 1-channel image spent 11% of a batch-1 ResNet-20 run there. The 7x7 conv
//! on the 3-channel image of a ResNet-18 took about 30% of its run. This kernel reads each
//! image from a zero-bordered copy, which [`pad_images`] writes once per call into the
//! session's scratch. It keeps the output channels of 4 to 8 adjacent pixels in AVX-512
//! registers while it adds every tap's products into them.
//!
//! It accumulates with fused multiply-adds in the reduction order of
//! im2col, as the SGEMM does, but the SGEMM may group its sums differently,
//! so results can differ in the last bit.

use rayon::prelude::*;

use super::geometry::ConvGeometry;

/// Most input channels that the kernel takes.
const MAX_CHANNELS: usize = 4;
/// Output channels per vector, and the most vectors per pixel.
const LANES: usize = 16;
const MAX_VECTORS: usize = 4;

/// Returns true when the kernel applies to a conv with `groups` groups,
/// `channels` input channels and `o` output channels, on this CPU.
pub(crate) fn applies(groups: usize, channels: usize, o: usize) -> bool {
    groups == 1
        && channels <= MAX_CHANNELS
        && o.is_multiple_of(LANES)
        && o <= LANES * MAX_VECTORS
        && cpu_supported()
}

fn cpu_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One image with its zero border, so that every tap of the kernel reads a value.
#[derive(Clone, Copy, Debug)]
struct Padded {
    /// Pixels per row and rows, border included.
    width: usize,
    height: usize,
    channels: usize,
}

impl Padded {
    fn new(geom: &ConvGeometry) -> Self {
        Self {
            width: geom.in_w + 2 * geom.padding[1],
            height: geom.in_h + 2 * geom.padding[0],
            channels: geom.in_channels,
        }
    }

    fn len(&self) -> usize {
        self.width * self.height * self.channels
    }

    /// Copies the NHWC `image` into the middle of `dst` and zeroes the border. The border is
    /// written on every call, because the scratch may hold another conv's image.
    fn fill(&self, geom: &ConvGeometry, image: &[f32], dst: &mut [f32]) {
        let line = self.width * self.channels;
        let (top, left) = (geom.padding[0], geom.padding[1] * self.channels);
        let src_line = geom.in_w * self.channels;
        let (border_top, rest) = dst[..self.len()].split_at_mut(top * line);
        border_top.fill(0.0);
        let (middle, border_bottom) = rest.split_at_mut(geom.in_h * line);
        border_bottom.fill(0.0);
        for (dst_line, src) in middle
            .chunks_exact_mut(line)
            .zip(image.chunks_exact(src_line))
        {
            let (border_left, rest) = dst_line.split_at_mut(left);
            border_left.fill(0.0);
            let (inside, border_right) = rest.split_at_mut(src_line);
            inside.copy_from_slice(src);
            border_right.fill(0.0);
        }
    }
}

/// Scratch elements that [`pad_images`] needs per image.
pub(crate) fn padded_image_len(geom: &ConvGeometry) -> usize {
    Padded::new(geom).len()
}

/// Copies every NHWC image of `input` into `padded` with a zero border, one image after the
/// other. `padded` must contain `padded_image_len(geom)` elements per image and may be longer.
/// With `parallel`, the images are copied on the current rayon pool.
pub(crate) fn pad_images(geom: &ConvGeometry, input: &[f32], padded: &mut [f32], parallel: bool) {
    let layout = Padded::new(geom);
    let image_len = geom.in_h * geom.in_w * geom.in_channels;
    if image_len == 0 || layout.len() == 0 {
        return;
    }
    let images = input.len() / image_len;
    let padded = &mut padded[..images * layout.len()];
    if parallel && images > 1 {
        padded
            .par_chunks_exact_mut(layout.len())
            .zip(input.par_chunks_exact(image_len))
            .for_each(|(dst, image)| layout.fill(geom, image, dst));
    } else {
        for (dst, image) in padded
            .chunks_exact_mut(layout.len())
            .zip(input.chunks_exact(image_len))
        {
            layout.fill(geom, image, dst);
        }
    }
}

/// Writes `out` (rows from `first_row` on, without bias) with the direct
/// kernel and returns true, or returns false without writing when the
/// kernel does not apply. `columns` is the `[k, o]` weight transpose, and
/// `padded` contains every image that the rows read, as [`pad_images`] wrote them.
pub(crate) fn direct_conv(
    geom: &ConvGeometry,
    columns: &[f32],
    padded: &[f32],
    first_row: usize,
    out: &mut [f32],
) -> bool {
    let k = geom.k(geom.in_channels);
    let o = columns.len() / k.max(1);
    if o == 0 || !applies(1, geom.in_channels, o) || columns.len() != k * o {
        return false;
    }
    let rows = out.len() / o;
    let images = (first_row + rows).div_ceil(geom.out_pixels().max(1));
    if padded.len() < images * padded_image_len(geom) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `applies` checked AVX-512 F and that `o` is a multiple of
        // 16 of at most 64, and `padded` covers every image the rows read.
        unsafe { x86::rows(geom, columns, o, padded, first_row, out) };
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (padded, first_row, out);
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Padded, LANES};
    use crate::ops::geometry::ConvGeometry;

    /// # Safety
    /// AVX-512 F must be available, and `o` must be a multiple of 16 of at
    /// most 64 with `columns.len() == k * o`. `padded` must contain every
    /// image that the rows read, as `pad_images` wrote them.
    pub(super) unsafe fn rows(
        geom: &ConvGeometry,
        columns: &[f32],
        o: usize,
        padded: &[f32],
        first_row: usize,
        out: &mut [f32],
    ) {
        // Adjacent pixels of one output row share each weight load, and
        // their sums are independent, so the additions of consecutive taps
        // overlap instead of waiting for each other. Four pixels of 64
        // channels are 16 accumulators.
        // SAFETY: forwarded from the caller, with `V = o / 16`.
        unsafe {
            match o / LANES {
                1 => pixel_groups::<8, 1>(geom, columns, padded, first_row, out),
                2 => pixel_groups::<8, 2>(geom, columns, padded, first_row, out),
                3 => pixel_groups::<6, 3>(geom, columns, padded, first_row, out),
                _ => pixel_groups::<4, 4>(geom, columns, padded, first_row, out),
            }
        }
    }

    /// Runs the output rows in groups of `P` adjacent pixels of `16 * V` channels.
    ///
    /// # Safety
    /// As [`rows`], with `o = 16 * V`.
    #[target_feature(enable = "avx512f")]
    unsafe fn pixel_groups<const P: usize, const V: usize>(
        geom: &ConvGeometry,
        columns: &[f32],
        padded: &[f32],
        first_row: usize,
        out: &mut [f32],
    ) {
        let o = LANES * V;
        let rows = out.len() / o;
        let layout = Padded::new(geom);

        // Runs of consecutive output pixels inside one output row and image.
        let mut row = 0;
        while row < rows {
            let pixel = first_row + row;
            let (n, within) = (pixel / geom.out_pixels(), pixel % geom.out_pixels());
            let (oy, ox) = (within / geom.out_w, within % geom.out_w);
            let len = (geom.out_w - ox).min(rows - row).min(P);
            let image = &padded[n * layout.len()..][..layout.len()];
            let y_rows = &mut out[row * o..(row + len) * o];
            // SAFETY: forwarded from the caller; `image` covers every tap
            // of these pixels, and `y_rows` contains `len` rows of `o`.
            unsafe {
                if len == P {
                    run::<P, V>(geom, &layout, image, columns, [oy, ox], y_rows);
                } else {
                    for (p, y_row) in y_rows.chunks_exact_mut(o).enumerate() {
                        run::<1, V>(geom, &layout, image, columns, [oy, ox + p], y_row);
                    }
                }
            }
            row += len;
        }
    }

    /// Computes `P` adjacent output pixels from `[oy, ox]` on, into `y_rows`.
    ///
    /// # Safety
    /// As [`rows`] with `o = 16 * V`, and pixels `ox..ox + P` lie in output
    /// row `oy`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop)]
    unsafe fn run<const P: usize, const V: usize>(
        geom: &ConvGeometry,
        padded: &Padded,
        image: &[f32],
        columns: &[f32],
        [oy, ox]: [usize; 2],
        y_rows: &mut [f32],
    ) {
        let (c, o) = (geom.in_channels, LANES * V);
        let [kh, kw] = geom.kernel;
        let mut acc = [[_mm512_setzero_ps(); V]; P];
        for ky in 0..kh {
            let y = oy * geom.stride[0] + ky * geom.dilation[0];
            for kx in 0..kw {
                let x = ox * geom.stride[1] + kx * geom.dilation[1];
                let first = (y * padded.width + x) * c;
                let taps = &columns[(ky * kw + kx) * c * o..][..c * o];
                for (ci, weights) in taps.chunks_exact(o).enumerate() {
                    let mut w = [_mm512_setzero_ps(); V];
                    for v in 0..V {
                        // SAFETY: `weights` contains `o = 16 * V` values.
                        w[v] = unsafe { _mm512_loadu_ps(weights.as_ptr().add(LANES * v)) };
                    }
                    for p in 0..P {
                        let a = _mm512_set1_ps(image[first + p * geom.stride[1] * c + ci]);
                        for v in 0..V {
                            acc[p][v] = _mm512_fmadd_ps(a, w[v], acc[p][v]);
                        }
                    }
                }
            }
        }
        for p in 0..P {
            for v in 0..V {
                // SAFETY: `y_rows` contains `P` rows of `o = 16 * V` values.
                unsafe { _mm512_storeu_ps(y_rows.as_mut_ptr().add(p * o + LANES * v), acc[p][v]) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use crate::ops::float_conv::{float_conv, FloatConvWeights};
    use crate::ops::geometry::ConvGeometry;
    use crate::ops::tiling::Tiling;

    /// `bias + sum` over the taps inside the image, in f64, from the definition.
    fn reference(
        geom: &ConvGeometry,
        weight: &[f32],
        o: usize,
        bias: &[f32],
        input: &[f32],
        batch: usize,
    ) -> Vec<f32> {
        let c = geom.in_channels;
        let [kh, kw] = geom.kernel;
        let mut out = Vec::with_capacity(batch * geom.out_pixels() * o);
        for n in 0..batch {
            for y in 0..geom.out_h {
                for x in 0..geom.out_w {
                    for (oc, &b) in bias.iter().enumerate() {
                        let mut sum = 0.0f64;
                        for ci in 0..c {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (y * geom.stride[0] + ky * geom.dilation[0]) as isize
                                        - geom.padding[0] as isize;
                                    let ix = (x * geom.stride[1] + kx * geom.dilation[1]) as isize
                                        - geom.padding[1] as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= geom.in_h as isize
                                        || ix >= geom.in_w as isize
                                    {
                                        continue;
                                    }
                                    let v = input[((n * geom.in_h + iy as usize) * geom.in_w
                                        + ix as usize)
                                        * c
                                        + ci];
                                    sum += f64::from(v)
                                        * f64::from(weight[((oc * c + ci) * kh + ky) * kw + kx]);
                                }
                            }
                        }
                        out.push(sum as f32 + b);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn direct_conv_matches_definition() {
        if !super::cpu_supported() {
            eprintln!("SKIPPED: this CPU lacks AVX-512 F");
            return;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // (channels, in_hw, kernel, stride, padding, dilation, out_channels, batch)
        let cases = [
            (1, [28, 28], [3, 3], [1, 1], [1, 1], [1, 1], 16, 1),
            (3, [9, 7], [3, 3], [2, 2], [1, 1], [1, 1], 32, 3),
            (2, [8, 8], [3, 5], [1, 2], [2, 0], [2, 1], 64, 2),
            (3, [5, 6], [1, 1], [1, 1], [0, 0], [1, 1], 48, 1),
            (3, [19, 17], [7, 7], [2, 2], [3, 3], [1, 1], 64, 2),
            (4, [6, 9], [3, 3], [1, 1], [1, 1], [1, 1], 16, 1),
        ];
        for (c, hw, kernel, stride, padding, dilation, o, batch) in cases {
            let geom = ConvGeometry::new(c, hw, kernel, stride, padding, dilation).unwrap();
            let k = geom.k(c);
            let weight: Vec<f32> = (0..o * k).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let bias: Vec<f32> = (0..o).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let input: Vec<f32> = (0..batch * hw[0] * hw[1] * c)
                .map(|_| rng.gen_range(-2.0..2.0))
                .collect();
            let weights =
                FloatConvWeights::from_oihw(&weight, [o, c, kernel[0], kernel[1]], 1, bias.clone());
            assert!(weights.columns.is_some(), "{geom:?} runs directly");
            let rows = batch * geom.out_pixels();
            let expected = reference(&geom, &weight, o, &bias, &input, batch);
            for (relu, tiling) in [
                (false, Tiling::for_rows(rows, 1, k * 4)),
                (
                    true,
                    Tiling {
                        rows_per_tile: 5,
                        workers: 2,
                    },
                ),
            ] {
                let mut cols = vec![0.0; tiling.scratch_rows(rows) * k];
                // The NaN-filled scratch imitates an image left by another conv. The border
                // must be rewritten, or the NaN would reach the output.
                let mut padded = vec![f32::NAN; batch * super::padded_image_len(&geom) + 7];
                let mut out = vec![f32::NAN; rows * o];
                float_conv(
                    &geom,
                    &weights,
                    relu,
                    tiling,
                    &input,
                    &mut cols,
                    &mut padded,
                    &mut out,
                );
                for (index, (&got, &want)) in out.iter().zip(&expected).enumerate() {
                    let want = if relu { want.max(0.0) } else { want };
                    assert!(
                        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "{geom:?} output {index}: {got} against {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn pad_images_writes_border_and_copy() {
        // The kernel reads nothing but this buffer, so a buffer equal to a zeroed one with the
        // image copied in gives the same results as a fresh allocation.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        // (channels, in_hw, padding, batch)
        let cases = [
            (1, [5, 4], [1, 1], 1),
            (3, [4, 6], [3, 2], 3),
            (2, [3, 3], [0, 2], 2),
            (4, [2, 5], [2, 0], 2),
        ];
        for (c, [h, w], padding, batch) in cases {
            let geom = ConvGeometry::new(c, [h, w], [1, 1], [1, 1], padding, [1, 1]).unwrap();
            let input: Vec<f32> = (0..batch * h * w * c)
                .map(|_| rng.gen_range(-2.0..2.0))
                .collect();
            let (ph, pw) = (h + 2 * padding[0], w + 2 * padding[1]);
            let mut expected = vec![0.0f32; batch * ph * pw * c];
            for n in 0..batch {
                for y in 0..h {
                    for x in 0..w {
                        for ci in 0..c {
                            let dst = ((n * ph + y + padding[0]) * pw + x + padding[1]) * c + ci;
                            expected[dst] = input[((n * h + y) * w + x) * c + ci];
                        }
                    }
                }
            }
            assert_eq!(super::padded_image_len(&geom) * batch, expected.len());
            for parallel in [false, true] {
                let mut padded = vec![f32::NAN; expected.len() + 5];
                super::pad_images(&geom, &input, &mut padded, parallel);
                let (written, rest) = padded.split_at(expected.len());
                assert!(
                    written
                        .iter()
                        .zip(&expected)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{geom:?}, parallel {parallel}"
                );
                assert!(
                    rest.iter().all(|v| v.is_nan()),
                    "{geom:?}: wrote past the images"
                );
            }
        }
    }

    #[test]
    fn other_shapes_keep_im2col() {
        assert!(!super::applies(2, 2, 16), "grouped");
        assert!(!super::applies(1, 5, 16), "five input channels");
        assert!(
            !super::applies(1, 3, 20),
            "output channels not a multiple of 16"
        );
        assert!(!super::applies(1, 3, 80), "more than 64 output channels");
    }
}
