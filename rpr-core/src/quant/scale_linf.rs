//! Exact L-infinity scales. Inputs are non-empty magnitudes with a positive
//! maximum, in descending order for the ternary search.

/// Binary L-infinity optimum: `max(|a_i - s|)` is least halfway between the
/// largest and the smallest magnitude.
pub(super) fn binary(magnitudes: &[f64]) -> f64 {
    let largest = magnitudes.iter().copied().fold(0.0, f64::max);
    let smallest = magnitudes.iter().copied().fold(f64::INFINITY, f64::min);
    0.5 * (largest + smallest)
}

/// Ternary L-infinity optimum over all top-`k` supports.
///
/// Support `k` leaves the largest zero-coded magnitude `a_{k+1}` (0 for
/// `k = n`) as one error, and the nonzero codes cost `(a_1 - a_k) / 2` at
/// `s = (a_1 + a_k) / 2`. A strict `<` keeps the smallest `k` among equal
/// errors.
pub(super) fn ternary(magnitudes: &[f64]) -> f64 {
    let largest = magnitudes[0];
    let mut best_error = f64::INFINITY;
    let mut best_scale = largest;
    for (i, &a_k) in magnitudes.iter().enumerate() {
        let first_zero_coded = magnitudes.get(i + 1).copied().unwrap_or(0.0);
        let error = first_zero_coded.max(0.5 * (largest - a_k));
        if error < best_error {
            best_error = error;
            best_scale = 0.5 * (largest + a_k);
        }
    }
    best_scale
}
