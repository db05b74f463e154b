//! Model description: JSON round trip, validation errors that name the
//! node, and shape inference with PyTorch's formulas.

use rpr_core::graph::{
    conv_output_len, pool_output_len, Conv2d, GraphError, Model, Node, Op, ParamKind, Pool2d,
};

fn node(name: &str, inputs: &[&str], op: Op) -> Node {
    Node {
        name: name.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        op,
    }
}

fn conv(
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Op {
    Op::Conv2d(Conv2d {
        in_channels,
        out_channels,
        kernel: [kernel; 2],
        stride: [stride; 2],
        padding: [padding; 2],
        dilation: [1, 1],
        groups: 1,
        bias: false,
    })
}

fn pool(kernel: usize, stride: usize, padding: usize, ceil_mode: bool) -> Pool2d {
    Pool2d {
        kernel: [kernel; 2],
        stride: [stride; 2],
        padding: [padding; 2],
        ceil_mode,
    }
}

fn model(input_shape: [usize; 3], nodes: Vec<Node>, output: &str) -> Model {
    Model {
        name: "test".into(),
        input_shape,
        nodes,
        output: output.into(),
    }
}

/// Uses every op once: two branches that are added and concatenated.
fn every_op_model() -> Model {
    let nodes = vec![
        node("up", &["input"], Op::Upsample { size: 8 }),
        node("conv", &["up"], conv(3, 4, 3, 1, 1)),
        node(
            "bn",
            &["conv"],
            Op::BatchNorm {
                channels: 4,
                eps: 1e-5,
            },
        ),
        node("relu", &["bn"], Op::Relu),
        node("max", &["relu"], Op::MaxPool(pool(3, 2, 1, false))),
        node("avg", &["relu"], Op::AvgPool(pool(2, 2, 0, false))),
        node("sum", &["max", "avg"], Op::Add),
        node("cat", &["sum", "max"], Op::Concat),
        node("gap", &["cat"], Op::GlobalAvgPool),
        node("flat", &["gap"], Op::Flatten),
        node(
            "fc",
            &["flat"],
            Op::Linear {
                in_features: 8,
                out_features: 5,
                bias: true,
            },
        ),
    ];
    model([3, 5, 5], nodes, "fc")
}

#[test]
fn json_round_trip() {
    let m = every_op_model();
    let text = m.to_json();
    assert_eq!(Model::from_json(&text).unwrap(), m);
}

#[test]
fn nan_eps_survives_as_invalid_node() {
    let mut m = every_op_model();
    m.nodes[2].op = Op::BatchNorm {
        channels: 4,
        eps: f32::NAN,
    };
    let err = Model::from_json(&m.to_json()).unwrap_err();
    assert!(
        matches!(&err, GraphError::InvalidNode { node, .. } if node == "bn"),
        "{err}"
    );
}

#[test]
fn op_tags_match_serde() {
    for n in every_op_model().nodes {
        let value = serde_json::to_value(&n.op).unwrap();
        assert_eq!(value["op"], n.op.tag(), "{}", n.name);
        assert!(Op::TAGS.contains(&n.op.tag()));
    }
}

#[test]
fn unknown_op_names_node() {
    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value["nodes"][3]["op"] = serde_json::json!({"op": "gelu"});
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::UnknownOp { node, op, .. } if node == "relu" && op == "gelu"),
        "{err}"
    );
    assert!(
        err.to_string().contains("conv2d"),
        "message lists known ops: {err}"
    );
}

#[test]
fn bad_node_field_names_node() {
    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value["nodes"][1]["op"]["kernal"] = serde_json::json!([3, 3]);
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::InvalidNode { node, index: 1, .. } if node == "conv"),
        "{err}"
    );
    assert!(err.to_string().contains("kernal"), "{err}");

    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value["nodes"][2]["op"]["channels"] = serde_json::json!(-4);
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::InvalidNode { node, .. } if node == "bn"),
        "{err}"
    );

    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value["nodes"][0]["colour"] = serde_json::json!("red");
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::InvalidNode { node, .. } if node == "up"),
        "{err}"
    );

    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value["nodes"][0]["op"] = serde_json::json!("relu");
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::InvalidNode { node, .. } if node == "up"),
        "{err}"
    );
}

#[test]
fn malformed_json_rejected() {
    assert!(matches!(
        Model::from_json("{\"name\": "),
        Err(GraphError::Json { .. })
    ));
    assert!(matches!(
        Model::from_json("[1, 2]"),
        Err(GraphError::Json { .. })
    ));
    assert!(matches!(Model::from_json(""), Err(GraphError::Json { .. })));

    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value.as_object_mut().unwrap().remove("output");
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::ModelField { field, .. } if field == "output"),
        "{err}"
    );

    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value["input_shape"] = serde_json::json!([3, 5]);
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::ModelField { field, .. } if field == "input_shape"),
        "{err}"
    );

    let mut value = serde_json::to_value(every_op_model()).unwrap();
    value["extra"] = serde_json::json!(1);
    let err = Model::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, GraphError::ModelField { field, .. } if field == "extra"),
        "{err}"
    );
}

#[test]
fn from_json_validates() {
    let mut m = every_op_model();
    m.nodes[6].inputs[1] = "nowhere".into();
    let err = Model::from_json(&m.to_json()).unwrap_err();
    assert!(
        matches!(&err, GraphError::UnknownInput { node, input } if node == "sum" && input == "nowhere")
    );
}

#[test]
fn duplicate_name_rejected() {
    let mut m = every_op_model();
    m.nodes[4].name = "relu".into();
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::DuplicateName { node } if node == "relu"),
        "{err}"
    );
}

#[test]
fn reserved_or_empty_name_rejected() {
    for name in ["input", ""] {
        let mut m = every_op_model();
        m.nodes[0].name = name.into();
        let err = m.validate().unwrap_err();
        assert!(
            matches!(&err, GraphError::ReservedName { node } if node == name),
            "{err}"
        );
    }
}

#[test]
fn forward_reference_and_cycle_rejected() {
    // `bn` reads `relu`, which comes later, and `relu` reads `bn`: a cycle.
    let mut m = every_op_model();
    m.nodes[2].inputs = vec!["relu".into()];
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::ForwardReference { node, input } if node == "bn" && input == "relu"),
        "{err}"
    );

    let mut m = every_op_model();
    m.nodes[3].inputs = vec!["relu".into()];
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::ForwardReference { node, input } if node == "relu" && input == "relu"),
        "{err}"
    );
}

#[test]
fn unknown_output_rejected() {
    let mut m = every_op_model();
    m.output = "logits".into();
    assert!(
        matches!(m.validate(), Err(GraphError::UnknownOutput { output }) if output == "logits")
    );
}

#[test]
fn input_count_checked() {
    let mut m = every_op_model();
    m.nodes[6].inputs.truncate(1);
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::InputCount { node, actual: 1, .. } if node == "sum"),
        "{err}"
    );

    let mut m = every_op_model();
    m.nodes[3].inputs.push("conv".into());
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::InputCount { node, actual: 2, .. } if node == "relu"),
        "{err}"
    );
}

#[test]
fn empty_model_and_zero_input_rejected() {
    let m = model([3, 5, 5], vec![], "fc");
    assert!(matches!(m.validate(), Err(GraphError::Empty { .. })));
    let mut m = every_op_model();
    m.input_shape = [3, 0, 5];
    assert!(matches!(
        m.validate(),
        Err(GraphError::InvalidInputShape { .. })
    ));
}

#[test]
fn channel_mismatch_names_node() {
    let mut m = every_op_model();
    m.nodes[1].op = conv(1, 4, 3, 1, 1);
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::ChannelMismatch { node, expected: 1, actual: 3, .. } if node == "conv"),
        "{err}"
    );

    let mut m = every_op_model();
    m.nodes[2].op = Op::BatchNorm {
        channels: 5,
        eps: 1e-5,
    };
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::ChannelMismatch { node, expected: 5, actual: 4, .. } if node == "bn"),
        "{err}"
    );
}

#[test]
fn add_shape_mismatch_names_node() {
    // `max` is 4x4x4 and `avg` would be 4x2x2 with a 4x4 window.
    let mut m = every_op_model();
    m.nodes[5].op = Op::AvgPool(pool(4, 4, 0, false));
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::AddShapeMismatch { node, other, .. } if node == "sum" && other == "avg"),
        "{err}"
    );
}

#[test]
fn concat_shape_mismatch_names_node() {
    let mut m = every_op_model();
    m.nodes[7].inputs = vec!["sum".into(), "relu".into()];
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::ConcatShapeMismatch { node, .. } if node == "cat"),
        "{err}"
    );
}

#[test]
fn linear_in_features_checked() {
    let mut m = every_op_model();
    m.nodes[10].op = Op::Linear {
        in_features: 9,
        out_features: 5,
        bias: true,
    };
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::LinearInFeatures { node, expected: 9, actual: 8, .. } if node == "fc"),
        "{err}"
    );

    // Linear straight after the pool, without Flatten.
    let mut m = every_op_model();
    m.nodes[10].inputs = vec!["gap".into()];
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::RankMismatch { node, .. } if node == "fc"),
        "{err}"
    );
}

#[test]
fn conv_on_features_rejected() {
    let mut m = every_op_model();
    m.nodes.push(node("late", &["flat"], conv(8, 8, 1, 1, 0)));
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::RankMismatch { node, .. } if node == "late"),
        "{err}"
    );
}

#[test]
fn kernel_larger_than_padded_input_rejected() {
    // 5x5 input upsampled to 8x8, padded by 1 to 10x10: an 11x11 kernel does not fit.
    let mut m = every_op_model();
    m.nodes[1].op = conv(3, 4, 11, 1, 1);
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::WindowTooLarge { node, window: [11, 11], input: [8, 8], .. } if node == "conv"),
        "{err}"
    );

    // Dilation 5 turns a 3x3 kernel into an 11x11 window.
    let mut m = every_op_model();
    let Op::Conv2d(mut c) = conv(3, 4, 3, 1, 1) else {
        unreachable!()
    };
    c.dilation = [5, 5];
    m.nodes[1].op = Op::Conv2d(c);
    let err = m.validate().unwrap_err();
    assert!(
        matches!(
            &err,
            GraphError::WindowTooLarge {
                window: [11, 11],
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn groups_must_divide_channels() {
    for groups in [0, 2] {
        let mut m = every_op_model();
        let Op::Conv2d(mut c) = conv(3, 4, 3, 1, 1) else {
            unreachable!()
        };
        c.groups = groups;
        m.nodes[1].op = Op::Conv2d(c);
        let err = m.validate().unwrap_err();
        assert!(
            matches!(&err, GraphError::Groups { node, .. } if node == "conv"),
            "groups {groups}: {err}"
        );
    }
}

#[test]
fn invalid_hyperparameters_rejected() {
    let cases: Vec<(usize, Op, &str)> = vec![
        (1, conv(3, 4, 3, 0, 1), "stride"),
        (1, conv(3, 4, 0, 1, 0), "kernel"),
        (
            2,
            Op::BatchNorm {
                channels: 4,
                eps: 0.0,
            },
            "eps",
        ),
        (
            2,
            Op::BatchNorm {
                channels: 4,
                eps: f32::NAN,
            },
            "eps",
        ),
        (4, Op::MaxPool(pool(3, 2, 2, true)), "padding"),
        (4, Op::MaxPool(pool(3, 0, 1, true)), "stride"),
        (0, Op::Upsample { size: 0 }, "size"),
    ];
    for (index, op, field) in cases {
        let mut m = every_op_model();
        let name = m.nodes[index].name.clone();
        m.nodes[index].op = op;
        let err = m.validate().unwrap_err();
        assert!(
            matches!(&err, GraphError::InvalidHyperparameter { node, field: f, .. } if *node == name && *f == field),
            "{field}: {err}"
        );
    }
}

#[test]
fn every_op_shapes() {
    let shapes = every_op_model().infer_shapes().unwrap();
    let expected: &[(&str, &[usize])] = &[
        ("input", &[3, 5, 5]),
        ("up", &[3, 8, 8]),
        ("conv", &[4, 8, 8]),
        ("bn", &[4, 8, 8]),
        ("relu", &[4, 8, 8]),
        // floor((8 + 2 - 3) / 2) + 1 = 4.
        ("max", &[4, 4, 4]),
        ("avg", &[4, 4, 4]),
        ("sum", &[4, 4, 4]),
        ("cat", &[8, 4, 4]),
        ("gap", &[8, 1, 1]),
        ("flat", &[8]),
        ("fc", &[5]),
    ];
    for (name, shape) in expected {
        assert_eq!(shapes[*name], *shape, "{name}");
    }
    assert_eq!(shapes.len(), expected.len());
}

#[test]
fn ceil_mode_pool_shape() {
    let mut m = every_op_model();
    m.nodes[4].op = Op::MaxPool(pool(3, 2, 1, true));
    m.nodes[5].op = Op::AvgPool(pool(3, 2, 1, true));
    let shapes = m.infer_shapes().unwrap();
    // ceil((8 + 2 - 3) / 2) + 1 = 5; the last window starts at 4 * 2 - 1 = 7,
    // inside the input, so it is kept.
    assert_eq!(shapes["max"], [4, 5, 5]);
    assert_eq!(shapes["cat"], [8, 5, 5]);
}

#[test]
fn conv_output_len_cases() {
    assert_eq!(conv_output_len(32, 3, 1, 1, 1), Some(32));
    assert_eq!(conv_output_len(7, 3, 2, 1, 1), Some(4));
    assert_eq!(conv_output_len(224, 7, 2, 3, 1), Some(112));
    // Dilation 2 gives a 5-wide window: 10 - 5 + 1.
    assert_eq!(conv_output_len(10, 3, 1, 0, 2), Some(6));
    assert_eq!(conv_output_len(5, 5, 1, 0, 1), Some(1));
    assert_eq!(conv_output_len(4, 5, 1, 0, 1), None);
    assert_eq!(conv_output_len(2, 5, 1, 1, 1), None);
    assert_eq!(conv_output_len(8, 3, 0, 1, 1), None);
}

#[test]
fn pool_output_len_cases() {
    assert_eq!(pool_output_len(5, 2, 2, 0, false), Some(2));
    assert_eq!(pool_output_len(5, 2, 2, 0, true), Some(3));
    assert_eq!(pool_output_len(112, 3, 2, 0, true), Some(56));
    assert_eq!(pool_output_len(112, 3, 2, 1, false), Some(56));
    assert_eq!(pool_output_len(14, 3, 2, 0, true), Some(7));
    assert_eq!(pool_output_len(14, 3, 2, 0, false), Some(6));
    // Ceil mode rounds up to 2 windows, but the second would start at
    // 1 * 3 - 1 = 2, in the right padding of a length-2 input, so it is dropped.
    assert_eq!(pool_output_len(2, 3, 3, 1, false), Some(1));
    assert_eq!(pool_output_len(2, 3, 3, 1, true), Some(1));
    assert_eq!(pool_output_len(4, 3, 3, 1, true), Some(2));
    // A window longer than the input is allowed in ceil mode only, as in PyTorch.
    assert_eq!(pool_output_len(1, 2, 2, 0, true), Some(1));
    assert_eq!(pool_output_len(1, 2, 2, 0, false), None);
    assert_eq!(pool_output_len(1, 3, 2, 0, true), None);
    assert_eq!(pool_output_len(4, 2, 0, 0, false), None);
}

#[test]
fn parameters_list() {
    let nodes = vec![
        node("conv", &["input"], conv(4, 6, 3, 1, 1)),
        node(
            "dw",
            &["conv"],
            Op::Conv2d(Conv2d {
                in_channels: 6,
                out_channels: 6,
                kernel: [3, 3],
                stride: [1, 1],
                padding: [1, 1],
                dilation: [1, 1],
                groups: 3,
                bias: true,
            }),
        ),
        node(
            "bn",
            &["dw"],
            Op::BatchNorm {
                channels: 6,
                eps: 1e-5,
            },
        ),
        node("gap", &["bn"], Op::GlobalAvgPool),
        node("flat", &["gap"], Op::Flatten),
        node(
            "fc",
            &["flat"],
            Op::Linear {
                in_features: 6,
                out_features: 2,
                bias: false,
            },
        ),
    ];
    let m = model([4, 6, 6], nodes, "fc");
    m.validate().unwrap();
    let got: Vec<(String, Vec<usize>, ParamKind)> = m
        .parameters()
        .into_iter()
        .map(|p| (p.name, p.shape, p.kind))
        .collect();
    let expected: Vec<(String, Vec<usize>, ParamKind)> = vec![
        (
            "conv.weight".into(),
            vec![6, 4, 3, 3],
            ParamKind::ConvWeight,
        ),
        ("dw.weight".into(), vec![6, 2, 3, 3], ParamKind::ConvWeight),
        ("dw.bias".into(), vec![6], ParamKind::ConvBias),
        ("bn.weight".into(), vec![6], ParamKind::BnWeight),
        ("bn.bias".into(), vec![6], ParamKind::BnBias),
        ("bn.running_mean".into(), vec![6], ParamKind::BnRunningMean),
        ("bn.running_var".into(), vec![6], ParamKind::BnRunningVar),
        (
            "bn.num_batches_tracked".into(),
            vec![],
            ParamKind::BnNumBatchesTracked,
        ),
        ("fc.weight".into(), vec![2, 6], ParamKind::LinearWeight),
    ];
    assert_eq!(got, expected);
    assert!(m
        .parameters()
        .iter()
        .all(|p| p.name.starts_with(&format!("{}.", p.node))));
}

#[test]
fn node_and_consumers_lookup() {
    let m = every_op_model();
    assert_eq!(
        m.node("bn").unwrap().op,
        Op::BatchNorm {
            channels: 4,
            eps: 1e-5
        }
    );
    assert!(m.node("missing").is_none());
    let readers: Vec<&str> = m
        .consumers("relu")
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(readers, ["max", "avg"]);
    let readers: Vec<&str> = m.consumers("max").iter().map(|n| n.name.as_str()).collect();
    assert_eq!(readers, ["sum", "cat"]);
    assert!(m.consumers("fc").is_empty());
}

#[test]
fn huge_hyperparameters_rejected_without_panic() {
    let huge = usize::MAX / 2;
    let cases: Vec<(usize, Op)> = vec![
        (1, conv(3, 4, 3, 1, huge)),
        (1, conv(3, 4, huge, 1, 1)),
        (1, conv(3, huge, 3, 1, 1)),
        (0, Op::Upsample { size: huge }),
        (0, Op::Upsample { size: 1 << 40 }),
        (4, Op::MaxPool(pool(huge, huge, 1, true))),
        (
            10,
            Op::Linear {
                in_features: huge,
                out_features: huge,
                bias: true,
            },
        ),
    ];
    for (index, op) in cases {
        let mut m = every_op_model();
        let name = m.nodes[index].name.clone();
        m.nodes[index].op = op.clone();
        let err = m.validate().unwrap_err();
        let named =
            err.to_string().contains(&format!("`{name}`")) || err.to_string().contains("`flat`");
        assert!(named, "{op:?}: {err}");
    }
}

#[test]
fn size_overflow_names_node() {
    let mut m = every_op_model();
    m.nodes[0].op = Op::Upsample { size: 1 << 40 };
    let err = m.validate().unwrap_err();
    assert!(
        matches!(&err, GraphError::SizeOverflow { node } if node == "up"),
        "{err}"
    );
}
