//! Maps each node of the model description to standard ONNX operators.

use std::collections::{BTreeMap, BTreeSet};

use rpr_core::graph::{Node, Op, Pool2d};

use super::builder::{attr_float, attr_int, attr_ints, attr_string, GraphBuilder};
use super::lower::{Lowered, Param};
use crate::error::ExportError;
use crate::packed::ActivationQuant;

/// Storage type of the weights of quantized layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightStorage {
    /// int8 codes followed by a per-channel `DequantizeLinear` (axis 0).
    Int8Codes,
    /// Effective f32 weights `scale * code`.
    Float,
}

/// Emits every node of `lowered` into `graph`. With `activations`, the inputs
/// of Conv and Gemm pass through a QuantizeLinear/DequantizeLinear pair.
pub(crate) fn emit_graph(
    lowered: &Lowered,
    storage: WeightStorage,
    activations: Option<&BTreeMap<String, ActivationQuant>>,
    graph: &mut GraphBuilder,
) -> Result<(), ExportError> {
    let mut emitter = Emitter { lowered, storage, activations, graph, quantized: BTreeSet::new() };
    for node in &lowered.model.nodes {
        emitter.node(node)?;
    }
    Ok(())
}

struct Emitter<'a> {
    lowered: &'a Lowered,
    storage: WeightStorage,
    activations: Option<&'a BTreeMap<String, ActivationQuant>>,
    graph: &'a mut GraphBuilder,
    /// Activations that already have a QuantizeLinear/DequantizeLinear pair.
    quantized: BTreeSet<String>,
}

impl Emitter<'_> {
    fn node(&mut self, node: &Node) -> Result<(), ExportError> {
        let name = node.name.as_str();
        let inputs: Vec<&str> = node.inputs.iter().map(String::as_str).collect();
        match &node.op {
            Op::Conv2d(conv) => {
                let input = self.activation_input(inputs[0]);
                let weight = self.weight(&format!("{name}.weight"))?;
                let mut conv_inputs = vec![input.as_str(), weight.as_str()];
                let bias = format!("{name}.bias");
                if conv.bias {
                    self.float_param(&bias)?;
                    conv_inputs.push(&bias);
                }
                let attributes = vec![
                    attr_ints("kernel_shape", &conv.kernel),
                    attr_ints("strides", &conv.stride),
                    attr_ints("pads", &[conv.padding[0], conv.padding[1], conv.padding[0], conv.padding[1]]),
                    attr_ints("dilations", &conv.dilation),
                    attr_int("group", conv.groups as i64),
                ];
                self.graph.node(name, "Conv", &conv_inputs, &[name], attributes);
            }
            Op::BatchNorm { eps, .. } => {
                let params: Vec<String> = ["weight", "bias", "running_mean", "running_var"]
                    .iter()
                    .map(|suffix| format!("{name}.{suffix}"))
                    .collect();
                for param in &params {
                    self.float_param(param)?;
                }
                let mut bn_inputs = vec![inputs[0]];
                bn_inputs.extend(params.iter().map(String::as_str));
                self.graph.node(name, "BatchNormalization", &bn_inputs, &[name], vec![attr_float("epsilon", *eps)]);
            }
            Op::Relu => self.graph.node(name, "Relu", &inputs, &[name], vec![]),
            // ONNX Add takes exactly two inputs; Sum takes any number.
            Op::Add if inputs.len() == 2 => self.graph.node(name, "Add", &inputs, &[name], vec![]),
            Op::Add => self.graph.node(name, "Sum", &inputs, &[name], vec![]),
            Op::MaxPool(pool) => self.graph.node(name, "MaxPool", &inputs, &[name], pool_attributes(pool)),
            Op::AvgPool(pool) => {
                let mut attributes = pool_attributes(pool);
                attributes.push(attr_int("count_include_pad", 1));
                self.graph.node(name, "AveragePool", &inputs, &[name], attributes);
            }
            Op::GlobalAvgPool => self.graph.node(name, "GlobalAveragePool", &inputs, &[name], vec![]),
            Op::Concat => self.graph.node(name, "Concat", &inputs, &[name], vec![attr_int("axis", 1)]),
            Op::Flatten => self.graph.node(name, "Flatten", &inputs, &[name], vec![attr_int("axis", 1)]),
            Op::Linear { bias, .. } => {
                let input = self.activation_input(inputs[0]);
                let weight = self.weight(&format!("{name}.weight"))?;
                let mut gemm_inputs = vec![input.as_str(), weight.as_str()];
                let bias_name = format!("{name}.bias");
                if *bias {
                    self.float_param(&bias_name)?;
                    gemm_inputs.push(&bias_name);
                }
                self.graph.node(name, "Gemm", &gemm_inputs, &[name], vec![attr_int("transB", 1)]);
            }
            Op::Upsample { size } => self.upsample(name, inputs[0], *size),
        }
        Ok(())
    }

    /// Emits a float parameter as an initializer under its own name.
    fn float_param(&mut self, name: &str) -> Result<(), ExportError> {
        match self.lowered.params.get(name) {
            Some(Param::Float(value)) => {
                let values: Vec<f32> = value.iter().copied().collect();
                self.graph.f32_initializer(name, value.shape(), &values);
                Ok(())
            }
            Some(Param::Codes { codes, scales }) => {
                let values = dequantize(codes, scales);
                self.graph.f32_initializer(name, codes.shape(), &values);
                Ok(())
            }
            None => Err(ExportError::MissingTensor { name: name.to_string() }),
        }
    }

    /// Emits a weight and returns the name of the tensor that carries its
    /// float value: the initializer itself or a DequantizeLinear output.
    fn weight(&mut self, name: &str) -> Result<String, ExportError> {
        let Some(Param::Codes { codes, scales }) = self.lowered.params.get(name) else {
            self.float_param(name)?;
            return Ok(name.to_string());
        };
        if self.storage == WeightStorage::Float {
            self.float_param(name)?;
            return Ok(name.to_string());
        }
        let channels = codes.shape()[0];
        let (codes_name, scale_name, zero_name) =
            (format!("{name}_quantized"), format!("{name}_scale"), format!("{name}_zero_point"));
        let values: Vec<i8> = codes.iter().copied().collect();
        self.graph.i8_initializer(&codes_name, codes.shape(), &values);
        self.graph.f32_initializer(&scale_name, &[channels], scales);
        self.graph.i8_initializer(&zero_name, &[channels], &vec![0; channels]);
        self.graph.node(
            &format!("{name}_dequantize"),
            "DequantizeLinear",
            &[&codes_name, &scale_name, &zero_name],
            &[name],
            vec![attr_int("axis", 0)],
        );
        Ok(name.to_string())
    }

    /// Returns the tensor a Conv or Gemm should read for activation `input`,
    /// inserting a QuantizeLinear/DequantizeLinear pair in QDQ mode.
    fn activation_input(&mut self, input: &str) -> String {
        let Some(quant) = self.activations.and_then(|scales| scales.get(input)) else {
            return input.to_string();
        };
        let dequantized = format!("{input}_dequantized");
        if !self.quantized.insert(input.to_string()) {
            return dequantized;
        }
        let (scale_name, zero_name, quantized) =
            (format!("{input}_act_scale"), format!("{input}_act_zero_point"), format!("{input}_quantized"));
        self.graph.f32_initializer(&scale_name, &[], &[quant.scale]);
        if quant.unsigned {
            self.graph.u8_initializer(&zero_name, &[], &[0]);
        } else {
            self.graph.i8_initializer(&zero_name, &[], &[0]);
        }
        self.graph.node(
            &format!("{input}_quantize"),
            "QuantizeLinear",
            &[input, &scale_name, &zero_name],
            &[&quantized],
            vec![],
        );
        self.graph.node(
            &format!("{input}_dequantize"),
            "DequantizeLinear",
            &[&quantized, &scale_name, &zero_name],
            &[&dequantized],
            vec![],
        );
        dequantized
    }

    /// Bilinear resize to `size x size`. The target `sizes` input is built
    /// from the runtime batch and channel counts so the batch axis stays free.
    fn upsample(&mut self, name: &str, input: &str, size: usize) {
        let (shape, batch_channels, spatial, sizes) = (
            format!("{name}_input_shape"),
            format!("{name}_batch_channels"),
            format!("{name}_spatial"),
            format!("{name}_sizes"),
        );
        let (starts, ends) = (format!("{name}_slice_starts"), format!("{name}_slice_ends"));
        self.graph.node(&shape, "Shape", &[input], &[&shape], vec![]);
        self.graph.i64_initializer(&starts, &[1], &[0]);
        self.graph.i64_initializer(&ends, &[1], &[2]);
        self.graph.node(&batch_channels, "Slice", &[&shape, &starts, &ends], &[&batch_channels], vec![]);
        self.graph.i64_initializer(&spatial, &[2], &[size as i64, size as i64]);
        self.graph.node(&sizes, "Concat", &[&batch_channels, &spatial], &[&sizes], vec![attr_int("axis", 0)]);
        let attributes = vec![
            attr_string("mode", "linear"),
            // PyTorch's align_corners=False mapping, exact also for size 1.
            attr_string("coordinate_transformation_mode", "pytorch_half_pixel"),
        ];
        self.graph.node(name, "Resize", &[input, "", "", &sizes], &[name], attributes);
    }
}

fn pool_attributes(pool: &Pool2d) -> Vec<onnx_protobuf::AttributeProto> {
    vec![
        attr_ints("kernel_shape", &pool.kernel),
        attr_ints("strides", &pool.stride),
        attr_ints("pads", &[pool.padding[0], pool.padding[1], pool.padding[0], pool.padding[1]]),
        attr_int("ceil_mode", i64::from(pool.ceil_mode)),
    ]
}

/// Effective weights `scales[o] * code`, the same f32 product as
/// `rpr_core::quant::Quantized::dequantize`.
pub(crate) fn dequantize(codes: &ndarray::ArrayD<i8>, scales: &[f32]) -> Vec<f32> {
    let per_channel = codes.len() / codes.shape()[0].max(1);
    codes
        .iter()
        .enumerate()
        .map(|(index, &code)| scales[index / per_channel.max(1)] * f32::from(code))
        .collect()
}
