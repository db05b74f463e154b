//! Cost of one RPR training step against one float training step of the
//! same network, batch and optimizer.
//!
//! The RPR step adds the `where` that merges latent and quantized weights and
//! the masked optimizer update. The target is at most 1.05x the float step.
//! Besides criterion's per-variant timings, `main` runs the two variants
//! interleaved (float, RPR, float, RPR, ...) and prints the ratio of the
//! median step times, which is robust to load drifting during the run.
//!
//! Run with `cargo bench -p rpr-benches --bench train_step`
//! (`RPR_BENCH_ARCH`, `RPR_BENCH_BATCH` and `RPR_BENCH_PAIRS` override the
//! defaults resnet20, 64 and 15).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use rpr_core::quant::QuantConfig;
use rpr_core::zoo::{build, ZooConfig};
use rpr_train::net::{Network, WeightOverrides};
use rpr_train::optim::{Optimizer, OptimizerKind};
use rpr_train::quantized::{QuantPolicy, QuantizedLayers, WeightMode};
use rpr_train::train::training_step;
use tch::{Device, Kind, Tensor};

/// One network with its optimizer, in float or RPR mode.
struct Trainer {
    net: Network,
    optimizer: Optimizer,
    layers: Option<QuantizedLayers>,
}

impl Trainer {
    fn new(arch: &str, rpr: bool) -> Trainer {
        tch::manual_seed(0);
        let cfg = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: None };
        let net = Network::new(build(arch, &cfg).expect("zoo architecture"), Device::Cpu).expect("network");
        let mut optimizer = Optimizer::new(OptimizerKind::Sgd { momentum: 0.9 }, 5e-4, net.trainable());
        let layers = rpr.then(|| {
            let mut layers =
                QuantizedLayers::new(&net, QuantPolicy::default(), &QuantConfig::default()).expect("quantize");
            // FF 0.9, the first and costliest RPR stage (10% relaxed entries).
            layers.repartition(&net, 0.9, 0, 0).expect("partition");
            for layer in &layers.layers {
                optimizer.set_mask(&layer.weight_key, Some(layer.update_mask())).expect("mask");
            }
            layers
        });
        Trainer { net, optimizer, layers }
    }

    fn step(&mut self, images: &Tensor, labels: &Tensor) {
        let overrides = match &self.layers {
            Some(layers) => layers.overrides(&self.net, WeightMode::Partitioned).expect("overrides"),
            None => WeightOverrides::new(),
        };
        let out = training_step(&self.net, &overrides, &mut self.optimizer, images, labels, 1e-3).expect("step");
        assert!(out.loss.is_finite());
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn batch(size: i64) -> (Tensor, Tensor) {
    tch::manual_seed(1);
    let images = Tensor::randn([size, 1, 28, 28], (Kind::Float, Device::Cpu));
    let labels = Tensor::randint(10, [size], (Kind::Int64, Device::Cpu));
    (images, labels)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Alternates float and RPR steps and prints the ratio of median times.
fn interleaved_ratio(arch: &str, batch_size: i64, pairs: usize) {
    let (images, labels) = batch(batch_size);
    let mut float = Trainer::new(arch, false);
    let mut rpr = Trainer::new(arch, true);
    // Warm-up: oneDNN picks its kernels on the first calls.
    for _ in 0..2 {
        float.step(&images, &labels);
        rpr.step(&images, &labels);
    }
    let mut float_times = Vec::with_capacity(pairs);
    let mut rpr_times = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let t = Instant::now();
        float.step(&images, &labels);
        float_times.push(t.elapsed());
        let t = Instant::now();
        rpr.step(&images, &labels);
        rpr_times.push(t.elapsed());
    }
    let float_median = median(float_times);
    let rpr_median = median(rpr_times);
    println!(
        "train_step {arch} batch {batch_size} threads {}: float median {:.1} ms, RPR (FF 0.9) median {:.1} ms, ratio {:.3} over {pairs} interleaved pairs",
        tch::get_num_threads(),
        float_median.as_secs_f64() * 1e3,
        rpr_median.as_secs_f64() * 1e3,
        rpr_median.as_secs_f64() / float_median.as_secs_f64()
    );
}

fn criterion_steps(c: &mut Criterion, arch: &str, batch_size: i64) {
    let (images, labels) = batch(batch_size);
    let mut group = c.benchmark_group(format!("train_step/{arch}/batch{batch_size}"));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, rpr) in [("float", false), ("rpr_ff0.9", true)] {
        let mut trainer = Trainer::new(arch, rpr);
        group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| trainer.step(&images, &labels)));
    }
    group.finish();
}

fn main() {
    let arch: String = env_or("RPR_BENCH_ARCH", "resnet20".to_string());
    let batch_size: i64 = env_or("RPR_BENCH_BATCH", 64);
    let pairs: usize = env_or("RPR_BENCH_PAIRS", 15);
    interleaved_ratio(&arch, batch_size, pairs.max(1));
    let mut criterion = Criterion::default().configure_from_args();
    criterion_steps(&mut criterion, &arch, batch_size);
    criterion.final_summary();
}
