//! The tch interpreter against the naive reference executor of rpr-core,
//! and parameter keys against torchvision's `state_dict` keys.

mod common;

use ndarray::Array4;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rpr_core::checkpoint::Tensors;
use rpr_core::graph::{Model, ParamKind};
use rpr_core::reference;
use rpr_core::zoo::{build, ZooConfig};
use rpr_train::net::io::{array_to_tensor, tensor_to_array};
use rpr_train::net::{BatchNormMode, Network, WeightOverrides};
use tch::{Device, Kind, Tensor};

/// Random parameters with sane magnitudes: He-scaled weights, BatchNorm
/// statistics away from the identity so mistakes in their use show. Drawn
/// with libtorch's seeded generator because millions of draws in a debug
/// build of a Rust generator take seconds.
fn random_tensors(model: &Model) -> Tensors {
    let mut tensors = Tensors::new();
    for spec in model.parameters() {
        let shape: Vec<i64> = spec.shape.iter().map(|&d| d as i64).collect();
        let fan_in: usize = spec.shape.iter().skip(1).product::<usize>().max(1);
        let normal = |scale: f64, offset: f64| Tensor::randn(&shape, (Kind::Float, Device::Cpu)) * scale + offset;
        let values = match spec.kind {
            ParamKind::ConvWeight | ParamKind::LinearWeight => normal((2.0 / fan_in as f64).sqrt(), 0.0),
            ParamKind::ConvBias | ParamKind::LinearBias | ParamKind::BnBias => normal(0.1, 0.0),
            ParamKind::BnWeight => normal(0.2, 1.0),
            ParamKind::BnRunningMean => normal(0.2, 0.0),
            ParamKind::BnRunningVar => Tensor::rand(&shape, (Kind::Float, Device::Cpu)) + 0.5,
            ParamKind::BnNumBatchesTracked => Tensor::zeros(&shape, (Kind::Float, Device::Cpu)),
        };
        tensors.insert(spec.name.clone(), tensor_to_array(&values, &spec.name).unwrap());
    }
    tensors
}

fn assert_matches_reference(arch: &str, cfg: ZooConfig, batch: usize, seed: u64) {
    common::init_torch(seed as i64);
    let model = build(arch, &cfg).unwrap();
    let tensors = random_tensors(&model);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let [c, h, w] = model.input_shape;
    let input = Array4::from_shape_fn((batch, c, h, w), |_| rng.sample::<f32, _>(StandardNormal));

    let expected = reference::run(&model, &tensors, input.view()).unwrap();

    let net = Network::new(model, Device::Cpu).unwrap();
    net.load_tensors(&tensors, std::path::Path::new("random")).unwrap();
    let x = array_to_tensor(&input.into_dyn(), Device::Cpu);
    let logits = tch::no_grad(|| net.forward(&x, BatchNormMode::Eval, &WeightOverrides::new())).unwrap();
    let got = tensor_to_array(&logits, "logits").unwrap();

    assert_eq!(got.shape(), expected.shape(), "{arch}: logits shape");
    let max_logit = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max_logit > 1e-3, "{arch}: logits are all near zero, the comparison would be vacuous");
    let max_diff = got.iter().zip(expected.iter()).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        max_diff <= 1e-4 * max_logit,
        "{arch}: max |tch - reference| = {max_diff}, max |logit| = {max_logit}"
    );
}

#[test]
fn resnet20_matches_reference() {
    assert_matches_reference("resnet20", ZooConfig::default(), 2, 20);
}

#[test]
fn resnet18_matches_reference_with_upsample() {
    let cfg = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: Some(40) };
    assert_matches_reference("resnet18", cfg, 2, 18);
}

#[test]
fn resnet50_matches_reference() {
    let cfg = ZooConfig { input_channels: 3, input_size: 32, num_classes: 10, upsample_to: None };
    assert_matches_reference("resnet50", cfg, 1, 50);
}

#[test]
fn googlenet_matches_reference() {
    let cfg = ZooConfig { input_channels: 3, input_size: 40, num_classes: 10, upsample_to: None };
    assert_matches_reference("googlenet", cfg, 2, 101);
}

/// A few keys and shapes of `torchvision.models.<arch>().state_dict()`.
/// The zoo tests of rpr-core compare the full lists with the model
/// description, so this test checks that the variable store equals the
/// description's parameter list and spot-checks these entries.
const TORCHVISION_KEYS: &[(&str, &str, &[i64])] = &[
    ("resnet18", "conv1.weight", &[64, 3, 7, 7]),
    ("resnet18", "layer2.0.downsample.0.weight", &[128, 64, 1, 1]),
    ("resnet18", "layer4.1.bn2.running_var", &[512]),
    ("resnet18", "fc.weight", &[1000, 512]),
    ("resnet50", "layer3.5.conv3.weight", &[1024, 256, 1, 1]),
    ("resnet50", "layer1.0.downsample.1.num_batches_tracked", &[]),
    ("googlenet", "conv1.conv.weight", &[64, 3, 7, 7]),
    ("googlenet", "inception4a.branch2.1.conv.weight", &[208, 96, 3, 3]),
    ("googlenet", "inception5b.branch4.1.bn.running_mean", &[128]),
    ("googlenet", "fc.bias", &[1000]),
];

#[test]
fn variable_store_uses_torchvision_keys() {
    common::init_torch(5);
    let imagenet = ZooConfig { input_channels: 3, input_size: 224, num_classes: 1000, upsample_to: None };
    for arch in ["resnet18", "resnet50", "googlenet"] {
        let model = build(arch, &imagenet).unwrap();
        let expected: Vec<String> = model.parameters().into_iter().map(|p| p.name).collect();
        let net = Network::new(model, Device::Cpu).unwrap();
        let variables = net.var_store().variables();
        let mut stored: Vec<String> = variables.keys().cloned().collect();
        stored.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(stored, want, "{arch}: var store keys");
        for (key_arch, key, shape) in TORCHVISION_KEYS.iter().filter(|(a, _, _)| *a == arch) {
            let t = variables.get(*key).unwrap_or_else(|| panic!("{key_arch}: `{key}` missing"));
            assert_eq!(t.size(), shape.to_vec(), "{key_arch}: `{key}` shape");
            let kind = if key.ends_with("num_batches_tracked") { Kind::Int64 } else { Kind::Float };
            assert_eq!(t.kind(), kind, "{key_arch}: `{key}` dtype");
        }
    }
}
