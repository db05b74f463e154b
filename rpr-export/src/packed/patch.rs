//! Test support: changes one tensor payload of a valid file and seals the
//! result with fresh checksums. Tests use it to reach the checks that run
//! after the CRCs, such as the packed code validation of the reader, with
//! corrupt content.

use super::container::{Preamble, PREAMBLE_LEN};
use super::error::FormatError;
use super::reader::{self, RprFile};
use super::tensor::TensorInfo;
use super::writer;

/// Applies `patch` to the payload of tensor `name` in the valid file `bytes`
/// and returns the rebuilt file, whose tensor table CRC-32, header CRC-32 and
/// preamble CRC-32 match the new content. The result is not validated, so it
/// may fail to open, which is the purpose.
///
/// The file keeps its version. Header fields unknown to this crate are
/// dropped, because the header is decoded and encoded again.
///
/// # Errors
///
/// [`FormatError`] when `bytes` is not a valid file or has no tensor `name`.
#[doc(hidden)]
pub fn patch_tensor(bytes: Vec<u8>, name: &str, patch: impl FnOnce(&mut [u8])) -> Result<Vec<u8>, FormatError> {
    let file = RprFile::from_bytes(bytes)?;
    // Table order is file order, so sorting by offset gives table indices.
    let mut tensors: Vec<&TensorInfo> = file.tensors().collect();
    tensors.sort_by_key(|info| info.offset);
    let index = tensors
        .iter()
        .position(|info| info.name == name)
        .ok_or_else(|| FormatError::TensorNotFound { name: name.to_string() })?;

    let bytes = file.as_bytes();
    let mut payloads: Vec<Vec<u8>> =
        tensors.iter().map(|info| bytes[info.offset..info.offset + info.length].to_vec()).collect();
    patch(&mut payloads[index]);

    let mut header = reader::decode_header(bytes, &Preamble::parse(bytes)?)?;
    let table = header.tensors.get_or_insert_with(Default::default);
    table.crc32s[index] = crc32fast::hash(&payloads[index]);

    let payloads: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    writer::assemble(&header, file.version(), &payloads)
        .map_err(|error| FormatError::invalid("header", PREAMBLE_LEN as u64, error.to_string()))
}
