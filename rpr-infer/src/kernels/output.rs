//! What an implicit-GEMM conv kernel stores: raw sums, or the conv's
//! finished output with the folded BatchNorm, ReLU and requantization
//! applied while the sums are still in registers.

/// Per-output-channel affine map of the sums, then ReLU when `relu` is set:
/// `y = relu?(sum as f32 * multiplier[j] + bias[j])`, multiplied and added
/// in that order with separate roundings, as the portable epilogue does.
#[derive(Clone, Copy, Debug)]
pub struct ChannelScale<'a> {
    pub multiplier: &'a [f32],
    pub bias: &'a [f32],
    pub relu: bool,
}

/// Destination of an implicit-GEMM conv, `rows` rows of `o` outputs each.
#[derive(Debug)]
pub enum ConvOutput<'a> {
    /// The `i32` sums.
    Sums(&'a mut [i32]),
    /// `y` as `f32`.
    F32 {
        out: &'a mut [f32],
        scale: ChannelScale<'a>,
    },
    /// `y` quantized to `u8`: `min(max(y * inv_scale + 0.5, 0), 255)`,
    /// truncated, which rounds half up. NaN becomes 0.
    U8 {
        out: &'a mut [u8],
        scale: ChannelScale<'a>,
        inv_scale: f32,
    },
}

impl ConvOutput<'_> {
    /// Elements of the destination.
    pub(crate) fn len(&self) -> usize {
        match self {
            ConvOutput::Sums(out) => out.len(),
            ConvOutput::F32 { out, .. } => out.len(),
            ConvOutput::U8 { out, .. } => out.len(),
        }
    }

    /// The channel scale, unless the destination takes raw sums.
    pub(crate) fn scale(&self) -> Option<&ChannelScale<'_>> {
        match self {
            ConvOutput::Sums(_) => None,
            ConvOutput::F32 { scale, .. } | ConvOutput::U8 { scale, .. } => Some(scale),
        }
    }
}
