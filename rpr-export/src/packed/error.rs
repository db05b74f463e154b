//! Errors of the `.rpr` reader.

use std::path::PathBuf;

/// A `.rpr` file could not be opened or failed validation. Every variant
/// that concerns file content names the section and the byte offset.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("failed to read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("not an .rpr file: {len} bytes is shorter than the {min}-byte preamble")]
    TooShort { len: usize, min: usize },

    #[error("not an .rpr file: magic number at offset 0 is {found:02x?}, expected {expected:02x?}")]
    BadMagic { found: [u8; 8], expected: [u8; 8] },

    #[error(
        "file format version {file_major}.{file_minor} is not supported by this reader \
         (format {reader_major}.{reader_minor}); {}",
        version_advice(*.file_major, *.reader_major)
    )]
    UnsupportedVersion {
        file_major: u16,
        file_minor: u16,
        reader_major: u16,
        reader_minor: u16,
    },

    #[error(
        "file needs section `{name}`, which this reader (format {reader_major}.{reader_minor}) \
         does not know; the file was written as format {file_major}.{file_minor}, so upgrade the reader"
    )]
    UnknownRequiredSection {
        name: String,
        file_major: u16,
        file_minor: u16,
        reader_major: u16,
        reader_minor: u16,
    },

    #[error("checksum mismatch in {section} at offset {offset}: stored {stored:#010x}, computed {computed:#010x}; the file is corrupt")]
    Checksum {
        section: String,
        offset: u64,
        stored: u32,
        computed: u32,
    },

    #[error("file is truncated or has trailing bytes: preamble records {expected} bytes, found {actual}")]
    Length { expected: u64, actual: u64 },

    #[error("invalid {section} at offset {offset}: {reason}")]
    Invalid {
        section: String,
        offset: u64,
        reason: String,
    },

    #[error("failed to decode the header at offset {offset}: {source}")]
    HeaderDecode {
        offset: u64,
        #[source]
        source: prost::DecodeError,
    },

    #[error("tensor `{name}` not found in the file")]
    TensorNotFound { name: String },

    #[error("tensor `{name}` is stored as {found}, but {expected} was requested")]
    WrongDType {
        name: String,
        expected: &'static str,
        found: &'static str,
    },

    #[error("the .rpr reader needs a little-endian CPU, because payloads are read in place")]
    BigEndianHost,
}

/// Returns what to do about a file of major version `file_major`.
fn version_advice(file_major: u16, reader_major: u16) -> &'static str {
    if file_major < reader_major {
        "re-export the model from its checkpoint with this version of rpr-export"
    } else {
        "upgrade the reader, or re-export the model with a matching rpr-export"
    }
}

impl FormatError {
    pub(crate) fn invalid(section: impl Into<String>, offset: u64, reason: impl Into<String>) -> Self {
        FormatError::Invalid {
            section: section.into(),
            offset,
            reason: reason.into(),
        }
    }
}
