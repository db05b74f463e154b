//! Latency statistics.

use std::time::Duration;

/// Median and 99th percentile of a set of durations, in milliseconds.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub(crate) struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Latency {
    /// Computes nearest-rank percentiles; `None` for an empty set.
    pub fn from_samples(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Some(Self {
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let latency = Latency::from_samples(&samples).unwrap();
        assert_eq!(latency.p50_ms, 50.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert!(Latency::from_samples(&[]).is_none());
    }
}
