//! torchvision's GoogLeNet (Inception v1) without the auxiliary heads.
//!
//! Every conv is torchvision's `BasicConv2d`: a bias-free conv `*.conv`,
//! BatchNorm `*.bn` with eps 1e-3, and ReLU. As in torchvision, the
//! "5x5" branch (`branch3`) uses a 3x3 conv, and all max pools use
//! `ceil_mode`. Dropout is the identity in eval mode, so it has no node.
//!
//! NOTE: in torchvision 0.28, pretrained GoogLeNet weights expect
//! `transform_input=True`, which maps ImageNet-normalized inputs to the
//! `(x - 0.5) / 0.5` normalization the weights were trained with. This graph
//! has no node for that step, so callers feeding those weights must
//! normalize with mean 0.5 and std 0.5 per channel instead.

use super::builder::{ConvSpec, GraphBuilder};
use super::ZooConfig;
use crate::graph::Model;

/// BatchNorm eps of torchvision's `BasicConv2d`.
const BN_EPS: f32 = 1e-3;

/// Channel plan of one Inception block, in torchvision's argument order.
struct Inception {
    name: &'static str,
    in_channels: usize,
    ch1x1: usize,
    ch3x3_reduce: usize,
    ch3x3: usize,
    ch5x5_reduce: usize,
    ch5x5: usize,
    pool_proj: usize,
}

impl Inception {
    const fn new(name: &'static str, c: [usize; 7]) -> Self {
        Inception {
            name,
            in_channels: c[0],
            ch1x1: c[1],
            ch3x3_reduce: c[2],
            ch3x3: c[3],
            ch5x5_reduce: c[4],
            ch5x5: c[5],
            pool_proj: c[6],
        }
    }

    fn out_channels(&self) -> usize {
        self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj
    }
}

const STAGE3: [Inception; 2] = [
    Inception::new("inception3a", [192, 64, 96, 128, 16, 32, 32]),
    Inception::new("inception3b", [256, 128, 128, 192, 32, 96, 64]),
];
const STAGE4: [Inception; 5] = [
    Inception::new("inception4a", [480, 192, 96, 208, 16, 48, 64]),
    Inception::new("inception4b", [512, 160, 112, 224, 24, 64, 64]),
    Inception::new("inception4c", [512, 128, 128, 256, 24, 64, 64]),
    Inception::new("inception4d", [512, 112, 144, 288, 32, 64, 64]),
    Inception::new("inception4e", [528, 256, 160, 320, 32, 128, 128]),
];
const STAGE5: [Inception; 2] = [
    Inception::new("inception5a", [832, 256, 160, 320, 32, 128, 128]),
    Inception::new("inception5b", [832, 384, 192, 384, 48, 128, 128]),
];

/// Builds GoogLeNet.
pub(super) fn googlenet(cfg: &ZooConfig) -> Model {
    let mut g = GraphBuilder::new();
    let input = g.input(cfg.upsample_to);
    let x = basic_conv(
        &mut g,
        "conv1",
        &input,
        ConvSpec::same(cfg.input_channels, 64, 7, 2),
    );
    let x = g.max_pool("maxpool1", &x, 3, 2, 0, true);
    let x = basic_conv(&mut g, "conv2", &x, ConvSpec::same(64, 64, 1, 1));
    let x = basic_conv(&mut g, "conv3", &x, ConvSpec::same(64, 192, 3, 1));
    let mut x = g.max_pool("maxpool2", &x, 3, 2, 0, true);

    for block in &STAGE3 {
        x = inception(&mut g, block, &x);
    }
    x = g.max_pool("maxpool3", &x, 3, 2, 0, true);
    for block in &STAGE4 {
        x = inception(&mut g, block, &x);
    }
    x = g.max_pool("maxpool4", &x, 2, 2, 0, true);
    for block in &STAGE5 {
        x = inception(&mut g, block, &x);
    }

    let features = STAGE5[1].out_channels();
    let output = g.classifier_head(&x, features, cfg.num_classes);
    g.into_model("googlenet", cfg, output)
}

/// Adds conv `{name}.conv`, BN `{name}.bn` and ReLU `{name}.relu`.
fn basic_conv(g: &mut GraphBuilder, name: &str, input: &str, spec: ConvSpec) -> String {
    let x = g.conv(&format!("{name}.conv"), input, spec);
    let x = g.batch_norm(&format!("{name}.bn"), &x, spec.out_channels, BN_EPS);
    g.relu(&format!("{name}.relu"), &x)
}

/// Adds four branches and their channel concatenation, named after the block.
fn inception(g: &mut GraphBuilder, block: &Inception, input: &str) -> String {
    let p = block.name;
    let c = block.in_channels;
    let b1 = basic_conv(
        g,
        &format!("{p}.branch1"),
        input,
        ConvSpec::same(c, block.ch1x1, 1, 1),
    );

    let b2 = basic_conv(
        g,
        &format!("{p}.branch2.0"),
        input,
        ConvSpec::same(c, block.ch3x3_reduce, 1, 1),
    );
    let b2 = basic_conv(
        g,
        &format!("{p}.branch2.1"),
        &b2,
        ConvSpec::same(block.ch3x3_reduce, block.ch3x3, 3, 1),
    );

    let b3 = basic_conv(
        g,
        &format!("{p}.branch3.0"),
        input,
        ConvSpec::same(c, block.ch5x5_reduce, 1, 1),
    );
    let b3 = basic_conv(
        g,
        &format!("{p}.branch3.1"),
        &b3,
        ConvSpec::same(block.ch5x5_reduce, block.ch5x5, 3, 1),
    );

    let b4 = g.max_pool(&format!("{p}.branch4.0"), input, 3, 1, 1, true);
    let b4 = basic_conv(
        g,
        &format!("{p}.branch4.1"),
        &b4,
        ConvSpec::same(c, block.pool_proj, 1, 1),
    );

    g.concat(p, &[&b1, &b2, &b3, &b4])
}
