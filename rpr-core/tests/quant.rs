//! Tests of the quantizers against brute-force references.

use ndarray::{Array, ArrayD, IxDyn};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rpr_core::quant::{
    codes_for_scale, optimal_scale, quantize, quantize_with_scales, reconstruction_error, Bits,
    Granularity, QuantConfig, QuantError, Quantized, ScaleNorm, MIN_SCALE, ZERO_TERNARY_SCALE,
};

const NORMS: [ScaleNorm; 3] = [ScaleNorm::L2, ScaleNorm::L1, ScaleNorm::LInf];
const BITS: [Bits; 2] = [Bits::Binary, Bits::Ternary];

/// Error of the best level for each value, found by trying every level.
/// Independent of `codes_for_scale`: it never uses a threshold.
fn brute_force_error(values: &[f32], scale: f32, bits: Bits, norm: ScaleNorm) -> f64 {
    let s = f64::from(scale);
    let levels: &[f64] = match bits {
        Bits::Binary => &[-1.0, 1.0],
        Bits::Ternary => &[-1.0, 0.0, 1.0],
    };
    let residuals = values.iter().map(|&w| {
        levels
            .iter()
            .map(|&c| (f64::from(w) - s * c).abs())
            .fold(f64::INFINITY, f64::min)
    });
    match norm {
        ScaleNorm::L2 => residuals.map(|r| r * r).sum(),
        ScaleNorm::L1 => residuals.sum(),
        ScaleNorm::LInf => residuals.fold(0.0, f64::max),
    }
}

/// Returns the least brute-force error over `points` evenly spaced scales in
/// (0, max |w|], with the scale that reaches it.
fn grid_search_error(values: &[f32], bits: Bits, norm: ScaleNorm, points: usize) -> (f32, f64) {
    let max = values.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    (1..=points)
        .map(|i| {
            let scale = max * i as f32 / points as f32;
            (scale, brute_force_error(values, scale, bits, norm))
        })
        .fold((0.0, f64::INFINITY), |best, cur| {
            if cur.1 < best.1 {
                cur
            } else {
                best
            }
        })
}

fn normal_values(rng: &mut ChaCha8Rng, n: usize, std: f32) -> Vec<f32> {
    let normal = Normal::new(0.0f32, std).unwrap();
    (0..n).map(|_| normal.sample(rng)).collect()
}

/// Random test vectors of several shapes: normal, uniform, sparse,
/// heavy-tailed, tiny and tied.
fn test_vectors(seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vectors = Vec::new();
    for &n in &[1usize, 2, 3, 5, 9, 27, 64, 147, 576] {
        vectors.push(normal_values(&mut rng, n, 0.05));
        vectors.push((0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect());
        vectors.push(
            (0..n)
                .map(|_| {
                    if rng.gen_bool(0.7) {
                        0.0
                    } else {
                        rng.gen_range(-2.0f32..2.0)
                    }
                })
                .collect(),
        );
        vectors.push(
            (0..n)
                .map(|_| {
                    let u: f32 = rng.gen_range(0.01f32..1.0);
                    u.powi(-2) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 }
                })
                .collect(),
        );
        vectors.push(normal_values(&mut rng, n, 1e-30));
        // Few distinct magnitudes, so many ties.
        vectors.push(
            (0..n)
                .map(|_| rng.gen_range(-3i8..=3) as f32 * 0.1)
                .collect(),
        );
    }
    vectors
}

#[test]
fn exact_scale_never_worse_than_grid() {
    // All-zero inputs have no positive optimum; `zero_input_gets_documented_scale` covers them.
    // Sizes up to 147 keep the brute-force grid fast in debug builds.
    let vectors = test_vectors(7).into_iter().filter(|v| v.len() <= 147);
    for values in vectors.filter(|v| v.iter().any(|&w| w != 0.0)) {
        for bits in BITS {
            for norm in NORMS {
                let scale = optimal_scale(&values, bits, norm).unwrap();
                let exact = brute_force_error(&values, scale, bits, norm);
                let (grid_scale, grid) = grid_search_error(&values, bits, norm, 1000);
                assert!(
                    exact <= grid * (1.0 + 1e-6) + f64::MIN_POSITIVE,
                    "{bits:?} {norm:?} n={}: exact scale {scale} gives {exact}, grid scale {grid_scale} gives {grid}",
                    values.len()
                );
            }
        }
    }
}

#[test]
fn exact_scale_is_local_minimum() {
    for values in test_vectors(11) {
        for bits in BITS {
            for norm in NORMS {
                let scale = optimal_scale(&values, bits, norm).unwrap();
                if scale == MIN_SCALE {
                    // The error still falls toward scale 0 here, as documented.
                    continue;
                }
                let exact = brute_force_error(&values, scale, bits, norm);
                for factor in [0.9f32, 0.99, 0.999, 1.001, 1.01, 1.1] {
                    let nearby = brute_force_error(&values, scale * factor, bits, norm);
                    assert!(
                        exact <= nearby * (1.0 + 1e-6),
                        "{bits:?} {norm:?}: scale {scale} gives {exact}, {factor} x scale gives {nearby}"
                    );
                }
            }
        }
    }
}

#[test]
fn binary_l2_scale_is_mean_magnitude() {
    let values = [0.5f32, -1.5, 2.0, -0.25];
    let scale = optimal_scale(&values, Bits::Binary, ScaleNorm::L2).unwrap();
    assert_eq!(scale, 4.25 / 4.0);
}

#[test]
fn binary_l1_scale_is_upper_median() {
    let values = [0.5f32, -1.5, 2.0, -0.25];
    let scale = optimal_scale(&values, Bits::Binary, ScaleNorm::L1).unwrap();
    assert_eq!(scale, 1.5);
}

#[test]
fn binary_linf_scale_is_midrange() {
    let values = [0.5f32, -1.5, 2.0, -0.25];
    let scale = optimal_scale(&values, Bits::Binary, ScaleNorm::LInf).unwrap();
    assert_eq!(scale, 1.125);
}

#[test]
fn ternary_l2_worked_example() {
    // Supports: k=1 error 9+1+0.01-9 = 1.01 at s=3; k=2 error 10.01-2*4 = 2.01;
    // k=3 error 10.01-3*(4.1/3)^2 = 4.406. So k=1 and s=3.
    let values = [3.0f32, -1.0, 0.1];
    assert_eq!(
        optimal_scale(&values, Bits::Ternary, ScaleNorm::L2).unwrap(),
        3.0
    );
    assert_eq!(codes_for_scale(&values, 3.0, Bits::Ternary), vec![1, 0, 0]);
}

#[test]
fn ternary_l2_support_is_top_k() {
    for values in test_vectors(13)
        .into_iter()
        .filter(|v| v.iter().any(|&w| w != 0.0))
    {
        let scale = optimal_scale(&values, Bits::Ternary, ScaleNorm::L2).unwrap();
        let codes = codes_for_scale(&values, scale, Bits::Ternary);
        let support: Vec<f64> = values
            .iter()
            .zip(&codes)
            .filter(|(_, &c)| c != 0)
            .map(|(&w, _)| f64::from(w.abs()))
            .collect();
        assert!(!support.is_empty(), "empty support for {values:?}");

        let smallest_in = support.iter().copied().fold(f64::INFINITY, f64::min);
        let largest_out = values
            .iter()
            .zip(&codes)
            .filter(|(_, &c)| c == 0)
            .map(|(&w, _)| f64::from(w.abs()))
            .fold(0.0, f64::max);
        assert!(
            smallest_in >= largest_out,
            "support is not the top k of {values:?}"
        );

        let mean = support.iter().sum::<f64>() / support.len() as f64;
        let relative = (f64::from(scale) - mean).abs() / mean;
        assert!(
            relative < 1e-6,
            "scale {scale} is not the support mean {mean}"
        );
    }
}

#[test]
fn codes_follow_nearest_level_with_ties_to_zero() {
    let values = [0.5f32, -0.5, 0.500_001, -0.500_001, 0.0, -0.0, 3.0];
    assert_eq!(
        codes_for_scale(&values, 1.0, Bits::Ternary),
        vec![0, 0, 1, -1, 0, 0, 1]
    );
    assert_eq!(
        codes_for_scale(&values, 1.0, Bits::Binary),
        vec![1, -1, 1, -1, 1, 1, 1]
    );
}

#[test]
fn reconstruction_error_matches_brute_force() {
    for values in test_vectors(17).into_iter().take(20) {
        for bits in BITS {
            for norm in NORMS {
                let got = reconstruction_error(&values, 0.3, bits, norm);
                let expected = brute_force_error(&values, 0.3, bits, norm);
                assert!(
                    (got - expected).abs() <= 1e-9 * expected.max(1.0),
                    "{bits:?} {norm:?}"
                );
            }
        }
    }
}

#[test]
fn zero_input_gets_documented_scale() {
    let zeros = [0.0f32; 9];
    for norm in NORMS {
        assert_eq!(
            optimal_scale(&zeros, Bits::Ternary, norm).unwrap(),
            ZERO_TERNARY_SCALE
        );
        assert_eq!(
            optimal_scale(&zeros, Bits::Binary, norm).unwrap(),
            MIN_SCALE
        );
    }
    assert_eq!(
        codes_for_scale(&zeros, ZERO_TERNARY_SCALE, Bits::Ternary),
        vec![0; 9]
    );
}

#[test]
fn binary_l1_mostly_zero_gets_min_scale() {
    let values = [0.0f32, 0.0, 0.0, 1.0];
    assert_eq!(
        optimal_scale(&values, Bits::Binary, ScaleNorm::L1).unwrap(),
        MIN_SCALE
    );
}

#[test]
fn extreme_magnitudes_give_finite_scales() {
    let huge = [f32::MAX, -f32::MAX, f32::MAX];
    let tiny = [f32::from_bits(1), -f32::from_bits(1), 0.0];
    for bits in BITS {
        for norm in NORMS {
            for values in [&huge[..], &tiny[..]] {
                let scale = optimal_scale(values, bits, norm).unwrap();
                assert!(scale.is_finite(), "{bits:?} {norm:?} {values:?}: {scale}");
                assert!(scale > 0.0, "{bits:?} {norm:?} {values:?}: {scale}");
            }
        }
    }
}

#[test]
fn empty_input_is_rejected() {
    let error = optimal_scale(&[], Bits::Ternary, ScaleNorm::L2).unwrap_err();
    assert_eq!(error, QuantError::Empty { shape: vec![0] });

    let empty = ArrayD::<f32>::zeros(IxDyn(&[4, 0, 3, 3]));
    let error = quantize(empty.view(), &QuantConfig::default()).unwrap_err();
    assert_eq!(
        error,
        QuantError::Empty {
            shape: vec![4, 0, 3, 3]
        }
    );
}

#[test]
fn non_finite_weights_are_rejected_with_index() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let error = optimal_scale(&[0.1, 0.2, bad], Bits::Binary, ScaleNorm::L2).unwrap_err();
        assert!(matches!(error, QuantError::NonFinite { ref index, .. } if index == &vec![2]));
        assert!(error.to_string().contains("[2]"), "{error}");

        let mut w = ArrayD::<f32>::ones(IxDyn(&[2, 3, 3, 3]));
        w[[1, 2, 0, 1]] = bad;
        let error = quantize(w.view(), &QuantConfig::default()).unwrap_err();
        assert!(
            matches!(error, QuantError::NonFinite { ref index, .. } if index == &vec![1, 2, 0, 1]),
            "{error}"
        );
    }
}

#[test]
fn per_channel_scalar_is_rejected() {
    let scalar = ArrayD::<f32>::from_elem(IxDyn(&[]), 1.0);
    let error = quantize(scalar.view(), &QuantConfig::default()).unwrap_err();
    assert_eq!(error, QuantError::NoChannelAxis);

    let cfg = QuantConfig {
        granularity: Granularity::PerTensor,
        ..QuantConfig::default()
    };
    let q = quantize(scalar.view(), &cfg).unwrap();
    assert_eq!(q.dequantize()[[]], 1.0);
}

#[test]
fn per_channel_scales_match_channel_search() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let values = normal_values(&mut rng, 8 * 3 * 3 * 3, 0.1);
    let w = Array::from_shape_vec(IxDyn(&[8, 3, 3, 3]), values.clone()).unwrap();
    for bits in BITS {
        for norm in NORMS {
            let cfg = QuantConfig {
                bits,
                granularity: Granularity::PerChannel,
                norm,
            };
            let q = quantize(w.view(), &cfg).unwrap();
            assert_eq!(q.scales.len(), 8);
            for (c, channel) in values.chunks(27).enumerate() {
                assert_eq!(q.scales[c], optimal_scale(channel, bits, norm).unwrap());
                let codes: Vec<i8> = q
                    .codes
                    .index_axis(ndarray::Axis(0), c)
                    .iter()
                    .copied()
                    .collect();
                assert_eq!(codes, codes_for_scale(channel, q.scales[c], bits));
            }
        }
    }
}

#[test]
fn per_tensor_scale_matches_flat_search() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let values = normal_values(&mut rng, 6 * 5, 1.0);
    let w = Array::from_shape_vec(IxDyn(&[6, 5]), values.clone()).unwrap();
    let cfg = QuantConfig {
        granularity: Granularity::PerTensor,
        ..QuantConfig::default()
    };
    let q = quantize(w.view(), &cfg).unwrap();
    assert_eq!(
        q.scales,
        vec![optimal_scale(&values, Bits::Ternary, ScaleNorm::L2).unwrap()]
    );
}

#[test]
fn dequantize_is_exactly_scale_times_code() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let w = Array::from_shape_vec(IxDyn(&[4, 2, 3, 3]), normal_values(&mut rng, 72, 0.3)).unwrap();
    for granularity in [Granularity::PerChannel, Granularity::PerTensor] {
        let cfg = QuantConfig {
            granularity,
            ..QuantConfig::default()
        };
        let q = quantize(w.view(), &cfg).unwrap();
        let dequantized = q.dequantize();
        for (index, &code) in q.codes.indexed_iter() {
            let scale = q.channel_scale(index[0]).unwrap();
            assert_eq!(
                dequantized[&index].to_bits(),
                (scale * f32::from(code)).to_bits()
            );
        }
    }
}

#[test]
fn quantize_with_scales_checks_scales() {
    let w = ArrayD::<f32>::ones(IxDyn(&[3, 4]));
    let error = quantize_with_scales(
        w.view(),
        &[1.0, 2.0],
        Bits::Ternary,
        Granularity::PerChannel,
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            QuantError::ScaleCount {
                expected: 3,
                actual: 2,
                ..
            }
        ),
        "{error}"
    );

    for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let error = quantize_with_scales(
            w.view(),
            &[1.0, bad, 1.0],
            Bits::Ternary,
            Granularity::PerChannel,
        )
        .unwrap_err();
        assert!(
            matches!(error, QuantError::InvalidScale { index: 1, .. }),
            "{error}"
        );
    }
}

#[test]
fn quantized_new_rejects_codes_outside_alphabet() {
    let codes = ArrayD::<i8>::from_shape_vec(IxDyn(&[2, 2]), vec![1, -1, 0, 1]).unwrap();
    let error = Quantized::new(
        codes.clone(),
        vec![1.0, 1.0],
        Granularity::PerChannel,
        Bits::Binary,
    )
    .unwrap_err();
    assert_eq!(
        error,
        QuantError::InvalidCode {
            index: vec![1, 0],
            value: 0,
            bits: Bits::Binary
        }
    );
    assert!(Quantized::new(
        codes,
        vec![1.0, 1.0],
        Granularity::PerChannel,
        Bits::Ternary
    )
    .is_ok());
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        rng_seed: RngSeed::Fixed(0x7170_7175),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn bits_strategy() -> impl Strategy<Value = Bits> {
    prop_oneof![Just(Bits::Binary), Just(Bits::Ternary)]
}

fn norm_strategy() -> impl Strategy<Value = ScaleNorm> {
    prop_oneof![
        Just(ScaleNorm::L2),
        Just(ScaleNorm::L1),
        Just(ScaleNorm::LInf)
    ]
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn scale_is_finite_positive_and_beats_grid(
        values in prop::collection::vec(-10.0f32..10.0, 1..80),
        bits in bits_strategy(),
        norm in norm_strategy(),
    ) {
        let scale = optimal_scale(&values, bits, norm).unwrap();
        prop_assert!(scale.is_finite() && scale > 0.0);
        let exact = brute_force_error(&values, scale, bits, norm);
        let (_, grid) = grid_search_error(&values, bits, norm, 300);
        prop_assert!(exact <= grid * (1.0 + 1e-6) + 1e-30, "exact {} grid {}", exact, grid);
    }

    #[test]
    fn dequantized_values_are_levels(
        values in prop::collection::vec(-1.0f32..1.0, 1..60),
        bits in bits_strategy(),
        norm in norm_strategy(),
    ) {
        let w = Array::from_shape_vec(IxDyn(&[values.len()]), values).unwrap();
        let cfg = QuantConfig { bits, granularity: Granularity::PerTensor, norm };
        let q = quantize(w.view(), &cfg).unwrap();
        let scale = q.scales[0];
        for &v in q.dequantize().iter() {
            let allowed = v == scale || v == -scale || (bits == Bits::Ternary && v == 0.0);
            prop_assert!(allowed, "{} is not a level of scale {}", v, scale);
        }
    }
}
