//! Nearest-level codes for a given scale, and the error they leave.

use super::{Bits, ScaleNorm};

/// Maps each value to the code of its nearest level `scale * code`.
///
/// Binary: `+1` for `w >= 0` (so both zeros map to `+1`), `-1` otherwise.
/// Ternary: `sign(w)` where `|w| > 0.5 * scale`, `0` where `|w| <= 0.5 * scale`,
/// so a value exactly halfway between two levels gets the code nearer to 0.
/// The comparison runs in f32 without dividing by `scale`, so a tiny scale
/// cannot overflow. The function does not validate its input: callers pass a
/// finite, positive `scale`. A NaN value gets `-1` (binary) or `0` (ternary).
pub fn codes_for_scale(values: &[f32], scale: f32, bits: Bits) -> Vec<i8> {
    match bits {
        Bits::Binary => values.iter().map(|&w| binary_code(w)).collect(),
        Bits::Ternary => {
            let threshold = 0.5 * scale;
            values.iter().map(|&w| ternary_code(w, threshold)).collect()
        }
    }
}

/// Binary code of one value: `+1` for `w >= 0`, `-1` otherwise.
#[inline]
pub(crate) fn binary_code(w: f32) -> i8 {
    if w >= 0.0 {
        1
    } else {
        -1
    }
}

/// Ternary code of one value for the threshold `0.5 * scale`.
#[inline]
pub(crate) fn ternary_code(w: f32, threshold: f32) -> i8 {
    if w > threshold {
        1
    } else if w < -threshold {
        -1
    } else {
        0
    }
}

/// Computes the error between `values` and their nearest-level reconstruction
/// `scale * codes_for_scale(values, scale, bits)`, accumulated in f64.
///
/// The result is the sum of squared differences for [`ScaleNorm::L2`] (not its
/// square root), the sum of absolute differences for [`ScaleNorm::L1`] and the
/// largest absolute difference for [`ScaleNorm::LInf`]. These are the
/// objectives that [`super::optimal_scale`] minimizes. Returns 0 for an empty
/// slice and NaN when a value is NaN.
pub fn reconstruction_error(values: &[f32], scale: f32, bits: Bits, norm: ScaleNorm) -> f64 {
    let codes = codes_for_scale(values, scale, bits);
    let residuals = values
        .iter()
        .zip(&codes)
        .map(|(&w, &c)| (f64::from(w) - f64::from(scale) * f64::from(c)).abs());
    match norm {
        ScaleNorm::L2 => residuals.map(|r| r * r).sum(),
        ScaleNorm::L1 => residuals.sum(),
        ScaleNorm::LInf => {
            residuals.fold(0.0, |max, r| if r > max || r.is_nan() { r } else { max })
        }
    }
}
