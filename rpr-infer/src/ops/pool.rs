//! Max, average and global average pooling over NHWC f32 tensors.

use super::parallel::zip_chunks;

/// Pooling window over an NHWC input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolGeometry {
    pub channels: usize,
    pub in_hw: [usize; 2],
    pub out_hw: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl PoolGeometry {
    /// Window rows or columns `[start, end)` along one axis, as PyTorch computes them: `padded_end`
    /// is clipped to the padded input (for the `count_include_pad` divisor) and `start..end` to
    /// the real input.
    fn window(&self, axis: usize, out: usize) -> (usize, usize, usize) {
        let start = (out * self.stride[axis]) as isize - self.padding[axis] as isize;
        let padded_end = (start + self.kernel[axis] as isize)
            .min((self.in_hw[axis] + self.padding[axis]) as isize);
        let span = (padded_end - start) as usize;
        let end = padded_end.min(self.in_hw[axis] as isize).max(0) as usize;
        (start.max(0) as usize, end, span)
    }
}

/// Max pooling; padded positions never win. Every window contains at least one input position
/// because the output size follows PyTorch's rule that windows start inside the input or left
/// padding.
pub(crate) fn max_pool(input: &[f32], geom: &PoolGeometry, output: &mut [f32]) {
    let c = geom.channels;
    let in_len = geom.in_hw[0] * geom.in_hw[1] * c;
    let out_len = geom.out_hw[0] * geom.out_hw[1] * c;
    zip_chunks(output, out_len, input, in_len, |out, image| {
        for oy in 0..geom.out_hw[0] {
            let (y0, y1, _) = geom.window(0, oy);
            for ox in 0..geom.out_hw[1] {
                let (x0, x1, _) = geom.window(1, ox);
                let dst = &mut out[(oy * geom.out_hw[1] + ox) * c..][..c];
                dst.fill(f32::NEG_INFINITY);
                for y in y0..y1 {
                    for x in x0..x1 {
                        let src = &image[(y * geom.in_hw[1] + x) * c..][..c];
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d = d.max(s);
                        }
                    }
                }
            }
        }
    });
}

/// Average pooling with `count_include_pad`: padded positions count as zeros in the divisor.
pub(crate) fn avg_pool(input: &[f32], geom: &PoolGeometry, output: &mut [f32]) {
    let c = geom.channels;
    let in_len = geom.in_hw[0] * geom.in_hw[1] * c;
    let out_len = geom.out_hw[0] * geom.out_hw[1] * c;
    zip_chunks(output, out_len, input, in_len, |out, image| {
        for oy in 0..geom.out_hw[0] {
            let (y0, y1, h_span) = geom.window(0, oy);
            for ox in 0..geom.out_hw[1] {
                let (x0, x1, w_span) = geom.window(1, ox);
                let dst = &mut out[(oy * geom.out_hw[1] + ox) * c..][..c];
                dst.fill(0.0);
                for y in y0..y1 {
                    for x in x0..x1 {
                        let src = &image[(y * geom.in_hw[1] + x) * c..][..c];
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d += s;
                        }
                    }
                }
                let inv = 1.0 / (h_span * w_span) as f32;
                dst.iter_mut().for_each(|d| *d *= inv);
            }
        }
    });
}

/// Mean over all pixels of each image and channel: `[n, h, w, c]` to `[n, c]`.
pub(crate) fn global_avg_pool(input: &[f32], pixels: usize, channels: usize, output: &mut [f32]) {
    let inv = 1.0 / pixels as f32;
    zip_chunks(output, channels, input, pixels * channels, |dst, image| {
        dst.fill(0.0);
        for pixel in image.chunks_exact(channels) {
            for (d, &s) in dst.iter_mut().zip(pixel) {
                *d += s;
            }
        }
        dst.iter_mut().for_each(|d| *d *= inv);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avg_pool_divisor_counts_padding() {
        // One channel, 2x2 input [[1, 2], [3, 4]], 2x2 window, stride 2, pad 1: each output
        // window covers one real pixel and three padded zeros, so the result is value / 4.
        let geom = PoolGeometry {
            channels: 1,
            in_hw: [2, 2],
            out_hw: [2, 2],
            kernel: [2, 2],
            stride: [2, 2],
            padding: [1, 1],
        };
        let mut out = vec![0.0; 4];
        avg_pool(&[1.0, 2.0, 3.0, 4.0], &geom, &mut out);
        assert_eq!(out, vec![0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn max_pool_ignores_padding_for_negative_inputs() {
        let geom = PoolGeometry {
            channels: 1,
            in_hw: [2, 2],
            out_hw: [2, 2],
            kernel: [2, 2],
            stride: [2, 2],
            padding: [1, 1],
        };
        let mut out = vec![0.0; 4];
        max_pool(&[-1.0, -2.0, -3.0, -4.0], &geom, &mut out);
        assert_eq!(out, vec![-1.0, -2.0, -3.0, -4.0]);
    }

    #[test]
    fn global_avg_pool_is_per_channel_mean() {
        let input = [1.0, 10.0, 3.0, 30.0, 5.0, 50.0, 7.0, 70.0];
        let mut out = vec![0.0; 2];
        global_avg_pool(&input, 4, 2, &mut out);
        assert_eq!(out, vec![4.0, 40.0]);
    }
}
