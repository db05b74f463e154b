//! Destinations of an implicit-GEMM conv kernel: raw sums, or the conv's
//! finished output with the folded BatchNorm, a residual add, ReLU and
//! requantization applied while the sums are still in registers.

/// The epilogue of a conv output `(i, j)`:
/// `y = relu?(sum as f32 * multiplier[j] + bias[j] + residual[i][j])`,
/// each operation rounded in that order, as the portable epilogue does.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a> {
    pub multiplier: &'a [f32],
    pub bias: &'a [f32],
    /// The other input of a fused residual Add, laid out like the output.
    pub residual: Option<&'a [f32]>,
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
        epilogue: Epilogue<'a>,
    },
    /// `y` quantized to `u8`: `min(max(y * inv_scale + 0.5, 0), 255)`,
    /// truncated, which rounds half up. NaN becomes 0.
    U8 {
        out: &'a mut [u8],
        epilogue: Epilogue<'a>,
        inv_scale: f32,
    },
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl ConvOutput<'_> {
    /// Elements of the destination.
    pub(crate) fn len(&self) -> usize {
        match self {
            ConvOutput::Sums(out) => out.len(),
            ConvOutput::F32 { out, .. } => out.len(),
            ConvOutput::U8 { out, .. } => out.len(),
        }
    }

    /// Returns the epilogue, unless the destination takes raw sums.
    pub(crate) fn epilogue(&self) -> Option<&Epilogue<'_>> {
        match self {
            ConvOutput::Sums(_) => None,
            ConvOutput::F32 { epilogue, .. } | ConvOutput::U8 { epilogue, .. } => Some(epilogue),
        }
    }
}
