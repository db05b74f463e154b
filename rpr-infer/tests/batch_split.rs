//! A batch that a session splits into chunks of images over its threads gives the same logits
//! as the whole batch on one thread. Each image's arithmetic does not depend on the other images,
//! so the logits must agree bit for bit in both precisions.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_core::quant::Bits;
use rpr_infer::{Engine, Precision, Session, SessionOptions};

fn logits(
    engine: &Engine,
    precision: Precision,
    threads: usize,
    images: &ndarray::Array4<f32>,
) -> ndarray::Array2<f32> {
    let options = SessionOptions {
        precision,
        threads,
        batch: images.dim().0,
        isa: None,
    };
    let mut session = Session::new(engine, options).expect("session");
    session.run(images.view()).expect("run")
}

#[test]
fn split_batch_matches_one_thread() {
    for bits in [Bits::Ternary, Bits::Binary] {
        let fixture = common::fixture("resnet20", 1, 8, bits, 31);
        let engine = Engine::from_bytes(fixture.bytes).expect("engine");
        let mut rng = ChaCha8Rng::seed_from_u64(32);
        // Threads claim chunks that shrink as the batch drains: 4 images on 2 threads run as
        // four chunks of 1, 9 as 3+2+1+1+1+1, and 17 on 3 threads as 3+3+2+2+2+1+1+1+1+1.
        for (batch, threads) in [(4, 2), (9, 2), (17, 3)] {
            let images = common::random_images(&mut rng, batch, engine.input_shape());
            for precision in [Precision::Int8, Precision::F32] {
                let whole = logits(&engine, precision, 1, &images);
                let split = logits(&engine, precision, threads, &images);
                assert_eq!(
                    split, whole,
                    "{bits:?} {precision:?} batch {batch}, {threads} threads"
                );
            }
        }
    }
}

#[test]
fn split_batch_reuses_buffers_across_runs() {
    let fixture = common::fixture("resnet20", 1, 8, Bits::Ternary, 33);
    let engine = Engine::from_bytes(fixture.bytes).expect("engine");
    let mut rng = ChaCha8Rng::seed_from_u64(34);
    let first = common::random_images(&mut rng, 4, engine.input_shape());
    let second = common::random_images(&mut rng, 4, engine.input_shape());
    let options = SessionOptions {
        threads: 2,
        batch: 4,
        ..Default::default()
    };
    let mut session = Session::new(&engine, options).expect("session");
    session.run(first.view()).expect("first run");
    let again = session.run(second.view()).expect("second run");
    assert_eq!(
        again,
        logits(&engine, Precision::Int8, 1, &second),
        "second batch on reused buffers"
    );
}
