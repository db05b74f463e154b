//! Raw DEFLATE (RFC 1951) compression of the header. Payloads are never
//! compressed, so that a board can memory-map them and read them in place.

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// miniz_oxide's highest compression level. Headers are a few KiB, so the
/// slowest level is affordable.
const LEVEL: u8 = 10;

/// Compresses `header` into one raw DEFLATE stream.
pub(crate) fn deflate(header: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(header, LEVEL)
}

/// Decompresses `stored`, which must be exactly one raw DEFLATE stream that
/// decodes to exactly `decoded_len` bytes. The output buffer has that fixed
/// size, so a hostile stream cannot allocate more.
pub(crate) fn inflate(stored: &[u8], decoded_len: usize) -> Result<Vec<u8>, String> {
    let mut decoded = vec![0u8; decoded_len];
    let mut state = Box::<DecompressorOxide>::default();
    // Without TINFL_FLAG_HAS_MORE_INPUT the input is complete, so a truncated
    // stream fails instead of asking for more.
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, consumed, written) = decompress(&mut state, stored, &mut decoded, 0, flags);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => {
            return Err(format!("DEFLATE stream decodes to more than the recorded {decoded_len} bytes"))
        }
        other => return Err(format!("invalid DEFLATE stream ({other:?}) after {consumed} of {} bytes", stored.len())),
    }
    if written != decoded_len {
        return Err(format!("DEFLATE stream decodes to {written} bytes, but the preamble records {decoded_len}"));
    }
    if consumed != stored.len() {
        return Err(format!("{} bytes follow the end of the DEFLATE stream", stored.len() - consumed));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..5000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    #[test]
    fn roundtrip_restores_bytes() {
        let original = sample();
        let stored = deflate(&original);
        assert!(stored.len() < original.len() / 4, "{} bytes stored", stored.len());
        assert_eq!(inflate(&stored, original.len()).unwrap(), original);
    }

    #[test]
    fn wrong_decoded_length_is_rejected() {
        let original = sample();
        let stored = deflate(&original);
        let longer = inflate(&stored, original.len() + 1).unwrap_err();
        assert!(longer.contains("preamble records"), "{longer}");
        let shorter = inflate(&stored, original.len() - 1).unwrap_err();
        assert!(shorter.contains("more than the recorded"), "{shorter}");
    }

    #[test]
    fn truncated_and_trailing_streams_are_rejected() {
        let original = sample();
        let stored = deflate(&original);
        let truncated = inflate(&stored[..stored.len() - 3], original.len()).unwrap_err();
        assert!(truncated.contains("invalid DEFLATE stream"), "{truncated}");
        let mut trailing = stored.clone();
        trailing.push(0);
        let error = inflate(&trailing, original.len()).unwrap_err();
        assert!(error.contains("follow the end"), "{error}");
    }
}
