//! NHWC im2col into GEMM rows in the order of `rpr_core::pack`: column `k = (ky * KW + kx) * C + c`.

use super::geometry::ConvGeometry;

/// Channel slice of the input that one convolution group reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChannelRange {
    pub start: usize,
    pub len: usize,
}

/// Writes im2col rows `first_row .. first_row + out.len() / row_len` of an NHWC batch.
///
/// Row `p = (n * out_h + y) * out_w + x`. Each row contains `geom.k(channels.len)` values followed by
/// zeros up to `row_len`, and padded input positions become `T::default()` (zero). Each kernel tap
/// copies `channels.len` contiguous values, because channels are the fastest NHWC axis.
pub(crate) fn im2col<T: Copy + Default>(
    input: &[T],
    geom: &ConvGeometry,
    channels: ChannelRange,
    row_len: usize,
    first_row: usize,
    out: &mut [T],
) {
    let c_total = geom.in_channels;
    let [kh, kw] = geom.kernel;
    let [sh, sw] = geom.stride;
    let [ph, pw] = geom.padding;
    let [dh, dw] = geom.dilation;
    let cg = channels.len;
    let k = geom.k(cg);
    debug_assert!(row_len >= k);

    for (r, row) in out.chunks_exact_mut(row_len).enumerate() {
        let p = first_row + r;
        let x = p % geom.out_w;
        let y = (p / geom.out_w) % geom.out_h;
        let n = p / geom.out_pixels();
        let image = &input[n * geom.in_h * geom.in_w * c_total..][..geom.in_h * geom.in_w * c_total];

        for ky in 0..kh {
            // Signed arithmetic keeps the padding test readable; sizes are far below isize::MAX.
            let iy = (y * sh + ky * dh) as isize - ph as isize;
            for kx in 0..kw {
                let ix = (x * sw + kx * dw) as isize - pw as isize;
                let dst = &mut row[(ky * kw + kx) * cg..][..cg];
                if iy < 0 || ix < 0 || iy >= geom.in_h as isize || ix >= geom.in_w as isize {
                    dst.fill(T::default());
                    continue;
                }
                let pixel = (iy as usize * geom.in_w + ix as usize) * c_total + channels.start;
                dst.copy_from_slice(&image[pixel..pixel + cg]);
            }
        }
        row[k..].fill(T::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns input channel `c` under kernel tap (ky, kx) for output (n, y, x), from the definition.
    #[allow(clippy::too_many_arguments)]
    fn tap(input: &[i32], g: &ConvGeometry, n: usize, y: usize, x: usize, ky: usize, kx: usize, c: usize) -> i32 {
        let iy = (y * g.stride[0] + ky * g.dilation[0]) as isize - g.padding[0] as isize;
        let ix = (x * g.stride[1] + kx * g.dilation[1]) as isize - g.padding[1] as isize;
        if iy < 0 || ix < 0 || iy >= g.in_h as isize || ix >= g.in_w as isize {
            return 0;
        }
        input[((n * g.in_h + iy as usize) * g.in_w + ix as usize) * g.in_channels + c]
    }

    #[test]
    fn rows_match_direct_definition() {
        let g = ConvGeometry::new(3, [5, 6], [3, 2], [2, 1], [1, 1], [1, 2]).unwrap();
        let n = 2;
        let input: Vec<i32> = (0..n * 5 * 6 * 3).map(|v| v as i32 + 1).collect();
        let channels = ChannelRange { start: 1, len: 2 };
        let k = g.k(2);
        let row_len = 32;
        let rows = n * g.out_pixels();
        let mut out = vec![-1; rows * row_len];
        im2col(&input, &g, channels, row_len, 0, &mut out);

        for p in 0..rows {
            let (b, y, x) = (p / g.out_pixels(), (p / g.out_w) % g.out_h, p % g.out_w);
            for ky in 0..3 {
                for kx in 0..2 {
                    for c in 0..2 {
                        let expected = tap(&input, &g, b, y, x, ky, kx, c + 1);
                        assert_eq!(out[p * row_len + (ky * 2 + kx) * 2 + c], expected, "row {p} tap {ky},{kx} c {c}");
                    }
                }
            }
            assert!(out[p * row_len + k..(p + 1) * row_len].iter().all(|&v| v == 0), "row {p} padding");
        }
    }

    #[test]
    fn partial_rows_start_at_offset() {
        let g = ConvGeometry::new(2, [4, 4], [3, 3], [1, 1], [1, 1], [1, 1]).unwrap();
        let input: Vec<i32> = (0..4 * 4 * 2).collect();
        let all = ChannelRange { start: 0, len: 2 };
        let mut whole = vec![0; 16 * 18];
        im2col(&input, &g, all, 18, 0, &mut whole);
        let mut tail = vec![0; 5 * 18];
        im2col(&input, &g, all, 18, 11, &mut tail);
        assert_eq!(&whole[11 * 18..], &tail[..]);
    }
}
