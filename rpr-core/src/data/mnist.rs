//! MNIST and Fashion-MNIST: 28x28 grayscale images in IDX files.

use std::path::{Path, PathBuf};

use super::idx::load_idx_named;
use super::{DataError, Dataset, Split};

/// Folder where the Debian package `dataset-fashion-mnist` installs the four
/// gzip-compressed IDX files.
pub const FASHION_MNIST_DEFAULT_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The ten Fashion-MNIST class names, indexed by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The ten MNIST class names (the digits), indexed by label.
pub const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Loads one split of Fashion-MNIST.
///
/// `root` is a folder with the standard file names
/// (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`), each plain or with
/// `.gz`. The subfolder `FashionMNIST/raw` that torchvision downloads into is
/// searched as well. `None` means [`FASHION_MNIST_DEFAULT_DIR`]. A missing
/// file gives [`DataError::NotFound`] telling the user how to install the
/// data.
pub fn load_fashion_mnist(split: Split, root: Option<&Path>) -> Result<Dataset, DataError> {
    let root = root.unwrap_or(Path::new(FASHION_MNIST_DEFAULT_DIR));
    let hint = format!(
        "Install the Debian package with `apt-get install dataset-fashion-mnist` (files go to \
         {FASHION_MNIST_DEFAULT_DIR}), or pass --data-dir with a folder that contains the four \
         Fashion-MNIST IDX files"
    );
    let files = IdxPair::find(root, &["FashionMNIST/raw"], split, "Fashion-MNIST", &hint)?;
    tracing::debug!(
        images = %files.images.display(),
        labels = %files.labels.display(),
        "loading Fashion-MNIST"
    );
    let name = format!("fashion-mnist/{}", split.as_str());
    load_idx_named(&files.images, &files.labels, &FASHION_MNIST_CLASSES, name)
}

/// Loads one split of MNIST from `root`, which contains the standard IDX file
/// names, plain or with `.gz`. The torchvision subfolder `MNIST/raw` is
/// searched as well.
pub fn load_mnist(root: &Path, split: Split) -> Result<Dataset, DataError> {
    let hint = "Pass a folder that contains the four MNIST IDX files".to_string();
    let files = IdxPair::find(root, &["MNIST/raw"], split, "MNIST", &hint)?;
    let name = format!("mnist/{}", split.as_str());
    load_idx_named(&files.images, &files.labels, &MNIST_CLASSES, name)
}

/// Paths of the image and label file of one split.
struct IdxPair {
    images: PathBuf,
    labels: PathBuf,
}

impl IdxPair {
    /// Locates the split's two files under `root` or one of its `subdirs`.
    fn find(
        root: &Path,
        subdirs: &[&str],
        split: Split,
        dataset: &str,
        hint: &str,
    ) -> Result<IdxPair, DataError> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let folders: Vec<PathBuf> = std::iter::once(root.to_path_buf())
            .chain(subdirs.iter().map(|sub| root.join(sub)))
            .collect();
        let locate = |stem: String, description: String| {
            find_plain_or_gz(&folders, &stem).ok_or_else(|| DataError::NotFound {
                description,
                path: root.join(format!("{stem}[.gz]")),
                hint: Some(hint.to_string()),
            })
        };

        let images = locate(
            format!("{prefix}-images-idx3-ubyte"),
            format!("{dataset} {} images", split.as_str()),
        )?;
        let labels = locate(
            format!("{prefix}-labels-idx1-ubyte"),
            format!("{dataset} {} labels", split.as_str()),
        )?;
        Ok(IdxPair { images, labels })
    }
}

/// First existing `folder/stem` or `folder/stem.gz`, folders in order.
fn find_plain_or_gz(folders: &[PathBuf], stem: &str) -> Option<PathBuf> {
    folders
        .iter()
        .flat_map(|folder| [folder.join(stem), folder.join(format!("{stem}.gz"))])
        .find(|path| path.is_file())
}
