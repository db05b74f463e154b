//! Reader for the IDX format of MNIST and Fashion-MNIST.
//!
//! An IDX file is a big-endian `u32` magic number `0x0000_08NN` (`0x08` = the
//! `u8` element type, `NN` = number of dimensions), one big-endian `u32` size
//! per dimension, then the elements in row-major order. Image files have
//! three dimensions `[n, rows, cols]` and label files one `[n]`.

use std::path::Path;

use ndarray::Array4;

use super::read::read_maybe_gzip;
use super::{DataError, Dataset};

/// Magic number of a `u8` IDX file with three dimensions (images), decimal 2051.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;

/// Magic number of a `u8` IDX file with one dimension (labels), decimal 2049.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Loads an image file and a label file in IDX format, plain or gzip.
///
/// Images become `[n, 1, rows, cols]`. The classes are named `"0"` up to the
/// largest label, because the IDX format stores no class names. Loaders of
/// named datasets replace them, see
/// [`load_fashion_mnist`](super::load_fashion_mnist).
///
/// Checks the magic numbers, that the payload length matches the header
/// dimensions and that both files contain the same number of samples.
pub fn load_idx(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let pixels = read_idx_images(images, "IDX images")?;
    let label_values = read_idx_labels(labels, "IDX labels")?;
    let dataset = pair(images, pixels, labels, label_values)?;
    let max_label = dataset.labels.iter().copied().max().map_or(0, usize::from);
    let classes = (0..=max_label).map(|c| c.to_string()).collect();
    Ok(Dataset { classes, ..dataset })
}

/// Loads an IDX pair and checks every label against `classes`.
pub(crate) fn load_idx_named(
    images: &Path,
    labels: &Path,
    classes: &[&str],
    name: String,
) -> Result<Dataset, DataError> {
    let pixels = read_idx_images(images, "IDX images")?;
    let label_values = read_idx_labels(labels, "IDX labels")?;
    if let Some((index, &label)) = label_values
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= classes.len())
    {
        return Err(DataError::LabelOutOfRange {
            path: labels.to_path_buf(),
            index,
            label,
            classes: classes.len(),
        });
    }
    let dataset = pair(images, pixels, labels, label_values)?;
    Ok(Dataset {
        classes: classes.iter().map(|c| c.to_string()).collect(),
        name,
        ..dataset
    })
}

/// Reads an IDX image file into `[n, 1, rows, cols]`. `description` names
/// the file in the not-found error.
pub fn read_idx_images(path: &Path, description: &str) -> Result<Array4<u8>, DataError> {
    let mut bytes = read_maybe_gzip(path, description)?;
    let dims = parse_header(path, &bytes, IDX_IMAGES_MAGIC, "images")?;
    let [count, rows, cols] = [dims[0], dims[1], dims[2]];
    if rows == 0 || cols == 0 {
        return Err(DataError::InvalidHeader {
            path: path.to_path_buf(),
            reason: format!("image size {rows}x{cols} has a zero dimension"),
        });
    }

    bytes.drain(..header_len(3));
    Array4::from_shape_vec((count, 1, rows, cols), bytes).map_err(|e| DataError::InvalidHeader {
        path: path.to_path_buf(),
        reason: format!("payload does not fit [{count}, 1, {rows}, {cols}]: {e}"),
    })
}

/// Reads an IDX label file. `description` names the file in the not-found
/// error.
pub fn read_idx_labels(path: &Path, description: &str) -> Result<Vec<u8>, DataError> {
    let mut bytes = read_maybe_gzip(path, description)?;
    parse_header(path, &bytes, IDX_LABELS_MAGIC, "labels")?;
    bytes.drain(..header_len(1));
    Ok(bytes)
}

fn pair(
    images_path: &Path,
    images: Array4<u8>,
    labels_path: &Path,
    labels: Vec<u8>,
) -> Result<Dataset, DataError> {
    let count = images.dim().0;
    if count != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            images: count,
            labels_path: labels_path.to_path_buf(),
            labels: labels.len(),
        });
    }
    Ok(Dataset {
        images,
        labels,
        classes: Vec::new(),
        name: images_path.display().to_string(),
    })
}

fn header_len(ndims: usize) -> usize {
    4 + 4 * ndims
}

/// Checks the magic number and the total length, and returns the dimensions.
fn parse_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    kind: &'static str,
) -> Result<Vec<usize>, DataError> {
    let ndims = (magic & 0xff) as usize;
    let header = header_len(ndims);
    let truncated = |expected: u64| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: bytes.len() as u64,
    };

    if bytes.len() < 4 {
        return Err(truncated(header as u64));
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        return Err(DataError::WrongMagic {
            path: path.to_path_buf(),
            found,
            expected: magic,
            kind,
        });
    }
    if bytes.len() < header {
        return Err(truncated(header as u64));
    }

    let dims: Vec<usize> = (0..ndims)
        .map(|d| be_u32(bytes, 4 + 4 * d) as usize)
        .collect();
    // u64 arithmetic so that a corrupt header cannot overflow on 32-bit targets.
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|payload| payload.checked_add(header as u64))
        .ok_or_else(|| DataError::InvalidHeader {
            path: path.to_path_buf(),
            reason: format!("dimensions {dims:?} overflow a 64-bit byte count"),
        })?;
    let found_len = bytes.len() as u64;
    if found_len < expected {
        return Err(truncated(expected));
    }
    if found_len > expected {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
            found: found_len,
        });
    }
    Ok(dims)
}

fn be_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}
