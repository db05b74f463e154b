//! 2-D convolution as im2col followed by a plain matrix product.
//!
//! The loops index flat slices with `while` counters instead of ndarray
//! indexing or iterator adapters, because unoptimized (debug) builds do not
//! inline those, and the tests run this executor in debug builds.

use ndarray::{Array4, ArrayView1, ArrayView4};

use crate::graph::Conv2d;

/// Geometry of one spatial axis of a convolution.
#[derive(Clone, Copy)]
struct Axis {
    input: usize,
    output: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
}

impl Axis {
    /// Returns the input coordinate read by output `o` at kernel tap `k`, or
    /// `None` when it lies in the zero padding.
    fn source(&self, o: usize, k: usize) -> Option<usize> {
        let index = (o * self.stride + k * self.dilation).checked_sub(self.padding)?;
        (index < self.input).then_some(index)
    }

    /// Returns the range `first..end` of outputs whose tap `k` reads inside
    /// the input (empty when `first >= end`).
    fn valid_outputs(&self, k: usize) -> (usize, usize) {
        let first = (0..self.output).find(|&o| self.source(o, k).is_some());
        let Some(first) = first else { return (0, 0) };
        let last = (first..self.output)
            .take_while(|&o| self.source(o, k).is_some())
            .last()
            .unwrap_or(first);
        (first, last + 1)
    }
}

/// Computes `torch.nn.functional.conv2d` on an NCHW batch.
///
/// `weight` is `[out, in / groups, kh, kw]` and `out_size` is `[oh, ow]`
/// from [`crate::graph::conv_output_len`]. Each group gets a column matrix
/// with one row per (input channel, ky, kx) and one column per output pixel,
/// zero where the tap falls in the padding.
pub(super) fn conv2d(
    x: ArrayView4<f32>,
    conv: &Conv2d,
    weight: ArrayView4<f32>,
    bias: Option<ArrayView1<f32>>,
    out_size: [usize; 2],
) -> Array4<f32> {
    let (n, in_channels, h, w) = x.dim();
    let rows = Axis {
        input: h,
        output: out_size[0],
        kernel: conv.kernel[0],
        stride: conv.stride[0],
        padding: conv.padding[0],
        dilation: conv.dilation[0],
    };
    let cols = Axis {
        input: w,
        output: out_size[1],
        kernel: conv.kernel[1],
        stride: conv.stride[1],
        padding: conv.padding[1],
        dilation: conv.dilation[1],
    };
    let in_per_group = conv.in_channels / conv.groups;
    let out_per_group = conv.out_channels / conv.groups;
    let taps = in_per_group * rows.kernel * cols.kernel;
    let pixels = rows.output * cols.output;

    let x = x.as_standard_layout();
    let x = x.as_slice().expect("standard layout is contiguous");
    let weight = weight.as_standard_layout();
    let weight = weight.as_slice().expect("standard layout is contiguous");
    let mut out = vec![0.0f32; n * conv.out_channels * pixels];
    let mut columns = vec![0.0f32; taps * pixels];

    for b in 0..n {
        let sample = &x[b * in_channels * h * w..(b + 1) * in_channels * h * w];
        for g in 0..conv.groups {
            let group_input = &sample[g * in_per_group * h * w..(g + 1) * in_per_group * h * w];
            im2col(group_input, in_per_group, rows, cols, &mut columns);
            let first = (b * conv.out_channels + g * out_per_group) * pixels;
            let group_out = &mut out[first..first + out_per_group * pixels];
            let group_weight = &weight[g * out_per_group * taps..(g + 1) * out_per_group * taps];
            matmul_accumulate(group_weight, taps, &columns, group_out, pixels);
            if let Some(bias) = bias {
                for (o, row) in group_out.chunks_exact_mut(pixels).enumerate() {
                    let value = bias[g * out_per_group + o];
                    row.iter_mut().for_each(|a| *a += value);
                }
            }
        }
    }
    Array4::from_shape_vec((n, conv.out_channels, rows.output, cols.output), out)
        .expect("buffer has n * out_channels * oh * ow elements")
}

/// Fills `columns[tap][pixel]` with `tap = (ci * kh + ky) * kw + kx`.
fn im2col(input: &[f32], channels: usize, rows: Axis, cols: Axis, columns: &mut [f32]) {
    let pixels = rows.output * cols.output;
    columns.fill(0.0);
    for ci in 0..channels {
        let plane = &input[ci * rows.input * cols.input..(ci + 1) * rows.input * cols.input];
        for ky in 0..rows.kernel {
            for kx in 0..cols.kernel {
                let tap = (ci * rows.kernel + ky) * cols.kernel + kx;
                let row = &mut columns[tap * pixels..(tap + 1) * pixels];
                // Only output columns whose tap lands inside the input are copied, and the rest stay zero.
                let (first, end) = cols.valid_outputs(kx);
                for oy in 0..rows.output {
                    let Some(iy) = rows.source(oy, ky) else {
                        continue;
                    };
                    let input_row = &plane[iy * cols.input..(iy + 1) * cols.input];
                    let output_row = &mut row[oy * cols.output..(oy + 1) * cols.output];
                    let mut ox = first;
                    while ox < end {
                        output_row[ox] =
                            input_row[ox * cols.stride + kx * cols.dilation - cols.padding];
                        ox += 1;
                    }
                }
            }
        }
    }
}

/// Adds `weights x columns` to `out`, all row-major: `weights` is
/// `rows x taps`, `columns` is `taps x pixels` and `out` is `rows x pixels`.
///
/// Each pass over the pixels updates four output rows from four taps, which
/// cuts the loop overhead that dominates in debug builds. The pixel loop
/// stays innermost, so all slices are walked contiguously.
fn matmul_accumulate(
    weights: &[f32],
    taps: usize,
    columns: &[f32],
    out: &mut [f32],
    pixels: usize,
) {
    let rows = weights.len() / taps;
    let column = |tap: usize| &columns[tap * pixels..(tap + 1) * pixels];
    let mut row = 0;
    while row + 4 <= rows {
        let block = &mut out[row * pixels..(row + 4) * pixels];
        let (out0, rest) = block.split_at_mut(pixels);
        let (out1, rest) = rest.split_at_mut(pixels);
        let (out2, out3) = rest.split_at_mut(pixels);
        let w = |r: usize, t: usize| weights[(row + r) * taps + t];
        let mut tap = 0;
        while tap + 4 <= taps {
            let (c0, c1, c2, c3) = (
                column(tap),
                column(tap + 1),
                column(tap + 2),
                column(tap + 3),
            );
            let w0 = [w(0, tap), w(0, tap + 1), w(0, tap + 2), w(0, tap + 3)];
            let w1 = [w(1, tap), w(1, tap + 1), w(1, tap + 2), w(1, tap + 3)];
            let w2 = [w(2, tap), w(2, tap + 1), w(2, tap + 2), w(2, tap + 3)];
            let w3 = [w(3, tap), w(3, tap + 1), w(3, tap + 2), w(3, tap + 3)];
            let mut p = 0;
            while p < pixels {
                let x = [c0[p], c1[p], c2[p], c3[p]];
                out0[p] += w0[0] * x[0] + w0[1] * x[1] + w0[2] * x[2] + w0[3] * x[3];
                out1[p] += w1[0] * x[0] + w1[1] * x[1] + w1[2] * x[2] + w1[3] * x[3];
                out2[p] += w2[0] * x[0] + w2[1] * x[1] + w2[2] * x[2] + w2[3] * x[3];
                out3[p] += w3[0] * x[0] + w3[1] * x[1] + w3[2] * x[2] + w3[3] * x[3];
                p += 1;
            }
            tap += 4;
        }
        while tap < taps {
            let c = column(tap);
            let wt = [w(0, tap), w(1, tap), w(2, tap), w(3, tap)];
            let mut p = 0;
            while p < pixels {
                out0[p] += wt[0] * c[p];
                out1[p] += wt[1] * c[p];
                out2[p] += wt[2] * c[p];
                out3[p] += wt[3] * c[p];
                p += 1;
            }
            tap += 1;
        }
        row += 4;
    }
    // Leftover rows, one tap at a time.
    while row < rows {
        let acc = &mut out[row * pixels..(row + 1) * pixels];
        for tap in 0..taps {
            let (wt, c) = (weights[row * taps + tap], column(tap));
            let mut p = 0;
            while p < pixels {
                acc[p] += wt * c[p];
                p += 1;
            }
        }
        row += 1;
    }
}
