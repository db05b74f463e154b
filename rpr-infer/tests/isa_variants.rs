//! Every kernel instruction set available on this CPU gives the same int8 logits as the
//! scalar kernels: integer accumulation is exact, so they must agree bit for bit.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_core::quant::Bits;
use rpr_infer::kernels::{kernel_set, Isa};
use rpr_infer::{Engine, Precision, Session, SessionOptions};

fn logits(
    engine: &Engine,
    isa: Isa,
    precision: Precision,
    images: &ndarray::Array4<f32>,
) -> ndarray::Array2<f32> {
    let options = SessionOptions {
        precision,
        threads: 2,
        batch: images.dim().0,
        isa: Some(isa),
    };
    let mut session = Session::new(engine, options).expect("session");
    session.run(images.view()).expect("run")
}

#[test]
fn int8_logits_equal_across_isas() {
    for bits in [Bits::Ternary, Bits::Binary] {
        let fixture = common::fixture("resnet20", 1, 8, bits, 21);
        let engine = Engine::from_bytes(fixture.bytes).expect("engine");
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let images = common::random_images(&mut rng, 2, engine.input_shape());
        let scalar = logits(&engine, Isa::Scalar, Precision::Int8, &images);
        for isa in Isa::ALL {
            if kernel_set(isa).is_none() {
                eprintln!("SKIPPED: {} kernels, not supported by this CPU", isa.name());
                continue;
            }
            let result = logits(&engine, isa, Precision::Int8, &images);
            assert_eq!(result, scalar, "{bits:?} {} int8 logits", isa.name());
        }
    }
}

#[test]
fn f32_logits_close_across_isas() {
    let fixture = common::fixture("resnet20", 1, 8, Bits::Ternary, 23);
    let engine = Engine::from_bytes(fixture.bytes).expect("engine");
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let images = common::random_images(&mut rng, 2, engine.input_shape());
    let scalar = logits(&engine, Isa::Scalar, Precision::F32, &images);
    for isa in Isa::ALL {
        if kernel_set(isa).is_none() {
            eprintln!("SKIPPED: {} kernels, not supported by this CPU", isa.name());
            continue;
        }
        let result = logits(&engine, isa, Precision::F32, &images);
        let (diff, scale) = common::max_abs_diff(&result, &scalar);
        // SIMD kernels sum in another order; f32 rounding stays far below this bound.
        assert!(
            diff <= 1e-4 * scale.max(1.0),
            "{} f32 logits differ by {diff}",
            isa.name()
        );
    }
}
