//! Datasets and the batch pipeline.
//!
//! Batches are assembled on a producer thread and handed over through a
//! bounded channel, so normalization and augmentation overlap with the
//! training step. The order and augmentation of an epoch depend only on
//! `(seed, epoch)`, which makes a resumed run see the same batches as an
//! uninterrupted one.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use ndarray::Array4;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_core::data::{self, Augment, Dataset, Normalization, Split};
use tch::{Kind, Tensor};

use crate::error::{Result, TrainError};

/// Seed of the `--train-subset` / `--test-subset` selection. It is fixed, so
/// every method and seed uses the same subset.
pub const SUBSET_SEED: u64 = 0x5eed;

/// Number of batches the producer thread may prepare ahead.
const PREFETCH_BATCHES: usize = 2;

/// Supported datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    FashionMnist,
    Mnist,
    Cifar10,
    /// `DATA_DIR/train/<class>/*` and `DATA_DIR/test/<class>/*` (or `val`).
    ImageFolder,
}

impl DatasetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Mnist => "mnist",
            DatasetKind::Cifar10 => "cifar10",
            DatasetKind::ImageFolder => "imagefolder",
        }
    }
}

impl FromStr for DatasetKind {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fashion-mnist" => Ok(DatasetKind::FashionMnist),
            "mnist" => Ok(DatasetKind::Mnist),
            "cifar10" => Ok(DatasetKind::Cifar10),
            "imagefolder" => Ok(DatasetKind::ImageFolder),
            other => Err(TrainError::Config(format!(
                "unknown dataset `{other}`; expected fashion-mnist, mnist, cifar10 or imagefolder"
            ))),
        }
    }
}

/// Dataset selection and batch preprocessing.
#[derive(Clone, Debug)]
pub struct DataConfig {
    pub kind: DatasetKind,
    /// Dataset root; `None` uses the loader's default (Fashion-MNIST only).
    pub data_dir: Option<PathBuf>,
    /// Use a fixed random subset of this many training images.
    pub train_subset: Option<usize>,
    /// Use a fixed random subset of this many test images.
    pub test_subset: Option<usize>,
    /// Side length images are resized to (image folders only).
    pub image_size: usize,
    /// Color channels of image-folder datasets.
    pub image_channels: usize,
    /// Random crop after zero padding by `pad` pixels and horizontal flips.
    pub augment: Option<Augment>,
}

impl DataConfig {
    /// Fashion-MNIST from its default location, with padding-2 crops and flips.
    pub fn fashion_mnist() -> Self {
        Self {
            kind: DatasetKind::FashionMnist,
            data_dir: None,
            train_subset: None,
            test_subset: None,
            image_size: 224,
            image_channels: 3,
            augment: Some(Augment { pad: 2, flip: true }),
        }
    }
}

/// Loaded training and test splits with their preprocessing.
#[derive(Clone)]
pub struct DataSplits {
    pub train: Arc<Dataset>,
    pub test: Arc<Dataset>,
    pub normalization: Normalization,
    pub augment: Option<Augment>,
    pub kind: DatasetKind,
}

impl DataSplits {
    /// Loads both splits and applies the subset options.
    ///
    /// NOTE: only Fashion-MNIST has been trained on through this function;
    /// the MNIST, CIFAR-10 and image-folder branches are untested here.
    pub fn load(cfg: &DataConfig) -> Result<Self> {
        let (train, test, normalization) = match cfg.kind {
            DatasetKind::FashionMnist => {
                let root = cfg.data_dir.as_deref();
                (
                    data::load_fashion_mnist(Split::Train, root)?,
                    data::load_fashion_mnist(Split::Test, root)?,
                    Normalization::fashion_mnist(),
                )
            }
            DatasetKind::Mnist => {
                let root = require_dir(cfg, "mnist")?;
                (
                    data::load_mnist(&root, Split::Train)?,
                    data::load_mnist(&root, Split::Test)?,
                    Normalization::mnist(),
                )
            }
            DatasetKind::Cifar10 => {
                let root = require_dir(cfg, "cifar10")?;
                (
                    data::load_cifar10(&root, Split::Train)?,
                    data::load_cifar10(&root, Split::Test)?,
                    Normalization::cifar10(),
                )
            }
            DatasetKind::ImageFolder => {
                let root = require_dir(cfg, "imagefolder")?;
                let test_dir = if root.join("test").is_dir() { root.join("test") } else { root.join("val") };
                (
                    data::load_image_folder(&root.join("train"), cfg.image_size, cfg.image_channels)?,
                    data::load_image_folder(&test_dir, cfg.image_size, cfg.image_channels)?,
                    Normalization::imagenet(),
                )
            }
        };
        let train = match cfg.train_subset {
            Some(n) => train.subset(n, SUBSET_SEED),
            None => train,
        };
        let test = match cfg.test_subset {
            Some(n) => test.subset(n, SUBSET_SEED),
            None => test,
        };
        for split in [&train, &test] {
            if split.is_empty() {
                return Err(TrainError::Config(format!("dataset `{}` is empty", split.name)));
            }
        }
        Ok(Self {
            train: Arc::new(train),
            test: Arc::new(test),
            normalization,
            augment: cfg.augment,
            kind: cfg.kind,
        })
    }

    /// `[channels, height, width]` of one image.
    pub fn image_shape(&self) -> [usize; 3] {
        self.train.image_shape()
    }

    pub fn num_classes(&self) -> usize {
        self.train.num_classes()
    }

    /// Shuffled, augmented training batches of epoch `epoch`.
    pub fn train_batches(&self, batch_size: usize, seed: u64, epoch: usize) -> BatchStream {
        let mut rng = epoch_rng(seed, epoch);
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        order.shuffle(&mut rng);
        // A final batch of one image would make BatchNorm's batch variance
        // undefined in training mode, so it is skipped.
        if order.len() % batch_size == 1 && order.len() > 1 {
            order.pop();
        }
        BatchStream::spawn(
            Arc::clone(&self.train),
            self.normalization.clone(),
            order,
            batch_size,
            self.augment.map(|a| (a, rng)),
        )
    }

    /// Test batches in file order, without augmentation.
    pub fn test_batches(&self, batch_size: usize) -> BatchStream {
        self.batches_in_order(&self.test, batch_size)
    }

    /// Training images in file order, without augmentation (for BatchNorm
    /// re-estimation).
    pub fn train_batches_in_order(&self, batch_size: usize) -> BatchStream {
        self.batches_in_order(&self.train, batch_size)
    }

    fn batches_in_order(&self, set: &Arc<Dataset>, batch_size: usize) -> BatchStream {
        let order: Vec<usize> = (0..set.len()).collect();
        BatchStream::spawn(Arc::clone(set), self.normalization.clone(), order, batch_size, None)
    }
}

fn require_dir(cfg: &DataConfig, name: &str) -> Result<PathBuf> {
    cfg.data_dir.clone().ok_or_else(|| {
        TrainError::Config(format!("--dataset {name} needs --data-dir pointing at the dataset files"))
    })
}

/// Generator for the order and augmentation of one epoch.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
}

/// One batch: normalized NCHW f32 images and i64 labels, on the CPU.
pub struct Batch {
    pub images: Tensor,
    pub labels: Tensor,
    pub len: usize,
}

/// Batches produced by a background thread.
pub struct BatchStream {
    receiver: Receiver<Result<Batch>>,
    producer: Option<JoinHandle<()>>,
    /// Number of batches this stream yields.
    pub batches: usize,
}

impl BatchStream {
    fn spawn(
        set: Arc<Dataset>,
        normalization: Normalization,
        order: Vec<usize>,
        batch_size: usize,
        mut augment: Option<(Augment, ChaCha8Rng)>,
    ) -> Self {
        let batch_size = batch_size.max(1);
        let batches = order.len().div_ceil(batch_size);
        let (sender, receiver) = sync_channel(PREFETCH_BATCHES);
        let producer = std::thread::spawn(move || {
            for indices in order.chunks(batch_size) {
                let batch = make_batch(&set, &normalization, indices, augment.as_mut());
                // The receiver is gone when the consumer stopped early, for
                // example on an error or a divergence, so the thread ends.
                if sender.send(batch).is_err() {
                    break;
                }
            }
        });
        Self { receiver, producer: Some(producer), batches }
    }
}

impl Iterator for BatchStream {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.recv().ok()
    }
}

impl Drop for BatchStream {
    fn drop(&mut self) {
        // Closing the channel first unblocks a producer waiting to send.
        let (_, closed) = sync_channel(0);
        drop(std::mem::replace(&mut self.receiver, closed));
        if let Some(handle) = self.producer.take() {
            if handle.join().is_err() {
                tracing::error!("the batch producer thread panicked");
            }
        }
    }
}

fn make_batch(
    set: &Dataset,
    normalization: &Normalization,
    indices: &[usize],
    augment: Option<&mut (Augment, ChaCha8Rng)>,
) -> Result<Batch> {
    let mut images: Array4<f32> = data::to_f32_normalized(set, indices, normalization);
    if let Some((augment, rng)) = augment {
        augment.apply(&mut images, rng);
    }
    let shape: Vec<i64> = images.shape().iter().map(|&d| d as i64).collect();
    let flat = images.as_standard_layout();
    let slice = flat.as_slice().ok_or_else(|| TrainError::Config("batch is not contiguous".into()))?;
    let images = Tensor::from_slice(slice).reshape(&shape);
    let labels: Vec<i64> = indices.iter().map(|&i| i64::from(set.labels[i])).collect();
    let labels = Tensor::from_slice(&labels).to_kind(Kind::Int64);
    Ok(Batch { images, labels, len: indices.len() })
}
