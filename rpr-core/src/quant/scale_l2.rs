//! Exact L2 scales. Inputs are non-empty magnitudes with a positive maximum,
//! in descending order for the ternary search.

/// Binary L2 optimum: the error `sum((a_i - s)^2)` is least at the mean.
pub(super) fn binary(magnitudes: &[f64]) -> f64 {
    magnitudes.iter().sum::<f64>() / magnitudes.len() as f64
}

/// Ternary L2 optimum over all top-`k` supports.
///
/// The error of support `k` is `sum(a^2) - S_k^2 / k` with the prefix sum
/// `S_k`, so the search maximizes `S_k^2 / k`. A strict `>` keeps the smallest
/// `k` among equal errors.
pub(super) fn ternary(magnitudes: &[f64]) -> f64 {
    let mut prefix_sum = 0.0;
    let mut best_gain = f64::NEG_INFINITY;
    let mut best_scale = magnitudes[0];
    for (i, &a) in magnitudes.iter().enumerate() {
        let k = (i + 1) as f64;
        prefix_sum += a;
        let gain = prefix_sum * prefix_sum / k;
        if gain > best_gain {
            best_gain = gain;
            best_scale = prefix_sum / k;
        }
    }
    best_scale
}
