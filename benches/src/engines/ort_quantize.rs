//! ONNX Runtime's own int8 model: `scripts/ort_quantize.py` runs
//! `quantize_static` (QDQ format, per-channel int8 weights, uint8
//! activations, MinMax calibration) on the float ONNX file, calibrated on
//! the same images as rpr-infer's activation scales. ONNX Runtime fuses
//! that graph into QLinearConv and QLinearAdd nodes, so the row shows what a
//! user of ONNX Runtime's quantization tooling gets.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::script::{run_python_script, OrtScripts};
use super::BackendError;
use crate::network::{FileSize, PreparedNetwork};

/// Label of the quantized model in the file table.
pub const FILE_LABEL: &str = "ONNX int8 (ORT quantize_static)";

/// One run of the quantization script.
#[derive(Clone, Debug)]
pub struct QuantizeJob {
    /// Float ONNX model to quantize.
    pub model: PathBuf,
    /// Raw little-endian f32 file of calibration images in NCHW order.
    pub calibration: PathBuf,
    /// NCHW shape of the batch in `calibration`.
    pub calibration_shape: [usize; 4],
    /// Path of the quantized model.
    pub output: PathBuf,
}

/// Summary that the script prints on stdout after writing the model.
#[derive(Clone, Debug, Deserialize)]
pub struct QuantizeSummary {
    pub onnxruntime_version: String,
    /// Number of nodes of each operator type in the quantized graph.
    pub node_counts: BTreeMap<String, usize>,
}

impl QuantizeSummary {
    fn count(&self, op_type: &str) -> usize {
        self.node_counts.get(op_type).copied().unwrap_or(0)
    }
}

/// The quantized model of one network.
#[derive(Clone, Debug)]
pub struct OrtStaticModel {
    pub path: PathBuf,
    pub file: FileSize,
    pub onnxruntime_version: String,
}

/// Runs `script` with `python` on `job`, killing it after `timeout`. The
/// script's stdout and stderr go to `<log_stem>.stdout` and
/// `<log_stem>.stderr.txt`. A graph without QuantizeLinear or
/// DequantizeLinear nodes is an error, because ONNX Runtime would run it in
/// float.
pub fn run_quantize_script(
    python: &Path,
    script: &Path,
    job: &QuantizeJob,
    log_stem: &Path,
    timeout: Duration,
) -> Result<QuantizeSummary, BackendError> {
    let shape = job.calibration_shape.map(|dim| dim.to_string()).join(",");
    let args: [&OsStr; 5] =
        [job.model.as_os_str(), job.calibration.as_os_str(), job.output.as_os_str(), OsStr::new("--shape"), OsStr::new(&shape)];
    tracing::debug!(model = %job.model.display(), script = %script.display(), "quantizing with ONNX Runtime");
    let stdout = run_python_script(python, script, &args, log_stem, timeout)?;

    let summary: QuantizeSummary = serde_json::from_slice(&stdout).map_err(|error| {
        let text = String::from_utf8_lossy(&stdout);
        let head: String = text.chars().take(200).collect();
        BackendError::Script(format!("invalid JSON from {} ({error}); output starts with: {head}", script.display()))
    })?;
    let (quantize, dequantize) = (summary.count("QuantizeLinear"), summary.count("DequantizeLinear"));
    if quantize == 0 || dequantize == 0 {
        return Err(BackendError::Script(format!(
            "{} wrote {} with {quantize} QuantizeLinear and {dequantize} DequantizeLinear nodes, expected both; \
             check that {} contains Conv nodes",
            script.display(),
            job.output.display(),
            job.model.display()
        )));
    }
    Ok(summary)
}

/// Quantizes the float ONNX file of `net` with `scripts.quantize` into
/// `<key>.ort-static.onnx` next to it. Script logs go to `log_dir`, which
/// is created if missing.
pub fn quantize_network(net: &PreparedNetwork, scripts: &OrtScripts, log_dir: &Path, timeout: Duration) -> Result<OrtStaticModel, BackendError> {
    let key = &net.spec.key;
    let models_dir = net.onnx_float.parent().unwrap_or(Path::new("."));
    let job = QuantizeJob {
        model: net.onnx_float.clone(),
        calibration: net.calibration.clone(),
        calibration_shape: net.calibration_shape,
        output: models_dir.join(format!("{key}.ort-static.onnx")),
    };
    std::fs::create_dir_all(log_dir)
        .map_err(|error| BackendError::Script(format!("failed to create {}: {error}", log_dir.display())))?;
    let summary = run_quantize_script(&scripts.python, &scripts.quantize, &job, &log_dir.join(format!("ort_quantize.{key}")), timeout)?;

    let bytes = std::fs::metadata(&job.output)
        .map_err(|error| BackendError::Script(format!("failed to read the size of {}: {error}", job.output.display())))?
        .len();
    tracing::info!(
        network = %key,
        quantize_linear = summary.count("QuantizeLinear"),
        dequantize_linear = summary.count("DequantizeLinear"),
        "ONNX Runtime quantize_static wrote {}",
        job.output.display()
    );
    let file = FileSize { label: FILE_LABEL.into(), path: job.output.clone(), bytes };
    Ok(OrtStaticModel { path: job.output, file, onnxruntime_version: summary.onnxruntime_version })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &Path) -> QuantizeJob {
        QuantizeJob {
            model: dir.join("model.onnx"),
            calibration: dir.join("calibration.f32"),
            calibration_shape: [2, 1, 4, 4],
            output: dir.join("out.onnx"),
        }
    }

    /// Writes a shell script that prints `stdout`, so the parsing runs without Python.
    fn fake_script(dir: &Path, stdout: &str) -> PathBuf {
        let script = dir.join("fake.sh");
        std::fs::write(&script, format!("printf '%s\\n' '{stdout}'\n")).unwrap();
        script
    }

    #[test]
    fn summary_with_qdq_nodes_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let stdout = r#"{"onnxruntime_version": "1.32.0", "output": "out.onnx", "node_counts": {"QuantizeLinear": 3, "DequantizeLinear": 5, "Conv": 2}}"#;
        let script = fake_script(dir.path(), stdout);
        let summary =
            run_quantize_script(Path::new("/bin/sh"), &script, &job(dir.path()), &dir.path().join("log"), Duration::from_secs(30)).unwrap();
        assert_eq!(summary.onnxruntime_version, "1.32.0");
        assert_eq!(summary.count("QuantizeLinear"), 3);
        assert_eq!(summary.count("DequantizeLinear"), 5);
        assert_eq!(summary.count("QLinearConv"), 0);
    }

    #[test]
    fn float_graph_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let stdout = r#"{"onnxruntime_version": "1.32.0", "output": "out.onnx", "node_counts": {"Conv": 2, "Relu": 2}}"#;
        let script = fake_script(dir.path(), stdout);
        let error = run_quantize_script(Path::new("/bin/sh"), &script, &job(dir.path()), &dir.path().join("log"), Duration::from_secs(30))
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("0 QuantizeLinear and 0 DequantizeLinear"), "{message}");
        assert!(message.contains("model.onnx"), "{message}");
    }

    #[test]
    fn non_json_output_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let script = fake_script(dir.path(), "quantized");
        let error = run_quantize_script(Path::new("/bin/sh"), &script, &job(dir.path()), &dir.path().join("log"), Duration::from_secs(30))
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("invalid JSON"), "{message}");
        assert!(message.contains("output starts with: quantized"), "{message}");
    }

    #[test]
    fn failure_reports_stderr_tail() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fail.sh");
        std::fs::write(&script, "echo 'warning: ignored' >&2\necho 'ort_quantize.py: calibration file x.f32 has 12 bytes' >&2\nexit 1\n").unwrap();
        let log_stem = dir.path().join("ort_quantize.net-a.28");
        let error = run_quantize_script(Path::new("/bin/sh"), &script, &job(dir.path()), &log_stem, Duration::from_secs(30)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("exited with exit status: 1"), "{message}");
        assert!(message.ends_with("ort_quantize.py: calibration file x.f32 has 12 bytes"), "{message}");
        // The log names keep the whole stem, dots included.
        assert!(dir.path().join("ort_quantize.net-a.28.stderr.txt").is_file());
        assert!(dir.path().join("ort_quantize.net-a.28.stdout").is_file());
    }
}
