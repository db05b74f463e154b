//! Whole-file reads with transparent gzip decompression.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::DataError;

/// First two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads `path` into memory and decompresses it if it is gzip data.
///
/// The format is detected from the content, not the extension, so a
/// decompressed file that kept its `.gz` name still loads. `description` names
/// the file in the not-found error.
pub(crate) fn read_maybe_gzip(path: &Path, description: &str) -> Result<Vec<u8>, DataError> {
    let raw = fs::read(path).map_err(|source| io_error(path, description, source))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }

    let mut decoded = Vec::new();
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut decoded)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(decoded)
}

/// Maps an I/O error, turning "not found" into [`DataError::NotFound`].
pub(crate) fn io_error(path: &Path, description: &str, source: io::Error) -> DataError {
    if source.kind() == io::ErrorKind::NotFound {
        DataError::NotFound {
            description: description.to_string(),
            path: path.to_path_buf(),
            hint: None,
        }
    } else {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
