//! Fixed-size preamble of a `.rpr` file and the layout constants.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  89 52 50 52 0D 0A 1A 0A  ("\x89RPR\r\n\x1a\n")
//!      8     2  format major version, u16 LE
//!     10     2  format minor version, u16 LE
//!     12     4  stored (compressed) header length in bytes, u32 LE
//!     16     4  CRC-32 of the stored header bytes, u32 LE
//!     20     8  total file length in bytes, u64 LE
//!     28     4  decoded header length in bytes, u32 LE
//!     32     4  CRC-32 of bytes 0..32, u32 LE
//!     36     .  header: prost `Header` compressed with raw DEFLATE
//!      .     .  tensor payloads, each starting at a multiple of 64
//! ```
//!
//! The magic, the two version fields and the CRC-32 of bytes 0..32 at
//! offset 32 are fixed for version 2 and every later version. Version 1 had a
//! 32-byte preamble that ends with the CRC-32 of bytes 0..28. A reader checks
//! the magic, then the checksum that covers the version, then the version:
//! a flipped bit in the version field is reported as a corrupt preamble, and
//! an intact file of another major version as a version mismatch.

use super::error::FormatError;

/// File signature. The high first byte and the CR LF / SUB bytes catch
/// transfers that strip the eighth bit or translate line endings.
pub const MAGIC: [u8; 8] = *b"\x89RPR\r\n\x1a\n";

/// Major version written and read by this crate. Readers reject files with
/// another major version.
pub const FORMAT_MAJOR: u16 = 2;

/// Minor version written by this crate. A newer minor only adds optional content.
pub const FORMAT_MINOR: u16 = 0;

/// Size of the preamble in bytes.
pub const PREAMBLE_LEN: usize = 36;

/// Alignment of every tensor payload, in bytes. 64 covers a cache line and
/// the widest SIMD load (AVX-512), so kernels can read weights in place.
pub const ALIGN: u64 = 64;

/// Largest decoded header a reader accepts, in bytes. The decoded header of
/// ResNet-50 is about 5 KiB, so this leaves room while bounding the
/// allocation that a hostile length field or DEFLATE stream can cause.
pub const MAX_HEADER_LEN: u32 = 64 << 20;

/// Decoded preamble fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preamble {
    pub major: u16,
    pub minor: u16,
    /// Length of the header as stored (compressed) in the file.
    pub header_len: u32,
    /// CRC-32 of the stored header bytes.
    pub header_crc32: u32,
    pub file_len: u64,
    /// Length of the header after decompression.
    pub decoded_header_len: u32,
}

impl Preamble {
    /// Serializes the preamble, including its own checksum.
    pub fn to_bytes(self) -> [u8; PREAMBLE_LEN] {
        let mut bytes = [0u8; PREAMBLE_LEN];
        bytes[0..8].copy_from_slice(&MAGIC);
        bytes[8..10].copy_from_slice(&self.major.to_le_bytes());
        bytes[10..12].copy_from_slice(&self.minor.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.header_len.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.header_crc32.to_le_bytes());
        bytes[20..28].copy_from_slice(&self.file_len.to_le_bytes());
        bytes[28..32].copy_from_slice(&self.decoded_header_len.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..32]);
        bytes[32..36].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Parses and checks the preamble of `bytes`: magic, checksum, version,
    /// file length and header lengths.
    pub fn parse(bytes: &[u8]) -> Result<Preamble, FormatError> {
        if bytes.len() < 12 {
            return Err(FormatError::TooShort { len: bytes.len(), min: PREAMBLE_LEN });
        }
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&bytes[0..8]);
        if magic != MAGIC {
            return Err(FormatError::BadMagic { found: magic, expected: MAGIC });
        }
        let major = read_u16(bytes, 8);
        let minor = read_u16(bytes, 10);
        check_version_checksum(bytes, major)?;
        if major != FORMAT_MAJOR {
            return Err(FormatError::UnsupportedVersion {
                file_major: major,
                file_minor: minor,
                reader_major: FORMAT_MAJOR,
                reader_minor: FORMAT_MINOR,
            });
        }

        let preamble = Preamble {
            major,
            minor,
            header_len: read_u32(bytes, 12),
            header_crc32: read_u32(bytes, 16),
            file_len: read_u64(bytes, 20),
            decoded_header_len: read_u32(bytes, 28),
        };
        if preamble.file_len != bytes.len() as u64 {
            return Err(FormatError::Length { expected: preamble.file_len, actual: bytes.len() as u64 });
        }
        if preamble.decoded_header_len > MAX_HEADER_LEN {
            return Err(FormatError::invalid(
                "preamble",
                28,
                format!(
                    "decoded header length {} exceeds the limit of {MAX_HEADER_LEN} bytes",
                    preamble.decoded_header_len
                ),
            ));
        }
        if PREAMBLE_LEN as u64 + u64::from(preamble.header_len) > bytes.len() as u64 {
            return Err(FormatError::invalid(
                "preamble",
                12,
                format!("header length {} runs past the end of the {}-byte file", preamble.header_len, bytes.len()),
            ));
        }
        Ok(preamble)
    }
}

/// Bytes covered by the preamble checksum of a version 1 file, which is
/// stored right after them.
const FORMAT_1_CHECKED_LEN: usize = 28;

/// Checks the checksum that covers the version field of `bytes`, whose magic
/// is valid and whose major version field reads `major`.
///
/// Files of version 2 and later store the CRC-32 of bytes 0..32 at offset 32.
/// A version 1 file is also accepted when its own preamble checksum (bytes
/// 0..28, stored at 28) matches, so that it gets the version error with the
/// advice to re-export. Any other mismatch is a corrupt preamble, whatever
/// the version field reads.
fn check_version_checksum(bytes: &[u8], major: u16) -> Result<(), FormatError> {
    if major == 1 && bytes.len() >= FORMAT_1_CHECKED_LEN + 4 {
        let stored = read_u32(bytes, FORMAT_1_CHECKED_LEN);
        let computed = crc32fast::hash(&bytes[..FORMAT_1_CHECKED_LEN]);
        if stored == computed {
            return Ok(());
        }
        // Too short for a later preamble, so this is a corrupt version 1 preamble.
        if bytes.len() < PREAMBLE_LEN {
            return Err(FormatError::Checksum { section: "preamble".into(), offset: 0, stored, computed });
        }
    }
    if bytes.len() < PREAMBLE_LEN {
        return Err(FormatError::TooShort { len: bytes.len(), min: PREAMBLE_LEN });
    }
    let stored = read_u32(bytes, 32);
    let computed = crc32fast::hash(&bytes[0..32]);
    if stored != computed {
        return Err(FormatError::Checksum { section: "preamble".into(), offset: 0, stored, computed });
    }
    Ok(())
}

/// Reads a little-endian `u16` at `at`; the caller guarantees the bounds.
pub(crate) fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Reads a little-endian `u32` at `at`; the caller guarantees the bounds.
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Reads a little-endian `u64` at `at`; the caller guarantees the bounds.
pub(crate) fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Rounds `offset` up to the next multiple of [`ALIGN`], or `None` on overflow.
pub fn align_up(offset: u64) -> Option<u64> {
    offset.checked_add(ALIGN - 1).map(|end| end / ALIGN * ALIGN)
}
