//! End-to-end runs on a few hundred Fashion-MNIST images with a small CNN:
//! RPR against post-training quantization, bit-exact resume, divergence guard.

mod common;

use std::path::Path;

use rpr_core::checkpoint::{read_safetensors, Checkpoint};
use rpr_core::quant::{Bits, Granularity, QuantConfig, ScaleNorm};
use rpr_train::data::DataSplits;
use rpr_train::method::{Method, QuantSetup};
use rpr_train::metrics::Report;
use rpr_train::eval::evaluate;
use rpr_train::net::{Network, WeightOverrides};
use rpr_train::quantized::QuantPolicy;
use rpr_train::setup::load_network;
use rpr_train::train::{run, Outcome, RunInfo, TrainConfig};
use rpr_train::TrainError;
use tch::Device;

fn info() -> RunInfo {
    RunInfo { dataset: "fashion-mnist (test subsets)".into(), command: "cargo test".into() }
}

fn setup(method: Method, bits: Bits, schedule: &str) -> QuantSetup {
    QuantSetup {
        method,
        quant: QuantConfig { bits, granularity: Granularity::PerChannel, norm: ScaleNorm::L2 },
        policy: QuantPolicy::default(),
        schedule: schedule.parse().unwrap(),
        repartition_every: None,
        clear_optimizer_state: true,
        calibration_batches: 8,
    }
}

fn finished(outcome: Outcome) -> Report {
    match outcome {
        Outcome::Finished(report) => *report,
        Outcome::Stopped { epochs_done } => panic!("run stopped after {epochs_done} epochs"),
    }
}

/// Pretrains the small CNN in float and returns its checkpoint directory.
fn pretrain(data: &DataSplits, epochs: usize, dir: &Path) -> Report {
    common::init_torch(1);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let cfg = TrainConfig { batch_size: 32, ..common::quick_config(epochs, 0.05) };
    finished(run(&net, data, &cfg, None, &info(), dir).unwrap())
}

#[test]
fn rpr_beats_post_training_quantization() {
    let data = common::fashion_mnist_subsets(2000, 500);
    let tmp = tempfile::tempdir().unwrap();
    let float = pretrain(&data, 4, &tmp.path().join("float"));
    assert!(float.top1 > 0.5, "float pretraining reached only {}", float.top1);

    let retrain = |method: Method| {
        common::init_torch(2);
        let (net, _) = load_network(&tmp.path().join("float"), Device::Cpu).unwrap();
        let mut cfg = common::quick_config(2, 0.01);
        cfg.optimizer = "adam".parse().unwrap();
        cfg.weight_decay = 0.0;
        let out = tmp.path().join(method.as_str());
        finished(run(&net, &data, &cfg, Some(&setup(method, Bits::Binary, "0:0.9,1:1.0")), &info(), &out).unwrap())
    };
    let ptq = retrain(Method::Ptq);
    let rpr = retrain(Method::Rpr);
    eprintln!("top-1: float {:.3}, PTQ binary {:.3}, RPR binary {:.3}", float.top1, ptq.top1, rpr.top1);
    assert_eq!(rpr.fp_top1, Some(float.top1), "both start from the same float checkpoint");
    assert!(
        rpr.top1 > ptq.top1 + 0.02,
        "RPR top-1 {} should beat PTQ top-1 {} by more than 2 points",
        rpr.top1,
        ptq.top1
    );

    // The saved checkpoint evaluates to the reported count, through the
    // library and through `rpr-train eval`.
    let (reloaded, _) = load_network(&tmp.path().join("rpr"), Device::Cpu).unwrap();
    let accuracy = evaluate(&reloaded, &data, &WeightOverrides::new(), 100).unwrap();
    assert_eq!(accuracy.correct, rpr.correct, "reloaded checkpoint count");
    assert_eq!(accuracy.images, 500);

    // The saved checkpoint holds only quantized levels.
    let saved = Checkpoint::load(&tmp.path().join("rpr")).unwrap();
    let quant = saved.quant.as_ref().expect("quant.json is written");
    assert_eq!(quant.bits, Bits::Binary);
    assert_eq!(quant.layers.len(), 3);
    for (node, layer) in &quant.layers {
        let weight = &saved.tensors[&format!("{node}.weight")];
        let per_channel = weight.len() / layer.scales.len();
        for (i, &w) in weight.iter().enumerate() {
            let s = layer.scales[i / per_channel];
            assert!(w == s || w == -s, "{node} entry {i} = {w} is not +-{s}");
        }
    }
}

#[test]
fn resume_matches_uninterrupted_run() {
    let data = common::fashion_mnist_subsets(256, 100);
    let tmp = tempfile::tempdir().unwrap();
    pretrain(&data, 1, &tmp.path().join("float"));
    let cfg = |stop: Option<usize>, resume: bool| TrainConfig {
        stop_after_epochs: stop,
        resume,
        ..common::quick_config(3, 0.01)
    };
    let rpr = setup(Method::Rpr, Bits::Ternary, "0:0.8,1:0.9,2:1.0");
    let start = || load_network(&tmp.path().join("float"), Device::Cpu).unwrap().0;

    let straight = tmp.path().join("straight");
    finished(run(&start(), &data, &cfg(None, false), Some(&rpr), &info(), &straight).unwrap());

    let split = tmp.path().join("split");
    match run(&start(), &data, &cfg(Some(1), false), Some(&rpr), &info(), &split).unwrap() {
        Outcome::Stopped { epochs_done } => assert_eq!(epochs_done, 1),
        Outcome::Finished(_) => panic!("the first session should stop after one epoch"),
    }
    finished(run(&start(), &data, &cfg(None, true), Some(&rpr), &info(), &split).unwrap());

    let a = read_safetensors(&straight.join("weights.safetensors")).unwrap();
    let b = read_safetensors(&split.join("weights.safetensors")).unwrap();
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (key, value) in &a {
        assert_eq!(value, &b[key], "tensor `{key}` differs after resume");
    }
    let latent_a = read_safetensors(&straight.join("train_state.safetensors")).unwrap();
    let latent_b = read_safetensors(&split.join("train_state.safetensors")).unwrap();
    assert_eq!(latent_a, latent_b, "latent weights and optimizer state differ after resume");
}

#[test]
fn divergence_stops_with_epoch_and_step() {
    let data = common::fashion_mnist_subsets(256, 100);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("float");
    common::init_torch(3);
    let net = Network::new(common::tiny_cnn(), Device::Cpu).unwrap();
    let first = TrainConfig { stop_after_epochs: Some(1), ..common::quick_config(3, 0.05) };
    run(&net, &data, &first, None, &info(), &dir).unwrap();
    let state_before = std::fs::read(dir.join("train_state.safetensors")).unwrap();
    let weights_before = std::fs::read(dir.join("weights.safetensors")).unwrap();

    let exploding = TrainConfig { resume: true, lr: 1e30, ..common::quick_config(3, 0.05) };
    let error = run(&net, &data, &exploding, None, &info(), &dir).unwrap_err();
    match error {
        TrainError::Diverged { epoch, step, loss } => {
            assert_eq!(epoch, 1, "the second epoch diverges");
            assert!(step >= 1, "the first step still has finite weights, got step {step}");
            assert!(!loss.is_finite());
        }
        other => panic!("expected a divergence error, got {other}"),
    }
    assert_eq!(std::fs::read(dir.join("train_state.safetensors")).unwrap(), state_before);
    assert_eq!(std::fs::read(dir.join("weights.safetensors")).unwrap(), weights_before);
}
