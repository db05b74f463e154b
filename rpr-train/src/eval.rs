//! Test-set evaluation.

use serde::{Deserialize, Serialize};
use tch::Kind;

use crate::data::DataSplits;
use crate::error::{Result, TrainError};
use crate::net::{BatchNormMode, Network, WeightOverrides};

/// Accuracy counts on a test set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Images whose highest logit is the label.
    pub correct: usize,
    /// Images with the label among the five highest logits.
    pub correct_top5: usize,
    pub images: usize,
}

impl Accuracy {
    /// Top-1 accuracy as a fraction.
    pub fn top1(&self) -> f64 {
        self.correct as f64 / self.images.max(1) as f64
    }

    /// Top-5 accuracy as a fraction.
    pub fn top5(&self) -> f64 {
        self.correct_top5 as f64 / self.images.max(1) as f64
    }
}

/// Runs the test split in inference mode (BatchNorm running statistics).
pub fn evaluate(
    net: &Network,
    data: &DataSplits,
    overrides: &WeightOverrides,
    batch_size: usize,
) -> Result<Accuracy> {
    let mut acc = Accuracy { correct: 0, correct_top5: 0, images: 0 };
    let _guard = tch::no_grad_guard();
    for batch in data.test_batches(batch_size) {
        let batch = batch?;
        let images = batch.images.to_device(net.device());
        let labels = batch.labels.to_device(net.device());
        let logits = net.forward(&images, BatchNormMode::Eval, overrides)?;
        let (correct, correct_top5) = count_correct(&logits, &labels)?;
        acc.correct += correct;
        acc.correct_top5 += correct_top5;
        acc.images += batch.len;
    }
    Ok(acc)
}

/// Counts top-1 and top-5 hits of a batch of logits `[n, classes]`.
pub fn count_correct(logits: &tch::Tensor, labels: &tch::Tensor) -> Result<(usize, usize)> {
    let classes = logits.size().last().copied().unwrap_or(1);
    let k = classes.min(5);
    let (_, top) = logits.f_topk(k, -1, true, true).map_err(TrainError::torch("top-k of logits"))?;
    let hits = top.eq_tensor(&labels.unsqueeze(-1));
    let top1 = hits.narrow(1, 0, 1).sum(Kind::Int64);
    let top5 = hits.sum(Kind::Int64);
    let top1 = i64::try_from(&top1).map_err(TrainError::torch("counting top-1 hits"))?;
    let top5 = i64::try_from(&top5).map_err(TrainError::torch("counting top-5 hits"))?;
    Ok((top1 as usize, top5 as usize))
}
