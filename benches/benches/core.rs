//! Benchmarks of the rpr-core math on ResNet-18-sized tensors: scale search,
//! bit-packing and partition drawing, each beside a baseline from the same run.
//!
//! Run: `cargo bench -p rpr-benches --bench core -- --warm-up-time 1 --measurement-time 3`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::pack::{pack, ternary3_to_ternary2, Encoding};
use rpr_core::partition::{relaxed_mask, PartitionKey};
use rpr_core::quant::{codes_for_scale, optimal_scale, Bits, ScaleNorm};

/// ResNet-18's largest conv, 512 x 512 x 3 x 3, as 512 rows of 4608 weights.
const LARGE: (usize, usize) = (512, 4608);
/// ResNet-18's layer1 conv, 64 x 64 x 3 x 3, small enough for the grid baseline.
const SMALL: (usize, usize) = (64, 576);
/// Candidate scales of the grid-search baseline.
const GRID_POINTS: usize = 256;

/// Bell-shaped weights: the sum of three uniforms, with a fixed seed.
fn weights(rows: usize, k: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    Array2::from_shape_fn((rows, k), |_| {
        (0..3).map(|_| rng.gen_range(-0.02f32..0.02)).sum::<f32>()
    })
}

fn ternary_codes(rows: usize, k: usize) -> Array2<i8> {
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    Array2::from_shape_fn((rows, k), |_| rng.gen_range(-1i8..=1))
}

/// Grid-search baseline: the best of `GRID_POINTS` evenly spaced scales in
/// (0, max|w|], scoring each by the L2 error of nearest-level codes.
fn grid_scale(values: &[f32], bits: Bits) -> f32 {
    let max = values.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    let mut best = (f64::INFINITY, max);
    for i in 1..=GRID_POINTS {
        let scale = max * i as f32 / GRID_POINTS as f32;
        let codes = codes_for_scale(values, scale, bits);
        let error: f64 = values
            .iter()
            .zip(&codes)
            .map(|(&w, &c)| f64::from(w - scale * f32::from(c)).powi(2))
            .sum();
        if error < best.0 {
            best = (error, scale);
        }
    }
    best.1
}

fn per_channel_exact(w: &Array2<f32>, bits: Bits) -> Vec<f32> {
    w.rows()
        .into_iter()
        .map(|row| optimal_scale(row.as_slice().unwrap(), bits, ScaleNorm::L2).unwrap())
        .collect()
}

fn per_channel_grid(w: &Array2<f32>, bits: Bits) -> Vec<f32> {
    w.rows()
        .into_iter()
        .map(|row| grid_scale(row.as_slice().unwrap(), bits))
        .collect()
}

fn bench_scale_search(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale_search_l2_per_channel");
    for (rows, k) in [SMALL, LARGE] {
        let w = weights(rows, k);
        group.throughput(Throughput::Elements((rows * k) as u64));
        for bits in [Bits::Binary, Bits::Ternary] {
            let id = BenchmarkId::new(
                format!("exact_{bits:?}").to_lowercase(),
                format!("{rows}x{k}"),
            );
            group.bench_function(id, |b| b.iter(|| per_channel_exact(black_box(&w), bits)));
        }
    }
    // The baseline evaluates 256 scales per channel, so it runs on the small layer only.
    let (rows, k) = SMALL;
    let w = weights(rows, k);
    group.throughput(Throughput::Elements((rows * k) as u64));
    let id = BenchmarkId::new("grid256_ternary", format!("{rows}x{k}"));
    group.bench_function(id, |b| {
        b.iter(|| per_channel_grid(black_box(&w), Bits::Ternary))
    });
    group.finish();
}

fn bench_packing(c: &mut Criterion) {
    let (rows, k) = LARGE;
    let codes = ternary_codes(rows, k);
    let binary_codes = codes.mapv(|c| if c < 0 { -1i8 } else { 1 });
    let mut group = c.benchmark_group("packing");
    group.throughput(Throughput::Elements((rows * k) as u64));

    // Baseline: copying the unpacked i8 codes once.
    let flat = codes.as_slice().unwrap().to_vec();
    group.bench_function("memcpy_i8_codes", |b| b.iter(|| black_box(&flat).clone()));

    group.bench_function("pack_binary", |b| {
        b.iter(|| pack(black_box(binary_codes.view()), Encoding::Binary).unwrap())
    });
    for encoding in [Encoding::Ternary2, Encoding::Ternary3] {
        group.bench_function(format!("pack_{encoding}"), |b| {
            b.iter(|| pack(black_box(codes.view()), encoding).unwrap())
        });
    }

    for encoding in [Encoding::Ternary2, Encoding::Ternary3] {
        let packed = pack(codes.view(), encoding).unwrap();
        group.bench_function(format!("unpack_{encoding}"), |b| {
            b.iter(|| black_box(&packed).view().try_unpack().unwrap())
        });
    }
    let base3 = pack(codes.view(), Encoding::Ternary3).unwrap();
    group.bench_function("ternary3_to_ternary2", |b| {
        b.iter(|| ternary3_to_ternary2(black_box(&base3).view()).unwrap())
    });
    group.finish();
}

fn bench_partition(c: &mut Criterion) {
    let n = LARGE.0 * LARGE.1;
    let mut group = c.benchmark_group("partition");
    group.throughput(Throughput::Elements(n as u64));

    // Baseline: allocating and zeroing the mask alone.
    group.bench_function("alloc_mask", |b| b.iter(|| vec![false; black_box(n)]));
    for ff in [0.9f32, 0.99] {
        group.bench_function(format!("relaxed_mask_ff{ff}"), |b| {
            let key = PartitionKey::new(1, "layer4.1.conv2", 7);
            b.iter(|| relaxed_mask(black_box(n), ff, &key).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_scale_search, bench_packing, bench_partition);
criterion_main!(benches);
