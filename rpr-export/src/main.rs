//! `rpr-export`: writes `.rpr` packed model files and ONNX graphs from an rpr
//! checkpoint directory, and summarizes `.rpr` files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rpr_core::checkpoint::Checkpoint;
use rpr_core::data::{self, Dataset, Normalization, Split};
use rpr_export::calibrate::{self, ActivationCalibration};
use rpr_export::onnx::{self, OnnxOptions, WeightStorage};
use rpr_export::packed::{self, PackOptions, RprFile};
use rpr_export::summary;

#[derive(Parser, Debug)]
#[command(name = "rpr-export", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    export: ExportArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a per-layer table of an .rpr file: bits, params, MACs, sizes.
    Summary {
        /// The .rpr file.
        model: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Write a bit-packed .rpr file from this checkpoint directory.
    #[arg(long, value_name = "CHECKPOINT_DIR", conflicts_with = "onnx")]
    packed: Option<PathBuf>,

    /// Write an ONNX graph (opset 13) from this checkpoint directory.
    #[arg(long, value_name = "CHECKPOINT_DIR")]
    onnx: Option<PathBuf>,

    /// Output file.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// .rpr: store ternary weights in base 3 (5 weights per byte) instead of 2 bits.
    #[arg(long)]
    ternary3: bool,

    /// Measure int8 activation scales on this many training images.
    #[arg(long, value_name = "N")]
    calibrate: Option<usize>,

    /// Percentile of |x| used as the activation range, in (0, 100]; 100 is max |x|.
    #[arg(long, value_name = "P", default_value_t = 100.0)]
    percentile: f32,

    /// Calibration data set.
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    dataset: DatasetKind,

    /// Folder of the calibration data set (default for Fashion-MNIST: the
    /// Debian package dataset-fashion-mnist).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// ONNX: store quantized weights as f32 instead of int8 codes with DequantizeLinear.
    #[arg(long)]
    onnx_float: bool,

    /// ONNX: write a QDQ int8 graph (QuantizeLinear/DequantizeLinear around
    /// Conv and Gemm inputs); needs --calibrate.
    #[arg(long)]
    qdq: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DatasetKind {
    FashionMnist,
    Mnist,
    Cifar10,
    /// Class subfolders of images, resized to the model input.
    ImageFolder,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Summary { model, json }) => run_summary(&model, json),
        None => run_export(&cli.export),
    }
}

fn run_summary(path: &Path, json: bool) -> Result<()> {
    let file = RprFile::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let summary = summary::summarize(&file)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary::render_table(&summary));
    }
    Ok(())
}

fn run_export(args: &ExportArgs) -> Result<()> {
    let Some(output) = &args.output else {
        bail!("missing -o/--output FILE; see --help");
    };
    let (checkpoint_dir, is_onnx) = match (&args.packed, &args.onnx) {
        (Some(dir), None) => (dir, false),
        (None, Some(dir)) => (dir, true),
        _ => bail!("pass one of --packed CHECKPOINT_DIR or --onnx CHECKPOINT_DIR, or the `summary` subcommand"),
    };
    if !is_onnx && (args.onnx_float || args.qdq) {
        bail!("--onnx-float and --qdq apply to --onnx only");
    }
    if is_onnx && args.ternary3 {
        bail!("--ternary3 applies to --packed only");
    }
    if args.qdq && args.calibrate.is_none() {
        bail!("--qdq needs activation scales; add --calibrate N");
    }
    if args.onnx_float && args.qdq {
        bail!("--onnx-float and --qdq are exclusive: QDQ graphs keep int8 weights");
    }

    let checkpoint = Checkpoint::load(checkpoint_dir)
        .with_context(|| format!("failed to load checkpoint {}", checkpoint_dir.display()))?;
    let calibration = match args.calibrate {
        Some(samples) => Some(run_calibration(&checkpoint, args, samples)?),
        None => None,
    };

    if is_onnx {
        let opts = OnnxOptions {
            weights: if args.onnx_float { WeightStorage::Float } else { WeightStorage::Int8Codes },
            qdq: calibration,
        };
        let summary = onnx::write_onnx(&checkpoint, &opts, output)?;
        eprintln!("wrote {} ({} bytes, {} nodes)", summary.path.display(), summary.file_bytes, summary.nodes);
    } else {
        let opts = PackOptions { ternary3: args.ternary3, calibration };
        let summary = packed::write_rpr(&checkpoint, &opts, output)?;
        eprintln!(
            "wrote {} ({} bytes, {} packed layers, {} BatchNorms folded, {} calibrated tensors)",
            summary.path.display(),
            summary.file_bytes,
            summary.packed_layers,
            summary.folded_batchnorms,
            summary.calibrated_tensors
        );
    }
    Ok(())
}

fn run_calibration(checkpoint: &Checkpoint, args: &ExportArgs, samples: usize) -> Result<ActivationCalibration> {
    if samples == 0 {
        bail!("--calibrate needs at least 1 image, got 0");
    }
    let (dataset, normalization) = load_dataset(args, checkpoint.model.input_shape)?;
    if dataset.image_shape() != checkpoint.model.input_shape {
        bail!(
            "calibration images of {} have shape {:?}, but model `{}` expects {:?}; pick a matching --dataset",
            dataset.name,
            dataset.image_shape(),
            checkpoint.model.name,
            checkpoint.model.input_shape
        );
    }
    if samples > dataset.len() {
        bail!("--calibrate {samples} exceeds the {} images of {}", dataset.len(), dataset.name);
    }
    let indices = data::subset_indices(dataset.len(), samples, 0);
    let images = data::try_to_f32_normalized(&dataset, &indices, &normalization)?;

    let bar = ProgressBar::new(samples as u64).with_message("calibrating");
    bar.set_style(ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} images ({eta})")?);
    let result = calibrate::calibrate(
        &checkpoint.model,
        &checkpoint.tensors,
        images.view(),
        &dataset.name,
        args.percentile,
        &mut |done| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    Ok(result?)
}

fn load_dataset(args: &ExportArgs, input_shape: [usize; 3]) -> Result<(Dataset, Normalization)> {
    let dir = args.data_dir.as_deref();
    let need_dir = |name: &str| {
        dir.with_context(|| format!("--dataset {name} needs --data-dir DIR with the data set files"))
    };
    Ok(match args.dataset {
        DatasetKind::FashionMnist => (data::load_fashion_mnist(Split::Train, dir)?, Normalization::fashion_mnist()),
        DatasetKind::Mnist => (data::load_mnist(need_dir("mnist")?, Split::Train)?, Normalization::mnist()),
        DatasetKind::Cifar10 => (data::load_cifar10(need_dir("cifar10")?, Split::Train)?, Normalization::cifar10()),
        DatasetKind::ImageFolder => {
            let [channels, size, _] = input_shape;
            let dataset = data::load_image_folder(need_dir("image-folder")?, size, channels)?;
            let normalization =
                if channels == 3 { Normalization::imagenet() } else { Normalization::unit_range(channels) };
            (dataset, normalization)
        }
    })
}
