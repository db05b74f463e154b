//! Training methods and their settings.

use std::str::FromStr;

use rpr_core::quant::{Bits, QuantConfig};
use rpr_core::schedule::FfSchedule;

use crate::error::{Result, TrainError};
use crate::quantized::QuantPolicy;

/// How the quantized network is obtained from the float one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Random Partition Relaxation: a random fraction `1 - FF` of each
    /// layer trains in full precision, the rest stays quantized.
    Rpr,
    /// Straight-through estimator: quantized forward, identity backward for
    /// every weight (BinaryConnect and TWN style).
    Ste,
    /// Incremental network quantization: the largest weights are frozen
    /// for good in groups, and the rest retrains.
    Inq,
    /// Post-training quantization: quantize, re-estimate BatchNorm running
    /// statistics on training images, no gradient steps.
    Ptq,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::Rpr, Method::Ste, Method::Inq, Method::Ptq];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Rpr => "rpr",
            Method::Ste => "ste",
            Method::Inq => "inq",
            Method::Ptq => "ptq",
        }
    }
}

impl FromStr for Method {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self> {
        Method::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            TrainError::Config(format!("unknown method `{s}`; expected rpr, ste, inq or ptq"))
        })
    }
}

/// Parses `binary` or `ternary`.
pub fn parse_bits(s: &str) -> Result<Bits> {
    match s {
        "binary" => Ok(Bits::Binary),
        "ternary" => Ok(Bits::Ternary),
        other => Err(TrainError::Config(format!("unknown bit width `{other}`; expected binary or ternary"))),
    }
}

pub fn bits_name(bits: Bits) -> &'static str {
    match bits {
        Bits::Binary => "binary",
        Bits::Ternary => "ternary",
    }
}

/// Settings of a quantized retraining run.
#[derive(Clone, Debug)]
pub struct QuantSetup {
    pub method: Method,
    pub quant: QuantConfig,
    pub policy: QuantPolicy,
    /// RPR: freezing fraction per epoch. INQ: frozen fraction per epoch.
    /// Unused by STE and PTQ.
    pub schedule: FfSchedule,
    /// RPR: draw a new partition every this many steps instead of at the
    /// start of every epoch.
    pub repartition_every: Option<usize>,
    /// Clear the optimizer state at every partition step (RPR and INQ).
    pub clear_optimizer_state: bool,
    /// PTQ: number of training batches used to re-estimate BatchNorm
    /// statistics.
    pub calibration_batches: usize,
}

/// INQ's frozen fractions 0.5, 0.75, 0.875, 1.0 at epochs 0, s, 2s, 3s.
pub fn inq_schedule(step_epochs: usize) -> Result<FfSchedule> {
    let s = step_epochs.max(1);
    let text = format!("0:0.5,{s}:0.75,{}:0.875,{}:1.0", 2 * s, 3 * s);
    text.parse::<FfSchedule>()
        .map_err(|e| TrainError::Config(format!("INQ schedule `{text}`: {e}")))
}

/// Epochs per schedule step so that a schedule with `points` values leaves
/// about one step's worth of epochs at its final value: `epochs / (points + 1)`,
/// at least 1.
pub fn step_epochs_for(epochs: usize, points: usize) -> usize {
    (epochs / (points + 1)).max(1)
}
