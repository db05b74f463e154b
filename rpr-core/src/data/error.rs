//! Errors of the dataset loaders.

use std::io;
use std::path::PathBuf;

/// Failure to load, check or convert a dataset. Every variant that comes from
/// a file names that file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder that the loader needs does not exist.
    #[error("{} not found: {}{}", .description, .path.display(), hint_suffix(.hint))]
    NotFound {
        /// Description of the file, for example "Fashion-MNIST test images".
        description: String,
        /// The path that was tried.
        path: PathBuf,
        /// Suggested fix, when the loader has one.
        hint: Option<String>,
    },

    /// Reading or decompressing a file failed.
    #[error("failed to read {}: {source}", .path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// An IDX file starts with the magic number of another IDX type.
    #[error(
        "wrong IDX magic number 0x{found:08x} in {}: expected 0x{expected:08x} ({kind})",
        .path.display()
    )]
    WrongMagic {
        /// The IDX file.
        path: PathBuf,
        /// The magic number read from the file.
        found: u32,
        /// The magic number of the expected IDX type.
        expected: u32,
        /// `images` or `labels`.
        kind: &'static str,
    },

    /// A file is shorter than its header or record structure requires.
    #[error("truncated {}: expected {expected} bytes, found {found}", .path.display())]
    Truncated {
        /// The file, or the gzip file whose decompressed content is short.
        path: PathBuf,
        /// Byte count that the header implies.
        expected: u64,
        /// Byte count actually present (after decompression).
        found: u64,
    },

    /// A file has bytes after the end that its header declares.
    #[error(
        "trailing data in {}: expected {expected} bytes, found {found}; the file is \
         corrupt or not of the expected type",
        .path.display()
    )]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// Byte count that the header implies.
        expected: u64,
        /// Byte count actually present (after decompression).
        found: u64,
    },

    /// A header field contains an impossible value.
    #[error("invalid header in {}: {reason}", .path.display())]
    InvalidHeader {
        /// The file.
        path: PathBuf,
        /// Name of the invalid field and the reason it is invalid.
        reason: String,
    },

    /// The image file and the label file describe different sample counts.
    #[error(
        "count mismatch: {} has {images} images but {} has {labels} labels",
        .images_path.display(),
        .labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images in it.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels in it.
        labels: usize,
    },

    /// A label is not a valid class index.
    #[error(
        "label {label} of sample {index} in {} is out of range: the dataset has {classes} classes",
        .path.display()
    )]
    LabelOutOfRange {
        /// The file with the label.
        path: PathBuf,
        /// Sample index within that file.
        index: usize,
        /// The label value.
        label: u8,
        /// Number of classes of the dataset.
        classes: usize,
    },

    /// A CIFAR-10 batch file is not a whole number of records.
    #[error(
        "invalid CIFAR-10 batch {}: {len} bytes is not a multiple of the {record}-byte record; \
         expected the binary version of CIFAR-10",
        .path.display()
    )]
    PartialRecord {
        /// The batch file.
        path: PathBuf,
        /// Its length in bytes.
        len: u64,
        /// Record size in bytes.
        record: usize,
    },

    /// An image file could not be opened or decoded.
    #[error("failed to decode image {}: {source}", .path.display())]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoder error.
        source: image::ImageError,
    },

    /// A folder that should contain samples or class folders contains none.
    #[error("empty folder {}: {reason}", .path.display())]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
        /// Description of the expected contents.
        reason: String,
    },

    /// A folder-based dataset has more classes than a `u8` label can index.
    #[error(
        "too many classes in {}: found {count}, but labels are u8 and allow at most 256",
        .path.display()
    )]
    TooManyClasses {
        /// The dataset root.
        path: PathBuf,
        /// Number of class folders found.
        count: usize,
    },

    /// A caller-supplied argument is out of its valid range.
    #[error("invalid {name} {value}: {reason}")]
    InvalidArgument {
        /// Name of the argument or field.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// The valid range.
        reason: String,
    },
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) => format!(". {hint}"),
        None => String::new(),
    }
}
