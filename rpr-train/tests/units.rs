//! Small pieces: learning-rate schedule, level check, resume guards and the
//! `eval` command line.

mod common;

use std::process::Command;

use rpr_core::checkpoint::Checkpoint;
use rpr_core::quant::{Bits, Granularity, QuantConfig, ScaleNorm};
use rpr_train::method::{inq_schedule, Method, QuantSetup};
use rpr_train::net::Network;
use rpr_train::quantized::{check_levels, QuantPolicy, QuantizedLayers};
use rpr_train::train::{run, LrSchedule, RunInfo, TrainConfig};
use rpr_train::TrainError;
use tch::Device;

#[test]
fn cosine_schedule_endpoints() {
    let lr = LrSchedule::Cosine;
    assert_eq!(lr.at(0.1, 0, 100), 0.1);
    assert!((lr.at(0.1, 50, 100) - 0.05).abs() < 1e-12);
    assert!(lr.at(0.1, 100, 100).abs() < 1e-12);
    assert_eq!(LrSchedule::Constant.at(0.1, 70, 100), 0.1);
}

#[test]
fn inq_schedule_fractions() {
    let s = inq_schedule(2).unwrap();
    let at: Vec<f32> = (0..8).map(|e| s.ff_at(e)).collect();
    assert_eq!(at, [0.5, 0.5, 0.75, 0.75, 0.875, 0.875, 1.0, 1.0]);
}

#[test]
fn level_check_names_layer() {
    common::init_torch(21);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let cfg = QuantConfig { bits: Bits::Ternary, granularity: Granularity::PerChannel, norm: ScaleNorm::L2 };
    let layers = QuantizedLayers::new(&net, QuantPolicy::default(), &cfg).unwrap();
    let mut tensors = net.to_tensors().unwrap();
    for layer in &layers.layers {
        let weight = tensors.get_mut(&layer.weight_key).unwrap();
        for (w, q) in weight.iter_mut().zip(layer.quantized_values()) {
            *w = q;
        }
    }
    check_levels(&layers, &tensors).unwrap();

    let key = &layers.layers[1].weight_key;
    let weight = tensors.get_mut(key).unwrap();
    let first = weight.iter_mut().next().unwrap();
    *first += 1e-3;
    match check_levels(&layers, &tensors).unwrap_err() {
        TrainError::OffLevel { layer, count, index, .. } => {
            assert_eq!(layer, "layer1.conv2");
            assert_eq!(count, 1);
            assert_eq!(index, 0);
        }
        other => panic!("expected an off-level error, got {other}"),
    }
}

#[test]
fn resume_rejects_other_method() {
    let data = common::fashion_mnist_subsets(128, 64);
    let tmp = tempfile::tempdir().unwrap();
    common::init_torch(22);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let info = RunInfo { dataset: "test".into(), command: "cargo test".into() };
    let cfg = TrainConfig { stop_after_epochs: Some(1), ..common::quick_config(2, 0.01) };
    let setup = |method| QuantSetup {
        method,
        quant: QuantConfig::default(),
        policy: QuantPolicy::default(),
        schedule: "0:0.9,1:1.0".parse().unwrap(),
        repartition_every: None,
        clear_optimizer_state: true,
        calibration_batches: 2,
    };
    run(&net, &data, &cfg, Some(&setup(Method::Rpr)), &info, tmp.path()).unwrap();
    let resume = TrainConfig { resume: true, ..cfg };
    let error = run(&net, &data, &resume, Some(&setup(Method::Ste)), &info, tmp.path()).unwrap_err();
    assert!(matches!(error, TrainError::Resume { .. }), "{error}");
    assert!(error.to_string().contains("method `rpr`"), "{error}");
}

#[test]
fn resume_without_state_fails() {
    let data = common::fashion_mnist_subsets(64, 64);
    let tmp = tempfile::tempdir().unwrap();
    common::init_torch(23);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let info = RunInfo { dataset: "test".into(), command: "cargo test".into() };
    let cfg = TrainConfig { resume: true, ..common::quick_config(1, 0.01) };
    let error = run(&net, &data, &cfg, None, &info, tmp.path()).unwrap_err();
    assert!(error.to_string().contains("train_state.json"), "{error}");
}

#[test]
fn eval_command_counts_correct_images() {
    let tmp = tempfile::tempdir().unwrap();
    common::init_torch(24);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let checkpoint = Checkpoint { model: net.model().clone(), quant: None, tensors: net.to_tensors().unwrap() };
    checkpoint.save(tmp.path()).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_rpr-train"))
        .args(["eval", tmp.path().to_str().unwrap(), "--test-subset", "300", "--threads", "1"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["images"], 300);
    let correct = summary["correct"].as_u64().unwrap();
    let top1 = summary["top1"].as_f64().unwrap();
    assert!((top1 - correct as f64 / 300.0).abs() < 1e-12);
    assert!(summary["top5"].as_f64().unwrap() >= top1);
}

#[test]
fn eval_command_rejects_missing_checkpoint() {
    let output = Command::new(env!("CARGO_BIN_EXE_rpr-train"))
        .args(["eval", "/nonexistent/rpr-checkpoint"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/rpr-checkpoint"), "{stderr}");
}

#[test]
fn state_dict_safetensors_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("state_dict.safetensors");
    common::init_torch(25);
    let source = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    source.var_store().save(&path).unwrap();

    common::init_torch(26);
    let target = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    assert_ne!(target.to_tensors().unwrap(), source.to_tensors().unwrap(), "different seeds, different weights");
    target.load_state_dict_safetensors(&path).unwrap();
    assert_eq!(target.to_tensors().unwrap(), source.to_tensors().unwrap());
    assert_eq!(target.param("bn1.num_batches_tracked").unwrap().kind(), tch::Kind::Int64);
}

#[test]
fn state_dict_missing_key_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("partial.safetensors");
    common::init_torch(27);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let named: Vec<(String, tch::Tensor)> = net
        .params()
        .iter()
        .filter(|(k, _)| k.as_str() != "layer1.bn2.running_var")
        .map(|(k, v)| (k.clone(), v.shallow_clone()))
        .collect();
    tch::Tensor::write_safetensors(&named, &path).unwrap();
    let error = net.load_state_dict_safetensors(&path).unwrap_err();
    match &error {
        TrainError::Parameter { name, .. } => assert_eq!(name, "layer1.bn2.running_var"),
        other => panic!("expected a parameter error, got {other}"),
    }
    assert!(error.to_string().contains("missing"), "{error}");
}
