//! Max, average and global average pooling with PyTorch's window rules.

use ndarray::{Array4, ArrayView4};

use crate::graph::Pool2d;

/// Window of output index `o` along one axis: the unclamped start (may be
/// negative, in the left padding) and the end clipped to the input plus the
/// right padding, as PyTorch's pooling kernels compute it.
fn window(
    o: usize,
    pool_stride: usize,
    padding: usize,
    kernel: usize,
    len: usize,
) -> (isize, isize) {
    let start = (o * pool_stride) as isize - padding as isize;
    let end = (start + kernel as isize).min((len + padding) as isize);
    (start, end)
}

/// Computes `max_pool2d`. Padded positions never win, and NaN propagates.
pub(super) fn max_pool(x: ArrayView4<f32>, pool: &Pool2d, out_size: [usize; 2]) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let [oh, ow] = out_size;
    Array4::from_shape_fn((n, c, oh, ow), |(b, ch, oy, ox)| {
        let (y0, y1) = window(oy, pool.stride[0], pool.padding[0], pool.kernel[0], h);
        let (x0, x1) = window(ox, pool.stride[1], pool.padding[1], pool.kernel[1], w);
        let mut max = f32::NEG_INFINITY;
        for iy in y0.max(0)..y1.min(h as isize) {
            for ix in x0.max(0)..x1.min(w as isize) {
                let v = x[[b, ch, iy as usize, ix as usize]];
                if v > max || v.is_nan() {
                    max = v;
                }
            }
        }
        max
    })
}

/// Computes `avg_pool2d` with `count_include_pad = True`: the divisor counts
/// padding positions but not the part of a ceil-mode window beyond the
/// right padding.
pub(super) fn avg_pool(x: ArrayView4<f32>, pool: &Pool2d, out_size: [usize; 2]) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let [oh, ow] = out_size;
    Array4::from_shape_fn((n, c, oh, ow), |(b, ch, oy, ox)| {
        let (y0, y1) = window(oy, pool.stride[0], pool.padding[0], pool.kernel[0], h);
        let (x0, x1) = window(ox, pool.stride[1], pool.padding[1], pool.kernel[1], w);
        let divisor = ((y1 - y0) * (x1 - x0)) as f32;
        let mut sum = 0.0f32;
        for iy in y0.max(0)..y1.min(h as isize) {
            for ix in x0.max(0)..x1.min(w as isize) {
                sum += x[[b, ch, iy as usize, ix as usize]];
            }
        }
        sum / divisor
    })
}

/// Averages each channel over its whole spatial extent, giving `[n, c, 1, 1]`.
pub(super) fn global_avg_pool(x: ArrayView4<f32>) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let count = (h * w) as f32;
    Array4::from_shape_fn((n, c, 1, 1), |(b, ch, _, _)| {
        let mut sum = 0.0f32;
        for iy in 0..h {
            for ix in 0..w {
                sum += x[[b, ch, iy, ix]];
            }
        }
        sum / count
    })
}
