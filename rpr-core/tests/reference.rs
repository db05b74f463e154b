//! Reference executor: hand-computed cases for every op, a direct
//! convolution formula as an independent oracle, and whole-network checks.

use std::time::Instant;

use ndarray::{array, Array4, ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rpr_core::checkpoint::Tensors;
use rpr_core::graph::{Conv2d, Model, Node, Op, ParamKind, Pool2d};
use rpr_core::reference::{run, run_with_observer, ReferenceError};
use rpr_core::zoo::{build, ZooConfig};

fn node(name: &str, inputs: &[&str], op: Op) -> Node {
    Node {
        name: name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        op,
    }
}

fn tensor(shape: &[usize], values: Vec<f32>) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

/// Runs `ops` (the first reads `input`, each later one its predecessor, the
/// last named `op`), then a flatten so the model yields `[n, features]`, and
/// returns the output of the node named `op`.
fn run_op(input: Array4<f32>, ops: Vec<Node>, tensors: &Tensors) -> ArrayD<f32> {
    let (_, c, h, w) = input.dim();
    let mut nodes = ops;
    nodes.push(node("flat", &["op"], Op::Flatten));
    let model = Model {
        name: "op".into(),
        input_shape: [c, h, w],
        nodes,
        output: "flat".into(),
    };
    let mut captured = None;
    run_with_observer(&model, tensors, input.view(), &mut |name, value| {
        if name == "op" {
            captured = Some(value.to_owned());
        }
    })
    .unwrap();
    captured.expect("observer saw node `op`")
}

fn conv_op(in_channels: usize, out_channels: usize, kernel: [usize; 2], bias: bool) -> Conv2d {
    Conv2d {
        in_channels,
        out_channels,
        kernel,
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        groups: 1,
        bias,
    }
}

fn assert_close(actual: &ArrayD<f32>, expected: &ArrayD<f32>, tolerance: f32) {
    assert_eq!(actual.shape(), expected.shape());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tolerance, "element {i}: {a} vs {e}");
    }
}

fn ramp(shape: (usize, usize, usize, usize)) -> Array4<f32> {
    let (_, c, h, w) = shape;
    Array4::from_shape_fn(shape, |(b, ch, y, x)| {
        (((b * c + ch) * h + y) * w + x) as f32
    })
}

#[test]
fn conv_stride_padding_bias() {
    // 3x3 ones kernel, padding 1, stride 2 over 1..9: window sums of the corners.
    let input = ramp((1, 1, 3, 3)) + 1.0;
    let mut conv = conv_op(1, 1, [3, 3], true);
    conv.stride = [2, 2];
    conv.padding = [1, 1];
    let tensors = Tensors::from([
        ("op.weight".to_string(), tensor(&[1, 1, 3, 3], vec![1.0; 9])),
        ("op.bias".to_string(), tensor(&[1], vec![0.5])),
    ]);
    let out = run_op(
        input,
        vec![node("op", &["input"], Op::Conv2d(conv))],
        &tensors,
    );
    assert_eq!(out, tensor(&[1, 1, 2, 2], vec![12.5, 16.5, 24.5, 28.5]));
}

#[test]
fn conv_dilation() {
    // x[r][c] = 5r + c, taps at offsets 0 and 2 with weights 1, 2, 3, 4:
    // out[i][j] = 10 (5i + j) + 2 * 2 + 3 * 10 + 4 * 12 = 50i + 10j + 82.
    let input = ramp((1, 1, 5, 5));
    let mut conv = conv_op(1, 1, [2, 2], false);
    conv.dilation = [2, 2];
    let tensors = Tensors::from([(
        "op.weight".to_string(),
        tensor(&[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]),
    )]);
    let out = run_op(
        input,
        vec![node("op", &["input"], Op::Conv2d(conv))],
        &tensors,
    );
    let expected =
        Array4::from_shape_fn((1, 1, 3, 3), |(_, _, i, j)| (50 * i + 10 * j + 82) as f32)
            .into_dyn();
    assert_eq!(out, expected);
}

#[test]
fn conv_groups_and_channel_sum() {
    let input = ramp((1, 2, 2, 2));
    // Grouped: each output channel scales its own input channel.
    let mut grouped = conv_op(2, 2, [1, 1], false);
    grouped.groups = 2;
    let tensors = Tensors::from([(
        "op.weight".to_string(),
        tensor(&[2, 1, 1, 1], vec![2.0, -3.0]),
    )]);
    let out = run_op(
        input.clone(),
        vec![node("op", &["input"], Op::Conv2d(grouped))],
        &tensors,
    );
    assert_eq!(
        out,
        tensor(
            &[1, 2, 2, 2],
            vec![0.0, 2.0, 4.0, 6.0, -12.0, -15.0, -18.0, -21.0]
        )
    );

    // Dense: one output channel sums 2 * x0 - 3 * x1.
    let tensors = Tensors::from([(
        "op.weight".to_string(),
        tensor(&[1, 2, 1, 1], vec![2.0, -3.0]),
    )]);
    let out = run_op(
        input,
        vec![node(
            "op",
            &["input"],
            Op::Conv2d(conv_op(2, 1, [1, 1], false)),
        )],
        &tensors,
    );
    assert_eq!(out, tensor(&[1, 1, 2, 2], vec![-12.0, -13.0, -14.0, -15.0]));
}

/// Direct evaluation of the convolution sum, one output element at a time.
fn direct_conv(
    x: &Array4<f32>,
    w: &ArrayD<f32>,
    bias: &[f32],
    conv: &Conv2d,
    out_hw: [usize; 2],
) -> ArrayD<f32> {
    let (n, _, h, wd) = x.dim();
    let in_per_group = conv.in_channels / conv.groups;
    let out_per_group = conv.out_channels / conv.groups;
    Array4::from_shape_fn(
        (n, conv.out_channels, out_hw[0], out_hw[1]),
        |(b, o, oy, ox)| {
            let g = o / out_per_group;
            let mut sum = bias[o];
            for ci in 0..in_per_group {
                for ky in 0..conv.kernel[0] {
                    for kx in 0..conv.kernel[1] {
                        let y = (oy * conv.stride[0] + ky * conv.dilation[0]) as isize
                            - conv.padding[0] as isize;
                        let xx = (ox * conv.stride[1] + kx * conv.dilation[1]) as isize
                            - conv.padding[1] as isize;
                        if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < wd {
                            sum += w[[o, ci, ky, kx]]
                                * x[[b, g * in_per_group + ci, y as usize, xx as usize]];
                        }
                    }
                }
            }
            sum
        },
    )
    .into_dyn()
}

#[test]
fn conv_matches_direct_sum() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // (in, out, kernel, stride, padding, dilation, groups, input h, w)
    let cases = [
        (3, 4, [3, 3], [1, 1], [1, 1], [1, 1], 1, 6, 5),
        (4, 6, [3, 1], [2, 1], [1, 0], [1, 1], 2, 7, 4),
        (6, 6, [3, 3], [1, 2], [2, 1], [2, 1], 6, 5, 6),
        (2, 3, [5, 5], [3, 3], [2, 2], [1, 1], 1, 9, 8),
        (5, 2, [1, 1], [2, 2], [0, 0], [1, 1], 1, 3, 3),
    ];
    for (case, (cin, cout, kernel, stride, padding, dilation, groups, h, w)) in
        cases.into_iter().enumerate()
    {
        let conv = Conv2d {
            in_channels: cin,
            out_channels: cout,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            bias: true,
        };
        let input = Array4::from_shape_fn((2, cin, h, w), |_| rng.gen_range(-1.0f32..1.0));
        let weight_shape = [cout, cin / groups, kernel[0], kernel[1]];
        let weight = ArrayD::from_shape_fn(IxDyn(&weight_shape), |_| rng.gen_range(-1.0f32..1.0));
        let bias: Vec<f32> = (0..cout).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let tensors = Tensors::from([
            ("op.weight".to_string(), weight.clone()),
            ("op.bias".to_string(), tensor(&[cout], bias.clone())),
        ]);
        let out = run_op(
            input.clone(),
            vec![node("op", &["input"], Op::Conv2d(conv))],
            &tensors,
        );
        let out_hw = [out.shape()[2], out.shape()[3]];
        let expected = direct_conv(&input, &weight, &bias, &conv, out_hw);
        assert_close(&out, &expected, 1e-5);
        let oh = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) / stride[0] + 1;
        assert_eq!(out_hw[0], oh, "case {case}");
    }
}

#[test]
fn batch_norm_uses_running_statistics() {
    let input = tensor(&[1, 2, 1, 2], vec![1.0, 3.0, -2.0, 6.0])
        .into_dimensionality()
        .unwrap();
    let tensors = Tensors::from([
        ("op.weight".to_string(), tensor(&[2], vec![2.0, 0.5])),
        ("op.bias".to_string(), tensor(&[2], vec![1.0, -1.0])),
        ("op.running_mean".to_string(), tensor(&[2], vec![1.0, 2.0])),
        (
            "op.running_var".to_string(),
            tensor(&[2], vec![3.75, 15.75]),
        ),
    ]);
    // Channel 0: (x - 1) / sqrt(3.75 + 0.25) * 2 + 1; channel 1: (x - 2) / sqrt(15.75 + 0.25) * 0.5 - 1.
    let out = run_op(
        input,
        vec![node(
            "op",
            &["input"],
            Op::BatchNorm {
                channels: 2,
                eps: 0.25,
            },
        )],
        &tensors,
    );
    assert_eq!(out, tensor(&[1, 2, 1, 2], vec![1.0, 3.0, -1.5, -0.5]));
}

#[test]
fn relu_add_concat() {
    let input = tensor(&[1, 2, 1, 2], vec![-1.0, 0.0, 2.0, -3.0])
        .into_dimensionality()
        .unwrap();
    let out = run_op(
        input.clone(),
        vec![node("op", &["input"], Op::Relu)],
        &Tensors::new(),
    );
    assert_eq!(out, tensor(&[1, 2, 1, 2], vec![0.0, 0.0, 2.0, 0.0]));

    let nodes = vec![
        node("r", &["input"], Op::Relu),
        node("op", &["input", "r", "r"], Op::Add),
    ];
    let out = run_op(input.clone(), nodes, &Tensors::new());
    assert_eq!(out, tensor(&[1, 2, 1, 2], vec![-1.0, 0.0, 6.0, -3.0]));

    let nodes = vec![
        node("r", &["input"], Op::Relu),
        node("op", &["r", "input"], Op::Concat),
    ];
    let out = run_op(input, nodes, &Tensors::new());
    assert_eq!(
        out,
        tensor(
            &[1, 4, 1, 2],
            vec![0.0, 0.0, 2.0, 0.0, -1.0, 0.0, 2.0, -3.0]
        )
    );
}

#[test]
fn max_pool_padding_never_wins() {
    // All inputs negative, so a zero from the padding would show.
    let input = -(ramp((1, 1, 4, 4)) + 1.0);
    let pool = Pool2d {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
        ceil_mode: false,
    };
    let out = run_op(
        input,
        vec![node("op", &["input"], Op::MaxPool(pool))],
        &Tensors::new(),
    );
    assert_eq!(out, tensor(&[1, 1, 2, 2], vec![-1.0, -2.0, -5.0, -6.0]));
}

#[test]
fn max_pool_ceil_mode() {
    // 5x5 ramp, 2x2 windows: the last row and column of windows hold one input line.
    let pool = Pool2d {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [0, 0],
        ceil_mode: true,
    };
    let out = run_op(
        ramp((1, 1, 5, 5)),
        vec![node("op", &["input"], Op::MaxPool(pool))],
        &Tensors::new(),
    );
    assert_eq!(
        out,
        tensor(
            &[1, 1, 3, 3],
            vec![6.0, 8.0, 9.0, 16.0, 18.0, 19.0, 21.0, 23.0, 24.0]
        )
    );
}

#[test]
fn max_pool_propagates_nan() {
    let input = tensor(&[1, 1, 2, 2], vec![1.0, f32::NAN, 3.0, 2.0])
        .into_dimensionality()
        .unwrap();
    let pool = Pool2d {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [0, 0],
        ceil_mode: false,
    };
    let out = run_op(
        input,
        vec![node("op", &["input"], Op::MaxPool(pool))],
        &Tensors::new(),
    );
    assert!(out[[0, 0, 0, 0]].is_nan());
}

#[test]
fn avg_pool_counts_padding() {
    // [[1, 2], [3, 4]], 2x2 windows, stride 1, padding 1: divisor is always 4.
    let input = ramp((1, 1, 2, 2)) + 1.0;
    let pool = Pool2d {
        kernel: [2, 2],
        stride: [1, 1],
        padding: [1, 1],
        ceil_mode: false,
    };
    let out = run_op(
        input,
        vec![node("op", &["input"], Op::AvgPool(pool))],
        &Tensors::new(),
    );
    let expected = tensor(
        &[1, 1, 3, 3],
        vec![0.25, 0.75, 0.5, 1.0, 2.5, 1.5, 0.75, 1.75, 1.0],
    );
    assert_eq!(out, expected);
}

#[test]
fn avg_pool_ceil_mode_divisor() {
    // Ones, 3x3 windows, stride 2, padding 1, ceil mode: window starts -1, 1, 3
    // and ends clipped to 5 (input plus right padding), so extents 3, 3, 2.
    // Element (0, 0) sums 2 x 2 inputs over 9, (0, 2) sums 2 x 1 over 6, and
    // (2, 2) sums 1 x 1 over 4.
    let input = Array4::from_elem((1, 1, 4, 4), 1.0);
    let pool = Pool2d {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
        ceil_mode: true,
    };
    let out = run_op(
        input,
        vec![node("op", &["input"], Op::AvgPool(pool))],
        &Tensors::new(),
    );
    let expected = tensor(
        &[1, 1, 3, 3],
        vec![
            4.0 / 9.0,
            6.0 / 9.0,
            2.0 / 6.0,
            6.0 / 9.0,
            1.0,
            3.0 / 6.0,
            2.0 / 6.0,
            3.0 / 6.0,
            0.25,
        ],
    );
    assert_close(&out, &expected, 1e-6);

    // Without padding, the clipped last window averages only real inputs.
    let pool = Pool2d {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [0, 0],
        ceil_mode: true,
    };
    let out = run_op(
        ramp((1, 1, 5, 5)),
        vec![node("op", &["input"], Op::AvgPool(pool))],
        &Tensors::new(),
    );
    let expected = tensor(
        &[1, 1, 3, 3],
        vec![3.0, 5.0, 6.5, 13.0, 15.0, 16.5, 20.5, 22.5, 24.0],
    );
    assert_eq!(out, expected);
}

#[test]
fn global_avg_pool_and_flatten() {
    let input = ramp((2, 2, 2, 3));
    let out = run_op(
        input.clone(),
        vec![node("op", &["input"], Op::GlobalAvgPool)],
        &Tensors::new(),
    );
    // Channel planes hold 6k .. 6k + 5, whose mean is 6k + 2.5.
    assert_eq!(out, tensor(&[2, 2, 1, 1], vec![2.5, 8.5, 14.5, 20.5]));

    let model = Model {
        name: "flat".into(),
        input_shape: [2, 2, 3],
        nodes: vec![node("flat", &["input"], Op::Flatten)],
        output: "flat".into(),
    };
    let out = run(&model, &Tensors::new(), input.view()).unwrap();
    assert_eq!(out.dim(), (2, 12));
    assert_eq!(
        out.row(1).to_vec(),
        (12..24).map(|v| v as f32).collect::<Vec<_>>()
    );
}

#[test]
fn linear_layer() {
    let model = Model {
        name: "linear".into(),
        input_shape: [3, 1, 1],
        nodes: vec![
            node("flat", &["input"], Op::Flatten),
            node(
                "fc",
                &["flat"],
                Op::Linear {
                    in_features: 3,
                    out_features: 2,
                    bias: true,
                },
            ),
        ],
        output: "fc".into(),
    };
    let tensors = Tensors::from([
        (
            "fc.weight".to_string(),
            tensor(&[2, 3], vec![1.0, 2.0, 3.0, -1.0, 0.0, 0.5]),
        ),
        ("fc.bias".to_string(), tensor(&[2], vec![0.5, -0.5])),
    ]);
    let input = tensor(&[2, 3, 1, 1], vec![1.0, 1.0, 1.0, 2.0, -1.0, 4.0])
        .into_dimensionality()
        .unwrap();
    let out = run(&model, &tensors, input.view()).unwrap();
    // Row 1: 2 - 2 + 12 + 0.5 and -2 + 0 + 2 - 0.5.
    assert_eq!(out, array![[6.5, -1.0], [12.5, -0.5]]);
}

#[test]
fn bilinear_upsample_matches_pytorch_grid() {
    // [[1, 2], [3, 4]] to 4x4: source coordinates 0, 0.25, 0.75, 1 on each
    // axis (clamped at both ends), so out = 1 + 2 * row + col.
    let input = ramp((1, 1, 2, 2)) + 1.0;
    let out = run_op(
        input.clone(),
        vec![node("op", &["input"], Op::Upsample { size: 4 })],
        &Tensors::new(),
    );
    let coords = [0.0, 0.25, 0.75, 1.0];
    let expected = Array4::from_shape_fn((1, 1, 4, 4), |(_, _, i, j)| {
        1.0 + 2.0 * coords[i] + coords[j]
    })
    .into_dyn();
    assert_eq!(out, expected);

    // To 3x3: source coordinates 0, 0.5, 1.
    let out = run_op(
        input,
        vec![node("op", &["input"], Op::Upsample { size: 3 })],
        &Tensors::new(),
    );
    let expected = tensor(
        &[1, 1, 3, 3],
        vec![1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0],
    );
    assert_close(&out, &expected, 1e-6);

    // Downsampling 4x4 to 2x2 reads coordinates 0.5 and 2.5: pair averages.
    let out = run_op(
        ramp((1, 1, 4, 4)),
        vec![node("op", &["input"], Op::Upsample { size: 2 })],
        &Tensors::new(),
    );
    assert_eq!(out, tensor(&[1, 1, 2, 2], vec![2.5, 4.5, 10.5, 12.5]));
}

/// Returns a uniform value in `[0, 1)` from a SplitMix64-style mix of
/// `(seed, index)`. Unoptimized builds run it far faster than ChaCha8, which
/// took about 4.6 s to fill resnet20 under qemu-user.
fn hashed_uniform(seed: u64, index: u64) -> f32 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 24) as f32
}

/// Pseudo-random tensors for every parameter of `model`, with positive variances.
fn random_tensors(model: &Model, seed: u64) -> Tensors {
    let mut index = 0u64;
    let mut tensors = Tensors::new();
    for p in model.parameters() {
        let count: usize = p.shape.iter().product();
        // Weights with variance 1 / fan_in keep activations near unit scale.
        let fan_in: usize = p.shape.iter().skip(1).product();
        let weight_bound = (3.0 / fan_in as f32).sqrt();
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            let u = hashed_uniform(seed, index);
            index += 1;
            values.push(match p.kind {
                ParamKind::BnRunningVar | ParamKind::BnWeight => 0.5 + u,
                ParamKind::ConvWeight | ParamKind::LinearWeight => (2.0 * u - 1.0) * weight_bound,
                _ => 0.6 * u - 0.3,
            });
        }
        tensors.insert(p.name, tensor(&p.shape, values));
    }
    tensors
}

/// Input batch of two samples in `[-1, 1)` for the PyTorch comparisons.
fn hashed_input(shape: [usize; 3], seed: u64) -> Array4<f32> {
    let [c, h, w] = shape;
    let values: Vec<f32> = (0..2 * c * h * w)
        .map(|i| hashed_uniform(seed, i as u64) * 2.0 - 1.0)
        .collect();
    Array4::from_shape_vec((2, c, h, w), values).unwrap()
}

/// Builds a small network with every op, strided, dilated and grouped convs, and
/// ceil-mode pools whose last window is clipped (max) or dropped (avg).
fn mixed_model() -> Model {
    let conv = |in_channels, out_channels, stride, padding, dilation, groups| {
        Op::Conv2d(Conv2d {
            in_channels,
            out_channels,
            kernel: [3, 3],
            stride: [stride; 2],
            padding: [padding; 2],
            dilation: [dilation; 2],
            groups,
            bias: true,
        })
    };
    let pool = |kernel, padding| Pool2d {
        kernel: [kernel; 2],
        stride: [2, 2],
        padding: [padding; 2],
        ceil_mode: true,
    };
    let nodes = vec![
        node("up", &["input"], Op::Upsample { size: 13 }),
        node("conv_a", &["up"], conv(2, 4, 2, 1, 1, 2)),
        node(
            "bn_a",
            &["conv_a"],
            Op::BatchNorm {
                channels: 4,
                eps: 1e-3,
            },
        ),
        node("relu_a", &["bn_a"], Op::Relu),
        node("max", &["relu_a"], Op::MaxPool(pool(3, 1))),
        node("avg", &["relu_a"], Op::AvgPool(pool(2, 1))),
        node("sum", &["max", "avg"], Op::Add),
        node("conv_b", &["sum"], conv(4, 6, 1, 2, 2, 1)),
        node("cat", &["sum", "conv_b"], Op::Concat),
        node("gap", &["cat"], Op::GlobalAvgPool),
        node("flat", &["gap"], Op::Flatten),
        node(
            "fc",
            &["flat"],
            Op::Linear {
                in_features: 10,
                out_features: 3,
                bias: true,
            },
        ),
    ];
    Model {
        name: "mixed".into(),
        input_shape: [2, 9, 9],
        nodes,
        output: "fc".into(),
    }
}

#[test]
fn mixed_model_matches_pytorch() {
    let model = mixed_model();
    let tensors = random_tensors(&model, 22);
    let logits = run(
        &model,
        &tensors,
        hashed_input(model.input_shape, 122).view(),
    )
    .unwrap();
    // The same graph in torch.nn.functional (PyTorch 2.13, CPU, float32) on
    // the same tensors and input.
    let expected = array![
        [0.19124144, -0.20308127, 0.13057199],
        [0.36098877, -0.088825054, 0.062436104]
    ];
    assert_close(&logits.into_dyn(), &expected.into_dyn(), 1e-5);
}

#[test]
fn resnet20_matches_pytorch() {
    let cfg = ZooConfig {
        input_channels: 1,
        input_size: 8,
        num_classes: 10,
        upsample_to: None,
    };
    let model = build("resnet20", &cfg).unwrap();
    let tensors = random_tensors(&model, 21);
    let logits = run(
        &model,
        &tensors,
        hashed_input(model.input_shape, 121).view(),
    )
    .unwrap();
    // torch.nn.functional (PyTorch 2.13, CPU, float32) on the same tensors and input.
    #[rustfmt::skip]
    let expected = array![
        [0.5666071, -0.35449445, 0.34350342, 0.4804436, 0.6078842,
         0.69844866, -1.1689318, -0.51891494, -0.69941866, -0.056788802],
        [0.5092579, -0.47836912, 0.44758078, 0.6449779, 0.8516232,
         0.62433475, -1.2201847, -0.42114204, -0.48252603, -0.08712426]
    ];
    assert_close(&logits.into_dyn(), &expected.into_dyn(), 1e-5);
}

#[test]
fn batch_items_run_independently() {
    // An 8x8 input keeps this fast under emulation, and the stages still run at 8, 4 and 2.
    let cfg = ZooConfig {
        input_channels: 1,
        input_size: 8,
        num_classes: 10,
        upsample_to: None,
    };
    let model = build("resnet20", &cfg).unwrap();
    let tensors = random_tensors(&model, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let input = Array4::from_shape_fn((2, 1, 8, 8), |_| rng.gen_range(0.0f32..1.0));

    let both = run(&model, &tensors, input.view()).unwrap();
    let second = run(&model, &tensors, input.slice(ndarray::s![1..2, .., .., ..])).unwrap();
    assert_eq!(both.dim(), (2, 10));
    assert_eq!(both.row(1), second.row(0));
    assert_ne!(both.row(0), both.row(1));
}

#[test]
fn resnet20_runs_fast_in_debug() {
    let cfg = ZooConfig {
        input_channels: 1,
        input_size: 28,
        num_classes: 10,
        upsample_to: None,
    };
    let model = build("resnet20", &cfg).unwrap();
    let tensors = random_tensors(&model, 5);
    let input = Array4::from_elem((1, 1, 28, 28), 0.5);
    let mut seen = Vec::new();
    let start = Instant::now();
    let logits = run_with_observer(&model, &tensors, input.view(), &mut |name, value| {
        seen.push((name.to_string(), value.shape().to_vec()));
    })
    .unwrap();
    let elapsed = start.elapsed();
    assert!(logits.iter().all(|v| v.is_finite()));

    let shapes = model.infer_shapes().unwrap();
    assert_eq!(seen.len(), model.nodes.len());
    for ((name, shape), node) in seen.iter().zip(&model.nodes) {
        assert_eq!(name, &node.name);
        assert_eq!(shape[0], 1);
        assert_eq!(&shape[1..], shapes[name].as_slice(), "{name}");
    }
    // 0.06 to 0.3 s in a native debug build on the development machine (x86-64,
    // two shared cores) and 2.5 to 6 s for the aarch64 build under qemu-user. The
    // bounds leave room for loaded CI machines and still catch an
    // order-of-magnitude slowdown.
    eprintln!("resnet20, 1x1x28x28, reference executor: {elapsed:?}");
    let bound = if cfg!(target_arch = "x86_64") {
        5.0
    } else {
        60.0
    };
    assert!(elapsed.as_secs_f32() < bound, "resnet20 took {elapsed:?}");
}

#[test]
fn empty_batch_gives_empty_logits() {
    let cfg = ZooConfig {
        input_size: 8,
        ..ZooConfig::default()
    };
    let model = build("resnet20", &cfg).unwrap();
    let tensors = random_tensors(&model, 2);
    let logits = run(&model, &tensors, Array4::zeros((0, 3, 8, 8)).view()).unwrap();
    assert_eq!(logits.dim(), (0, 10));
}

#[test]
fn input_shape_checked() {
    let model = build("resnet20", &ZooConfig::default()).unwrap();
    let tensors = random_tensors(&model, 1);
    let err = run(&model, &tensors, Array4::zeros((1, 1, 32, 32)).view()).unwrap_err();
    assert!(
        matches!(
            err,
            ReferenceError::InputShape {
                expected: [3, 32, 32],
                actual: [1, 1, 32, 32]
            }
        ),
        "{err}"
    );
}

#[test]
fn missing_and_misshapen_tensors_rejected() {
    let cfg = ZooConfig {
        input_size: 8,
        ..ZooConfig::default()
    };
    let model = build("resnet20", &cfg).unwrap();
    let input = Array4::zeros((1, 3, 8, 8));
    let base = random_tensors(&model, 1);

    let mut tensors = base.clone();
    tensors.remove("layer2.0.downsample.1.running_var");
    let err = run(&model, &tensors, input.view()).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::MissingTensor { node, tensor }
            if node == "layer2.0.downsample.1" && tensor == "layer2.0.downsample.1.running_var"),
        "{err}"
    );

    let mut tensors = base.clone();
    tensors.insert("fc.weight".into(), ArrayD::zeros(IxDyn(&[64, 10])));
    let err = run(&model, &tensors, input.view()).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::TensorShape { tensor, .. } if tensor == "fc.weight"),
        "{err}"
    );

    // `num_batches_tracked` is not read, so it may be absent.
    let mut tensors = base.clone();
    tensors.retain(|name, _| !name.ends_with("num_batches_tracked"));
    run(&model, &tensors, input.view()).unwrap();
}

#[test]
fn non_vector_output_rejected() {
    let model = Model {
        name: "relu".into(),
        input_shape: [1, 2, 2],
        nodes: vec![node("relu", &["input"], Op::Relu)],
        output: "relu".into(),
    };
    let err = run(&model, &Tensors::new(), Array4::zeros((1, 1, 2, 2)).view()).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::OutputRank { output, .. } if output == "relu"),
        "{err}"
    );
}

#[test]
fn invalid_model_rejected() {
    let mut model = build("resnet20", &ZooConfig::default()).unwrap();
    model.nodes[1].inputs = vec!["nowhere".into()];
    let err = run(
        &model,
        &Tensors::new(),
        Array4::zeros((1, 3, 32, 32)).view(),
    )
    .unwrap_err();
    assert!(matches!(err, ReferenceError::Graph(_)), "{err}");
}
