//! Expanding weight bit planes into NEON lane masks.

use std::arch::aarch64::*;

/// Expands 16 bits into 16 bytes: byte `i` is 0xFF when bit `i` is set.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) fn expand_bits_u8(bits: u16) -> uint8x16_t {
    let [low, high] = bits.to_le_bytes();
    let spread = vcombine_u8(vdup_n_u8(low), vdup_n_u8(high));
    // Byte `i` tests bit `i % 8` of its source byte.
    let select = vreinterpretq_u8_u64(vdupq_n_u64(0x8040_2010_0804_0201));
    vtstq_u8(spread, select)
}

/// Expands 4 bits into 4 `u32` lanes: lane `i` is all ones when bit `i` is set.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) fn expand_bits_u32(bits: u8) -> uint32x4_t {
    let select = vcombine_u32(vcreate_u32(0x2_0000_0001), vcreate_u32(0x8_0000_0004));
    vtstq_u32(vdupq_n_u32(u32::from(bits)), select)
}

/// Reads the little-endian `u16` at byte offset `offset` of `ptr`.
///
/// # Safety
/// `ptr + offset .. + 2` must be readable.
#[inline(always)]
pub(crate) unsafe fn read_u16(ptr: *const u8, offset: usize) -> u16 {
    // SAFETY: guaranteed by the caller.
    u16::from_le(unsafe { ptr.add(offset).cast::<u16>().read_unaligned() })
}
