//! Zoo architectures against torchvision's `state_dict` keys, shapes and
//! parameter counts, and shape inference through each network.

use rpr_core::graph::{Model, Op};
use rpr_core::zoo::{build, ZooConfig, ZooError, ARCHITECTURES};

fn imagenet() -> ZooConfig {
    ZooConfig {
        input_channels: 3,
        input_size: 224,
        num_classes: 1000,
        upsample_to: None,
    }
}

fn state_dict(model: &Model) -> Vec<(String, Vec<usize>)> {
    model
        .parameters()
        .into_iter()
        .map(|p| (p.name, p.shape))
        .collect()
}

fn expected(list: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
    list.iter()
        .map(|(k, s)| (k.to_string(), s.to_vec()))
        .collect()
}

/// Counts trainable parameters, as `sum(p.numel() for p in model.parameters())`.
fn trainable_count(model: &Model) -> usize {
    model
        .parameters()
        .iter()
        .filter(|p| !p.kind.is_buffer())
        .map(|p| p.shape.iter().product::<usize>())
        .sum()
}

fn assert_same_state_dict(arch: &str, want: &[(&str, &[usize])]) {
    let model = build(arch, &imagenet()).unwrap();
    let got = state_dict(&model);
    let want = expected(want);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{arch}: entry {i} differs");
    }
    assert_eq!(got.len(), want.len(), "{arch}: entry count");
}

#[test]
fn resnet18_keys_match_torchvision() {
    assert_same_state_dict("resnet18", RESNET18_STATE_DICT);
}

#[test]
fn resnet50_keys_match_torchvision() {
    assert_same_state_dict("resnet50", RESNET50_STATE_DICT);
}

#[test]
fn googlenet_keys_match_torchvision() {
    assert_same_state_dict("googlenet", GOOGLENET_STATE_DICT);
}

#[test]
fn imagenet_parameter_counts() {
    // torchvision 0.28 `sum(p.numel() for p in m.parameters())`.
    for (arch, count) in [
        ("resnet18", 11_689_512),
        ("resnet50", 25_557_032),
        ("googlenet", 6_624_904),
    ] {
        let model = build(arch, &imagenet()).unwrap();
        assert_eq!(trainable_count(&model), count, "{arch}");
    }
}

#[test]
fn cifar_resnet_parameter_counts() {
    // Hand count for 10 classes. resnet20: stem 432 + 32, layer1 3 x 4672,
    // layer2 14528 + 2 x 18560, layer3 57728 + 2 x 73984, fc 650. The
    // well-known counts with parameter-free shortcuts (269,722, 464,154 and
    // 853,018) are 2,752 lower: the two 1x1 projections and their BNs.
    for (arch, count) in [
        ("resnet20", 272_474),
        ("resnet32", 466_906),
        ("resnet56", 855_770),
    ] {
        let model = build(arch, &ZooConfig::default()).unwrap();
        assert_eq!(trainable_count(&model), count, "{arch}");
    }
}

#[test]
fn cifar_resnet_downsample_only_at_stage_starts() {
    let model = build("resnet20", &ZooConfig::default()).unwrap();
    let downsample: Vec<&str> = model
        .nodes
        .iter()
        .filter(|n| n.name.contains("downsample"))
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(
        downsample,
        [
            "layer2.0.downsample.0",
            "layer2.0.downsample.1",
            "layer3.0.downsample.0",
            "layer3.0.downsample.1"
        ]
    );
    let Op::Conv2d(conv) = model.node("layer2.0.downsample.0").unwrap().op else {
        panic!("downsample.0 must be a conv");
    };
    assert_eq!(
        (
            conv.in_channels,
            conv.out_channels,
            conv.kernel,
            conv.stride
        ),
        (16, 32, [1, 1], [2, 2])
    );
}

#[test]
fn cifar_resnet_block_counts() {
    for (arch, blocks) in [("resnet20", 3), ("resnet32", 5), ("resnet56", 9)] {
        let model = build(arch, &ZooConfig::default()).unwrap();
        let convs = model
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Conv2d(_)))
            .count();
        // Stem + two per block + two projections.
        assert_eq!(convs, 1 + 2 * 3 * blocks + 2, "{arch}");
        let last = format!("layer3.{}.relu2", blocks - 1);
        assert_eq!(model.node("avgpool").unwrap().inputs, vec![last], "{arch}");
    }
}

#[test]
fn cifar_resnet_shapes() {
    let model = build("resnet20", &ZooConfig::default()).unwrap();
    let shapes = model.infer_shapes().unwrap();
    assert_eq!(shapes["relu"], [16, 32, 32]);
    assert_eq!(shapes["layer1.2.relu2"], [16, 32, 32]);
    assert_eq!(shapes["layer2.0.relu2"], [32, 16, 16]);
    assert_eq!(shapes["layer3.2.relu2"], [64, 8, 8]);
    assert_eq!(shapes["avgpool"], [64, 1, 1]);
    assert_eq!(shapes["fc"], [10]);
    assert_eq!(model.output, "fc");
}

#[test]
fn resnet_imagenet_shapes() {
    let model = build("resnet50", &imagenet()).unwrap();
    let shapes = model.infer_shapes().unwrap();
    assert_eq!(shapes["relu"], [64, 112, 112]);
    assert_eq!(shapes["maxpool"], [64, 56, 56]);
    assert_eq!(shapes["layer1.2.relu3"], [256, 56, 56]);
    assert_eq!(shapes["layer2.0.conv1"], [128, 56, 56]);
    assert_eq!(shapes["layer2.0.conv2"], [128, 28, 28]);
    assert_eq!(shapes["layer4.2.relu3"], [2048, 7, 7]);
    assert_eq!(shapes["fc"], [1000]);
}

#[test]
fn googlenet_imagenet_shapes() {
    let model = build("googlenet", &imagenet()).unwrap();
    let shapes = model.infer_shapes().unwrap();
    // Sizes from torchvision's GoogLeNet forward pass comments.
    assert_eq!(shapes["conv1.relu"], [64, 112, 112]);
    assert_eq!(shapes["maxpool1"], [64, 56, 56]);
    assert_eq!(shapes["conv3.relu"], [192, 56, 56]);
    assert_eq!(shapes["maxpool2"], [192, 28, 28]);
    assert_eq!(shapes["inception3a"], [256, 28, 28]);
    assert_eq!(shapes["inception3b"], [480, 28, 28]);
    assert_eq!(shapes["maxpool3"], [480, 14, 14]);
    assert_eq!(shapes["inception4e"], [832, 14, 14]);
    assert_eq!(shapes["maxpool4"], [832, 7, 7]);
    assert_eq!(shapes["inception5b"], [1024, 7, 7]);
    assert_eq!(shapes["fc"], [1000]);
}

#[test]
fn googlenet_uses_bn_eps_1e3_and_ceil_pools() {
    let model = build("googlenet", &ZooConfig::default()).unwrap();
    for node in &model.nodes {
        match &node.op {
            Op::BatchNorm { eps, .. } => assert_eq!(*eps, 1e-3, "{}", node.name),
            Op::MaxPool(pool) => assert!(pool.ceil_mode, "{}", node.name),
            Op::Conv2d(conv) => assert!(!conv.bias, "{}", node.name),
            _ => {}
        }
    }
    let branch3 = model.node("inception3a.branch3.1.conv").unwrap();
    let Op::Conv2d(conv) = branch3.op else {
        panic!("branch3.1.conv must be a conv")
    };
    assert_eq!(conv.kernel, [3, 3]);
    assert_eq!(model.node("inception3a").unwrap().op, Op::Concat);
}

#[test]
fn resnets_use_bn_eps_1e5() {
    for arch in ["resnet20", "resnet18", "resnet50"] {
        let model = build(arch, &ZooConfig::default()).unwrap();
        for node in &model.nodes {
            if let Op::BatchNorm { eps, .. } = node.op {
                assert_eq!(eps, 1e-5, "{arch} {}", node.name);
            }
        }
    }
}

#[test]
fn grayscale_with_upsample() {
    let cfg = ZooConfig {
        input_channels: 1,
        input_size: 28,
        num_classes: 10,
        upsample_to: Some(64),
    };
    for arch in ARCHITECTURES {
        let model = build(arch, &cfg).unwrap();
        assert_eq!(model.input_shape, [1, 28, 28], "{arch}");
        let first = &model.nodes[0];
        assert_eq!(first.op, Op::Upsample { size: 64 }, "{arch}");
        assert_eq!(first.inputs, ["input"], "{arch}");
        let shapes = model.infer_shapes().unwrap();
        assert_eq!(shapes["upsample"], [1, 64, 64], "{arch}");
        assert_eq!(shapes["fc"], [10], "{arch}");
        let conv1 = model
            .parameters()
            .into_iter()
            .find(|p| p.name.ends_with("conv1.weight") || p.name == "conv1.conv.weight");
        assert_eq!(conv1.unwrap().shape[1], 1, "{arch}");
    }
}

#[test]
fn small_inputs_without_upsample() {
    let cfg = ZooConfig {
        input_channels: 1,
        input_size: 28,
        num_classes: 10,
        upsample_to: None,
    };
    for arch in ARCHITECTURES {
        let model = build(arch, &cfg).unwrap();
        assert_eq!(model.infer_shapes().unwrap()["fc"], [10], "{arch}");
    }
}

#[test]
fn unknown_architecture_rejected() {
    let err = build("vgg16", &ZooConfig::default()).unwrap_err();
    assert!(matches!(err, ZooError::UnknownArchitecture { ref name } if name == "vgg16"));
    assert!(err.to_string().contains("resnet20"), "{err}");
}

#[test]
fn input_too_small_rejected() {
    let cfg = ZooConfig {
        input_size: 1,
        ..ZooConfig::default()
    };
    let err = build("googlenet", &cfg).unwrap_err();
    assert!(matches!(err, ZooError::InvalidConfig { .. }), "{err}");
    assert!(err.to_string().contains("maxpool1"), "{err}");

    let cfg = ZooConfig {
        input_channels: 0,
        ..ZooConfig::default()
    };
    assert!(matches!(
        build("resnet20", &cfg),
        Err(ZooError::InvalidConfig { .. })
    ));

    let cfg = ZooConfig {
        num_classes: 0,
        ..ZooConfig::default()
    };
    assert!(matches!(
        build("resnet18", &cfg),
        Err(ZooError::InvalidConfig { .. })
    ));
}

#[test]
fn zoo_models_round_trip_json() {
    for arch in ARCHITECTURES {
        let model = build(arch, &ZooConfig::default()).unwrap();
        let back = Model::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model, "{arch}");
    }
}

/// `torchvision.models.resnet18().state_dict()`: keys and shapes in order, for 1000 classes.
const RESNET18_STATE_DICT: &[(&str, &[usize])] = &[
    ("conv1.weight", &[64, 3, 7, 7]),
    ("bn1.weight", &[64]),
    ("bn1.bias", &[64]),
    ("bn1.running_mean", &[64]),
    ("bn1.running_var", &[64]),
    ("bn1.num_batches_tracked", &[]),
    ("layer1.0.conv1.weight", &[64, 64, 3, 3]),
    ("layer1.0.bn1.weight", &[64]),
    ("layer1.0.bn1.bias", &[64]),
    ("layer1.0.bn1.running_mean", &[64]),
    ("layer1.0.bn1.running_var", &[64]),
    ("layer1.0.bn1.num_batches_tracked", &[]),
    ("layer1.0.conv2.weight", &[64, 64, 3, 3]),
    ("layer1.0.bn2.weight", &[64]),
    ("layer1.0.bn2.bias", &[64]),
    ("layer1.0.bn2.running_mean", &[64]),
    ("layer1.0.bn2.running_var", &[64]),
    ("layer1.0.bn2.num_batches_tracked", &[]),
    ("layer1.1.conv1.weight", &[64, 64, 3, 3]),
    ("layer1.1.bn1.weight", &[64]),
    ("layer1.1.bn1.bias", &[64]),
    ("layer1.1.bn1.running_mean", &[64]),
    ("layer1.1.bn1.running_var", &[64]),
    ("layer1.1.bn1.num_batches_tracked", &[]),
    ("layer1.1.conv2.weight", &[64, 64, 3, 3]),
    ("layer1.1.bn2.weight", &[64]),
    ("layer1.1.bn2.bias", &[64]),
    ("layer1.1.bn2.running_mean", &[64]),
    ("layer1.1.bn2.running_var", &[64]),
    ("layer1.1.bn2.num_batches_tracked", &[]),
    ("layer2.0.conv1.weight", &[128, 64, 3, 3]),
    ("layer2.0.bn1.weight", &[128]),
    ("layer2.0.bn1.bias", &[128]),
    ("layer2.0.bn1.running_mean", &[128]),
    ("layer2.0.bn1.running_var", &[128]),
    ("layer2.0.bn1.num_batches_tracked", &[]),
    ("layer2.0.conv2.weight", &[128, 128, 3, 3]),
    ("layer2.0.bn2.weight", &[128]),
    ("layer2.0.bn2.bias", &[128]),
    ("layer2.0.bn2.running_mean", &[128]),
    ("layer2.0.bn2.running_var", &[128]),
    ("layer2.0.bn2.num_batches_tracked", &[]),
    ("layer2.0.downsample.0.weight", &[128, 64, 1, 1]),
    ("layer2.0.downsample.1.weight", &[128]),
    ("layer2.0.downsample.1.bias", &[128]),
    ("layer2.0.downsample.1.running_mean", &[128]),
    ("layer2.0.downsample.1.running_var", &[128]),
    ("layer2.0.downsample.1.num_batches_tracked", &[]),
    ("layer2.1.conv1.weight", &[128, 128, 3, 3]),
    ("layer2.1.bn1.weight", &[128]),
    ("layer2.1.bn1.bias", &[128]),
    ("layer2.1.bn1.running_mean", &[128]),
    ("layer2.1.bn1.running_var", &[128]),
    ("layer2.1.bn1.num_batches_tracked", &[]),
    ("layer2.1.conv2.weight", &[128, 128, 3, 3]),
    ("layer2.1.bn2.weight", &[128]),
    ("layer2.1.bn2.bias", &[128]),
    ("layer2.1.bn2.running_mean", &[128]),
    ("layer2.1.bn2.running_var", &[128]),
    ("layer2.1.bn2.num_batches_tracked", &[]),
    ("layer3.0.conv1.weight", &[256, 128, 3, 3]),
    ("layer3.0.bn1.weight", &[256]),
    ("layer3.0.bn1.bias", &[256]),
    ("layer3.0.bn1.running_mean", &[256]),
    ("layer3.0.bn1.running_var", &[256]),
    ("layer3.0.bn1.num_batches_tracked", &[]),
    ("layer3.0.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.0.bn2.weight", &[256]),
    ("layer3.0.bn2.bias", &[256]),
    ("layer3.0.bn2.running_mean", &[256]),
    ("layer3.0.bn2.running_var", &[256]),
    ("layer3.0.bn2.num_batches_tracked", &[]),
    ("layer3.0.downsample.0.weight", &[256, 128, 1, 1]),
    ("layer3.0.downsample.1.weight", &[256]),
    ("layer3.0.downsample.1.bias", &[256]),
    ("layer3.0.downsample.1.running_mean", &[256]),
    ("layer3.0.downsample.1.running_var", &[256]),
    ("layer3.0.downsample.1.num_batches_tracked", &[]),
    ("layer3.1.conv1.weight", &[256, 256, 3, 3]),
    ("layer3.1.bn1.weight", &[256]),
    ("layer3.1.bn1.bias", &[256]),
    ("layer3.1.bn1.running_mean", &[256]),
    ("layer3.1.bn1.running_var", &[256]),
    ("layer3.1.bn1.num_batches_tracked", &[]),
    ("layer3.1.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.1.bn2.weight", &[256]),
    ("layer3.1.bn2.bias", &[256]),
    ("layer3.1.bn2.running_mean", &[256]),
    ("layer3.1.bn2.running_var", &[256]),
    ("layer3.1.bn2.num_batches_tracked", &[]),
    ("layer4.0.conv1.weight", &[512, 256, 3, 3]),
    ("layer4.0.bn1.weight", &[512]),
    ("layer4.0.bn1.bias", &[512]),
    ("layer4.0.bn1.running_mean", &[512]),
    ("layer4.0.bn1.running_var", &[512]),
    ("layer4.0.bn1.num_batches_tracked", &[]),
    ("layer4.0.conv2.weight", &[512, 512, 3, 3]),
    ("layer4.0.bn2.weight", &[512]),
    ("layer4.0.bn2.bias", &[512]),
    ("layer4.0.bn2.running_mean", &[512]),
    ("layer4.0.bn2.running_var", &[512]),
    ("layer4.0.bn2.num_batches_tracked", &[]),
    ("layer4.0.downsample.0.weight", &[512, 256, 1, 1]),
    ("layer4.0.downsample.1.weight", &[512]),
    ("layer4.0.downsample.1.bias", &[512]),
    ("layer4.0.downsample.1.running_mean", &[512]),
    ("layer4.0.downsample.1.running_var", &[512]),
    ("layer4.0.downsample.1.num_batches_tracked", &[]),
    ("layer4.1.conv1.weight", &[512, 512, 3, 3]),
    ("layer4.1.bn1.weight", &[512]),
    ("layer4.1.bn1.bias", &[512]),
    ("layer4.1.bn1.running_mean", &[512]),
    ("layer4.1.bn1.running_var", &[512]),
    ("layer4.1.bn1.num_batches_tracked", &[]),
    ("layer4.1.conv2.weight", &[512, 512, 3, 3]),
    ("layer4.1.bn2.weight", &[512]),
    ("layer4.1.bn2.bias", &[512]),
    ("layer4.1.bn2.running_mean", &[512]),
    ("layer4.1.bn2.running_var", &[512]),
    ("layer4.1.bn2.num_batches_tracked", &[]),
    ("fc.weight", &[1000, 512]),
    ("fc.bias", &[1000]),
];

/// `torchvision.models.resnet50().state_dict()`: keys and shapes in order, for 1000 classes.
const RESNET50_STATE_DICT: &[(&str, &[usize])] = &[
    ("conv1.weight", &[64, 3, 7, 7]),
    ("bn1.weight", &[64]),
    ("bn1.bias", &[64]),
    ("bn1.running_mean", &[64]),
    ("bn1.running_var", &[64]),
    ("bn1.num_batches_tracked", &[]),
    ("layer1.0.conv1.weight", &[64, 64, 1, 1]),
    ("layer1.0.bn1.weight", &[64]),
    ("layer1.0.bn1.bias", &[64]),
    ("layer1.0.bn1.running_mean", &[64]),
    ("layer1.0.bn1.running_var", &[64]),
    ("layer1.0.bn1.num_batches_tracked", &[]),
    ("layer1.0.conv2.weight", &[64, 64, 3, 3]),
    ("layer1.0.bn2.weight", &[64]),
    ("layer1.0.bn2.bias", &[64]),
    ("layer1.0.bn2.running_mean", &[64]),
    ("layer1.0.bn2.running_var", &[64]),
    ("layer1.0.bn2.num_batches_tracked", &[]),
    ("layer1.0.conv3.weight", &[256, 64, 1, 1]),
    ("layer1.0.bn3.weight", &[256]),
    ("layer1.0.bn3.bias", &[256]),
    ("layer1.0.bn3.running_mean", &[256]),
    ("layer1.0.bn3.running_var", &[256]),
    ("layer1.0.bn3.num_batches_tracked", &[]),
    ("layer1.0.downsample.0.weight", &[256, 64, 1, 1]),
    ("layer1.0.downsample.1.weight", &[256]),
    ("layer1.0.downsample.1.bias", &[256]),
    ("layer1.0.downsample.1.running_mean", &[256]),
    ("layer1.0.downsample.1.running_var", &[256]),
    ("layer1.0.downsample.1.num_batches_tracked", &[]),
    ("layer1.1.conv1.weight", &[64, 256, 1, 1]),
    ("layer1.1.bn1.weight", &[64]),
    ("layer1.1.bn1.bias", &[64]),
    ("layer1.1.bn1.running_mean", &[64]),
    ("layer1.1.bn1.running_var", &[64]),
    ("layer1.1.bn1.num_batches_tracked", &[]),
    ("layer1.1.conv2.weight", &[64, 64, 3, 3]),
    ("layer1.1.bn2.weight", &[64]),
    ("layer1.1.bn2.bias", &[64]),
    ("layer1.1.bn2.running_mean", &[64]),
    ("layer1.1.bn2.running_var", &[64]),
    ("layer1.1.bn2.num_batches_tracked", &[]),
    ("layer1.1.conv3.weight", &[256, 64, 1, 1]),
    ("layer1.1.bn3.weight", &[256]),
    ("layer1.1.bn3.bias", &[256]),
    ("layer1.1.bn3.running_mean", &[256]),
    ("layer1.1.bn3.running_var", &[256]),
    ("layer1.1.bn3.num_batches_tracked", &[]),
    ("layer1.2.conv1.weight", &[64, 256, 1, 1]),
    ("layer1.2.bn1.weight", &[64]),
    ("layer1.2.bn1.bias", &[64]),
    ("layer1.2.bn1.running_mean", &[64]),
    ("layer1.2.bn1.running_var", &[64]),
    ("layer1.2.bn1.num_batches_tracked", &[]),
    ("layer1.2.conv2.weight", &[64, 64, 3, 3]),
    ("layer1.2.bn2.weight", &[64]),
    ("layer1.2.bn2.bias", &[64]),
    ("layer1.2.bn2.running_mean", &[64]),
    ("layer1.2.bn2.running_var", &[64]),
    ("layer1.2.bn2.num_batches_tracked", &[]),
    ("layer1.2.conv3.weight", &[256, 64, 1, 1]),
    ("layer1.2.bn3.weight", &[256]),
    ("layer1.2.bn3.bias", &[256]),
    ("layer1.2.bn3.running_mean", &[256]),
    ("layer1.2.bn3.running_var", &[256]),
    ("layer1.2.bn3.num_batches_tracked", &[]),
    ("layer2.0.conv1.weight", &[128, 256, 1, 1]),
    ("layer2.0.bn1.weight", &[128]),
    ("layer2.0.bn1.bias", &[128]),
    ("layer2.0.bn1.running_mean", &[128]),
    ("layer2.0.bn1.running_var", &[128]),
    ("layer2.0.bn1.num_batches_tracked", &[]),
    ("layer2.0.conv2.weight", &[128, 128, 3, 3]),
    ("layer2.0.bn2.weight", &[128]),
    ("layer2.0.bn2.bias", &[128]),
    ("layer2.0.bn2.running_mean", &[128]),
    ("layer2.0.bn2.running_var", &[128]),
    ("layer2.0.bn2.num_batches_tracked", &[]),
    ("layer2.0.conv3.weight", &[512, 128, 1, 1]),
    ("layer2.0.bn3.weight", &[512]),
    ("layer2.0.bn3.bias", &[512]),
    ("layer2.0.bn3.running_mean", &[512]),
    ("layer2.0.bn3.running_var", &[512]),
    ("layer2.0.bn3.num_batches_tracked", &[]),
    ("layer2.0.downsample.0.weight", &[512, 256, 1, 1]),
    ("layer2.0.downsample.1.weight", &[512]),
    ("layer2.0.downsample.1.bias", &[512]),
    ("layer2.0.downsample.1.running_mean", &[512]),
    ("layer2.0.downsample.1.running_var", &[512]),
    ("layer2.0.downsample.1.num_batches_tracked", &[]),
    ("layer2.1.conv1.weight", &[128, 512, 1, 1]),
    ("layer2.1.bn1.weight", &[128]),
    ("layer2.1.bn1.bias", &[128]),
    ("layer2.1.bn1.running_mean", &[128]),
    ("layer2.1.bn1.running_var", &[128]),
    ("layer2.1.bn1.num_batches_tracked", &[]),
    ("layer2.1.conv2.weight", &[128, 128, 3, 3]),
    ("layer2.1.bn2.weight", &[128]),
    ("layer2.1.bn2.bias", &[128]),
    ("layer2.1.bn2.running_mean", &[128]),
    ("layer2.1.bn2.running_var", &[128]),
    ("layer2.1.bn2.num_batches_tracked", &[]),
    ("layer2.1.conv3.weight", &[512, 128, 1, 1]),
    ("layer2.1.bn3.weight", &[512]),
    ("layer2.1.bn3.bias", &[512]),
    ("layer2.1.bn3.running_mean", &[512]),
    ("layer2.1.bn3.running_var", &[512]),
    ("layer2.1.bn3.num_batches_tracked", &[]),
    ("layer2.2.conv1.weight", &[128, 512, 1, 1]),
    ("layer2.2.bn1.weight", &[128]),
    ("layer2.2.bn1.bias", &[128]),
    ("layer2.2.bn1.running_mean", &[128]),
    ("layer2.2.bn1.running_var", &[128]),
    ("layer2.2.bn1.num_batches_tracked", &[]),
    ("layer2.2.conv2.weight", &[128, 128, 3, 3]),
    ("layer2.2.bn2.weight", &[128]),
    ("layer2.2.bn2.bias", &[128]),
    ("layer2.2.bn2.running_mean", &[128]),
    ("layer2.2.bn2.running_var", &[128]),
    ("layer2.2.bn2.num_batches_tracked", &[]),
    ("layer2.2.conv3.weight", &[512, 128, 1, 1]),
    ("layer2.2.bn3.weight", &[512]),
    ("layer2.2.bn3.bias", &[512]),
    ("layer2.2.bn3.running_mean", &[512]),
    ("layer2.2.bn3.running_var", &[512]),
    ("layer2.2.bn3.num_batches_tracked", &[]),
    ("layer2.3.conv1.weight", &[128, 512, 1, 1]),
    ("layer2.3.bn1.weight", &[128]),
    ("layer2.3.bn1.bias", &[128]),
    ("layer2.3.bn1.running_mean", &[128]),
    ("layer2.3.bn1.running_var", &[128]),
    ("layer2.3.bn1.num_batches_tracked", &[]),
    ("layer2.3.conv2.weight", &[128, 128, 3, 3]),
    ("layer2.3.bn2.weight", &[128]),
    ("layer2.3.bn2.bias", &[128]),
    ("layer2.3.bn2.running_mean", &[128]),
    ("layer2.3.bn2.running_var", &[128]),
    ("layer2.3.bn2.num_batches_tracked", &[]),
    ("layer2.3.conv3.weight", &[512, 128, 1, 1]),
    ("layer2.3.bn3.weight", &[512]),
    ("layer2.3.bn3.bias", &[512]),
    ("layer2.3.bn3.running_mean", &[512]),
    ("layer2.3.bn3.running_var", &[512]),
    ("layer2.3.bn3.num_batches_tracked", &[]),
    ("layer3.0.conv1.weight", &[256, 512, 1, 1]),
    ("layer3.0.bn1.weight", &[256]),
    ("layer3.0.bn1.bias", &[256]),
    ("layer3.0.bn1.running_mean", &[256]),
    ("layer3.0.bn1.running_var", &[256]),
    ("layer3.0.bn1.num_batches_tracked", &[]),
    ("layer3.0.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.0.bn2.weight", &[256]),
    ("layer3.0.bn2.bias", &[256]),
    ("layer3.0.bn2.running_mean", &[256]),
    ("layer3.0.bn2.running_var", &[256]),
    ("layer3.0.bn2.num_batches_tracked", &[]),
    ("layer3.0.conv3.weight", &[1024, 256, 1, 1]),
    ("layer3.0.bn3.weight", &[1024]),
    ("layer3.0.bn3.bias", &[1024]),
    ("layer3.0.bn3.running_mean", &[1024]),
    ("layer3.0.bn3.running_var", &[1024]),
    ("layer3.0.bn3.num_batches_tracked", &[]),
    ("layer3.0.downsample.0.weight", &[1024, 512, 1, 1]),
    ("layer3.0.downsample.1.weight", &[1024]),
    ("layer3.0.downsample.1.bias", &[1024]),
    ("layer3.0.downsample.1.running_mean", &[1024]),
    ("layer3.0.downsample.1.running_var", &[1024]),
    ("layer3.0.downsample.1.num_batches_tracked", &[]),
    ("layer3.1.conv1.weight", &[256, 1024, 1, 1]),
    ("layer3.1.bn1.weight", &[256]),
    ("layer3.1.bn1.bias", &[256]),
    ("layer3.1.bn1.running_mean", &[256]),
    ("layer3.1.bn1.running_var", &[256]),
    ("layer3.1.bn1.num_batches_tracked", &[]),
    ("layer3.1.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.1.bn2.weight", &[256]),
    ("layer3.1.bn2.bias", &[256]),
    ("layer3.1.bn2.running_mean", &[256]),
    ("layer3.1.bn2.running_var", &[256]),
    ("layer3.1.bn2.num_batches_tracked", &[]),
    ("layer3.1.conv3.weight", &[1024, 256, 1, 1]),
    ("layer3.1.bn3.weight", &[1024]),
    ("layer3.1.bn3.bias", &[1024]),
    ("layer3.1.bn3.running_mean", &[1024]),
    ("layer3.1.bn3.running_var", &[1024]),
    ("layer3.1.bn3.num_batches_tracked", &[]),
    ("layer3.2.conv1.weight", &[256, 1024, 1, 1]),
    ("layer3.2.bn1.weight", &[256]),
    ("layer3.2.bn1.bias", &[256]),
    ("layer3.2.bn1.running_mean", &[256]),
    ("layer3.2.bn1.running_var", &[256]),
    ("layer3.2.bn1.num_batches_tracked", &[]),
    ("layer3.2.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.2.bn2.weight", &[256]),
    ("layer3.2.bn2.bias", &[256]),
    ("layer3.2.bn2.running_mean", &[256]),
    ("layer3.2.bn2.running_var", &[256]),
    ("layer3.2.bn2.num_batches_tracked", &[]),
    ("layer3.2.conv3.weight", &[1024, 256, 1, 1]),
    ("layer3.2.bn3.weight", &[1024]),
    ("layer3.2.bn3.bias", &[1024]),
    ("layer3.2.bn3.running_mean", &[1024]),
    ("layer3.2.bn3.running_var", &[1024]),
    ("layer3.2.bn3.num_batches_tracked", &[]),
    ("layer3.3.conv1.weight", &[256, 1024, 1, 1]),
    ("layer3.3.bn1.weight", &[256]),
    ("layer3.3.bn1.bias", &[256]),
    ("layer3.3.bn1.running_mean", &[256]),
    ("layer3.3.bn1.running_var", &[256]),
    ("layer3.3.bn1.num_batches_tracked", &[]),
    ("layer3.3.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.3.bn2.weight", &[256]),
    ("layer3.3.bn2.bias", &[256]),
    ("layer3.3.bn2.running_mean", &[256]),
    ("layer3.3.bn2.running_var", &[256]),
    ("layer3.3.bn2.num_batches_tracked", &[]),
    ("layer3.3.conv3.weight", &[1024, 256, 1, 1]),
    ("layer3.3.bn3.weight", &[1024]),
    ("layer3.3.bn3.bias", &[1024]),
    ("layer3.3.bn3.running_mean", &[1024]),
    ("layer3.3.bn3.running_var", &[1024]),
    ("layer3.3.bn3.num_batches_tracked", &[]),
    ("layer3.4.conv1.weight", &[256, 1024, 1, 1]),
    ("layer3.4.bn1.weight", &[256]),
    ("layer3.4.bn1.bias", &[256]),
    ("layer3.4.bn1.running_mean", &[256]),
    ("layer3.4.bn1.running_var", &[256]),
    ("layer3.4.bn1.num_batches_tracked", &[]),
    ("layer3.4.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.4.bn2.weight", &[256]),
    ("layer3.4.bn2.bias", &[256]),
    ("layer3.4.bn2.running_mean", &[256]),
    ("layer3.4.bn2.running_var", &[256]),
    ("layer3.4.bn2.num_batches_tracked", &[]),
    ("layer3.4.conv3.weight", &[1024, 256, 1, 1]),
    ("layer3.4.bn3.weight", &[1024]),
    ("layer3.4.bn3.bias", &[1024]),
    ("layer3.4.bn3.running_mean", &[1024]),
    ("layer3.4.bn3.running_var", &[1024]),
    ("layer3.4.bn3.num_batches_tracked", &[]),
    ("layer3.5.conv1.weight", &[256, 1024, 1, 1]),
    ("layer3.5.bn1.weight", &[256]),
    ("layer3.5.bn1.bias", &[256]),
    ("layer3.5.bn1.running_mean", &[256]),
    ("layer3.5.bn1.running_var", &[256]),
    ("layer3.5.bn1.num_batches_tracked", &[]),
    ("layer3.5.conv2.weight", &[256, 256, 3, 3]),
    ("layer3.5.bn2.weight", &[256]),
    ("layer3.5.bn2.bias", &[256]),
    ("layer3.5.bn2.running_mean", &[256]),
    ("layer3.5.bn2.running_var", &[256]),
    ("layer3.5.bn2.num_batches_tracked", &[]),
    ("layer3.5.conv3.weight", &[1024, 256, 1, 1]),
    ("layer3.5.bn3.weight", &[1024]),
    ("layer3.5.bn3.bias", &[1024]),
    ("layer3.5.bn3.running_mean", &[1024]),
    ("layer3.5.bn3.running_var", &[1024]),
    ("layer3.5.bn3.num_batches_tracked", &[]),
    ("layer4.0.conv1.weight", &[512, 1024, 1, 1]),
    ("layer4.0.bn1.weight", &[512]),
    ("layer4.0.bn1.bias", &[512]),
    ("layer4.0.bn1.running_mean", &[512]),
    ("layer4.0.bn1.running_var", &[512]),
    ("layer4.0.bn1.num_batches_tracked", &[]),
    ("layer4.0.conv2.weight", &[512, 512, 3, 3]),
    ("layer4.0.bn2.weight", &[512]),
    ("layer4.0.bn2.bias", &[512]),
    ("layer4.0.bn2.running_mean", &[512]),
    ("layer4.0.bn2.running_var", &[512]),
    ("layer4.0.bn2.num_batches_tracked", &[]),
    ("layer4.0.conv3.weight", &[2048, 512, 1, 1]),
    ("layer4.0.bn3.weight", &[2048]),
    ("layer4.0.bn3.bias", &[2048]),
    ("layer4.0.bn3.running_mean", &[2048]),
    ("layer4.0.bn3.running_var", &[2048]),
    ("layer4.0.bn3.num_batches_tracked", &[]),
    ("layer4.0.downsample.0.weight", &[2048, 1024, 1, 1]),
    ("layer4.0.downsample.1.weight", &[2048]),
    ("layer4.0.downsample.1.bias", &[2048]),
    ("layer4.0.downsample.1.running_mean", &[2048]),
    ("layer4.0.downsample.1.running_var", &[2048]),
    ("layer4.0.downsample.1.num_batches_tracked", &[]),
    ("layer4.1.conv1.weight", &[512, 2048, 1, 1]),
    ("layer4.1.bn1.weight", &[512]),
    ("layer4.1.bn1.bias", &[512]),
    ("layer4.1.bn1.running_mean", &[512]),
    ("layer4.1.bn1.running_var", &[512]),
    ("layer4.1.bn1.num_batches_tracked", &[]),
    ("layer4.1.conv2.weight", &[512, 512, 3, 3]),
    ("layer4.1.bn2.weight", &[512]),
    ("layer4.1.bn2.bias", &[512]),
    ("layer4.1.bn2.running_mean", &[512]),
    ("layer4.1.bn2.running_var", &[512]),
    ("layer4.1.bn2.num_batches_tracked", &[]),
    ("layer4.1.conv3.weight", &[2048, 512, 1, 1]),
    ("layer4.1.bn3.weight", &[2048]),
    ("layer4.1.bn3.bias", &[2048]),
    ("layer4.1.bn3.running_mean", &[2048]),
    ("layer4.1.bn3.running_var", &[2048]),
    ("layer4.1.bn3.num_batches_tracked", &[]),
    ("layer4.2.conv1.weight", &[512, 2048, 1, 1]),
    ("layer4.2.bn1.weight", &[512]),
    ("layer4.2.bn1.bias", &[512]),
    ("layer4.2.bn1.running_mean", &[512]),
    ("layer4.2.bn1.running_var", &[512]),
    ("layer4.2.bn1.num_batches_tracked", &[]),
    ("layer4.2.conv2.weight", &[512, 512, 3, 3]),
    ("layer4.2.bn2.weight", &[512]),
    ("layer4.2.bn2.bias", &[512]),
    ("layer4.2.bn2.running_mean", &[512]),
    ("layer4.2.bn2.running_var", &[512]),
    ("layer4.2.bn2.num_batches_tracked", &[]),
    ("layer4.2.conv3.weight", &[2048, 512, 1, 1]),
    ("layer4.2.bn3.weight", &[2048]),
    ("layer4.2.bn3.bias", &[2048]),
    ("layer4.2.bn3.running_mean", &[2048]),
    ("layer4.2.bn3.running_var", &[2048]),
    ("layer4.2.bn3.num_batches_tracked", &[]),
    ("fc.weight", &[1000, 2048]),
    ("fc.bias", &[1000]),
];

/// `torchvision.models.googlenet(aux_logits=False).state_dict()`: keys and shapes in order, for 1000 classes.
const GOOGLENET_STATE_DICT: &[(&str, &[usize])] = &[
    ("conv1.conv.weight", &[64, 3, 7, 7]),
    ("conv1.bn.weight", &[64]),
    ("conv1.bn.bias", &[64]),
    ("conv1.bn.running_mean", &[64]),
    ("conv1.bn.running_var", &[64]),
    ("conv1.bn.num_batches_tracked", &[]),
    ("conv2.conv.weight", &[64, 64, 1, 1]),
    ("conv2.bn.weight", &[64]),
    ("conv2.bn.bias", &[64]),
    ("conv2.bn.running_mean", &[64]),
    ("conv2.bn.running_var", &[64]),
    ("conv2.bn.num_batches_tracked", &[]),
    ("conv3.conv.weight", &[192, 64, 3, 3]),
    ("conv3.bn.weight", &[192]),
    ("conv3.bn.bias", &[192]),
    ("conv3.bn.running_mean", &[192]),
    ("conv3.bn.running_var", &[192]),
    ("conv3.bn.num_batches_tracked", &[]),
    ("inception3a.branch1.conv.weight", &[64, 192, 1, 1]),
    ("inception3a.branch1.bn.weight", &[64]),
    ("inception3a.branch1.bn.bias", &[64]),
    ("inception3a.branch1.bn.running_mean", &[64]),
    ("inception3a.branch1.bn.running_var", &[64]),
    ("inception3a.branch1.bn.num_batches_tracked", &[]),
    ("inception3a.branch2.0.conv.weight", &[96, 192, 1, 1]),
    ("inception3a.branch2.0.bn.weight", &[96]),
    ("inception3a.branch2.0.bn.bias", &[96]),
    ("inception3a.branch2.0.bn.running_mean", &[96]),
    ("inception3a.branch2.0.bn.running_var", &[96]),
    ("inception3a.branch2.0.bn.num_batches_tracked", &[]),
    ("inception3a.branch2.1.conv.weight", &[128, 96, 3, 3]),
    ("inception3a.branch2.1.bn.weight", &[128]),
    ("inception3a.branch2.1.bn.bias", &[128]),
    ("inception3a.branch2.1.bn.running_mean", &[128]),
    ("inception3a.branch2.1.bn.running_var", &[128]),
    ("inception3a.branch2.1.bn.num_batches_tracked", &[]),
    ("inception3a.branch3.0.conv.weight", &[16, 192, 1, 1]),
    ("inception3a.branch3.0.bn.weight", &[16]),
    ("inception3a.branch3.0.bn.bias", &[16]),
    ("inception3a.branch3.0.bn.running_mean", &[16]),
    ("inception3a.branch3.0.bn.running_var", &[16]),
    ("inception3a.branch3.0.bn.num_batches_tracked", &[]),
    ("inception3a.branch3.1.conv.weight", &[32, 16, 3, 3]),
    ("inception3a.branch3.1.bn.weight", &[32]),
    ("inception3a.branch3.1.bn.bias", &[32]),
    ("inception3a.branch3.1.bn.running_mean", &[32]),
    ("inception3a.branch3.1.bn.running_var", &[32]),
    ("inception3a.branch3.1.bn.num_batches_tracked", &[]),
    ("inception3a.branch4.1.conv.weight", &[32, 192, 1, 1]),
    ("inception3a.branch4.1.bn.weight", &[32]),
    ("inception3a.branch4.1.bn.bias", &[32]),
    ("inception3a.branch4.1.bn.running_mean", &[32]),
    ("inception3a.branch4.1.bn.running_var", &[32]),
    ("inception3a.branch4.1.bn.num_batches_tracked", &[]),
    ("inception3b.branch1.conv.weight", &[128, 256, 1, 1]),
    ("inception3b.branch1.bn.weight", &[128]),
    ("inception3b.branch1.bn.bias", &[128]),
    ("inception3b.branch1.bn.running_mean", &[128]),
    ("inception3b.branch1.bn.running_var", &[128]),
    ("inception3b.branch1.bn.num_batches_tracked", &[]),
    ("inception3b.branch2.0.conv.weight", &[128, 256, 1, 1]),
    ("inception3b.branch2.0.bn.weight", &[128]),
    ("inception3b.branch2.0.bn.bias", &[128]),
    ("inception3b.branch2.0.bn.running_mean", &[128]),
    ("inception3b.branch2.0.bn.running_var", &[128]),
    ("inception3b.branch2.0.bn.num_batches_tracked", &[]),
    ("inception3b.branch2.1.conv.weight", &[192, 128, 3, 3]),
    ("inception3b.branch2.1.bn.weight", &[192]),
    ("inception3b.branch2.1.bn.bias", &[192]),
    ("inception3b.branch2.1.bn.running_mean", &[192]),
    ("inception3b.branch2.1.bn.running_var", &[192]),
    ("inception3b.branch2.1.bn.num_batches_tracked", &[]),
    ("inception3b.branch3.0.conv.weight", &[32, 256, 1, 1]),
    ("inception3b.branch3.0.bn.weight", &[32]),
    ("inception3b.branch3.0.bn.bias", &[32]),
    ("inception3b.branch3.0.bn.running_mean", &[32]),
    ("inception3b.branch3.0.bn.running_var", &[32]),
    ("inception3b.branch3.0.bn.num_batches_tracked", &[]),
    ("inception3b.branch3.1.conv.weight", &[96, 32, 3, 3]),
    ("inception3b.branch3.1.bn.weight", &[96]),
    ("inception3b.branch3.1.bn.bias", &[96]),
    ("inception3b.branch3.1.bn.running_mean", &[96]),
    ("inception3b.branch3.1.bn.running_var", &[96]),
    ("inception3b.branch3.1.bn.num_batches_tracked", &[]),
    ("inception3b.branch4.1.conv.weight", &[64, 256, 1, 1]),
    ("inception3b.branch4.1.bn.weight", &[64]),
    ("inception3b.branch4.1.bn.bias", &[64]),
    ("inception3b.branch4.1.bn.running_mean", &[64]),
    ("inception3b.branch4.1.bn.running_var", &[64]),
    ("inception3b.branch4.1.bn.num_batches_tracked", &[]),
    ("inception4a.branch1.conv.weight", &[192, 480, 1, 1]),
    ("inception4a.branch1.bn.weight", &[192]),
    ("inception4a.branch1.bn.bias", &[192]),
    ("inception4a.branch1.bn.running_mean", &[192]),
    ("inception4a.branch1.bn.running_var", &[192]),
    ("inception4a.branch1.bn.num_batches_tracked", &[]),
    ("inception4a.branch2.0.conv.weight", &[96, 480, 1, 1]),
    ("inception4a.branch2.0.bn.weight", &[96]),
    ("inception4a.branch2.0.bn.bias", &[96]),
    ("inception4a.branch2.0.bn.running_mean", &[96]),
    ("inception4a.branch2.0.bn.running_var", &[96]),
    ("inception4a.branch2.0.bn.num_batches_tracked", &[]),
    ("inception4a.branch2.1.conv.weight", &[208, 96, 3, 3]),
    ("inception4a.branch2.1.bn.weight", &[208]),
    ("inception4a.branch2.1.bn.bias", &[208]),
    ("inception4a.branch2.1.bn.running_mean", &[208]),
    ("inception4a.branch2.1.bn.running_var", &[208]),
    ("inception4a.branch2.1.bn.num_batches_tracked", &[]),
    ("inception4a.branch3.0.conv.weight", &[16, 480, 1, 1]),
    ("inception4a.branch3.0.bn.weight", &[16]),
    ("inception4a.branch3.0.bn.bias", &[16]),
    ("inception4a.branch3.0.bn.running_mean", &[16]),
    ("inception4a.branch3.0.bn.running_var", &[16]),
    ("inception4a.branch3.0.bn.num_batches_tracked", &[]),
    ("inception4a.branch3.1.conv.weight", &[48, 16, 3, 3]),
    ("inception4a.branch3.1.bn.weight", &[48]),
    ("inception4a.branch3.1.bn.bias", &[48]),
    ("inception4a.branch3.1.bn.running_mean", &[48]),
    ("inception4a.branch3.1.bn.running_var", &[48]),
    ("inception4a.branch3.1.bn.num_batches_tracked", &[]),
    ("inception4a.branch4.1.conv.weight", &[64, 480, 1, 1]),
    ("inception4a.branch4.1.bn.weight", &[64]),
    ("inception4a.branch4.1.bn.bias", &[64]),
    ("inception4a.branch4.1.bn.running_mean", &[64]),
    ("inception4a.branch4.1.bn.running_var", &[64]),
    ("inception4a.branch4.1.bn.num_batches_tracked", &[]),
    ("inception4b.branch1.conv.weight", &[160, 512, 1, 1]),
    ("inception4b.branch1.bn.weight", &[160]),
    ("inception4b.branch1.bn.bias", &[160]),
    ("inception4b.branch1.bn.running_mean", &[160]),
    ("inception4b.branch1.bn.running_var", &[160]),
    ("inception4b.branch1.bn.num_batches_tracked", &[]),
    ("inception4b.branch2.0.conv.weight", &[112, 512, 1, 1]),
    ("inception4b.branch2.0.bn.weight", &[112]),
    ("inception4b.branch2.0.bn.bias", &[112]),
    ("inception4b.branch2.0.bn.running_mean", &[112]),
    ("inception4b.branch2.0.bn.running_var", &[112]),
    ("inception4b.branch2.0.bn.num_batches_tracked", &[]),
    ("inception4b.branch2.1.conv.weight", &[224, 112, 3, 3]),
    ("inception4b.branch2.1.bn.weight", &[224]),
    ("inception4b.branch2.1.bn.bias", &[224]),
    ("inception4b.branch2.1.bn.running_mean", &[224]),
    ("inception4b.branch2.1.bn.running_var", &[224]),
    ("inception4b.branch2.1.bn.num_batches_tracked", &[]),
    ("inception4b.branch3.0.conv.weight", &[24, 512, 1, 1]),
    ("inception4b.branch3.0.bn.weight", &[24]),
    ("inception4b.branch3.0.bn.bias", &[24]),
    ("inception4b.branch3.0.bn.running_mean", &[24]),
    ("inception4b.branch3.0.bn.running_var", &[24]),
    ("inception4b.branch3.0.bn.num_batches_tracked", &[]),
    ("inception4b.branch3.1.conv.weight", &[64, 24, 3, 3]),
    ("inception4b.branch3.1.bn.weight", &[64]),
    ("inception4b.branch3.1.bn.bias", &[64]),
    ("inception4b.branch3.1.bn.running_mean", &[64]),
    ("inception4b.branch3.1.bn.running_var", &[64]),
    ("inception4b.branch3.1.bn.num_batches_tracked", &[]),
    ("inception4b.branch4.1.conv.weight", &[64, 512, 1, 1]),
    ("inception4b.branch4.1.bn.weight", &[64]),
    ("inception4b.branch4.1.bn.bias", &[64]),
    ("inception4b.branch4.1.bn.running_mean", &[64]),
    ("inception4b.branch4.1.bn.running_var", &[64]),
    ("inception4b.branch4.1.bn.num_batches_tracked", &[]),
    ("inception4c.branch1.conv.weight", &[128, 512, 1, 1]),
    ("inception4c.branch1.bn.weight", &[128]),
    ("inception4c.branch1.bn.bias", &[128]),
    ("inception4c.branch1.bn.running_mean", &[128]),
    ("inception4c.branch1.bn.running_var", &[128]),
    ("inception4c.branch1.bn.num_batches_tracked", &[]),
    ("inception4c.branch2.0.conv.weight", &[128, 512, 1, 1]),
    ("inception4c.branch2.0.bn.weight", &[128]),
    ("inception4c.branch2.0.bn.bias", &[128]),
    ("inception4c.branch2.0.bn.running_mean", &[128]),
    ("inception4c.branch2.0.bn.running_var", &[128]),
    ("inception4c.branch2.0.bn.num_batches_tracked", &[]),
    ("inception4c.branch2.1.conv.weight", &[256, 128, 3, 3]),
    ("inception4c.branch2.1.bn.weight", &[256]),
    ("inception4c.branch2.1.bn.bias", &[256]),
    ("inception4c.branch2.1.bn.running_mean", &[256]),
    ("inception4c.branch2.1.bn.running_var", &[256]),
    ("inception4c.branch2.1.bn.num_batches_tracked", &[]),
    ("inception4c.branch3.0.conv.weight", &[24, 512, 1, 1]),
    ("inception4c.branch3.0.bn.weight", &[24]),
    ("inception4c.branch3.0.bn.bias", &[24]),
    ("inception4c.branch3.0.bn.running_mean", &[24]),
    ("inception4c.branch3.0.bn.running_var", &[24]),
    ("inception4c.branch3.0.bn.num_batches_tracked", &[]),
    ("inception4c.branch3.1.conv.weight", &[64, 24, 3, 3]),
    ("inception4c.branch3.1.bn.weight", &[64]),
    ("inception4c.branch3.1.bn.bias", &[64]),
    ("inception4c.branch3.1.bn.running_mean", &[64]),
    ("inception4c.branch3.1.bn.running_var", &[64]),
    ("inception4c.branch3.1.bn.num_batches_tracked", &[]),
    ("inception4c.branch4.1.conv.weight", &[64, 512, 1, 1]),
    ("inception4c.branch4.1.bn.weight", &[64]),
    ("inception4c.branch4.1.bn.bias", &[64]),
    ("inception4c.branch4.1.bn.running_mean", &[64]),
    ("inception4c.branch4.1.bn.running_var", &[64]),
    ("inception4c.branch4.1.bn.num_batches_tracked", &[]),
    ("inception4d.branch1.conv.weight", &[112, 512, 1, 1]),
    ("inception4d.branch1.bn.weight", &[112]),
    ("inception4d.branch1.bn.bias", &[112]),
    ("inception4d.branch1.bn.running_mean", &[112]),
    ("inception4d.branch1.bn.running_var", &[112]),
    ("inception4d.branch1.bn.num_batches_tracked", &[]),
    ("inception4d.branch2.0.conv.weight", &[144, 512, 1, 1]),
    ("inception4d.branch2.0.bn.weight", &[144]),
    ("inception4d.branch2.0.bn.bias", &[144]),
    ("inception4d.branch2.0.bn.running_mean", &[144]),
    ("inception4d.branch2.0.bn.running_var", &[144]),
    ("inception4d.branch2.0.bn.num_batches_tracked", &[]),
    ("inception4d.branch2.1.conv.weight", &[288, 144, 3, 3]),
    ("inception4d.branch2.1.bn.weight", &[288]),
    ("inception4d.branch2.1.bn.bias", &[288]),
    ("inception4d.branch2.1.bn.running_mean", &[288]),
    ("inception4d.branch2.1.bn.running_var", &[288]),
    ("inception4d.branch2.1.bn.num_batches_tracked", &[]),
    ("inception4d.branch3.0.conv.weight", &[32, 512, 1, 1]),
    ("inception4d.branch3.0.bn.weight", &[32]),
    ("inception4d.branch3.0.bn.bias", &[32]),
    ("inception4d.branch3.0.bn.running_mean", &[32]),
    ("inception4d.branch3.0.bn.running_var", &[32]),
    ("inception4d.branch3.0.bn.num_batches_tracked", &[]),
    ("inception4d.branch3.1.conv.weight", &[64, 32, 3, 3]),
    ("inception4d.branch3.1.bn.weight", &[64]),
    ("inception4d.branch3.1.bn.bias", &[64]),
    ("inception4d.branch3.1.bn.running_mean", &[64]),
    ("inception4d.branch3.1.bn.running_var", &[64]),
    ("inception4d.branch3.1.bn.num_batches_tracked", &[]),
    ("inception4d.branch4.1.conv.weight", &[64, 512, 1, 1]),
    ("inception4d.branch4.1.bn.weight", &[64]),
    ("inception4d.branch4.1.bn.bias", &[64]),
    ("inception4d.branch4.1.bn.running_mean", &[64]),
    ("inception4d.branch4.1.bn.running_var", &[64]),
    ("inception4d.branch4.1.bn.num_batches_tracked", &[]),
    ("inception4e.branch1.conv.weight", &[256, 528, 1, 1]),
    ("inception4e.branch1.bn.weight", &[256]),
    ("inception4e.branch1.bn.bias", &[256]),
    ("inception4e.branch1.bn.running_mean", &[256]),
    ("inception4e.branch1.bn.running_var", &[256]),
    ("inception4e.branch1.bn.num_batches_tracked", &[]),
    ("inception4e.branch2.0.conv.weight", &[160, 528, 1, 1]),
    ("inception4e.branch2.0.bn.weight", &[160]),
    ("inception4e.branch2.0.bn.bias", &[160]),
    ("inception4e.branch2.0.bn.running_mean", &[160]),
    ("inception4e.branch2.0.bn.running_var", &[160]),
    ("inception4e.branch2.0.bn.num_batches_tracked", &[]),
    ("inception4e.branch2.1.conv.weight", &[320, 160, 3, 3]),
    ("inception4e.branch2.1.bn.weight", &[320]),
    ("inception4e.branch2.1.bn.bias", &[320]),
    ("inception4e.branch2.1.bn.running_mean", &[320]),
    ("inception4e.branch2.1.bn.running_var", &[320]),
    ("inception4e.branch2.1.bn.num_batches_tracked", &[]),
    ("inception4e.branch3.0.conv.weight", &[32, 528, 1, 1]),
    ("inception4e.branch3.0.bn.weight", &[32]),
    ("inception4e.branch3.0.bn.bias", &[32]),
    ("inception4e.branch3.0.bn.running_mean", &[32]),
    ("inception4e.branch3.0.bn.running_var", &[32]),
    ("inception4e.branch3.0.bn.num_batches_tracked", &[]),
    ("inception4e.branch3.1.conv.weight", &[128, 32, 3, 3]),
    ("inception4e.branch3.1.bn.weight", &[128]),
    ("inception4e.branch3.1.bn.bias", &[128]),
    ("inception4e.branch3.1.bn.running_mean", &[128]),
    ("inception4e.branch3.1.bn.running_var", &[128]),
    ("inception4e.branch3.1.bn.num_batches_tracked", &[]),
    ("inception4e.branch4.1.conv.weight", &[128, 528, 1, 1]),
    ("inception4e.branch4.1.bn.weight", &[128]),
    ("inception4e.branch4.1.bn.bias", &[128]),
    ("inception4e.branch4.1.bn.running_mean", &[128]),
    ("inception4e.branch4.1.bn.running_var", &[128]),
    ("inception4e.branch4.1.bn.num_batches_tracked", &[]),
    ("inception5a.branch1.conv.weight", &[256, 832, 1, 1]),
    ("inception5a.branch1.bn.weight", &[256]),
    ("inception5a.branch1.bn.bias", &[256]),
    ("inception5a.branch1.bn.running_mean", &[256]),
    ("inception5a.branch1.bn.running_var", &[256]),
    ("inception5a.branch1.bn.num_batches_tracked", &[]),
    ("inception5a.branch2.0.conv.weight", &[160, 832, 1, 1]),
    ("inception5a.branch2.0.bn.weight", &[160]),
    ("inception5a.branch2.0.bn.bias", &[160]),
    ("inception5a.branch2.0.bn.running_mean", &[160]),
    ("inception5a.branch2.0.bn.running_var", &[160]),
    ("inception5a.branch2.0.bn.num_batches_tracked", &[]),
    ("inception5a.branch2.1.conv.weight", &[320, 160, 3, 3]),
    ("inception5a.branch2.1.bn.weight", &[320]),
    ("inception5a.branch2.1.bn.bias", &[320]),
    ("inception5a.branch2.1.bn.running_mean", &[320]),
    ("inception5a.branch2.1.bn.running_var", &[320]),
    ("inception5a.branch2.1.bn.num_batches_tracked", &[]),
    ("inception5a.branch3.0.conv.weight", &[32, 832, 1, 1]),
    ("inception5a.branch3.0.bn.weight", &[32]),
    ("inception5a.branch3.0.bn.bias", &[32]),
    ("inception5a.branch3.0.bn.running_mean", &[32]),
    ("inception5a.branch3.0.bn.running_var", &[32]),
    ("inception5a.branch3.0.bn.num_batches_tracked", &[]),
    ("inception5a.branch3.1.conv.weight", &[128, 32, 3, 3]),
    ("inception5a.branch3.1.bn.weight", &[128]),
    ("inception5a.branch3.1.bn.bias", &[128]),
    ("inception5a.branch3.1.bn.running_mean", &[128]),
    ("inception5a.branch3.1.bn.running_var", &[128]),
    ("inception5a.branch3.1.bn.num_batches_tracked", &[]),
    ("inception5a.branch4.1.conv.weight", &[128, 832, 1, 1]),
    ("inception5a.branch4.1.bn.weight", &[128]),
    ("inception5a.branch4.1.bn.bias", &[128]),
    ("inception5a.branch4.1.bn.running_mean", &[128]),
    ("inception5a.branch4.1.bn.running_var", &[128]),
    ("inception5a.branch4.1.bn.num_batches_tracked", &[]),
    ("inception5b.branch1.conv.weight", &[384, 832, 1, 1]),
    ("inception5b.branch1.bn.weight", &[384]),
    ("inception5b.branch1.bn.bias", &[384]),
    ("inception5b.branch1.bn.running_mean", &[384]),
    ("inception5b.branch1.bn.running_var", &[384]),
    ("inception5b.branch1.bn.num_batches_tracked", &[]),
    ("inception5b.branch2.0.conv.weight", &[192, 832, 1, 1]),
    ("inception5b.branch2.0.bn.weight", &[192]),
    ("inception5b.branch2.0.bn.bias", &[192]),
    ("inception5b.branch2.0.bn.running_mean", &[192]),
    ("inception5b.branch2.0.bn.running_var", &[192]),
    ("inception5b.branch2.0.bn.num_batches_tracked", &[]),
    ("inception5b.branch2.1.conv.weight", &[384, 192, 3, 3]),
    ("inception5b.branch2.1.bn.weight", &[384]),
    ("inception5b.branch2.1.bn.bias", &[384]),
    ("inception5b.branch2.1.bn.running_mean", &[384]),
    ("inception5b.branch2.1.bn.running_var", &[384]),
    ("inception5b.branch2.1.bn.num_batches_tracked", &[]),
    ("inception5b.branch3.0.conv.weight", &[48, 832, 1, 1]),
    ("inception5b.branch3.0.bn.weight", &[48]),
    ("inception5b.branch3.0.bn.bias", &[48]),
    ("inception5b.branch3.0.bn.running_mean", &[48]),
    ("inception5b.branch3.0.bn.running_var", &[48]),
    ("inception5b.branch3.0.bn.num_batches_tracked", &[]),
    ("inception5b.branch3.1.conv.weight", &[128, 48, 3, 3]),
    ("inception5b.branch3.1.bn.weight", &[128]),
    ("inception5b.branch3.1.bn.bias", &[128]),
    ("inception5b.branch3.1.bn.running_mean", &[128]),
    ("inception5b.branch3.1.bn.running_var", &[128]),
    ("inception5b.branch3.1.bn.num_batches_tracked", &[]),
    ("inception5b.branch4.1.conv.weight", &[128, 832, 1, 1]),
    ("inception5b.branch4.1.bn.weight", &[128]),
    ("inception5b.branch4.1.bn.bias", &[128]),
    ("inception5b.branch4.1.bn.running_mean", &[128]),
    ("inception5b.branch4.1.bn.running_var", &[128]),
    ("inception5b.branch4.1.bn.num_batches_tracked", &[]),
    ("fc.weight", &[1000, 1024]),
    ("fc.bias", &[1000]),
];
