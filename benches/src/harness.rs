//! The comparison run: prepares each network, times every engine
//! configuration on the same input bytes and collects a [`Report`].
//!
//! Model files and inputs are prepared once, in this process. Every timing
//! then runs in a short-lived child process: rpr-infer, libtorch and tract
//! in a worker of the compare binary ([`crate::worker`]), ONNX Runtime in
//! `scripts/ort_bench.py` and PyTorch eager in `scripts/torch_bench.py`, each
//! with a single configuration. Before the timing,
//! `scripts/ort_quantize.py` makes ONNX Runtime's own int8 model of each
//! network ([`crate::engines::ort_quantize`]). Each round starts
//! one process per configuration, in table order, so the configurations
//! take turns while no engine's leftover threads (libtorch's and ONNX
//! Runtime's pools keep spinning after a call) share a core with another
//! engine's timed runs. See [`crate::timing`] for the schedule.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ndarray::{Array2, Array4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_export::packed::RprFile;
use rpr_export::summary::summarize;
use thiserror::Error;

use crate::engines::script::{self, OrtScripts, ScriptConfig, TorchScript};
use crate::engines::ort_quantize::{quantize_network, OrtStaticModel};
use crate::engines::BackendError;
use crate::machine::{utc_now, Machine};
use crate::network::{prepare, random_images, NetworkError, NetworkSpec, PreparedNetwork};
use crate::report::{NetworkReport, Report, Row, RunInfo, THROUGHPUT_BATCH};
use crate::stats::LatencySummary;
use crate::target::Target;
use crate::timing::{NetworkSchedule, Schedule, SchedulePlan, MAX_THREADS};
use crate::worker::{spawn_worker, WorkerRequest};

/// Errors that stop a comparison. Failures of a single engine do not; they
/// end up in that engine's row.
#[derive(Debug, Error)]
pub enum CompareError {
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("failed to write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("invalid option: {0}")]
    Option(String),
}

/// Settings of a comparison run.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub networks: Vec<NetworkSpec>,
    /// Folder for model files, inputs and worker files; created if missing.
    pub work_dir: PathBuf,
    pub seed: u64,
    /// Picks each network's schedule from its size and the command-line overrides.
    pub schedule: SchedulePlan,
    /// Thread counts of the multi-threaded engines, for example `[1, 2]`.
    pub threads: Vec<usize>,
    /// Python interpreter with onnxruntime and the ONNX Runtime scripts; `None` skips ONNX Runtime.
    pub ort: Option<OrtScripts>,
    /// Python interpreter and `scripts/torch_bench.py`; `None` skips PyTorch eager.
    pub torch_eager: Option<TorchScript>,
    /// Executable started as `EXE worker --request R --response S` for each
    /// rpr-infer, libtorch and tract measurement: the compare binary.
    pub worker: PathBuf,
    /// Command line recorded in the report.
    pub command: String,
    /// Time after which a worker or an ONNX Runtime script is killed and
    /// its rows get an error, usually [`crate::process::PROCESS_TIMEOUT`].
    pub timeout: Duration,
}

/// One row being measured.
struct Slot {
    target: Target,
    threads: usize,
    row: Row,
    /// Batch-1 logits from the first warm-up run of the first round.
    logits: Option<Array2<f32>>,
}

/// Samples and outputs of one process.
struct Measurement {
    samples_ms: Vec<f64>,
    logits: Option<Array2<f32>>,
    int8_layers: Option<(usize, usize)>,
}

/// Runs the whole comparison. Duplicate thread counts and networks are
/// measured once, at their first position.
pub fn run_comparison(options: &CompareOptions) -> Result<Report, CompareError> {
    let options = &validate_options(options)?;
    let small = options.schedule.for_network(0);
    let machine = Machine::detect();
    let mut run = RunInfo {
        date: utc_now(),
        command: options.command.clone(),
        cpu: machine.cpu,
        cores: machine.cores,
        isa_flags: machine.isa_flags,
        rpr_kernels: format!("{:?}", rpr_infer::kernels::kernels().isa).to_lowercase(),
        onnxruntime_version: None,
        torch_version: None,
        seed: options.seed,
        batch1: small.batch1,
        batch64: small.batch64,
        process_per_configuration: true,
    };

    let mut networks = Vec::new();
    for (position, spec) in options.networks.iter().enumerate() {
        tracing::info!(network = %spec.key, index = position + 1, of = options.networks.len(), "preparing network");
        let prepared = prepare(spec, options.seed, &options.work_dir.join("models"))?;
        let schedule = options.schedule.for_network(macs_per_image(&prepared)?);
        let ort_static = options.ort.as_ref().map(|scripts| quantize_with_ort(&prepared, scripts, options));
        let (report, versions) = measure_network(&prepared, ort_static.as_ref(), &schedule, options)?;
        run.onnxruntime_version = versions.onnxruntime.or(run.onnxruntime_version);
        run.torch_version = versions.torch.or(run.torch_version);
        networks.push(report);
    }
    Ok(Report { run, networks })
}

/// Checks thread counts and schedule overrides, and returns `options` with
/// duplicate thread counts and networks removed.
fn validate_options(options: &CompareOptions) -> Result<CompareOptions, CompareError> {
    if options.threads.is_empty() {
        return Err(CompareError::Option("--threads needs at least one thread count".into()));
    }
    if let Some(threads) = options.threads.iter().find(|&&threads| threads == 0 || threads > MAX_THREADS) {
        return Err(CompareError::Option(format!("--threads contains {threads}, expected 1 to {MAX_THREADS}")));
    }
    options.schedule.overrides.validate().map_err(CompareError::Option)?;
    Ok(CompareOptions {
        threads: dedup_keep_first(&options.threads, |threads| *threads, "--threads"),
        networks: dedup_keep_first(&options.networks, |spec| spec.key.clone(), "--network"),
        ..options.clone()
    })
}

/// Returns `items` without repeats of an earlier item's key, with a warning for each one dropped.
fn dedup_keep_first<T: Clone, K: PartialEq + Display>(items: &[T], key: impl Fn(&T) -> K, flag: &str) -> Vec<T> {
    let mut unique: Vec<T> = Vec::new();
    for item in items {
        let item_key = key(item);
        if unique.iter().any(|earlier| key(earlier) == item_key) {
            tracing::warn!("{flag} {item_key} is repeated; it is measured once");
        } else {
            unique.push(item.clone());
        }
    }
    unique
}

/// Returns the multiply-accumulates of one image, read from the `.rpr` file.
fn macs_per_image(net: &PreparedNetwork) -> Result<u64, CompareError> {
    let summary = RprFile::open(&net.rpr).and_then(|file| summarize(&file)).map_err(|error| NetworkError::Build {
        network: net.spec.key.clone(),
        message: format!("failed to read {}: {error}", net.rpr.display()),
    })?;
    Ok(summary.total_macs)
}

/// Runs `scripts/ort_quantize.py` on the float ONNX file of `net`. A
/// failure is logged here and later fills the quantize_static rows.
fn quantize_with_ort(net: &PreparedNetwork, scripts: &OrtScripts, options: &CompareOptions) -> Result<OrtStaticModel, BackendError> {
    let log_dir = options.work_dir.join("workers");
    let result = quantize_network(net, scripts, &log_dir, options.timeout);
    if let Err(error) = &result {
        tracing::warn!(network = %net.spec.key, %error, "ONNX Runtime quantize_static failed; its rows get the error");
    }
    result
}

/// Returns the rows to measure, in table order. `ort_static` is `None`
/// when ONNX Runtime is skipped, and otherwise the outcome of its
/// quantization: a failure becomes the error of every quantize_static row.
/// `torch_eager` is false when PyTorch eager is skipped.
fn plan_slots(threads: &[usize], ort_static: Option<&Result<OrtStaticModel, BackendError>>, torch_eager: bool) -> Vec<Slot> {
    let mut slots = Vec::new();
    for target in Target::ALL {
        if !target.compiled_in() {
            tracing::warn!(engine = target.names().0, "skipped: built without its cargo feature");
            continue;
        }
        if (target.is_ort() && ort_static.is_none()) || (target == Target::TorchEager && !torch_eager) {
            continue;
        }
        let error = match ort_static {
            Some(Err(error)) if target == Target::OrtStatic => Some(error.to_string()),
            _ => None,
        };
        let thread_counts: &[usize] = if target.single_threaded() { &[1] } else { threads };
        for &threads in thread_counts {
            let (engine, variant) = target.names();
            let row = Row { error: error.clone(), ..Row::new(engine, variant, threads) };
            slots.push(Slot { target, threads, row, logits: None });
        }
    }
    slots
}

fn measure_network(
    net: &PreparedNetwork,
    ort_static: Option<&Result<OrtStaticModel, BackendError>>,
    schedule: &NetworkSchedule,
    options: &CompareOptions,
) -> Result<(NetworkReport, ScriptVersions), CompareError> {
    let mut slots = plan_slots(&options.threads, ort_static, options.torch_eager.is_some());
    let ort_static_model = ort_static.and_then(|result| result.as_ref().ok());

    // Inputs come from their own stream, so they do not depend on how many
    // random numbers the weights consumed. Every engine reads the same bytes.
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x1a9e_5eed);
    let batch1 = random_images(&mut rng, 1, net.spec.input);
    let batch64 = random_images(&mut rng, THROUGHPUT_BATCH, net.spec.input);
    let input_dir = options.work_dir.join("inputs");
    std::fs::create_dir_all(&input_dir).map_err(|source| CompareError::Io { path: input_dir.clone(), source })?;

    let mut int8_layers = None;
    let mut versions = ScriptVersions::default();
    for (batch, batch_schedule) in [(&batch1, &schedule.batch1), (&batch64, &schedule.batch64)] {
        let input = write_input(&input_dir, &net.spec.key, batch)?;
        let context = BatchRun {
            net,
            ort_static: ort_static_model.map(|model| model.path.as_path()),
            options,
            input,
            batch: batch.shape()[0],
            schedule: batch_schedule,
        };
        context.measure(&mut slots, &mut int8_layers, &mut versions);
    }

    compare_logits(&mut slots);

    let rows = slots.into_iter().map(|slot| slot.row).collect();
    let mut files = net.files.clone();
    files.extend(ort_static_model.map(|model| model.file.clone()));
    let report = NetworkReport { spec: net.spec.clone(), files, rows, int8_layers, schedule: Some(*schedule) };
    Ok((report, versions))
}

/// Versions of the Python packages that timed rows, as their scripts reported them.
#[derive(Debug, Default)]
struct ScriptVersions {
    onnxruntime: Option<String>,
    torch: Option<String>,
}

/// Accuracy check: every engine's batch-1 logits against rpr-infer f32 on 1
/// thread. A row with an error gets no difference, and logits of another
/// shape than the reference's become the row's error.
fn compare_logits(slots: &mut [Slot]) {
    let reference = slots
        .iter()
        .find(|slot| slot.target == Target::RprF32 && slot.threads == 1 && slot.row.error.is_none())
        .and_then(|slot| slot.logits.clone());
    let Some(reference) = reference else { return };
    for slot in slots.iter_mut().filter(|slot| slot.row.error.is_none()) {
        let Some(logits) = &slot.logits else { continue };
        match max_abs_diff(logits, &reference) {
            Some(diff) => slot.row.max_abs_diff = Some(diff),
            None => {
                let message = format!(
                    "logits have shape {:?}, but rpr-infer f32 returned {:?}",
                    logits.shape(),
                    reference.shape()
                );
                let error = BackendError::Logits { engine: slot.target.names().0, message };
                record_error(slot, &error);
            }
        }
    }
}

/// Writes `batch` to `inputs/<key>.b<n>.f32` and returns the path.
fn write_input(input_dir: &Path, key: &str, batch: &Array4<f32>) -> Result<PathBuf, CompareError> {
    let path = input_dir.join(format!("{key}.b{}.f32", batch.shape()[0]));
    let bytes: Vec<u8> = batch.iter().flat_map(|value| value.to_le_bytes()).collect();
    std::fs::write(&path, bytes).map_err(|source| CompareError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Everything one batch size's rounds need.
struct BatchRun<'a> {
    net: &'a PreparedNetwork,
    /// Model from ONNX Runtime's `quantize_static`, if it succeeded.
    ort_static: Option<&'a Path>,
    options: &'a CompareOptions,
    /// Raw f32 input file of this batch size.
    input: PathBuf,
    batch: usize,
    schedule: &'a Schedule,
}

impl BatchRun<'_> {
    /// Runs the rounds. In each, every slot without an error runs once in a
    /// fresh process. A slot whose process fails gets the error in its row
    /// and sits out the remaining rounds and batch sizes.
    fn measure(&self, slots: &mut [Slot], int8_layers: &mut Option<(usize, usize)>, versions: &mut ScriptVersions) {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); slots.len()];
        for round in 0..self.schedule.rounds {
            tracing::info!(
                network = %self.net.spec.key,
                batch = self.batch,
                round = round + 1,
                of = self.schedule.rounds,
                "timing round"
            );
            for (index, slot) in slots.iter_mut().enumerate() {
                if slot.row.error.is_some() {
                    continue;
                }
                let result =
                    if slot.target.runs_in_python() { self.run_script(slot, index, versions) } else { self.run_worker(slot, index) };
                match result {
                    Ok(measurement) => {
                        samples[index].extend(measurement.samples_ms);
                        if self.batch == 1 && slot.logits.is_none() {
                            slot.logits = measurement.logits;
                        }
                        if measurement.int8_layers.is_some() {
                            *int8_layers = measurement.int8_layers;
                        }
                    }
                    Err(error) => record_error(slot, &error),
                }
            }
        }
        for (slot, samples) in slots.iter_mut().zip(&samples) {
            if slot.row.error.is_none() {
                store_samples(slot, self.batch, samples);
            }
        }
    }

    fn shape(&self) -> [usize; 4] {
        let [c, h, w] = self.net.spec.input;
        [self.batch, c, h, w]
    }

    /// Returns the model file or folder that `target` loads.
    fn model(&self, target: Target) -> Result<PathBuf, BackendError> {
        match target {
            Target::RprInt8 | Target::RprF32 => Ok(self.net.rpr.clone()),
            Target::Torch => Ok(self.net.checkpoint_dir.clone()),
            Target::TorchEager | Target::TractFloat | Target::OrtFloat => Ok(self.net.onnx_float.clone()),
            Target::TractQdq | Target::OrtQdq => Ok(self.net.onnx_qdq.clone()),
            Target::OrtStatic => self.ort_static.map(Path::to_path_buf).ok_or_else(|| {
                BackendError::Script(format!("ONNX Runtime quantize_static wrote no model for {}", self.net.spec.key))
            }),
        }
    }

    fn run_worker(&self, slot: &Slot, index: usize) -> Result<Measurement, BackendError> {
        let request = WorkerRequest {
            target: slot.target,
            network: self.net.spec.key.clone(),
            model: self.model(slot.target)?,
            input: self.input.clone(),
            shape: self.shape(),
            threads: slot.threads,
            warmup: self.schedule.warmup,
            iterations: self.schedule.iterations_per_round,
        };
        let name = format!("{}.b{}.{index}", self.net.spec.key, self.batch);
        let workers_dir = self.options.work_dir.join("workers");
        let response = spawn_worker(&self.options.worker, &request, &workers_dir, &name, self.options.timeout)?;
        let engine = slot.target.names().0;
        let logits = response.logits_array(self.batch).map_err(|message| BackendError::Logits { engine, message })?;
        Ok(Measurement { samples_ms: response.samples_ms, logits, int8_layers: response.int8_layers })
    }

    /// Times `slot` in its Python script: `scripts/ort_bench.py` for ONNX
    /// Runtime, `scripts/torch_bench.py` for PyTorch eager.
    fn run_script(&self, slot: &Slot, index: usize, versions: &mut ScriptVersions) -> Result<Measurement, BackendError> {
        let engine = slot.target.names().0;
        let (python, bench) = match (&self.options.ort, &self.options.torch_eager) {
            (Some(scripts), _) if slot.target.is_ort() => (&scripts.python, &scripts.bench),
            (_, Some(torch)) if slot.target == Target::TorchEager => (&torch.python, &torch.bench),
            _ => return Err(BackendError::Script(format!("{engine} is disabled for this run"))),
        };
        let config = ScriptConfig {
            id: index.to_string(),
            model: self.model(slot.target)?,
            threads: slot.threads,
            input: self.input.clone(),
            shape: self.shape(),
        };
        let schedule = Schedule { warmup: self.schedule.warmup, rounds: 1, iterations_per_round: self.schedule.iterations_per_round };
        let work_dir = self.options.work_dir.join("workers");
        std::fs::create_dir_all(&work_dir)
            .map_err(|error| BackendError::Script(format!("failed to create {}: {error}", work_dir.display())))?;

        let configs = std::slice::from_ref(&config);
        let response = script::run_script(python, bench, &work_dir, configs, &schedule, self.options.timeout)?;
        match response.runtime.as_str() {
            "onnxruntime" => versions.onnxruntime = Some(response.version.clone()),
            "torch" => versions.torch = Some(response.version.clone()),
            other => tracing::warn!(runtime = other, script = %bench.display(), "the script reported an unknown runtime"),
        }
        let Some(result) = response.results.into_iter().find(|result| result.id == config.id) else {
            return Err(BackendError::Script(format!("the response lacks configuration id {}", config.id)));
        };
        if let Some(error) = &result.error {
            return Err(BackendError::Reported(format!("{engine}: {error}")));
        }
        if result.samples_ms.len() != schedule.iterations_per_round {
            return Err(BackendError::Script(format!(
                "returned {} samples, expected {}",
                result.samples_ms.len(),
                schedule.iterations_per_round
            )));
        }
        let logits = result.logits(self.batch).map_err(|message| BackendError::Logits { engine, message })?;
        Ok(Measurement { samples_ms: result.samples_ms, logits, int8_layers: None })
    }
}

fn store_samples(slot: &mut Slot, batch: usize, samples: &[f64]) {
    match LatencySummary::from_ms(samples) {
        Ok(summary) if batch == 1 => slot.row.batch1 = Some(summary),
        Ok(summary) => slot.row.batch64 = Some(summary),
        Err(error) => slot.row.error = Some(format!("batch {batch}: {error}")),
    }
}

fn record_error(slot: &mut Slot, error: &BackendError) {
    tracing::warn!(engine = %slot.row.engine, variant = %slot.row.variant, threads = slot.threads, %error, "engine failed");
    slot.row.error = Some(error.to_string());
    slot.row.max_abs_diff = None;
}

/// Maximum absolute difference, or `None` for arrays of different shapes.
fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> Option<f32> {
    (a.dim() == b.dim()).then(|| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max))
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn diff_of_equal_shapes() {
        let a = array![[1.0f32, 2.0], [3.0, 4.0]];
        let b = array![[1.5f32, 2.0], [3.0, 1.0]];
        assert_eq!(max_abs_diff(&a, &b), Some(3.0));
        assert_eq!(max_abs_diff(&a, &array![[1.0f32, 2.0]]), None);
    }

    fn options(threads: Vec<usize>) -> CompareOptions {
        CompareOptions {
            networks: Vec::new(),
            work_dir: PathBuf::from("unused"),
            seed: 1,
            schedule: SchedulePlan::default(),
            threads,
            ort: None,
            torch_eager: None,
            worker: PathBuf::from("unused"),
            command: String::new(),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn rejects_zero_threads() {
        let error = run_comparison(&options(vec![1, 0])).unwrap_err();
        assert_eq!(error.to_string(), "invalid option: --threads contains 0, expected 1 to 1024");
    }

    #[test]
    fn rejects_too_many_threads() {
        let error = run_comparison(&options(vec![1, 4096])).unwrap_err();
        assert_eq!(error.to_string(), "invalid option: --threads contains 4096, expected 1 to 1024");
    }

    #[test]
    fn rejects_zero_rounds_by_flag() {
        let mut options = options(vec![1]);
        options.schedule.overrides.rounds_64 = Some(0);
        let error = run_comparison(&options).unwrap_err();
        assert_eq!(error.to_string(), "invalid option: --rounds-64 must be at least 1, got 0");
    }

    #[test]
    fn duplicates_keep_first() {
        let mut options = options(vec![2, 1, 2, 1]);
        let spec = NetworkSpec::new("resnet20", rpr_core::quant::Bits::Ternary, 1, 8);
        let other = NetworkSpec::new("resnet20", rpr_core::quant::Bits::Binary, 1, 8);
        options.networks = vec![spec.clone(), other.clone(), spec.clone()];
        let validated = validate_options(&options).unwrap();
        assert_eq!(validated.threads, vec![2, 1]);
        let keys: Vec<&str> = validated.networks.iter().map(|spec| spec.key.as_str()).collect();
        assert_eq!(keys, vec![spec.key.as_str(), other.key.as_str()]);
    }

    fn slot(target: Target, logits: Option<Array2<f32>>) -> Slot {
        let (engine, variant) = target.names();
        Slot { target, threads: 1, row: Row::new(engine, variant, 1), logits }
    }

    #[test]
    fn logits_of_other_shape_are_row_error() {
        let reference = array![[1.0f32, 2.0, 3.0]];
        let mut slots = vec![slot(Target::RprF32, Some(reference.clone())), slot(Target::OrtFloat, Some(array![[1.0f32, 2.0]]))];
        compare_logits(&mut slots);
        assert_eq!(slots[0].row.max_abs_diff, Some(0.0));
        assert_eq!(slots[1].row.max_abs_diff, None);
        let error = slots[1].row.error.as_deref().expect("a shape mismatch is an error");
        assert!(error.contains("shape [1, 2]"), "{error}");
        assert!(error.contains("[1, 3]"), "{error}");
    }

    fn row_names(slots: &[Slot]) -> Vec<(String, String, usize)> {
        slots.iter().map(|slot| (slot.row.engine.clone(), slot.row.variant.clone(), slot.threads)).collect()
    }

    #[test]
    fn ort_static_rows_follow_qdq_rows() {
        let model = OrtStaticModel {
            path: PathBuf::from("models/net.ort-static.onnx"),
            file: crate::network::FileSize { label: "x".into(), path: PathBuf::from("models/net.ort-static.onnx"), bytes: 1 },
            onnxruntime_version: "1.32.0".into(),
        };
        let slots = plan_slots(&[1, 2], Some(&Ok(model)), true);
        let names = row_names(&slots);
        let ort_rows: Vec<_> = names.iter().filter(|(engine, _, _)| engine == "ONNX Runtime").collect();
        let expected = [
            ("fp32", 1),
            ("fp32", 2),
            ("qdq int8 (rpr-export)", 1),
            ("qdq int8 (rpr-export)", 2),
            ("int8 (quantize_static)", 1),
            ("int8 (quantize_static)", 2),
        ];
        assert_eq!(ort_rows.len(), expected.len(), "{names:?}");
        for ((_, variant, threads), (expected_variant, expected_threads)) in ort_rows.iter().zip(expected) {
            assert_eq!((variant.as_str(), *threads), (expected_variant, expected_threads));
        }
        assert_eq!(names.last().map(|(_, variant, _)| variant.as_str()), Some("int8 (quantize_static)"));
        assert!(slots.iter().all(|slot| slot.row.error.is_none()));
    }

    #[test]
    fn failed_quantization_fills_its_rows() {
        let failure = Err(BackendError::Script("scripts/ort_quantize.py exited with exit status: 1".into()));
        let slots = plan_slots(&[1, 2], Some(&failure), true);
        let failed: Vec<&Slot> = slots.iter().filter(|slot| slot.row.error.is_some()).collect();
        assert_eq!(failed.len(), 2);
        for slot in failed {
            assert_eq!(slot.target, Target::OrtStatic);
            let error = slot.row.error.as_deref().unwrap_or_default();
            assert!(error.contains("ort_quantize.py exited with exit status: 1"), "{error}");
        }
        let timed = slots.iter().filter(|slot| slot.target == Target::OrtQdq).count();
        assert_eq!(timed, 2, "the other ONNX Runtime rows still run");
    }

    #[test]
    fn skipped_ort_has_no_rows() {
        let slots = plan_slots(&[1, 2], None, true);
        assert!(slots.iter().all(|slot| !slot.target.is_ort()), "{:?}", row_names(&slots));
        assert!(slots.iter().any(|slot| slot.target == Target::RprInt8));
        let eager: Vec<usize> = slots.iter().filter(|slot| slot.target == Target::TorchEager).map(|slot| slot.threads).collect();
        assert_eq!(eager, vec![1, 2], "PyTorch eager does not depend on ONNX Runtime");
    }

    #[test]
    fn skipped_torch_eager_has_no_rows() {
        let slots = plan_slots(&[1, 2], None, false);
        assert!(slots.iter().all(|slot| slot.target != Target::TorchEager), "{:?}", row_names(&slots));
        assert!(slots.iter().any(|slot| slot.target == Target::RprF32));
    }

    #[test]
    fn errored_row_has_no_diff() {
        let mut slots = vec![slot(Target::RprF32, Some(array![[1.0f32, 2.0]])), slot(Target::RprInt8, Some(array![[7.0f32, 2.0]]))];
        slots[1].row.error = Some("batch 64: no samples".into());
        compare_logits(&mut slots);
        assert_eq!(slots[1].row.max_abs_diff, None);
    }
}
