//! Packed convolution on `u8` activations without im2col rows: the kernel
//! reads each receptive window from the NHWC image (see
//! [`crate::kernels::Windows`]).
//!
//! An unpadded conv reads the input tensor in place. A padded one first
//! copies the input rows that a tile reads into a zero-bordered block of the
//! tile's scratch, about `C` bytes per input pixel where im2col wrote
//! `KH * KW * C` per output pixel. A part of a tile whose block would not fit
//! the scratch (only a few rows at the end of a batch) falls back to im2col.

use super::geometry::ConvGeometry;
use super::im2col::{im2col, ChannelRange};
use super::packed_conv::{epilogue, PackedConvCall, Store};
use super::tiling::{for_each_tile, RowWidths};
use crate::kernels::{ConvGemmFn, GemmFn, KernelError, Windows};

/// Returns true when the kernel can read `geom`'s windows in place: the taps
/// of a kernel row are adjacent bytes (horizontal dilation 1) and a run of
/// them is whole 4-byte groups.
pub(crate) fn supports(geom: &ConvGeometry) -> bool {
    geom.dilation[1] == 1 && (geom.kernel[1] * geom.in_channels).is_multiple_of(4)
}

/// Runs the convolution with `conv`, which applies the epilogue of
/// [`super::packed_conv::packed_conv`] to the sums in registers, falling
/// back to im2col rows, `gemm` and the portable epilogue for parts that do
/// not fit the scratch. `cols` and `acc` hold
/// `call.tiling.scratch_rows(call.rows)` rows of `call.kp` bytes and of the
/// output channels. `geom` must pass [`supports`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn implicit_conv<O: Store>(
    call: &PackedConvCall<'_>,
    image: &[u8],
    conv: ConvGemmFn,
    gemm: GemmFn<u8, i32>,
    cols: &mut [u8],
    acc: &mut [i32],
    out: &mut [O],
    out_inv_scale: f32,
) -> Result<(), KernelError> {
    debug_assert!(supports(call.geom));
    let channels = call.weights.rows;
    let widths = RowWidths {
        cols: call.kp,
        acc: channels,
        out: channels,
    };
    let padded = call.geom.padding != [0, 0];

    for_each_tile(
        call.tiling,
        widths,
        cols,
        acc,
        &mut out[..call.rows * channels],
        |tile| {
            if !padded {
                let windows = in_place_windows(call.geom, tile.first_row, tile.rows);
                return conv(
                    image,
                    &windows,
                    &call.weights,
                    call.prepared,
                    O::conv_output(
                        tile.out,
                        call.epilogue(tile.first_row, tile.rows),
                        out_inv_scale,
                    ),
                );
            }
            // A padded block holds one image, so the tile runs per image.
            let per_image = call.geom.out_pixels();
            let mut row = 0;
            while row < tile.rows {
                let part = Part {
                    pixel: tile.first_row + row,
                    len: (per_image - (tile.first_row + row) % per_image).min(tile.rows - row),
                };
                let range = row * channels..(row + part.len) * channels;
                let out = Destination {
                    acc: &mut tile.acc[range.clone()],
                    out: &mut tile.out[range],
                    inv_scale: out_inv_scale,
                };
                padded_part(call, image, part, conv, gemm, tile.cols, out)?;
                row += part.len;
            }
            Ok(())
        },
    )
}

/// Output pixels `pixel..pixel + len` of one image.
#[derive(Clone, Copy)]
struct Part {
    pixel: usize,
    len: usize,
}

/// The output rows of a part, and sums scratch for the im2col fallback.
struct Destination<'a, O> {
    acc: &'a mut [i32],
    out: &'a mut [O],
    inv_scale: f32,
}

/// Windows of an unpadded conv over the whole NHWC batch.
fn in_place_windows(geom: &ConvGeometry, first: usize, rows: usize) -> Windows {
    let line = geom.in_w * geom.in_channels;
    Windows {
        rows,
        first,
        out_h: geom.out_h,
        out_w: geom.out_w,
        image_step: geom.in_h * line,
        row_step: geom.stride[0] * line,
        col_step: geom.stride[1] * geom.in_channels,
        taps: geom.kernel[0],
        tap_step: geom.dilation[0] * line,
        tap_len: geom.kernel[1] * geom.in_channels,
    }
}

/// Rows of a zero-bordered block: the input rows that output rows `y0..=y1`
/// read, each `width` pixels wide starting at input column `-padding[1]`.
struct Block {
    /// Input row of block row 0; negative inside the top padding.
    top: isize,
    height: usize,
    width: usize,
}

impl Block {
    fn new(geom: &ConvGeometry, y0: usize, y1: usize) -> Self {
        let [kh, kw] = geom.kernel;
        let [sh, sw] = geom.stride;
        Self {
            top: (y0 * sh) as isize - geom.padding[0] as isize,
            height: (y1 - y0) * sh + (kh - 1) * geom.dilation[0] + 1,
            width: (geom.out_w - 1) * sw + kw,
        }
    }

    fn bytes(&self, channels: usize) -> usize {
        self.height * self.width * channels
    }
}

/// Copies the block that `part` reads into `cols` and runs `conv` on it, or
/// runs im2col, `gemm` and the portable epilogue when the block does not fit.
fn padded_part<O: Store>(
    call: &PackedConvCall<'_>,
    image: &[u8],
    part: Part,
    conv: ConvGemmFn,
    gemm: GemmFn<u8, i32>,
    cols: &mut [u8],
    dst: Destination<'_, O>,
) -> Result<(), KernelError> {
    let geom = call.geom;
    let c = geom.in_channels;
    let per_image = geom.out_pixels();
    let (n, within) = (part.pixel / per_image, part.pixel % per_image);
    let (y0, y1) = (within / geom.out_w, (within + part.len - 1) / geom.out_w);
    let block = Block::new(geom, y0, y1);
    if block.bytes(c) > cols.len() {
        let rows = &mut cols[..part.len * call.kp];
        let all = ChannelRange { start: 0, len: c };
        im2col(image, geom, all, call.kp, part.pixel, rows);
        gemm(rows, part.len, &call.weights, dst.acc)?;
        epilogue(
            &call.epilogue(part.pixel, part.len),
            dst.acc,
            dst.out,
            dst.inv_scale,
        );
        return Ok(());
    }

    let block_bytes = &mut cols[..block.bytes(c)];
    let image_len = geom.in_h * geom.in_w * c;
    copy_block(
        &image[n * image_len..][..image_len],
        geom,
        &block,
        block_bytes,
    );
    let line = block.width * c;
    let windows = Windows {
        rows: part.len,
        first: within - y0 * geom.out_w,
        out_h: geom.out_h,
        out_w: geom.out_w,
        image_step: 0,
        row_step: geom.stride[0] * line,
        col_step: geom.stride[1] * c,
        taps: geom.kernel[0],
        tap_step: geom.dilation[0] * line,
        tap_len: geom.kernel[1] * c,
    };
    conv(
        block_bytes,
        &windows,
        &call.weights,
        call.prepared,
        O::conv_output(dst.out, call.epilogue(part.pixel, part.len), dst.inv_scale),
    )
}

/// Copies the rows of `block` from one NHWC `image`, with zeros where the
/// block reaches into the padding.
fn copy_block(image: &[u8], geom: &ConvGeometry, block: &Block, dst: &mut [u8]) {
    let c = geom.in_channels;
    let left = geom.padding[1];
    // Columns of the image inside the block, after the left padding.
    let inside = geom.in_w.min(block.width.saturating_sub(left));
    for (r, row) in dst.chunks_exact_mut(block.width * c).enumerate() {
        let iy = block.top + r as isize;
        if iy < 0 || iy >= geom.in_h as isize {
            row.fill(0);
            continue;
        }
        let line = &image[iy as usize * geom.in_w * c..][..inside * c];
        let (pad_left, rest) = row.split_at_mut(left.min(block.width) * c);
        pad_left.fill(0);
        let (middle, pad_right) = rest.split_at_mut(inside * c);
        middle.copy_from_slice(line);
        pad_right.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rpr_core::pack::{pack, padded_k, Encoding};

    use super::*;
    use crate::kernels::{kernel_set, ConvOutput, Isa, KernelSet};
    use crate::ops::packed_conv::{packed_conv, Source};
    use crate::ops::tiling::Tiling;

    /// (channels, in_hw, kernel, stride, padding, dilation, out_channels, batch)
    type Case = (
        usize,
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        usize,
        usize,
    );

    /// Channel counts that are not multiples of 8 or 16, odd sizes, stride 2,
    /// padding 0 to 2, vertical dilation, 1x1 downsampling, batches 1 and 3.
    const CASES: [Case; 10] = [
        (16, [28, 28], [3, 3], [1, 1], [1, 1], [1, 1], 16, 1),
        (16, [28, 28], [3, 3], [2, 2], [1, 1], [1, 1], 32, 3),
        (16, [14, 14], [1, 1], [2, 2], [0, 0], [1, 1], 32, 1),
        (4, [9, 7], [3, 3], [1, 1], [2, 2], [1, 1], 5, 3),
        (12, [7, 9], [5, 3], [2, 1], [2, 1], [1, 1], 70, 1),
        (20, [11, 6], [3, 3], [1, 2], [0, 0], [2, 1], 17, 3),
        (36, [5, 5], [3, 3], [1, 1], [1, 1], [1, 1], 64, 3),
        (8, [6, 10], [3, 5], [3, 2], [1, 2], [2, 1], 9, 1),
        (2, [5, 5], [3, 2], [1, 1], [1, 0], [1, 1], 3, 3),
        (64, [7, 7], [3, 3], [1, 1], [1, 1], [1, 1], 64, 1),
    ];

    /// Returns the set detected on this CPU, when it has implicit-GEMM kernels.
    fn implicit_set() -> Option<KernelSet> {
        let set = kernel_set(Isa::Avx512).or_else(|| kernel_set(Isa::Neon))?;
        set.ternary_u8_conv.map(|_| set)
    }

    fn random_codes(rng: &mut ChaCha8Rng, o: usize, k: usize, encoding: Encoding) -> Array2<i8> {
        Array2::from_shape_fn((o, k), |_| match encoding {
            Encoding::Binary => [-1, 1][rng.gen_range(0..2)],
            _ => rng.gen_range(-1i8..=1),
        })
    }

    /// Runs one case through `implicit_conv` and through im2col with the
    /// scalar kernel, under several tilings, and compares the outputs: `u8`
    /// and `f32`, with and without ReLU and a residual input. Also compares
    /// the kernel's raw sums.
    fn check_case(set: &KernelSet, case: Case, seed: u64) {
        let (c, hw, kernel, stride, padding, dilation, o, batch) = case;
        let geom = ConvGeometry::new(c, hw, kernel, stride, padding, dilation).expect("valid case");
        assert!(supports(&geom), "{case:?}");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let image: Vec<u8> = (0..batch * hw[0] * hw[1] * c).map(|_| rng.gen()).collect();
        let k = geom.k(c);
        let kp = padded_k(k);
        let rows = batch * geom.out_pixels();
        let multiplier: Vec<f32> = (0..o).map(|_| rng.gen_range(0.001..0.01)).collect();
        let bias: Vec<f32> = (0..o).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let residual: Vec<f32> = (0..rows * o).map(|_| rng.gen_range(-3.0..3.0)).collect();
        let scalar = kernel_set(Isa::Scalar).expect("scalar set");

        for encoding in [Encoding::Ternary2, Encoding::Binary] {
            let packed =
                pack(random_codes(&mut rng, o, k, encoding).view(), encoding).expect("valid codes");
            let (implicit, gemm, oracle) = match encoding {
                Encoding::Binary => (set.binary_u8_conv, set.binary_u8, scalar.binary_u8),
                _ => (set.ternary_u8_conv, set.ternary_u8, scalar.ternary_u8),
            };
            let implicit = implicit.expect("the set has implicit kernels");
            let prepare = match encoding {
                Encoding::Binary => set.binary_u8_prepare,
                _ => set.ternary_u8_prepare,
            };
            let prepared = prepare.expect("the set prepares weights")(&packed.view())
                .expect("weights prepare");
            let kernels = Kernels {
                implicit,
                gemm,
                oracle,
            };
            // One tile; tiles of 16 rows, whose blocks straddle output rows;
            // tiles of one row, whose blocks never fit and fall back to im2col.
            // The tilings alternate between codes expanded per call and prepared codes.
            let tilings = [
                Tiling::for_rows(rows, 1, kp),
                Tiling {
                    rows_per_tile: 16,
                    workers: 2,
                },
                Tiling {
                    rows_per_tile: 1,
                    workers: 1,
                },
            ];
            for (index, tiling) in tilings.into_iter().enumerate() {
                let prepared = (index % 2 == 1).then_some(&prepared);
                // u8 and f32 outputs, each with and without ReLU and a residual.
                for (relu, with_residual) in
                    [(true, false), (false, true), (true, true), (false, false)]
                {
                    let call = PackedConvCall {
                        geom: &geom,
                        rows,
                        kp,
                        weights: packed.view(),
                        prepared,
                        multiplier: &multiplier,
                        bias: &bias,
                        relu,
                        residual: with_residual.then_some(residual.as_slice()),
                        tiling,
                    };
                    let context = format!(
                        "{encoding:?} {case:?} {tiling:?} relu {relu} residual {with_residual}"
                    );
                    let (got, expected) = both_paths::<u8>(&call, &image, kernels);
                    assert!(
                        expected.iter().any(|&v| v != 0 && v != 255),
                        "{context}: degenerate outputs"
                    );
                    assert_eq!(got, expected, "u8 {context}");
                    let (got, expected) = both_paths::<f32>(&call, &image, kernels);
                    assert_eq!(got, expected, "f32 {context}");
                }
            }

            let windows = in_place_or_none(&geom, rows);
            if let Some(windows) = windows {
                let mut sums = vec![0i32; rows * o];
                implicit(
                    &image,
                    &windows,
                    &packed.view(),
                    None,
                    ConvOutput::Sums(&mut sums),
                )
                .expect("sums");
                let mut prepared_sums = vec![0i32; rows * o];
                let output = ConvOutput::Sums(&mut prepared_sums);
                implicit(&image, &windows, &packed.view(), Some(&prepared), output)
                    .expect("sums with prepared codes");
                assert_eq!(prepared_sums, sums, "prepared codes {encoding:?} {case:?}");

                // Codes prepared for other weights are rejected.
                let other = pack(random_codes(&mut rng, o + 1, k, encoding).view(), encoding)
                    .expect("valid codes");
                let mut other_sums = vec![0i32; rows * (o + 1)];
                let error = implicit(
                    &image,
                    &windows,
                    &other.view(),
                    Some(&prepared),
                    ConvOutput::Sums(&mut other_sums),
                );
                assert!(
                    matches!(error, Err(KernelError::PreparedMismatch { .. })),
                    "{error:?}"
                );
                let mut cols = vec![0u8; rows * kp];
                im2col(
                    &image,
                    &geom,
                    ChannelRange { start: 0, len: c },
                    kp,
                    0,
                    &mut cols,
                );
                let mut expected = vec![0i32; rows * o];
                oracle(&cols, rows, &packed.view(), &mut expected).expect("oracle runs");
                assert_eq!(sums, expected, "sums {encoding:?} {case:?}");
            }
        }
    }

    #[derive(Clone, Copy)]
    struct Kernels {
        implicit: ConvGemmFn,
        gemm: GemmFn<u8, i32>,
        oracle: GemmFn<u8, i32>,
    }

    /// Outputs of `implicit_conv` and of im2col with the oracle kernel.
    fn both_paths<O: Store + Clone>(
        call: &PackedConvCall<'_>,
        image: &[u8],
        kernels: Kernels,
    ) -> (Vec<O>, Vec<O>) {
        let (rows, o, kp) = (call.rows, call.weights.rows, call.kp);
        let scratch = call.tiling.scratch_rows(rows);
        let mut expected = vec![O::default(); rows * o];
        let (mut cols, mut acc) = (vec![0u8; scratch * kp], vec![0i32; scratch * o]);
        packed_conv(
            call,
            Source::Image(image),
            kernels.oracle,
            &mut cols,
            &mut acc,
            &mut expected,
            0.5,
        )
        .expect("oracle runs");
        let mut got = vec![O::default(); rows * o];
        let (mut cols, mut acc) = (vec![7u8; scratch * kp], vec![0i32; scratch * o]);
        implicit_conv(
            call,
            image,
            kernels.implicit,
            kernels.gemm,
            &mut cols,
            &mut acc,
            &mut got,
            0.5,
        )
        .expect("implicit conv runs");
        (got, expected)
    }

    /// Windows over the whole unpadded batch, for the raw-sum check.
    fn in_place_or_none(geom: &ConvGeometry, rows: usize) -> Option<Windows> {
        (geom.padding == [0, 0]).then(|| in_place_windows(geom, 0, rows))
    }

    #[test]
    fn implicit_conv_matches_im2col_and_scalar_kernel() {
        let Some(set) = implicit_set() else {
            eprintln!("SKIPPED: this CPU has no implicit-GEMM kernels");
            return;
        };
        for (seed, case) in CASES.into_iter().enumerate() {
            check_case(&set, case, seed as u64);
        }
    }

    #[test]
    fn unsupported_geometry_is_detected() {
        // Horizontal dilation splits the taps of a kernel row.
        assert!(!supports(
            &ConvGeometry::new(16, [9, 9], [3, 3], [1, 1], [1, 1], [1, 2]).unwrap()
        ));
        // 3 taps of 1 channel are 3 bytes, not whole 4-byte groups.
        assert!(!supports(
            &ConvGeometry::new(1, [9, 9], [3, 3], [1, 1], [1, 1], [1, 1]).unwrap()
        ));
        assert!(supports(
            &ConvGeometry::new(4, [9, 9], [3, 3], [1, 1], [1, 1], [1, 1]).unwrap()
        ));
    }

    #[test]
    fn block_copy_borders_with_zeros() {
        // 4 channels, a 3x4 image, a 3x3 kernel with padding 1: the block of output
        // rows 0..=1 spans input rows -1..=2 and columns -1..=4.
        let geom = ConvGeometry::new(4, [3, 4], [3, 3], [1, 1], [1, 1], [1, 1]).unwrap();
        let image: Vec<u8> = (1..=48).collect();
        let block = Block::new(&geom, 0, 1);
        assert_eq!((block.top, block.height, block.width), (-1, 4, 6));
        let mut dst = vec![9u8; block.bytes(4)];
        copy_block(&image, &geom, &block, &mut dst);
        let line = 6 * 4;
        assert!(dst[..line].iter().all(|&v| v == 0), "top padding row");
        for r in 1..4 {
            let row = &dst[r * line..(r + 1) * line];
            assert_eq!(&row[..4], &[0; 4], "left padding of row {r}");
            assert_eq!(
                &row[4..20],
                &image[(r - 1) * 16..r * 16],
                "pixels of row {r}"
            );
            assert_eq!(&row[20..], &[0; 4], "right padding of row {r}");
        }
    }
}
