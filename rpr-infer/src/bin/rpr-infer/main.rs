//! `rpr-infer`: evaluate, classify with and benchmark `.rpr` models.

mod bench;
mod classify;
mod dataset;
mod eval;
mod stats;

use clap::{Parser, Subcommand, ValueEnum};
use rpr_infer::Precision;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "rpr-infer",
    version,
    about = "Run binary- and ternary-weight networks from .rpr files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure top-1 accuracy, throughput and latency on a test set.
    Eval(eval::EvalArgs),
    /// Print the top-5 classes of one image.
    Run(classify::RunArgs),
    /// Measure latency and throughput on random input.
    Bench(bench::BenchArgs),
}

/// Activation precision of the packed layers.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PrecisionArg {
    /// u8 activations with calibrated scales, i32 accumulation.
    Int8,
    /// f32 activations, add/sub kernels.
    F32,
}

impl From<PrecisionArg> for Precision {
    fn from(value: PrecisionArg) -> Self {
        match value {
            PrecisionArg::Int8 => Precision::Int8,
            PrecisionArg::F32 => Precision::F32,
        }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Eval(args) => eval::run(args),
        Command::Run(args) => classify::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
