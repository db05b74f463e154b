//! Packed weight matrices: an owned form and a borrowed view that engines
//! read in place, for example from a memory-mapped file.

use ndarray::{Array2, ArrayView1, ArrayView2};

use super::layout::{checked_matrix_bytes, plane_words};
use super::row::{decode_row, encode_row};
use super::{padded_k, row_bytes, Encoding, PackError};

/// An owned packed matrix of `rows` rows of `k` weights each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedMatrix {
    /// Encoding of `data`.
    pub encoding: Encoding,
    /// Number of rows (output channels).
    pub rows: usize,
    /// Unpadded row length in weights (reduction size `K`).
    pub k: usize,
    /// `rows * row_bytes(encoding, k)` bytes, row after row.
    pub data: Vec<u8>,
}

impl PackedMatrix {
    /// Borrows the matrix as a [`PackedView`].
    pub fn view(&self) -> PackedView<'_> {
        PackedView {
            encoding: self.encoding,
            rows: self.rows,
            k: self.k,
            data: &self.data,
        }
    }

    /// Unpacks the codes into a `rows x k` matrix.
    ///
    /// # Panics
    ///
    /// Panics if the public fields were changed so that the data is no
    /// longer a valid packing; [`PackedView::try_unpack`] returns an error
    /// instead.
    pub fn unpack(&self) -> Array2<i8> {
        self.view().unpack()
    }
}

/// A borrowed packed matrix, laid out as in [`PackedMatrix`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedView<'a> {
    /// Encoding of `data`.
    pub encoding: Encoding,
    /// Number of rows (output channels).
    pub rows: usize,
    /// Unpadded row length in weights (reduction size `K`).
    pub k: usize,
    /// `rows * row_bytes(encoding, k)` bytes, row after row.
    pub data: &'a [u8],
}

impl<'a> PackedView<'a> {
    /// Wraps packed bytes, checking only their length. Call
    /// [`PackedView::validate`] as well for data from outside the process.
    ///
    /// # Errors
    ///
    /// [`PackError::Length`] when `data` is not `rows * row_bytes(encoding, k)`
    /// bytes long, and [`PackError::SizeOverflow`] when that size overflows.
    pub fn new(
        encoding: Encoding,
        rows: usize,
        k: usize,
        data: &'a [u8],
    ) -> Result<Self, PackError> {
        let expected = checked_matrix_bytes(encoding, rows, k).ok_or(PackError::SizeOverflow {
            encoding,
            rows,
            k,
        })?;
        if data.len() != expected {
            return Err(PackError::Length {
                encoding,
                rows,
                k,
                expected,
                actual: data.len(),
            });
        }
        Ok(Self {
            encoding,
            rows,
            k,
            data,
        })
    }

    /// Returns the padded row length in weights, [`padded_k`]`(k)`.
    pub fn k_padded(&self) -> usize {
        padded_k(self.k)
    }

    /// Returns the number of 32-bit words in one bit plane of a row
    /// (`k_padded() / 32`; bit-plane encodings only).
    pub fn words_per_plane(&self) -> usize {
        plane_words(self.k)
    }

    /// Returns the bytes of one row.
    ///
    /// # Panics
    ///
    /// Panics if `r >= rows`, or if the fields were changed after
    /// [`PackedView::new`] so that `data` is too short.
    pub fn row(&self, r: usize) -> &'a [u8] {
        let bytes = row_bytes(self.encoding, self.k);
        &self.data[r * bytes..(r + 1) * bytes]
    }

    /// Checks every row: codes decodable, padding bits and trits as the
    /// format requires.
    ///
    /// # Errors
    ///
    /// [`PackError::Length`] or [`PackError::SizeOverflow`] as in
    /// [`PackedView::new`], then the first of [`PackError::PaddingBitSet`],
    /// [`PackError::NegativeZero`], [`PackError::InvalidTrits`] and
    /// [`PackError::Ternary3Padding`] found, naming the row.
    pub fn validate(&self) -> Result<(), PackError> {
        Self::new(self.encoding, self.rows, self.k, self.data)?;
        let mut codes = vec![0i8; self.k];
        for r in 0..self.rows {
            decode_row(self.encoding, r, self.row(r), &mut codes)?;
        }
        Ok(())
    }

    /// Unpacks the codes into a `rows x k` matrix, validating as it goes.
    ///
    /// # Errors
    ///
    /// As [`PackedView::validate`].
    pub fn try_unpack(&self) -> Result<Array2<i8>, PackError> {
        Self::new(self.encoding, self.rows, self.k, self.data)?;
        let mut codes = Array2::<i8>::zeros((self.rows, self.k));
        let mut row_codes = vec![0i8; self.k];
        for r in 0..self.rows {
            decode_row(self.encoding, r, self.row(r), &mut row_codes)?;
            codes.row_mut(r).assign(&ArrayView1::from(&row_codes));
        }
        Ok(codes)
    }

    /// Unpacks the codes into a `rows x k` matrix.
    ///
    /// # Panics
    ///
    /// Panics if the data fails [`PackedView::validate`]; use
    /// [`PackedView::try_unpack`] for data from outside the process.
    pub fn unpack(&self) -> Array2<i8> {
        match self.try_unpack() {
            Ok(codes) => codes,
            Err(error) => panic!("unpack of an invalid packed matrix: {error}"),
        }
    }
}

/// Packs a `rows x k` code matrix (one output channel per row).
///
/// # Errors
///
/// [`PackError::InvalidCode`] with the row, column and value of the first code
/// outside the encoding's alphabet: binary accepts -1 and +1, the ternary
/// encodings -1, 0 and +1.
pub fn pack(codes: ArrayView2<i8>, encoding: Encoding) -> Result<PackedMatrix, PackError> {
    let (rows, k) = codes.dim();
    let bytes = row_bytes(encoding, k);
    let mut data = vec![0u8; rows * bytes];
    let mut row_codes = Vec::with_capacity(k);
    for r in 0..rows {
        let out = &mut data[r * bytes..(r + 1) * bytes];
        let row = codes.row(r);
        if let Some(contiguous) = row.to_slice() {
            encode_row(encoding, r, contiguous, out)?;
        } else {
            row_codes.clear();
            row_codes.extend(row.iter().copied());
            encode_row(encoding, r, &row_codes, out)?;
        }
    }
    Ok(PackedMatrix {
        encoding,
        rows,
        k,
        data,
    })
}

/// Expands a base-3 matrix into the 2-bit ternary layout that the engine
/// kernels read.
///
/// # Errors
///
/// [`PackError::WrongEncoding`] unless `view` is [`Encoding::Ternary3`], and
/// the errors of [`PackedView::validate`] for corrupt data.
pub fn ternary3_to_ternary2(view: PackedView) -> Result<PackedMatrix, PackError> {
    if view.encoding != Encoding::Ternary3 {
        return Err(PackError::WrongEncoding {
            expected: Encoding::Ternary3,
            actual: view.encoding,
        });
    }
    PackedView::new(view.encoding, view.rows, view.k, view.data)?;

    let out_bytes = row_bytes(Encoding::Ternary2, view.k);
    let mut data = vec![0u8; view.rows * out_bytes];
    let mut codes = vec![0i8; view.k];
    for r in 0..view.rows {
        decode_row(Encoding::Ternary3, r, view.row(r), &mut codes)?;
        let out = &mut data[r * out_bytes..(r + 1) * out_bytes];
        encode_row(Encoding::Ternary2, r, &codes, out)?;
    }
    Ok(PackedMatrix {
        encoding: Encoding::Ternary2,
        rows: view.rows,
        k: view.k,
        data,
    })
}
