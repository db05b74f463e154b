//! End-to-end checks of the comparison on a small ResNet-20 (1x8x8 input).
//! Every in-process engine must agree with rpr-infer's f32 path, and the
//! logits of ONNX Runtime and PyTorch eager must come back through their
//! scripts. ONNX Runtime's
//! quantize_static must give a graph that ONNX Runtime runs as int8. A full
//! run must write a table, JSON and a chart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_benches::engines::script::{run_script, write_raw_input, OrtScripts, ScriptConfig, TorchScript};
use rpr_benches::engines::ort_quantize::{quantize_network, run_quantize_script, QuantizeJob, FILE_LABEL};
use rpr_benches::engines::rpr::RprBackend;
use rpr_benches::engines::Backend;
use rpr_benches::harness::{run_comparison, CompareOptions};
use rpr_benches::network::{prepare, random_images, NetworkSpec, PreparedNetwork};
use rpr_benches::plot::write_chart;
use rpr_benches::process::PROCESS_TIMEOUT;
use rpr_benches::timing::{Schedule, SchedulePlan, ScheduleOverrides};
use rpr_core::quant::Bits;
use rpr_infer::Precision;

mod common;

use common::{python_with, repo_root};

/// Logit tolerance between f32 engines: summation order differs, and the
/// logits of the random networks are of order 1 to 10.
const F32_TOLERANCE: f32 = 1e-3;

fn small_spec() -> NetworkSpec {
    NetworkSpec::new("resnet20", Bits::Ternary, 1, 8)
}

fn prepared(dir: &Path) -> PreparedNetwork {
    prepare(&small_spec(), 5, dir).expect("the small network prepares")
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn python_with_ort() -> Option<PathBuf> {
    python_with("onnxruntime")
}

fn torch_script(python: PathBuf) -> TorchScript {
    TorchScript { python, bench: repo_root().join("scripts/torch_bench.py") }
}

fn ort_scripts(python: PathBuf) -> OrtScripts {
    let root = repo_root();
    OrtScripts { python, bench: root.join("scripts/ort_bench.py"), quantize: root.join("scripts/ort_quantize.py") }
}

/// Operator counts of ONNX files, read with the onnx package, keyed by the
/// name given on the command line. `optimized` is the graph that ONNX
/// Runtime (all graph optimizations, CPU) makes of `quantized`.
const COUNT_NODES: &str = r#"
import collections, json, sys
import onnx, onnxruntime
float_path, quantized_path, optimized_path = sys.argv[1:4]
options = onnxruntime.SessionOptions()
options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
options.optimized_model_filepath = optimized_path
onnxruntime.InferenceSession(quantized_path, options, providers=["CPUExecutionProvider"])
count = lambda path: collections.Counter(node.op_type for node in onnx.load(path).graph.node)
paths = {"float": float_path, "quantized": quantized_path, "optimized": optimized_path}
print(json.dumps({key: count(path) for key, path in paths.items()}))
"#;

type NodeCounts = BTreeMap<String, BTreeMap<String, usize>>;

fn count_nodes(python: &Path, float: &Path, quantized: &Path, optimized: &Path) -> NodeCounts {
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(COUNT_NODES)
        .args([float, quantized, optimized])
        .output()
        .expect("python starts");
    assert!(output.status.success(), "counting nodes failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the node counts are JSON")
}

fn rpr_f32_logits(net: &PreparedNetwork, batch: &ndarray::Array4<f32>) -> Array2<f32> {
    let mut backend = RprBackend::new(&net.rpr, Precision::F32, 1, batch.shape()[0]).expect("rpr-infer loads");
    backend.run(batch.view()).expect("rpr-infer runs")
}

#[test]
fn exported_files_exist_with_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    assert_eq!(net.files.len(), 4);
    for file in &net.files {
        assert!(file.bytes > 0, "{} is empty", file.label);
    }
    let f32_bytes = net.files[0].bytes;
    let rpr_bytes = net.files[1].bytes;
    assert!(rpr_bytes < f32_bytes, ".rpr ({rpr_bytes} B) is not smaller than f32 ({f32_bytes} B)");
}

#[cfg(feature = "tract")]
#[test]
fn tract_float_matches_rpr_f32() {
    use rpr_benches::engines::tract::TractBackend;

    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(9), 2, net.spec.input);
    let expected = rpr_f32_logits(&net, &batch);

    let mut tract = TractBackend::new(&net.onnx_float, "fp32", 2, net.spec.input).expect("tract loads the float file");
    let logits = tract.run(batch.view()).expect("tract runs");
    let diff = max_abs_diff(&logits, &expected);
    assert!(diff <= F32_TOLERANCE, "tract vs rpr-infer f32: max abs diff {diff}");
}

#[cfg(feature = "tract")]
#[test]
fn tract_rejects_wrong_batch() {
    use rpr_benches::engines::tract::TractBackend;

    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let mut tract = TractBackend::new(&net.onnx_float, "fp32", 1, net.spec.input).unwrap();
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(9), 3, net.spec.input);
    let error = tract.run(batch.view()).unwrap_err();
    assert!(error.to_string().contains("built for"), "{error}");
}

#[cfg(feature = "libtorch")]
#[test]
fn libtorch_matches_rpr_f32() {
    use rpr_benches::engines::torch::TorchBackend;

    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(11), 2, net.spec.input);
    let expected = rpr_f32_logits(&net, &batch);

    let mut torch = TorchBackend::new(&net.checkpoint, &net.checkpoint_dir, 1).expect("libtorch builds the network");
    let logits = torch.run(batch.view()).expect("libtorch runs");
    let diff = max_abs_diff(&logits, &expected);
    assert!(diff <= F32_TOLERANCE, "libtorch vs rpr-infer f32: max abs diff {diff}");
}

#[test]
fn ort_script_times_and_returns_logits() {
    let Some(python) = python_with_ort() else { return };
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(13), 2, net.spec.input);
    let expected = rpr_f32_logits(&net, &batch);

    let input = dir.path().join("input.f32");
    write_raw_input(&input, batch.view()).unwrap();
    let [c, h, w] = net.spec.input;
    let configs = vec![
        ScriptConfig { id: "float".into(), model: net.onnx_float.clone(), threads: 1, input: input.clone(), shape: [2, c, h, w] },
        ScriptConfig { id: "missing".into(), model: dir.path().join("absent.onnx"), threads: 1, input, shape: [2, c, h, w] },
    ];
    let schedule = Schedule { warmup: 1, rounds: 2, iterations_per_round: 3 };
    let script = repo_root().join("scripts/ort_bench.py");
    let response = run_script(&python, &script, dir.path(), &configs, &schedule, PROCESS_TIMEOUT).expect("the script runs");
    assert_eq!(response.runtime, "onnxruntime");

    let float = &response.results[0];
    assert_eq!(float.error, None);
    assert_eq!(float.samples_ms.len(), 6);
    let diff = max_abs_diff(&float.logits(2).expect("valid logits").expect("logits returned"), &expected);
    assert!(diff <= F32_TOLERANCE, "ONNX Runtime vs rpr-infer f32: max abs diff {diff}");

    let missing = &response.results[1];
    assert!(missing.error.as_deref().unwrap_or("").contains("absent.onnx"), "{missing:?}");
    assert!(missing.samples_ms.is_empty());
}

#[test]
fn torch_eager_script_matches_rpr_f32() {
    let Some(python) = python_with("torch, onnx") else { return };
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(17), 3, net.spec.input);
    let expected = rpr_f32_logits(&net, &batch);

    let input = dir.path().join("input.f32");
    write_raw_input(&input, batch.view()).unwrap();
    let [c, h, w] = net.spec.input;
    let configs = vec![
        ScriptConfig { id: "float".into(), model: net.onnx_float.clone(), threads: 1, input: input.clone(), shape: [3, c, h, w] },
        // The QDQ file has QuantizeLinear nodes, which the eager module does not map.
        ScriptConfig { id: "qdq".into(), model: net.onnx_qdq.clone(), threads: 1, input, shape: [3, c, h, w] },
    ];
    let schedule = Schedule { warmup: 0, rounds: 2, iterations_per_round: 2 };
    let script = torch_script(python);
    let response = run_script(&script.python, &script.bench, dir.path(), &configs, &schedule, PROCESS_TIMEOUT).expect("the script runs");
    assert_eq!(response.runtime, "torch");
    assert!(!response.version.is_empty());

    let float = &response.results[0];
    assert_eq!(float.error, None);
    assert_eq!(float.samples_ms.len(), 4);
    let diff = max_abs_diff(&float.logits(3).expect("valid logits").expect("logits returned"), &expected);
    assert!(diff <= F32_TOLERANCE, "PyTorch eager vs rpr-infer f32: max abs diff {diff}");

    let qdq = &response.results[1];
    let error = qdq.error.as_deref().unwrap_or("");
    assert!(error.contains("QuantizeLinear"), "{qdq:?}");
    assert!(error.contains("does not map to a PyTorch layer"), "{qdq:?}");
    assert!(qdq.samples_ms.is_empty());
}

#[test]
fn ort_quantize_gives_int8_graph() {
    let Some(python) = python_with_ort() else { return };
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let model = quantize_network(&net, &ort_scripts(python.clone()), &dir.path().join("logs"), PROCESS_TIMEOUT)
        .expect("quantize_static succeeds on the float file");
    assert_eq!(model.path, dir.path().join("resnet20-ternary-8.ort-static.onnx"));
    assert_eq!(model.file.label, FILE_LABEL);
    assert_eq!(model.file.bytes, std::fs::metadata(&model.path).unwrap().len());

    let optimized = dir.path().join("optimized.onnx");
    let counts = count_nodes(&python, &net.onnx_float, &model.path, &optimized);
    let count = |graph: &str, op: &str| counts[graph].get(op).copied().unwrap_or(0);
    let float_convs = count("float", "Conv");
    assert_eq!(float_convs, 21, "ResNet-20 has 21 convs: {counts:?}");
    assert!(count("quantized", "QuantizeLinear") > 0, "{counts:?}");
    assert!(count("quantized", "DequantizeLinear") > 0, "{counts:?}");
    // Every conv of the QDQ graph fuses into an int8 QLinearConv, and none stays in float.
    assert_eq!(count("optimized", "QLinearConv"), float_convs, "{counts:?}");
    assert_eq!(count("optimized", "Conv") + count("optimized", "FusedConv"), 0, "{counts:?}");

    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(17), 2, net.spec.input);
    let expected = rpr_f32_logits(&net, &batch);
    let input = dir.path().join("input.f32");
    write_raw_input(&input, batch.view()).unwrap();
    let [c, h, w] = net.spec.input;
    let config = ScriptConfig { id: "static".into(), model: model.path.clone(), threads: 1, input, shape: [2, c, h, w] };
    let schedule = Schedule { warmup: 1, rounds: 1, iterations_per_round: 1 };
    let script = repo_root().join("scripts/ort_bench.py");
    let response = run_script(&python, &script, dir.path(), &[config], &schedule, PROCESS_TIMEOUT).expect("the script runs");
    let result = &response.results[0];
    assert_eq!(result.error, None);
    let logits = result.logits(2).expect("valid logits").expect("logits returned");
    assert_eq!(logits.dim(), (2, 10));
    // With ONNX Runtime 1.32 the difference is about 2% of the largest
    // logit, so 10% leaves margin but still catches a broken quantization.
    let range = expected.iter().fold(0.0f32, |max, value| max.max(value.abs()));
    let diff = max_abs_diff(&logits, &expected);
    assert!(diff <= 0.1 * range, "quantize_static vs rpr-infer f32: max abs diff {diff}, logits up to {range}");
}

#[test]
fn ort_quantize_rejects_short_calibration() {
    let Some(python) = python_with_ort() else { return };
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let bytes = std::fs::read(&net.calibration).unwrap();
    let truncated = dir.path().join("truncated.f32");
    std::fs::write(&truncated, &bytes[..bytes.len() - 6]).unwrap();
    let output = dir.path().join("never.onnx");
    let job = QuantizeJob {
        model: net.onnx_float.clone(),
        calibration: truncated.clone(),
        calibration_shape: net.calibration_shape,
        output: output.clone(),
    };
    let script = repo_root().join("scripts/ort_quantize.py");
    let error = run_quantize_script(&python, &script, &job, &dir.path().join("quantize"), PROCESS_TIMEOUT).unwrap_err();
    let message = error.to_string();
    let expected_bytes = 4 * net.calibration_shape.iter().product::<usize>();
    assert!(message.contains(&format!("calibration file {}", truncated.display())), "{message}");
    assert!(message.contains(&format!("has {} bytes", bytes.len() - 6)), "{message}");
    assert!(message.contains(&format!("expected {expected_bytes} bytes")), "{message}");
    assert!(!output.exists(), "a failed run must not leave {}", output.display());
}

#[test]
fn ort_quantize_rejects_bad_model() {
    let Some(python) = python_with_ort() else { return };
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let job = QuantizeJob {
        model: net.rpr.clone(),
        calibration: net.calibration.clone(),
        calibration_shape: net.calibration_shape,
        output: dir.path().join("never.onnx"),
    };
    let script = repo_root().join("scripts/ort_quantize.py");
    let error = run_quantize_script(&python, &script, &job, &dir.path().join("quantize"), PROCESS_TIMEOUT).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&format!("failed to load the ONNX model {}", net.rpr.display())), "{message}");
}

#[test]
fn full_run_writes_report_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let ort = python_with_ort().map(ort_scripts);
    let with_ort = ort.is_some();
    let torch_eager = python_with("torch, onnx").map(torch_script);
    let with_torch_eager = torch_eager.is_some();
    let options = CompareOptions {
        networks: vec![small_spec()],
        work_dir: dir.path().to_path_buf(),
        seed: 3,
        schedule: SchedulePlan {
            quick: false,
            overrides: ScheduleOverrides {
                warmup: Some(1),
                rounds: Some(2),
                iterations: Some(2),
                warmup_64: Some(1),
                rounds_64: Some(1),
                iterations_64: Some(1),
            },
        },
        // One thread count keeps the number of worker processes, and so the test's time, low.
        threads: vec![1],
        ort,
        torch_eager,
        worker: PathBuf::from(env!("CARGO_BIN_EXE_compare")),
        command: "test".into(),
        timeout: PROCESS_TIMEOUT,
    };
    let report = run_comparison(&options).expect("the comparison runs");
    let network = &report.networks[0];

    let baseline = network.baseline(1).expect("rpr-infer int8 row");
    assert_eq!(baseline.error, None);
    assert_eq!(baseline.batch1.as_ref().map(|s| s.iterations), Some(4));
    assert_eq!(baseline.batch64.as_ref().map(|s| s.iterations), Some(1));
    assert_eq!(network.latency_ratio(baseline), Some(1.0));

    let f32_row = network.rows.iter().find(|r| r.engine == "rpr-infer" && r.variant == "f32" && r.threads == 1).unwrap();
    assert_eq!(f32_row.max_abs_diff, Some(0.0));
    for row in &network.rows {
        assert!(row.error.is_none() || row.variant == "qdq int8 (rpr-export)", "{} {} failed: {:?}", row.engine, row.variant, row.error);
        if row.variant == "fp32" && row.error.is_none() {
            let diff = row.max_abs_diff.expect("fp32 rows are compared");
            assert!(diff <= F32_TOLERANCE, "{} fp32 differs from rpr-infer f32 by {diff}", row.engine);
        }
    }
    if with_ort {
        assert!(network.rows.iter().any(|r| r.engine == "ONNX Runtime" && r.batch1.is_some()));
        let ort_static = network.rows.iter().find(|r| r.variant == "int8 (quantize_static)").expect("quantize_static row");
        assert_eq!(ort_static.error, None);
        assert_eq!(ort_static.batch1.as_ref().map(|s| s.iterations), Some(4));
        assert_eq!(ort_static.batch64.as_ref().map(|s| s.iterations), Some(1));
        assert!(ort_static.max_abs_diff.is_some(), "the quantize_static logits are compared");
        assert!(network.files.iter().any(|file| file.label == FILE_LABEL && file.bytes > 0), "{:?}", network.files);
    }

    if with_torch_eager {
        let eager = network.rows.iter().find(|r| r.engine == "PyTorch eager").expect("PyTorch eager row");
        assert_eq!(eager.error, None);
        assert_eq!(eager.batch1.as_ref().map(|s| s.iterations), Some(4));
        assert!(report.run.torch_version.is_some());
    }

    let markdown = report.to_markdown();
    assert!(markdown.contains("| rpr-infer | int8 | 1 |"), "{markdown}");
    let chart = dir.path().join("chart.png");
    write_chart(&report, &chart).expect("the chart draws");
    let bytes = std::fs::read(&chart).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}
