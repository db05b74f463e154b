//! C API. Every function checks its pointers and sizes, catches panics, and reports failures
//! through a status code plus a message from [`rpr_last_error`]. The header
//! `include/rpr_infer.h` is generated from this file by cbindgen.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::{Engine, Precision, Session, SessionOptions};

/// A loaded model. Free with [`rpr_engine_free`].
pub struct RprEngine(Engine);

/// A session with its own threads and buffers. Free with [`rpr_session_free`].
pub struct RprSession(Session);

/// Result of a C API call.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RprStatus {
    Ok = 0,
    /// A pointer was null, a size did not match or an option was out of range.
    InvalidArgument = 1,
    /// Loading or running failed; see `rpr_last_error`.
    Failed = 2,
    /// The library hit an internal bug; it is caught so it never crosses into C.
    Panicked = 3,
}

/// Activation precision, as in the Rust API's `Precision`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RprPrecision {
    Int8 = 0,
    F32 = 1,
}

/// Options of [`rpr_session_new`]; start from [`rpr_session_options_default`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RprSessionOptions {
    pub precision: RprPrecision,
    /// Worker threads; 0 means one per available CPU.
    pub threads: usize,
    /// Batch size to plan buffers for up front.
    pub batch: usize,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(message: impl Into<String>) {
    let text = message.into().replace('\0', " ");
    let text = CString::new(text).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

/// Runs `body` with panics caught, storing the message of any failure.
fn guard(body: impl FnOnce() -> Result<(), (RprStatus, String)>) -> RprStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => RprStatus::Ok,
        Ok(Err((status, message))) => {
            set_error(message);
            status
        }
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(format!("internal error (panic): {detail}"));
            RprStatus::Panicked
        }
    }
}

fn invalid(message: impl Into<String>) -> (RprStatus, String) {
    (RprStatus::InvalidArgument, message.into())
}

fn failed(error: impl std::fmt::Display) -> (RprStatus, String) {
    (RprStatus::Failed, error.to_string())
}

/// Message of the last failed call on this thread, or an empty string. The pointer stays valid
/// until the next failing call on the same thread.
#[no_mangle]
pub extern "C" fn rpr_last_error() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

/// Loads and validates the `.rpr` file at `path` (a NUL-terminated UTF-8 string) and stores the
/// engine in `*out`.
///
/// # Safety
/// `path` must be null or point to a NUL-terminated string; `out` must be null or writable.
#[no_mangle]
pub unsafe extern "C" fn rpr_engine_load(
    path: *const c_char,
    out: *mut *mut RprEngine,
) -> RprStatus {
    guard(|| {
        if path.is_null() || out.is_null() {
            return Err(invalid("rpr_engine_load: path and out must not be null"));
        }
        // SAFETY: the caller guarantees a NUL-terminated string, checked non-null above.
        let path = unsafe { CStr::from_ptr(path) };
        let path = path
            .to_str()
            .map_err(|_| invalid("rpr_engine_load: path is not valid UTF-8"))?;
        let engine = Engine::load(path).map_err(|e| failed(format!("{path}: {e}")))?;
        // SAFETY: `out` is non-null and writable per the contract.
        unsafe { *out = Box::into_raw(Box::new(RprEngine(engine))) };
        Ok(())
    })
}

/// Validates a `.rpr` file of `len` bytes at `data` (copied) and stores the engine in `*out`.
///
/// # Safety
/// `data` must be null or readable for `len` bytes; `out` must be null or writable.
#[no_mangle]
pub unsafe extern "C" fn rpr_engine_from_bytes(
    data: *const u8,
    len: usize,
    out: *mut *mut RprEngine,
) -> RprStatus {
    guard(|| {
        if data.is_null() || out.is_null() {
            return Err(invalid(
                "rpr_engine_from_bytes: data and out must not be null",
            ));
        }
        // SAFETY: the caller guarantees `len` readable bytes at the non-null `data`.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
        let engine = Engine::from_bytes(bytes).map_err(failed)?;
        // SAFETY: `out` is non-null and writable per the contract.
        unsafe { *out = Box::into_raw(Box::new(RprEngine(engine))) };
        Ok(())
    })
}

/// Frees an engine; null is ignored. Sessions keep their own reference, so an engine may be
/// freed before its sessions.
///
/// # Safety
/// `engine` must be null or come from `rpr_engine_load`/`rpr_engine_from_bytes`, freed once.
#[no_mangle]
pub unsafe extern "C" fn rpr_engine_free(engine: *mut RprEngine) {
    if !engine.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` and is freed only once per the contract.
        drop(unsafe { Box::from_raw(engine) });
    }
}

/// Writes the input shape `[channels, height, width]` into `shape`.
///
/// # Safety
/// `engine` must be a live engine or null; `shape` must be null or writable for 3 values.
#[no_mangle]
pub unsafe extern "C" fn rpr_engine_input_shape(
    engine: *const RprEngine,
    shape: *mut usize,
) -> RprStatus {
    guard(|| {
        if engine.is_null() || shape.is_null() {
            return Err(invalid(
                "rpr_engine_input_shape: engine and shape must not be null",
            ));
        }
        // SAFETY: non-null and live per the contract.
        let engine = unsafe { &(*engine).0 };
        // SAFETY: the caller guarantees room for 3 values at the non-null `shape`.
        unsafe { std::ptr::copy_nonoverlapping(engine.input_shape().as_ptr(), shape, 3) };
        Ok(())
    })
}

/// Number of outputs (classes) per image, or 0 if `engine` is null.
///
/// # Safety
/// `engine` must be a live engine or null.
#[no_mangle]
pub unsafe extern "C" fn rpr_engine_output_len(engine: *const RprEngine) -> usize {
    if engine.is_null() {
        set_error("rpr_engine_output_len: engine must not be null");
        return 0;
    }
    // SAFETY: non-null and live per the contract.
    catch_unwind(AssertUnwindSafe(|| unsafe { &(*engine).0 }.output_len())).unwrap_or(0)
}

/// Default options: int8 activations, 1 thread, batch 1.
#[no_mangle]
pub extern "C" fn rpr_session_options_default() -> RprSessionOptions {
    RprSessionOptions {
        precision: RprPrecision::Int8,
        threads: 1,
        batch: 1,
    }
}

/// Creates a session for `engine` and stores it in `*out`.
///
/// # Safety
/// `engine` must be a live engine or null; `options` must be null (defaults) or readable;
/// `out` must be null or writable.
#[no_mangle]
pub unsafe extern "C" fn rpr_session_new(
    engine: *const RprEngine,
    options: *const RprSessionOptions,
    out: *mut *mut RprSession,
) -> RprStatus {
    guard(|| {
        if engine.is_null() || out.is_null() {
            return Err(invalid("rpr_session_new: engine and out must not be null"));
        }
        let options = if options.is_null() {
            rpr_session_options_default()
        } else {
            // SAFETY: non-null and readable per the contract.
            unsafe { *options }
        };
        let precision = match options.precision {
            RprPrecision::Int8 => Precision::Int8,
            RprPrecision::F32 => Precision::F32,
        };
        // SAFETY: non-null and live per the contract.
        let engine = unsafe { &(*engine).0 };
        let options = SessionOptions {
            precision,
            threads: options.threads,
            batch: options.batch,
            isa: None,
        };
        let session = Session::new(engine, options).map_err(|e| invalid(e.to_string()))?;
        // SAFETY: `out` is non-null and writable per the contract.
        unsafe { *out = Box::into_raw(Box::new(RprSession(session))) };
        Ok(())
    })
}

/// Runs `batch` images of NCHW f32 input (`input_len = batch * c * h * w` values) and writes
/// `batch * output_len` logits to `output` (`output_len` is the buffer's length in values).
///
/// # Safety
/// `session` must be a live session or null, and only one thread may use it at a time.
/// `input` must be null or readable for `input_len` floats, and `output` null or writable for
/// `output_len` floats.
#[no_mangle]
pub unsafe extern "C" fn rpr_session_run(
    session: *mut RprSession,
    input: *const f32,
    input_len: usize,
    batch: usize,
    output: *mut f32,
    output_len: usize,
) -> RprStatus {
    guard(|| {
        if session.is_null() || input.is_null() || output.is_null() {
            return Err(invalid(
                "rpr_session_run: session, input and output must not be null",
            ));
        }
        // SAFETY: non-null, live and not shared across threads per the contract.
        let session = unsafe { &mut (*session).0 };
        let [c, h, w] = session_input_shape(session);
        let expected = batch
            .checked_mul(c * h * w)
            .ok_or_else(|| invalid("rpr_session_run: batch is too large"))?;
        if batch == 0 || input_len != expected {
            return Err(invalid(format!(
                "rpr_session_run: input_len is {input_len}, expected batch ({batch}) x {c} x {h} x {w} = {expected}"
            )));
        }
        // SAFETY: the caller guarantees `input_len` readable floats at the non-null `input`.
        let values = unsafe { std::slice::from_raw_parts(input, input_len) };
        let view = ndarray::ArrayView4::from_shape((batch, c, h, w), values)
            .map_err(|e| invalid(e.to_string()))?;
        let logits = session.run(view).map_err(failed)?;
        if output_len < logits.len() {
            return Err(invalid(format!(
                "rpr_session_run: output_len is {output_len}, the logits need {}",
                logits.len()
            )));
        }
        // SAFETY: the caller guarantees `output_len >= logits.len()` writable floats at `output`.
        let out = unsafe { std::slice::from_raw_parts_mut(output, logits.len()) };
        for (o, v) in out.iter_mut().zip(logits.iter()) {
            *o = *v;
        }
        Ok(())
    })
}

fn session_input_shape(session: &Session) -> [usize; 3] {
    session.engine().input_shape()
}

/// Frees a session; null is ignored.
///
/// # Safety
/// `session` must be null or come from `rpr_session_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn rpr_session_free(session: *mut RprSession) {
    if !session.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` and is freed only once per the contract.
        drop(unsafe { Box::from_raw(session) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_arguments_are_rejected_with_message() {
        let mut engine: *mut RprEngine = std::ptr::null_mut();
        // SAFETY: null path is part of the contract and must be rejected.
        let status = unsafe { rpr_engine_load(std::ptr::null(), &mut engine) };
        assert_eq!(status, RprStatus::InvalidArgument);
        assert!(engine.is_null());
        // SAFETY: rpr_last_error returns a NUL-terminated string owned by this thread.
        let message = unsafe { CStr::from_ptr(rpr_last_error()) }
            .to_str()
            .unwrap();
        assert!(message.contains("must not be null"), "{message}");
    }

    #[test]
    fn garbage_bytes_fail_without_panic() {
        let bytes = [7u8; 100];
        let mut engine: *mut RprEngine = std::ptr::null_mut();
        // SAFETY: `bytes` is readable for its length and `engine` is writable.
        let status = unsafe { rpr_engine_from_bytes(bytes.as_ptr(), bytes.len(), &mut engine) };
        assert_eq!(status, RprStatus::Failed);
        assert!(engine.is_null());
    }
}
