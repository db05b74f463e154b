//! Consistency of the tensor table with the exported model description.
//!
//! Expected tensors per node of an exported (BatchNorm-folded) model:
//! - `Conv2d` `X`: `X.weight` `[O, I/groups, KH, KW]`, f32 or packed. A packed
//!   weight also needs `X.scale` `[O]` and `X.bias` `[O]` (the conv has
//!   `bias: true`). A float conv has `X.bias` `[O]` exactly when `bias` is set.
//! - `Linear` `X`: `X.weight` `[out, in]` f32 and `X.bias` `[out]` if `bias`.
//! - `BatchNorm` `X` (kept where folding was not exact): `X.weight`, `X.bias`,
//!   `X.running_mean`, `X.running_var`, all `[channels]` f32.
//!
//! No other tensor may appear. Packed encodings must match the file's weight bits.

use std::collections::{BTreeMap, BTreeSet};

use rpr_core::graph::{Model, Op};
use rpr_core::pack::Encoding;
use rpr_core::quant::Bits;

use super::container::PREAMBLE_LEN;
use super::error::FormatError;
use super::reader::QuantInfo;
use super::tensor::{TensorDType, TensorInfo};

/// Checks that `tensors` contains exactly the parameters `model` needs, with the
/// right shapes and storage types, and that packed encodings match `quant.bits`.
pub(crate) fn tensors_match_model(
    model: &Model,
    tensors: &BTreeMap<String, TensorInfo>,
    quant: &QuantInfo,
) -> Result<(), FormatError> {
    let mut used = BTreeSet::new();
    let mut expect = |name: String, shape: &[usize], float_only: bool| -> Result<TensorDType, FormatError> {
        let info = tensors.get(&name).ok_or_else(|| {
            FormatError::invalid("tensor table", PREAMBLE_LEN as u64, format!("missing tensor `{name}`"))
        })?;
        if info.shape != shape {
            return Err(FormatError::invalid(
                format!("tensor `{name}`"),
                info.offset as u64,
                format!("shape {:?} does not match {shape:?} from the model description", info.shape),
            ));
        }
        if float_only && info.dtype != TensorDType::F32 {
            return Err(FormatError::invalid(
                format!("tensor `{name}`"),
                info.offset as u64,
                format!("stored as {}, expected f32", info.dtype.label()),
            ));
        }
        used.insert(name);
        Ok(info.dtype)
    };

    for node in &model.nodes {
        let name = &node.name;
        match &node.op {
            Op::Conv2d(conv) => {
                let out = conv.out_channels;
                let shape = [out, conv.in_channels / conv.groups, conv.kernel[0], conv.kernel[1]];
                let weight = format!("{name}.weight");
                let dtype = expect(weight.clone(), &shape, false)?;
                if let TensorDType::Packed(encoding) = dtype {
                    check_packed_layer(name, encoding, quant, tensors[&weight].offset)?;
                    if !conv.bias {
                        return Err(FormatError::invalid(
                            "model description",
                            PREAMBLE_LEN as u64,
                            format!("packed conv `{name}` must have bias: true, because its folded bias is stored"),
                        ));
                    }
                    expect(format!("{name}.scale"), &[out], true)?;
                }
                if conv.bias {
                    expect(format!("{name}.bias"), &[out], true)?;
                }
            }
            Op::Linear { in_features, out_features, bias } => {
                expect(format!("{name}.weight"), &[*out_features, *in_features], true)?;
                if *bias {
                    expect(format!("{name}.bias"), &[*out_features], true)?;
                }
            }
            Op::BatchNorm { channels, .. } => {
                for suffix in ["weight", "bias", "running_mean", "running_var"] {
                    expect(format!("{name}.{suffix}"), &[*channels], true)?;
                }
            }
            _ => {}
        }
    }

    if let Some(extra) = tensors.values().find(|info| !used.contains(&info.name)) {
        return Err(FormatError::invalid(
            format!("tensor `{}`", extra.name),
            extra.offset as u64,
            "no node of the model description uses this tensor",
        ));
    }
    Ok(())
}

fn check_packed_layer(name: &str, encoding: Encoding, quant: &QuantInfo, offset: usize) -> Result<(), FormatError> {
    let matches_bits = matches!(
        (quant.bits, encoding),
        (Bits::Binary, Encoding::Binary) | (Bits::Ternary, Encoding::Ternary2 | Encoding::Ternary3)
    );
    if !matches_bits {
        return Err(FormatError::invalid(
            format!("tensor `{name}.weight`"),
            offset as u64,
            format!("encoding {encoding:?} does not match the file's {:?} weights", quant.bits),
        ));
    }
    Ok(())
}
