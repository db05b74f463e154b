//! Exact L1 scales. Inputs are non-empty magnitudes with a positive maximum,
//! in descending order for the ternary search.

/// Binary L1 optimum: `sum(|a_i - s|)` is least at a median. The upper median
/// `a_{ceil(n/2)}` is positive whenever any positive median exists. When it is
/// 0, the caller maps the result to its minimum positive scale.
pub(super) fn binary(magnitudes: &mut [f64]) -> f64 {
    // Selection in descending order puts `a_{ceil(n/2)}` at its sorted place in O(n).
    let index = upper_median_index(magnitudes.len());
    let (_, median, _) = magnitudes.select_nth_unstable_by(index, |a, b| b.total_cmp(a));
    *median
}

/// Ternary L1 optimum over all top-`k` supports.
///
/// Support `k` costs `sum(a_{k+1}..a_n)` for the zero codes plus the absolute
/// deviation of `a_1..a_k` from their upper median `m = a_j`, `j = ceil(k/2)`
/// (1-based). With the prefix sums `P`, that deviation is
/// `(P_{j-1} - (j-1) m) + ((k-j) m - (P_k - P_j))`, so every `k` costs O(1).
/// A strict `<` keeps the smallest `k` among equal errors. The smallest such
/// `k` has a positive median, because a zero median costs as much as `k = 0`,
/// which `k = 1` beats whenever `a_1 > 0`.
pub(super) fn ternary(magnitudes: &[f64]) -> f64 {
    let n = magnitudes.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for &a in magnitudes {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + a);
    }
    let total = prefix[n];

    let mut best_error = f64::INFINITY;
    let mut best_scale = magnitudes[0];
    for k in 1..=n {
        let j = upper_median_index(k) + 1;
        let median = magnitudes[j - 1];
        let above = prefix[j - 1] - (j - 1) as f64 * median;
        let below = (k - j) as f64 * median - (prefix[k] - prefix[j]);
        let error = (total - prefix[k]) + above + below;
        if error < best_error {
            best_error = error;
            best_scale = median;
        }
    }
    best_scale
}

/// 0-based index of the upper median of `len >= 1` values in descending order.
fn upper_median_index(len: usize) -> usize {
    len.div_ceil(2) - 1
}
