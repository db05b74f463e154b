//! Reading and writing [`Tensors`] as safetensors files.

use std::path::Path;

use ndarray::ArrayD;
use safetensors::{Dtype, SafeTensors};

use super::{write_atomic, CheckpointError, Tensors};

/// Reads every tensor of a safetensors file, converting to f32.
///
/// F32 is read as is. F64, F16, BF16, I64 and I32 are converted, which
/// rounds integers above 2^24 (a `num_batches_tracked` counter, in
/// practice). A truncated or corrupt file gives
/// [`CheckpointError::Safetensors`].
pub fn read_safetensors(path: &Path) -> Result<Tensors, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.into(),
        source,
    })?;
    decode(&bytes, path)
}

/// Writes `tensors` as an F32 safetensors file, atomically (see [`write_atomic`]).
pub fn write_safetensors(path: &Path, tensors: &Tensors) -> Result<(), CheckpointError> {
    let bytes = encode(tensors, path)?;
    write_atomic(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.into(),
        source,
    })
}

fn decode(bytes: &[u8], path: &Path) -> Result<Tensors, CheckpointError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Safetensors {
        path: path.into(),
        message: e.to_string(),
    })?;
    let mut tensors = Tensors::new();
    for (name, view) in file.tensors() {
        let data = view.data();
        let values =
            to_f32(view.dtype(), data).ok_or_else(|| CheckpointError::UnsupportedDtype {
                path: path.into(),
                tensor: name.clone(),
                dtype: format!("{:?}", view.dtype()),
            })?;
        let array = ArrayD::from_shape_vec(view.shape().to_vec(), values).map_err(|e| {
            CheckpointError::Safetensors {
                path: path.into(),
                message: format!("tensor `{name}`: {e}"),
            }
        })?;
        tensors.insert(name, array);
    }
    Ok(tensors)
}

/// Converts little-endian elements to f32, or `None` for an unsupported dtype.
fn to_f32(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    let values = match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| {
                f64::from_le_bytes(b.try_into().expect("chunks_exact(8) yields 8 bytes")) as f32
            })
            .collect(),
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|b| {
                i64::from_le_bytes(b.try_into().expect("chunks_exact(8) yields 8 bytes")) as f32
            })
            .collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        _ => return None,
    };
    Some(values)
}

/// Converts an IEEE 754 binary16 bit pattern to f32 exactly.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f32::from(bits & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + mantissa / 1024.0) * 2f32.powi(exponent - 15),
    }
}

fn encode(tensors: &Tensors, path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let buffers: Vec<(&str, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, array)| {
            let bytes = array.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.as_str(), array.shape().to_vec(), bytes)
        })
        .collect();
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|view| (*name, view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CheckpointError::Safetensors {
            path: path.into(),
            message: e.to_string(),
        })?;
    safetensors::serialize(views, &None).map_err(|e| CheckpointError::Safetensors {
        path: path.into(),
        message: e.to_string(),
    })
}
