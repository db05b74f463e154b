//! Small constructors for ONNX protobuf messages (`onnx-protobuf` crate).

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{dimension, Dimension};
use onnx_protobuf::{type_proto, AttributeProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto};

/// Nodes and initializers of a graph under construction.
#[derive(Default)]
pub(crate) struct GraphBuilder {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
}

impl GraphBuilder {
    /// Appends a node named `name` of `op_type`.
    pub fn node(&mut self, name: &str, op_type: &str, inputs: &[&str], outputs: &[&str], attributes: Vec<AttributeProto>) {
        let mut node = NodeProto::new();
        node.name = name.to_string();
        node.op_type = op_type.to_string();
        node.input = inputs.iter().map(|s| s.to_string()).collect();
        node.output = outputs.iter().map(|s| s.to_string()).collect();
        node.attribute = attributes;
        self.nodes.push(node);
    }

    pub fn f32_initializer(&mut self, name: &str, dims: &[usize], values: &[f32]) {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(tensor(name, DataType::FLOAT, dims, raw));
    }

    pub fn i8_initializer(&mut self, name: &str, dims: &[usize], values: &[i8]) {
        let raw = values.iter().map(|&v| v as u8).collect();
        self.initializers.push(tensor(name, DataType::INT8, dims, raw));
    }

    pub fn u8_initializer(&mut self, name: &str, dims: &[usize], values: &[u8]) {
        self.initializers.push(tensor(name, DataType::UINT8, dims, values.to_vec()));
    }

    pub fn i64_initializer(&mut self, name: &str, dims: &[usize], values: &[i64]) {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(tensor(name, DataType::INT64, dims, raw));
    }
}

fn tensor(name: &str, data_type: DataType, dims: &[usize], raw: Vec<u8>) -> TensorProto {
    let mut tensor = TensorProto::new();
    tensor.name = name.to_string();
    tensor.data_type = data_type as i32;
    tensor.dims = dims.iter().map(|&d| d as i64).collect();
    tensor.raw_data = raw;
    tensor
}

pub(crate) fn attr_int(name: &str, value: i64) -> AttributeProto {
    let mut attr = AttributeProto::new();
    attr.name = name.to_string();
    attr.type_ = AttributeType::INT.into();
    attr.i = value;
    attr
}

pub(crate) fn attr_ints(name: &str, values: &[usize]) -> AttributeProto {
    let mut attr = AttributeProto::new();
    attr.name = name.to_string();
    attr.type_ = AttributeType::INTS.into();
    attr.ints = values.iter().map(|&v| v as i64).collect();
    attr
}

pub(crate) fn attr_float(name: &str, value: f32) -> AttributeProto {
    let mut attr = AttributeProto::new();
    attr.name = name.to_string();
    attr.type_ = AttributeType::FLOAT.into();
    attr.f = value;
    attr
}

pub(crate) fn attr_string(name: &str, value: &str) -> AttributeProto {
    let mut attr = AttributeProto::new();
    attr.name = name.to_string();
    attr.type_ = AttributeType::STRING.into();
    attr.s = value.as_bytes().to_vec();
    attr
}

/// Builds a float tensor value with a symbolic batch axis `N` followed by `dims`.
pub(crate) fn batched_value(name: &str, dims: &[usize]) -> ValueInfoProto {
    let mut batch = Dimension::new();
    batch.value = Some(dimension::Value::DimParam("N".to_string()));
    let mut shape = TensorShapeProto::new();
    shape.dim.push(batch);
    for &d in dims {
        let mut dim = Dimension::new();
        dim.value = Some(dimension::Value::DimValue(d as i64));
        shape.dim.push(dim);
    }
    let mut tensor_type = type_proto::Tensor::new();
    tensor_type.elem_type = DataType::FLOAT as i32;
    tensor_type.shape = Some(shape).into();
    let mut value_type = TypeProto::new();
    value_type.value = Some(type_proto::Value::TensorType(tensor_type));
    let mut value = ValueInfoProto::new();
    value.name = name.to_string();
    value.type_ = Some(value_type).into();
    value
}
