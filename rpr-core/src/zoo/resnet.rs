//! ResNets: the CIFAR variants (resnet20/32/56) and torchvision's ImageNet
//! variants (resnet18 with basic blocks, resnet50 with bottlenecks).
//!
//! Node names equal torchvision's module paths. In the CIFAR variants, a
//! stage that changes width or resolution gets a 1x1 conv + BN downsample
//! (`layerX.0.downsample.0` / `.1`), the same naming torchvision uses.

use super::builder::{ConvSpec, GraphBuilder};
use super::ZooConfig;
use crate::graph::Model;

/// BatchNorm eps of every ResNet (PyTorch's default).
const BN_EPS: f32 = 1e-5;

/// Builds a CIFAR ResNet with `blocks` basic blocks per stage (depth `6 * blocks + 2`).
pub(super) fn cifar(name: &str, blocks: usize, cfg: &ZooConfig) -> Model {
    let mut g = GraphBuilder::new();
    let input = g.input(cfg.upsample_to);
    let x = g.conv(
        "conv1",
        &input,
        ConvSpec::same(cfg.input_channels, 16, 3, 1),
    );
    let x = g.batch_norm("bn1", &x, 16, BN_EPS);
    let mut x = g.relu("relu", &x);

    let mut channels = 16;
    for (stage, width) in [16, 32, 64].into_iter().enumerate() {
        for block in 0..blocks {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let prefix = format!("layer{}.{block}", stage + 1);
            x = basic_block(&mut g, &prefix, &x, channels, width, stride);
            channels = width;
        }
    }
    let output = g.classifier_head(&x, channels, cfg.num_classes);
    g.into_model(name, cfg, output)
}

/// Builds torchvision's ResNet-18.
pub(super) fn resnet18(cfg: &ZooConfig) -> Model {
    imagenet("resnet18", [2, 2, 2, 2], Block::Basic, cfg)
}

/// Builds torchvision's ResNet-50 (stride on the 3x3 conv, as torchvision's v1.5).
pub(super) fn resnet50(cfg: &ZooConfig) -> Model {
    imagenet("resnet50", [3, 4, 6, 3], Block::Bottleneck, cfg)
}

#[derive(Clone, Copy, PartialEq)]
enum Block {
    Basic,
    Bottleneck,
}

fn imagenet(name: &str, blocks: [usize; 4], kind: Block, cfg: &ZooConfig) -> Model {
    let expansion = match kind {
        Block::Basic => 1,
        Block::Bottleneck => 4,
    };
    let mut g = GraphBuilder::new();
    let input = g.input(cfg.upsample_to);
    let x = g.conv(
        "conv1",
        &input,
        ConvSpec::same(cfg.input_channels, 64, 7, 2),
    );
    let x = g.batch_norm("bn1", &x, 64, BN_EPS);
    let x = g.relu("relu", &x);
    let mut x = g.max_pool("maxpool", &x, 3, 2, 1, false);

    let mut channels = 64;
    for (stage, (width, count)) in [64, 128, 256, 512].into_iter().zip(blocks).enumerate() {
        for block in 0..count {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let prefix = format!("layer{}.{block}", stage + 1);
            x = match kind {
                Block::Basic => basic_block(&mut g, &prefix, &x, channels, width, stride),
                Block::Bottleneck => bottleneck(&mut g, &prefix, &x, channels, width, stride),
            };
            channels = width * expansion;
        }
    }
    let output = g.classifier_head(&x, channels, cfg.num_classes);
    g.into_model(name, cfg, output)
}

/// Two 3x3 convs with an identity or 1x1 projection shortcut.
fn basic_block(
    g: &mut GraphBuilder,
    prefix: &str,
    input: &str,
    in_channels: usize,
    width: usize,
    stride: usize,
) -> String {
    let x = g.conv(
        &format!("{prefix}.conv1"),
        input,
        ConvSpec::same(in_channels, width, 3, stride),
    );
    let x = g.batch_norm(&format!("{prefix}.bn1"), &x, width, BN_EPS);
    let x = g.relu(&format!("{prefix}.relu1"), &x);
    let x = g.conv(
        &format!("{prefix}.conv2"),
        &x,
        ConvSpec::same(width, width, 3, 1),
    );
    let x = g.batch_norm(&format!("{prefix}.bn2"), &x, width, BN_EPS);
    let shortcut = shortcut(g, prefix, input, in_channels, width, stride);
    let sum = g.add(&format!("{prefix}.add"), &[&x, &shortcut]);
    g.relu(&format!("{prefix}.relu2"), &sum)
}

/// 1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4, plus shortcut.
fn bottleneck(
    g: &mut GraphBuilder,
    prefix: &str,
    input: &str,
    in_channels: usize,
    width: usize,
    stride: usize,
) -> String {
    let out_channels = width * 4;
    let x = g.conv(
        &format!("{prefix}.conv1"),
        input,
        ConvSpec::same(in_channels, width, 1, 1),
    );
    let x = g.batch_norm(&format!("{prefix}.bn1"), &x, width, BN_EPS);
    let x = g.relu(&format!("{prefix}.relu1"), &x);
    let x = g.conv(
        &format!("{prefix}.conv2"),
        &x,
        ConvSpec::same(width, width, 3, stride),
    );
    let x = g.batch_norm(&format!("{prefix}.bn2"), &x, width, BN_EPS);
    let x = g.relu(&format!("{prefix}.relu2"), &x);
    let x = g.conv(
        &format!("{prefix}.conv3"),
        &x,
        ConvSpec::same(width, out_channels, 1, 1),
    );
    let x = g.batch_norm(&format!("{prefix}.bn3"), &x, out_channels, BN_EPS);
    let shortcut = shortcut(g, prefix, input, in_channels, out_channels, stride);
    let sum = g.add(&format!("{prefix}.add"), &[&x, &shortcut]);
    g.relu(&format!("{prefix}.relu3"), &sum)
}

/// Returns the identity when shapes match, else a 1x1 conv + BN projection
/// named `{prefix}.downsample.0` / `.1`.
fn shortcut(
    g: &mut GraphBuilder,
    prefix: &str,
    input: &str,
    in_channels: usize,
    out_channels: usize,
    stride: usize,
) -> String {
    if stride == 1 && in_channels == out_channels {
        return input.to_string();
    }
    let projection = ConvSpec::same(in_channels, out_channels, 1, stride);
    let x = g.conv(&format!("{prefix}.downsample.0"), input, projection);
    g.batch_norm(&format!("{prefix}.downsample.1"), &x, out_channels, BN_EPS)
}
