//! Model files with seeded random weights, built through the real exporter, and comparison
//! helpers for the engine tests.
#![allow(dead_code)]

use ndarray::{Array2, Array4, ArrayD, IxDyn};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::checkpoint::{Checkpoint, LayerQuant, QuantSpec, Tensors};
use rpr_core::graph::{Model, Op, INPUT};
use rpr_core::quant::{Bits, Granularity};
use rpr_core::zoo::{self, ZooConfig};
use rpr_export::calibrate::calibrate;
use rpr_export::packed::{encode_rpr, PackOptions};

/// A checkpoint and the `.rpr` bytes exported from it.
pub struct Fixture {
    pub checkpoint: Checkpoint,
    pub bytes: Vec<u8>,
}

/// Builds `arch` for `channels x size x size` input with 10 classes, fills it with seeded random
/// weights, quantizes every conv except those reading the image, calibrates on 4 random images
/// and exports it.
pub fn fixture(arch: &str, channels: usize, size: usize, bits: Bits, seed: u64) -> Fixture {
    let cfg = ZooConfig {
        input_channels: channels,
        input_size: size,
        num_classes: 10,
        upsample_to: None,
    };
    let model = zoo::build(arch, &cfg).expect("zoo architecture builds");
    fixture_for_model(model, bits, seed, false)
}

/// Like [`fixture`] for any model; `ternary3` stores ternary codes in base 3.
pub fn fixture_for_model(model: Model, bits: Bits, seed: u64, ternary3: bool) -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (tensors, quant) = random_tensors(&model, bits, &mut rng);
    let checkpoint = Checkpoint {
        model,
        quant: Some(quant),
        tensors,
    };

    let images = random_images(&mut rng, 4, checkpoint.model.input_shape);
    let calibration = calibrate(
        &checkpoint.model,
        &checkpoint.tensors,
        images.view(),
        "random",
        100.0,
        &mut |_| {},
    )
    .expect("calibration runs");
    let options = PackOptions {
        ternary3,
        calibration: Some(calibration),
    };
    let bytes = encode_rpr(&checkpoint, &options).expect("export succeeds");
    Fixture { checkpoint, bytes }
}

/// Seeded values for every parameter: BatchNorm statistics near identity, He-scaled float
/// weights, and for every conv not reading the graph input the weight `scale[c] * code` of
/// random codes. The codes come straight from random bits instead of from `quant::quantize`,
/// which keeps ResNet-50's 23 million weights cheap in debug builds.
pub fn random_tensors(model: &Model, bits: Bits, rng: &mut ChaCha8Rng) -> (Tensors, QuantSpec) {
    let quantized: Vec<&str> = model
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv2d(_)) && !n.inputs.iter().any(|i| i == INPUT))
        .map(|n| n.name.as_str())
        .collect();
    let mut quant = QuantSpec {
        bits,
        granularity: Granularity::PerChannel,
        layers: Default::default(),
    };
    let mut tensors = Tensors::new();
    for spec in model.parameters() {
        let len: usize = spec.shape.iter().product();
        let suffix = spec.name.rsplit('.').next().unwrap_or_default();
        let fan_in: usize = spec.shape.iter().skip(1).product();
        let values: Vec<f32> = match suffix {
            "num_batches_tracked" => vec![0.0; len],
            "running_mean" | "bias" => (0..len).map(|_| rng.gen_range(-0.1..0.1)).collect(),
            "running_var" | "weight" if spec.shape.len() == 1 => {
                (0..len).map(|_| rng.gen_range(0.6..1.4)).collect()
            }
            "weight" if quantized.contains(&spec.node.as_str()) => {
                let (values, scales) = random_codes(rng, spec.shape[0], fan_in, bits);
                quant
                    .layers
                    .insert(spec.node.clone(), LayerQuant { scales });
                values
            }
            _ => {
                let bound = (6.0 / fan_in as f32).sqrt();
                (0..len).map(|_| rng.gen_range(-bound..bound)).collect()
            }
        };
        tensors.insert(
            spec.name.clone(),
            ArrayD::from_shape_vec(IxDyn(&spec.shape), values).expect("shape fits"),
        );
    }
    (tensors, quant)
}

/// `rows x fan_in` weights `scale[row] * code` and the scales. Ternary codes are -1, 0, 0, +1
/// for the 2-bit values 0..=3 (half of the weights zero), binary codes -1, +1 for one bit.
fn random_codes(
    rng: &mut ChaCha8Rng,
    rows: usize,
    fan_in: usize,
    bits: Bits,
) -> (Vec<f32>, Vec<f32>) {
    let (bits_per_code, nonzero_fraction) = match bits {
        Bits::Ternary => (2, 0.5),
        Bits::Binary => (1, 1.0),
    };
    let he = (2.0 / (fan_in as f32 * nonzero_fraction)).sqrt();
    let scales: Vec<f32> = (0..rows).map(|_| he * rng.gen_range(0.8..1.2)).collect();
    let mut values = Vec::with_capacity(rows * fan_in);
    let mut word = 0u64;
    let mut left = 0;
    for &scale in &scales {
        for _ in 0..fan_in {
            if left < bits_per_code {
                word = rng.next_u64();
                left = 64;
            }
            let field = word & ((1 << bits_per_code) - 1);
            word >>= bits_per_code;
            left -= bits_per_code;
            let code = match (bits, field) {
                (Bits::Ternary, 0) | (Bits::Binary, 0) => -1.0,
                (Bits::Ternary, 3) | (Bits::Binary, 1) => 1.0,
                _ => 0.0,
            };
            values.push(scale * code);
        }
    }
    (values, scales)
}

/// Roughly normalized images: uniform in [-2, 2].
pub fn random_images(rng: &mut ChaCha8Rng, n: usize, [c, h, w]: [usize; 3]) -> Array4<f32> {
    Array4::from_shape_fn((n, c, h, w), |_| rng.gen_range(-2.0..2.0))
}

/// Largest absolute difference, and the largest absolute reference value.
pub fn max_abs_diff(actual: &Array2<f32>, expected: &Array2<f32>) -> (f32, f32) {
    assert_eq!(actual.dim(), expected.dim(), "logit shapes differ");
    let diff = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max);
    let scale = expected.iter().map(|e| e.abs()).fold(0.0, f32::max);
    (diff, scale)
}

/// Index of the largest value in each row.
pub fn top1(logits: &Array2<f32>) -> Vec<usize> {
    logits
        .outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
        })
        .collect()
}
