//! Reshaping between convolution weights `[O, I, KH, KW]` and GEMM rows
//! `[O, K]` with `K = KH * KW * I` and `k = (kh * KW + kw) * I + i`: the input
//! channel is fastest, which matches an NHWC im2col.

use ndarray::{Array2, Array4, ArrayView2, ArrayView4};

use super::PackError;

/// Reorders `[O, I, KH, KW]` weights into `[O, KH * KW * I]` rows for any
/// element type.
pub fn conv_to_rows_generic<T: Clone>(w: ArrayView4<T>) -> Array2<T> {
    let (out_channels, in_channels, kernel_h, kernel_w) = w.dim();
    let hwi = w.permuted_axes([0, 2, 3, 1]);
    let k = kernel_h * kernel_w * in_channels;
    Array2::from_shape_vec((out_channels, k), hwi.iter().cloned().collect())
        .unwrap_or_else(|_| unreachable!("an [O, KH, KW, I] array has O * KH * KW * I elements"))
}

/// Reorders `[O, KH * KW * I]` rows back into `[O, I, KH, KW]` weights for
/// any element type; `shape` is `[O, I, KH, KW]`.
///
/// # Errors
///
/// [`PackError::ConvShape`] when `rows` is not `[O, KH * KW * I]`.
pub fn try_rows_to_conv_generic<T: Clone>(
    rows: ArrayView2<T>,
    shape: [usize; 4],
) -> Result<Array4<T>, PackError> {
    let [out_channels, in_channels, kernel_h, kernel_w] = shape;
    let shape_error = || PackError::ConvShape {
        rows: [rows.nrows(), rows.ncols()],
        conv: shape,
    };
    let k = kernel_h
        .checked_mul(kernel_w)
        .and_then(|hw| hw.checked_mul(in_channels))
        .ok_or_else(shape_error)?;
    if rows.dim() != (out_channels, k) {
        return Err(shape_error());
    }

    let hwi = Array4::from_shape_vec(
        (out_channels, kernel_h, kernel_w, in_channels),
        rows.iter().cloned().collect(),
    )
    .map_err(|_| shape_error())?;
    let conv = hwi.permuted_axes([0, 3, 1, 2]);
    Ok(conv.as_standard_layout().into_owned())
}

/// Reorders `[O, I, KH, KW]` codes into `[O, KH * KW * I]` rows for [`super::pack`].
pub fn conv_to_rows(w: ArrayView4<i8>) -> Array2<i8> {
    conv_to_rows_generic(w)
}

/// Reorders `[O, I, KH, KW]` f32 weights into `[O, KH * KW * I]` rows.
pub fn conv_to_rows_f32(w: ArrayView4<f32>) -> Array2<f32> {
    conv_to_rows_generic(w)
}

/// Reorders `[O, KH * KW * I]` code rows back into `[O, I, KH, KW]`.
///
/// # Panics
///
/// Panics if `rows` is not `[O, KH * KW * I]` for `shape`; use
/// [`try_rows_to_conv`] for shapes read from files.
pub fn rows_to_conv(rows: ArrayView2<i8>, shape: [usize; 4]) -> Array4<i8> {
    match try_rows_to_conv(rows, shape) {
        Ok(conv) => conv,
        Err(error) => panic!("rows_to_conv: {error}"),
    }
}

/// Reorders `[O, KH * KW * I]` code rows back into `[O, I, KH, KW]`.
///
/// # Errors
///
/// [`PackError::ConvShape`] when `rows` is not `[O, KH * KW * I]`.
pub fn try_rows_to_conv(rows: ArrayView2<i8>, shape: [usize; 4]) -> Result<Array4<i8>, PackError> {
    try_rows_to_conv_generic(rows, shape)
}

/// Reorders `[O, KH * KW * I]` f32 rows back into `[O, I, KH, KW]`.
///
/// # Errors
///
/// [`PackError::ConvShape`] when `rows` is not `[O, KH * KW * I]`.
pub fn try_rows_to_conv_f32(
    rows: ArrayView2<f32>,
    shape: [usize; 4],
) -> Result<Array4<f32>, PackError> {
    try_rows_to_conv_generic(rows, shape)
}
