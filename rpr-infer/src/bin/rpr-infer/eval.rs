//! `rpr-infer eval`: accuracy, throughput and latency on a test set.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rpr_infer::{Engine, Session, SessionOptions};

use crate::dataset::{self, DatasetArg};
use crate::stats::Latency;
use crate::PrecisionArg;

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// Model file written by `rpr-export --packed`.
    model: PathBuf,
    /// Test set to evaluate on.
    #[arg(long, value_enum, default_value = "fashion-mnist")]
    dataset: DatasetArg,
    /// Directory of the data set files (default for Fashion-MNIST: the Debian package's directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Activation precision of the packed layers.
    #[arg(long, value_enum, default_value = "int8")]
    precision: PrecisionArg,
    /// Worker threads (0: one per CPU).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// Evaluate only the first N test images.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct EvalReport {
    model: String,
    dataset: String,
    precision: String,
    threads: usize,
    batch: usize,
    kernels: &'static str,
    int8_layers: usize,
    packed_layers: usize,
    images: usize,
    correct: usize,
    top1: f64,
    images_per_second: f64,
    /// Latency of one batch (of one image when the batch is 1).
    latency_ms: Option<Latency>,
}

pub(crate) fn run(args: EvalArgs) -> anyhow::Result<()> {
    let engine = Engine::load(&args.model)
        .with_context(|| format!("cannot load {}", args.model.display()))?;
    let dataset = args.dataset.load_test(args.data_dir.as_deref())?;
    dataset::check_shape(&dataset, engine.input_shape())?;
    let norm = args.dataset.normalization();
    let batch = args.batch as usize;
    let options = SessionOptions {
        precision: args.precision.into(),
        threads: args.threads,
        batch,
        isa: None,
    };
    let mut session = Session::new(&engine, options)?;

    let total = args
        .limit
        .map_or(dataset.len(), |limit| {
            usize::try_from(limit).unwrap_or(usize::MAX)
        })
        .min(dataset.len());
    let progress = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    progress.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} images, {per_sec}, eta {eta}",
    )?);

    let mut correct = 0;
    let mut latencies = Vec::with_capacity(total.div_ceil(batch));
    let mut busy = Duration::ZERO;
    let indices: Vec<usize> = (0..total).collect();
    for chunk in indices.chunks(batch) {
        let input = dataset::batch(&dataset, chunk, &norm)?;
        let start = Instant::now();
        let logits = session.run(input.view())?;
        let elapsed = start.elapsed();
        busy += elapsed;
        latencies.push(elapsed);
        for (row, &index) in logits.outer_iter().zip(chunk) {
            if argmax(row.as_slice().unwrap_or(&row.to_vec())) == usize::from(dataset.labels[index])
            {
                correct += 1;
            }
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();

    let (int8_layers, packed_layers) = session.int8_layers();
    let report = EvalReport {
        model: args.model.display().to_string(),
        dataset: dataset.name.clone(),
        precision: format!("{:?}", args.precision).to_lowercase(),
        threads: session.threads(),
        batch,
        kernels: session.kernels().isa.name(),
        int8_layers,
        packed_layers,
        images: total,
        correct,
        top1: if total == 0 {
            0.0
        } else {
            correct as f64 / total as f64
        },
        images_per_second: if busy.is_zero() {
            0.0
        } else {
            total as f64 / busy.as_secs_f64()
        },
        latency_ms: Latency::from_samples(&latencies),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("model       {} on {}", report.model, report.dataset);
        println!(
            "precision   {} ({} of {} packed layers on u8), kernels {}",
            report.precision, int8_layers, packed_layers, report.kernels
        );
        println!(
            "top-1       {:.2}% ({} / {})",
            report.top1 * 100.0,
            correct,
            total
        );
        println!(
            "throughput  {:.1} images/s, {} threads, batch {}",
            report.images_per_second, report.threads, batch
        );
        if let Some(latency) = report.latency_ms {
            let unit = if batch == 1 { "per image" } else { "per batch" };
            println!(
                "latency     p50 {:.3} ms, p99 {:.3} ms {unit}",
                latency.p50_ms, latency.p99_ms
            );
        }
    }
    Ok(())
}

/// Index of the largest value (the first one on ties).
pub(crate) fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
