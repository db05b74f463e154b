//! Whole-network rpr-infer timing: batch-1 latency and batch-64 throughput
//! (images per second) of ternary and binary ResNet-20 on 1x28x28 inputs,
//! for both activation precisions. The networks have seeded random weights
//! and are exported through the real exporter into a temporary folder.
//!
//! ```text
//! cargo bench -p rpr-benches --bench network
//! cargo bench -p rpr-benches --bench network -- 'batch64/resnet20-ternary-28/int8'
//! ```
//!
//! `scripts/compare.sh` puts the same engine next to other runtimes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_benches::network::{prepare, random_images, NetworkSpec, PreparedNetwork};
use rpr_core::quant::Bits;
use rpr_infer::{Engine, Precision, Session, SessionOptions};

const SEED: u64 = 20;
const BATCH: usize = 64;

fn networks(dir: &std::path::Path) -> Vec<PreparedNetwork> {
    [Bits::Ternary, Bits::Binary]
        .into_iter()
        .map(|bits| {
            let spec = NetworkSpec::new("resnet20", bits, 1, 28);
            prepare(&spec, SEED, dir).unwrap_or_else(|error| panic!("preparing {}: {error}", spec.key))
        })
        .collect()
}

fn session(engine: &Engine, precision: Precision, threads: usize, batch: usize) -> Session {
    Session::new(engine, SessionOptions { precision, threads, batch, isa: None }).expect("session creation")
}

fn bench_networks(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let prepared = networks(dir.path());
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);

    for net in &prepared {
        let engine = Engine::load(&net.rpr).expect("the exported file loads");
        let single = random_images(&mut rng, 1, net.spec.input);
        let many = random_images(&mut rng, BATCH, net.spec.input);

        let mut latency = c.benchmark_group(format!("batch1/{}", net.spec.key));
        latency.measurement_time(Duration::from_secs(3));
        for precision in [Precision::Int8, Precision::F32] {
            let mut runner = session(&engine, precision, 1, 1);
            latency.bench_function(BenchmarkId::new(format!("{precision:?}").to_lowercase(), "1thread"), |b| {
                b.iter(|| black_box(runner.run(single.view()).expect("inference")))
            });
        }
        latency.finish();

        let mut throughput = c.benchmark_group(format!("batch{BATCH}/{}", net.spec.key));
        throughput.throughput(Throughput::Elements(BATCH as u64));
        throughput.sample_size(10);
        throughput.measurement_time(Duration::from_secs(5));
        for precision in [Precision::Int8, Precision::F32] {
            for threads in [1, 2] {
                let mut runner = session(&engine, precision, threads, BATCH);
                let id = BenchmarkId::new(format!("{precision:?}").to_lowercase(), format!("{threads}thread"));
                throughput.bench_function(id, |b| b.iter(|| black_box(runner.run(many.view()).expect("inference"))));
            }
        }
        throughput.finish();
    }
}

criterion_group!(benches, bench_networks);
criterion_main!(benches);
