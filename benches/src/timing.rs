//! The timing schedule shared by all engines.

use std::time::Instant;

use ndarray::{Array2, ArrayView4};
use serde::{Deserialize, Serialize};

use crate::engines::{Backend, BackendError};

/// Warm-up runs, then `rounds` rounds in which every configuration runs
/// `iterations_per_round` times in turn. Interleaving spreads slow drift of a
/// shared machine (other jobs, frequency changes) over all engines, so the
/// ratios between them stay meaningful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub warmup: usize,
    pub rounds: usize,
    pub iterations_per_round: usize,
}

impl Schedule {
    /// Timed runs per configuration.
    pub fn iterations(&self) -> usize {
        self.rounds * self.iterations_per_round
    }
}

/// Runs `backend` `count` times on `input` and returns the logits of the
/// first run, which warms caches, thread pools and buffer plans.
pub fn warm_up(backend: &mut dyn Backend, input: ArrayView4<'_, f32>, count: usize) -> Result<Array2<f32>, BackendError> {
    let logits = backend.run(input)?;
    for _ in 1..count {
        backend.run(input)?;
    }
    Ok(logits)
}

/// Appends the wall-clock time of `count` runs, in milliseconds, to `samples`.
pub fn time_runs(
    backend: &mut dyn Backend,
    input: ArrayView4<'_, f32>,
    count: usize,
    samples: &mut Vec<f64>,
) -> Result<(), BackendError> {
    for _ in 0..count {
        let start = Instant::now();
        let logits = backend.run(input)?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(logits);
    }
    Ok(())
}
