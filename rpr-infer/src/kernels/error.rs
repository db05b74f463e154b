//! Errors that the safe kernel entry points return for invalid arguments.

use rpr_core::pack::Encoding;

/// Invalid kernel arguments, detected before any SIMD code runs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    #[error("kernel {kernel} expects {expected:?} weights, got {actual:?}; expand base-3 weights with ternary3_to_ternary2 at load")]
    WrongEncoding {
        kernel: &'static str,
        expected: Encoding,
        actual: Encoding,
    },
    #[error("packed weights have {actual} bytes, expected {expected} for {rows} rows of k = {k}")]
    WeightLength {
        rows: usize,
        k: usize,
        expected: usize,
        actual: usize,
    },
    #[error("activations have {actual} elements, expected {expected} ({p} rows of {row_len})")]
    ActivationLength {
        p: usize,
        row_len: usize,
        expected: usize,
        actual: usize,
    },
    #[error("output has {actual} elements, expected at least {expected} ({p} rows of {o} outputs with row stride {stride})")]
    OutputLength {
        p: usize,
        o: usize,
        stride: usize,
        expected: usize,
        actual: usize,
    },
    #[error("output row stride {stride} is smaller than the {o} weight rows")]
    OutputStride { o: usize, stride: usize },
    #[error("activation row {row} has a nonzero value at padding column {column} (k = {k}); zero the columns from k up to the padded width")]
    NonZeroPadding { row: usize, column: usize, k: usize },
    #[error("ternary weight row {row} has bit {bit} set in the negative plane but not in the nonzero plane; repack the weights")]
    InvalidTernaryCode { row: usize, bit: usize },
    #[error("weight row {row} has padding bit {bit} set (k = {k}); padding weights must be zero")]
    WeightPadding { row: usize, bit: usize, k: usize },
    #[error("reduction length k = {k} exceeds {max}, where an i32 sum of u8 activations could overflow; split the reduction")]
    ReductionTooLong { k: usize, max: usize },
    #[error("implicit-GEMM windows are invalid: {reason} ({windows})")]
    Windows {
        windows: String,
        reason: &'static str,
    },
    #[error("implicit-GEMM windows read up to byte {needed} of an image of {actual} bytes; the image is too short for the conv geometry")]
    WindowsOutOfBounds { needed: usize, actual: usize },
    #[error("the channel {name} has {len} values, expected one per output channel ({o})")]
    ScaleLength {
        name: &'static str,
        len: usize,
        o: usize,
    },
    #[error("the residual input has {len} values, expected {expected}, one per output")]
    ResidualLength { len: usize, expected: usize },
    #[error("prepared weights made by {made_by} for {rows} rows of k = {k} do not fit kernel {kernel} and these weights; prepare them again for this kernel set")]
    PreparedMismatch {
        kernel: &'static str,
        made_by: &'static str,
        rows: usize,
        k: usize,
    },
    #[error("the {isa} kernels are not available on this CPU")]
    IsaUnavailable { isa: &'static str },
}
