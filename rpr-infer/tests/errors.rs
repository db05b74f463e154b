//! Bad files, inputs and options give typed errors, never panics.

mod common;

use ndarray::Array4;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::quant::Bits;
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
