//! int8 activation calibration: runs images through the float graph and
//! records a symmetric scale per node output.
//!
//! The range of a tensor is max |x| over all images, or the given percentile
//! of |x|. A tensor that is never negative (after ReLU, for example) is
//! quantized as u8 with zero point 0 and `scale = range / 255`. Any other
//! tensor is int8 with `scale = range / 127`.

use std::collections::BTreeMap;

use ndarray::{ArrayView4, ArrayViewD, Axis};
use rpr_core::checkpoint::Tensors;
use rpr_core::graph::{Model, INPUT};

use crate::error::ExportError;
use crate::packed::ActivationQuant;

/// Number of histogram bins over `[0, max |x|]` for percentile ranges.
const HISTOGRAM_BINS: usize = 4096;

/// Images per reference-executor call.
const BATCH: usize = 16;

/// Measured activation scales, keyed by tensor name of the unfolded model.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationCalibration {
    pub samples: u64,
    pub dataset: String,
    /// Percentile of |x| taken as the range; 100 means max |x|.
    pub percentile: f32,
    pub scales: BTreeMap<String, ActivationQuant>,
}

#[derive(Clone, Debug, Default)]
struct Stats {
    max_abs: f32,
    negative: bool,
    histogram: Vec<u64>,
}

/// Runs `images` (`[n, c, h, w]`, already normalized) through the float
/// graph and returns a scale for the input and every node output.
/// `progress` is called with the number of images done after each batch.
pub fn calibrate(
    model: &Model,
    tensors: &Tensors,
    images: ArrayView4<f32>,
    dataset: &str,
    percentile: f32,
    progress: &mut dyn FnMut(usize),
) -> Result<ActivationCalibration, ExportError> {
    if !(percentile > 0.0 && percentile <= 100.0) {
        return Err(ExportError::Option(format!("percentile {percentile} is outside (0, 100]")));
    }
    if images.shape()[0] == 0 {
        return Err(ExportError::Calibration("no calibration images".into()));
    }
    if let Some(bad) = images.iter().position(|x| !x.is_finite()) {
        return Err(ExportError::Calibration(format!("calibration input has a non-finite value at flat index {bad}")));
    }

    let mut stats: BTreeMap<String, Stats> = BTreeMap::new();
    let total = images.shape()[0];
    let run_pass = |stats: &mut BTreeMap<String, Stats>, pass: Pass, progress: &mut dyn FnMut(usize)| {
        let mut done = 0;
        for batch in images.axis_chunks_iter(Axis(0), BATCH) {
            observe(stats, INPUT, batch.into_dyn(), pass);
            let mut observer = |name: &str, values: ArrayViewD<f32>| observe(stats, name, values, pass);
            rpr_core::reference::run_with_observer(model, tensors, batch, &mut observer)
                .map_err(|error| ExportError::Calibration(error.to_string()))?;
            done += batch.shape()[0];
            progress(done);
        }
        Ok::<(), ExportError>(())
    };

    run_pass(&mut stats, Pass::Range, progress)?;
    if percentile < 100.0 {
        for entry in stats.values_mut() {
            entry.histogram = vec![0; HISTOGRAM_BINS];
        }
        run_pass(&mut stats, Pass::Histogram, progress)?;
    }

    let mut scales = BTreeMap::new();
    for (name, entry) in &stats {
        if !entry.max_abs.is_finite() {
            return Err(ExportError::Calibration(format!(
                "tensor `{name}` has non-finite activations; check the checkpoint weights"
            )));
        }
        let range = if percentile < 100.0 { percentile_range(entry, percentile) } else { entry.max_abs };
        let levels = if entry.negative { 127.0 } else { 255.0 };
        // An all-zero tensor quantizes exactly with any scale.
        let scale = if range > 0.0 { range / levels } else { 1.0 };
        scales.insert(name.clone(), ActivationQuant { scale, unsigned: !entry.negative });
    }
    Ok(ActivationCalibration { samples: total as u64, dataset: dataset.to_string(), percentile, scales })
}

#[derive(Clone, Copy)]
enum Pass {
    Range,
    Histogram,
}

fn observe(stats: &mut BTreeMap<String, Stats>, name: &str, values: ArrayViewD<f32>, pass: Pass) {
    let entry = stats.entry(name.to_string()).or_default();
    match pass {
        Pass::Range => {
            for &x in values.iter() {
                // NaN propagates into max_abs through `max` only if it comes
                // first, so test it explicitly.
                if x.is_nan() {
                    entry.max_abs = f32::NAN;
                } else if !entry.max_abs.is_nan() {
                    entry.max_abs = entry.max_abs.max(x.abs());
                }
                entry.negative |= x < 0.0;
            }
        }
        Pass::Histogram => {
            if entry.max_abs <= 0.0 || entry.histogram.is_empty() {
                return;
            }
            let bins = entry.histogram.len();
            let per_unit = bins as f32 / entry.max_abs;
            for &x in values.iter() {
                let bin = ((x.abs() * per_unit) as usize).min(bins - 1);
                entry.histogram[bin] += 1;
            }
        }
    }
}

/// Upper edge of the histogram bin where the cumulative count reaches `percentile`.
fn percentile_range(entry: &Stats, percentile: f32) -> f32 {
    let total: u64 = entry.histogram.iter().sum();
    if total == 0 {
        return entry.max_abs;
    }
    let target = (f64::from(percentile) / 100.0 * total as f64).ceil() as u64;
    let mut cumulative = 0;
    for (bin, &count) in entry.histogram.iter().enumerate() {
        cumulative += count;
        if cumulative >= target {
            return entry.max_abs * (bin + 1) as f32 / entry.histogram.len() as f32;
        }
    }
    entry.max_abs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_range_picks_bin_edge() {
        let mut entry = Stats { max_abs: 10.0, negative: false, histogram: vec![0; 10] };
        // 90 values in the first bin and 10 in the last.
        entry.histogram[0] = 90;
        entry.histogram[9] = 10;
        assert_eq!(percentile_range(&entry, 90.0), 1.0);
        assert_eq!(percentile_range(&entry, 95.0), 10.0);
    }

    #[test]
    fn observe_tracks_sign_and_max() {
        let mut stats = BTreeMap::new();
        let values = ndarray::arr1(&[0.5f32, -2.0, 1.0]).into_dyn();
        observe(&mut stats, "t", values.view(), Pass::Range);
        assert_eq!(stats["t"].max_abs, 2.0);
        assert!(stats["t"].negative);
    }
}
