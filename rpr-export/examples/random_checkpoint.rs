//! Writes a checkpoint directory for a zoo architecture with seeded random
//! weights, ternary or binary codes on every conv except the first, for
//! measuring export sizes and times without a trained model.
//!
//! ```text
//! cargo run --example random_checkpoint -- resnet20 /tmp/resnet20 [--binary] [--size 32] [--channels 3]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::checkpoint::{Checkpoint, LayerQuant, QuantSpec, Tensors};
use rpr_core::graph::{Op, INPUT};
use rpr_core::quant::{Bits, Granularity};
use rpr_core::zoo::{self, ZooConfig};

#[derive(Parser)]
struct Args {
    /// Architecture name, for example resnet20.
    arch: String,
    /// Output checkpoint directory.
    out: PathBuf,
    /// Binary codes instead of ternary.
    #[arg(long)]
    binary: bool,
    /// Input height and width in pixels.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Input channels.
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Number of classes.
    #[arg(long, default_value_t = 10)]
    classes: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cfg = ZooConfig {
        input_channels: args.channels,
        input_size: args.size,
        num_classes: args.classes,
        upsample_to: None,
    };
    let model = zoo::build(&args.arch, &cfg)?;
    let bits = if args.binary { Bits::Binary } else { Bits::Ternary };
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);

    let mut tensors = Tensors::new();
    for spec in model.parameters() {
        let len: usize = spec.shape.iter().product();
        let values: Vec<f32> = if spec.name.ends_with("num_batches_tracked") {
            vec![0.0; len]
        } else if spec.name.ends_with("running_var") || (spec.shape.len() == 1 && spec.name.ends_with("weight")) {
            (0..len).map(|_| rng.gen_range(0.5..1.5)).collect()
        } else {
            (0..len).map(|_| rng.gen_range(-0.1..0.1)).collect()
        };
        tensors.insert(spec.name.clone(), ArrayD::from_shape_vec(IxDyn(&spec.shape), values)?);
    }

    let mut layers = BTreeMap::new();
    for node in &model.nodes {
        let Op::Conv2d(conv) = node.op else { continue };
        if node.inputs.iter().any(|input| input == INPUT) {
            continue;
        }
        let name = format!("{}.weight", node.name);
        let weight = tensors.get_mut(&name).context("zoo model without conv weight")?;
        let per_channel = weight.len() / conv.out_channels;
        let scales: Vec<f32> = (0..conv.out_channels).map(|_| rng.gen_range(0.01..0.1)).collect();
        for (index, value) in weight.iter_mut().enumerate() {
            let draw = rng.next_u32();
            let code = match bits {
                Bits::Binary => if draw & 1 == 0 { 1.0 } else { -1.0 },
                Bits::Ternary => f32::from((draw % 3) as u8) - 1.0,
            };
            *value = scales[index / per_channel] * code;
        }
        layers.insert(node.name.clone(), LayerQuant { scales });
    }

    let quant = QuantSpec { bits, granularity: Granularity::PerChannel, layers };
    let checkpoint = Checkpoint { model, quant: Some(quant), tensors };
    checkpoint.save(&args.out)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
