//! Writes a ternary ResNet-20 with random weights for benchmarks of the CLI:
//! `RPR_MODEL_OUT=/tmp/resnet20.rpr cargo test -p rpr-infer --test model_file -- --ignored`.

mod common;

use rpr_core::quant::Bits;

#[test]
#[ignore = "writes a benchmark model to $RPR_MODEL_OUT; run explicitly"]
fn write_resnet20_model() {
    let path = std::env::var("RPR_MODEL_OUT").expect("set RPR_MODEL_OUT to the output path");
    let fixture = common::fixture("resnet20", 1, 28, Bits::Ternary, 42);
    std::fs::write(&path, &fixture.bytes).expect("model written");
    assert!(
        rpr_infer::Engine::load(&path).is_ok(),
        "written model loads"
    );
}
