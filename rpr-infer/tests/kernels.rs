//! Every kernel variant against the scalar kernels, and the scalar kernels
//! against a naive sum over unpacked codes.
//!
//! Integer kernels must match exactly. The `f32` kernels may sum in another
//! order, so they are checked against an `f64` sum with the error budget
//! `k * f32::EPSILON * sum_k |a_k|`, the standard bound for a length-`k`
//! summation in any order.

use ndarray::Array2;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::pack::{pack, padded_k, Encoding, PackedMatrix};
use rpr_infer::kernels::{kernel_set, variants, AnyKernel, Isa, KernelError, KernelVariant};

/// Shapes around register tiles and tails: counts that are not multiples of
/// 8, 32 or 64, odd and tiny `k`, and `k = 0`.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 1, 0),
    (3, 5, 0),
    (1, 3, 7),
    (3, 5, 31),
    (5, 7, 32),
    (17, 9, 33),
    (4, 4, 64),
    (6, 8, 65),
    (7, 13, 95),
    (8, 16, 127),
    (9, 17, 144),
    (13, 3, 200),
    (2, 33, 257),
    (19, 6, 576),
];

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn random_codes(rng: &mut ChaCha8Rng, o: usize, k: usize, binary: bool) -> Array2<i8> {
    Array2::from_shape_fn((o, k), |_| {
        if binary {
            if rng.gen::<bool>() {
                1
            } else {
                -1
            }
        } else {
            rng.gen_range(-1i8..=1)
        }
    })
}

fn packed(codes: &Array2<i8>, binary: bool) -> PackedMatrix {
    let encoding = if binary {
        Encoding::Binary
    } else {
        Encoding::Ternary2
    };
    pack(codes.view(), encoding).expect("random codes are valid")
}

/// `p` rows of `padded_k(k)` values from `value`, with zero padding.
fn padded_rows<T: Copy + Default>(
    rng: &mut ChaCha8Rng,
    p: usize,
    k: usize,
    mut value: impl FnMut(&mut ChaCha8Rng) -> T,
) -> Vec<T> {
    let kp = padded_k(k);
    let mut rows = vec![T::default(); p * kp];
    for i in 0..p {
        for col in 0..k {
            rows[i * kp + col] = value(rng);
        }
    }
    rows
}

/// Packs ±1 activations like binary weights; padding bits are random
/// because the kernels must ignore them.
fn pack_bits(rng: &mut ChaCha8Rng, signs: &Array2<i8>) -> Vec<u32> {
    let (p, k) = signs.dim();
    let words = padded_k(k) / 32;
    let mut bits = vec![0u32; p * words];
    for i in 0..p {
        for col in 0..words * 32 {
            let set = if col < k {
                signs[[i, col]] == 1
            } else {
                rng.gen::<bool>()
            };
            if set {
                bits[i * words + col / 32] |= 1 << (col % 32);
            }
        }
    }
    bits
}

fn naive_i64(a: &[i64], p: usize, k: usize, codes: &Array2<i8>) -> Vec<i64> {
    let kp = padded_k(k);
    let o = codes.nrows();
    let mut out = vec![0i64; p * o];
    for i in 0..p {
        for j in 0..o {
            out[i * o + j] = (0..k)
                .map(|col| a[i * kp + col] * i64::from(codes[[j, col]]))
                .sum();
        }
    }
    out
}

/// Checks one integer kernel with `u8` activations on one shape.
fn check_u8(
    name: &str,
    kernel: rpr_infer::kernels::StridedGemmFn<u8, i32>,
    binary: bool,
    (p, o, k): (usize, usize, usize),
    seed: u64,
) {
    let mut rng = rng(seed);
    let codes = random_codes(&mut rng, o, k, binary);
    let w = packed(&codes, binary);
    // Extreme values find saturation in 16-bit intermediates.
    let a = padded_rows(&mut rng, p, k, |r| match r.gen_range(0..4) {
        0 => 255u8,
        1 => 0,
        _ => r.gen(),
    });
    let wide: Vec<i64> = a.iter().map(|&x| i64::from(x)).collect();
    let expected = naive_i64(&wide, p, k, &codes);

    let mut out = vec![i32::MIN; p * o];
    kernel(&a, p, &w.view(), &mut out, o).unwrap_or_else(|e| panic!("{name}: {e}"));
    let got: Vec<i64> = out.iter().map(|&x| i64::from(x)).collect();
    assert_eq!(got, expected, "{name} p={p} o={o} k={k} seed={seed}");

    // A stride wider than `o` must leave the gap untouched.
    let stride = o + 3;
    let mut strided = vec![-7i32; p * stride];
    kernel(&a, p, &w.view(), &mut strided, stride).unwrap_or_else(|e| panic!("{name}: {e}"));
    for i in 0..p {
        assert_eq!(
            &strided[i * stride..i * stride + o],
            &out[i * o..(i + 1) * o],
            "{name} strided row {i}"
        );
        assert!(
            strided[i * stride + o..(i + 1) * stride]
                .iter()
                .all(|&x| x == -7),
            "{name} wrote into the stride gap"
        );
    }
}

fn check_b1(
    name: &str,
    kernel: rpr_infer::kernels::StridedGemmFn<u32, i32>,
    (p, o, k): (usize, usize, usize),
    seed: u64,
) {
    let mut rng = rng(seed);
    let codes = random_codes(&mut rng, o, k, true);
    let w = packed(&codes, true);
    let signs = random_codes(&mut rng, p, k, true);
    let bits = pack_bits(&mut rng, &signs);
    let kp = padded_k(k);
    let mut wide = vec![0i64; p * kp];
    for i in 0..p {
        for col in 0..k {
            wide[i * kp + col] = i64::from(signs[[i, col]]);
        }
    }
    let expected = naive_i64(&wide, p, k, &codes);
    let mut out = vec![i32::MIN; p * o];
    kernel(&bits, p, &w.view(), &mut out, o).unwrap_or_else(|e| panic!("{name}: {e}"));
    let got: Vec<i64> = out.iter().map(|&x| i64::from(x)).collect();
    assert_eq!(got, expected, "{name} p={p} o={o} k={k} seed={seed}");
}

fn check_f32(
    name: &str,
    kernel: rpr_infer::kernels::StridedGemmFn<f32, f32>,
    binary: bool,
    (p, o, k): (usize, usize, usize),
    seed: u64,
) {
    let mut rng = rng(seed);
    let codes = random_codes(&mut rng, o, k, binary);
    let w = packed(&codes, binary);
    let a = padded_rows(&mut rng, p, k, |r| r.gen_range(-4.0f32..4.0));
    let kp = padded_k(k);
    let mut out = vec![f32::NAN; p * o];
    kernel(&a, p, &w.view(), &mut out, o).unwrap_or_else(|e| panic!("{name}: {e}"));
    for i in 0..p {
        let row = &a[i * kp..i * kp + k];
        let magnitude: f64 = row.iter().map(|&x| f64::from(x).abs()).sum();
        let budget = k as f64 * f64::from(f32::EPSILON) * magnitude;
        for j in 0..o {
            let exact: f64 = (0..k)
                .map(|col| f64::from(row[col]) * f64::from(codes[[j, col]]))
                .sum();
            let got = f64::from(out[i * o + j]);
            assert!(
                (got - exact).abs() <= budget,
                "{name} p={p} o={o} k={k} seed={seed} at [{i}][{j}]: {got} vs {exact}, budget {budget}"
            );
        }
    }
}

fn check_variant(v: &KernelVariant, shape: (usize, usize, usize), seed: u64) {
    match v.kernel {
        AnyKernel::TernaryU8(f) => check_u8(v.name, f, false, shape, seed),
        AnyKernel::BinaryU8(f) => check_u8(v.name, f, true, shape, seed),
        AnyKernel::BinaryB1(f) => check_b1(v.name, f, shape, seed),
        AnyKernel::TernaryF32(f) => check_f32(v.name, f, false, shape, seed),
        AnyKernel::BinaryF32(f) => check_f32(v.name, f, true, shape, seed),
    }
}

/// Variants this CPU can run; prints the ones it cannot, so a missing
/// feature shows up as skipped instead of passing silently.
fn runnable() -> Vec<KernelVariant> {
    let all = variants();
    for v in all.iter().filter(|v| !v.available) {
        eprintln!("skipped {}: this CPU lacks its features", v.name);
    }
    all.into_iter().filter(|v| v.available).collect()
}

#[test]
fn every_variant_matches_oracle_on_shape_table() {
    for v in runnable() {
        for (n, &shape) in SHAPES.iter().enumerate() {
            check_variant(&v, shape, 1000 + n as u64);
        }
    }
}

#[test]
fn every_isa_reports_availability() {
    for isa in Isa::ALL {
        match kernel_set(isa) {
            Some(set) => assert_eq!(set.isa, isa),
            None => eprintln!("skipped {isa}: not supported by this CPU or build"),
        }
    }
}

#[test]
fn dispatched_set_matches_oracle() {
    let set = rpr_infer::kernels::kernels();
    let mut rng = rng(7);
    let (p, o, k) = (5, 11, 77);
    let codes = random_codes(&mut rng, o, k, false);
    let w = packed(&codes, false);
    let a = padded_rows(&mut rng, p, k, |r| r.gen::<u8>());
    let mut out = vec![0i32; p * o];
    (set.ternary_u8)(&a, p, &w.view(), &mut out).expect("valid call");
    let wide: Vec<i64> = a.iter().map(|&x| i64::from(x)).collect();
    let expected = naive_i64(&wide, p, k, &codes);
    assert_eq!(
        out.iter().map(|&x| i64::from(x)).collect::<Vec<_>>(),
        expected
    );
}

/// Shapes sized from the largest register tile (4 activation rows x 4
/// weight rows) and the widest vector (64 columns), so every tile tail
/// combination shows up.
fn tile_shapes() -> impl Strategy<Value = ((usize, usize, usize), u64)> {
    ((0usize..=13, 0usize..=13, 0usize..=200), any::<u64>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_variant_matches_oracle_on_random_shapes((shape, seed) in tile_shapes()) {
        for v in variants().iter().filter(|v| v.available) {
            check_variant(v, shape, seed);
        }
    }
}

mod errors {
    use super::*;

    fn ternary(o: usize, k: usize) -> PackedMatrix {
        packed(&random_codes(&mut rng(3), o, k, false), false)
    }

    #[test]
    fn wrong_encoding_rejected() {
        let w = packed(&random_codes(&mut rng(1), 2, 10, true), true);
        let a = vec![0u8; 32];
        for v in runnable() {
            if let AnyKernel::TernaryU8(f) = v.kernel {
                let err = f(&a, 1, &w.view(), &mut [0; 2], 2).unwrap_err();
                assert!(
                    matches!(err, KernelError::WrongEncoding { .. }),
                    "{}: {err}",
                    v.name
                );
            }
        }
    }

    #[test]
    fn short_activations_rejected() {
        let w = ternary(2, 40);
        for v in runnable() {
            if let AnyKernel::TernaryU8(f) = v.kernel {
                let err = f(&[0u8; 63], 1, &w.view(), &mut [0; 2], 2).unwrap_err();
                assert!(
                    matches!(err, KernelError::ActivationLength { expected: 64, .. }),
                    "{}: {err}",
                    v.name
                );
            }
        }
    }

    #[test]
    fn short_output_rejected() {
        let w = ternary(3, 40);
        for v in runnable() {
            if let AnyKernel::TernaryU8(f) = v.kernel {
                let err = f(&[0u8; 128], 2, &w.view(), &mut [0; 5], 3).unwrap_err();
                assert!(
                    matches!(err, KernelError::OutputLength { expected: 6, .. }),
                    "{}: {err}",
                    v.name
                );
                let err = f(&[0u8; 128], 2, &w.view(), &mut [0; 8], 2).unwrap_err();
                assert!(
                    matches!(err, KernelError::OutputStride { .. }),
                    "{}: {err}",
                    v.name
                );
            }
        }
    }

    #[test]
    fn nonzero_padding_rejected() {
        let w = ternary(2, 40);
        let mut a = vec![0u8; 64];
        a[50] = 1;
        let mut af = vec![0.0f32; 64];
        af[63] = f32::NAN;
        for v in runnable() {
            match v.kernel {
                AnyKernel::TernaryU8(f) => {
                    let err = f(&a, 1, &w.view(), &mut [0; 2], 2).unwrap_err();
                    assert_eq!(
                        err,
                        KernelError::NonZeroPadding {
                            row: 0,
                            column: 50,
                            k: 40
                        },
                        "{}",
                        v.name
                    );
                }
                AnyKernel::TernaryF32(f) => {
                    let err = f(&af, 1, &w.view(), &mut [0.0; 2], 2).unwrap_err();
                    assert_eq!(
                        err,
                        KernelError::NonZeroPadding {
                            row: 0,
                            column: 63,
                            k: 40
                        },
                        "{}",
                        v.name
                    );
                }
                _ => {}
            }
        }
    }

    #[test]
    fn stray_negative_bit_rejected() {
        let mut w = ternary(2, 40);
        // Row 1, negative plane (second pair of words), bit 37: find a zero code.
        let words = padded_k(40) / 32;
        let row_bytes = 8 * words;
        let codes = random_codes(&mut rng(3), 2, 40, false);
        let col = (0..40)
            .find(|&c| codes[[1, c]] == 0)
            .expect("some zero code");
        let byte = row_bytes + 4 * words + col / 8;
        w.data[byte] |= 1 << (col % 8);
        for v in runnable() {
            if let AnyKernel::TernaryU8(f) = v.kernel {
                let err = f(&[0u8; 128], 2, &w.view(), &mut [0; 4], 2).unwrap_err();
                assert_eq!(
                    err,
                    KernelError::InvalidTernaryCode { row: 1, bit: col },
                    "{}",
                    v.name
                );
            }
        }
    }

    #[test]
    fn binary_weight_padding_rejected() {
        // k = 40: bits 40..64 of each row are padding and must be clear.
        let mut w = packed(&random_codes(&mut rng(4), 2, 40, true), true);
        let row_bytes = 8;
        w.data[row_bytes + 5] |= 1 << 3;
        for v in runnable() {
            let err = match v.kernel {
                AnyKernel::BinaryB1(f) => f(&[0u32; 2], 1, &w.view(), &mut [0; 2], 2).unwrap_err(),
                AnyKernel::BinaryU8(f) => f(&[0u8; 64], 1, &w.view(), &mut [0; 2], 2).unwrap_err(),
                _ => continue,
            };
            assert_eq!(
                err,
                KernelError::WeightPadding {
                    row: 1,
                    bit: 43,
                    k: 40
                },
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn truncated_weights_rejected() {
        let w = ternary(2, 40);
        let mut view = w.view();
        view.data = &w.data[..w.data.len() - 1];
        for v in runnable() {
            if let AnyKernel::TernaryU8(f) = v.kernel {
                let err = f(&[0u8; 64], 1, &view, &mut [0; 2], 2).unwrap_err();
                assert!(
                    matches!(err, KernelError::WeightLength { .. }),
                    "{}: {err}",
                    v.name
                );
            }
        }
    }
}
