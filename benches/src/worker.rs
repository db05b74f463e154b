//! Worker processes: one process times one engine configuration, so the
//! thread pools of one engine never run next to another engine's timing.
//!
//! The parent writes a [`WorkerRequest`] as JSON and starts the compare
//! binary as `compare worker --request REQUEST --response RESPONSE`. The
//! worker loads the model, reads the raw input file the parent wrote, warms
//! up, times the runs and writes a [`WorkerResponse`]. Load and inference
//! errors travel in the response. A crash, a non-zero exit without a
//! response or an unreadable response becomes a [`BackendError`] in the
//! parent, which records it in that engine's row.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ndarray::{Array2, Array4};
use rpr_infer::Precision;
use serde::{Deserialize, Serialize};

use crate::engines::rpr::RprBackend;
use crate::engines::{Backend, BackendError};
use crate::logits::{deserialize_rows, logits_from_rows};
use crate::process::{run_with_timeout, tail_lines};
use crate::target::Target;
use crate::timing::{time_runs, warm_up, MAX_COUNT, MAX_THREADS};

/// One configuration for a worker process to time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerRequest {
    /// Engine and format. ONNX Runtime and PyTorch eager targets are rejected, because Python scripts time them.
    pub target: Target,
    /// Network key, for log lines and error messages.
    pub network: String,
    /// `.rpr` file for rpr-infer, ONNX file for tract, checkpoint directory for libtorch.
    pub model: PathBuf,
    /// Raw little-endian f32 file with an NCHW batch of `shape`.
    pub input: PathBuf,
    /// NCHW shape of the batch in `input`.
    pub shape: [usize; 4],
    pub threads: usize,
    /// Untimed runs before the timed ones. The first run always happens, because its logits are returned.
    pub warmup: usize,
    /// Timed runs.
    pub iterations: usize,
}

impl WorkerRequest {
    /// Input `[channels, height, width]` of one image.
    pub fn image_shape(&self) -> [usize; 3] {
        [self.shape[1], self.shape[2], self.shape[3]]
    }

    /// Checks the counts and the shape, which a hand-written request may get wrong.
    pub fn validate(&self) -> Result<(), BackendError> {
        let invalid = |message: String| Err(BackendError::Request(message));
        if self.threads == 0 || self.threads > MAX_THREADS {
            return invalid(format!("threads is {}, expected 1 to {MAX_THREADS}", self.threads));
        }
        if self.iterations == 0 || self.iterations > MAX_COUNT {
            return invalid(format!("iterations is {}, expected 1 to {MAX_COUNT}", self.iterations));
        }
        if self.warmup > MAX_COUNT {
            return invalid(format!("warmup is {}, expected at most {MAX_COUNT}", self.warmup));
        }
        if self.shape.contains(&0) {
            return invalid(format!("shape {:?} has a zero dimension", self.shape));
        }
        Ok(())
    }
}

/// Samples and outputs of one worker process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerResponse {
    /// Wall-clock time of each timed run, in milliseconds.
    pub samples_ms: Vec<f64>,
    /// Logits of the first warm-up run at batch 1, one list per image. A
    /// `null` element reads as NaN, which [`WorkerResponse::logits_array`] rejects.
    #[serde(default, deserialize_with = "deserialize_rows")]
    pub logits: Option<Vec<Vec<f32>>>,
    /// rpr-infer int8 only: packed convs on u8 activations, out of all packed convs.
    pub int8_layers: Option<(usize, usize)>,
    /// Message of the error that stopped the worker.
    pub error: Option<String>,
}

impl WorkerResponse {
    /// Returns the logits as a `[batch, classes]` array, `None` when the
    /// worker returned none, or an error naming a wrong shape or a
    /// non-finite value.
    pub fn logits_array(&self, batch: usize) -> Result<Option<Array2<f32>>, String> {
        self.logits.as_deref().map(|rows| logits_from_rows(rows, batch)).transpose()
    }
}

/// Reads a raw little-endian f32 NCHW batch and checks its length against `shape`.
pub fn read_raw_input(path: &Path, shape: [usize; 4]) -> Result<Array4<f32>, BackendError> {
    let input_error = |message: String| BackendError::Input { path: path.to_path_buf(), message };
    let bytes = std::fs::read(path).map_err(|error| input_error(format!("failed to read: {error}")))?;
    let expected: usize = shape.iter().product();
    if bytes.len() != expected * 4 {
        return Err(input_error(format!(
            "contains {} bytes, expected {} for shape {shape:?}; rerun the comparison to rewrite the inputs",
            bytes.len(),
            expected * 4
        )));
    }
    let values: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    // The engines would turn a NaN or inf pixel into garbage logits instead of an error.
    if let Some((index, value)) = values.iter().enumerate().find(|(_, value)| !value.is_finite()) {
        return Err(input_error(format!("contains the non-finite value {value} at flat index {index}; inputs must be finite")));
    }
    let [n, c, h, w] = shape;
    Array4::from_shape_vec((n, c, h, w), values).map_err(|error| input_error(error.to_string()))
}

/// Times the requested configuration in this process. Errors end up in
/// the response's `error` field, with the samples taken so far discarded.
pub fn run_worker(request: &WorkerRequest) -> WorkerResponse {
    let mut response = WorkerResponse::default();
    if let Err(error) = measure(request, &mut response) {
        response = WorkerResponse { error: Some(error.to_string()), ..WorkerResponse::default() };
    }
    response
}

fn measure(request: &WorkerRequest, response: &mut WorkerResponse) -> Result<(), BackendError> {
    request.validate()?;
    let batch = read_raw_input(&request.input, request.shape)?;
    let mut backend = make_backend(request, response)?;
    let logits = warm_up(backend.as_mut(), batch.view(), request.warmup)?;
    if request.shape[0] == 1 {
        let rows: Vec<Vec<f32>> = logits.outer_iter().map(|row| row.to_vec()).collect();
        // serde_json would write a NaN as null, so the error is raised here where the engine is known.
        logits_from_rows(&rows, 1).map_err(|message| BackendError::Run { engine: request.target.names().0, message })?;
        response.logits = Some(rows);
    }
    response.samples_ms.reserve(request.iterations);
    time_runs(backend.as_mut(), batch.view(), request.iterations, &mut response.samples_ms)
}

fn make_backend(request: &WorkerRequest, response: &mut WorkerResponse) -> Result<Box<dyn Backend>, BackendError> {
    let batch = request.shape[0];
    match request.target {
        Target::RprInt8 | Target::RprF32 => {
            let precision = if request.target == Target::RprInt8 { Precision::Int8 } else { Precision::F32 };
            let backend = RprBackend::new(&request.model, precision, request.threads, batch)?;
            if request.target == Target::RprInt8 {
                response.int8_layers = Some(backend.int8_layers());
            }
            Ok(Box::new(backend))
        }
        #[cfg(feature = "libtorch")]
        Target::Torch => {
            let checkpoint = rpr_core::checkpoint::Checkpoint::load(&request.model).map_err(|error| BackendError::Load {
                engine: "libtorch",
                model: request.model.display().to_string(),
                message: error.to_string(),
            })?;
            Ok(Box::new(crate::engines::torch::TorchBackend::new(&checkpoint, &request.model, request.threads)?))
        }
        #[cfg(feature = "tract")]
        Target::TractFloat => Ok(Box::new(crate::engines::tract::TractBackend::new(&request.model, Target::TractFloat.names().1, batch, request.image_shape())?)),
        #[cfg(feature = "tract")]
        Target::TractQdq => {
            Ok(Box::new(crate::engines::tract::TractBackend::new(&request.model, Target::TractQdq.names().1, batch, request.image_shape())?))
        }
        target => {
            let (engine, _) = target.names();
            let message = if target.is_ort() {
                "ONNX Runtime is timed by scripts/ort_bench.py, not by a worker of the compare binary".to_string()
            } else if target == Target::TorchEager {
                "PyTorch eager is timed by scripts/torch_bench.py, not by a worker of the compare binary".to_string()
            } else {
                "this build lacks the engine; build rpr-benches with the `libtorch` and `tract` features".to_string()
            };
            Err(BackendError::Load { engine, model: request.model.display().to_string(), message })
        }
    }
}

/// Starts `executable` as a worker on `request` and returns its response,
/// killing the worker after `timeout`. The request, response and the
/// worker's stderr go to files in `dir` named after `name`, which must be
/// unique among concurrent workers.
pub fn spawn_worker(
    executable: &Path,
    request: &WorkerRequest,
    dir: &Path,
    name: &str,
    timeout: Duration,
) -> Result<WorkerResponse, BackendError> {
    let (engine, _) = request.target.names();
    let worker_error = |message: String| BackendError::Worker { engine, message };
    std::fs::create_dir_all(dir).map_err(|error| worker_error(format!("failed to create {}: {error}", dir.display())))?;

    let request_path = dir.join(format!("{name}.request.json"));
    let response_path = dir.join(format!("{name}.response.json"));
    let stderr_path = dir.join(format!("{name}.stderr.txt"));
    let text = serde_json::to_string_pretty(request).map_err(|error| worker_error(error.to_string()))?;
    std::fs::write(&request_path, text).map_err(|error| worker_error(format!("failed to write {}: {error}", request_path.display())))?;
    // A stale response of an earlier round must not pass for this one's.
    match std::fs::remove_file(&response_path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(worker_error(format!("failed to remove {}: {error}", response_path.display()))),
    }
    let stderr =
        File::create(&stderr_path).map_err(|error| worker_error(format!("failed to create {}: {error}", stderr_path.display())))?;

    let mut command = Command::new(executable);
    command
        .arg("worker")
        .arg("--request")
        .arg(&request_path)
        .arg("--response")
        .arg(&response_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let status = run_with_timeout(&mut command, timeout).map_err(|error| worker_error(error.to_string()))?;

    let stderr_tail = || tail_lines(&std::fs::read_to_string(&stderr_path).unwrap_or_default(), 5);
    let text = match std::fs::read_to_string(&response_path) {
        Ok(text) => text,
        Err(_) => return Err(worker_error(format!("exited with {status} without a response; stderr ends with: {}", stderr_tail()))),
    };
    let response = parse_response(text.as_bytes()).map_err(|message| worker_error(format!("{}: {message}", response_path.display())))?;
    if let Some(error) = response.error {
        return Err(BackendError::Reported(error));
    }
    if !status.success() {
        return Err(worker_error(format!("exited with {status} after writing a response; stderr ends with: {}", stderr_tail())));
    }
    if response.samples_ms.len() != request.iterations {
        return Err(worker_error(format!("returned {} samples, expected {}", response.samples_ms.len(), request.iterations)));
    }
    Ok(response)
}

/// Parses a worker's response file.
pub fn parse_response(bytes: &[u8]) -> Result<WorkerResponse, String> {
    serde_json::from_slice(bytes).map_err(|error| {
        let head: String = String::from_utf8_lossy(bytes).chars().take(200).collect();
        format!("invalid JSON ({error}); the file starts with: {head}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_request() -> WorkerRequest {
        WorkerRequest {
            target: Target::RprInt8,
            network: "resnet20-ternary-28".into(),
            model: PathBuf::from("models/resnet20-ternary-28.rpr"),
            input: PathBuf::from("inputs/resnet20-ternary-28.b1.f32"),
            shape: [1, 1, 28, 28],
            threads: 2,
            warmup: 3,
            iterations: 20,
        }
    }

    #[test]
    fn request_round_trips() {
        let request = sample_request();
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""target":"rpr-int8""#), "{text}");
        let parsed: WorkerRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, request);
    }

    #[test]
    fn response_round_trips() {
        let response = WorkerResponse {
            samples_ms: vec![0.5, 0.75],
            logits: Some(vec![vec![1.0, -2.5, 3.25]]),
            int8_layers: Some((19, 20)),
            error: None,
        };
        let text = serde_json::to_string(&response).unwrap();
        let parsed = parse_response(text.as_bytes()).unwrap();
        assert_eq!(parsed, response);
        let logits = parsed.logits_array(1).unwrap().unwrap();
        assert_eq!(logits.dim(), (1, 3));
        assert_eq!(logits[[0, 1]], -2.5);
    }

    #[test]
    fn response_rejects_truncated_json() {
        let error = parse_response(br#"{"samples_ms": [0.5, "#).unwrap_err();
        assert!(error.contains("invalid JSON"), "{error}");
        assert!(error.contains("samples_ms"), "{error}");
    }

    #[test]
    fn raw_input_rejects_wrong_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.f32");
        std::fs::write(&path, [0u8; 12]).unwrap();
        let error = read_raw_input(&path, [1, 1, 2, 2]).unwrap_err();
        assert!(error.to_string().contains("12 bytes, expected 16"), "{error}");
    }

    #[test]
    fn raw_input_reads_nchw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.f32");
        let values = [0.5f32, -1.5, 2.25, 3.0];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, bytes).unwrap();
        let batch = read_raw_input(&path, [1, 2, 1, 2]).unwrap();
        assert_eq!(batch[[0, 1, 0, 0]], 2.25);
        assert_eq!(batch[[0, 0, 0, 1]], -1.5);
    }

    #[test]
    fn worker_reports_missing_model() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.f32");
        std::fs::write(&input, [0u8; 4 * 28 * 28]).unwrap();
        let request = WorkerRequest { model: dir.path().join("absent.rpr"), input, ..sample_request() };
        let response = run_worker(&request);
        let error = response.error.expect("a missing model is an error");
        assert!(error.contains("absent.rpr"), "{error}");
        assert!(response.samples_ms.is_empty());
    }

    #[test]
    fn worker_rejects_python_targets() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.f32");
        std::fs::write(&input, [0u8; 4 * 28 * 28]).unwrap();
        for (target, script) in [(Target::OrtFloat, "ort_bench.py"), (Target::TorchEager, "torch_bench.py")] {
            let request = WorkerRequest { target, input: input.clone(), ..sample_request() };
            let error = run_worker(&request).error.expect("a Python-timed engine is not a worker target");
            assert!(error.contains(script), "{target:?}: {error}");
        }
    }

    #[test]
    fn raw_input_rejects_non_finite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.f32");
        let values = [0.5f32, -1.5, f32::NAN, f32::NEG_INFINITY];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, bytes).unwrap();
        let error = read_raw_input(&path, [1, 1, 2, 2]).unwrap_err().to_string();
        assert!(error.contains("non-finite value NaN at flat index 2"), "{error}");
        assert!(error.contains("input.f32"), "{error}");
    }

    #[test]
    fn worker_rejects_bad_counts() {
        let cases = [
            (WorkerRequest { threads: 0, ..sample_request() }, "threads is 0"),
            (WorkerRequest { threads: MAX_THREADS + 1, ..sample_request() }, "threads is 1025"),
            (WorkerRequest { iterations: 0, ..sample_request() }, "iterations is 0"),
            (WorkerRequest { warmup: MAX_COUNT + 1, ..sample_request() }, "warmup is 100001"),
            (WorkerRequest { shape: [1, 0, 28, 28], ..sample_request() }, "zero dimension"),
        ];
        for (request, expected) in cases {
            let error = run_worker(&request).error.unwrap_or_else(|| panic!("{request:?} was accepted"));
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn request_rejects_unknown_field() {
        let mut value = serde_json::to_value(sample_request()).unwrap();
        value["thread"] = serde_json::json!(2);
        let error = serde_json::from_value::<WorkerRequest>(value).unwrap_err().to_string();
        assert!(error.contains("unknown field `thread`"), "{error}");
    }

    #[test]
    fn response_null_logit_is_row_error() {
        // serde_json writes a NaN logit as null.
        let response = parse_response(br#"{"samples_ms": [0.5], "logits": [[1.0, null]], "int8_layers": null, "error": null}"#).unwrap();
        let error = response.logits_array(1).unwrap_err();
        assert!(error.contains("non-finite logit NaN at [0, 1]"), "{error}");
    }
}
