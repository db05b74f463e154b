//! RPR's partition semantics: what the optimizer may move and what a new
//! partition restores.

mod common;

use rpr_core::quant::{Bits, Granularity, QuantConfig, ScaleNorm};
use rpr_train::net::{io::tensor_to_array, BatchNormMode, Network};
use rpr_train::optim::{Optimizer, OptimizerKind};
use rpr_train::quantized::{QuantPolicy, QuantizedLayers, WeightMode};
use tch::{Device, Kind, Tensor};

fn ternary() -> QuantConfig {
    QuantConfig { bits: Bits::Ternary, granularity: Granularity::PerChannel, norm: ScaleNorm::L2 }
}

fn values(net: &Network, key: &str) -> Vec<f32> {
    tensor_to_array(net.param(key).unwrap(), key).unwrap().iter().copied().collect()
}

/// Runs `steps` SGD steps on random data with the partitioned weights.
fn train_steps(net: &Network, layers: &QuantizedLayers, optimizer: &mut Optimizer, steps: usize) {
    for layer in &layers.layers {
        optimizer.set_mask(&layer.weight_key, Some(layer.update_mask())).unwrap();
    }
    for _ in 0..steps {
        let images = Tensor::randn([8, 1, 28, 28], (Kind::Float, Device::Cpu));
        let labels = Tensor::randint(10, [8], (Kind::Int64, Device::Cpu));
        let overrides = layers.overrides(net, WeightMode::Partitioned).unwrap();
        let logits = net.forward(&images, BatchNormMode::TRAIN, &overrides).unwrap();
        let loss = logits.cross_entropy_for_logits(&labels);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step(0.5).unwrap();
    }
}

#[test]
fn frozen_entries_survive_momentum_and_decay() {
    common::init_torch(11);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let mut layers = QuantizedLayers::new(&net, QuantPolicy::default(), &ternary()).unwrap();
    layers.repartition(&net, 0.75, 3, 0).unwrap();
    let before: Vec<Vec<f32>> = layers.layers.iter().map(|l| values(&net, &l.weight_key)).collect();
    // Large weight decay and momentum: any leak onto frozen entries shows.
    let mut optimizer = Optimizer::new(OptimizerKind::Sgd { momentum: 0.9 }, 0.1, net.trainable());
    train_steps(&net, &layers, &mut optimizer, 3);

    for (layer, before) in layers.layers.iter().zip(&before) {
        let after = values(&net, &layer.weight_key);
        let mut relaxed_moved = 0;
        for i in 0..after.len() {
            if layer.relaxed[i] {
                relaxed_moved += usize::from(after[i] != before[i]);
            } else {
                assert_eq!(after[i].to_bits(), before[i].to_bits(), "{} entry {i} is frozen but moved", layer.node);
            }
        }
        assert_eq!(relaxed_moved, layer.relaxed_entries(), "{}: every relaxed entry should move", layer.node);
    }
}

#[test]
fn frozen_entries_use_quantized_values() {
    common::init_torch(12);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let mut layers = QuantizedLayers::new(&net, QuantPolicy::default(), &ternary()).unwrap();
    layers.repartition(&net, 0.9, 5, 0).unwrap();
    let overrides = layers.overrides(&net, WeightMode::Partitioned).unwrap();
    for layer in &layers.layers {
        let effective: Vec<f32> =
            tensor_to_array(&overrides[&layer.node], &layer.node).unwrap().iter().copied().collect();
        let latent = values(&net, &layer.weight_key);
        let quantized = layer.quantized_values();
        for i in 0..effective.len() {
            let want = if layer.relaxed[i] { latent[i] } else { quantized[i] };
            assert_eq!(effective[i].to_bits(), want.to_bits(), "{} entry {i}", layer.node);
        }
    }
}

#[test]
fn repartition_restores_latent_values() {
    common::init_torch(13);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let mut layers = QuantizedLayers::new(&net, QuantPolicy::default(), &ternary()).unwrap();
    layers.repartition(&net, 0.5, 9, 0).unwrap();
    let mut optimizer = Optimizer::new(OptimizerKind::Sgd { momentum: 0.9 }, 5e-4, net.trainable());
    train_steps(&net, &layers, &mut optimizer, 2);
    let latent: Vec<Vec<f32>> = layers.layers.iter().map(|l| values(&net, &l.weight_key)).collect();

    layers.repartition(&net, 0.5, 9, 1).unwrap();
    let overrides = layers.overrides(&net, WeightMode::Partitioned).unwrap();
    for (layer, latent) in layers.layers.iter().zip(&latent) {
        assert_eq!(&values(&net, &layer.weight_key), latent, "{}: re-partitioning changed W", layer.node);
        let effective: Vec<f32> =
            tensor_to_array(&overrides[&layer.node], &layer.node).unwrap().iter().copied().collect();
        let mut checked_off_level = 0;
        for i in 0..effective.len() {
            if layer.relaxed[i] {
                assert_eq!(effective[i].to_bits(), latent[i].to_bits(), "{} entry {i}", layer.node);
                if effective[i] != layer.quantized_values()[i] {
                    checked_off_level += 1;
                }
            }
        }
        // The latent values differ from their quantized levels almost
        // everywhere, so the check above is not vacuous.
        assert!(checked_off_level > layer.relaxed_entries() / 2, "{}", layer.node);
    }
}

#[test]
fn partition_relaxes_exact_count() {
    common::init_torch(14);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let mut layers = QuantizedLayers::new(&net, QuantPolicy::default(), &ternary()).unwrap();
    assert_eq!(
        layers.layers.iter().map(|l| l.node.as_str()).collect::<Vec<_>>(),
        ["layer1.conv1", "layer1.conv2", "layer2.conv1"],
        "the first conv and the classifier stay float by default"
    );
    layers.repartition(&net, 0.9, 1, 0).unwrap();
    for layer in &layers.layers {
        let expected = ((1.0 - 0.9f64) * layer.len() as f64).round() as usize;
        assert_eq!(layer.relaxed_entries(), expected, "{}", layer.node);
    }
}

#[test]
fn all_frozen_layers_get_no_gradient() {
    common::init_torch(15);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let mut layers = QuantizedLayers::new(&net, QuantPolicy::default(), &ternary()).unwrap();
    layers.repartition(&net, 1.0, 1, 0).unwrap();
    let before: Vec<Vec<f32>> = layers.layers.iter().map(|l| values(&net, &l.weight_key)).collect();
    let mut optimizer = Optimizer::new(OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, 0.1, net.trainable());
    let bn_before = values(&net, "layer1.bn1.weight");
    train_steps(&net, &layers, &mut optimizer, 2);
    for (layer, before) in layers.layers.iter().zip(&before) {
        assert_eq!(&values(&net, &layer.weight_key), before, "{}", layer.node);
    }
    assert_ne!(values(&net, "layer1.bn1.weight"), bn_before, "BatchNorm keeps training at FF 1");
}
