//! Checkpoints with random weights (fixed seeds) for the export tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ndarray::{Array4, ArrayD, IxDyn};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::checkpoint::{Checkpoint, LayerQuant, QuantSpec, Tensors};
use rpr_core::graph::{Conv2d, Model, Node, Op, INPUT};
use rpr_core::quant::{Bits, Granularity};
use rpr_core::zoo::{self, ZooConfig};

/// Fills every parameter of `model` with seeded random values and quantizes
/// every conv except the one reading the image input, as RPR trains them.
pub fn random_checkpoint(model: Model, bits: Option<Bits>, granularity: Granularity, seed: u64) -> Checkpoint {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tensors = Tensors::new();
    for spec in model.parameters() {
        let suffix = spec.name.rsplit('.').next().unwrap_or_default().to_string();
        let len: usize = spec.shape.iter().product();
        let values: Vec<f32> = match suffix.as_str() {
            "num_batches_tracked" => vec![0.0; len],
            "running_var" => (0..len).map(|_| rng.gen_range(0.5..1.5)).collect(),
            "running_mean" => (0..len).map(|_| rng.gen_range(-0.2..0.2)).collect(),
            "bias" => (0..len).map(|_| rng.gen_range(-0.1..0.1)).collect(),
            _ if spec.shape.len() == 1 => (0..len).map(|_| rng.gen_range(0.5..1.5)).collect(),
            _ => {
                // Uniform with variance 2 / fan_in keeps activations bounded
                // through deep nets.
                let fan_in: usize = spec.shape[1..].iter().product();
                let bound = (6.0 / fan_in as f32).sqrt();
                (0..len).map(|_| rng.gen_range(-bound..bound)).collect()
            }
        };
        tensors.insert(spec.name.clone(), ArrayD::from_shape_vec(IxDyn(&spec.shape), values).unwrap());
    }

    let quant = bits.map(|bits| {
        let mut layers = BTreeMap::new();
        for node in &model.nodes {
            let Op::Conv2d(_) = node.op else { continue };
            if node.inputs.iter().any(|input| input == INPUT) {
                continue;
            }
            let name = format!("{}.weight", node.name);
            let (weight, scales) = random_quantized(&tensors[&name], bits, granularity, &mut rng);
            tensors.insert(name, weight);
            layers.insert(node.name.clone(), LayerQuant { scales });
        }
        QuantSpec { bits, granularity, layers }
    });
    Checkpoint { model, quant, tensors }
}

/// Replaces `weight` by `scale[c] * code` with seeded random codes and
/// scales near its mean |w|, the form a quantized checkpoint stores.
fn random_quantized(
    weight: &ArrayD<f32>,
    bits: Bits,
    granularity: Granularity,
    rng: &mut ChaCha8Rng,
) -> (ArrayD<f32>, Vec<f32>) {
    let channels = weight.shape()[0];
    let per_channel = weight.len() / channels;
    let mean_abs = weight.iter().map(|w| w.abs()).sum::<f32>() / weight.len() as f32;
    let count = match granularity {
        Granularity::PerTensor => 1,
        Granularity::PerChannel => channels,
    };
    let scales: Vec<f32> = (0..count).map(|_| mean_abs * rng.gen_range(0.8..1.6)).collect();
    let values: Vec<f32> = (0..weight.len())
        .map(|index| {
            let scale = scales[if count == 1 { 0 } else { index / per_channel }];
            let draw = rng.next_u32();
            let code = match bits {
                Bits::Binary => if draw & 1 == 0 { 1.0 } else { -1.0 },
                Bits::Ternary => f32::from((draw % 3) as u8) - 1.0,
            };
            scale * code
        })
        .collect();
    (ArrayD::from_shape_vec(weight.raw_dim(), values).unwrap(), scales)
}

/// Builds a zoo architecture with random weights.
pub fn zoo_checkpoint(arch: &str, cfg: &ZooConfig, bits: Option<Bits>, seed: u64) -> Checkpoint {
    let model = zoo::build(arch, cfg).unwrap();
    random_checkpoint(model, bits, Granularity::PerChannel, seed)
}

fn conv(name: &str, input: &str, cin: usize, cout: usize, kernel: usize, stride: usize, bias: bool) -> Node {
    Node {
        name: name.into(),
        inputs: vec![input.into()],
        op: Op::Conv2d(Conv2d {
            in_channels: cin,
            out_channels: cout,
            kernel: [kernel, kernel],
            stride: [stride, stride],
            padding: [kernel / 2, kernel / 2],
            dilation: [1, 1],
            groups: 1,
            bias,
        }),
    }
}

fn node(name: &str, inputs: &[&str], op: Op) -> Node {
    Node { name: name.into(), inputs: inputs.iter().map(|s| s.to_string()).collect(), op }
}

/// A small residual net covering every folding case: a float conv with BN,
/// quantized convs with and without conv bias, a BN that cannot be folded
/// (its conv output also feeds another node), and K values that are not
/// multiples of 32 or 5.
pub fn tiny_model() -> Model {
    let bn = |channels| Op::BatchNorm { channels, eps: 1e-5 };
    Model {
        name: "tiny".into(),
        input_shape: [1, 8, 8],
        nodes: vec![
            conv("conv1", INPUT, 1, 8, 3, 1, false),
            node("bn1", &["conv1"], bn(8)),
            node("relu1", &["bn1"], Op::Relu),
            conv("block.conv1", "relu1", 8, 8, 3, 1, true),
            node("block.bn1", &["block.conv1"], bn(8)),
            node("block.relu1", &["block.bn1"], Op::Relu),
            conv("block.conv2", "block.relu1", 8, 12, 3, 2, false),
            node("block.bn2", &["block.conv2"], bn(12)),
            conv("block.shortcut", "relu1", 8, 12, 1, 2, false),
            // `block.shortcut` also feeds `shortcut_relu`, so this BN stays.
            node("block.shortcut_bn", &["block.shortcut"], bn(12)),
            node("shortcut_relu", &["block.shortcut"], Op::Relu),
            node("block.add", &["block.bn2", "block.shortcut_bn", "shortcut_relu"], Op::Add),
            node("block.relu2", &["block.add"], Op::Relu),
            node("pool", &["block.relu2"], Op::GlobalAvgPool),
            node("flatten", &["pool"], Op::Flatten),
            node("fc", &["flatten"], Op::Linear { in_features: 12, out_features: 10, bias: true }),
        ],
        output: "fc".into(),
    }
}

/// Builds seeded images `[n, c, h, w]` with values uniform in [-2, 2).
pub fn random_images(n: usize, shape: [usize; 3], seed: u64) -> Array4<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array4::from_shape_fn((n, shape[0], shape[1], shape[2]), |_| rng.gen_range(-2.0..2.0))
}

/// Maximum absolute difference and maximum absolute reference value.
pub fn max_diff(actual: &[f32], expected: &[f32]) -> (f32, f32) {
    assert_eq!(actual.len(), expected.len(), "output sizes differ");
    let diff = actual.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    let scale = expected.iter().map(|v| v.abs()).fold(0.0, f32::max);
    (diff, scale)
}
