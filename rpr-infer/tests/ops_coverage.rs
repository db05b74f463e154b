//! A small hand-built network that covers what the zoo models do not. It has a dilated conv,
//! average pooling with `ceil_mode` and padding, bilinear upsampling and a BatchNorm after a
//! concatenation, which export cannot fold. It also has a pointwise conv that reads u8
//! activations in place, and the tests store it with base-3 weights too.

mod common;

use common::{fixture_for_model, max_abs_diff, random_images};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rpr_core::graph::{Conv2d, Model, Node, Op, Pool2d, INPUT};
use rpr_core::quant::Bits;
use rpr_infer::{Engine, Precision, Session, SessionOptions};

#[allow(clippy::too_many_arguments)]
fn conv(
    name: &str,
    input: &str,
    in_c: usize,
    out_c: usize,
    k: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
) -> Node {
    let op = Op::Conv2d(Conv2d {
        in_channels: in_c,
        out_channels: out_c,
        kernel: [k, k],
        stride: [stride, stride],
        padding: [pad, pad],
        dilation: [dilation, dilation],
        groups: 1,
        bias: false,
    });
    node(name, &[input], op)
}

fn node(name: &str, inputs: &[&str], op: Op) -> Node {
    Node {
        name: name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        op,
    }
}

fn pool(k: usize, stride: usize, pad: usize) -> Pool2d {
    Pool2d {
        kernel: [k, k],
        stride: [stride, stride],
        padding: [pad, pad],
        ceil_mode: true,
    }
}

/// `[3, 9, 9]` input; see the module comment for what each node exercises.
fn coverage_model() -> Model {
    let nodes = vec![
        conv("c1", INPUT, 3, 8, 3, 1, 1, 1),
        node(
            "b1",
            &["c1"],
            Op::BatchNorm {
                channels: 8,
                eps: 1e-5,
            },
        ),
        node("r1", &["b1"], Op::Relu),
        conv("c2", "r1", 8, 16, 3, 2, 2, 2),
        node(
            "b2",
            &["c2"],
            Op::BatchNorm {
                channels: 16,
                eps: 1e-5,
            },
        ),
        node("r2", &["b2"], Op::Relu),
        node("p1", &["r2"], Op::AvgPool(pool(3, 2, 1))),
        node("u1", &["p1"], Op::Upsample { size: 5 }),
        node("cat", &["r2", "u1"], Op::Concat),
        node(
            "b3",
            &["cat"],
            Op::BatchNorm {
                channels: 32,
                eps: 1e-5,
            },
        ),
        node("r3", &["b3"], Op::Relu),
        conv("c3", "r3", 32, 32, 3, 1, 1, 1),
        node(
            "b4",
            &["c3"],
            Op::BatchNorm {
                channels: 32,
                eps: 1e-5,
            },
        ),
        node("r4", &["b4"], Op::Relu),
        conv("c4", "r4", 32, 8, 1, 1, 0, 1),
        node(
            "b5",
            &["c4"],
            Op::BatchNorm {
                channels: 8,
                eps: 1e-5,
            },
        ),
        node("r5", &["b5"], Op::Relu),
        node("m1", &["r5"], Op::MaxPool(pool(2, 2, 1))),
        node("flat", &["m1"], Op::Flatten),
        node(
            "fc",
            &["flat"],
            Op::Linear {
                in_features: 72,
                out_features: 10,
                bias: true,
            },
        ),
    ];
    Model {
        name: "coverage".into(),
        input_shape: [3, 9, 9],
        nodes,
        output: "fc".into(),
    }
}

fn check(bits: Bits, ternary3: bool) {
    let model = coverage_model();
    model.validate().expect("the coverage model is valid");
    let fixture = fixture_for_model(model, bits, 5, ternary3);
    let engine = Engine::from_bytes(fixture.bytes.clone()).expect("engine loads");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let images = random_images(&mut rng, 2, engine.input_shape());
    let checkpoint = &fixture.checkpoint;
    let expected = rpr_core::reference::run(&checkpoint.model, &checkpoint.tensors, images.view())
        .expect("reference runs");

    for (precision, tolerance) in [(Precision::F32, 1e-4), (Precision::Int8, 0.05)] {
        let options = SessionOptions {
            precision,
            threads: 2,
            batch: 2,
            isa: None,
        };
        let mut session = Session::new(&engine, options).expect("session");
        let logits = session.run(images.view()).expect("engine runs");
        let (diff, scale) = max_abs_diff(&logits, &expected);
        assert!(
            diff <= tolerance * scale.max(1.0),
            "{precision:?}: logits differ by {diff} (largest {scale})"
        );
        if precision == Precision::Int8 {
            assert_eq!(
                session.int8_layers(),
                (3, 3),
                "every packed conv reads a ReLU output"
            );
        }
    }
}

#[test]
fn coverage_ternary_matches_reference() {
    check(Bits::Ternary, false);
}

#[test]
fn coverage_base3_matches_reference() {
    check(Bits::Ternary, true);
}

#[test]
fn coverage_binary_matches_reference() {
    check(Bits::Binary, false);
}
