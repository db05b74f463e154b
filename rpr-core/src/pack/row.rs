//! Encoding and decoding of one packed row. The byte layout is specified in
//! docs/FORMAT.md, section "Weight packing".

use super::layout::plane_words;
use super::{Encoding, PackError, GROUP};

/// Number of trits in one base-3 byte.
const TRITS_PER_BYTE: usize = 5;

/// Largest valid base-3 byte plus one: `3^5`.
const TRIT_BYTE_LIMIT: u8 = 243;

/// Packs the codes of row `row` into `out`, which has exactly
/// `row_bytes(encoding, codes.len())` bytes.
pub(crate) fn encode_row(
    encoding: Encoding,
    row: usize,
    codes: &[i8],
    out: &mut [u8],
) -> Result<(), PackError> {
    // A branch-free pass over all codes first, because the common case is valid.
    let all_valid = codes.iter().fold(true, |ok, &c| ok & encoding.accepts(c));
    let first_invalid = if all_valid {
        None
    } else {
        codes
            .iter()
            .enumerate()
            .find(|(_, &c)| !encoding.accepts(c))
    };
    if let Some((col, &value)) = first_invalid {
        return Err(PackError::InvalidCode {
            row,
            col,
            value,
            encoding,
            alphabet: encoding.alphabet(),
        });
    }
    match encoding {
        Encoding::Binary => encode_binary(codes, out),
        Encoding::Ternary2 => encode_ternary2(codes, out),
        Encoding::Ternary3 => encode_ternary3(codes, out),
    }
    Ok(())
}

/// Unpacks row `row` from `data` into `out` (`k` codes), rejecting set
/// padding bits, negative-but-zero ternary weights and invalid base-3 bytes.
pub(crate) fn decode_row(
    encoding: Encoding,
    row: usize,
    data: &[u8],
    out: &mut [i8],
) -> Result<(), PackError> {
    match encoding {
        Encoding::Binary => decode_binary(row, data, out),
        Encoding::Ternary2 => decode_ternary2(row, data, out),
        Encoding::Ternary3 => decode_ternary3(row, data, out),
    }
}

/// Sets bit `j` of word `w` where `predicate(codes[32 w + j])` is true and
/// writes the words little-endian into `out`.
fn encode_plane(codes: &[i8], out: &mut [u8], predicate: impl Fn(i8) -> bool) {
    out.fill(0);
    for (chunk, word_bytes) in codes.chunks(GROUP).zip(out.chunks_exact_mut(4)) {
        // Branch-free bit setting, because random codes defeat branch prediction.
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |word, (j, &c)| word | (u32::from(predicate(c)) << j));
        word_bytes.copy_from_slice(&word.to_le_bytes());
    }
}

fn encode_binary(codes: &[i8], out: &mut [u8]) {
    encode_plane(codes, out, |c| c == 1);
}

fn encode_ternary2(codes: &[i8], out: &mut [u8]) {
    let plane_bytes = plane_words(codes.len()) * 4;
    let (nonzero, negative) = out.split_at_mut(plane_bytes);
    encode_plane(codes, nonzero, |c| c != 0);
    encode_plane(codes, negative, |c| c == -1);
}

fn encode_ternary3(codes: &[i8], out: &mut [u8]) {
    for (chunk, byte) in codes.chunks(TRITS_PER_BYTE).zip(out.iter_mut()) {
        // Digit t = code + 1, least significant trit first; missing trits of
        // the last byte are digit 1 (code 0).
        let mut value = 0u8;
        for j in (0..TRITS_PER_BYTE).rev() {
            let digit = chunk.get(j).map_or(1, |&c| (c + 1) as u8);
            value = value * 3 + digit;
        }
        *byte = value;
    }
}

/// Reads word `w` of a little-endian plane.
fn read_word(plane: &[u8], w: usize) -> u32 {
    let bytes = [
        plane[4 * w],
        plane[4 * w + 1],
        plane[4 * w + 2],
        plane[4 * w + 3],
    ];
    u32::from_le_bytes(bytes)
}

/// Mask of the bits of word `w` that lie beyond column `k - 1`.
fn padding_mask(k: usize, w: usize) -> u32 {
    let valid = k.saturating_sub(w * GROUP).min(GROUP);
    if valid == GROUP {
        0
    } else {
        !0u32 << valid
    }
}

/// Checks that the padding bits of every word in a plane are 0.
fn check_plane_padding(
    encoding: Encoding,
    row: usize,
    plane_index: usize,
    plane: &[u8],
    k: usize,
) -> Result<(), PackError> {
    for w in 0..plane.len() / 4 {
        if read_word(plane, w) & padding_mask(k, w) != 0 {
            return Err(PackError::PaddingBitSet {
                encoding,
                row,
                plane: plane_index,
                word: w,
            });
        }
    }
    Ok(())
}

fn decode_binary(row: usize, data: &[u8], out: &mut [i8]) -> Result<(), PackError> {
    check_plane_padding(Encoding::Binary, row, 0, data, out.len())?;
    for (w, chunk) in out.chunks_mut(GROUP).enumerate() {
        let word = read_word(data, w);
        for (j, code) in chunk.iter_mut().enumerate() {
            *code = if (word >> j) & 1 == 1 { 1 } else { -1 };
        }
    }
    Ok(())
}

fn decode_ternary2(row: usize, data: &[u8], out: &mut [i8]) -> Result<(), PackError> {
    let k = out.len();
    let (nonzero, negative) = data.split_at(plane_words(k) * 4);
    check_plane_padding(Encoding::Ternary2, row, 0, nonzero, k)?;
    check_plane_padding(Encoding::Ternary2, row, 1, negative, k)?;
    for (w, chunk) in out.chunks_mut(GROUP).enumerate() {
        let nonzero_word = read_word(nonzero, w);
        let negative_word = read_word(negative, w);
        if negative_word & !nonzero_word != 0 {
            let j = (negative_word & !nonzero_word).trailing_zeros() as usize;
            return Err(PackError::NegativeZero {
                row,
                col: w * GROUP + j,
            });
        }
        for (j, code) in chunk.iter_mut().enumerate() {
            let magnitude = ((nonzero_word >> j) & 1) as i8;
            let sign = 1 - 2 * ((negative_word >> j) & 1) as i8;
            *code = magnitude * sign;
        }
    }
    Ok(())
}

fn decode_ternary3(row: usize, data: &[u8], out: &mut [i8]) -> Result<(), PackError> {
    let k = out.len();
    for (byte_index, &byte) in data.iter().enumerate() {
        if byte >= TRIT_BYTE_LIMIT {
            return Err(PackError::InvalidTrits {
                row,
                byte: byte_index,
                value: byte,
            });
        }
        let mut rest = byte;
        for j in 0..TRITS_PER_BYTE {
            let digit = rest % 3;
            rest /= 3;
            let col = byte_index * TRITS_PER_BYTE + j;
            if col < k {
                out[col] = digit as i8 - 1;
            } else if digit != 1 {
                return Err(PackError::Ternary3Padding { row, col, digit });
            }
        }
    }
    Ok(())
}
