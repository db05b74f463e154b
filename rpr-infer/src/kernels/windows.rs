//! Implicit-GEMM addressing: GEMM rows read in place from an NHWC image.
//!
//! An im2col row of a 3x3 conv copies each input pixel nine times. At batch 1
//! that copy cost more than the GEMM that reads it. With horizontal dilation
//! 1, the `KW` taps of one kernel row are `KW * C` adjacent bytes of an NHWC
//! image, already in the column order of `rpr_core::pack`. A kernel can
//! therefore read one GEMM row as `KH` runs of the image itself.
//! [`Windows`] describes where those runs lie.

use super::KernelError;

/// Placement of the receptive windows of `rows` consecutive output pixels in
/// a `u8` image.
///
/// GEMM row `i` is output pixel `first + i` of an `(n, y, x)` grid of
/// `out_h` rows of `out_w` pixels per image. Its window starts at byte
/// `n * image_step + y * row_step + x * col_step`, and its reduction columns
/// are `taps` runs of `tap_len` bytes, `tap_step` bytes apart.
///
/// An im2col matrix is the special case of one long output row:
/// `out_w = rows`, `col_step = kp`, `taps = 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// GEMM rows (output pixels) of the call.
    pub rows: usize,
    /// Grid index of row 0: `(n * out_h + y) * out_w + x`.
    pub first: usize,
    pub out_h: usize,
    pub out_w: usize,
    /// Bytes between the windows of consecutive images.
    pub image_step: usize,
    /// Bytes between the windows of consecutive output rows.
    pub row_step: usize,
    /// Bytes between the windows of horizontally adjacent output pixels.
    pub col_step: usize,
    /// Runs per window: the kernel height.
    pub taps: usize,
    /// Bytes between the starts of consecutive runs.
    pub tap_step: usize,
    /// Bytes per run: kernel width times channels, a multiple of 4.
    pub tap_len: usize,
}

/// A maximal block of GEMM rows inside one output row: their windows are
/// `col_step` bytes apart.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// GEMM row of the first pixel.
    pub row: usize,
    /// Pixels in the block.
    pub len: usize,
    /// Byte offset of the first pixel's window.
    pub offset: usize,
}

impl Windows {
    /// Describes `rows` im2col rows of `kp` bytes whose first `4 * steps` columns are read.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn im2col(rows: usize, kp: usize, steps: usize) -> Self {
        Self {
            rows,
            first: 0,
            out_h: 1,
            out_w: rows.max(1),
            image_step: 0,
            row_step: 0,
            col_step: kp,
            taps: 1,
            tap_step: 0,
            tap_len: 4 * steps,
        }
    }

    /// Byte offset of the window of grid pixel `pixel`.
    fn offset(&self, pixel: usize) -> usize {
        let per_image = self.out_h * self.out_w;
        let (n, within) = (pixel / per_image, pixel % per_image);
        n * self.image_step
            + within / self.out_w * self.row_step
            + within % self.out_w * self.col_step
    }

    /// Splits the rows at output-row boundaries, in order.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn spans(&self) -> impl Iterator<Item = Span> + '_ {
        let mut row = 0;
        std::iter::from_fn(move || {
            if row >= self.rows {
                return None;
            }
            let pixel = self.first + row;
            let len = (self.out_w - pixel % self.out_w).min(self.rows - row);
            let span = Span {
                row,
                len,
                offset: self.offset(pixel),
            };
            row += len;
            Some(span)
        })
    }

    /// Checks that every run lies inside an image of `image_len` bytes and
    /// that the runs cover a reduction of length `k`. Returns the reduction
    /// steps of 4 bytes per run.
    pub(crate) fn check(&self, image_len: usize, k: usize) -> Result<usize, KernelError> {
        let shape_error = |reason: &'static str| KernelError::Windows {
            windows: format!("{self:?}"),
            reason,
        };
        if self.out_h == 0 || self.out_w == 0 {
            return Err(shape_error("the output grid is empty"));
        }
        if !self.tap_len.is_multiple_of(4) {
            return Err(shape_error("tap_len must be a multiple of 4 bytes"));
        }
        if self.taps.checked_mul(self.tap_len) != Some(k) {
            return Err(shape_error(
                "taps * tap_len must equal the reduction length k of the weights",
            ));
        }
        if self.rows == 0 {
            return Ok(self.tap_len / 4);
        }
        let needed = self
            .last_byte()
            .ok_or_else(|| shape_error("the window offsets overflow usize"))?;
        if needed > image_len {
            return Err(KernelError::WindowsOutOfBounds {
                needed,
                actual: image_len,
            });
        }
        Ok(self.tap_len / 4)
    }

    /// Returns one past the last byte that any run reads, or `None` on overflow.
    ///
    /// Offsets grow with each of `n`, `y` and `x`, so the largest belongs to
    /// the last pixel, the pixel before its output row, or the pixel before
    /// its image, whichever of them the call covers.
    fn last_byte(&self) -> Option<usize> {
        let per_image = self.out_h.checked_mul(self.out_w)?;
        let last = self.first.checked_add(self.rows - 1)?;
        let row_start = last - last % self.out_w;
        let image_start = last - last % per_image;
        let mut largest = 0;
        for pixel in [
            Some(last),
            row_start.checked_sub(1),
            image_start.checked_sub(1),
        ]
        .into_iter()
        .flatten()
        {
            if pixel < self.first {
                continue;
            }
            let n = pixel / per_image;
            let within = pixel % per_image;
            let offset = n
                .checked_mul(self.image_step)?
                .checked_add((within / self.out_w).checked_mul(self.row_step)?)?
                .checked_add((within % self.out_w).checked_mul(self.col_step)?)?;
            largest = largest.max(offset);
        }
        let runs = (self.taps - 1)
            .checked_mul(self.tap_step)?
            .checked_add(self.tap_len)?;
        largest.checked_add(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: usize, first: usize) -> Windows {
        Windows {
            rows,
            first,
            out_h: 3,
            out_w: 4,
            image_step: 1000,
            row_step: 100,
            col_step: 10,
            taps: 2,
            tap_step: 7,
            tap_len: 4,
        }
    }

    #[test]
    fn spans_break_at_output_rows_and_images() {
        let spans: Vec<Span> = grid(9, 10).spans().collect();
        assert_eq!(
            spans,
            [
                Span {
                    row: 0,
                    len: 2,
                    offset: 220
                },
                Span {
                    row: 2,
                    len: 4,
                    offset: 1000
                },
                Span {
                    row: 6,
                    len: 3,
                    offset: 1100
                },
            ]
        );
    }

    #[test]
    fn last_byte_is_the_largest_window_end() {
        for first in 0..24 {
            for rows in 1..20 {
                let w = grid(rows, first);
                let brute = (first..first + rows).map(|p| w.offset(p)).max().unwrap() + 7 + 4;
                assert_eq!(w.last_byte(), Some(brute), "first {first} rows {rows}");
            }
        }
    }

    #[test]
    fn check_rejects_bad_geometry() {
        let w = grid(5, 3);
        assert_eq!(w.check(10_000, 8), Ok(1));
        assert!(matches!(
            w.check(10_000, 12),
            Err(KernelError::Windows { .. })
        ));
        assert_eq!(w.check(141, 8), Ok(1));
        assert!(matches!(
            w.check(140, 8),
            Err(KernelError::WindowsOutOfBounds {
                needed: 141,
                actual: 140
            })
        ));
        let odd = Windows { tap_len: 6, ..w };
        assert!(matches!(
            odd.check(10_000, 12),
            Err(KernelError::Windows { .. })
        ));
        let huge = Windows {
            image_step: usize::MAX / 2,
            first: 20,
            ..w
        };
        assert!(matches!(
            huge.check(10_000, 8),
            Err(KernelError::Windows { .. })
        ));
    }

    #[test]
    fn im2col_is_one_long_row() {
        let w = Windows::im2col(5, 32, 3);
        assert_eq!(
            w.spans().collect::<Vec<_>>(),
            [Span {
                row: 0,
                len: 5,
                offset: 0
            }]
        );
        assert_eq!(w.check(5 * 32, 12), Ok(3));
        assert!(w.check(4 * 32 + 11, 12).is_err());
    }
}
