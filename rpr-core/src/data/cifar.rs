//! CIFAR-10 in its binary version (`cifar-10-binary.tar.gz`).
//!
//! Each batch file is a sequence of 3073-byte records: one label byte, then
//! the 32x32 red plane, green plane and blue plane, each row-major. That is
//! already the CHW order of [`Dataset::images`].

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::Array4;

use super::read::{io_error, read_maybe_gzip};
use super::{DataError, Dataset, Split};

/// Side length of a CIFAR-10 image.
pub const CIFAR10_SIZE: usize = 32;

/// Bytes per CIFAR-10 record: one label byte and 3 x 32 x 32 pixels.
pub const CIFAR10_RECORD_BYTES: usize = 1 + 3 * CIFAR10_SIZE * CIFAR10_SIZE;

/// The ten CIFAR-10 class names, indexed by label, as in `batches.meta.txt`.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Loads one split of CIFAR-10 from the binary batch files.
///
/// `root` is the folder with `data_batch_1.bin` ... `data_batch_5.bin` and
/// `test_batch.bin`, or its parent that contains `cifar-10-batches-bin` as the
/// archive unpacks. Class names come from `batches.meta.txt` when present,
/// else from [`CIFAR10_CLASSES`].
pub fn load_cifar10(root: &Path, split: Split) -> Result<Dataset, DataError> {
    let folder = batch_folder(root);
    let files: Vec<PathBuf> = match split {
        Split::Train => (1..=5)
            .map(|i| folder.join(format!("data_batch_{i}.bin")))
            .collect(),
        Split::Test => vec![folder.join("test_batch.bin")],
    };
    let classes = read_class_names(&folder)?;

    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for file in &files {
        read_batch(file, classes.len(), &mut pixels, &mut labels)?;
    }

    let count = labels.len();
    let images = Array4::from_shape_vec((count, 3, CIFAR10_SIZE, CIFAR10_SIZE), pixels)
        .expect("each record adds exactly 3 x 32 x 32 pixels");
    Ok(Dataset {
        images,
        labels,
        classes,
        name: format!("cifar10/{}", split.as_str()),
    })
}

/// `root/cifar-10-batches-bin` if it exists, else `root`.
fn batch_folder(root: &Path) -> PathBuf {
    let nested = root.join("cifar-10-batches-bin");
    if nested.is_dir() {
        nested
    } else {
        root.to_path_buf()
    }
}

/// Appends the records of one batch file, checking size and labels.
fn read_batch(
    path: &Path,
    num_classes: usize,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<(), DataError> {
    let bytes = read_maybe_gzip(path, "CIFAR-10 batch").map_err(|e| match e {
        DataError::NotFound {
            description, path, ..
        } => DataError::NotFound {
            description,
            path,
            hint: Some(
                "Download the binary version (cifar-10-binary.tar.gz), unpack it and pass the \
                 folder that contains cifar-10-batches-bin"
                    .to_string(),
            ),
        },
        other => other,
    })?;
    if bytes.is_empty() || bytes.len() % CIFAR10_RECORD_BYTES != 0 {
        return Err(DataError::PartialRecord {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            record: CIFAR10_RECORD_BYTES,
        });
    }

    let first = labels.len();
    for (index, record) in bytes.chunks_exact(CIFAR10_RECORD_BYTES).enumerate() {
        let label = record[0];
        if usize::from(label) >= num_classes {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
                classes: num_classes,
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    tracing::debug!(path = %path.display(), records = labels.len() - first, "read CIFAR-10 batch");
    Ok(())
}

/// Class names from `batches.meta.txt` (one per non-empty line), or the
/// built-in names when the file is absent.
fn read_class_names(folder: &Path) -> Result<Vec<String>, DataError> {
    let path = folder.join("batches.meta.txt");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(CIFAR10_CLASSES.iter().map(|c| c.to_string()).collect());
        }
        Err(e) => return Err(io_error(&path, "CIFAR-10 class names", e)),
    };

    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != CIFAR10_CLASSES.len() {
        return Err(DataError::InvalidHeader {
            path,
            reason: format!(
                "expected {} class names, one per line, found {}",
                CIFAR10_CLASSES.len(),
                names.len()
            ),
        });
    }
    Ok(names)
}
