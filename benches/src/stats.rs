//! Order statistics of latency samples.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors of the statistics functions.
#[derive(Debug, Error, PartialEq)]
pub enum StatsError {
    #[error("no latency samples; run at least one iteration")]
    Empty,
    #[error("latency sample {index} is {value}, but samples must be finite and non-negative")]
    InvalidSample { index: usize, value: f64 },
    #[error("percentile {0} is outside [0, 100]")]
    InvalidPercentile(f64),
}

/// Returns the `q`-th percentile (0 to 100) of `samples` with linear
/// interpolation between the two nearest ranks, the rule of NumPy's default
/// `percentile` method, so values can be checked against NumPy.
pub fn percentile(samples: &[f64], q: f64) -> Result<f64, StatsError> {
    if !(0.0..=100.0).contains(&q) {
        return Err(StatsError::InvalidPercentile(q));
    }
    let sorted = sorted_samples(samples)?;
    let rank = q / 100.0 * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let fraction = rank - below as f64;
    Ok(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// Returns the median of `samples`: the middle value, or the mean of the two
/// middle values for an even count.
pub fn median(samples: &[f64]) -> Result<f64, StatsError> {
    percentile(samples, 50.0)
}

fn sorted_samples(samples: &[f64]) -> Result<Vec<f64>, StatsError> {
    if samples.is_empty() {
        return Err(StatsError::Empty);
    }
    if let Some((index, &value)) = samples.iter().enumerate().find(|(_, v)| !v.is_finite() || **v < 0.0) {
        return Err(StatsError::InvalidSample { index, value });
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(sorted)
}

/// Summary of the wall-clock times of one configuration, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of timed runs (warm-up runs excluded).
    pub iterations: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarizes per-run times given in milliseconds.
    pub fn from_ms(samples: &[f64]) -> Result<Self, StatsError> {
        let sorted = sorted_samples(samples)?;
        Ok(LatencySummary {
            iterations: sorted.len(),
            median_ms: median(&sorted)?,
            p99_ms: percentile(&sorted, 99.0)?,
            min_ms: sorted[0],
            max_ms: sorted[sorted.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_count() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), Ok(3.0));
    }

    #[test]
    fn median_even_count() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Ok(2.5));
    }

    #[test]
    fn median_single_sample() {
        assert_eq!(median(&[7.25]), Ok(7.25));
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile(np.arange(1, 101), 99) == 99.01 and
        // numpy.percentile([1, 2, 3, 4, 10], 99) == 9.76.
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        let p99 = percentile(&hundred, 99.0).unwrap();
        assert!((p99 - 99.01).abs() < 1e-9, "p99 of 1..=100 is {p99}");

        let skewed = percentile(&[10.0, 1.0, 3.0, 2.0, 4.0], 99.0).unwrap();
        assert!((skewed - 9.76).abs() < 1e-9, "p99 of the skewed set is {skewed}");
    }

    #[test]
    fn percentile_extremes_are_min_and_max() {
        let samples = [3.0, 9.0, 1.0, 4.0];
        assert_eq!(percentile(&samples, 0.0), Ok(1.0));
        assert_eq!(percentile(&samples, 100.0), Ok(9.0));
    }

    #[test]
    fn percentile_rejects_bad_input() {
        assert_eq!(median(&[]), Err(StatsError::Empty));
        assert_eq!(percentile(&[1.0], 101.0), Err(StatsError::InvalidPercentile(101.0)));
        assert_eq!(percentile(&[1.0], -1.0), Err(StatsError::InvalidPercentile(-1.0)));
        assert!(matches!(median(&[1.0, f64::NAN]), Err(StatsError::InvalidSample { index: 1, .. })));
        assert!(matches!(median(&[-1.0]), Err(StatsError::InvalidSample { index: 0, .. })));
    }

    #[test]
    fn summary_fields() {
        let samples: Vec<f64> = (0..200).map(|i| f64::from(199 - i)).collect();
        let summary = LatencySummary::from_ms(&samples).unwrap();
        assert_eq!(summary.iterations, 200);
        assert_eq!(summary.median_ms, 99.5);
        assert!((summary.p99_ms - 197.01).abs() < 1e-9, "p99 is {}", summary.p99_ms);
        assert_eq!(summary.min_ms, 0.0);
        assert_eq!(summary.max_ms, 199.0);
    }
}
