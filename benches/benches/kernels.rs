//! GEMM kernel throughput in MAC/s (one multiply-accumulate per weight and
//! activation pair, even where no multiply happens), for every kernel this
//! CPU supports, on one thread.
//!
//! Shapes: a large `1024^3` GEMM and the three 3x3 conv shapes of ResNet-20
//! on a 28x28 input, as im2col GEMMs (`p` output pixels, `o` output channels,
//! `k = 9 * input channels`).
//!
//! ```text
//! cargo bench -p rpr-benches --no-default-features --bench kernels
//! cargo bench -p rpr-benches --no-default-features --bench kernels -- 'ternary_u8/1024'
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::pack::{pack, padded_k, Encoding, PackedMatrix};
use rpr_infer::kernels::{variants, AnyKernel};

/// `(label, p, o, k)`.
const SHAPES: &[(&str, usize, usize, usize)] = &[
    ("1024x1024x1024", 1024, 1024, 1024),
    ("resnet20_stage1_784x16x144", 784, 16, 144),
    ("resnet20_stage2_196x32x288", 196, 32, 288),
    ("resnet20_stage3_49x64x576", 49, 64, 576),
];

struct Inputs {
    ternary: PackedMatrix,
    binary: PackedMatrix,
    a_u8: Vec<u8>,
    a_f32: Vec<f32>,
    a_bits: Vec<u32>,
}

fn inputs(p: usize, o: usize, k: usize) -> Inputs {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let kp = padded_k(k);
    let ternary_codes = ndarray::Array2::from_shape_fn((o, k), |_| rng.gen_range(-1i8..=1));
    let binary_codes = ternary_codes.mapv(|c| if c >= 0 { 1 } else { -1 });
    let mut a_u8 = vec![0u8; p * kp];
    let mut a_f32 = vec![0f32; p * kp];
    for i in 0..p {
        for col in 0..k {
            a_u8[i * kp + col] = rng.gen();
            a_f32[i * kp + col] = rng.gen_range(-1.0..1.0);
        }
    }
    let a_bits = (0..p * kp / 32).map(|_| rng.gen()).collect();
    Inputs {
        ternary: pack(ternary_codes.view(), Encoding::Ternary2).expect("valid codes"),
        binary: pack(binary_codes.view(), Encoding::Binary).expect("valid codes"),
        a_u8,
        a_f32,
        a_bits,
    }
}

fn family(kernel: &AnyKernel) -> &'static str {
    match kernel {
        AnyKernel::TernaryU8(_) => "ternary_u8",
        AnyKernel::BinaryU8(_) => "binary_u8",
        AnyKernel::BinaryB1(_) => "binary_b1",
        AnyKernel::TernaryF32(_) => "ternary_f32",
        AnyKernel::BinaryF32(_) => "binary_f32",
    }
}

fn bench_kernels(c: &mut Criterion) {
    let all = variants();
    for v in all.iter().filter(|v| !v.available) {
        eprintln!("skipped {}: this CPU lacks its features", v.name);
    }
    for &(label, p, o, k) in SHAPES {
        let data = inputs(p, o, k);
        let mut out_i32 = vec![0i32; p * o];
        let mut out_f32 = vec![0f32; p * o];
        for v in all.iter().filter(|v| v.available) {
            let mut group = c.benchmark_group(format!("{}/{label}", family(&v.kernel)));
            group.throughput(Throughput::Elements((p * o * k) as u64));
            // The scalar kernels take about a second per 1024^3 call.
            group.sample_size(10);
            group.warm_up_time(Duration::from_millis(300));
            group.measurement_time(Duration::from_secs(2));
            let id = BenchmarkId::from_parameter(v.name);
            match v.kernel {
                AnyKernel::TernaryU8(f) => group.bench_function(id, |b| {
                    b.iter(|| f(black_box(&data.a_u8), p, &data.ternary.view(), &mut out_i32, o))
                }),
                AnyKernel::BinaryU8(f) => group.bench_function(id, |b| {
                    b.iter(|| f(black_box(&data.a_u8), p, &data.binary.view(), &mut out_i32, o))
                }),
                AnyKernel::BinaryB1(f) => group.bench_function(id, |b| {
                    b.iter(|| f(black_box(&data.a_bits), p, &data.binary.view(), &mut out_i32, o))
                }),
                AnyKernel::TernaryF32(f) => group.bench_function(id, |b| {
                    b.iter(|| f(black_box(&data.a_f32), p, &data.ternary.view(), &mut out_f32, o))
                }),
                AnyKernel::BinaryF32(f) => group.bench_function(id, |b| {
                    b.iter(|| f(black_box(&data.a_f32), p, &data.binary.view(), &mut out_f32, o))
                }),
            };
            group.finish();
        }
    }
}

criterion_group!(benches, bench_kernels);
criterion_main!(benches);
