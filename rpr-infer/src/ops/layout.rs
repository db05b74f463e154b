//! Data movement: channel concatenation, flattening and bilinear upsampling of NHWC tensors.

use super::parallel::{enumerate_chunks, zip_chunks};

/// Concatenates NHWC tensors along channels; `inputs[i]` has `channels[i]` channels and
/// `pixels` pixels per image for each of `batch` images.
pub(crate) fn concat(
    inputs: &[&[f32]],
    channels: &[usize],
    batch_pixels: usize,
    output: &mut [f32],
) {
    let total: usize = channels.iter().sum();
    enumerate_chunks(output, total, |pixel, dst| {
        let mut offset = 0;
        for (input, &c) in inputs.iter().zip(channels) {
            dst[offset..offset + c].copy_from_slice(&input[pixel * c..][..c]);
            offset += c;
        }
    });
    debug_assert_eq!(output.len(), batch_pixels * total);
}

/// Flattens `[n, h, w, c]` into `[n, c * h * w]` in PyTorch's NCHW order, so a following Linear
/// layer uses its weights unchanged.
pub(crate) fn flatten_nchw(input: &[f32], [c, h, w]: [usize; 3], output: &mut [f32]) {
    let len = c * h * w;
    if h * w == 1 {
        output.copy_from_slice(input);
        return;
    }
    zip_chunks(output, len, input, len, |dst, src| {
        for pixel in 0..h * w {
            for ch in 0..c {
                dst[ch * h * w + pixel] = src[pixel * c + ch];
            }
        }
    });
}

/// Source index pair and weight of the second one for one output coordinate of a bilinear resize
/// with `align_corners = false`, as in PyTorch: `src = (dst + 0.5) * in / out - 0.5`, clamped at 0.
fn bilinear_tap(dst: usize, in_size: usize, out_size: usize) -> (usize, usize, f32) {
    let scale = in_size as f32 / out_size as f32;
    let src = ((dst as f32 + 0.5) * scale - 0.5).max(0.0);
    let i0 = (src.floor() as usize).min(in_size - 1);
    let i1 = (i0 + 1).min(in_size - 1);
    (i0, i1, src - i0 as f32)
}

/// Bilinear resize of `[n, in_h, in_w, c]` to `[n, out_h, out_w, c]`.
pub(crate) fn upsample_bilinear(
    input: &[f32],
    c: usize,
    in_hw: [usize; 2],
    out_hw: [usize; 2],
    output: &mut [f32],
) {
    let in_len = in_hw[0] * in_hw[1] * c;
    let out_len = out_hw[0] * out_hw[1] * c;
    let cols: Vec<_> = (0..out_hw[1])
        .map(|x| bilinear_tap(x, in_hw[1], out_hw[1]))
        .collect();
    zip_chunks(output, out_len, input, in_len, |dst, src| {
        for oy in 0..out_hw[0] {
            let (y0, y1, ly) = bilinear_tap(oy, in_hw[0], out_hw[0]);
            for (ox, &(x0, x1, lx)) in cols.iter().enumerate() {
                let at = |y: usize, x: usize, ch: usize| src[(y * in_hw[1] + x) * c + ch];
                let d = &mut dst[(oy * out_hw[1] + ox) * c..][..c];
                for (ch, value) in d.iter_mut().enumerate() {
                    let top = at(y0, x0, ch) * (1.0 - lx) + at(y0, x1, ch) * lx;
                    let bottom = at(y1, x0, ch) * (1.0 - lx) + at(y1, x1, ch) * lx;
                    *value = top * (1.0 - ly) + bottom * ly;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_interleaves_per_pixel() {
        let a = [1.0, 2.0];
        let b = [10.0, 11.0, 20.0, 21.0];
        let mut out = [0.0; 6];
        concat(&[&a, &b], &[1, 2], 2, &mut out);
        assert_eq!(out, [1.0, 10.0, 11.0, 2.0, 20.0, 21.0]);
    }

    #[test]
    fn flatten_restores_channel_major_order() {
        // c = 2, h = 1, w = 2: NHWC [p0c0, p0c1, p1c0, p1c1] -> NCHW [c0p0, c0p1, c1p0, c1p1].
        let mut out = [0.0; 4];
        flatten_nchw(&[1.0, 2.0, 3.0, 4.0], [2, 1, 2], &mut out);
        assert_eq!(out, [1.0, 3.0, 2.0, 4.0]);
    }

    #[test]
    fn upsample_doubles_like_pytorch() {
        // torch.nn.functional.interpolate([[1, 2]] as 1x2, size=(1, 4), mode="bilinear",
        // align_corners=False) gives [1.0, 1.25, 1.75, 2.0].
        let mut out = [0.0; 4];
        upsample_bilinear(&[1.0, 2.0], 1, [1, 2], [1, 4], &mut out);
        assert_eq!(out, [1.0, 1.25, 1.75, 2.0]);
    }
}
