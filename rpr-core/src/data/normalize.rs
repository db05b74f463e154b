//! Conversion of `u8` images to normalized `f32` batches.

use ndarray::{Array4, Axis, Zip};

use super::dataset::check_indices;
use super::{DataError, Dataset};

/// Per-channel mean and standard deviation on the `[0, 1]` pixel scale.
///
/// A pixel `p` of channel `c` becomes `(p / 255 - mean[c]) / std[c]`, as in
/// torchvision's `ToTensor` followed by `Normalize(mean, std)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalization {
    /// Mean of each channel, on the `[0, 1]` scale.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel, on the `[0, 1]` scale. Must be positive.
    pub std: Vec<f32>,
}

impl Normalization {
    /// Builds a normalization and checks it with [`Normalization::validate`].
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Result<Self, DataError> {
        let norm = Normalization { mean, std };
        norm.validate(norm.mean.len())?;
        Ok(norm)
    }

    /// Fashion-MNIST training set statistics: mean 0.2860, std 0.3530.
    pub fn fashion_mnist() -> Self {
        Normalization {
            mean: vec![0.2860],
            std: vec![0.3530],
        }
    }

    /// MNIST training set statistics as used by PyTorch's MNIST example:
    /// mean 0.1307, std 0.3081.
    pub fn mnist() -> Self {
        Normalization {
            mean: vec![0.1307],
            std: vec![0.3081],
        }
    }

    /// CIFAR-10 training set statistics per RGB channel: mean
    /// (0.4914, 0.4822, 0.4465) and the per-pixel standard deviation
    /// (0.2470, 0.2435, 0.2616).
    ///
    /// These are published values, and the tests recompute only the
    /// Fashion-MNIST statistics.
    ///
    /// NOTE: many CIFAR-10 training scripts use std (0.2023, 0.1994, 0.2010)
    /// instead. A network pretrained with those values needs a
    /// `Normalization` built from them.
    pub fn cifar10() -> Self {
        Normalization {
            mean: vec![0.4914, 0.4822, 0.4465],
            std: vec![0.2470, 0.2435, 0.2616],
        }
    }

    /// ImageNet statistics used by the torchvision pretrained models: mean
    /// (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    pub fn imagenet() -> Self {
        Normalization {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// Scaling to `[0, 1]` only (mean 0, std 1) for `channels` channels.
    pub fn unit_range(channels: usize) -> Self {
        Normalization {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// Checks that mean and std have one finite entry per channel and that
    /// every std is positive.
    pub fn validate(&self, channels: usize) -> Result<(), DataError> {
        if self.mean.len() != channels || self.std.len() != channels {
            return Err(DataError::InvalidArgument {
                name: "normalization",
                value: format!("(mean {:?}, std {:?})", self.mean, self.std),
                reason: format!(
                    "expected {channels} mean and std values (one per image channel), found {} and {}",
                    self.mean.len(),
                    self.std.len()
                ),
            });
        }
        if let Some(c) = (0..channels).find(|&c| !self.mean[c].is_finite()) {
            return Err(DataError::InvalidArgument {
                name: "normalization mean",
                value: self.mean[c].to_string(),
                reason: format!("channel {c} must be finite"),
            });
        }
        if let Some(c) = (0..channels).find(|&c| !(self.std[c].is_finite() && self.std[c] > 0.0)) {
            return Err(DataError::InvalidArgument {
                name: "normalization std",
                value: self.std[c].to_string(),
                reason: format!("channel {c} must be finite and positive"),
            });
        }
        Ok(())
    }

    /// Lookup table of the 256 normalized values of each channel.
    fn tables(&self) -> Vec<[f32; 256]> {
        self.mean
            .iter()
            .zip(&self.std)
            .map(|(&mean, &std)| std::array::from_fn(|p| (p as f32 / 255.0 - mean) / std))
            .collect()
    }
}

/// Converts the samples at `indices` (in that order) to a normalized `f32`
/// batch `[indices.len(), c, h, w]`.
///
/// # Panics
///
/// On an index `>= dataset.len()` or a normalization that does not match the
/// dataset's channel count. Use [`try_to_f32_normalized`] to get an error
/// instead.
pub fn to_f32_normalized(
    dataset: &Dataset,
    indices: &[usize],
    norm: &Normalization,
) -> Array4<f32> {
    try_to_f32_normalized(dataset, indices, norm).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`to_f32_normalized`], but returns [`DataError::InvalidArgument`] for
/// an index out of range or a normalization with the wrong channel count.
pub fn try_to_f32_normalized(
    dataset: &Dataset,
    indices: &[usize],
    norm: &Normalization,
) -> Result<Array4<f32>, DataError> {
    let [channels, height, width] = dataset.image_shape();
    norm.validate(channels)?;
    check_indices(indices, dataset.len())?;

    let tables = norm.tables();
    let mut batch = Array4::<f32>::zeros((indices.len(), channels, height, width));
    for (mut out, &index) in batch.outer_iter_mut().zip(indices) {
        let image = dataset.images.index_axis(Axis(0), index);
        for (c, table) in tables.iter().enumerate() {
            Zip::from(out.index_axis_mut(Axis(0), c))
                .and(image.index_axis(Axis(0), c))
                .for_each(|o, &p| *o = table[usize::from(p)]);
        }
    }
    Ok(batch)
}
