//! Freezing-fraction (FF) schedules: the fraction of each layer's weights held
//! at their quantized values, as a step function of the epoch.
//!
//! The text form is a comma-separated list of `EPOCH:FF` points, for example
//! `0:0.9,20:0.95,30:1.0`: FF is 0.9 from epoch 0, 0.95 from epoch 20 and 1.0
//! (every weight frozen) from epoch 30 on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Expected syntax, appended to every parse error.
const SYNTAX: &str = "expected comma-separated EPOCH:FF points with the first at epoch 0, \
     epochs strictly increasing and FF in [0, 1] never decreasing, for example \"0:0.9,20:0.95,30:1.0\"";

/// Freezing fractions of [`FfSchedule::geometric`]: starting at 0.9, the
/// relaxed fraction halves at each step until the last point freezes every weight.
const GEOMETRIC_FFS: [f32; 6] = [0.9, 0.95, 0.975, 0.9875, 0.99375, 1.0];

/// Error of [`FfSchedule`] parsing and construction. The entry fields hold
/// the offending `EPOCH:FF` text and its 0-based position.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ScheduleError {
    /// The schedule has no points.
    #[error("FF schedule is empty; {SYNTAX}")]
    Empty,
    /// An entry is not two numbers around a colon.
    #[error("FF schedule entry {position} `{entry}` is not EPOCH:FF; {SYNTAX}")]
    Syntax {
        /// 0-based position of the entry.
        position: usize,
        /// The entry text.
        entry: String,
    },
    /// The epoch of an entry is not a non-negative integer.
    #[error("FF schedule entry {position} `{entry}` has an invalid epoch; epochs are non-negative integers; {SYNTAX}")]
    InvalidEpoch {
        /// 0-based position of the entry.
        position: usize,
        /// The entry text.
        entry: String,
    },
    /// The FF of an entry is not a number in [0, 1].
    #[error("FF schedule entry {position} `{entry}` has FF {ff}, outside [0, 1]; {SYNTAX}")]
    FfOutOfRange {
        /// 0-based position of the entry.
        position: usize,
        /// The entry text.
        entry: String,
        /// The parsed FF, possibly NaN or infinite.
        ff: f32,
    },
    /// The first point is not at epoch 0, so FF would be undefined before it.
    #[error("FF schedule entry 0 `{entry}` starts after epoch 0; {SYNTAX}")]
    FirstEpochNotZero {
        /// The entry text.
        entry: String,
    },
    /// An epoch is not greater than the epoch of the entry before it.
    #[error("FF schedule entry {position} `{entry}` has an epoch not after the previous epoch {previous}; {SYNTAX}")]
    EpochNotIncreasing {
        /// 0-based position of the entry.
        position: usize,
        /// The entry text.
        entry: String,
        /// Epoch of the entry before it.
        previous: usize,
    },
    /// An FF is lower than the FF of the entry before it; RPR never unfreezes weights.
    #[error("FF schedule entry {position} `{entry}` lowers FF from {previous}; {SYNTAX}")]
    FfDecreasing {
        /// 0-based position of the entry.
        position: usize,
        /// The entry text.
        entry: String,
        /// FF of the entry before it.
        previous: f32,
    },
}

/// A freezing-fraction schedule: points `(epoch, ff)` with the first at epoch
/// 0, epochs strictly increasing and FF in [0, 1] never decreasing.
///
/// Serializes as its text form, for example `"0:0.9,20:0.95,30:1"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FfSchedule {
    points: Vec<(usize, f32)>,
}

impl FfSchedule {
    /// Builds a schedule from `(epoch, ff)` points.
    ///
    /// # Errors
    ///
    /// The [`ScheduleError`] variant for the first broken rule, with the
    /// point written as `EPOCH:FF`.
    pub fn new(points: Vec<(usize, f32)>) -> Result<Self, ScheduleError> {
        let entries: Vec<String> = points.iter().map(|(e, ff)| format!("{e}:{ff}")).collect();
        check_points(&points, &entries)?;
        Ok(Self { points })
    }

    /// Builds the default RPR schedule: FF 0.9, 0.95, 0.975, 0.9875, 0.99375
    /// and 1.0 from epochs 0, `step_epochs`, `2 * step_epochs`, and so on.
    /// Each step halves the relaxed fraction, and the last one freezes every
    /// weight.
    ///
    /// A `step_epochs` of 0 gives the single point `0:1` (everything frozen
    /// from the start). Points whose epoch would overflow `usize` are left
    /// out, because no training run reaches them.
    pub fn geometric(step_epochs: usize) -> FfSchedule {
        if step_epochs == 0 {
            return Self {
                points: vec![(0, 1.0)],
            };
        }
        let points = GEOMETRIC_FFS
            .iter()
            .enumerate()
            .map_while(|(i, &ff)| step_epochs.checked_mul(i).map(|epoch| (epoch, ff)))
            .collect();
        Self { points }
    }

    /// Returns the FF in force at `epoch`: the FF of the last point whose
    /// epoch is at most `epoch`.
    pub fn ff_at(&self, epoch: usize) -> f32 {
        // The first point is at epoch 0, so at least one point qualifies.
        let count = self.points.partition_point(|&(start, _)| start <= epoch);
        self.points[count.saturating_sub(1)].1
    }

    /// Returns the points as `(epoch, ff)`, epochs strictly increasing.
    pub fn points(&self) -> &[(usize, f32)] {
        &self.points
    }

    /// Returns the first epoch from which FF no longer changes: the epoch of
    /// the first point of the final run of equal FF values. For
    /// `0:0.9,20:0.95,30:1.0` it is 30, and for `0:0.9,10:0.9` it is 0.
    pub fn last_change_epoch(&self) -> usize {
        let final_ff = self.final_ff();
        let first_final = self
            .points
            .iter()
            .rposition(|&(_, ff)| ff != final_ff)
            .map_or(0, |i| i + 1);
        self.points[first_final].0
    }

    /// Returns the FF of the last point, in force from its epoch on.
    pub fn final_ff(&self) -> f32 {
        self.points[self.points.len() - 1].1
    }
}

impl FromStr for FfSchedule {
    type Err = ScheduleError;

    /// Parses `EPOCH:FF` points separated by commas. Spaces around entries
    /// and around the colon are allowed.
    fn from_str(text: &str) -> Result<Self, ScheduleError> {
        if text.trim().is_empty() {
            return Err(ScheduleError::Empty);
        }
        let entries: Vec<String> = text.split(',').map(|e| e.trim().to_string()).collect();
        let points = entries
            .iter()
            .enumerate()
            .map(|(position, entry)| parse_entry(position, entry))
            .collect::<Result<Vec<_>, _>>()?;
        check_points(&points, &entries)?;
        Ok(Self { points })
    }
}

impl fmt::Display for FfSchedule {
    /// Writes the text form that [`FfSchedule::from_str`] reads back to an
    /// equal schedule (f32 `Display` round-trips exactly).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (epoch, ff)) in self.points.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{epoch}:{ff}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for FfSchedule {
    type Error = ScheduleError;

    fn try_from(text: String) -> Result<Self, ScheduleError> {
        text.parse()
    }
}

impl From<FfSchedule> for String {
    fn from(schedule: FfSchedule) -> String {
        schedule.to_string()
    }
}

/// Parses one `EPOCH:FF` entry, checking the FF range.
fn parse_entry(position: usize, entry: &str) -> Result<(usize, f32), ScheduleError> {
    let syntax_error = || ScheduleError::Syntax {
        position,
        entry: entry.to_string(),
    };
    let (epoch_text, ff_text) = entry.split_once(':').ok_or_else(syntax_error)?;
    let (epoch_text, ff_text) = (epoch_text.trim(), ff_text.trim());
    if epoch_text.is_empty() || ff_text.is_empty() {
        return Err(syntax_error());
    }

    let epoch = epoch_text
        .parse::<usize>()
        .map_err(|_| ScheduleError::InvalidEpoch {
            position,
            entry: entry.to_string(),
        })?;
    let ff = ff_text.parse::<f32>().map_err(|_| syntax_error())?;
    Ok((epoch, ff))
}

/// Checks the schedule rules on parsed points. `entries` contains each
/// point's text for the error messages.
fn check_points(points: &[(usize, f32)], entries: &[String]) -> Result<(), ScheduleError> {
    let Some(&(first_epoch, _)) = points.first() else {
        return Err(ScheduleError::Empty);
    };
    for (position, &(_, ff)) in points.iter().enumerate() {
        if !(0.0..=1.0).contains(&ff) {
            return Err(ScheduleError::FfOutOfRange {
                position,
                entry: entries[position].clone(),
                ff,
            });
        }
    }
    if first_epoch != 0 {
        return Err(ScheduleError::FirstEpochNotZero {
            entry: entries[0].clone(),
        });
    }
    for (position, pair) in points.windows(2).enumerate() {
        let ((previous_epoch, previous_ff), (epoch, ff)) = (pair[0], pair[1]);
        let position = position + 1;
        if epoch <= previous_epoch {
            return Err(ScheduleError::EpochNotIncreasing {
                position,
                entry: entries[position].clone(),
                previous: previous_epoch,
            });
        }
        if ff < previous_ff {
            return Err(ScheduleError::FfDecreasing {
                position,
                entry: entries[position].clone(),
                previous: previous_ff,
            });
        }
    }
    Ok(())
}
