//! Per-layer size and compute summary of an `.rpr` file.

use std::fmt::Write as _;

use rpr_core::graph::Op;
use serde::Serialize;

use crate::packed::{FormatError, RprFile, TensorDType};

/// One layer with parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerSummary {
    pub layer: String,
    pub op: String,
    /// Storage of the weight: `f32`, `binary (1 bit)`, `ternary (2 bits)`, `ternary (base 3)`.
    pub bits: String,
    /// Number of stored values (weights, biases, scales, statistics).
    pub params: u64,
    /// Multiply-accumulates for one input image.
    pub macs: u64,
    /// Size of all parameters as f32.
    pub float32_bytes: u64,
    /// Size of the stored payloads.
    pub packed_bytes: u64,
    /// `float32_bytes / packed_bytes`.
    pub compression: f64,
}

/// Whole-model summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSummary {
    pub model: String,
    pub format_version: String,
    pub file_bytes: u64,
    pub layers: Vec<LayerSummary>,
    pub total_params: u64,
    pub total_macs: u64,
    pub total_float32_bytes: u64,
    pub total_packed_bytes: u64,
    pub compression: f64,
}

/// Builds the summary of an opened file.
pub fn summarize(file: &RprFile) -> Result<ModelSummary, FormatError> {
    let model = file.model();
    let shapes = model
        .infer_shapes()
        .map_err(|error| FormatError::invalid("model description", 0, error.to_string()))?;
    let mut layers = Vec::new();
    for node in &model.nodes {
        let name = &node.name;
        let owned: Vec<_> = file.tensors().filter(|t| t.name.rsplit_once('.').is_some_and(|(owner, _)| owner == name)).collect();
        if owned.is_empty() {
            continue;
        }
        let params: u64 = owned.iter().map(|t| t.shape.iter().product::<usize>() as u64).sum();
        let packed_bytes: u64 = owned.iter().map(|t| t.length as u64).sum();
        let bits = owned
            .iter()
            .find(|t| t.name.ends_with(".weight"))
            .map_or(TensorDType::F32, |t| t.dtype)
            .label()
            .to_string();
        let output_elems = shapes.get(name).map_or(0, |s| s.iter().product::<usize>() as u64);
        let macs = match &node.op {
            Op::Conv2d(conv) => {
                let per_output = (conv.in_channels / conv.groups.max(1) * conv.kernel[0] * conv.kernel[1]) as u64;
                output_elems * per_output
            }
            Op::Linear { in_features, out_features, .. } => (*in_features * *out_features) as u64,
            _ => 0,
        };
        layers.push(LayerSummary {
            layer: name.clone(),
            op: node.op.tag().to_string(),
            bits,
            params,
            macs,
            float32_bytes: params * 4,
            packed_bytes,
            compression: ratio(params * 4, packed_bytes),
        });
    }
    let total_params = layers.iter().map(|l| l.params).sum();
    let total_float32_bytes = layers.iter().map(|l| l.float32_bytes).sum();
    let total_packed_bytes = layers.iter().map(|l| l.packed_bytes).sum();
    let (major, minor) = file.version();
    Ok(ModelSummary {
        model: model.name.clone(),
        format_version: format!("{major}.{minor}"),
        file_bytes: file.as_bytes().len() as u64,
        total_params,
        total_macs: layers.iter().map(|l| l.macs).sum(),
        total_float32_bytes,
        total_packed_bytes,
        compression: ratio(total_float32_bytes, total_packed_bytes),
        layers,
    })
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        return 0.0;
    }
    numerator as f64 / denominator as f64
}

/// Renders the summary as a fixed-width text table with a totals row.
pub fn render_table(summary: &ModelSummary) -> String {
    let headers = ["layer", "op", "bits", "params", "MACs", "float32 B", "packed B", "compression"];
    let mut rows: Vec<[String; 8]> = summary
        .layers
        .iter()
        .map(|l| {
            [
                l.layer.clone(),
                l.op.clone(),
                l.bits.clone(),
                l.params.to_string(),
                l.macs.to_string(),
                l.float32_bytes.to_string(),
                l.packed_bytes.to_string(),
                format!("{:.2}x", l.compression),
            ]
        })
        .collect();
    rows.push([
        "total".into(),
        String::new(),
        String::new(),
        summary.total_params.to_string(),
        summary.total_macs.to_string(),
        summary.total_float32_bytes.to_string(),
        summary.total_packed_bytes.to_string(),
        format!("{:.2}x", summary.compression),
    ]);

    let mut widths = headers.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut text = format!(
        "model {} (format {}, {} bytes)\n",
        summary.model, summary.format_version, summary.file_bytes
    );
    let line = |text: &mut String, cells: &[&str]| {
        for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
            // Text columns align left, numbers right.
            if column < 3 {
                let _ = write!(text, "{cell:<width$}  ");
            } else {
                let _ = write!(text, "{cell:>width$}  ");
            }
        }
        text.truncate(text.trim_end().len());
        text.push('\n');
    };
    line(&mut text, &headers);
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    line(&mut text, &rule.iter().map(String::as_str).collect::<Vec<_>>());
    let last = rows.len() - 1;
    for (index, row) in rows.iter().enumerate() {
        if index == last {
            line(&mut text, &rule.iter().map(String::as_str).collect::<Vec<_>>());
        }
        line(&mut text, &row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    text
}
