//! Results of a comparison run and their Markdown and JSON forms.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::network::{FileSize, NetworkSpec};
use crate::stats::LatencySummary;
use crate::timing::{NetworkSchedule, Schedule};

/// Batch size of the throughput columns.
pub const THROUGHPUT_BATCH: usize = 64;

/// Machine and settings of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// UTC time the run started, RFC 3339.
    pub date: String,
    pub command: String,
    /// `lscpu` model name, or `unknown`.
    pub cpu: String,
    /// Logical CPUs available to the process.
    pub cores: usize,
    /// SIMD extensions the CPU reports, for example `avx2 fma`.
    pub isa_flags: String,
    /// Kernel family rpr-infer chose.
    pub rpr_kernels: String,
    pub onnxruntime_version: Option<String>,
    /// PyTorch version of the eager rows; absent in results from before those rows.
    #[serde(default)]
    pub torch_version: Option<String>,
    pub seed: u64,
    /// Schedule of networks without their own [`NetworkReport::schedule`].
    pub batch1: Schedule,
    pub batch64: Schedule,
    /// True when every configuration ran in its own process, started anew
    /// for each round. False (and absent in older results) when rpr-infer,
    /// libtorch and tract took turns in one process and ONNX Runtime ran all
    /// its configurations in another.
    #[serde(default)]
    pub process_per_configuration: bool,
}

/// One engine configuration on one network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Engine name, for example `ONNX Runtime`.
    pub engine: String,
    /// Numeric format, for example `int8` or `fp32`.
    pub variant: String,
    pub threads: usize,
    /// Batch-1 latency.
    pub batch1: Option<LatencySummary>,
    /// Batch-64 time per batch.
    pub batch64: Option<LatencySummary>,
    /// Maximum absolute difference of the batch-1 logits from rpr-infer's f32 path.
    pub max_abs_diff: Option<f32>,
    /// Why the row is incomplete.
    pub error: Option<String>,
}

impl Row {
    /// Creates a row without measurements.
    pub fn new(engine: &str, variant: &str, threads: usize) -> Self {
        Row { engine: engine.into(), variant: variant.into(), threads, batch1: None, batch64: None, max_abs_diff: None, error: None }
    }

    /// Images per second at batch 64, from the median batch time.
    pub fn throughput(&self) -> Option<f64> {
        self.batch64.as_ref().map(|s| THROUGHPUT_BATCH as f64 * 1e3 / s.median_ms)
    }

    fn is_rpr_int8(&self) -> bool {
        self.engine == "rpr-infer" && self.variant == "int8"
    }
}

/// All rows of one network, with its file sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkReport {
    pub spec: NetworkSpec,
    pub files: Vec<FileSize>,
    pub rows: Vec<Row>,
    /// Packed convs that ran on u8 activations in rpr-infer's int8 path, out of all packed convs.
    pub int8_layers: Option<(usize, usize)>,
    /// Schedule this network ran with. Older results lack it and used the run's schedule.
    #[serde(default)]
    pub schedule: Option<NetworkSchedule>,
}

impl NetworkReport {
    /// rpr-infer int8 row with `threads` threads.
    pub fn baseline(&self, threads: usize) -> Option<&Row> {
        self.rows.iter().find(|row| row.is_rpr_int8() && row.threads == threads)
    }

    /// Batch-1 median latency of `row` divided by rpr-infer int8's at the
    /// same thread count; above 1 means rpr-infer int8 is faster.
    pub fn latency_ratio(&self, row: &Row) -> Option<f64> {
        let baseline = self.baseline(row.threads)?.batch1.as_ref()?;
        Some(row.batch1.as_ref()?.median_ms / baseline.median_ms)
    }

    /// Batch-64 median time of `row` divided by rpr-infer int8's at the same
    /// thread count (the inverse throughput ratio); above 1 means rpr-infer
    /// int8 is faster.
    pub fn throughput_ratio(&self, row: &Row) -> Option<f64> {
        let baseline = self.baseline(row.threads)?.batch64.as_ref()?;
        Some(row.batch64.as_ref()?.median_ms / baseline.median_ms)
    }

    /// rpr-infer int8 throughput at batch 64 with 2 threads over 1 thread.
    pub fn thread_scaling(&self) -> Option<f64> {
        Some(self.baseline(2)?.throughput()? / self.baseline(1)?.throughput()?)
    }
}

/// A whole comparison run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub run: RunInfo,
    pub networks: Vec<NetworkReport>,
}

impl Report {
    /// Serializes the report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain structs with string keys serialize")
    }

    /// Writes the report as JSON to `path`, atomically.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        rpr_core::checkpoint::write_atomic(path, self.to_json().as_bytes())
    }

    /// Renders the report as Markdown: run settings, then per network a
    /// table of rows and a table of file sizes.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let run = &self.run;
        let _ = writeln!(out, "Date: {}  ", run.date);
        let _ = writeln!(out, "Command: `{}`  ", run.command);
        let _ = writeln!(out, "Machine: {}, {} logical CPUs, {}  ", run.cpu, run.cores, run.isa_flags);
        let _ = writeln!(out, "rpr-infer kernels: {}", run.rpr_kernels);
        if let Some(version) = &run.onnxruntime_version {
            let _ = writeln!(out, "  \nONNX Runtime: {version}");
        }
        if let Some(version) = &run.torch_version {
            let _ = writeln!(out, "  \nPyTorch (eager rows): {version}");
        }
        let _ = writeln!(
            out,
            "\nBatch 1: {}, {} timed runs; batch {THROUGHPUT_BATCH}: {}, {} timed runs; \
             engines take turns in {} and {} rounds. Seed {}.",
            warmup_text(run.batch1.warmup),
            run.batch1.iterations(),
            warmup_text(run.batch64.warmup),
            run.batch64.iterations(),
            run.batch1.rounds,
            run.batch64.rounds,
            run.seed
        );
        let isolation = if run.process_per_configuration {
            "Each configuration ran in its own process, started anew for every round with its warm-up runs repeated."
        } else {
            "rpr-infer, libtorch and tract took turns in one process, and ONNX Runtime ran all its configurations in another."
        };
        let _ = writeln!(out, "{isolation}");
        let _ = writeln!(
            out,
            "Ratios divide each row's time by rpr-infer int8's with the same thread count, so above 1 means rpr-infer int8 is faster."
        );

        for network in &self.networks {
            write_network(&mut out, network, run);
        }
        out
    }
}

fn write_network(out: &mut String, network: &NetworkReport, run: &RunInfo) {
    let spec = &network.spec;
    let [c, h, w] = spec.input;
    let _ = writeln!(out, "\n### {} ({}x{}x{})\n", spec.key, c, h, w);
    if let Some(schedule) = network.schedule.filter(|s| (s.batch1, s.batch64) != (run.batch1, run.batch64)) {
        let _ = writeln!(
            out,
            "Schedule of this network: batch 1: {}, {} timed runs in {} rounds; \
             batch {THROUGHPUT_BATCH}: {}, {} timed runs in {} rounds.\n",
            warmup_text(schedule.batch1.warmup),
            schedule.batch1.iterations(),
            schedule.batch1.rounds,
            warmup_text(schedule.batch64.warmup),
            schedule.batch64.iterations(),
            schedule.batch64.rounds
        );
    }
    let _ = writeln!(
        out,
        "| engine | format | threads | b1 median ms | b1 p99 ms | b1 ratio | b64 img/s | b64 ratio | max abs diff vs rpr f32 |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in &network.rows {
        let median = fmt_opt(row.batch1.as_ref().map(|s| s.median_ms), 3);
        let p99 = fmt_opt(row.batch1.as_ref().map(|s| s.p99_ms), 3);
        let latency_ratio = fmt_opt(network.latency_ratio(row), 2);
        let throughput = fmt_opt(row.throughput(), 1);
        let throughput_ratio = fmt_opt(network.throughput_ratio(row), 2);
        // Results written before errored rows lost their difference may still carry one.
        let diff = row.max_abs_diff.filter(|_| row.error.is_none()).map_or_else(|| "-".to_string(), |d| format!("{d:.2e}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {median} | {p99} | {latency_ratio} | {throughput} | {throughput_ratio} | {diff} |",
            row.engine, row.variant, row.threads
        );
    }

    if let Some(scaling) = network.thread_scaling() {
        let _ = writeln!(out, "\nrpr-infer int8, batch {THROUGHPUT_BATCH}: 2 threads give {scaling:.2}x the throughput of 1 thread.");
    }
    if let Some((int8, packed)) = network.int8_layers {
        let _ = writeln!(out, "\nrpr-infer int8 path: {int8} of {packed} packed convs run on u8 activations; the others run in f32.");
    }
    let errors: Vec<&Row> = network.rows.iter().filter(|row| row.error.is_some()).collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "\nIncomplete rows:\n");
        for row in errors {
            let _ = writeln!(out, "- {} {} {} threads: {}", row.engine, row.variant, row.threads, row.error.as_deref().unwrap_or(""));
        }
    }

    let _ = writeln!(out, "\n| file | bytes | vs f32 |");
    let _ = writeln!(out, "| --- | ---: | ---: |");
    let reference = network.files.first().map(|f| f.bytes);
    for file in &network.files {
        let ratio = reference.filter(|&r| r > 0).map_or_else(|| "-".to_string(), |r| format!("{:.3}", file.bytes as f64 / r as f64));
        let _ = writeln!(out, "| {} | {} | {ratio} |", file.label, file.bytes);
    }
}

/// Describes the untimed runs of each process. The first run always
/// happens, because it returns the logits, so a warm-up of 0 still runs once.
fn warmup_text(warmup: usize) -> String {
    if warmup == 0 {
        "0 warm-up runs plus the one untimed run that returns the logits".into()
    } else {
        format!("{warmup} warm-up runs")
    }
}

fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use rpr_core::quant::Bits;

    use super::*;

    fn summary(median_ms: f64) -> LatencySummary {
        LatencySummary { iterations: 10, median_ms, p99_ms: median_ms * 1.5, min_ms: median_ms * 0.9, max_ms: median_ms * 2.0 }
    }

    fn row(engine: &str, variant: &str, threads: usize, b1: f64, b64: f64) -> Row {
        Row { batch1: Some(summary(b1)), batch64: Some(summary(b64)), ..Row::new(engine, variant, threads) }
    }

    fn sample_report() -> Report {
        let schedule = Schedule { warmup: 2, rounds: 3, iterations_per_round: 4 };
        let run = RunInfo {
            date: "2026-12-04T22:00:00Z".into(),
            command: "scripts/compare.sh --quick".into(),
            cpu: "Test CPU".into(),
            cores: 2,
            isa_flags: "avx2 fma".into(),
            rpr_kernels: "avx2".into(),
            onnxruntime_version: Some("1.32.0".into()),
            torch_version: Some("2.13.0".into()),
            seed: 1,
            batch1: schedule,
            batch64: schedule,
            process_per_configuration: true,
        };
        let mut failed = Row::new("tract", "qdq int8 (rpr-export)", 1);
        failed.error = Some("tract: failed to load `x.onnx`: unsupported".into());
        let network = NetworkReport {
            spec: NetworkSpec::new("resnet20", Bits::Ternary, 1, 28),
            files: vec![
                FileSize { label: "f32".into(), path: PathBuf::from("a"), bytes: 1000 },
                FileSize { label: ".rpr".into(), path: PathBuf::from("b"), bytes: 100 },
            ],
            rows: vec![
                row("rpr-infer", "int8", 1, 2.0, 64.0),
                row("rpr-infer", "int8", 2, 1.0, 34.0),
                row("ONNX Runtime", "qdq int8 (rpr-export)", 1, 3.0, 128.0),
                failed,
            ],
            int8_layers: Some((18, 18)),
            schedule: Some(NetworkSchedule { batch1: Schedule { warmup: 1, rounds: 2, iterations_per_round: 5 }, batch64: schedule }),
        };
        Report { run, networks: vec![network] }
    }

    #[test]
    fn ratios_use_same_thread_baseline() {
        let report = sample_report();
        let network = &report.networks[0];
        let ort = &network.rows[2];
        assert_eq!(network.latency_ratio(ort), Some(1.5));
        assert_eq!(network.throughput_ratio(ort), Some(2.0));
        assert_eq!(network.latency_ratio(&network.rows[1]), Some(1.0));
        assert_eq!(network.latency_ratio(&network.rows[3]), None);
    }

    #[test]
    fn throughput_from_batch_median() {
        let report = sample_report();
        let rows = &report.networks[0].rows;
        assert_eq!(rows[0].throughput(), Some(1000.0));
        let scaling = report.networks[0].thread_scaling().unwrap();
        assert!((scaling - 64.0 / 34.0).abs() < 1e-12, "scaling is {scaling}");
    }

    #[test]
    fn markdown_has_rows_and_errors() {
        let text = sample_report().to_markdown();
        assert!(text.contains("### resnet20-ternary-28 (1x28x28)"), "{text}");
        assert!(text.contains("| ONNX Runtime | qdq int8 (rpr-export) | 1 | 3.000 | 4.500 | 1.50 | 500.0 | 2.00 | - |"), "{text}");
        assert!(text.contains("| tract | qdq int8 (rpr-export) | 1 | - | - | - | - | - | - |"), "{text}");
        assert!(text.contains("- tract qdq int8 (rpr-export) 1 threads: tract: failed to load"), "{text}");
        assert!(text.contains("2 threads give 1.88x"), "{text}");
        assert!(text.contains("| .rpr | 100 | 0.100 |"), "{text}");
        assert!(text.contains("18 of 18 packed convs"), "{text}");
        assert!(text.contains("Each configuration ran in its own process"), "{text}");
        assert!(text.contains("Schedule of this network: batch 1: 1 warm-up runs, 10 timed runs in 2 rounds"), "{text}");
    }

    #[test]
    fn markdown_counts_logits_run() {
        let mut report = sample_report();
        report.run.batch1.warmup = 0;
        let text = report.to_markdown();
        assert!(text.contains("Batch 1: 0 warm-up runs plus the one untimed run that returns the logits, 12 timed runs"), "{text}");
    }

    #[test]
    fn markdown_hides_diff_of_errored_row() {
        let mut report = sample_report();
        report.networks[0].rows[3].max_abs_diff = Some(6.02);
        let text = report.to_markdown();
        assert!(text.contains("| tract | qdq int8 (rpr-export) | 1 | - | - | - | - | - | - |"), "{text}");
    }

    #[test]
    fn json_round_trips() {
        let report = sample_report();
        let parsed: Report = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(parsed, report);
    }

    #[test]
    fn json_without_isolation_fields_parses() {
        let mut value: serde_json::Value = serde_json::from_str(&sample_report().to_json()).unwrap();
        value["run"].as_object_mut().unwrap().remove("process_per_configuration");
        value["networks"][0].as_object_mut().unwrap().remove("schedule");
        let parsed: Report = serde_json::from_value(value).unwrap();
        assert!(!parsed.run.process_per_configuration);
        assert_eq!(parsed.networks[0].schedule, None);
        assert!(parsed.to_markdown().contains("took turns in one process"));
    }

    #[test]
    fn json_file_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let report = sample_report();
        report.write_json(&path).unwrap();
        let parsed: Report = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(parsed.networks[0].rows.len(), 4);
    }
}
