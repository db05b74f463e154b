//! Appends nodes to a model under construction and returns the name of each
//! new output tensor, so architectures read like their PyTorch modules.

use super::ZooConfig;
use crate::graph::{Conv2d, Model, Node, Op, Pool2d, INPUT};

/// Nodes under construction. Each method returns the new node's name.
pub(super) struct GraphBuilder {
    nodes: Vec<Node>,
}

impl GraphBuilder {
    pub(super) fn new() -> Self {
        GraphBuilder { nodes: Vec::new() }
    }

    /// Wraps the nodes, in insertion order, into a model whose input has the
    /// geometry of `cfg` and whose output is the tensor `output`.
    pub(super) fn into_model(self, name: &str, cfg: &ZooConfig, output: String) -> Model {
        Model {
            name: name.to_string(),
            input_shape: [cfg.input_channels, cfg.input_size, cfg.input_size],
            nodes: self.nodes,
            output,
        }
    }

    fn push(&mut self, name: &str, inputs: &[&str], op: Op) -> String {
        self.nodes.push(Node {
            name: name.to_string(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            op,
        });
        name.to_string()
    }

    /// Adds a square convolution with `groups = 1` and `dilation = 1`.
    pub(super) fn conv(&mut self, name: &str, input: &str, spec: ConvSpec) -> String {
        let conv = Conv2d {
            in_channels: spec.in_channels,
            out_channels: spec.out_channels,
            kernel: [spec.kernel; 2],
            stride: [spec.stride; 2],
            padding: [spec.padding; 2],
            dilation: [1, 1],
            groups: 1,
            bias: spec.bias,
        };
        self.push(name, &[input], Op::Conv2d(conv))
    }

    pub(super) fn batch_norm(
        &mut self,
        name: &str,
        input: &str,
        channels: usize,
        eps: f32,
    ) -> String {
        self.push(name, &[input], Op::BatchNorm { channels, eps })
    }

    pub(super) fn relu(&mut self, name: &str, input: &str) -> String {
        self.push(name, &[input], Op::Relu)
    }

    pub(super) fn add(&mut self, name: &str, inputs: &[&str]) -> String {
        self.push(name, inputs, Op::Add)
    }

    pub(super) fn concat(&mut self, name: &str, inputs: &[&str]) -> String {
        self.push(name, inputs, Op::Concat)
    }

    /// Adds a square max pool.
    pub(super) fn max_pool(
        &mut self,
        name: &str,
        input: &str,
        kernel: usize,
        stride: usize,
        padding: usize,
        ceil_mode: bool,
    ) -> String {
        let pool = Pool2d {
            kernel: [kernel; 2],
            stride: [stride; 2],
            padding: [padding; 2],
            ceil_mode,
        };
        self.push(name, &[input], Op::MaxPool(pool))
    }

    /// Adds global average pooling, flattening and the classifier, and
    /// returns the classifier's name.
    pub(super) fn classifier_head(
        &mut self,
        input: &str,
        features: usize,
        num_classes: usize,
    ) -> String {
        let pooled = self.push("avgpool", &[input], Op::GlobalAvgPool);
        let flat = self.push("flatten", &[&pooled], Op::Flatten);
        let linear = Op::Linear {
            in_features: features,
            out_features: num_classes,
            bias: true,
        };
        self.push("fc", &[&flat], linear)
    }

    /// Adds the optional bilinear resize at the graph input and returns the
    /// tensor the network's first layer reads.
    pub(super) fn input(&mut self, upsample_to: Option<usize>) -> String {
        match upsample_to {
            Some(size) => self.push("upsample", &[INPUT], Op::Upsample { size }),
            None => INPUT.to_string(),
        }
    }
}

/// Square convolution hyperparameters used by the zoo.
#[derive(Clone, Copy, Debug)]
pub(super) struct ConvSpec {
    pub(super) in_channels: usize,
    pub(super) out_channels: usize,
    pub(super) kernel: usize,
    pub(super) stride: usize,
    pub(super) padding: usize,
    pub(super) bias: bool,
}

impl ConvSpec {
    /// Bias-free `kernel x kernel` convolution with "same" padding for odd kernels.
    pub(super) fn same(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
    ) -> Self {
        ConvSpec {
            in_channels,
            out_channels,
            kernel,
            stride,
            padding: kernel / 2,
            bias: false,
        }
    }
}
