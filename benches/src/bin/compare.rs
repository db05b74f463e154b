//! Side-by-side latency and throughput of rpr-infer, libtorch, tract and ONNX
//! Runtime on the same networks and inputs. `scripts/compare.sh` builds and
//! runs it; see `--help` for the options.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rpr_benches::harness::{run_comparison, CompareOptions};
use rpr_benches::network::NetworkSpec;
use rpr_benches::plot::write_chart;
use rpr_benches::timing::Schedule;
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(about = "Compare rpr-infer with libtorch, tract and ONNX Runtime on the same exported networks")]
struct Args {
    /// Output folder for results.md, results.json, chart.png and the model files.
    #[arg(long, default_value = "runs/compare")]
    out: PathBuf,

    /// Few iterations and ternary ResNet-20 only, for a check in about a minute.
    #[arg(long)]
    quick: bool,

    /// Networks to run, by key (repeatable): resnet20-ternary-28, resnet18-ternary-224,
    /// resnet20-binary-28. Default: all three, or the first with --quick.
    #[arg(long = "network")]
    networks: Vec<String>,

    /// Thread counts for the multi-threaded engines, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,

    /// Seed of the weights and inputs.
    #[arg(long, default_value_t = 20)]
    seed: u64,

    /// Batch-1 warm-up runs per engine.
    #[arg(long)]
    warmup: Option<usize>,

    /// Batch-1 rounds; every engine runs --iterations times per round, in turn.
    #[arg(long)]
    rounds: Option<usize>,

    /// Batch-1 timed runs per engine and round.
    #[arg(long)]
    iterations: Option<usize>,

    /// Batch-64 rounds; every engine runs --iterations-64 times per round, in turn.
    #[arg(long)]
    rounds_64: Option<usize>,

    /// Batch-64 timed runs per engine and round.
    #[arg(long)]
    iterations_64: Option<usize>,

    /// Python interpreter with onnxruntime installed.
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,

    /// ONNX Runtime timing script.
    #[arg(long, default_value = "scripts/ort_bench.py")]
    ort_script: PathBuf,

    /// Skip ONNX Runtime.
    #[arg(long)]
    no_ort: bool,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let standard = NetworkSpec::standard_set();
    let networks = if args.networks.is_empty() {
        if args.quick {
            standard[..1].to_vec()
        } else {
            standard
        }
    } else {
        let mut chosen = Vec::new();
        for key in &args.networks {
            let Some(spec) = standard.iter().find(|spec| &spec.key == key) else {
                let known: Vec<&str> = standard.iter().map(|spec| spec.key.as_str()).collect();
                bail!("unknown network `{key}`; choose from {}", known.join(", "));
            };
            chosen.push(spec.clone());
        }
        chosen
    };

    let (batch1, batch64) = if args.quick {
        (Schedule { warmup: 3, rounds: 5, iterations_per_round: 8 }, Schedule { warmup: 1, rounds: 3, iterations_per_round: 1 })
    } else {
        (Schedule { warmup: 10, rounds: 10, iterations_per_round: 20 }, Schedule { warmup: 2, rounds: 5, iterations_per_round: 2 })
    };
    let batch1 = Schedule {
        warmup: args.warmup.unwrap_or(batch1.warmup),
        rounds: args.rounds.unwrap_or(batch1.rounds),
        iterations_per_round: args.iterations.unwrap_or(batch1.iterations_per_round),
    };
    let batch64 = Schedule {
        warmup: batch64.warmup,
        rounds: args.rounds_64.unwrap_or(batch64.rounds),
        iterations_per_round: args.iterations_64.unwrap_or(batch64.iterations_per_round),
    };

    let ort = if args.no_ort {
        None
    } else {
        if !args.ort_script.is_file() {
            bail!("ONNX Runtime script {} not found; pass --ort-script or --no-ort", args.ort_script.display());
        }
        Some((args.python.clone(), args.ort_script.clone()))
    };

    let command = std::env::var("RPR_COMPARE_COMMAND").unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    let options = CompareOptions {
        networks,
        work_dir: args.out.clone(),
        seed: args.seed,
        batch1,
        batch64,
        threads: args.threads.clone(),
        ort,
        command,
    };
    let report = run_comparison(&options)?;

    std::fs::create_dir_all(&args.out).with_context(|| format!("failed to create {}", args.out.display()))?;
    let markdown = report.to_markdown();
    let table = args.out.join("results.md");
    rpr_core::checkpoint::write_atomic(&table, markdown.as_bytes()).with_context(|| format!("failed to write {}", table.display()))?;
    let json = args.out.join("results.json");
    report.write_json(&json).with_context(|| format!("failed to write {}", json.display()))?;
    let chart = args.out.join("chart.png");
    write_chart(&report, &chart)?;

    println!("{markdown}");
    println!("Wrote {}, {} and {}", table.display(), json.display(), chart.display());
    Ok(())
}
