//! The timing schedule shared by all engines, and the timed loop a worker
//! process runs.
//!
//! Every configuration (engine, format, thread count, batch size) is timed
//! in its own short-lived process, so no engine's worker threads outlive its
//! measurement and spin on the core of the next one. Within one batch size
//! the configurations take turns: each round starts one fresh process per
//! configuration, in table order, and that process warms up and then times
//! `iterations_per_round` runs. Interleaving spreads slow drift of a shared
//! machine (other jobs, frequency changes) over all engines, so the ratios
//! between them stay meaningful. Warm-up is repeated in every process.

use std::time::Instant;

use ndarray::{Array2, ArrayView4};
use serde::{Deserialize, Serialize};

use crate::engines::{Backend, BackendError};

/// Largest warm-up, round or iteration count the comparison accepts. It
/// keeps a typo such as an extra digit from starting a run of days.
pub const MAX_COUNT: usize = 100_000;

/// Largest thread count the comparison accepts: rpr-infer's own bound, so a
/// thread count that passes here never fails in an rpr-infer worker.
pub use rpr_infer::MAX_THREADS;

/// Warm-up runs, then `rounds` rounds in which every configuration runs
/// `iterations_per_round` times in turn, each round in a fresh process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Untimed runs at the start of every worker process. A process makes at
    /// least one, even with 0 here, because the first run returns the logits.
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

/// Batch-1 and batch-64 schedules of one network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSchedule {
    pub batch1: Schedule,
    pub batch64: Schedule,
}

/// Multiply-accumulates per image above which a network gets
/// [`NetworkSchedule::LARGE`]. ResNet-20 at 28x28 needs about 31 M and
/// ResNet-18 at 224x224 about 1.8 G.
pub const LARGE_NETWORK_MACS: u64 = 200_000_000;

impl NetworkSchedule {
    /// Default of networks up to [`LARGE_NETWORK_MACS`]. Batch 64 gets 32
    /// timed runs from 8 processes, because on a shared machine a whole
    /// process can land in a slow period. With 10 runs from 5 processes the
    /// median followed whichever period most of the processes hit.
    pub const SMALL: NetworkSchedule = NetworkSchedule {
        batch1: Schedule { warmup: 10, rounds: 10, iterations_per_round: 20 },
        batch64: Schedule { warmup: 2, rounds: 8, iterations_per_round: 4 },
    };

    /// Default of larger networks. One batch-64 run of ResNet-18 at 224x224
    /// takes 1 to 6 s per engine on one core of an AVX-512 server. With this
    /// schedule the default comparison of the three standard networks took
    /// 6.3 minutes there, pinned to one core and without the build.
    pub const LARGE: NetworkSchedule = NetworkSchedule {
        batch1: Schedule { warmup: 2, rounds: 3, iterations_per_round: 10 },
        batch64: Schedule { warmup: 1, rounds: 2, iterations_per_round: 1 },
    };

    /// Short schedule of `--quick`, for any network size.
    pub const QUICK: NetworkSchedule = NetworkSchedule {
        batch1: Schedule { warmup: 3, rounds: 5, iterations_per_round: 8 },
        batch64: Schedule { warmup: 1, rounds: 3, iterations_per_round: 1 },
    };

    /// Returns the default schedule of a network with `macs_per_image` multiply-accumulates per image.
    pub fn default_for(macs_per_image: u64) -> NetworkSchedule {
        if macs_per_image > LARGE_NETWORK_MACS {
            NetworkSchedule::LARGE
        } else {
            NetworkSchedule::SMALL
        }
    }
}

/// Schedule values set on the command line. Each replaces that field of
/// every network's default schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScheduleOverrides {
    pub warmup: Option<usize>,
    pub rounds: Option<usize>,
    pub iterations: Option<usize>,
    pub warmup_64: Option<usize>,
    pub rounds_64: Option<usize>,
    pub iterations_64: Option<usize>,
}

/// Rule that picks each network's schedule: quick or by size, then the overrides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedulePlan {
    /// Use [`NetworkSchedule::QUICK`] for every network.
    pub quick: bool,
    pub overrides: ScheduleOverrides,
}

impl ScheduleOverrides {
    /// Checks every value set on the command line and names the flag of the
    /// first one out of range: rounds and iterations must be 1 to
    /// [`MAX_COUNT`], warm-up counts 0 to [`MAX_COUNT`].
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("--warmup", self.warmup, 0),
            ("--rounds", self.rounds, 1),
            ("--iterations", self.iterations, 1),
            ("--warmup-64", self.warmup_64, 0),
            ("--rounds-64", self.rounds_64, 1),
            ("--iterations-64", self.iterations_64, 1),
        ];
        for (flag, value, min) in fields {
            match value {
                Some(value) if value < min => return Err(format!("{flag} must be at least {min}, got {value}")),
                Some(value) if value > MAX_COUNT => return Err(format!("{flag} must be at most {MAX_COUNT}, got {value}")),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Parses a warm-up, round or iteration count for clap and rejects values above [`MAX_COUNT`].
pub fn parse_count(text: &str) -> Result<usize, String> {
    let value: usize = text.parse().map_err(|error| format!("`{text}` is not a non-negative integer: {error}"))?;
    if value > MAX_COUNT {
        return Err(format!("{value} is above the maximum of {MAX_COUNT}"));
    }
    Ok(value)
}

impl SchedulePlan {
    /// Returns the schedule of a network with `macs_per_image` multiply-accumulates per image.
    pub fn for_network(&self, macs_per_image: u64) -> NetworkSchedule {
        let base = if self.quick { NetworkSchedule::QUICK } else { NetworkSchedule::default_for(macs_per_image) };
        let o = &self.overrides;
        NetworkSchedule {
            batch1: Schedule {
                warmup: o.warmup.unwrap_or(base.batch1.warmup),
                rounds: o.rounds.unwrap_or(base.batch1.rounds),
                iterations_per_round: o.iterations.unwrap_or(base.batch1.iterations_per_round),
            },
            batch64: Schedule {
                warmup: o.warmup_64.unwrap_or(base.batch64.warmup),
                rounds: o.rounds_64.unwrap_or(base.batch64.rounds),
                iterations_per_round: o.iterations_64.unwrap_or(base.batch64.iterations_per_round),
            },
        }
    }
}

/// Runs `backend` `count` times on `input` and returns the logits of the
/// first run, which warms caches, thread pools and buffer plans. A `count`
/// of 0 still runs once, because the logits are needed.
pub fn warm_up(backend: &mut dyn Backend, input: ArrayView4<'_, f32>, count: usize) -> Result<Array2<f32>, BackendError> {
    let logits = backend.run(input)?;
    for _ in 1..count {
        backend.run(input)?;
    }
    Ok(logits)
}

/// Appends the wall-clock time of `count` runs, in milliseconds, to `samples`.
pub fn time_runs(backend: &mut dyn Backend, input: ArrayView4<'_, f32>, count: usize, samples: &mut Vec<f64>) -> Result<(), BackendError> {
    for _ in 0..count {
        let start = Instant::now();
        let logits = backend.run(input)?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(logits);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_by_macs() {
        assert_eq!(NetworkSchedule::default_for(41_000_000), NetworkSchedule::SMALL);
        assert_eq!(NetworkSchedule::default_for(LARGE_NETWORK_MACS), NetworkSchedule::SMALL);
        assert_eq!(NetworkSchedule::default_for(1_800_000_000), NetworkSchedule::LARGE);
    }

    #[test]
    fn overrides_replace_fields() {
        let overrides = ScheduleOverrides { rounds: Some(4), iterations_64: Some(7), ..ScheduleOverrides::default() };
        let plan = SchedulePlan { quick: false, overrides };
        let large = plan.for_network(1_800_000_000);
        assert_eq!(large.batch1.rounds, 4);
        assert_eq!(large.batch1.warmup, NetworkSchedule::LARGE.batch1.warmup);
        assert_eq!(large.batch1.iterations_per_round, NetworkSchedule::LARGE.batch1.iterations_per_round);
        assert_eq!(large.batch64.iterations_per_round, 7);
        assert_eq!(large.batch64.rounds, NetworkSchedule::LARGE.batch64.rounds);
    }

    #[test]
    fn overrides_name_flag_below_minimum() {
        let overrides = ScheduleOverrides { iterations_64: Some(0), ..ScheduleOverrides::default() };
        assert_eq!(overrides.validate().unwrap_err(), "--iterations-64 must be at least 1, got 0");
        let overrides = ScheduleOverrides { rounds: Some(0), ..ScheduleOverrides::default() };
        assert_eq!(overrides.validate().unwrap_err(), "--rounds must be at least 1, got 0");
        let overrides = ScheduleOverrides { warmup: Some(0), warmup_64: Some(0), ..ScheduleOverrides::default() };
        assert_eq!(overrides.validate(), Ok(()));
    }

    #[test]
    fn overrides_name_flag_above_maximum() {
        let overrides = ScheduleOverrides { warmup_64: Some(usize::MAX), ..ScheduleOverrides::default() };
        let error = overrides.validate().unwrap_err();
        assert!(error.starts_with("--warmup-64 must be at most 100000"), "{error}");
    }

    #[test]
    fn count_parser_bounds() {
        assert_eq!(parse_count("100000"), Ok(100_000));
        assert_eq!(parse_count("0"), Ok(0));
        let error = parse_count("18446744073709551615").unwrap_err();
        assert!(error.contains("above the maximum of 100000"), "{error}");
        assert!(parse_count("-1").is_err());
    }

    #[test]
    fn quick_ignores_size() {
        let plan = SchedulePlan { quick: true, overrides: ScheduleOverrides::default() };
        assert_eq!(plan.for_network(1_800_000_000), NetworkSchedule::QUICK);
        assert_eq!(plan.for_network(1), NetworkSchedule::QUICK);
    }
}
