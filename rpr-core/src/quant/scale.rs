//! Error-minimizing scale search: input checks and dispatch to one module per norm.

use super::{scale_l1, scale_l2, scale_linf, Bits, QuantError, ScaleNorm};

/// Scale returned when no positive scale attains the minimum error because the
/// error keeps falling as the scale approaches 0.
///
/// This happens for an all-zero input with binary codes (every code is ±1, so
/// the error is `n * s^2` or `n * s`), and for binary codes under
/// [`ScaleNorm::L1`] when more than half of the magnitudes are 0. The smallest
/// positive normal f32 keeps every reconstructed weight within `1.2e-38` of
/// 0, keeps `1 / scale` finite and keeps the scale a normal number.
pub const MIN_SCALE: f32 = f32::MIN_POSITIVE;

/// Scale given to an all-zero input with ternary codes. Every code is then 0,
/// so the reconstruction is exact for any scale and 1 is the neutral choice.
pub const ZERO_TERNARY_SCALE: f32 = 1.0;

/// Finds the scale `s > 0` that minimizes the error between `values` and
/// their nearest-level reconstruction `s * code` (see
/// [`super::codes_for_scale`] and [`super::reconstruction_error`]).
///
/// Every norm is solved exactly, in f64, from the magnitudes sorted in
/// descending order, `a_1 >= a_2 >= ... >= a_n`:
///
/// - [`ScaleNorm::L2`], binary: `s = mean(a)`.
/// - [`ScaleNorm::L2`], ternary: a support of the top `k` magnitudes has the
///   best scale `s_k = mean(a_1..a_k)` and the error `sum(a^2) - k * s_k^2`.
///   The smallest `k` of least error wins. At that `k`, `a_k > s_k / 2 > a_{k+1}`
///   is strict, so nearest-level rounding keeps exactly that support.
/// - [`ScaleNorm::L1`], binary: the upper median `a_{ceil(n/2)}`.
/// - [`ScaleNorm::L1`], ternary: the top-`k` support has the error
///   `sum(a_{k+1}..a_n) + sum(|a_i - m_k|, i <= k)`, least at the upper median
///   `m_k = a_{ceil(k/2)}` of the support. The smallest `k` of least error wins.
/// - [`ScaleNorm::LInf`], binary: `s = (a_1 + a_n) / 2`.
/// - [`ScaleNorm::LInf`], ternary: the top-`k` support has the error
///   `max(a_{k+1}, (a_1 - a_k) / 2)` at `s = (a_1 + a_k) / 2`. The smallest
///   `k` of least error wins.
///
/// For every fixed scale, the nearest-level codes give a top-`k` support, so
/// searching all `k` finds the global minimum. Rounding the f64 optimum to f32
/// can move a value that lies within one f32 ulp of `s / 2` across the
/// threshold. Nearest-level codes still give the least error at the returned
/// f32 scale.
///
/// An all-zero input gets [`ZERO_TERNARY_SCALE`] (ternary) or [`MIN_SCALE`]
/// (binary), as does a binary L1 input whose median magnitude is 0. An optimum
/// below [`MIN_SCALE`], which only inputs of subnormal magnitude have, is
/// raised to [`MIN_SCALE`]. The result is always finite and positive.
///
/// # Errors
///
/// [`QuantError::Empty`] for an empty slice and [`QuantError::NonFinite`]
/// (with the flat index) for a NaN or infinite value.
pub fn optimal_scale(values: &[f32], bits: Bits, norm: ScaleNorm) -> Result<f32, QuantError> {
    let mut magnitudes = checked_magnitudes(values)?;
    if magnitudes.iter().all(|&a| a == 0.0) {
        return Ok(match bits {
            Bits::Binary => MIN_SCALE,
            Bits::Ternary => ZERO_TERNARY_SCALE,
        });
    }

    // Binary scales need no sort: a mean, a selection or a min and max.
    let scale = match (norm, bits) {
        (ScaleNorm::L2, Bits::Binary) => scale_l2::binary(&magnitudes),
        (ScaleNorm::L1, Bits::Binary) => scale_l1::binary(&mut magnitudes),
        (ScaleNorm::LInf, Bits::Binary) => scale_linf::binary(&magnitudes),
        (ScaleNorm::L2, Bits::Ternary) => scale_l2::ternary(sort_descending(&mut magnitudes)),
        (ScaleNorm::L1, Bits::Ternary) => scale_l1::ternary(sort_descending(&mut magnitudes)),
        (ScaleNorm::LInf, Bits::Ternary) => scale_linf::ternary(sort_descending(&mut magnitudes)),
    };
    Ok(to_positive_f32(scale))
}

/// Checks the values and returns their magnitudes in f64, in input order.
fn checked_magnitudes(values: &[f32]) -> Result<Vec<f64>, QuantError> {
    if values.is_empty() {
        return Err(QuantError::Empty { shape: vec![0] });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, w)| !w.is_finite()) {
        return Err(QuantError::NonFinite {
            index: vec![index],
            value,
        });
    }

    Ok(values.iter().map(|&w| f64::from(w.abs())).collect())
}

/// Sorts magnitudes in descending order, as the ternary searches need.
fn sort_descending(magnitudes: &mut [f64]) -> &[f64] {
    // The magnitudes are finite f32 values widened to f64, and the bit patterns
    // of non-negative floats sort like the numbers. Integer keys sort faster
    // than `f64::total_cmp`.
    magnitudes.sort_unstable_by_key(|&a| std::cmp::Reverse(a.to_bits()));
    magnitudes
}

/// Rounds an f64 scale to f32, mapping 0 and values below the f32 normal
/// range to [`MIN_SCALE`].
///
/// Every optimum above is a mean, median or midpoint of finite f32
/// magnitudes, so it never exceeds `f32::MAX`.
fn to_positive_f32(scale: f64) -> f32 {
    let rounded = scale as f32;
    if rounded < MIN_SCALE {
        MIN_SCALE
    } else {
        rounded
    }
}
