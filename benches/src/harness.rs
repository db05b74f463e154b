//! The comparison run: prepares each network, times every engine on the
//! same inputs and collects a [`Report`].

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array4, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_infer::Precision;
use thiserror::Error;

use crate::engines::ort::{self, OrtConfig};
use crate::engines::rpr::RprBackend;
use crate::engines::{Backend, BackendError};
use crate::machine::{utc_now, Machine};
use crate::network::{prepare, random_images, NetworkError, NetworkSpec, PreparedNetwork};
use crate::report::{NetworkReport, Report, Row, RunInfo, THROUGHPUT_BATCH};
use crate::stats::LatencySummary;
use crate::timing::{time_runs, warm_up, Schedule};

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
    /// Folder for model files and inputs; created if missing.
    pub work_dir: PathBuf,
    pub seed: u64,
    pub batch1: Schedule,
    pub batch64: Schedule,
    /// Thread counts of the multi-threaded engines, for example `[1, 2]`.
    pub threads: Vec<usize>,
    /// Python interpreter with onnxruntime, and the timing script; `None` skips ONNX Runtime.
    pub ort: Option<(PathBuf, PathBuf)>,
    /// Command line recorded in the report.
    pub command: String,
}

/// Engine configurations, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    RprInt8,
    RprF32,
    Torch,
    TractFloat,
    TractQdq,
    OrtFloat,
    OrtQdq,
}

impl Target {
    const ALL: [Target; 7] =
        [Target::RprInt8, Target::RprF32, Target::Torch, Target::TractFloat, Target::TractQdq, Target::OrtFloat, Target::OrtQdq];

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Target::RprInt8 => ("rpr-infer", "int8"),
            Target::RprF32 => ("rpr-infer", "f32"),
            Target::Torch => ("libtorch", "fp32"),
            Target::TractFloat => ("tract", "fp32"),
            Target::TractQdq => ("tract", "qdq int8"),
            Target::OrtFloat => ("ONNX Runtime", "fp32"),
            Target::OrtQdq => ("ONNX Runtime", "qdq int8"),
        }
    }

    /// tract runs on the calling thread only, so it gets a 1-thread row alone.
    fn single_threaded(self) -> bool {
        matches!(self, Target::TractFloat | Target::TractQdq)
    }

    /// Tells whether this build contains the engine (cargo features `libtorch` and `tract`).
    fn compiled_in(self) -> bool {
        match self {
            Target::Torch => cfg!(feature = "libtorch"),
            Target::TractFloat | Target::TractQdq => cfg!(feature = "tract"),
            _ => true,
        }
    }

    fn is_ort(self) -> bool {
        matches!(self, Target::OrtFloat | Target::OrtQdq)
    }
}

/// One row being measured.
struct Slot {
    target: Target,
    threads: usize,
    row: Row,
    /// Batch-1 logits from the first warm-up run.
    logits: Option<Array2<f32>>,
}

/// Runs the whole comparison.
pub fn run_comparison(options: &CompareOptions) -> Result<Report, CompareError> {
    if options.threads.is_empty() || options.threads.contains(&0) {
        return Err(CompareError::Option(format!("thread counts {:?} must be non-empty and positive", options.threads)));
    }
    for schedule in [&options.batch1, &options.batch64] {
        if schedule.iterations() == 0 {
            return Err(CompareError::Option(format!("schedule {schedule:?} has no timed runs")));
        }
    }
    let machine = Machine::detect();
    let mut run = RunInfo {
        date: utc_now(),
        command: options.command.clone(),
        cpu: machine.cpu,
        cores: machine.cores,
        isa_flags: machine.isa_flags,
        rpr_kernels: format!("{:?}", rpr_infer::kernels::kernels().isa).to_lowercase(),
        onnxruntime_version: None,
        seed: options.seed,
        batch1: options.batch1,
        batch64: options.batch64,
    };

    let mut networks = Vec::new();
    for spec in &options.networks {
        tracing::info!(network = %spec.key, "preparing network");
        let prepared = prepare(spec, options.seed, &options.work_dir.join("models"))?;
        let (report, ort_version) = measure_network(&prepared, options)?;
        if ort_version.is_some() {
            run.onnxruntime_version = ort_version;
        }
        networks.push(report);
    }
    Ok(Report { run, networks })
}

fn measure_network(net: &PreparedNetwork, options: &CompareOptions) -> Result<(NetworkReport, Option<String>), CompareError> {
    let mut slots = Vec::new();
    for target in Target::ALL {
        if !target.compiled_in() {
            tracing::warn!(engine = target.names().0, "skipped: built without its cargo feature");
            continue;
        }
        if target.is_ort() && options.ort.is_none() {
            continue;
        }
        let thread_counts: &[usize] = if target.single_threaded() { &[1] } else { &options.threads };
        for &threads in thread_counts {
            let (engine, variant) = target.names();
            slots.push(Slot { target, threads, row: Row::new(engine, variant, threads), logits: None });
        }
    }

    // Inputs come from their own stream, so they do not depend on how many
    // random numbers the weights consumed.
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x1a9e_5eed);
    let batch1 = random_images(&mut rng, 1, net.spec.input);
    let batch64 = random_images(&mut rng, THROUGHPUT_BATCH, net.spec.input);
    let mut int8_layers = None;

    for (batch, schedule) in [(&batch1, &options.batch1), (&batch64, &options.batch64)] {
        let n = batch.len_of(Axis(0));
        tracing::info!(network = %net.spec.key, batch = n, "timing in-process engines");
        measure_in_process(net, &mut slots, batch, schedule, &mut int8_layers);
    }

    let mut ort_version = None;
    if let Some((python, script)) = &options.ort {
        ort_version = measure_ort(net, &mut slots, python, script, options, [&batch1, &batch64])?;
    }

    // Accuracy check: every engine's batch-1 logits against rpr-infer f32 on 1 thread.
    let reference = slots.iter().find(|s| s.target == Target::RprF32 && s.threads == 1).and_then(|s| s.logits.clone());
    if let Some(reference) = reference {
        for slot in &mut slots {
            if let Some(logits) = &slot.logits {
                slot.row.max_abs_diff = max_abs_diff(logits, &reference);
            }
        }
    }

    let rows = slots.into_iter().map(|slot| slot.row).collect();
    let report = NetworkReport { spec: net.spec.clone(), files: net.files.clone(), rows, int8_layers };
    Ok((report, ort_version))
}

/// Times every in-process slot at one batch size: builds the backends, warms
/// each up, then runs the rounds with the slots taking turns. Backends are
/// dropped at the end so batch-64 buffers of large networks never coexist
/// with another phase's.
///
/// NOTE: taking turns in one process makes rpr-infer's batch-1 ResNet-20 runs
/// take about a third longer than when timed alone, likely because libtorch's
/// worker threads keep spinning after each call. ONNX Runtime runs in its
/// own process and escapes this, so its batch-1 ratio favors it.
fn measure_in_process(
    net: &PreparedNetwork,
    slots: &mut [Slot],
    batch: &Array4<f32>,
    schedule: &Schedule,
    int8_layers: &mut Option<(usize, usize)>,
) {
    let n = batch.len_of(Axis(0));
    let mut active: Vec<(usize, Box<dyn Backend>, Vec<f64>)> = Vec::new();
    for (index, slot) in slots.iter_mut().enumerate() {
        if slot.target.is_ort() || slot.row.error.is_some() {
            continue;
        }
        let backend = match make_backend(net, slot.target, slot.threads, n, int8_layers) {
            Ok(Some(backend)) => backend,
            Ok(None) => continue,
            Err(error) => {
                record_error(slot, &error);
                continue;
            }
        };
        active.push((index, backend, Vec::with_capacity(schedule.iterations())));
    }

    active.retain_mut(|(index, backend, _)| match warm_up(backend.as_mut(), batch.view(), schedule.warmup.max(1)) {
        Ok(logits) => {
            if n == 1 {
                slots[*index].logits = Some(logits);
            }
            true
        }
        Err(error) => {
            record_error(&mut slots[*index], &error);
            false
        }
    });

    for _ in 0..schedule.rounds {
        active.retain_mut(|(index, backend, samples)| {
            match time_runs(backend.as_mut(), batch.view(), schedule.iterations_per_round, samples) {
                Ok(()) => true,
                Err(error) => {
                    record_error(&mut slots[*index], &error);
                    false
                }
            }
        });
    }

    for (index, _, samples) in active {
        store_samples(&mut slots[index], n, &samples);
    }
}

fn make_backend(
    net: &PreparedNetwork,
    target: Target,
    threads: usize,
    batch: usize,
    int8_layers: &mut Option<(usize, usize)>,
) -> Result<Option<Box<dyn Backend>>, BackendError> {
    Ok(match target {
        Target::RprInt8 | Target::RprF32 => {
            let precision = if target == Target::RprInt8 { Precision::Int8 } else { Precision::F32 };
            let backend = RprBackend::new(&net.rpr, precision, threads, batch)?;
            if target == Target::RprInt8 {
                *int8_layers = Some(backend.int8_layers());
            }
            Some(Box::new(backend))
        }
        #[cfg(feature = "libtorch")]
        Target::Torch => Some(Box::new(crate::engines::torch::TorchBackend::new(&net.checkpoint, &net.checkpoint_dir, threads)?)),
        #[cfg(feature = "tract")]
        Target::TractFloat => Some(Box::new(crate::engines::tract::TractBackend::new(&net.onnx_float, "fp32", batch, net.spec.input)?)),
        #[cfg(feature = "tract")]
        Target::TractQdq => Some(Box::new(crate::engines::tract::TractBackend::new(&net.onnx_qdq, "qdq int8", batch, net.spec.input)?)),
        #[allow(unreachable_patterns)]
        Target::Torch | Target::TractFloat | Target::TractQdq => {
            let (engine, _) = target.names();
            return Err(BackendError::Load {
                engine,
                model: net.spec.key.clone(),
                message: "this build lacks the engine; build rpr-benches with the `libtorch` and `tract` features".into(),
            });
        }
        Target::OrtFloat | Target::OrtQdq => None,
    })
}

fn measure_ort(
    net: &PreparedNetwork,
    slots: &mut [Slot],
    python: &Path,
    script: &Path,
    options: &CompareOptions,
    batches: [&Array4<f32>; 2],
) -> Result<Option<String>, CompareError> {
    let input_dir = options.work_dir.join("inputs");
    std::fs::create_dir_all(&input_dir).map_err(|source| CompareError::Io { path: input_dir.clone(), source })?;
    let mut version = None;

    for (batch, schedule) in batches.into_iter().zip([&options.batch1, &options.batch64]) {
        let n = batch.len_of(Axis(0));
        let input = input_dir.join(format!("{}.b{n}.f32", net.spec.key));
        let [c, h, w] = net.spec.input;
        let mut configs = Vec::new();
        for (index, slot) in slots.iter().enumerate() {
            if !slot.target.is_ort() || slot.row.error.is_some() {
                continue;
            }
            let model = if slot.target == Target::OrtFloat { &net.onnx_float } else { &net.onnx_qdq };
            let id = index.to_string();
            configs.push(OrtConfig { id, model: model.clone(), threads: slot.threads, input: input.clone(), shape: [n, c, h, w] });
        }
        if configs.is_empty() {
            break;
        }

        let response = ort::write_raw_input(&input, batch.view())
            .and_then(|()| ort::run_script(python, script, &input_dir, &configs, schedule));
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(network = %net.spec.key, %error, "ONNX Runtime timing failed");
                for config in &configs {
                    let index: usize = config.id.parse().expect("ids are slot indices");
                    record_error(&mut slots[index], &error);
                }
                break;
            }
        };
        version = Some(response.onnxruntime_version.clone());

        for result in &response.results {
            let Some(slot) = result.id.parse::<usize>().ok().and_then(|index| slots.get_mut(index)) else {
                tracing::warn!(id = %result.id, "the ONNX Runtime script returned an unknown configuration id");
                continue;
            };
            if let Some(error) = &result.error {
                slot.row.error = Some(format!("ONNX Runtime: {error}"));
                continue;
            }
            if n == 1 {
                slot.logits = result.logits();
            }
            store_samples(slot, n, &result.samples_ms);
        }
    }
    Ok(version)
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

    #[test]
    fn rejects_zero_threads() {
        let options = CompareOptions {
            networks: Vec::new(),
            work_dir: PathBuf::from("unused"),
            seed: 1,
            batch1: Schedule { warmup: 1, rounds: 1, iterations_per_round: 1 },
            batch64: Schedule { warmup: 1, rounds: 1, iterations_per_round: 1 },
            threads: vec![1, 0],
            ort: None,
            command: String::new(),
        };
        assert!(matches!(run_comparison(&options), Err(CompareError::Option(_))));
    }
}
