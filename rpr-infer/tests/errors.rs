//! Bad files, inputs and options give typed errors, never panics.

mod common;

use ndarray::Array4;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::pack::{Encoding, GROUP};
use rpr_core::quant::Bits;
use rpr_core::zoo::{self, ZooConfig};
use rpr_export::packed::{patch_tensor, FormatError, RprFile, TensorDType};
use rpr_infer::{Engine, EngineError, Session, SessionOptions};

fn small_model() -> Vec<u8> {
    common::fixture("resnet20", 1, 8, Bits::Ternary, 1).bytes
}

#[test]
fn truncated_files_are_rejected() {
    let bytes = small_model();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut cuts: Vec<usize> = (0..40).map(|_| rng.gen_range(0..bytes.len())).collect();
    cuts.extend([0, 1, 8, 16, 64, bytes.len() - 1]);
    for cut in cuts {
        let result = Engine::from_bytes(bytes[..cut].to_vec());
        assert!(
            matches!(result, Err(EngineError::Format(_))),
            "file cut at {cut} of {} bytes was accepted",
            bytes.len()
        );
    }
}

#[test]
fn corrupted_bytes_are_rejected() {
    let bytes = small_model();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..60 {
        let mut corrupt = bytes.clone();
        let at = rng.gen_range(0..corrupt.len());
        corrupt[at] ^= 1 << rng.gen_range(0..8);
        // Padding between aligned sections is not covered by a checksum, so a flip there may
        // load; any other flip must fail. Either way nothing may panic.
        if let Ok(engine) = Engine::from_bytes(corrupt) {
            let mut session = Session::new(&engine, SessionOptions::default()).expect("session");
            session
                .run(Array4::zeros((1, 1, 8, 8)).view())
                .expect("a file that loads also runs");
        }
    }
}

#[test]
fn missing_file_names_path() {
    let error = Engine::load("/nonexistent/model.rpr").expect_err("no such file");
    assert!(
        error.to_string().contains("/nonexistent/model.rpr"),
        "{error}"
    );
}

#[test]
fn wrong_input_shape_is_rejected() {
    let engine = Engine::from_bytes(small_model()).expect("engine");
    let mut session = Session::new(&engine, SessionOptions::default()).expect("session");
    let error = session
        .run(Array4::zeros((1, 3, 8, 8)).view())
        .expect_err("three channels for a one-channel model");
    assert!(matches!(error, EngineError::Input(_)), "{error}");
    let error = session
        .run(Array4::zeros((0, 1, 8, 8)).view())
        .expect_err("empty batch");
    assert!(matches!(error, EngineError::Input(_)), "{error}");
}

#[test]
fn nan_input_is_rejected() {
    let engine = Engine::from_bytes(small_model()).expect("engine");
    let mut session = Session::new(&engine, SessionOptions::default()).expect("session");
    let mut input = Array4::zeros((1, 1, 8, 8));
    input[[0, 0, 3, 4]] = f32::NAN;
    let error = session.run(input.view()).expect_err("NaN input");
    assert!(error.to_string().contains("flat index 28"), "{error}");
}

#[test]
fn zero_batch_option_is_rejected() {
    let engine = Engine::from_bytes(small_model()).expect("engine");
    let error = Session::new(
        &engine,
        SessionOptions {
            batch: 0,
            ..Default::default()
        },
    )
    .expect_err("batch 0");
    assert!(matches!(error, EngineError::Options(_)), "{error}");
}

#[test]
fn batch_sizes_share_one_session() {
    let engine = Engine::from_bytes(small_model()).expect("engine");
    let mut session = Session::new(
        &engine,
        SessionOptions {
            threads: 2,
            ..Default::default()
        },
    )
    .expect("session");
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let batch = common::random_images(&mut rng, 3, [1, 8, 8]);
    let together = session.run(batch.view()).expect("batch of 3");
    for image in 0..3 {
        let single = session
            .run(batch.slice(ndarray::s![image..image + 1, .., .., ..]))
            .expect("batch of 1");
        assert_eq!(
            single.row(0),
            together.row(image),
            "image {image} alone and in a batch"
        );
    }
}

#[test]
fn thread_count_above_maximum_is_rejected() {
    let engine = Engine::from_bytes(small_model()).expect("engine");
    let options = SessionOptions {
        threads: rpr_infer::MAX_THREADS + 1,
        ..Default::default()
    };
    let error = Session::new(&engine, options).expect_err("too many threads");
    assert!(matches!(error, EngineError::Options(_)), "{error}");
    assert!(error.to_string().contains("1025 threads"), "{error}");
}

#[test]
fn batch_too_large_to_allocate_is_an_error() {
    // 2^40 images of 8x8 need terabytes of buffers, so the allocation fails without touching memory.
    let engine = Engine::from_bytes(small_model()).expect("engine");
    let options = SessionOptions {
        batch: 1 << 40,
        ..Default::default()
    };
    let error = Session::new(&engine, options).expect_err("huge batch");
    assert!(
        matches!(error, EngineError::Memory { batch } if batch == 1 << 40),
        "{error}"
    );
}

/// Name and reduction length `k` of the first packed weight tensor of `bytes`, in file order.
fn first_packed_weight(bytes: &[u8], encoding: Encoding) -> (String, usize) {
    let file = RprFile::from_bytes(bytes.to_vec()).expect("valid file");
    let mut tensors: Vec<_> = file
        .tensors()
        .filter(|info| info.dtype == TensorDType::Packed(encoding))
        .collect();
    tensors.sort_by_key(|info| info.offset);
    let info = tensors.first().expect("the model has packed weights");
    (info.name.clone(), info.shape[1..].iter().product())
}

/// Bytes of one bit plane of a row of `k` weights: whole 32-bit words.
fn plane_bytes(k: usize) -> usize {
    k.div_ceil(GROUP) * 4
}

/// Sets, in row 0 of a ternary2 payload, the negative bit of the first weight whose nonzero
/// bit is clear: the 2-bit pattern that encodes no code.
fn set_negative_zero(k: usize, payload: &mut [u8]) {
    let plane = plane_bytes(k);
    let column = (0..k)
        .find(|&j| payload[j / 8] & (1 << (j % 8)) == 0)
        .expect("row 0 has a zero weight");
    payload[plane + column / 8] |= 1 << (column % 8);
}

/// Sets the first byte of a ternary3 payload to 243 = 3^5, which does not fit in 5 base-3
/// digits.
fn set_invalid_trits(_k: usize, payload: &mut [u8]) {
    payload[0] = 243;
}

/// Sets the last padding bit of row 0 of a binary payload. `k` must not be a multiple of 32.
fn set_binary_padding_bit(k: usize, payload: &mut [u8]) {
    assert!(!k.is_multiple_of(GROUP), "k = {k} has no padding bits");
    payload[plane_bytes(k) - 1] |= 0x80;
}

/// A model file, the encoding of its packed weights, a change that makes the first packed
/// weight tensor invalid, and a fragment of the expected error message.
struct CodeCase {
    label: &'static str,
    bytes: Vec<u8>,
    encoding: Encoding,
    patch: fn(usize, &mut [u8]),
    reason: &'static str,
}

#[test]
fn invalid_packed_codes_name_layer() {
    let cfg = ZooConfig {
        input_channels: 1,
        input_size: 8,
        num_classes: 10,
        upsample_to: None,
    };
    let model = || zoo::build("resnet20", &cfg).expect("zoo architecture builds");
    let ternary2 = small_model();
    let ternary3 = common::fixture_for_model(model(), Bits::Ternary, 5, true).bytes;
    let binary = common::fixture("resnet20", 1, 8, Bits::Binary, 6).bytes;

    let cases = [
        CodeCase {
            label: "ternary2",
            bytes: ternary2,
            encoding: Encoding::Ternary2,
            patch: set_negative_zero,
            reason: "marked negative but not nonzero",
        },
        CodeCase {
            label: "ternary3",
            bytes: ternary3,
            encoding: Encoding::Ternary3,
            patch: set_invalid_trits,
            reason: "byte 0 is 243",
        },
        CodeCase {
            label: "binary",
            bytes: binary,
            encoding: Encoding::Binary,
            patch: set_binary_padding_bit,
            reason: "padding bit",
        },
    ];
    for case in cases {
        let CodeCase {
            label,
            bytes,
            encoding,
            patch,
            reason,
        } = case;
        let (tensor, k) = first_packed_weight(&bytes, encoding);
        let layer = tensor.strip_suffix(".weight").expect("a weight tensor");

        // Resealing without a change must give a file that loads, so the failure below comes
        // from the patched code and not from the resealing.
        let resealed = patch_tensor(bytes.clone(), &tensor, |_| {}).expect("reseal");
        assert!(
            Engine::from_bytes(resealed).is_ok(),
            "{label}: resealed file"
        );

        let patched = patch_tensor(bytes, &tensor, |payload| patch(k, payload)).expect("patch");
        // The reader rejects the codes while it checks the tensor table, before the engine
        // lowers the model, so the engine reports a format error.
        let format_error = RprFile::from_bytes(patched.clone()).expect_err("reader rejects");
        assert!(
            matches!(&format_error, FormatError::Invalid { section, .. } if section == &format!("tensor `{tensor}`")),
            "{label}: {format_error:?}"
        );
        let error = Engine::from_bytes(patched).expect_err("engine rejects");
        assert!(
            matches!(error, EngineError::Format(_)),
            "{label}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(layer), "{label}: {message}");
        assert!(
            message.contains("invalid packed codes"),
            "{label}: {message}"
        );
        assert!(message.contains(reason), "{label}: {message}");
        assert!(
            message.contains("re-export the model"),
            "{label}: {message}"
        );
    }
}
