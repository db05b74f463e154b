//! Errors of the packing functions.

use thiserror::Error;

use super::Encoding;

/// Error returned by the functions in [`crate::pack`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PackError {
    /// A code is outside the encoding's alphabet.
    #[error("code {value} at row {row}, column {col} cannot be packed as {encoding}; {encoding} accepts {alphabet}")]
    InvalidCode {
        /// Row (output channel) of the code.
        row: usize,
        /// Column (reduction index) of the code.
        col: usize,
        /// The offending code.
        value: i8,
        /// Requested encoding.
        encoding: Encoding,
        /// Codes the encoding accepts, for the message.
        alphabet: &'static str,
    },
    /// The packed data has the wrong length for its shape.
    #[error("packed {encoding} matrix of {rows} rows x {k} columns needs {expected} bytes, got {actual}; the data is truncated or the shape is wrong")]
    Length {
        /// Encoding of the data.
        encoding: Encoding,
        /// Number of rows.
        rows: usize,
        /// Unpadded row length in weights.
        k: usize,
        /// Required length in bytes.
        expected: usize,
        /// Actual length in bytes.
        actual: usize,
    },
    /// The packed size of the shape does not fit in `usize`.
    #[error("packed {encoding} matrix of {rows} rows x {k} columns is too large to address")]
    SizeOverflow {
        /// Encoding of the data.
        encoding: Encoding,
        /// Number of rows.
        rows: usize,
        /// Unpadded row length in weights.
        k: usize,
    },
    /// A function that only reads one encoding got another.
    #[error("expected a {expected} matrix, got {actual}")]
    WrongEncoding {
        /// Encoding the function reads.
        expected: Encoding,
        /// Encoding it got.
        actual: Encoding,
    },
    /// A padding bit beyond column `k - 1` is set; padding must be 0.
    #[error("packed {encoding} row {row} has a set padding bit in word {word} of plane {plane}; padding bits must be 0, so the data is corrupt")]
    PaddingBitSet {
        /// Encoding of the data.
        encoding: Encoding,
        /// Row with the bad bit.
        row: usize,
        /// Bit plane: 0 for binary and the ternary nonzero plane, 1 for the ternary negative plane.
        plane: usize,
        /// Word index within the plane.
        word: usize,
    },
    /// A ternary weight has its negative bit set but its nonzero bit clear.
    #[error("packed ternary2 row {row}, column {col} is marked negative but not nonzero; the data is corrupt")]
    NegativeZero {
        /// Row of the weight.
        row: usize,
        /// Column of the weight.
        col: usize,
    },
    /// A base-3 byte is 243 or more, so it does not hold 5 trits.
    #[error("packed ternary3 row {row}, byte {byte} is {value}; base-3 bytes hold 5 trits, so they are below 243")]
    InvalidTrits {
        /// Row of the byte.
        row: usize,
        /// Byte index within the row.
        byte: usize,
        /// The offending byte.
        value: u8,
    },
    /// A base-3 padding trit beyond column `k - 1` is not digit 1 (code 0).
    #[error("packed ternary3 row {row} has padding digit {digit} at column {col}; padding trits must be digit 1 (code 0)")]
    Ternary3Padding {
        /// Row of the trit.
        row: usize,
        /// Column the trit would have.
        col: usize,
        /// The offending digit.
        digit: u8,
    },
    /// A row matrix does not match the requested convolution shape.
    #[error("row matrix of shape {rows:?} does not match conv weight shape {conv:?} (expected [O, KH*KW*I])")]
    ConvShape {
        /// Shape of the row matrix.
        rows: [usize; 2],
        /// Requested `[O, I, KH, KW]`.
        conv: [usize; 4],
    },
}
