//! End-to-end checks of the comparison on a small ResNet-20 (1x8x8 input).
//! Every in-process engine must agree with rpr-infer's f32 path, and ONNX
//! Runtime's logits must come back through the script. A full run must
//! write a table, JSON and a chart.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_benches::engines::ort::{run_script, write_raw_input, OrtConfig};
use rpr_benches::engines::rpr::RprBackend;
use rpr_benches::engines::Backend;
use rpr_benches::harness::{run_comparison, CompareOptions};
use rpr_benches::network::{prepare, random_images, NetworkSpec, PreparedNetwork};
use rpr_benches::plot::write_chart;
use rpr_benches::process::PROCESS_TIMEOUT;
use rpr_benches::timing::{Schedule, SchedulePlan, ScheduleOverrides};
use rpr_core::quant::Bits;
use rpr_infer::Precision;

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

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches sits in the workspace").to_path_buf()
}

/// Returns the project's Python interpreter if it can import onnxruntime.
fn python_with_ort() -> Option<PathBuf> {
    let python = repo_root().join(".venv/bin/python");
    let ok = std::process::Command::new(&python).args(["-c", "import onnxruntime"]).status().map(|s| s.success());
    if ok.unwrap_or(false) {
        Some(python)
    } else {
        eprintln!("skipping the ONNX Runtime check: {} cannot import onnxruntime", python.display());
        None
    }
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
        OrtConfig { id: "float".into(), model: net.onnx_float.clone(), threads: 1, input: input.clone(), shape: [2, c, h, w] },
        OrtConfig { id: "missing".into(), model: dir.path().join("absent.onnx"), threads: 1, input, shape: [2, c, h, w] },
    ];
    let schedule = Schedule { warmup: 1, rounds: 2, iterations_per_round: 3 };
    let script = repo_root().join("scripts/ort_bench.py");
    let response = run_script(&python, &script, dir.path(), &configs, &schedule, PROCESS_TIMEOUT).expect("the script runs");

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
fn full_run_writes_report_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let ort = python_with_ort().map(|python| (python, repo_root().join("scripts/ort_bench.py")));
    let with_ort = ort.is_some();
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
        assert!(row.error.is_none() || row.variant == "qdq int8", "{} {} failed: {:?}", row.engine, row.variant, row.error);
        if row.variant == "fp32" && row.error.is_none() {
            let diff = row.max_abs_diff.expect("fp32 rows are compared");
            assert!(diff <= F32_TOLERANCE, "{} fp32 differs from rpr-infer f32 by {diff}", row.engine);
        }
    }
    if with_ort {
        assert!(network.rows.iter().any(|r| r.engine == "ONNX Runtime" && r.batch1.is_some()));
    }

    let markdown = report.to_markdown();
    assert!(markdown.contains("| rpr-infer | int8 | 1 |"), "{markdown}");
    let chart = dir.path().join("chart.png");
    write_chart(&report, &chart).expect("the chart draws");
    let bytes = std::fs::read(&chart).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}
