//! Image classification datasets: loaders, normalization and augmentation.
//!
//! Loaders keep pixels as `u8` in a [`Dataset`]. Training and evaluation code
//! picks a batch of indices and converts it to normalized `f32` NCHW with
//! [`to_f32_normalized`], then optionally applies [`Augment`] with a seeded
//! generator.
//!
//! | dataset | loader | files |
//! | --- | --- | --- |
//! | Fashion-MNIST | [`load_fashion_mnist`] | IDX, plain or gzip; Debian package `dataset-fashion-mnist` by default |
//! | MNIST | [`load_mnist`] | IDX, plain or gzip |
//! | CIFAR-10 | [`load_cifar10`] | binary batches `data_batch_{1..5}.bin`, `test_batch.bin` |
//! | any | [`load_image_folder`] | one folder per class, JPEG or PNG |
//! | any | [`load_idx`] | one IDX image file and one IDX label file |

mod augment;
mod cifar;
mod dataset;
mod error;
mod idx;
mod image_folder;
mod mnist;
mod normalize;
mod read;

pub use augment::Augment;
pub use cifar::{load_cifar10, CIFAR10_CLASSES, CIFAR10_RECORD_BYTES, CIFAR10_SIZE};

pub use dataset::{subset_indices, Dataset, Split};
pub use error::DataError;
pub use idx::{load_idx, read_idx_images, read_idx_labels, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC};
pub use image_folder::{load_image_folder, IMAGE_EXTENSIONS};
pub use mnist::{
    load_fashion_mnist, load_mnist, FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_DIR, MNIST_CLASSES,
};
pub use normalize::{to_f32_normalized, try_to_f32_normalized, Normalization};
