//! ONNX export checked against the reference executor, in tract and, when
//! the project venv has onnx and onnxruntime, in the ONNX checker and ONNX
//! Runtime.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::Array4;
use onnx_protobuf::Message as _;
use rpr_core::checkpoint::Checkpoint;
use rpr_core::quant::{Bits, Granularity};
use rpr_core::zoo::ZooConfig;
use rpr_export::calibrate;
use rpr_export::onnx::{write_onnx, OnnxOptions, WeightStorage};
use tract_onnx::prelude::*;

use common::{max_diff, random_checkpoint, random_images, tiny_model, zoo_checkpoint};

/// Relative tolerance of exported logits against the reference executor.
const TOLERANCE: f32 = 1e-4;

fn run_tract(path: &Path, images: &Array4<f32>) -> Vec<f32> {
    let shape: Vec<usize> = images.shape().to_vec();
    let model = tract_onnx::onnx()
        .model_for_path(path)
        .and_then(|m| m.with_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape.clone())))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .unwrap_or_else(|error| panic!("tract failed to load {}: {error:?}", path.display()));
    let input = Tensor::from_shape(&shape, images.as_slice().unwrap()).unwrap();
    let outputs = model.run(tvec!(input.into_tvalue())).unwrap();
    outputs[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect()
}

fn venv_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let has_onnx = python.exists()
        && Command::new(&python)
            .args(["-c", "import onnx, onnxruntime"])
            .output()
            .is_ok_and(|out| out.status.success());
    has_onnx.then_some(python)
}

/// Runs scripts/check_onnx.py (checker and ONNX Runtime) and returns the
/// ONNX Runtime logits, or `None` when the venv lacks onnx/onnxruntime.
fn run_checker(path: &Path, images: &Array4<f32>) -> Option<Vec<f32>> {
    let Some(python) = venv_python() else {
        eprintln!("skipped the ONNX checker: ../.venv with onnx and onnxruntime not found");
        return None;
    };
    let dir = path.parent().unwrap();
    let (input, output) = (dir.join("input.f32"), dir.join("output.f32"));
    let raw: Vec<u8> = images.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&input, raw).unwrap();
    let shape = images.shape().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check_onnx.py");
    let result = Command::new(python)
        .arg(script)
        .arg(path)
        .args(["--input", input.to_str().unwrap(), "--shape", &shape, "--output", output.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "check_onnx.py failed on {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let bytes = std::fs::read(output).unwrap();
    Some(bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
}

/// Exports `checkpoint`, runs it in tract and ONNX Runtime, and compares the
/// logits with the reference executor. Returns the file size.
fn check_against_reference(checkpoint: &Checkpoint, opts: &OnnxOptions, batch: usize, label: &str) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    let summary = write_onnx(checkpoint, opts, &path).unwrap();
    let images = random_images(batch, checkpoint.model.input_shape, 41);
    let expected = rpr_core::reference::run(&checkpoint.model, &checkpoint.tensors, images.view()).unwrap();
    let expected = expected.as_slice().unwrap();

    let checked = run_checker(&path, &images);
    if let Some(logits) = checked {
        let (diff, scale) = max_diff(&logits, expected);
        assert!(diff <= TOLERANCE * scale, "{label} in ONNX Runtime: max diff {diff}, max |logit| {scale}");
    }
    let (diff, scale) = max_diff(&run_tract(&path, &images), expected);
    assert!(diff <= TOLERANCE * scale, "{label} in tract: max diff {diff}, max |logit| {scale}");
    summary.file_bytes
}

fn cifar(size: usize) -> ZooConfig {
    ZooConfig { input_size: size, ..ZooConfig::default() }
}

#[test]
fn resnet20_matches_reference() {
    let checkpoint = zoo_checkpoint("resnet20", &cifar(32), Some(Bits::Ternary), 1);
    check_against_reference(&checkpoint, &OnnxOptions::default(), 2, "resnet20");
}

#[test]
fn resnet18_matches_reference() {
    let checkpoint = zoo_checkpoint("resnet18", &cifar(32), Some(Bits::Ternary), 2);
    check_against_reference(&checkpoint, &OnnxOptions::default(), 1, "resnet18");
}

#[test]
fn resnet50_matches_reference() {
    let checkpoint = zoo_checkpoint("resnet50", &cifar(32), Some(Bits::Ternary), 3);
    check_against_reference(&checkpoint, &OnnxOptions::default(), 1, "resnet50");
}

#[test]
fn googlenet_matches_reference() {
    let checkpoint = zoo_checkpoint("googlenet", &cifar(32), Some(Bits::Ternary), 4);
    check_against_reference(&checkpoint, &OnnxOptions::default(), 1, "googlenet");
}

#[test]
fn binary_weights_match_reference() {
    let checkpoint = zoo_checkpoint("resnet20", &cifar(32), Some(Bits::Binary), 5);
    check_against_reference(&checkpoint, &OnnxOptions::default(), 2, "binary resnet20");
}

#[test]
fn upsample_matches_reference() {
    let cfg = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: Some(32) };
    let checkpoint = zoo_checkpoint("resnet20", &cfg, Some(Bits::Ternary), 6);
    check_against_reference(&checkpoint, &OnnxOptions::default(), 2, "upsampled resnet20");
}

#[test]
fn int8_weights_smaller_than_float() {
    let checkpoint = zoo_checkpoint("resnet20", &cifar(32), Some(Bits::Ternary), 7);
    let float = OnnxOptions { weights: WeightStorage::Float, qdq: None };
    let float_bytes = check_against_reference(&checkpoint, &float, 2, "float resnet20");
    let int8_bytes = check_against_reference(&checkpoint, &OnnxOptions::default(), 2, "int8 resnet20");
    // The first conv and the classifier stay f32, so the ratio is a bit above 1/4.
    assert!(
        (int8_bytes as f64) < 0.3 * float_bytes as f64,
        "int8 file {int8_bytes} B is not ~4x smaller than the float file {float_bytes} B"
    );
}

#[test]
fn float_checkpoint_exports() {
    let checkpoint = random_checkpoint(tiny_model(), None, Granularity::PerChannel, 8);
    check_against_reference(&checkpoint, &OnnxOptions::default(), 2, "float tiny");
}

#[test]
fn qdq_graph_quantizes_activations() {
    let checkpoint = random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerChannel, 9);
    let images = random_images(32, checkpoint.model.input_shape, 43);
    let calibration =
        calibrate::calibrate(&checkpoint.model, &checkpoint.tensors, images.view(), "random", 100.0, &mut |_| {})
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qdq.onnx");
    let opts = OnnxOptions { weights: WeightStorage::Int8Codes, qdq: Some(calibration) };
    write_onnx(&checkpoint, &opts, &path).unwrap();

    let model = onnx_protobuf::ModelProto::parse_from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    let graph = model.graph.as_ref().unwrap();
    let count = |op: &str| graph.node.iter().filter(|n| n.op_type == op).count();
    // Inputs of the four convs and the classifier; the two shortcut convs share relu1.
    assert_eq!(count("QuantizeLinear"), 4, "one QuantizeLinear per distinct Conv/Gemm input");
    assert_eq!(count("BatchNormalization"), 1, "only the BN that cannot be folded remains");

    // int8 activations cost accuracy; on the calibration images the logits
    // stay within 10% of the logit range.
    let test_images = images.slice(ndarray::s![0..4, .., .., ..]).to_owned();
    let expected = rpr_core::reference::run(&checkpoint.model, &checkpoint.tensors, test_images.view()).unwrap();
    let (diff, scale) = max_diff(&run_tract(&path, &test_images), expected.as_slice().unwrap());
    assert!(diff <= 0.1 * scale, "QDQ logits: max diff {diff}, max |logit| {scale}");
    run_checker(&path, &test_images);
}
