//! Engines timed by a Python script in the project's environment: ONNX
//! Runtime (`scripts/ort_bench.py`) and PyTorch eager
//! (`scripts/torch_bench.py`). Both scripts read the JSON request and print
//! the JSON response of `scripts/bench_protocol.py`. Inputs travel as raw
//! little-endian f32 files, so every engine runs on the same bytes. The
//! comparison starts a script once per configuration and round.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ndarray::{Array2, ArrayView4};
use serde::{Deserialize, Serialize};

use super::BackendError;
use crate::logits::{deserialize_rows, logits_from_rows};
use crate::process::{run_with_timeout, tail_lines, ProcessError};
use crate::timing::Schedule;

/// The Python interpreter and scripts behind the ONNX Runtime rows.
#[derive(Clone, Debug)]
pub struct OrtScripts {
    /// Interpreter that can import onnx and onnxruntime.
    pub python: PathBuf,
    /// Timing script, `scripts/ort_bench.py`.
    pub bench: PathBuf,
    /// Static quantization script, `scripts/ort_quantize.py`.
    pub quantize: PathBuf,
}

/// The Python interpreter and script behind the PyTorch eager rows.
#[derive(Clone, Debug)]
pub struct TorchScript {
    /// Interpreter that can import onnx and torch.
    pub python: PathBuf,
    /// Timing script, `scripts/torch_bench.py`.
    pub bench: PathBuf,
}

/// One model, thread count and input to time.
#[derive(Clone, Debug, Serialize)]
pub struct ScriptConfig {
    /// Caller's key for matching the result.
    pub id: String,
    pub model: PathBuf,
    /// Intra-op threads (ONNX Runtime's `intra_op_num_threads`, PyTorch's `set_num_threads`).
    pub threads: usize,
    /// Raw f32 file written by [`write_raw_input`].
    pub input: PathBuf,
    /// NCHW shape of the batch in `input`.
    pub shape: [usize; 4],
}

#[derive(Serialize)]
struct Request<'a> {
    warmup: usize,
    rounds: usize,
    iterations_per_round: usize,
    configs: &'a [ScriptConfig],
}

/// Timing result of one configuration.
#[derive(Clone, Debug, Deserialize)]
pub struct ScriptResult {
    pub id: String,
    pub samples_ms: Vec<f64>,
    /// Logits of the configuration's input, one list per image. A `null`
    /// element reads as NaN, which [`ScriptResult::logits`] rejects.
    #[serde(default, deserialize_with = "deserialize_rows")]
    pub output: Option<Vec<Vec<f32>>>,
    pub error: Option<String>,
}

impl ScriptResult {
    /// Returns the logits as a `[batch, classes]` array, `None` when the
    /// script returned none, or an error naming a wrong shape or a
    /// non-finite value.
    pub fn logits(&self, batch: usize) -> Result<Option<Array2<f32>>, String> {
        self.output.as_deref().map(|rows| logits_from_rows(rows, batch)).transpose()
    }
}

/// Everything the script printed.
#[derive(Clone, Debug, Deserialize)]
pub struct ScriptResponse {
    /// Python package that ran the models: `onnxruntime` or `torch`.
    pub runtime: String,
    /// That package's `__version__`.
    pub version: String,
    pub results: Vec<ScriptResult>,
}

/// Writes `batch` as raw little-endian f32 in NCHW order.
pub fn write_raw_input(path: &Path, batch: ArrayView4<'_, f32>) -> Result<(), BackendError> {
    let bytes: Vec<u8> = batch.iter().flat_map(|value| value.to_le_bytes()).collect();
    std::fs::write(path, bytes)
        .map_err(|error| BackendError::Script(format!("failed to write the input file {}: {error}", path.display())))
}

/// Runs `script` with `python` on `configs` and parses its output, killing
/// the script after `timeout`. The request file and the script's stdout and
/// stderr are written to `work_dir`.
pub fn run_script(
    python: &Path,
    script: &Path,
    work_dir: &Path,
    configs: &[ScriptConfig],
    schedule: &Schedule,
    timeout: Duration,
) -> Result<ScriptResponse, BackendError> {
    let request = Request {
        warmup: schedule.warmup,
        rounds: schedule.rounds,
        iterations_per_round: schedule.iterations_per_round,
        configs,
    };
    let request_path = work_dir.join(format!("{}.request.json", log_name(script)));
    let text = serde_json::to_string_pretty(&request).map_err(|error| BackendError::Script(error.to_string()))?;
    std::fs::write(&request_path, text)
        .map_err(|error| BackendError::Script(format!("failed to write {}: {error}", request_path.display())))?;

    tracing::debug!(configs = configs.len(), script = %script.display(), "timing with a Python script");
    let stdout = run_python_script(python, script, &[request_path.as_os_str()], &work_dir.join(log_name(script)), timeout)?;
    parse_response(&stdout)
}

/// Runs `python script args...`, killing it after `timeout`, and returns
/// its stdout. Stdout and stderr go to `<log_stem>.stdout` and
/// `<log_stem>.stderr.txt`. A failed run's error ends with the last lines
/// of stderr, which is where the project's scripts print their reason.
pub fn run_python_script(
    python: &Path,
    script: &Path,
    args: &[&OsStr],
    log_stem: &Path,
    timeout: Duration,
) -> Result<Vec<u8>, BackendError> {
    let script_error = |message: String| BackendError::Script(message);
    let stdout_path = with_suffix(log_stem, ".stdout");
    let stderr_path = with_suffix(log_stem, ".stderr.txt");
    let create = |path: &Path| File::create(path).map_err(|error| script_error(format!("failed to create {}: {error}", path.display())));
    let (stdout, stderr) = (create(&stdout_path)?, create(&stderr_path)?);

    let mut command = Command::new(python);
    command.arg(script).args(args).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    let status = run_with_timeout(&mut command, timeout).map_err(|error| match error {
        ProcessError::Start { .. } => {
            script_error(format!("{error}; pass --python with the interpreter that has onnxruntime and torch"))
        }
        _ => script_error(format!("{}: {error}", script.display())),
    })?;
    if !status.success() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let detail = if stderr.trim().is_empty() {
            format!(
                "and wrote nothing to stderr; check that --python {} is a Python interpreter with onnxruntime and torch \
                 (`scripts/setup.sh bench` installs it)",
                python.display()
            )
        } else {
            format!("and stderr ends with: {}", tail_lines(&stderr, 5))
        };
        return Err(script_error(format!("{} exited with {status} {detail}", script.display())));
    }
    std::fs::read(&stdout_path).map_err(|error| script_error(format!("failed to read {}: {error}", stdout_path.display())))
}

/// Returns the stem of the log files of `script`: `ort_bench` for `scripts/ort_bench.py`.
fn log_name(script: &Path) -> String {
    script.file_stem().map_or_else(|| "script".to_string(), |stem| stem.to_string_lossy().into_owned())
}

/// Appends `suffix` to the file name, unlike `Path::with_extension`, which
/// would replace the text after a dot in a network key.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Parses the script's stdout.
pub fn parse_response(stdout: &[u8]) -> Result<ScriptResponse, BackendError> {
    serde_json::from_slice(stdout).map_err(|error| {
        let text = String::from_utf8_lossy(stdout);
        let head: String = text.chars().take(200).collect();
        BackendError::Script(format!("invalid JSON from the script ({error}); output starts with: {head}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_parses_results_and_errors() {
        let text = br#"{"runtime": "onnxruntime", "version": "1.32.0", "results": [
            {"id": "a", "samples_ms": [1.5, 2.0], "output": [[1.0, 2.0], [3.0, 4.0]], "error": null},
            {"id": "b", "samples_ms": [], "output": null, "error": "failed to load x.onnx: bad"}]}"#;
        let response = parse_response(text).unwrap();
        assert_eq!(response.runtime, "onnxruntime");
        assert_eq!(response.version, "1.32.0");
        assert_eq!(response.results.len(), 2);
        assert_eq!(response.results[0].samples_ms, vec![1.5, 2.0]);
        let logits = response.results[0].logits(2).unwrap().unwrap();
        assert_eq!(logits.dim(), (2, 2));
        assert_eq!(logits[[1, 0]], 3.0);
        assert_eq!(response.results[1].logits(2), Ok(None));
        assert_eq!(response.results[1].error.as_deref(), Some("failed to load x.onnx: bad"));
    }

    #[test]
    fn ragged_output_is_error() {
        let text = br#"{"runtime": "onnxruntime", "version": "1.32.0", "results": [
            {"id": "a", "samples_ms": [1.5], "output": [[1.0, 2.0], [3.0]], "error": null}]}"#;
        let response = parse_response(text).unwrap();
        let error = response.results[0].logits(2).unwrap_err();
        assert!(error.contains("row 0 has 2 classes but row 1 has 1"), "{error}");
    }

    #[test]
    fn hanging_script_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hang.sh");
        std::fs::write(&script, "sleep 30\n").unwrap();
        let schedule = Schedule { warmup: 1, rounds: 1, iterations_per_round: 1 };
        let start = std::time::Instant::now();
        let error = run_script(Path::new("/bin/sh"), &script, dir.path(), &[], &schedule, Duration::from_millis(300)).unwrap_err();
        assert!(error.to_string().contains("timed out after 0.3 s and was killed"), "{error}");
        assert!(start.elapsed() < Duration::from_secs(10), "waited {:?}", start.elapsed());
    }

    #[test]
    fn silent_failure_suggests_python() {
        let dir = tempfile::tempdir().unwrap();
        let schedule = Schedule { warmup: 1, rounds: 1, iterations_per_round: 1 };
        let script = Path::new("scripts/ort_bench.py");
        let error = run_script(Path::new("/bin/false"), script, dir.path(), &[], &schedule, Duration::from_secs(30)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("wrote nothing to stderr"), "{message}");
        assert!(message.contains("--python /bin/false"), "{message}");
        assert!(message.contains("scripts/setup.sh bench"), "{message}");
    }

    #[test]
    fn response_rejects_non_json() {
        let error = parse_response(b"Traceback (most recent call last)").unwrap_err();
        assert!(error.to_string().contains("Traceback"), "{error}");
    }

    #[test]
    fn raw_input_is_little_endian_nchw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.f32");
        let batch = ndarray::Array4::from_shape_fn((1, 2, 1, 2), |(_, c, _, w)| (c * 2 + w) as f32 + 0.5);
        write_raw_input(&path, batch.view()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let values: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(values, vec![0.5, 1.5, 2.5, 3.5]);
    }
}
