//! The `rpr-export` binary: exports, summaries, and bad checkpoints that must
//! fail with a clear message and leave no output file behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{ArrayD, IxDyn};
use rpr_core::checkpoint::{write_safetensors, Checkpoint};
use rpr_core::graph::Op;
use rpr_core::quant::{Bits, Granularity};
use rpr_core::zoo::ZooConfig;
use rpr_export::packed::RprFile;

use common::{random_checkpoint, tiny_model, zoo_checkpoint};

fn rpr_export(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rpr-export")).args(args).env("RUST_LOG", "warn").output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes the checkpoint files without validation, so broken checkpoints
/// can be written too.
fn write_unchecked(checkpoint: &Checkpoint, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("model.json"), checkpoint.model.to_json()).unwrap();
    if let Some(quant) = &checkpoint.quant {
        std::fs::write(dir.join("quant.json"), serde_json::to_string(quant).unwrap()).unwrap();
    }
    write_safetensors(&dir.join("weights.safetensors"), &checkpoint.tensors).unwrap();
}

fn tiny_checkpoint() -> Checkpoint {
    random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerChannel, 47)
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `--packed` and `--onnx` on a broken checkpoint and checks that both
/// fail, name `expected` in the message and keep an existing output intact.
fn assert_rejected(checkpoint: &Checkpoint, expected: &[&str], case: &str) {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    write_unchecked(checkpoint, &checkpoint_dir);
    for (flag, name) in [("--packed", "model.rpr"), ("--onnx", "model.onnx")] {
        let fresh: PathBuf = dir.path().join(name);
        let output = rpr_export(&[flag, path_str(&checkpoint_dir), "-o", path_str(&fresh)]);
        let message = stderr(&output);
        assert!(!output.status.success(), "{case} {flag}: export succeeded");
        for word in expected {
            assert!(message.contains(word), "{case} {flag}: `{word}` missing from: {message}");
        }
        assert!(!message.contains("panicked"), "{case} {flag}: panic: {message}");
        assert!(!fresh.exists(), "{case} {flag}: output file created");

        let existing = dir.path().join(format!("existing-{name}"));
        std::fs::write(&existing, b"previous export").unwrap();
        let output = rpr_export(&[flag, path_str(&checkpoint_dir), "-o", path_str(&existing)]);
        assert!(!output.status.success());
        assert_eq!(std::fs::read(&existing).unwrap(), b"previous export", "{case} {flag}: existing output changed");
    }
}

#[test]
fn packed_export_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    tiny_checkpoint().save(&checkpoint_dir).unwrap();
    let out = dir.path().join("tiny.rpr");

    let output = rpr_export(&["--packed", path_str(&checkpoint_dir), "-o", path_str(&out)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let file = RprFile::open(&out).unwrap();
    assert_eq!(file.model().name, "tiny");

    let output = rpr_export(&["summary", path_str(&out)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8(output.stdout).unwrap();
    for word in ["layer", "compression", "block.conv1", "ternary (2 bits)", "fc", "f32", "total"] {
        assert!(table.contains(word), "`{word}` missing from the summary:\n{table}");
    }

    let output = rpr_export(&["summary", "--json", path_str(&out)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let layers = json["layers"].as_array().unwrap();
    let params: u64 = layers.iter().map(|l| l["params"].as_u64().unwrap()).sum();
    assert_eq!(json["total_params"].as_u64().unwrap(), params);
    let conv2 = layers.iter().find(|l| l["layer"] == "block.conv2").unwrap();
    // 12 x 8 x 3 x 3 codes plus a scale and a bias per output channel.
    assert_eq!(conv2["params"].as_u64().unwrap(), 12 * 72 + 24);
    // MACs: 12 output channels x 4 x 4 positions x 72 weights.
    assert_eq!(conv2["macs"].as_u64().unwrap(), 12 * 16 * 72);
    // K = 72 pads to 96: 2 planes x 3 words x 4 bytes per row, plus 24 f32.
    assert_eq!(conv2["packed_bytes"].as_u64().unwrap(), 12 * 24 + 24 * 4);
}

#[test]
fn ternary3_is_smaller() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    zoo_checkpoint("resnet20", &ZooConfig::default(), Some(Bits::Ternary), 53).save(&checkpoint_dir).unwrap();
    let (two_bit, base3) = (dir.path().join("t2.rpr"), dir.path().join("t3.rpr"));
    assert!(rpr_export(&["--packed", path_str(&checkpoint_dir), "-o", path_str(&two_bit)]).status.success());
    let output = rpr_export(&["--packed", path_str(&checkpoint_dir), "--ternary3", "-o", path_str(&base3)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (size2, size3) = (std::fs::metadata(&two_bit).unwrap().len(), std::fs::metadata(&base3).unwrap().len());
    // 1.6 bits instead of 2 per weight on the packed layers.
    assert!(size3 < size2 * 9 / 10, "base-3 file {size3} B vs 2-bit file {size2} B");
}

#[test]
fn off_grid_weights_rejected() {
    let mut checkpoint = tiny_checkpoint();
    let scale = checkpoint.quant.as_ref().unwrap().layers["block.conv2"].scales[0];
    let weight = checkpoint.tensors.get_mut("block.conv2.weight").unwrap();
    weight[[0, 0, 0, 0]] = 0.5 * scale;
    weight[[0, 1, 0, 0]] = 0.3 * scale;
    assert_rejected(&checkpoint, &["block.conv2", "2"], "off-grid");
}

#[test]
fn missing_tensor_rejected() {
    let mut checkpoint = tiny_checkpoint();
    checkpoint.tensors.remove("block.bn1.running_var");
    assert_rejected(&checkpoint, &["block.bn1.running_var"], "missing tensor");
}

#[test]
fn extra_tensor_rejected() {
    let mut checkpoint = tiny_checkpoint();
    checkpoint.tensors.insert("decoder.weight".into(), ArrayD::zeros(IxDyn(&[3])));
    assert_rejected(&checkpoint, &["decoder.weight"], "extra tensor");
}

#[test]
fn shape_mismatch_rejected() {
    let mut checkpoint = tiny_checkpoint();
    checkpoint.tensors.insert("fc.weight".into(), ArrayD::zeros(IxDyn(&[10, 13])));
    assert_rejected(&checkpoint, &["fc.weight"], "shape mismatch");
}

#[test]
fn nan_weight_rejected() {
    let mut checkpoint = tiny_checkpoint();
    checkpoint.tensors.get_mut("block.bn2.bias").unwrap()[[3]] = f32::NAN;
    assert_rejected(&checkpoint, &["block.bn2.bias"], "NaN");
    checkpoint.tensors.get_mut("block.bn2.bias").unwrap()[[3]] = f32::INFINITY;
    assert_rejected(&checkpoint, &["block.bn2.bias"], "inf");
}

#[test]
fn unknown_op_rejected() {
    let checkpoint = tiny_checkpoint();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    write_unchecked(&checkpoint, &checkpoint_dir);
    let json = checkpoint.model.to_json().replacen("\"relu\"", "\"gelu\"", 1);
    assert_ne!(json, checkpoint.model.to_json(), "the test must change an op");
    std::fs::write(checkpoint_dir.join("model.json"), json).unwrap();
    let out = dir.path().join("model.rpr");
    let output = rpr_export(&["--packed", path_str(&checkpoint_dir), "-o", path_str(&out)]);
    let message = stderr(&output);
    assert!(!output.status.success());
    assert!(message.contains("gelu"), "{message}");
    assert!(!out.exists());
}

#[test]
fn invalid_flags_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    random_checkpoint(tiny_model(), Some(Bits::Binary), Granularity::PerChannel, 59).save(&checkpoint_dir).unwrap();
    let out = dir.path().join("out");
    let ckpt = path_str(&checkpoint_dir);
    let cases: [(&[&str], &str); 5] = [
        (&["--packed", ckpt, "--ternary3", "-o", path_str(&out)], "--ternary3 needs a ternary model"),
        (&["--onnx", ckpt, "--qdq", "-o", path_str(&out)], "--qdq needs activation scales"),
        (&["--packed", ckpt], "missing -o/--output"),
        (&["--packed", ckpt, "--onnx-float", "-o", path_str(&out)], "apply to --onnx only"),
        (&["--packed", ckpt, "--calibrate", "2", "--percentile", "0", "-o", path_str(&out)], ""),
    ];
    for (args, expected) in cases {
        let output = rpr_export(args);
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(message.contains(expected), "{args:?}: `{expected}` missing from: {message}");
        assert!(!out.exists(), "{args:?} created an output file");
    }
    let output = rpr_export(&["--packed", ckpt, "-o", path_str(&out)]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn float_checkpoint_needs_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    random_checkpoint(tiny_model(), None, Granularity::PerChannel, 61).save(&checkpoint_dir).unwrap();
    let out = dir.path().join("model.rpr");
    let output = rpr_export(&["--packed", path_str(&checkpoint_dir), "-o", path_str(&out)]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--onnx"), "{}", stderr(&output));
    let onnx = dir.path().join("model.onnx");
    let output = rpr_export(&["--onnx", path_str(&checkpoint_dir), "-o", path_str(&onnx)]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn calibrate_on_fashion_mnist() {
    if !Path::new("/usr/share/datasets/fashion-mnist").exists() {
        eprintln!("skipped: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        return;
    }
    let cfg = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: None };
    let mut model = zoo_checkpoint("resnet20", &cfg, None, 0).model;
    model.name = "resnet20-fashion".into();
    let checkpoint = random_checkpoint(model, Some(Bits::Ternary), Granularity::PerChannel, 67);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    checkpoint.save(&checkpoint_dir).unwrap();
    let ckpt = path_str(&checkpoint_dir);

    let max_path = dir.path().join("max.rpr");
    let output = rpr_export(&["--packed", ckpt, "--calibrate", "4", "-o", path_str(&max_path)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let p99_path = dir.path().join("p99.rpr");
    let args = ["--packed", ckpt, "--calibrate", "4", "--percentile", "99", "-o", path_str(&p99_path)];
    let output = rpr_export(&args);
    assert!(output.status.success(), "{}", stderr(&output));

    let (max, p99) = (RprFile::open(&max_path).unwrap(), RprFile::open(&p99_path).unwrap());
    let info = max.calibration().unwrap();
    assert_eq!((info.samples, info.percentile), (4, 100.0));
    assert!(info.dataset.contains("fashion-mnist"), "{}", info.dataset);
    // Every remaining node output and the input have a scale.
    assert_eq!(max.activations().len(), max.model().nodes.len() + 1);
    let input = max.activation_quant("input").unwrap();
    assert!(!input.unsigned, "normalized images have negative values");
    // Outputs of ReLU are non-negative, so they use the u8 range.
    let relus: Vec<&str> =
        max.model().nodes.iter().filter(|n| matches!(n.op, Op::Relu)).map(|n| n.name.as_str()).collect();
    assert!(!relus.is_empty());
    for relu in relus {
        assert!(max.activation_quant(relu).unwrap().unsigned, "{relu} should use the u8 range");
    }
    for (tensor, quant) in max.activations() {
        let clipped = p99.activation_scale(tensor).unwrap();
        assert!(clipped <= quant.scale, "{tensor}: 99th percentile scale {clipped} above max scale {}", quant.scale);
    }
}
