//! Fixed-size preamble of a `.rpr` file and the layout constants.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  89 52 50 52 0D 0A 1A 0A  ("\x89RPR\r\n\x1a\n")
//!      8     2  format major version, u16 LE
//!     10     2  format minor version, u16 LE
//!     12     4  header length in bytes, u32 LE
//!     16     4  CRC-32 of the header, u32 LE
//!     20     8  total file length in bytes, u64 LE
//!     28     4  CRC-32 of bytes 0..28, u32 LE
//!     32     .  header (prost `Header`), then zero padding to a multiple of 64
//!      .     .  tensor payloads, each starting at a multiple of 64
//! ```
//!
//! Only the magic and the two version fields are fixed for all versions: a
//! reader checks them first, so a newer major version is reported as such and
//! not as a corrupt preamble.

/// File signature. The high first byte and the CR LF / SUB bytes catch
/// transfers that strip the eighth bit or translate line endings.
pub const MAGIC: [u8; 8] = *b"\x89RPR\r\n\x1a\n";

/// Major version written by this crate. Readers reject files with a larger major.
pub const FORMAT_MAJOR: u16 = 1;

/// Minor version written by this crate. A newer minor only adds optional content.
pub const FORMAT_MINOR: u16 = 0;

/// Size of the preamble in bytes.
pub const PREAMBLE_LEN: usize = 32;

/// Alignment of every tensor payload, in bytes. 64 covers a cache line and
/// the widest SIMD load (AVX-512), so kernels can read weights in place.
pub const ALIGN: u64 = 64;

/// Largest header a reader accepts, in bytes. The header of ResNet-50 is
/// about 100 KiB, so this leaves room while bounding the allocation that a
/// hostile length field can cause.
pub const MAX_HEADER_LEN: u32 = 64 << 20;

/// Decoded preamble fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preamble {
    pub major: u16,
    pub minor: u16,
    pub header_len: u32,
    pub header_crc32: u32,
    pub file_len: u64,
}

impl Preamble {
    /// Serializes the preamble, including its own checksum.
    pub fn to_bytes(&self) -> [u8; PREAMBLE_LEN] {
        let mut bytes = [0u8; PREAMBLE_LEN];
        bytes[0..8].copy_from_slice(&MAGIC);
        bytes[8..10].copy_from_slice(&self.major.to_le_bytes());
        bytes[10..12].copy_from_slice(&self.minor.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.header_len.to_le_bytes());
        bytes[16..20].copy_from_slice(&self.header_crc32.to_le_bytes());
        bytes[20..28].copy_from_slice(&self.file_len.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..28]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
        bytes
    }
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
