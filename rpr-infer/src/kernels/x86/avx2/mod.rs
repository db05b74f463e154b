//! AVX2 kernels. AVX2 has no mask registers, so the weight bit planes are
//! expanded into byte or lane masks with a shuffle and a compare.

pub(crate) mod binary_b1;
pub(crate) mod float;
pub(crate) mod u8_addsub;
pub(crate) mod u8_dot;

use std::arch::x86_64::*;

/// Expands 32 bits into 32 bytes: byte `i` is 0xFF when bit `i` is set.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn expand_bits_epi8(bits: u32) -> __m256i {
    let broadcast = _mm256_set1_epi32(bits as i32);
    // Byte `i` takes source byte `i / 8`; both 128-bit lanes hold all 4 bytes.
    let spread = _mm256_shuffle_epi8(
        broadcast,
        _mm256_setr_epi8(
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
            3, 3, 3,
        ),
    );
    // Bytes 0x01, 0x02, ..., 0x80, repeated: byte `i` tests bit `i % 8`.
    let select = _mm256_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
    _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select)
}

/// Expands 8 bits into 8 `i32` lanes: lane `i` is all ones when bit `i` is set.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn expand_bits_epi32(bits: u8) -> __m256i {
    let select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    let broadcast = _mm256_set1_epi32(i32::from(bits));
    _mm256_cmpeq_epi32(_mm256_and_si256(broadcast, select), select)
}

/// Sum of the 8 `i32` lanes.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn hsum_epi32(v: __m256i) -> i32 {
    let x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let x = _mm_add_epi32(x, _mm_shuffle_epi32::<0b01_00_11_10>(x));
    let x = _mm_add_epi32(x, _mm_shuffle_epi32::<0b10_11_00_01>(x));
    _mm_cvtsi128_si32(x)
}

/// Sum of the 4 `i64` lanes.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn hsum_epi64(v: __m256i) -> i64 {
    let x = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let x = _mm_add_epi64(x, _mm_unpackhi_epi64(x, x));
    _mm_cvtsi128_si64(x)
}

/// Sum of the 8 `f32` lanes.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn hsum_ps(v: __m256) -> f32 {
    let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    let x = _mm_add_ss(x, _mm_movehdup_ps(x));
    _mm_cvtss_f32(x)
}

/// Reads the little-endian `u32` at byte offset `offset` of `ptr`.
///
/// # Safety
/// `ptr + offset .. + 4` must be readable.
#[inline(always)]
pub(crate) unsafe fn read_word(ptr: *const u8, offset: usize) -> u32 {
    // SAFETY: guaranteed by the caller.
    u32::from_le(unsafe { ptr.add(offset).cast::<u32>().read_unaligned() })
}
