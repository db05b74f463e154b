//! Bit-packing of binary and ternary code matrices.
//!
//! A conv weight `[O, I, KH, KW]` becomes an `O x K` code matrix with
//! [`conv_to_rows`] (`K = KH * KW * I`, input channel fastest), and [`pack`]
//! stores each row in one of three [`Encoding`]s:
//!
//! - [`Encoding::Binary`]: one bit per weight, `padded_k(K) / 32`
//!   little-endian `u32` words, bit `j` of word `w` is column `32 w + j`,
//!   set for +1 and clear for -1.
//! - [`Encoding::Ternary2`]: the nonzero plane (bit set where the code is not
//!   0) followed by the negative plane (bit set where the code is -1), each
//!   laid out like a binary row.
//! - [`Encoding::Ternary3`]: five codes per byte in base 3, digit
//!   `t = code + 1`, byte `t0 + 3 t1 + 9 t2 + 27 t3 + 81 t4`, `ceil(K / 5)`
//!   bytes per row.
//!
//! Bit-plane rows are padded with zero bits up to [`padded_k`]`(K)`, a
//! multiple of [`GROUP`] = 32 columns. docs/FORMAT.md is the normative
//! description.

mod conv;
mod error;
mod layout;
mod matrix;
mod row;

pub use conv::{
    conv_to_rows, conv_to_rows_f32, conv_to_rows_generic, rows_to_conv, try_rows_to_conv,
    try_rows_to_conv_f32, try_rows_to_conv_generic,
};
pub use error::PackError;
pub use layout::{padded_k, row_bytes, Encoding, GROUP};
pub use matrix::{pack, ternary3_to_ternary2, PackedMatrix, PackedView};
