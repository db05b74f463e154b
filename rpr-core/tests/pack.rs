//! Tests of the bit-packing: byte-exact layouts, round trips and corrupt data.

use ndarray::{Array2, Array4};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::pack::{
    conv_to_rows, conv_to_rows_f32, pack, padded_k, row_bytes, rows_to_conv, ternary3_to_ternary2,
    try_rows_to_conv, try_rows_to_conv_f32, Encoding, PackError, PackedView, GROUP,
};

const ENCODINGS: [Encoding; 3] = [Encoding::Binary, Encoding::Ternary2, Encoding::Ternary3];

/// Random codes from a fixed-seed SplitMix64 stream; ChaCha is too slow in
/// debug builds for the million codes of the round-trip tests.
fn random_codes(state: &mut u64, rows: usize, k: usize, encoding: Encoding) -> Array2<i8> {
    Array2::from_shape_fn((rows, k), |_| {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let bits = (*state ^ (*state >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 40;
        match encoding {
            Encoding::Binary => 1 - 2 * (bits % 2) as i8,
            Encoding::Ternary2 | Encoding::Ternary3 => (bits % 3) as i8 - 1,
        }
    })
}

#[test]
fn padded_k_rounds_to_group() {
    let cases = [
        (0, 0),
        (1, 32),
        (31, 32),
        (32, 32),
        (33, 64),
        (576, 576),
        (4608, 4608),
        (27, 32),
    ];
    for (k, expected) in cases {
        assert_eq!(padded_k(k), expected, "k={k}");
    }
    assert_eq!(GROUP, 32);
}

#[test]
fn row_bytes_per_encoding() {
    assert_eq!(row_bytes(Encoding::Binary, 27), 4);
    assert_eq!(row_bytes(Encoding::Ternary2, 27), 8);
    assert_eq!(row_bytes(Encoding::Ternary3, 27), 6);
    assert_eq!(row_bytes(Encoding::Binary, 64), 8);
    assert_eq!(row_bytes(Encoding::Ternary2, 0), 0);
    assert_eq!(row_bytes(Encoding::Ternary3, 0), 0);
}

#[test]
fn binary_layout_is_byte_exact() {
    // Columns 0, 2, 3 and 33 are +1: word 0 = 0b1101, word 1 = 0b10.
    let mut codes = vec![-1i8; 34];
    for col in [0, 2, 3, 33] {
        codes[col] = 1;
    }
    let codes = Array2::from_shape_vec((1, 34), codes).unwrap();
    let packed = pack(codes.view(), Encoding::Binary).unwrap();
    assert_eq!(packed.data, vec![0x0d, 0, 0, 0, 0x02, 0, 0, 0]);
}

#[test]
fn binary_high_bit_is_little_endian() {
    let mut codes = vec![-1i8; 32];
    codes[31] = 1;
    codes[8] = 1;
    let codes = Array2::from_shape_vec((1, 32), codes).unwrap();
    let packed = pack(codes.view(), Encoding::Binary).unwrap();
    assert_eq!(packed.data, vec![0x00, 0x01, 0x00, 0x80]);
}

#[test]
fn ternary2_layout_is_byte_exact() {
    // Codes [+1, 0, -1]: nonzero plane 0b101, negative plane 0b100.
    let codes = Array2::from_shape_vec((2, 3), vec![1i8, 0, -1, 0, 0, 0]).unwrap();
    let packed = pack(codes.view(), Encoding::Ternary2).unwrap();
    let expected = vec![5, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(packed.data, expected);
}

#[test]
fn ternary3_layout_is_byte_exact() {
    // Codes [+1, 0, -1] are digits [2, 1, 0], padded with digit 1:
    // 2 + 3 * 1 + 9 * 0 + 27 * 1 + 81 * 1 = 113.
    let codes = Array2::from_shape_vec((1, 3), vec![1i8, 0, -1]).unwrap();
    assert_eq!(
        pack(codes.view(), Encoding::Ternary3).unwrap().data,
        vec![113]
    );

    // Six codes take two bytes: [-1, -1, -1, -1, -1] is 0, and [+1] padded is
    // 2 + 3 + 9 + 27 + 81 = 122.
    let codes = Array2::from_shape_vec((1, 6), vec![-1i8, -1, -1, -1, -1, 1]).unwrap();
    assert_eq!(
        pack(codes.view(), Encoding::Ternary3).unwrap().data,
        vec![0, 122]
    );

    let codes = Array2::from_shape_vec((1, 5), vec![1i8; 5]).unwrap();
    assert_eq!(
        pack(codes.view(), Encoding::Ternary3).unwrap().data,
        vec![242]
    );
}

#[test]
fn round_trips_every_k_up_to_1000() {
    let mut rng = 1000u64;
    for encoding in ENCODINGS {
        for k in 0..=1000 {
            let codes = random_codes(&mut rng, 2, k, encoding);
            let packed = pack(codes.view(), encoding).unwrap();
            assert_eq!(
                packed.data.len(),
                2 * row_bytes(encoding, k),
                "{encoding} k={k}"
            );
            assert_eq!(packed.unpack(), codes, "{encoding} k={k}");
            packed.view().validate().unwrap();
        }
    }
}

#[test]
fn ternary3_expands_to_ternary2() {
    let mut rng = 3u64;
    for k in [0, 1, 4, 5, 6, 31, 32, 33, 100, 577] {
        let codes = random_codes(&mut rng, 4, k, Encoding::Ternary3);
        let base3 = pack(codes.view(), Encoding::Ternary3).unwrap();
        let expanded = ternary3_to_ternary2(base3.view()).unwrap();
        assert_eq!(
            expanded,
            pack(codes.view(), Encoding::Ternary2).unwrap(),
            "k={k}"
        );
    }
}

#[test]
fn ternary3_to_ternary2_rejects_other_encodings() {
    let codes = Array2::from_elem((1, 3), 1i8);
    let binary = pack(codes.view(), Encoding::Binary).unwrap();
    let error = ternary3_to_ternary2(binary.view()).unwrap_err();
    assert!(
        matches!(
            error,
            PackError::WrongEncoding {
                actual: Encoding::Binary,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn invalid_codes_name_row_column_and_value() {
    let mut codes = Array2::from_elem((3, 40), 1i8);
    codes[[2, 37]] = 0;
    let error = pack(codes.view(), Encoding::Binary).unwrap_err();
    assert!(
        matches!(
            error,
            PackError::InvalidCode {
                row: 2,
                col: 37,
                value: 0,
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("row 2"), "{message}");
    assert!(message.contains("column 37"), "{message}");

    codes[[1, 5]] = 2;
    for encoding in [Encoding::Ternary2, Encoding::Ternary3] {
        let error = pack(codes.view(), encoding).unwrap_err();
        assert!(
            matches!(
                error,
                PackError::InvalidCode {
                    row: 1,
                    col: 5,
                    value: 2,
                    ..
                }
            ),
            "{error}"
        );
    }
    codes[[1, 5]] = -128;
    let error = pack(codes.view(), Encoding::Ternary2).unwrap_err();
    assert!(
        matches!(error, PackError::InvalidCode { value: -128, .. }),
        "{error}"
    );
}

#[test]
fn view_rejects_wrong_length() {
    let data = vec![0u8; 15];
    let error = PackedView::new(Encoding::Ternary2, 2, 3, &data).unwrap_err();
    assert_eq!(
        error,
        PackError::Length {
            encoding: Encoding::Ternary2,
            rows: 2,
            k: 3,
            expected: 16,
            actual: 15
        }
    );
    let error = PackedView::new(Encoding::Binary, usize::MAX, 64, &data).unwrap_err();
    assert!(matches!(error, PackError::SizeOverflow { .. }), "{error}");
    let error = PackedView::new(Encoding::Binary, 1, usize::MAX, &data).unwrap_err();
    assert!(matches!(error, PackError::SizeOverflow { .. }), "{error}");
}

#[test]
fn view_rows_and_planes() {
    let codes = Array2::from_shape_fn((3, 40), |(r, c)| if (r + c) % 3 == 0 { -1i8 } else { 1 });
    let packed = pack(codes.view(), Encoding::Ternary2).unwrap();
    let view = PackedView::new(Encoding::Ternary2, 3, 40, &packed.data).unwrap();
    assert_eq!(view.k_padded(), 64);
    assert_eq!(view.words_per_plane(), 2);
    assert_eq!(view.row(1), &packed.data[16..32]);
}

#[test]
fn validate_rejects_set_padding_bits() {
    let codes = Array2::from_elem((2, 3), 1i8);
    for encoding in [Encoding::Binary, Encoding::Ternary2] {
        let mut data = pack(codes.view(), encoding).unwrap().data;
        let last = data.len() - 1;
        data[last] |= 0x80;
        let view = PackedView::new(encoding, 2, 3, &data).unwrap();
        let error = view.validate().unwrap_err();
        assert!(
            matches!(error, PackError::PaddingBitSet { row: 1, .. }),
            "{encoding}: {error}"
        );
        assert_eq!(view.try_unpack().unwrap_err(), error);
    }
}

#[test]
fn validate_rejects_negative_zero() {
    let codes = Array2::from_elem((1, 3), 0i8);
    let mut data = pack(codes.view(), Encoding::Ternary2).unwrap().data;
    data[4] = 0b10;
    let error = PackedView::new(Encoding::Ternary2, 1, 3, &data)
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(error, PackError::NegativeZero { row: 0, col: 1 });
}

#[test]
fn validate_rejects_bad_base3_bytes() {
    let data = [0u8, 243];
    let error = PackedView::new(Encoding::Ternary3, 1, 10, &data)
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(
        error,
        PackError::InvalidTrits {
            row: 0,
            byte: 1,
            value: 243
        }
    );

    // k = 3 with padding digits 0 in place of 1: byte 2 + 3 * 1 = 5.
    let data = [5u8];
    let error = PackedView::new(Encoding::Ternary3, 1, 3, &data)
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(
        error,
        PackError::Ternary3Padding {
            row: 0,
            col: 3,
            digit: 0
        }
    );
    assert!(
        ternary3_to_ternary2(PackedView::new(Encoding::Ternary3, 1, 3, &data).unwrap()).is_err()
    );
}

/// Index formula of the row layout, written out independently of the reshaping code.
fn expected_rows(w: &Array4<i8>) -> Array2<i8> {
    let (o, i, kh, kw) = w.dim();
    let mut rows = Array2::zeros((o, kh * kw * i));
    for oc in 0..o {
        for ic in 0..i {
            for y in 0..kh {
                for x in 0..kw {
                    rows[[oc, (y * kw + x) * i + ic]] = w[[oc, ic, y, x]];
                }
            }
        }
    }
    rows
}

#[test]
fn conv_rows_round_trip_odd_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let shapes = [
        [3, 5, 3, 3],
        [7, 1, 1, 1],
        [2, 3, 5, 7],
        [1, 13, 1, 3],
        [5, 2, 7, 1],
        [0, 3, 3, 3],
        [4, 0, 3, 3],
    ];
    for shape in shapes {
        let w = Array4::from_shape_fn(shape, |_| rng.gen_range(-1i8..=1));
        let rows = conv_to_rows(w.view());
        assert_eq!(rows, expected_rows(&w), "{shape:?}");
        assert_eq!(rows_to_conv(rows.view(), shape), w, "{shape:?}");

        let packed = pack(rows.view(), Encoding::Ternary2).unwrap();
        assert_eq!(rows_to_conv(packed.unpack().view(), shape), w, "{shape:?}");
    }
}

#[test]
fn conv_rows_f32_match_codes() {
    let w = Array4::from_shape_fn([4, 3, 2, 5], |(o, i, y, x)| {
        (o * 1000 + i * 100 + y * 10 + x) as f32
    });
    let rows = conv_to_rows_f32(w.view());
    // o = 2, i = 2, kh = 1, kw = 3 sits at k = (kh * KW + kw) * I + i = 26.
    assert_eq!(rows[[2, 26]], 2213.0);
    assert_eq!(try_rows_to_conv_f32(rows.view(), [4, 3, 2, 5]).unwrap(), w);
}

#[test]
fn rows_to_conv_rejects_wrong_shape() {
    let rows = Array2::<i8>::zeros((4, 27));
    let error = try_rows_to_conv(rows.view(), [4, 3, 3, 2]).unwrap_err();
    assert_eq!(
        error,
        PackError::ConvShape {
            rows: [4, 27],
            conv: [4, 3, 3, 2]
        }
    );
    assert!(try_rows_to_conv(rows.view(), [3, 3, 3, 3]).is_err());
    assert!(try_rows_to_conv(rows.view(), [4, usize::MAX, 2, 2]).is_err());
    assert!(try_rows_to_conv(rows.view(), [4, 3, 3, 3]).is_ok());
}

#[test]
fn encoding_serde_names() {
    for (encoding, name) in [
        (Encoding::Binary, "binary"),
        (Encoding::Ternary2, "ternary2"),
        (Encoding::Ternary3, "ternary3"),
    ] {
        assert_eq!(
            serde_json::to_string(&encoding).unwrap(),
            format!("\"{name}\"")
        );
        assert_eq!(encoding.to_string(), name);
    }
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        rng_seed: RngSeed::Fixed(0x7061_636b),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn encoding_strategy() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        Just(Encoding::Binary),
        Just(Encoding::Ternary2),
        Just(Encoding::Ternary3)
    ]
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn packing_round_trips(
        encoding in encoding_strategy(),
        rows in 0usize..5,
        k in 0usize..200,
        seed in any::<u64>(),
    ) {
        let mut state = seed;
        let codes = random_codes(&mut state, rows, k, encoding);
        let packed = pack(codes.view(), encoding).unwrap();
        let view = PackedView::new(encoding, rows, k, &packed.data).unwrap();
        prop_assert_eq!(view.try_unpack().unwrap(), codes);
    }

    #[test]
    fn random_bytes_never_panic(
        encoding in encoding_strategy(),
        k in 0usize..100,
        data in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes = row_bytes(encoding, k);
        let rows = data.len().checked_div(bytes).unwrap_or(0);
        let data = &data[..rows * bytes];
        let view = PackedView::new(encoding, rows, k, data).unwrap();
        if let Ok(codes) = view.try_unpack() {
            // Valid data must re-pack to the same bytes.
            prop_assert_eq!(pack(codes.view(), encoding).unwrap().data, data.to_vec());
        }
    }
}

#[test]
fn pack_accepts_strided_views() {
    let mut state = 8u64;
    let codes = random_codes(&mut state, 40, 6, Encoding::Ternary2);
    let transposed = codes.t();
    for encoding in [Encoding::Ternary2, Encoding::Ternary3] {
        let strided = pack(transposed, encoding).unwrap();
        let contiguous = pack(transposed.as_standard_layout().view(), encoding).unwrap();
        assert_eq!(strided, contiguous, "{encoding}");
    }
}
