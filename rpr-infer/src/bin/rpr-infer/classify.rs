//! `rpr-infer run`: top-5 classes of one image.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use image::imageops::FilterType;
use ndarray::Array4;
use rpr_infer::{Engine, Session, SessionOptions};

use crate::dataset::DatasetArg;
use crate::PrecisionArg;

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Model file written by `rpr-export --packed`.
    model: PathBuf,
    /// Image to classify (PNG, JPEG, BMP or PNM); it is resized to the model input.
    image: PathBuf,
    /// Data set the model was trained on; sets the normalization and the class names.
    #[arg(long, value_enum, default_value = "fashion-mnist")]
    dataset: DatasetArg,
    /// Activation precision of the packed layers.
    #[arg(long, value_enum, default_value = "int8")]
    precision: PrecisionArg,
    /// Worker threads (0: one per CPU).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<()> {
    let engine = Engine::load(&args.model)
        .with_context(|| format!("cannot load {}", args.model.display()))?;
    let [channels, height, width] = engine.input_shape();
    let image = image::open(&args.image)
        .with_context(|| format!("cannot decode image {}", args.image.display()))?;
    let resized = image.resize_exact(width as u32, height as u32, FilterType::Triangle);
    let pixels: Vec<u8> = match channels {
        1 => resized.to_luma8().into_raw(),
        3 => resized.to_rgb8().into_raw(),
        other => bail!("the model expects {other} input channels; only 1 (grayscale) and 3 (RGB) are supported"),
    };

    let norm = args.dataset.normalization();
    if norm.mean.len() != channels {
        bail!(
            "{:?} normalization has {} channels, the model {channels}; pick the matching --dataset",
            args.dataset,
            norm.mean.len()
        );
    }
    let input = Array4::from_shape_fn((1, channels, height, width), |(_, c, y, x)| {
        let value = f32::from(pixels[(y * width + x) * channels + c]) / 255.0;
        (value - norm.mean[c]) / norm.std[c]
    });

    let options = SessionOptions {
        precision: args.precision.into(),
        threads: args.threads,
        batch: 1,
        isa: None,
    };
    let mut session = Session::new(&engine, options)?;
    let logits = session.run(input.view())?;
    let row: Vec<f32> = logits.row(0).to_vec();
    let probabilities = softmax(&row);
    let classes = args.dataset.classes();

    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    for &class in order.iter().take(5) {
        let name = classes.get(class).map(String::as_str).unwrap_or("?");
        println!("{:>6.2}%  {class:>3}  {name}", probabilities[class] * 100.0);
    }
    Ok(())
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|v| v / sum).collect()
}
