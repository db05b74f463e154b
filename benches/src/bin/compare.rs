//! Side-by-side latency and throughput of rpr-infer, libtorch, PyTorch eager,
//! tract and ONNX Runtime on the same networks and inputs. `scripts/compare.sh` builds and
//! runs it; see `--help` for the options.
//!
//! The hidden `worker` subcommand times one configuration and is started by
//! the comparison itself, once per configuration and round.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rpr_benches::engines::script::{OrtScripts, TorchScript};
use rpr_benches::harness::{run_comparison, CompareOptions};
use rpr_benches::network::NetworkSpec;
use rpr_benches::plot::write_chart;
use rpr_benches::process::PROCESS_TIMEOUT;
use rpr_benches::timing::{parse_count, ScheduleOverrides, SchedulePlan};
use rpr_benches::worker::{run_worker, WorkerRequest};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(about = "Compare rpr-infer with libtorch, PyTorch eager, tract and ONNX Runtime on the same exported networks")]
#[command(args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,

    /// Output folder for results.md, results.json, chart.png and the model files.
    #[arg(long, default_value = "runs/compare")]
    out: PathBuf,

    /// Few iterations and ternary ResNet-20 only, for a check in about a minute.
    #[arg(long)]
    quick: bool,

    /// Networks to run, by key (repeatable): resnet20-ternary-28, resnet18-ternary-224,
    /// resnet20-binary-28. Default: all three, or the first with --quick. A repeated key is measured once.
    #[arg(long = "network")]
    networks: Vec<String>,

    /// Thread counts for the multi-threaded engines, comma-separated, each 1 to 1024.
    /// A repeated count is measured once.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,

    /// Seed of the weights and inputs.
    #[arg(long, default_value_t = 20)]
    seed: u64,

    /// Batch-1 warm-up runs per engine process. Default: 10, or 2 for
    /// networks above 200 M multiply-accumulates per image (3 with --quick).
    #[arg(long, value_parser = parse_count)]
    warmup: Option<usize>,

    /// Batch-1 rounds. Each round starts every configuration once, in turn,
    /// in a fresh process. Default: 10, or 3 for large networks (5 with --quick).
    #[arg(long, value_parser = parse_count)]
    rounds: Option<usize>,

    /// Batch-1 timed runs per engine and round. Default: 20, or 10 for large networks (8 with --quick).
    #[arg(long, value_parser = parse_count)]
    iterations: Option<usize>,

    /// Batch-64 warm-up runs per engine process. Default: 2, or 1 for large networks (1 with --quick).
    #[arg(long, value_parser = parse_count)]
    warmup_64: Option<usize>,

    /// Batch-64 rounds, as --rounds. Default: 8, or 2 for large networks (3 with --quick).
    #[arg(long, value_parser = parse_count)]
    rounds_64: Option<usize>,

    /// Batch-64 timed runs per engine and round. Default: 4, or 1 for large networks (1 with --quick).
    #[arg(long, value_parser = parse_count)]
    iterations_64: Option<usize>,

    /// Python interpreter with onnxruntime and torch installed.
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,

    /// ONNX Runtime timing script.
    #[arg(long, default_value = "scripts/ort_bench.py")]
    ort_script: PathBuf,

    /// Script that makes ONNX Runtime's own int8 model (quantize_static) of each network.
    #[arg(long, default_value = "scripts/ort_quantize.py")]
    ort_quantize_script: PathBuf,

    /// Skip ONNX Runtime, including its quantize_static rows.
    #[arg(long)]
    no_ort: bool,

    /// PyTorch eager timing script (an nn.Module called from Python).
    #[arg(long, default_value = "scripts/torch_bench.py")]
    torch_script: PathBuf,

    /// Skip the PyTorch eager rows.
    #[arg(long)]
    no_torch_eager: bool,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Time one configuration described by a JSON request and write the
    /// samples as JSON. The comparison starts this itself.
    #[command(hide = true)]
    Worker {
        /// Request file written by the comparison.
        #[arg(long)]
        request: PathBuf,
        /// File to write the response to.
        #[arg(long)]
        response: PathBuf,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(Mode::Worker { request, response }) = &args.mode {
        return worker(request, response);
    }

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

    let overrides = ScheduleOverrides {
        warmup: args.warmup,
        rounds: args.rounds,
        iterations: args.iterations,
        warmup_64: args.warmup_64,
        rounds_64: args.rounds_64,
        iterations_64: args.iterations_64,
    };
    let worker_exe = std::env::current_exe().context("failed to find the path of the compare binary for its worker processes")?;

    let ort = if args.no_ort {
        None
    } else {
        if !args.ort_script.is_file() {
            bail!("ONNX Runtime script {} not found; pass --ort-script or --no-ort", args.ort_script.display());
        }
        if !args.ort_quantize_script.is_file() {
            bail!(
                "ONNX Runtime quantization script {} not found; pass --ort-quantize-script or --no-ort",
                args.ort_quantize_script.display()
            );
        }
        Some(OrtScripts { python: args.python.clone(), bench: args.ort_script.clone(), quantize: args.ort_quantize_script.clone() })
    };

    let torch_eager = if args.no_torch_eager {
        None
    } else {
        if !args.torch_script.is_file() {
            bail!("PyTorch eager script {} not found; pass --torch-script or --no-torch-eager", args.torch_script.display());
        }
        Some(TorchScript { python: args.python.clone(), bench: args.torch_script.clone() })
    };

    let command = std::env::var("RPR_COMPARE_COMMAND").unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    let options = CompareOptions {
        networks,
        work_dir: args.out.clone(),
        seed: args.seed,
        schedule: SchedulePlan { quick: args.quick, overrides },
        threads: args.threads.clone(),
        ort,
        torch_eager,
        worker: worker_exe,
        command,
        timeout: PROCESS_TIMEOUT,
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

/// Runs one worker: reads the request, times it and writes the response.
/// Exits with an error status when the measurement failed, after writing
/// the error into the response so the comparison can show it.
fn worker(request_path: &Path, response_path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(request_path).with_context(|| format!("failed to read {}", request_path.display()))?;
    let request: WorkerRequest =
        serde_json::from_str(&text).with_context(|| format!("invalid worker request {}", request_path.display()))?;
    let response = run_worker(&request);
    let json = serde_json::to_string(&response).context("failed to serialize the worker response")?;
    rpr_core::checkpoint::write_atomic(response_path, json.as_bytes())
        .with_context(|| format!("failed to write {}", response_path.display()))?;
    // The error already names the engine, so only the network is added.
    if let Some(error) = &response.error {
        bail!("timing {} failed: {error}", request.network);
    }
    Ok(())
}
