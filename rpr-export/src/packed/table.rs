//! Tensor table of a `.rpr` file: names, shapes and payload positions
//! derived from the model description, then checked against the bytes.
//!
//! Payloads follow the header in table order. Each starts at the first
//! multiple of [`ALIGN`](container::ALIGN) at or after the end of the
//! previous payload, or of the header for the first one. A payload's length
//! follows from its dtype and shape. The file ends with the last payload,
//! and padding bytes are zero.

use std::collections::BTreeMap;

use rpr_core::graph::Model;
use rpr_core::pack::PackedView;

use super::container;
use super::error::FormatError;
use super::proto;
use super::tensor::{TensorDType, TensorInfo, TensorRole};

/// Resolves the tensor table against `model` and checks every payload in
/// `bytes`, whose header ends at `header_end`.
pub(crate) fn read(
    table: &proto::TensorTable,
    model: &Model,
    bytes: &[u8],
    header_end: usize,
) -> Result<BTreeMap<String, TensorInfo>, FormatError> {
    let count = table.nodes.len();
    if table.roles.len() != count || table.dtypes.len() != count || table.crc32s.len() != count {
        return Err(FormatError::invalid(
            "tensor table",
            header_end as u64,
            format!(
                "columns have different lengths: {count} nodes, {} roles, {} dtypes, {} CRC-32s",
                table.roles.len(),
                table.dtypes.len(),
                table.crc32s.len()
            ),
        ));
    }

    let file_len = bytes.len() as u64;
    let mut end = header_end as u64;
    let mut tensors = BTreeMap::new();
    for index in 0..count {
        let offset = container::align_up(end).unwrap_or(u64::MAX);
        let invalid = |reason: String| FormatError::invalid(format!("tensor table entry {index}"), offset, reason);

        let node_index = table.nodes[index];
        let node = model.nodes.get(node_index as usize).ok_or_else(|| {
            invalid(format!("node index {node_index} is beyond the {} nodes", model.nodes.len()))
        })?;
        let role = proto::TensorRole::try_from(table.roles[index])
            .ok()
            .and_then(TensorRole::from_proto)
            .ok_or_else(|| invalid(format!("unknown tensor role {}", table.roles[index])))?;
        let name = format!("{}.{}", node.name, role.suffix());
        let invalid = |reason: String| FormatError::invalid(format!("tensor `{name}`"), offset, reason);
        if tensors.contains_key(&name) {
            return Err(invalid("listed twice in the tensor table".into()));
        }

        let dtype = proto::DType::try_from(table.dtypes[index])
            .ok()
            .and_then(TensorDType::from_proto)
            .ok_or_else(|| invalid(format!("unknown dtype {}", table.dtypes[index])))?;
        let shape = role
            .shape(&node.op)
            .ok_or_else(|| invalid(format!("a {} node has no {} tensor", node.op.tag(), role.suffix())))?;
        let length = dtype
            .payload_len(&shape)
            .ok_or_else(|| invalid(format!("{} tensor of shape {shape:?} has no valid size", dtype.label())))?;
        let payload_end = offset.checked_add(length as u64).filter(|&payload_end| payload_end <= file_len);
        let payload_end = payload_end.ok_or_else(|| {
            invalid(format!("payload of {length} bytes runs past the end of the {file_len}-byte file"))
        })?;
        let payload = &bytes[offset as usize..payload_end as usize];
        check_crc(&format!("tensor `{name}`"), offset, payload, table.crc32s[index])?;
        if let TensorDType::Packed(encoding) = dtype {
            // Kernels rely on zero padding bits and valid trits, so check
            // every row once here instead of in each kernel.
            let k = shape[1..].iter().product();
            PackedView::new(encoding, shape[0], k, payload)
                .and_then(|view| view.validate())
                .map_err(|error| {
                    invalid(format!("invalid packed codes: {error}; re-export the model from its checkpoint"))
                })?;
        }
        check_zero_padding(bytes, end as usize, offset as usize)?;

        let info = TensorInfo { name: name.clone(), dtype, shape, offset: offset as usize, length };
        tensors.insert(name, info);
        end = payload_end;
    }
    if end != file_len {
        return Err(FormatError::invalid(
            "padding",
            end,
            format!("{} bytes follow the last payload, which ends at {end}", file_len - end),
        ));
    }
    Ok(tensors)
}

/// Checks that the alignment gap `bytes[start..end]` is zero. Checksums do
/// not cover it, so without this check a corrupted byte would go unnoticed.
fn check_zero_padding(bytes: &[u8], start: usize, end: usize) -> Result<(), FormatError> {
    match bytes[start..end].iter().position(|&b| b != 0) {
        Some(position) => Err(FormatError::invalid(
            "padding",
            (start + position) as u64,
            "alignment padding must be zero bytes",
        )),
        None => Ok(()),
    }
}

/// Compares the CRC-32 of `bytes` with `stored`.
pub(crate) fn check_crc(section: &str, offset: u64, bytes: &[u8], stored: u32) -> Result<(), FormatError> {
    let computed = crc32fast::hash(bytes);
    if computed != stored {
        return Err(FormatError::Checksum {
            section: section.to_string(),
            offset,
            stored,
            computed,
        });
    }
    Ok(())
}

/// Returns where the payloads of the given lengths start, in table order,
/// after a header that ends at `header_end`, and the resulting file length.
pub(crate) fn layout(header_end: u64, lengths: impl IntoIterator<Item = u64>) -> (Vec<u64>, u64) {
    let mut end = header_end;
    let mut offsets = Vec::new();
    for length in lengths {
        let offset = container::align_up(end).expect("file offsets fit in u64");
        offsets.push(offset);
        end = offset + length;
    }
    (offsets, end)
}
