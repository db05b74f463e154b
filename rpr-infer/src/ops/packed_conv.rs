//! Convolution with bit-packed binary or ternary weights, fused with the folded BatchNorm
//! (per-channel multiplier and bias), ReLU and requantization of the output.

use rpr_core::pack::PackedView;

use super::geometry::ConvGeometry;
use super::im2col::{im2col, ChannelRange};
use super::tiling::{for_each_tile, RowWidths, Tiling};
use crate::kernels::{ConvOutput, Epilogue, GemmFn, KernelError, PreparedWeights};

/// Everything about one packed convolution that does not depend on the activation type.
pub(crate) struct PackedConvCall<'a> {
    pub geom: &'a ConvGeometry,
    /// Output rows: batch size times output pixels.
    pub rows: usize,
    /// Padded reduction length, the im2col row width.
    pub kp: usize,
    pub weights: PackedView<'a>,
    /// `weights` expanded once for the implicit-GEMM kernel, when the session has them.
    pub prepared: Option<&'a PreparedWeights>,
    /// Per-output-channel multiplier applied to the accumulator.
    pub multiplier: &'a [f32],
    pub bias: &'a [f32],
    pub relu: bool,
    /// The other input of a fused residual Add, `rows` rows of the output channels.
    pub residual: Option<&'a [f32]>,
    pub tiling: Tiling,
}

impl PackedConvCall<'_> {
    /// Returns the epilogue of output rows `first..first + rows`.
    pub fn epilogue(&self, first: usize, rows: usize) -> Epilogue<'_> {
        let o = self.weights.rows;
        Epilogue {
            multiplier: self.multiplier,
            bias: self.bias,
            residual: self.residual.map(|all| &all[first * o..(first + rows) * o]),
            relu: self.relu,
        }
    }
}

/// A value that an output element can be stored as.
pub(crate) trait Store: Copy + Default + Send + Sync {
    /// Converts a float result; `inv_scale` is the reciprocal of the u8 quantization step.
    fn store(value: f32, inv_scale: f32) -> Self;

    /// Returns the destination that makes an implicit-GEMM kernel apply `epilogue` and
    /// [`Store::store`] itself.
    fn conv_output<'a>(
        out: &'a mut [Self],
        epilogue: Epilogue<'a>,
        inv_scale: f32,
    ) -> ConvOutput<'a>;
}

impl Store for f32 {
    fn store(value: f32, _inv_scale: f32) -> Self {
        value
    }

    fn conv_output<'a>(
        out: &'a mut [Self],
        epilogue: Epilogue<'a>,
        _inv_scale: f32,
    ) -> ConvOutput<'a> {
        ConvOutput::F32 { out, epilogue }
    }
}

impl Store for u8 {
    fn store(value: f32, inv_scale: f32) -> Self {
        quantize_u8(value, inv_scale)
    }

    fn conv_output<'a>(
        out: &'a mut [Self],
        epilogue: Epilogue<'a>,
        inv_scale: f32,
    ) -> ConvOutput<'a> {
        ConvOutput::U8 {
            out,
            epilogue,
            inv_scale,
        }
    }
}

/// Rounds `value / scale` to the nearest step and saturates to `0..=255`; NaN becomes 0.
/// Adding 0.5 and truncating rounds half up, which equals round-half-away-from-zero for the
/// non-negative values this is used on, and unlike `f32::round` it vectorizes (no libm call).
#[inline]
pub(crate) fn quantize_u8(value: f32, inv_scale: f32) -> u8 {
    // Clamping first and then truncating without a range check vectorizes to packed
    // conversions, where a saturating `as` compiled to two scalar compares per value.
    // `f32::max` returns the other operand for NaN, so NaN becomes 0. `f32::clamp` would keep
    // NaN, which the unchecked conversion must never see.
    #[allow(clippy::manual_clamp)]
    let clamped = (value * inv_scale + 0.5).max(0.0).min(255.0);
    // SAFETY: `clamped` is finite and in `0.0..=255.0`, so its truncation fits a `u8`.
    unsafe { clamped.to_int_unchecked::<u8>() }
}

/// Quantizes a whole f32 tensor to u8 codes, in parallel chunks.
pub(crate) fn quantize_tensor(input: &[f32], inv_scale: f32, output: &mut [u8]) {
    use super::parallel::zip_chunks;
    const CHUNK: usize = 1 << 14;
    zip_chunks(output, CHUNK, input, CHUNK, |dst, src| {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = quantize_u8(s, inv_scale);
        }
    });
}

/// An accumulator type the epilogue reads.
pub(crate) trait Accumulator: Copy + Default + Send + Sync {
    fn to_f32(self) -> f32;
}

impl Accumulator for i32 {
    fn to_f32(self) -> f32 {
        self as f32
    }
}

impl Accumulator for f32 {
    fn to_f32(self) -> f32 {
        self
    }
}

/// Activation source of the GEMM.
pub(crate) enum Source<'a, T> {
    /// Rows already laid out as GEMM rows of width `kp` (a pointwise conv whose channel count is
    /// a multiple of 32), read in place.
    Rows(&'a [T]),
    /// An NHWC tensor to expand with im2col.
    Image(&'a [T]),
}

/// Runs the convolution: im2col of each tile, the GEMM kernel, then
/// `out = store(relu?(acc * multiplier[o] + bias[o] + residual))`. `cols` and `acc` hold
/// `call.tiling.scratch_rows(call.rows)` rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn packed_conv<D, C, O>(
    call: &PackedConvCall<'_>,
    source: Source<'_, D>,
    gemm: GemmFn<D, C>,
    cols: &mut [D],
    acc: &mut [C],
    out: &mut [O],
    out_inv_scale: f32,
) -> Result<(), KernelError>
where
    D: Copy + Default + Send + Sync,
    C: Accumulator,
    O: Store,
{
    let channels = call.weights.rows;
    let kp = call.kp;
    let in_channels = ChannelRange {
        start: 0,
        len: call.geom.in_channels,
    };
    let cols_width = if matches!(source, Source::Rows(_)) {
        0
    } else {
        kp
    };
    let widths = RowWidths {
        cols: cols_width,
        acc: channels,
        out: channels,
    };

    for_each_tile(
        call.tiling,
        widths,
        cols,
        acc,
        &mut out[..call.rows * channels],
        |tile| {
            let rows: &[D] = match &source {
                Source::Rows(all) => &all[tile.first_row * kp..(tile.first_row + tile.rows) * kp],
                Source::Image(image) => {
                    im2col(image, call.geom, in_channels, kp, tile.first_row, tile.cols);
                    tile.cols
                }
            };
            gemm(rows, tile.rows, &call.weights, tile.acc)?;
            epilogue(
                &call.epilogue(tile.first_row, tile.rows),
                tile.acc,
                tile.out,
                out_inv_scale,
            );
            Ok(())
        },
    )
}

/// Applies `out = store(relu?(acc * multiplier[o] + bias[o] + residual))` to whole rows.
pub(super) fn epilogue<C: Accumulator, O: Store>(
    e: &Epilogue<'_>,
    acc: &[C],
    out: &mut [O],
    inv_scale: f32,
) {
    let channels = e.multiplier.len();
    let rows = acc
        .chunks_exact(channels)
        .zip(out.chunks_exact_mut(channels));
    for (row, (acc_row, out_row)) in rows.enumerate() {
        // Zipped iterators carry no bounds checks, so the loops vectorize.
        let scales = e.multiplier.iter().zip(e.bias);
        let finish = |y: f32| O::store(if e.relu { y.max(0.0) } else { y }, inv_scale);
        match e.residual {
            None => {
                for ((y_out, &a), (&m, &b)) in out_row.iter_mut().zip(acc_row).zip(scales) {
                    *y_out = finish(a.to_f32() * m + b);
                }
            }
            Some(residual) => {
                let residual = &residual[row * channels..(row + 1) * channels];
                let outputs = out_row.iter_mut().zip(acc_row).zip(residual);
                for (((y_out, &a), &r), (&m, &b)) in outputs.zip(scales) {
                    *y_out = finish(a.to_f32() * m + b + r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_and_saturates() {
        assert_eq!(quantize_u8(0.0, 10.0), 0);
        assert_eq!(quantize_u8(0.149, 10.0), 1);
        assert_eq!(quantize_u8(0.15, 10.0), 2);
        assert_eq!(quantize_u8(25.5, 10.0), 255);
        assert_eq!(quantize_u8(1e9, 10.0), 255);
        assert_eq!(quantize_u8(-3.0, 10.0), 0);
        assert_eq!(quantize_u8(f32::NAN, 10.0), 0);
    }
}
