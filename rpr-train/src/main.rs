//! `rpr-train`: float pretraining, RPR retraining, baselines, comparison and
//! evaluation from the command line.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use rpr_core::data::Augment;
use rpr_core::quant::{Bits, Granularity, QuantConfig, ScaleNorm};
use rpr_core::schedule::FfSchedule;
use rpr_train::compare::RunSpec;
use rpr_train::data::{DataConfig, DataSplits, DatasetKind};
use rpr_train::device::DeviceChoice;
use rpr_train::eval::evaluate;
use rpr_train::method::{inq_schedule, parse_bits, step_epochs_for, Method, QuantSetup};
use rpr_train::net::WeightOverrides;
use rpr_train::optim::OptimizerKind;
use rpr_train::quantized::QuantPolicy;
use rpr_train::setup::{build_network, check_input_matches, load_network};
use rpr_train::train::{self, LrSchedule, Outcome, RunInfo, TrainConfig};

#[derive(Parser)]
#[command(name = "rpr-train", version, about = "Train binary- and ternary-weight CNNs with Random Partition Relaxation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a float network from scratch (or from --init) and write a checkpoint directory.
    Pretrain(PretrainArgs),
    /// Quantize a float checkpoint with RPR or a baseline method and retrain it.
    Rpr(RprArgs),
    /// Run several methods and bit widths from the same checkpoint and tabulate them.
    Compare(CompareArgs),
    /// Report top-1, top-5 and the number of correct test images of a checkpoint.
    Eval(EvalArgs),
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Dataset: fashion-mnist, mnist, cifar10 or imagefolder.
    #[arg(long, default_value = "fashion-mnist")]
    dataset: DatasetKind,
    /// Dataset root (default for fashion-mnist: the Debian package dataset-fashion-mnist).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Train on a fixed random subset of this many images.
    #[arg(long)]
    train_subset: Option<usize>,
    /// Test on a fixed random subset of this many images.
    #[arg(long)]
    test_subset: Option<usize>,
    /// Side length in pixels that image-folder images are resized to.
    #[arg(long, default_value_t = 224)]
    image_size: usize,
    /// Zero padding in pixels before the random crop; 0 disables cropping.
    #[arg(long, default_value_t = 2)]
    augment_pad: usize,
    /// Disable random horizontal flips.
    #[arg(long)]
    no_flip: bool,
}

impl DataArgs {
    fn load(&self) -> Result<DataSplits> {
        let augment = (self.augment_pad > 0 || !self.no_flip)
            .then_some(Augment { pad: self.augment_pad, flip: !self.no_flip });
        let cfg = DataConfig {
            kind: self.dataset,
            data_dir: self.data_dir.clone(),
            train_subset: self.train_subset,
            test_subset: self.test_subset,
            image_size: self.image_size,
            image_channels: 3,
            augment,
        };
        let data = DataSplits::load(&cfg).context("loading the dataset")?;
        tracing::info!(train = data.train.len(), test = data.test.len(), dataset = self.dataset.as_str(), "data loaded");
        Ok(data)
    }
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Output directory (checkpoint, report.json, metrics.csv, training.png, training state).
    #[arg(long)]
    out: PathBuf,
    /// cpu, cuda or auto.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
    /// libtorch intra-op threads (default: all available cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Seed of data order, augmentation, initialization and partitions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    #[arg(long, default_value_t = 500)]
    eval_batch_size: usize,
    /// Base learning rate (default: 0.1 for pretrain, 1e-3 for quantized retraining).
    #[arg(long)]
    lr: Option<f64>,
    /// cosine or constant.
    #[arg(long)]
    lr_schedule: Option<String>,
    /// sgd (momentum 0.9) or adam (default: sgd for pretrain, adam for retraining).
    #[arg(long)]
    optimizer: Option<OptimizerKind>,
    /// L2 weight decay added to the gradient (default: 5e-4 for pretrain, 0 for retraining).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Continue from the training state in --out.
    #[arg(long)]
    resume: bool,
    /// Stop after this many completed epochs (resumable with --resume).
    #[arg(long)]
    stop_after: Option<usize>,
    /// Hide progress bars.
    #[arg(long)]
    no_progress: bool,
}

/// Defaults that differ between pretraining and retraining.
struct Defaults {
    epochs: usize,
    lr: f64,
    optimizer: OptimizerKind,
    weight_decay: f64,
}

impl RunArgs {
    fn config(&self, d: &Defaults) -> Result<TrainConfig> {
        let lr_schedule = match self.lr_schedule.as_deref() {
            None | Some("cosine") => LrSchedule::Cosine,
            Some("constant") => LrSchedule::Constant,
            Some(other) => bail!("unknown --lr-schedule `{other}`; expected cosine or constant"),
        };
        Ok(TrainConfig {
            epochs: self.epochs.unwrap_or(d.epochs),
            batch_size: self.batch_size,
            eval_batch_size: self.eval_batch_size,
            lr: self.lr.unwrap_or(d.lr),
            lr_schedule,
            optimizer: self.optimizer.unwrap_or(d.optimizer),
            weight_decay: self.weight_decay.unwrap_or(d.weight_decay),
            seed: self.seed,
            resume: self.resume,
            stop_after_epochs: self.stop_after,
            progress: !self.no_progress,
        })
    }

    fn init_torch(&self) -> Result<tch::Device> {
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        tch::set_num_threads(threads.max(1) as i32);
        tch::manual_seed(self.seed as i64);
        let device = self.device.resolve()?;
        tracing::info!(?device, threads, "libtorch ready");
        Ok(device)
    }
}

#[derive(Args)]
struct PretrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Architecture: resnet20, resnet32, resnet56, resnet18, resnet50 or googlenet.
    #[arg(long, default_value = "resnet20")]
    arch: String,
    /// Bilinearly resize inputs to this side length inside the network (for ImageNet topologies on small images).
    #[arg(long)]
    upsample_to: Option<usize>,
    /// Start from a torchvision state_dict saved as safetensors.
    #[arg(long)]
    init: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct QuantArgs {
    /// Start checkpoint directory (a float checkpoint written by `pretrain`).
    #[arg(long)]
    init_checkpoint: PathBuf,
    /// per-channel or per-tensor scales.
    #[arg(long, default_value = "per-channel")]
    granularity: String,
    /// Norm the scales minimize: l2, l1 or linf.
    #[arg(long, default_value = "l2")]
    scale_norm: String,
    /// RPR freezing-fraction schedule `epoch:ff,...` (default: geometric 0.9, 0.95, ... 1.0).
    #[arg(long)]
    ff_schedule: Option<FfSchedule>,
    /// Epochs per step of the default schedules (default: epochs / 7 for RPR, epochs / 5 for INQ).
    #[arg(long)]
    ff_step_epochs: Option<usize>,
    /// Draw a new RPR partition every N training steps instead of every epoch.
    #[arg(long)]
    repartition_every: Option<usize>,
    /// Keep the optimizer state across partition steps.
    #[arg(long)]
    keep_optimizer_state: bool,
    /// Also quantize the first convolution.
    #[arg(long)]
    quantize_first_conv: bool,
    /// Also quantize the fully connected classifier.
    #[arg(long)]
    quantize_classifier: bool,
    /// PTQ: training batches used to re-estimate BatchNorm statistics.
    #[arg(long, default_value_t = 100)]
    calibration_batches: usize,
}

impl QuantArgs {
    /// Loads `--init-checkpoint` and checks that it is a float checkpoint.
    fn load_float_start(&self, device: tch::Device) -> Result<rpr_train::net::Network> {
        let path = &self.init_checkpoint;
        let (net, checkpoint) =
            load_network(path, device).with_context(|| format!("loading --init-checkpoint {}", path.display()))?;
        if checkpoint.quant.is_some() {
            bail!("{} is already quantized; start from a float checkpoint", path.display());
        }
        Ok(net)
    }

    fn setup(&self, method: Method, bits: Bits, epochs: usize) -> Result<QuantSetup> {
        let granularity = match self.granularity.as_str() {
            "per-channel" => Granularity::PerChannel,
            "per-tensor" => Granularity::PerTensor,
            other => bail!("unknown --granularity `{other}`; expected per-channel or per-tensor"),
        };
        let norm = match self.scale_norm.as_str() {
            "l2" => ScaleNorm::L2,
            "l1" => ScaleNorm::L1,
            "linf" => ScaleNorm::LInf,
            other => bail!("unknown --scale-norm `{other}`; expected l2, l1 or linf"),
        };
        let schedule = match (method, &self.ff_schedule) {
            (Method::Inq, Some(s)) | (Method::Rpr, Some(s)) => s.clone(),
            (Method::Inq, None) => inq_schedule(self.ff_step_epochs.unwrap_or(step_epochs_for(epochs, 4)))?,
            _ => FfSchedule::geometric(self.ff_step_epochs.unwrap_or(step_epochs_for(epochs, 6))),
        };
        Ok(QuantSetup {
            method,
            quant: QuantConfig { bits, granularity, norm },
            policy: QuantPolicy { first_conv: self.quantize_first_conv, classifier: self.quantize_classifier },
            schedule,
            repartition_every: self.repartition_every,
            clear_optimizer_state: !self.keep_optimizer_state,
            calibration_batches: self.calibration_batches,
        })
    }
}

const RETRAIN_DEFAULTS: Defaults =
    Defaults { epochs: 14, lr: 1e-3, optimizer: OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, weight_decay: 0.0 };

#[derive(Args)]
struct RprArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    quant: QuantArgs,
    /// rpr, ste, inq or ptq.
    #[arg(long, default_value = "rpr")]
    method: Method,
    /// ternary or binary.
    #[arg(long, default_value = "ternary", value_parser = parse_bits_arg)]
    bits: Bits,
}

#[derive(Args)]
struct CompareArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    quant: QuantArgs,
    /// Comma-separated methods.
    #[arg(long, default_value = "rpr,ste,inq,ptq", value_delimiter = ',')]
    methods: Vec<Method>,
    /// Comma-separated bit widths.
    #[arg(long, default_value = "ternary,binary", value_delimiter = ',', value_parser = parse_bits_arg)]
    bits: Vec<Bits>,
    /// Comma-separated learning rates to sweep for every method with gradient steps; the
    /// summary keeps each method's best rate. Replaces --lr.
    #[arg(long, value_delimiter = ',', conflicts_with = "lr")]
    lrs: Vec<f64>,
}

#[derive(Args)]
struct EvalArgs {
    /// Checkpoint directory.
    checkpoint: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// libtorch intra-op threads (default: all available cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn parse_bits_arg(s: &str) -> Result<Bits, String> {
    parse_bits(s).map_err(|e| e.to_string())
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Pretrain(args) => pretrain(args),
        Command::Rpr(args) => retrain(args),
        Command::Compare(args) => compare(args),
        Command::Eval(args) => eval(args),
    }
}

fn pretrain(args: PretrainArgs) -> Result<()> {
    let device = args.run.init_torch()?;
    let data = args.data.load()?;
    let defaults = Defaults { epochs: 15, lr: 0.1, optimizer: OptimizerKind::Sgd { momentum: 0.9 }, weight_decay: 5e-4 };
    let cfg = args.run.config(&defaults)?;
    let net = build_network(&args.arch, &data, args.upsample_to, device)?;
    if let Some(init) = &args.init {
        net.load_state_dict_safetensors(init).with_context(|| format!("loading --init {}", init.display()))?;
    }
    let info = RunInfo { dataset: args.data.dataset.as_str().into(), command: command_line() };
    finish(train::run(&net, &data, &cfg, None, &info, &args.run.out)?)
}

fn retrain(args: RprArgs) -> Result<()> {
    let device = args.run.init_torch()?;
    let data = args.data.load()?;
    let cfg = args.run.config(&RETRAIN_DEFAULTS)?;
    let setup = args.quant.setup(args.method, args.bits, cfg.epochs)?;
    let net = args.quant.load_float_start(device)?;
    check_input_matches(&net, &data)?;
    let info = RunInfo { dataset: args.data.dataset.as_str().into(), command: command_line() };
    finish(train::run(&net, &data, &cfg, Some(&setup), &info, &args.run.out)?)
}

fn finish(outcome: Outcome) -> Result<()> {
    match outcome {
        Outcome::Finished(report) => {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Outcome::Stopped { epochs_done } => {
            println!("stopped after {epochs_done} epochs; continue with --resume");
        }
    }
    Ok(())
}

fn compare(args: CompareArgs) -> Result<()> {
    if let Some(bad) = args.lrs.iter().find(|lr| !(lr.is_finite() && **lr > 0.0)) {
        bail!("invalid --lrs value {bad}: every learning rate must be a positive number");
    }
    let device = args.run.init_torch()?;
    let data = args.data.load()?;
    // Every run reloads the checkpoint, so check it once before the first one.
    let net = args.quant.load_float_start(device)?;
    check_input_matches(&net, &data)?;
    drop(net);
    let specs = RunSpec::grid(&args.methods, &args.bits, &args.lrs);

    let configure = |spec: &RunSpec| -> Result<(TrainConfig, QuantSetup)> {
        let mut cfg = args.run.config(&RETRAIN_DEFAULTS)?;
        if let Some(lr) = spec.lr {
            cfg.lr = lr;
        }
        let setup = args.quant.setup(spec.method, spec.bits, cfg.epochs)?;
        Ok((cfg, setup))
    };
    // Check every option once before the first (long) run starts.
    for spec in &specs {
        configure(spec)?;
    }
    tracing::info!(runs = specs.len(), "comparison planned");

    let info = RunInfo { dataset: args.data.dataset.as_str().into(), command: command_line() };
    std::fs::create_dir_all(&args.run.out)
        .with_context(|| format!("creating the output folder {}", args.run.out.display()))?;
    let runs = rpr_train::compare::run_comparison(
        &args.quant.init_checkpoint,
        &data,
        device,
        &specs,
        &|spec| configure(spec).expect("validated above"),
        &info,
        &args.run.out,
    )?;
    print!("{}", rpr_train::compare::markdown_table(&runs));
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    tch::set_num_threads(threads.max(1) as i32);
    let device = args.device.resolve()?;
    let (net, checkpoint) = load_network(&args.checkpoint, device)
        .with_context(|| format!("loading checkpoint {}", args.checkpoint.display()))?;
    let data = args.data.load()?;
    check_input_matches(&net, &data)?;
    let acc = evaluate(&net, &data, &WeightOverrides::new(), args.batch_size)?;
    let summary = serde_json::json!({
        "checkpoint": args.checkpoint,
        "model": checkpoint.model.name,
        "quantized": checkpoint.quant.is_some(),
        "top1": acc.top1(),
        "top5": acc.top5(),
        "correct": acc.correct,
        "images": acc.images,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
