//! `rpr-infer bench`: latency and throughput on random input.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::ProgressBar;
use ndarray::Array4;
use rand::{Rng, SeedableRng};
use rpr_infer::{Engine, Session, SessionOptions};

use crate::stats::Latency;
use crate::PrecisionArg;

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Model file written by `rpr-export --packed`.
    model: PathBuf,
    /// Images per run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
    /// Worker threads (0: one per CPU).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs, after the warm-up runs.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    iters: u64,
    /// Untimed runs first, to fault in buffers and warm caches.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Activation precision of the packed layers.
    #[arg(long, value_enum, default_value = "int8")]
    precision: PrecisionArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct BenchReport {
    model: String,
    batch: usize,
    threads: usize,
    precision: String,
    kernels: &'static str,
    iters: u64,
    latency_ms: Latency,
    images_per_second: f64,
}

pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
    let engine = Engine::load(&args.model)
        .with_context(|| format!("cannot load {}", args.model.display()))?;
    let batch = args.batch as usize;
    let [c, h, w] = engine.input_shape();
    let options = SessionOptions {
        precision: args.precision.into(),
        threads: args.threads,
        batch,
        isa: None,
    };
    let mut session = Session::new(&engine, options)?;

    // Normalized images are roughly standard normal; uniform [-2, 2] exercises the same range.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let input = Array4::from_shape_fn((batch, c, h, w), |_| rng.gen_range(-2.0f32..2.0));
    for _ in 0..args.warmup {
        session.run(input.view())?;
    }

    let progress = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.iters)
    };
    let mut samples: Vec<Duration> = Vec::with_capacity(args.iters as usize);
    for _ in 0..args.iters {
        let start = Instant::now();
        session.run(input.view())?;
        samples.push(start.elapsed());
        progress.inc(1);
    }
    progress.finish_and_clear();

    let total: Duration = samples.iter().sum();
    let latency = Latency::from_samples(&samples).context("no timed runs")?;
    let report = BenchReport {
        model: args.model.display().to_string(),
        batch,
        threads: session.threads(),
        precision: format!("{:?}", args.precision).to_lowercase(),
        kernels: session.kernels().isa.name(),
        iters: args.iters,
        latency_ms: latency,
        images_per_second: (batch as u64 * args.iters) as f64 / total.as_secs_f64(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "model       {} ({} kernels, {} precision)",
            report.model, report.kernels, report.precision
        );
        println!(
            "batch {batch}, {} threads, {} runs",
            report.threads, args.iters
        );
        println!(
            "latency     p50 {:.3} ms, p99 {:.3} ms per run",
            latency.p50_ms, latency.p99_ms
        );
        println!("throughput  {:.1} images/s", report.images_per_second);
    }
    Ok(())
}
