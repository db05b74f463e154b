//! Argument checks shared by every kernel's safe entry point.
//!
//! The SIMD code reads whole 32-bit words and whole vectors without bounds
//! checks, so everything it relies on is verified here first: buffer lengths,
//! the weight encoding, padding that must be zero, and ternary codes that are
//! well formed.

use rpr_core::pack::{padded_k, Encoding, PackedView, GROUP};

use super::{ConvOutput, KernelError, Windows};

/// Maximum reduction length `k`, chosen so that a sum of `k` products of a
/// `u8` and a code in {-1, 0, +1} fits in an `i32`: `255 * MAX_K < 2^31`.
pub const MAX_K: usize = 1 << 23;

/// Geometry of one checked GEMM call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dims {
    /// Activation rows (output rows).
    pub p: usize,
    /// Weight rows (output columns).
    pub o: usize,
    /// Reduction length without padding.
    pub k: usize,
    /// Reduction length padded to a multiple of [`GROUP`].
    pub kp: usize,
    /// `u32` words in one bit plane of a weight row: `kp / 32`.
    pub words: usize,
    /// Bytes in one packed weight row.
    pub row_bytes: usize,
    /// Distance between consecutive output rows, in elements.
    pub stride: usize,
}

impl Dims {
    /// Byte range of weight row `j`.
    pub fn weight_row<'a>(&self, data: &'a [u8], j: usize) -> &'a [u8] {
        &data[j * self.row_bytes..(j + 1) * self.row_bytes]
    }
}

/// Reads the little-endian `u32` word `index` of a packed row.
#[inline]
pub(crate) fn word(row: &[u8], index: usize) -> u32 {
    let b = &row[4 * index..4 * index + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Mask of the valid bits in word `index` of a row with `k` valid columns.
#[inline]
pub(crate) fn valid_bits(k: usize, index: usize) -> u32 {
    let start = index * 32;
    if k >= start + 32 {
        u32::MAX
    } else if k <= start {
        0
    } else {
        (1u32 << (k - start)) - 1
    }
}

/// Checks the packed weights (lengths and codes) and returns the geometry
/// without the output.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn weight_checks(
    kernel: &'static str,
    w: &PackedView<'_>,
    expected: Encoding,
) -> Result<Dims, KernelError> {
    check_weights(kernel, w, expected)
}

/// Checks the packed weights and returns the geometry without the output.
fn check_weights(
    kernel: &'static str,
    w: &PackedView<'_>,
    expected: Encoding,
) -> Result<Dims, KernelError> {
    let dims = weight_geometry(kernel, w, expected)?;
    match expected {
        Encoding::Ternary2 => check_ternary_planes(&dims, w.data)?,
        _ => check_binary_padding(&dims, w.data)?,
    }
    Ok(dims)
}

/// Checks the encoding and the length of the packed weights, in constant time.
fn weight_geometry(
    kernel: &'static str,
    w: &PackedView<'_>,
    expected: Encoding,
) -> Result<Dims, KernelError> {
    if w.encoding != expected {
        return Err(KernelError::WrongEncoding {
            kernel,
            expected,
            actual: w.encoding,
        });
    }
    if w.k > MAX_K {
        return Err(KernelError::ReductionTooLong { k: w.k, max: MAX_K });
    }
    let kp = padded_k(w.k);
    let words = kp / GROUP;
    let row_bytes = match expected {
        Encoding::Binary => 4 * words,
        _ => 8 * words,
    };
    let expected_len = w.rows.checked_mul(row_bytes);
    if expected_len != Some(w.data.len()) {
        return Err(KernelError::WeightLength {
            rows: w.rows,
            k: w.k,
            expected: expected_len.unwrap_or(usize::MAX),
            actual: w.data.len(),
        });
    }
    Ok(Dims {
        p: 0,
        o: w.rows,
        k: w.k,
        kp,
        words,
        row_bytes,
        stride: w.rows,
    })
}

/// Checks that every negative bit has its nonzero bit and that padding is 0,
/// so kernels may treat the negative plane as a subset of the nonzero plane.
fn check_ternary_planes(d: &Dims, data: &[u8]) -> Result<(), KernelError> {
    for j in 0..d.o {
        let row = d.weight_row(data, j);
        for index in 0..d.words {
            let nonzero = word(row, index);
            let negative = word(row, d.words + index);
            let stray = negative & !nonzero;
            if stray != 0 {
                return Err(KernelError::InvalidTernaryCode {
                    row: j,
                    bit: 32 * index + stray.trailing_zeros() as usize,
                });
            }
            let padding = nonzero & !valid_bits(d.k, index);
            if padding != 0 {
                return Err(KernelError::WeightPadding {
                    row: j,
                    bit: 32 * index + padding.trailing_zeros() as usize,
                    k: d.k,
                });
            }
        }
    }
    Ok(())
}

/// Checks that binary padding bits are 0; the XNOR-popcount kernels mask
/// only the activations.
fn check_binary_padding(d: &Dims, data: &[u8]) -> Result<(), KernelError> {
    if d.k.is_multiple_of(32) {
        return Ok(());
    }
    let last = d.words - 1;
    for j in 0..d.o {
        let padding = word(d.weight_row(data, j), last) & !valid_bits(d.k, last);
        if padding != 0 {
            return Err(KernelError::WeightPadding {
                row: j,
                bit: 32 * last + padding.trailing_zeros() as usize,
                k: d.k,
            });
        }
    }
    Ok(())
}

fn check_output(d: &mut Dims, out_len: usize, stride: usize) -> Result<(), KernelError> {
    if stride < d.o {
        return Err(KernelError::OutputStride { o: d.o, stride });
    }
    let needed = if d.p == 0 || d.o == 0 {
        Some(0)
    } else {
        (d.p - 1)
            .checked_mul(stride)
            .and_then(|n| n.checked_add(d.o))
    };
    match needed {
        Some(n) if n <= out_len => {
            d.stride = stride;
            Ok(())
        }
        _ => Err(KernelError::OutputLength {
            p: d.p,
            o: d.o,
            stride,
            expected: needed.unwrap_or(usize::MAX),
            actual: out_len,
        }),
    }
}

fn check_activation_length(len: usize, p: usize, row_len: usize) -> Result<(), KernelError> {
    let expected = p.checked_mul(row_len);
    if expected != Some(len) {
        return Err(KernelError::ActivationLength {
            p,
            row_len,
            expected: expected.unwrap_or(usize::MAX),
            actual: len,
        });
    }
    Ok(())
}

/// Element types whose padding columns must hold zero.
pub(crate) trait PaddingValue: Copy {
    fn is_zero(self) -> bool;
}

impl PaddingValue for u8 {
    fn is_zero(self) -> bool {
        self == 0
    }
}

impl PaddingValue for f32 {
    fn is_zero(self) -> bool {
        self == 0.0
    }
}

/// Checks a call whose activations are `p` rows of `kp` elements.
pub(crate) fn check_dense<A: PaddingValue>(
    kernel: &'static str,
    encoding: Encoding,
    a: &[A],
    p: usize,
    w: &PackedView<'_>,
    out_len: usize,
    stride: usize,
) -> Result<Dims, KernelError> {
    let mut d = check_weights(kernel, w, encoding)?;
    d.p = p;
    check_activation_length(a.len(), p, d.kp)?;
    check_output(&mut d, out_len, stride)?;
    // A binary weight is never 0, so a nonzero padding activation would
    // change the result. Ternary padding weights are 0, but the check keeps
    // the contract the same for every kernel.
    for row in 0..p {
        let padding = &a[row * d.kp + d.k..(row + 1) * d.kp];
        // This check runs on every call, and a fold without an early exit
        // vectorizes. The position search runs only for the error message.
        if !padding.iter().fold(false, |any, x| any | !x.is_zero()) {
            continue;
        }
        if let Some(offset) = padding.iter().position(|x| !x.is_zero()) {
            return Err(KernelError::NonZeroPadding {
                row,
                column: d.k + offset,
                k: d.k,
            });
        }
    }
    Ok(d)
}

/// Checks a call whose activations are `p` rows of `kp / 32` bit words.
/// Padding bits of the activations are ignored by the kernels.
pub(crate) fn check_bits(
    kernel: &'static str,
    a: &[u32],
    p: usize,
    w: &PackedView<'_>,
    out_len: usize,
    stride: usize,
) -> Result<Dims, KernelError> {
    let mut d = check_weights(kernel, w, Encoding::Binary)?;
    d.p = p;
    check_activation_length(a.len(), p, d.words)?;
    check_output(&mut d, out_len, stride)?;
    Ok(d)
}

/// [`check_dense`] for ternary weights.
pub(crate) fn ternary_dense<A: PaddingValue>(
    kernel: &'static str,
    a: &[A],
    p: usize,
    w: &PackedView<'_>,
    out_len: usize,
    stride: usize,
) -> Result<Dims, KernelError> {
    check_dense(kernel, Encoding::Ternary2, a, p, w, out_len, stride)
}

/// [`check_dense`] for binary weights.
pub(crate) fn binary_dense<A: PaddingValue>(
    kernel: &'static str,
    a: &[A],
    p: usize,
    w: &PackedView<'_>,
    out_len: usize,
    stride: usize,
) -> Result<Dims, KernelError> {
    check_dense(kernel, Encoding::Binary, a, p, w, out_len, stride)
}

/// Checks an implicit-GEMM call: weight encoding and length, the windows
/// against the image, the output length and the epilogue's slices. It leaves
/// the weight codes to the one validation at program build (see
/// [`super::ConvGemmFn`]). Invalid codes would give wrong sums but no
/// out-of-bounds access. Returns the geometry and the reduction steps of 4
/// bytes per run.
// NOTE: only the AVX-512 set has implicit-GEMM kernels so far; NEON uses im2col.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn check_conv(
    kernel: &'static str,
    encoding: Encoding,
    image: &[u8],
    windows: &Windows,
    w: &PackedView<'_>,
    out: &ConvOutput<'_>,
) -> Result<(Dims, usize), KernelError> {
    let mut d = weight_geometry(kernel, w, encoding)?;
    let tap_steps = windows.check(image.len(), d.k)?;
    d.p = windows.rows;
    let stride = d.o;
    check_output(&mut d, out.len(), stride)?;
    if let Some(epilogue) = out.epilogue() {
        for (name, len) in [
            ("multiplier", epilogue.multiplier.len()),
            ("bias", epilogue.bias.len()),
        ] {
            if len != d.o {
                return Err(KernelError::ScaleLength { name, len, o: d.o });
            }
        }
        if let Some(residual) = epilogue.residual {
            if residual.len() != out.len() {
                return Err(KernelError::ResidualLength {
                    len: residual.len(),
                    expected: out.len(),
                });
            }
        }
    }
    Ok((d, tap_steps))
}
