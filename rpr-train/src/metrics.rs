//! Per-epoch metrics (`metrics.csv`) and the run summary (`report.json`).

use std::path::Path;

use rpr_core::checkpoint::write_atomic;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// One row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Zero-based epoch index.
    pub epoch: usize,
    /// Mean training cross-entropy.
    pub loss: f64,
    /// Training accuracy (fraction), measured on augmented batches in
    /// training mode.
    pub train_acc: f64,
    /// Test top-1 accuracy (fraction) at the end of the epoch.
    pub test_acc: f64,
    /// Freezing fraction during the epoch; `None` for float training.
    pub ff: Option<f64>,
    /// Learning rate at the first step of the epoch.
    pub lr: f64,
    /// Wall-clock seconds of the epoch including evaluation.
    pub seconds: f64,
}

/// Writes `metrics.csv` atomically.
pub fn write_metrics_csv(path: &Path, rows: &[EpochMetrics]) -> Result<()> {
    let mut text = String::from("epoch,loss,train_acc,test_acc,ff,lr,seconds\n");
    for r in rows {
        let ff = r.ff.map(|f| format!("{f}")).unwrap_or_default();
        text.push_str(&format!(
            "{},{:.6},{:.6},{:.6},{},{:.6e},{:.2}\n",
            r.epoch, r.loss, r.train_acc, r.test_acc, ff, r.lr, r.seconds
        ));
    }
    write_atomic(path, text.as_bytes()).map_err(TrainError::io(format!("writing {}", path.display())))
}

/// File name of the run summary in an output folder.
pub const REPORT_JSON: &str = "report.json";

/// Contents of `report.json`. Accuracies are fractions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub model: String,
    pub dataset: String,
    /// `float`, `rpr`, `ste`, `inq` or `ptq`.
    pub method: String,
    /// `float`, `binary` or `ternary`.
    pub bits: String,
    /// Top-1 of the float starting point on the same test images.
    pub fp_top1: Option<f64>,
    pub top1: f64,
    pub top5: f64,
    /// Correctly classified test images (top-1).
    pub correct: usize,
    pub test_images: usize,
    pub train_images: usize,
    pub epochs: usize,
    /// Freezing-fraction schedule, `epoch:ff,...`, for RPR; INQ's frozen
    /// fractions for INQ.
    pub ff_schedule: Option<String>,
    pub optimizer: String,
    pub lr: f64,
    pub batch_size: usize,
    pub seed: u64,
    /// Wall-clock seconds of the whole run (all sessions when resumed).
    pub seconds: f64,
    /// Command line of the run.
    pub command: String,
}

impl Report {
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| TrainError::Config(format!("serializing the report: {e}")))?;
        write_atomic(path, json.as_bytes()).map_err(TrainError::io(format!("writing {}", path.display())))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(TrainError::io(format!("reading {}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| TrainError::Config(format!("{} is not a valid report: {e}", path.display())))
    }
}
