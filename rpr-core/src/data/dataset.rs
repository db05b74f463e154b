//! The in-memory dataset shared by all loaders.

use ndarray::{Array4, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::DataError;

/// Part of a dataset with a fixed train/test division.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set.
    Train,
    /// The held-out test set.
    Test,
}

impl Split {
    /// Lowercase name (`train` or `test`), for messages and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// Images and labels of one split, kept as raw `u8` pixels so a 60,000-image
/// set costs 47 MB rather than four times that as `f32`.
///
/// Convert batches to normalized `f32` with
/// [`to_f32_normalized`](super::to_f32_normalized).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Pixels as `[n, channels, height, width]`.
    pub images: Array4<u8>,
    /// Class index of each image, `< classes.len()`.
    pub labels: Vec<u8>,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// Dataset and split, for example `fashion-mnist/test`.
    pub name: String,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Returns `true` if the dataset has no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Per-sample image shape `[channels, height, width]`.
    pub fn image_shape(&self) -> [usize; 3] {
        let (_, c, h, w) = self.images.dim();
        [c, h, w]
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Copies the samples at `indices`, in that order, into a new dataset.
    ///
    /// Indices may repeat. Returns [`DataError::InvalidArgument`] for an index
    /// `>= len()`.
    pub fn select(&self, indices: &[usize]) -> Result<Dataset, DataError> {
        check_indices(indices, self.len())?;
        let images = self.images.select(Axis(0), indices);
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Ok(Dataset {
            images,
            labels,
            classes: self.classes.clone(),
            name: self.name.clone(),
        })
    }

    /// Draws `n` distinct samples, chosen uniformly with a ChaCha8 generator
    /// seeded by `seed`, for small test and debug runs.
    ///
    /// The same `(n, seed)` on the same dataset always gives the same subset,
    /// and the samples keep their original order. `n >= len()` returns the
    /// whole dataset. The name gets the suffix `[subset n seed]`.
    pub fn subset(&self, n: usize, seed: u64) -> Dataset {
        let indices = subset_indices(self.len(), n, seed);
        let mut subset = self
            .select(&indices)
            .expect("subset_indices returns indices below the dataset length");
        subset.name = format!("{}[subset {} seed {}]", self.name, indices.len(), seed);
        subset
    }

    /// Checks that images and labels agree in count, that every label is a
    /// class index and that no dimension is zero.
    pub fn validate(&self) -> Result<(), DataError> {
        let (n, c, h, w) = self.images.dim();
        if n != self.labels.len() {
            return Err(DataError::InvalidArgument {
                name: "dataset",
                value: self.name.clone(),
                reason: format!("{n} images but {} labels", self.labels.len()),
            });
        }
        if c == 0 || h == 0 || w == 0 {
            return Err(DataError::InvalidArgument {
                name: "dataset",
                value: self.name.clone(),
                reason: format!("image shape [{c}, {h}, {w}] has a zero dimension"),
            });
        }
        if let Some((index, &label)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= self.classes.len())
        {
            return Err(DataError::InvalidArgument {
                name: "dataset",
                value: self.name.clone(),
                reason: format!(
                    "label {label} of sample {index} is out of range for {} classes",
                    self.classes.len()
                ),
            });
        }
        Ok(())
    }
}

/// Sorted indices of `min(n, len)` distinct samples out of `len`, drawn with
/// a ChaCha8 generator seeded by `seed`.
pub fn subset_indices(len: usize, n: usize, seed: u64) -> Vec<usize> {
    let amount = n.min(len);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut indices = rand::seq::index::sample(&mut rng, len, amount).into_vec();
    indices.sort_unstable();
    indices
}

/// Rejects the first index that is `>= len`.
pub(crate) fn check_indices(indices: &[usize], len: usize) -> Result<(), DataError> {
    match indices.iter().find(|&&i| i >= len) {
        Some(&bad) => Err(DataError::InvalidArgument {
            name: "sample index",
            value: bad.to_string(),
            reason: format!("the dataset has {len} samples"),
        }),
        None => Ok(()),
    }
}
