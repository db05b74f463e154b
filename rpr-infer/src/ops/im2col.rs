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
/// zeros up to `row_len`, and padded input positions become `T::default()` (zero).
///
/// Channels are the fastest NHWC axis, so one kernel tap is `channels.len` contiguous values. When
/// the taps read every channel and the horizontal dilation is 1, the taps of one kernel row are
/// also adjacent in the input, and the whole row of taps inside the image is a single copy. That
/// matters at batch 1 on small channel counts, where one copy per tap (16 bytes for a 16-channel
/// u8 conv, 4 bytes for a 1-channel f32 conv) spent more time in calls than in moving data.
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
    let adjacent_taps = dw == 1 && cg == c_total;
    let image_len = geom.in_h * geom.in_w * c_total;

    let mut n = first_row / geom.out_pixels();
    let mut y = (first_row / geom.out_w) % geom.out_h;
    let mut x = first_row % geom.out_w;
    for row in out.chunks_exact_mut(row_len) {
        let image = &input[n * image_len..][..image_len];
        // Signed arithmetic keeps the padding tests readable; sizes are far below isize::MAX.
        let ix0 = (x * sw) as isize - pw as isize;

        for ky in 0..kh {
            let iy = (y * sh + ky * dh) as isize - ph as isize;
            let taps = &mut row[ky * kw * cg..(ky + 1) * kw * cg];
            if iy < 0 || iy >= geom.in_h as isize {
                taps.fill(T::default());
                continue;
            }
            let line = &image[iy as usize * geom.in_w * c_total..][..geom.in_w * c_total];
            if adjacent_taps {
                // Taps `lo..hi` fall inside the image; the others are padding.
                let lo = (-ix0).clamp(0, kw as isize) as usize;
                let hi = (geom.in_w as isize - ix0).clamp(lo as isize, kw as isize) as usize;
                // Interior pixels need no fill; skipping the empty ones saves a `memset` call each.
                if lo > 0 {
                    taps[..lo * cg].fill(T::default());
                }
                if hi > lo {
                    let first = (ix0 + lo as isize) as usize * cg;
                    taps[lo * cg..hi * cg].copy_from_slice(&line[first..first + (hi - lo) * cg]);
                }
                if hi < kw {
                    taps[hi * cg..].fill(T::default());
                }
                continue;
            }
            for kx in 0..kw {
                let ix = ix0 + (kx * dw) as isize;
                let dst = &mut taps[kx * cg..][..cg];
                if ix < 0 || ix >= geom.in_w as isize {
                    dst.fill(T::default());
                } else {
                    let pixel = ix as usize * c_total + channels.start;
                    dst.copy_from_slice(&line[pixel..pixel + cg]);
                }
            }
        }
        if k < row_len {
            row[k..].fill(T::default());
        }

        x += 1;
        if x == geom.out_w {
            x = 0;
            y += 1;
            if y == geom.out_h {
                y = 0;
                n += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns input channel `c` under kernel tap (ky, kx) for output (n, y, x), from the definition.
    #[allow(clippy::too_many_arguments)]
    fn tap(
        input: &[i32],
        g: &ConvGeometry,
        n: usize,
        y: usize,
        x: usize,
        ky: usize,
        kx: usize,
        c: usize,
    ) -> i32 {
        let iy = (y * g.stride[0] + ky * g.dilation[0]) as isize - g.padding[0] as isize;
        let ix = (x * g.stride[1] + kx * g.dilation[1]) as isize - g.padding[1] as isize;
        if iy < 0 || ix < 0 || iy >= g.in_h as isize || ix >= g.in_w as isize {
            return 0;
        }
        input[((n * g.in_h + iy as usize) * g.in_w + ix as usize) * g.in_channels + c]
    }

    /// Compares every im2col row with the definition, for all rows and for a slice that starts mid-image.
    fn check_against_definition(
        g: &ConvGeometry,
        channels: ChannelRange,
        n: usize,
        row_len: usize,
    ) {
        let input: Vec<i32> = (0..n * g.in_h * g.in_w * g.in_channels)
            .map(|v| v as i32 + 1)
            .collect();
        let k = g.k(channels.len);
        let rows = n * g.out_pixels();
        let mut out = vec![-1; rows * row_len];
        im2col(&input, g, channels, row_len, 0, &mut out);

        for p in 0..rows {
            let (b, y, x) = (p / g.out_pixels(), (p / g.out_w) % g.out_h, p % g.out_w);
            for ky in 0..g.kernel[0] {
                for kx in 0..g.kernel[1] {
                    for c in 0..channels.len {
                        let expected = tap(&input, g, b, y, x, ky, kx, c + channels.start);
                        let got = out[p * row_len + (ky * g.kernel[1] + kx) * channels.len + c];
                        assert_eq!(got, expected, "{g:?} row {p} tap {ky},{kx} c {c}");
                    }
                }
            }
            assert!(
                out[p * row_len + k..(p + 1) * row_len]
                    .iter()
                    .all(|&v| v == 0),
                "row {p} padding"
            );
        }

        let first = rows / 2 + 1;
        let mut tail = vec![-1; (rows - first) * row_len];
        im2col(&input, g, channels, row_len, first, &mut tail);
        assert_eq!(
            &out[first * row_len..],
            &tail[..],
            "{g:?} rows from {first}"
        );
    }

    #[test]
    fn rows_match_direct_definition() {
        // A channel slice and a horizontal dilation: one copy per tap.
        let g = ConvGeometry::new(3, [5, 6], [3, 2], [2, 1], [1, 1], [1, 2]).unwrap();
        check_against_definition(&g, ChannelRange { start: 1, len: 2 }, 2, 32);
    }

    #[test]
    fn adjacent_taps_match_direct_definition() {
        // All channels and horizontal dilation 1: one copy per kernel row, clipped at the borders.
        let cases = [
            // (channels, in_hw, kernel, stride, padding, dilation)
            (3, [7, 7], [3, 3], [1, 1], [1, 1], [1, 1]),
            (1, [6, 5], [3, 3], [2, 2], [1, 1], [1, 1]),
            (5, [5, 9], [3, 5], [2, 3], [2, 2], [2, 1]),
            (2, [3, 3], [5, 5], [1, 1], [2, 2], [1, 1]),
            (4, [8, 8], [1, 1], [2, 2], [0, 0], [1, 1]),
            (2, [4, 3], [7, 7], [1, 1], [3, 3], [1, 1]),
        ];
        for (c, hw, kernel, stride, padding, dilation) in cases {
            let g = ConvGeometry::new(c, hw, kernel, stride, padding, dilation).unwrap();
            let row_len = g.k(c).next_multiple_of(8);
            check_against_definition(&g, ChannelRange { start: 0, len: c }, 3, row_len);
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
