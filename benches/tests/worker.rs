//! Worker processes through the real compare binary: a worker must return
//! the same logits as rpr-infer run in the test process, and a failing
//! worker must end as an error in its engine's row, never as a panic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_benches::engines::script::{write_raw_input, OrtScripts, TorchScript};
use rpr_benches::engines::rpr::RprBackend;
use rpr_benches::engines::Backend;
use rpr_benches::harness::{run_comparison, CompareOptions};
use rpr_benches::process::PROCESS_TIMEOUT;
use rpr_benches::network::{prepare, random_images, NetworkSpec, PreparedNetwork};
use rpr_benches::target::Target;
use rpr_benches::timing::{ScheduleOverrides, SchedulePlan};
use rpr_benches::worker::{spawn_worker, WorkerRequest};
use rpr_core::quant::Bits;
use rpr_infer::Precision;

fn compare_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_compare"))
}

fn small_spec() -> NetworkSpec {
    NetworkSpec::new("resnet20", Bits::Ternary, 1, 8)
}

fn prepared(dir: &Path) -> PreparedNetwork {
    prepare(&small_spec(), 17, &dir.join("models")).expect("the small network prepares")
}

fn request(net: &PreparedNetwork, target: Target, model: PathBuf, input: PathBuf) -> WorkerRequest {
    let [c, h, w] = net.spec.input;
    WorkerRequest { target, network: net.spec.key.clone(), model, input, shape: [1, c, h, w], threads: 1, warmup: 2, iterations: 5 }
}

#[test]
fn rpr_worker_matches_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(23), 1, net.spec.input);
    let input = dir.path().join("input.b1.f32");
    write_raw_input(&input, batch.view()).unwrap();

    let request = request(&net, Target::RprInt8, net.rpr.clone(), input);
    let response = spawn_worker(&compare_binary(), &request, &dir.path().join("workers"), "rpr-int8", PROCESS_TIMEOUT).expect("the worker runs");
    assert_eq!(response.error, None);
    assert_eq!(response.samples_ms.len(), 5);
    assert!(response.samples_ms.iter().all(|ms| ms.is_finite() && *ms > 0.0), "{:?}", response.samples_ms);
    let (int8, packed) = response.int8_layers.expect("the int8 worker reports its layers");
    assert!(packed > 0, "no packed convs");
    assert!(int8 <= packed, "{int8} of {packed}");

    // The same engine on the same input bytes gives bit-identical logits.
    let mut backend = RprBackend::new(&net.rpr, Precision::Int8, 1, 1).unwrap();
    let expected = backend.run(batch.view()).unwrap();
    let logits = response.logits_array(1).expect("valid logits").expect("batch-1 logits returned");
    assert_eq!(logits, expected);
}

#[test]
fn worker_missing_model_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(29), 1, net.spec.input);
    let input = dir.path().join("input.b1.f32");
    write_raw_input(&input, batch.view()).unwrap();

    let missing = dir.path().join("models/absent.rpr");
    let request = request(&net, Target::RprF32, missing, input);
    let error = spawn_worker(&compare_binary(), &request, &dir.path().join("workers"), "absent", PROCESS_TIMEOUT).unwrap_err();
    assert!(error.to_string().contains("absent.rpr"), "{error}");
}

#[test]
fn worker_without_response_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let request = request(&net, Target::RprF32, net.rpr.clone(), dir.path().join("unused.f32"));
    // `false` exits with status 1 and writes nothing, like a worker that crashed.
    let error = spawn_worker(Path::new("/bin/false"), &request, &dir.path().join("workers"), "crash", PROCESS_TIMEOUT).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("without a response"), "{message}");
    assert!(message.contains("rpr-infer worker process"), "{message}");
}

/// Options of a comparison of the small network with one iteration per round, without ONNX
/// Runtime, whose worker binary does not exist, so every in-process engine fails to start.
fn short_run(dir: &Path, warmup: usize, rounds: usize) -> CompareOptions {
    let overrides = ScheduleOverrides {
        warmup: Some(warmup),
        rounds: Some(rounds),
        iterations: Some(1),
        warmup_64: Some(warmup),
        rounds_64: Some(1),
        iterations_64: Some(1),
    };
    CompareOptions {
        networks: vec![small_spec()],
        work_dir: dir.to_path_buf(),
        seed: 4,
        schedule: SchedulePlan { quick: false, overrides },
        threads: vec![1],
        ort: None,
        torch_eager: None,
        worker: dir.join("no-such-compare-binary"),
        command: "test".into(),
        timeout: PROCESS_TIMEOUT,
    }
}

#[test]
fn failing_workers_become_row_errors() {
    let dir = tempfile::tempdir().unwrap();
    let options = short_run(dir.path(), 1, 2);
    let report = run_comparison(&options).expect("failed engines do not stop the comparison");
    let network = &report.networks[0];
    assert!(report.run.process_per_configuration);
    assert!(!network.rows.is_empty());
    for row in &network.rows {
        let error = row.error.as_deref().unwrap_or_else(|| panic!("{} {} has no error", row.engine, row.variant));
        assert!(error.contains("failed to start"), "{error}");
        assert!(error.contains("no-such-compare-binary"), "{error}");
        assert_eq!(row.batch1, None);
    }
    assert!(report.to_markdown().contains("Incomplete rows"));
}

#[test]
fn worker_rejects_nan_input() {
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let mut batch = random_images(&mut ChaCha8Rng::seed_from_u64(31), 1, net.spec.input);
    batch[[0, 0, 3, 5]] = f32::NAN;
    let input = dir.path().join("input.b1.f32");
    write_raw_input(&input, batch.view()).unwrap();

    let request = request(&net, Target::RprF32, net.rpr.clone(), input);
    let error = spawn_worker(&compare_binary(), &request, &dir.path().join("workers"), "nan", PROCESS_TIMEOUT).unwrap_err();
    let message = error.to_string();
    // Element [0, 0, 3, 5] of a 1x1x8x8 batch has flat index 3 * 8 + 5.
    assert!(message.contains("non-finite value NaN at flat index 29"), "{message}");
}

#[test]
fn worker_rejects_unknown_request_field() {
    let dir = tempfile::tempdir().unwrap();
    let request_path = dir.path().join("request.json");
    let response_path = dir.path().join("response.json");
    let net = prepared(dir.path());
    let mut value = serde_json::to_value(request(&net, Target::RprF32, net.rpr.clone(), dir.path().join("x.f32"))).unwrap();
    value["iteration"] = serde_json::json!(3);
    std::fs::write(&request_path, value.to_string()).unwrap();
    let output = std::process::Command::new(compare_binary())
        .arg("worker")
        .arg("--request")
        .arg(&request_path)
        .arg("--response")
        .arg(&response_path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown field `iteration`"), "{stderr}");
}

#[test]
fn worker_error_names_engine_once() {
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let batch = random_images(&mut ChaCha8Rng::seed_from_u64(37), 1, net.spec.input);
    let input = dir.path().join("input.b1.f32");
    write_raw_input(&input, batch.view()).unwrap();
    let request = request(&net, Target::RprF32, dir.path().join("absent.rpr"), input);
    let workers = dir.path().join("workers");
    spawn_worker(&compare_binary(), &request, &workers, "once", PROCESS_TIMEOUT).unwrap_err();
    let stderr = std::fs::read_to_string(workers.join("once.stderr.txt")).unwrap();
    assert_eq!(stderr.matches("rpr-infer").count(), 1, "{stderr}");
}

#[test]
fn hanging_python_script_is_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hang.sh");
    std::fs::write(&script, "sleep 60\n").unwrap();
    let mut options = short_run(dir.path(), 0, 1);
    options.ort = Some(OrtScripts { python: PathBuf::from("/bin/sh"), bench: script.clone(), quantize: script.clone() });
    options.torch_eager = Some(TorchScript { python: PathBuf::from("/bin/sh"), bench: script });
    options.timeout = Duration::from_millis(500);
    let report = run_comparison(&options).expect("a hanging script does not stop the comparison");
    let script_rows: Vec<_> =
        report.networks[0].rows.iter().filter(|row| row.engine == "ONNX Runtime" || row.engine == "PyTorch eager").collect();
    assert_eq!(script_rows.len(), 4);
    for row in script_rows {
        let error = row.error.as_deref().expect("the timed-out script is an error");
        assert!(error.contains("timed out after 0.5 s and was killed"), "{error}");
    }
    let markdown = report.to_markdown();
    assert!(markdown.contains("0 warm-up runs plus the one untimed run"), "{markdown}");
}

#[test]
fn failing_quantize_script_is_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let quantize = dir.path().join("quantize.sh");
    std::fs::write(&quantize, "echo 'ort_quantize.py: calibration file x.f32 has 12 bytes' >&2\nexit 1\n").unwrap();
    let bench = dir.path().join("hang.sh");
    std::fs::write(&bench, "sleep 60\n").unwrap();
    let mut options = short_run(dir.path(), 0, 1);
    options.ort = Some(OrtScripts { python: PathBuf::from("/bin/sh"), bench, quantize });
    options.timeout = Duration::from_millis(500);
    let report = run_comparison(&options).expect("a failed quantization does not stop the comparison");
    let network = &report.networks[0];

    let static_row = network.rows.iter().find(|row| row.variant == "int8 (quantize_static)").expect("quantize_static row");
    let error = static_row.error.as_deref().expect("the failed quantization is the row's error");
    assert!(error.contains("ort_quantize.py: calibration file x.f32 has 12 bytes"), "{error}");
    assert!(!error.contains("timed out"), "the row must not be timed after the failure: {error}");
    assert!(network.files.iter().all(|file| !file.label.contains("quantize_static")), "{:?}", network.files);

    // The other ONNX Runtime rows still ran, and timed out in the hanging timing script.
    let float_row = network.rows.iter().find(|row| row.engine == "ONNX Runtime" && row.variant == "fp32").expect("fp32 row");
    let error = float_row.error.as_deref().expect("the hanging timing script is an error");
    assert!(error.contains("timed out after 0.5 s"), "{error}");
    let markdown = report.to_markdown();
    assert!(markdown.contains("| ONNX Runtime | int8 (quantize_static) | 1 |"), "{markdown}");
}

/// Runs the compare binary with `args` and returns its stderr; it must fail.
fn compare_fails(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(compare_binary()).arg("--out").arg(dir.path()).args(args).output().unwrap();
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the compare binary without its Python engines; it must fail.
fn compare_without_python_fails(args: &[&str]) -> String {
    let mut all = vec!["--no-ort", "--no-torch-eager"];
    all.extend_from_slice(args);
    compare_fails(&all)
}

#[test]
fn cli_rejects_bad_counts() {
    let stderr = compare_without_python_fails(&["--warmup-64", "18446744073709551615"]);
    assert!(stderr.contains("--warmup-64"), "{stderr}");
    assert!(stderr.contains("above the maximum of 100000"), "{stderr}");

    let stderr = compare_without_python_fails(&["--rounds", "0"]);
    assert!(stderr.contains("--rounds must be at least 1, got 0"), "{stderr}");
    assert!(!stderr.contains("Schedule {"), "{stderr}");

    let stderr = compare_without_python_fails(&["--threads", "1,2000"]);
    assert!(stderr.contains("--threads contains 2000, expected 1 to 1024"), "{stderr}");
}

#[test]
fn cli_rejects_missing_torch_script() {
    let stderr = compare_fails(&["--no-ort", "--torch-script", "absent/torch_bench.py"]);
    assert!(stderr.contains("PyTorch eager script absent/torch_bench.py not found"), "{stderr}");
    assert!(stderr.contains("--no-torch-eager"), "{stderr}");
}
