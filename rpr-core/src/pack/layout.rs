//! Encodings and row sizes of the packed weight layout.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::quant::Bits;

/// Number of weights per 32-bit word; rows are padded to a multiple of it.
pub const GROUP: usize = 32;

/// Returns `k` rounded up to a multiple of [`GROUP`].
///
/// # Panics
///
/// Panics in debug builds (and wraps in release builds) when `k` exceeds
/// `usize::MAX - 31`. [`super::PackedView::new`] checks sizes without panicking.
pub fn padded_k(k: usize) -> usize {
    k.div_ceil(GROUP) * GROUP
}

/// Packed weight encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Binary codes, 1 bit per weight: bit set for +1, clear for -1.
    Binary,
    /// Ternary codes, 2 bits per weight: a nonzero plane then a negative plane.
    Ternary2,
    /// Ternary codes in base 3, 5 weights per byte (1.6 bits per weight).
    Ternary3,
}

impl Encoding {
    /// Returns the code alphabet the encoding stores.
    pub fn bits(self) -> Bits {
        match self {
            Encoding::Binary => Bits::Binary,
            Encoding::Ternary2 | Encoding::Ternary3 => Bits::Ternary,
        }
    }

    /// Returns the name used in serialized form: `binary`, `ternary2` or `ternary3`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Binary => "binary",
            Encoding::Ternary2 => "ternary2",
            Encoding::Ternary3 => "ternary3",
        }
    }

    /// Returns the accepted codes, for error messages.
    pub(crate) fn alphabet(self) -> &'static str {
        match self {
            Encoding::Binary => "-1 and +1",
            Encoding::Ternary2 | Encoding::Ternary3 => "-1, 0 and +1",
        }
    }

    /// Returns whether `code` is in the alphabet.
    pub(crate) fn accepts(self, code: i8) -> bool {
        // One comparison each, with no short-circuit branch on random codes.
        match self {
            Encoding::Binary => code.unsigned_abs() == 1,
            Encoding::Ternary2 | Encoding::Ternary3 => code.unsigned_abs() <= 1,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Returns the bytes one packed row of `k` weights takes: `padded_k(k) / 8`
/// for binary, `padded_k(k) / 4` for ternary2 and `ceil(k / 5)` for ternary3.
///
/// # Panics
///
/// As [`padded_k`] for `k > usize::MAX - 31`.
pub fn row_bytes(encoding: Encoding, k: usize) -> usize {
    match encoding {
        Encoding::Binary => padded_k(k) / 8,
        Encoding::Ternary2 => padded_k(k) / 4,
        Encoding::Ternary3 => k.div_ceil(5),
    }
}

/// Returns `rows * row_bytes(encoding, k)`, or `None` when it overflows.
pub(crate) fn checked_matrix_bytes(encoding: Encoding, rows: usize, k: usize) -> Option<usize> {
    let groups = k.checked_add(GROUP - 1)? / GROUP;
    let row = match encoding {
        Encoding::Binary => groups.checked_mul(4)?,
        Encoding::Ternary2 => groups.checked_mul(8)?,
        Encoding::Ternary3 => k.div_ceil(5),
    };
    rows.checked_mul(row)
}

/// Returns the number of 32-bit words in one bit plane of a row.
pub(crate) fn plane_words(k: usize) -> usize {
    padded_k(k) / GROUP
}
