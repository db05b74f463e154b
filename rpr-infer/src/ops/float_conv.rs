//! Full-precision convolution (the first conv, and any conv the export left in f32) and the
//! fully connected layer, both as im2col + SGEMM from the `matrixmultiply` crate.

use super::geometry::ConvGeometry;
use super::im2col::{im2col, ChannelRange};
use super::tiling::{for_each_tile, RowWidths, Tiling};

/// `c[m x n] = a[m x k] * b^T` where `b` is row-major `[n x k]` and `c` has row stride `ldc`.
pub(crate) fn sgemm_abt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        a.len() >= m * k,
        "sgemm: a has {} values, needs {m} x {k}",
        a.len()
    );
    assert!(
        b.len() >= n * k,
        "sgemm: b has {} values, needs {n} x {k}",
        b.len()
    );
    assert!(ldc >= n, "sgemm: row stride {ldc} is below the {n} columns");
    assert!(
        c.len() >= (m - 1) * ldc + n,
        "sgemm: c has {} values, too few for {m} rows",
        c.len()
    );
    // SAFETY: the asserts above show that every element the strides address lies inside `a`,
    // `b` and `c`, and `c` is borrowed mutably, so it aliases neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            0.0,
            c.as_mut_ptr(),
            ldc as isize,
            1,
        );
    }
}

/// Weights of a float convolution rearranged for NHWC im2col: one row-major `[O, KH*KW*Cg]`
/// matrix in which the rows of group `g` are output channels `g*Og .. (g+1)*Og`.
pub(crate) struct FloatConvWeights {
    pub rows: Vec<f32>,
    /// The transpose `[KH*KW*C, O]` of `rows`, for [`super::direct_conv`]; present where that
    /// kernel applies.
    pub columns: Option<Vec<f32>>,
    pub bias: Vec<f32>,
    pub groups: usize,
    pub out_channels: usize,
}

impl FloatConvWeights {
    /// Rearranges a PyTorch `[O, I/groups, KH, KW]` weight to columns `(ky * KW + kx) * Cg + c`.
    pub fn from_oihw(weight: &[f32], shape: [usize; 4], groups: usize, bias: Vec<f32>) -> Self {
        let [o, cg, kh, kw] = shape;
        let k = kh * kw * cg;
        let mut rows = vec![0.0; o * k];
        for out_c in 0..o {
            for c in 0..cg {
                for ky in 0..kh {
                    for kx in 0..kw {
                        rows[out_c * k + (ky * kw + kx) * cg + c] =
                            weight[((out_c * cg + c) * kh + ky) * kw + kx];
                    }
                }
            }
        }
        let columns = super::direct_conv::applies(groups, cg, o).then(|| {
            let mut columns = vec![0.0; k * o];
            for (out_c, row) in rows.chunks_exact(k).enumerate() {
                for (t, &w) in row.iter().enumerate() {
                    columns[t * o + out_c] = w;
                }
            }
            columns
        });
        Self {
            rows,
            columns,
            bias,
            groups,
            out_channels: o,
        }
    }
}

/// Runs a float convolution over an NHWC batch with fused bias and optional ReLU.
///
/// `cols` contains `tiling.scratch_rows(rows)` im2col rows. `padded` is the direct kernel's
/// scratch, with [`super::direct_conv::padded_image_len`] elements per image when
/// `weights.columns` is present. With less, the conv runs on im2col instead.
#[allow(clippy::too_many_arguments)]
pub(crate) fn float_conv(
    geom: &ConvGeometry,
    weights: &FloatConvWeights,
    relu: bool,
    tiling: Tiling,
    input: &[f32],
    cols: &mut [f32],
    padded: &mut [f32],
    out: &mut [f32],
) {
    let groups = weights.groups;
    let cg = geom.in_channels / groups;
    let og = weights.out_channels / groups;
    let k = geom.k(cg);
    let o = weights.out_channels;
    let widths = RowWidths {
        cols: k,
        acc: 0,
        out: o,
    };
    let images = input
        .len()
        .checked_div(geom.in_h * geom.in_w * geom.in_channels)
        .unwrap_or(0);
    let padded_len = images * super::direct_conv::padded_image_len(geom);
    let direct_columns = weights
        .columns
        .as_deref()
        .filter(|_| padded.len() >= padded_len);
    debug_assert_eq!(
        direct_columns.is_some(),
        weights.columns.is_some(),
        "the arena sizes the direct kernel's scratch"
    );
    // Each image is copied once here, not once per tile that reads it.
    if direct_columns.is_some() {
        super::direct_conv::pad_images(geom, input, padded, tiling.workers > 1);
    }
    let padded: &[f32] = &padded[..padded_len.min(padded.len())];
    let mut no_acc: [f32; 0] = [];
    let result: Result<(), ()> = for_each_tile(tiling, widths, cols, &mut no_acc, out, |tile| {
        let direct = direct_columns.is_some_and(|columns| {
            super::direct_conv::direct_conv(geom, columns, padded, tile.first_row, tile.out)
        });
        if !direct {
            for g in 0..groups {
                let channels = ChannelRange {
                    start: g * cg,
                    len: cg,
                };
                im2col(input, geom, channels, k, tile.first_row, tile.cols);
                let b = &weights.rows[g * og * k..(g + 1) * og * k];
                sgemm_abt(tile.rows, k, og, tile.cols, b, &mut tile.out[g * og..], o);
            }
        }
        for row in tile.out.chunks_exact_mut(o) {
            for (y, &b) in row.iter_mut().zip(&weights.bias) {
                *y += b;
                if relu {
                    *y = y.max(0.0);
                }
            }
        }
        Ok(())
    });
    debug_assert!(result.is_ok());
}

/// `out[n x o] = x[n x i] * weight^T + bias`, with `weight` row-major `[o x i]`.
pub(crate) fn linear(x: &[f32], batch: usize, weight: &[f32], bias: &[f32], out: &mut [f32]) {
    let o = bias.len();
    let i = weight.len().checked_div(o).unwrap_or(0);
    sgemm_abt(batch, i, o, x, weight, out, o);
    for row in out.chunks_exact_mut(o) {
        for (y, &b) in row.iter_mut().zip(bias) {
            *y += b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgemm_matches_naive_product() {
        let (m, k, n) = (3, 5, 4);
        let a: Vec<f32> = (0..m * k).map(|v| (v % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..n * k).map(|v| (v % 5) as f32 * 0.5).collect();
        let mut c = vec![f32::NAN; m * 6];
        sgemm_abt(m, k, n, &a, &b, &mut c, 6);
        for i in 0..m {
            for j in 0..n {
                let expected: f32 = (0..k).map(|t| a[i * k + t] * b[j * k + t]).sum();
                assert_eq!(c[i * 6 + j], expected, "c[{i}][{j}]");
            }
        }
    }

    #[test]
    fn grouped_conv_matches_direct_sum() {
        // Two groups, 4 input and 4 output channels, 3x3 kernel with padding 1 on a 4x5 image.
        let geom = ConvGeometry::new(4, [4, 5], [3, 3], [1, 1], [1, 1], [1, 1]).unwrap();
        let shape = [4, 2, 3, 3];
        let weight: Vec<f32> = (0..4 * 2 * 9)
            .map(|v| ((v * 37) % 11) as f32 - 5.0)
            .collect();
        let bias = vec![0.5, -1.0, 2.0, 0.0];
        let input: Vec<f32> = (0..4 * 5 * 4)
            .map(|v| ((v * 13) % 9) as f32 - 4.0)
            .collect();
        let weights = FloatConvWeights::from_oihw(&weight, shape, 2, bias.clone());
        let tiling = Tiling::for_rows(20, 2, 36);
        let mut cols = vec![0.0; tiling.scratch_rows(20) * 18];
        let mut padded = Vec::new();
        let mut out = vec![0.0; 20 * 4];
        float_conv(
            &geom,
            &weights,
            false,
            tiling,
            &input,
            &mut cols,
            &mut padded,
            &mut out,
        );

        for y in 0..4 {
            for x in 0..5 {
                for oc in 0..4 {
                    let g = oc / 2;
                    let mut sum = bias[oc];
                    for c in 0..2 {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (iy, ix) =
                                    (y as isize + ky as isize - 1, x as isize + kx as isize - 1);
                                if iy < 0 || ix < 0 || iy >= 4 || ix >= 5 {
                                    continue;
                                }
                                let v = input[((iy * 5 + ix) * 4) as usize + g * 2 + c];
                                sum += v * weight[((oc * 2 + c) * 3 + ky) * 3 + kx];
                            }
                        }
                    }
                    assert_eq!(out[(y * 5 + x) * 4 + oc], sum, "pixel {y},{x} channel {oc}");
                }
            }
        }
    }
}
