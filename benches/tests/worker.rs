//! Worker processes through the real compare binary: a worker must return
//! the same logits as rpr-infer run in the test process, and a failing
//! worker must end as an error in its engine's row, never as a panic.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_benches::engines::ort::write_raw_input;
use rpr_benches::engines::rpr::RprBackend;
use rpr_benches::engines::Backend;
use rpr_benches::harness::{run_comparison, CompareOptions};
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
    let response = spawn_worker(&compare_binary(), &request, &dir.path().join("workers"), "rpr-int8").expect("the worker runs");
    assert_eq!(response.error, None);
    assert_eq!(response.samples_ms.len(), 5);
    assert!(response.samples_ms.iter().all(|ms| ms.is_finite() && *ms > 0.0), "{:?}", response.samples_ms);
    let (int8, packed) = response.int8_layers.expect("the int8 worker reports its layers");
    assert!(packed > 0, "no packed convs");
    assert!(int8 <= packed, "{int8} of {packed}");

    // The same engine on the same input bytes gives bit-identical logits.
    let mut backend = RprBackend::new(&net.rpr, Precision::Int8, 1, 1).unwrap();
    let expected = backend.run(batch.view()).unwrap();
    let logits = response.logits_array().expect("batch-1 logits returned");
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
    let error = spawn_worker(&compare_binary(), &request, &dir.path().join("workers"), "absent").unwrap_err();
    assert!(error.to_string().contains("absent.rpr"), "{error}");
}

#[test]
fn worker_without_response_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let net = prepared(dir.path());
    let request = request(&net, Target::RprF32, net.rpr.clone(), dir.path().join("unused.f32"));
    // `false` exits with status 1 and writes nothing, like a worker that crashed.
    let error = spawn_worker(Path::new("/bin/false"), &request, &dir.path().join("workers"), "crash").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("without a response"), "{message}");
    assert!(message.contains("rpr-infer worker process"), "{message}");
}

#[test]
fn failing_workers_become_row_errors() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = ScheduleOverrides {
        warmup: Some(1),
        rounds: Some(2),
        iterations: Some(1),
        warmup_64: Some(1),
        rounds_64: Some(1),
        iterations_64: Some(1),
    };
    let options = CompareOptions {
        networks: vec![small_spec()],
        work_dir: dir.path().to_path_buf(),
        seed: 4,
        schedule: SchedulePlan { quick: false, overrides },
        threads: vec![1],
        ort: None,
        worker: dir.path().join("no-such-compare-binary"),
        command: "test".into(),
    };
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
