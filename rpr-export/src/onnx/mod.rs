//! ONNX export (opset 13, standard operators only).
//!
//! By default quantized layers store int8 codes with a per-channel
//! `DequantizeLinear` (axis 0), about 4x smaller than f32 weights, and
//! BatchNorm stays a `BatchNormalization` node. With QDQ, the graph is the
//! BatchNorm-folded one of the `.rpr` export and every Conv/Gemm input passes
//! through QuantizeLinear/DequantizeLinear with the calibrated scale, the
//! form ONNX Runtime maps to its int8 kernels.

mod builder;
mod emit;
mod lower;

use std::path::{Path, PathBuf};

use onnx_protobuf::{GraphProto, Message, ModelProto, OperatorSetIdProto};
use rpr_core::checkpoint::{write_atomic, Checkpoint, QuantSpec};
use rpr_core::graph::INPUT;
use rpr_core::pack::Encoding;
use rpr_core::quant::{Bits, Granularity};

pub use emit::WeightStorage;

use crate::calibrate::ActivationCalibration;
use crate::error::ExportError;

/// ONNX operator set the graphs are written for.
pub const OPSET: i64 = 13;

/// ONNX IR version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 7;

/// Options of [`write_onnx`].
#[derive(Clone, Debug)]
pub struct OnnxOptions {
    pub weights: WeightStorage,
    /// Write a QDQ int8 graph with these activation scales (keyed by the
    /// unfolded tensor names).
    pub qdq: Option<ActivationCalibration>,
}

impl Default for OnnxOptions {
    fn default() -> Self {
        OnnxOptions { weights: WeightStorage::Int8Codes, qdq: None }
    }
}

/// Statistics of a file written by [`write_onnx`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnnxSummary {
    pub path: PathBuf,
    pub file_bytes: u64,
    pub nodes: usize,
    pub initializers: usize,
}

/// Builds the serialized ONNX model of `checkpoint`.
pub fn encode_onnx(checkpoint: &Checkpoint, opts: &OnnxOptions) -> Result<Vec<u8>, ExportError> {
    build_model(checkpoint, opts)?
        .write_to_bytes()
        .map_err(|error| ExportError::Option(format!("failed to serialize the ONNX model: {error}")))
}

/// Validates `checkpoint` and writes its ONNX graph to `out` atomically, so
/// an existing `out` is replaced only by a complete file.
pub fn write_onnx(checkpoint: &Checkpoint, opts: &OnnxOptions, out: &Path) -> Result<OnnxSummary, ExportError> {
    let model = build_model(checkpoint, opts)?;
    let graph = model.graph.as_ref().expect("build_model sets the graph");
    let (nodes, initializers) = (graph.node.len(), graph.initializer.len());
    let bytes = model
        .write_to_bytes()
        .map_err(|error| ExportError::Option(format!("failed to serialize the ONNX model: {error}")))?;
    write_atomic(out, &bytes).map_err(|source| ExportError::Io { path: out.to_path_buf(), source })?;
    tracing::info!(path = %out.display(), bytes = bytes.len(), nodes, "wrote ONNX model");
    Ok(OnnxSummary { path: out.to_path_buf(), file_bytes: bytes.len() as u64, nodes, initializers })
}

fn build_model(checkpoint: &Checkpoint, opts: &OnnxOptions) -> Result<ModelProto, ExportError> {
    checkpoint.validate()?;
    let (lowered, activations) = match &opts.qdq {
        None => (lower::unfolded(checkpoint)?, None),
        Some(calibration) => {
            let full_precision = QuantSpec { bits: Bits::Ternary, granularity: Granularity::PerChannel, layers: Default::default() };
            let quant = checkpoint.quant.as_ref().unwrap_or(&full_precision);
            let encoding = match quant.bits {
                Bits::Binary => Encoding::Binary,
                Bits::Ternary => Encoding::Ternary2,
            };
            let folded = crate::fold::fold(&checkpoint.model, &checkpoint.tensors, quant, encoding)?;
            let scales = calibration
                .scales
                .iter()
                .filter_map(|(name, quant)| folded.folded_name(name).map(|tensor| (tensor.to_string(), *quant)))
                .collect();
            (lower::folded(&folded)?, Some(scales))
        }
    };

    let shapes = lowered
        .model
        .infer_shapes()
        .map_err(|error| ExportError::Option(format!("invalid model description: {error}")))?;
    let output_shape = shapes.get(&lowered.model.output).cloned().unwrap_or_default();

    let mut graph_builder = builder::GraphBuilder::default();
    emit::emit_graph(&lowered, opts.weights, activations.as_ref(), &mut graph_builder)?;

    let mut graph = GraphProto::new();
    graph.name = lowered.model.name.clone();
    graph.node = graph_builder.nodes;
    graph.initializer = graph_builder.initializers;
    graph.input.push(builder::batched_value(INPUT, &lowered.model.input_shape));
    graph.output.push(builder::batched_value(&lowered.model.output, &output_shape));

    let mut opset = OperatorSetIdProto::new();
    opset.domain = String::new();
    opset.version = OPSET;

    let mut model = ModelProto::new();
    model.ir_version = IR_VERSION;
    model.opset_import.push(opset);
    model.producer_name = "rpr-export".to_string();
    model.producer_version = env!("CARGO_PKG_VERSION").to_string();
    model.graph = Some(graph).into();
    Ok(model)
}
