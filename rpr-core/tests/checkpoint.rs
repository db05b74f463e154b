//! Checkpoint directories: round trips, atomic writes, corrupt files and
//! every validation failure.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use rpr_core::checkpoint::{
    read_safetensors, write_atomic, write_safetensors, Checkpoint, CheckpointError, LayerQuant,
    QuantSpec, Tensors,
};
use rpr_core::graph::{Conv2d, Model, Node, Op};
use rpr_core::quant::{Bits, Granularity};

fn node(name: &str, input: &str, op: Op) -> Node {
    Node {
        name: name.into(),
        inputs: vec![input.into()],
        op,
    }
}

/// conv (2 -> 3 channels, 3x3) -> bn -> relu -> pool -> flatten -> fc (3 -> 4).
fn small_model() -> Model {
    let conv = Conv2d {
        in_channels: 2,
        out_channels: 3,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 1,
        bias: false,
    };
    Model {
        name: "small".into(),
        input_shape: [2, 4, 4],
        nodes: vec![
            node("conv", "input", Op::Conv2d(conv)),
            node(
                "bn",
                "conv",
                Op::BatchNorm {
                    channels: 3,
                    eps: 1e-5,
                },
            ),
            node("relu", "bn", Op::Relu),
            node("pool", "relu", Op::GlobalAvgPool),
            node("flat", "pool", Op::Flatten),
            node(
                "fc",
                "flat",
                Op::Linear {
                    in_features: 3,
                    out_features: 4,
                    bias: true,
                },
            ),
        ],
        output: "fc".into(),
    }
}

const SCALES: [f32; 3] = [0.5, 0.25, 1.5];

/// Ternary conv weights `scale[o] * code` with codes cycling -1, 0, 1;
/// other tensors get small distinct values.
fn small_checkpoint() -> Checkpoint {
    let model = small_model();
    let mut tensors = Tensors::new();
    for spec in model.parameters() {
        let n: usize = spec.shape.iter().product();
        let values: Vec<f32> = if spec.name == "conv.weight" {
            (0..n)
                .map(|i| SCALES[i / 18] * ((i % 3) as f32 - 1.0))
                .collect()
        } else if spec.name == "bn.running_var" {
            vec![1.0, 2.0, 0.5]
        } else {
            (0..n).map(|i| 0.1 * i as f32 - 0.2).collect()
        };
        tensors.insert(
            spec.name,
            ArrayD::from_shape_vec(IxDyn(&spec.shape), values).unwrap(),
        );
    }
    let layers = BTreeMap::from([(
        "conv".to_string(),
        LayerQuant {
            scales: SCALES.to_vec(),
        },
    )]);
    let quant = QuantSpec {
        bits: Bits::Ternary,
        granularity: Granularity::PerChannel,
        layers,
    };
    Checkpoint {
        model,
        quant: Some(quant),
        tensors,
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = small_checkpoint();
    ckpt.save(dir.path()).unwrap();
    assert_eq!(
        file_names(dir.path()),
        ["model.json", "quant.json", "weights.safetensors"]
    );
    assert_eq!(Checkpoint::load(dir.path()).unwrap(), ckpt);
}

#[test]
fn save_creates_directory() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("runs/a");
    small_checkpoint().save(&nested).unwrap();
    assert!(nested.join("model.json").is_file());
}

#[test]
fn save_without_quant_removes_stale_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut ckpt = small_checkpoint();
    ckpt.save(dir.path()).unwrap();
    ckpt.quant = None;
    ckpt.save(dir.path()).unwrap();
    assert_eq!(
        file_names(dir.path()),
        ["model.json", "weights.safetensors"]
    );
    assert_eq!(Checkpoint::load(dir.path()).unwrap().quant, None);
}

#[test]
fn save_rejects_invalid_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut ckpt = small_checkpoint();
    ckpt.tensors.remove("fc.bias");
    assert!(matches!(
        ckpt.save(dir.path()),
        Err(CheckpointError::MissingTensors { .. })
    ));
    assert!(file_names(dir.path()).is_empty(), "nothing written");
}

#[test]
fn missing_model_file_names_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = Checkpoint::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Io { path, .. } if path.ends_with("model.json")),
        "{err}"
    );
}

#[test]
fn missing_weights_file_names_path() {
    let dir = tempfile::tempdir().unwrap();
    small_checkpoint().save(dir.path()).unwrap();
    fs::remove_file(dir.path().join("weights.safetensors")).unwrap();
    let err = Checkpoint::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Io { path, .. } if path.ends_with("weights.safetensors")),
        "{err}"
    );
    assert!(err.to_string().contains("weights.safetensors"), "{err}");
}

#[test]
fn truncated_weights_rejected() {
    let dir = tempfile::tempdir().unwrap();
    small_checkpoint().save(dir.path()).unwrap();
    let weights = dir.path().join("weights.safetensors");
    let bytes = fs::read(&weights).unwrap();
    for len in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        fs::write(&weights, &bytes[..len]).unwrap();
        let err = Checkpoint::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Safetensors { .. }),
            "length {len}: {err}"
        );
    }
}

#[test]
fn garbage_weights_rejected() {
    let dir = tempfile::tempdir().unwrap();
    small_checkpoint().save(dir.path()).unwrap();
    let weights = dir.path().join("weights.safetensors");

    // Header length far beyond the file.
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    // Valid length, header that is not JSON.
    let mut not_json = 6u64.to_le_bytes().to_vec();
    not_json.extend_from_slice(b"\xff\xfe{{{{");
    // Offsets past the data.
    let header = br#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}}"#;
    let mut bad_offsets = (header.len() as u64).to_le_bytes().to_vec();
    bad_offsets.extend_from_slice(header);
    bad_offsets.extend_from_slice(&[0; 16]);
    // Shape disagrees with the byte count.
    let header = br#"{"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}}"#;
    let mut bad_shape = (header.len() as u64).to_le_bytes().to_vec();
    bad_shape.extend_from_slice(header);
    bad_shape.extend_from_slice(&[0; 16]);

    let pseudo_random: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (case, bytes) in [
        ("huge", huge),
        ("not json", not_json),
        ("offsets", bad_offsets),
        ("shape", bad_shape),
        ("random", pseudo_random),
    ] {
        fs::write(&weights, &bytes).unwrap();
        let err = Checkpoint::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Safetensors { .. }),
            "{case}: {err}"
        );
    }
}

#[test]
fn corrupt_json_files_rejected() {
    let dir = tempfile::tempdir().unwrap();
    small_checkpoint().save(dir.path()).unwrap();
    let model_text = fs::read_to_string(dir.path().join("model.json")).unwrap();

    fs::write(
        dir.path().join("model.json"),
        &model_text[..model_text.len() / 2],
    )
    .unwrap();
    let err = Checkpoint::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Model { path, .. } if path.ends_with("model.json")),
        "{err}"
    );

    fs::write(dir.path().join("model.json"), &model_text).unwrap();
    fs::write(dir.path().join("quant.json"), "{\"bits\": \"quaternary\"}").unwrap();
    let err = Checkpoint::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::QuantJson { path, .. } if path.ends_with("quant.json")),
        "{err}"
    );
}

#[test]
fn other_dtypes_convert_to_f32() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.safetensors");
    let i64_bytes: Vec<u8> = [7i64, -3].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f64_bytes: Vec<u8> = [0.5f64, -2.25]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // bf16 of 1.5 is 0x3FC0; f16 of -2.5 is 0xC100, f16 65504 is 0x7BFF,
    // and f16 0x0001 is the smallest subnormal 2^-24.
    let bf16_bytes: Vec<u8> = [0x3FC0u16].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f16_bytes: Vec<u8> = [0xC100u16, 0x7BFF, 0x0001]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let i32_bytes: Vec<u8> = [-9i32].iter().flat_map(|v| v.to_le_bytes()).collect();
    use safetensors::tensor::TensorView;
    use safetensors::Dtype;
    let views = vec![
        (
            "count",
            TensorView::new(Dtype::I64, vec![2], &i64_bytes).unwrap(),
        ),
        (
            "double",
            TensorView::new(Dtype::F64, vec![2, 1], &f64_bytes).unwrap(),
        ),
        (
            "brain",
            TensorView::new(Dtype::BF16, vec![], &bf16_bytes).unwrap(),
        ),
        (
            "half",
            TensorView::new(Dtype::F16, vec![3], &f16_bytes).unwrap(),
        ),
        (
            "int",
            TensorView::new(Dtype::I32, vec![1], &i32_bytes).unwrap(),
        ),
    ];
    fs::write(&path, safetensors::serialize(views, &None).unwrap()).unwrap();

    let tensors = read_safetensors(&path).unwrap();
    assert_eq!(tensors["count"].as_slice().unwrap(), [7.0, -3.0]);
    assert_eq!(tensors["double"].shape(), [2, 1]);
    assert_eq!(tensors["double"].as_slice().unwrap(), [0.5, -2.25]);
    assert_eq!(tensors["brain"].shape(), [] as [usize; 0]);
    assert_eq!(tensors["brain"].as_slice().unwrap(), [1.5]);
    assert_eq!(
        tensors["half"].as_slice().unwrap(),
        [-2.5, 65504.0, 2f32.powi(-24)]
    );
    assert_eq!(tensors["int"].as_slice().unwrap(), [-9.0]);
}

#[test]
fn unsupported_dtype_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes.safetensors");
    let data = [1u8, 2, 3];
    let views = vec![(
        "raw",
        safetensors::tensor::TensorView::new(safetensors::Dtype::U8, vec![3], &data).unwrap(),
    )];
    fs::write(&path, safetensors::serialize(views, &None).unwrap()).unwrap();
    let err = read_safetensors(&path).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::UnsupportedDtype { tensor, .. } if tensor == "raw"),
        "{err}"
    );
}

#[test]
fn safetensors_round_trip_keeps_layout_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.safetensors");
    let mut tensors = Tensors::new();
    let matrix =
        ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    // A transposed view has non-standard strides; it must be written in logical order.
    tensors.insert("t".into(), matrix.t().to_owned());
    tensors.insert("scalar".into(), ArrayD::from_elem(IxDyn(&[]), -0.0));
    tensors.insert(
        "tiny".into(),
        ArrayD::from_elem(IxDyn(&[1]), f32::MIN_POSITIVE / 8.0),
    );
    write_safetensors(&path, &tensors).unwrap();
    let back = read_safetensors(&path).unwrap();
    assert_eq!(back, tensors);
    assert_eq!(
        back["t"].iter().copied().collect::<Vec<_>>(),
        [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    );
}

#[test]
fn write_atomic_replaces_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    assert_eq!(file_names(dir.path()), ["data.bin"]);

    // Renaming a file over a non-empty directory fails; the old entry must survive.
    let blocked = dir.path().join("blocked");
    fs::create_dir(&blocked).unwrap();
    fs::write(blocked.join("keep"), b"x").unwrap();
    assert!(write_atomic(&blocked, b"new").is_err());
    assert_eq!(
        file_names(dir.path()),
        ["blocked", "data.bin"],
        "no temporary file left behind"
    );

    assert!(write_atomic(&dir.path().join("missing/data.bin"), b"x").is_err());
    assert!(write_atomic(Path::new("/"), b"x").is_err());
}

#[test]
fn missing_and_extra_tensors_listed() {
    let mut ckpt = small_checkpoint();
    ckpt.tensors.remove("bn.running_mean");
    ckpt.tensors.remove("bn.num_batches_tracked");
    match ckpt.validate().unwrap_err() {
        CheckpointError::MissingTensors { names } => {
            assert_eq!(names, ["bn.num_batches_tracked", "bn.running_mean"])
        }
        other => panic!("expected MissingTensors, got {other}"),
    }

    let mut ckpt = small_checkpoint();
    ckpt.tensors
        .insert("fc.weight_orig".into(), ArrayD::zeros(IxDyn(&[1])));
    let err = ckpt.validate().unwrap_err();
    assert!(
        matches!(&err, CheckpointError::ExtraTensors { names } if names == &["fc.weight_orig"]),
        "{err}"
    );
    assert!(err.to_string().contains("fc.weight_orig"), "{err}");
}

#[test]
fn shape_mismatch_names_tensor() {
    let mut ckpt = small_checkpoint();
    ckpt.tensors
        .insert("fc.weight".into(), ArrayD::zeros(IxDyn(&[3, 4])));
    let err = ckpt.validate().unwrap_err();
    assert!(
        matches!(&err, CheckpointError::ShapeMismatch { tensor, expected, actual }
            if tensor == "fc.weight" && expected == &[4, 3] && actual == &[3, 4]),
        "{err}"
    );
}

#[test]
fn non_finite_names_tensor_and_index() {
    for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut ckpt = small_checkpoint();
        ckpt.tensors.get_mut("fc.weight").unwrap()[[2, 1]] = value;
        let err = ckpt.validate().unwrap_err();
        assert!(
            matches!(&err, CheckpointError::NonFinite { tensor, index: 7, .. } if tensor == "fc.weight"),
            "{value}: {err}"
        );
    }
}

#[test]
fn negative_variance_rejected() {
    let mut ckpt = small_checkpoint();
    ckpt.tensors.get_mut("bn.running_var").unwrap()[[2]] = -0.5;
    let err = ckpt.validate().unwrap_err();
    assert!(
        matches!(&err, CheckpointError::NegativeVariance { tensor, index: 2, value }
            if tensor == "bn.running_var" && *value == -0.5),
        "{err}"
    );

    // Zero is a valid variance, because eps keeps the square root positive.
    ckpt.tensors.get_mut("bn.running_var").unwrap()[[2]] = 0.0;
    ckpt.validate().unwrap();
}

#[test]
fn off_level_weights_counted() {
    let mut ckpt = small_checkpoint();
    let weight = ckpt.tensors.get_mut("conv.weight").unwrap();
    // Channel 1 (scale 0.25): flat index 18 is -0.25, so 0.3 is off.
    weight[[1, 0, 0, 0]] = 0.3;
    // Channel 2 (scale 1.5): a value one ulp off the level.
    weight[[2, 0, 0, 2]] = f32::from_bits(1.5f32.to_bits() + 1);
    let err = ckpt.validate().unwrap_err();
    match &err {
        CheckpointError::OffLevel {
            layer,
            count,
            total,
            index,
            value,
            scale,
            ..
        } => {
            assert_eq!(layer, "conv");
            assert_eq!(*count, 2);
            assert_eq!(*total, 54);
            assert_eq!(*index, 18);
            assert_eq!(*value, 0.3);
            assert_eq!(*scale, 0.25);
        }
        other => panic!("expected OffLevel, got {other}"),
    }
    assert!(err.to_string().contains("2 of 54"), "{err}");
}

#[test]
fn binary_rejects_zero_codes() {
    let mut ckpt = small_checkpoint();
    ckpt.quant.as_mut().unwrap().bits = Bits::Binary;
    let err = ckpt.validate().unwrap_err();
    // 18 of the 54 codes are 0.
    assert!(
        matches!(
            &err,
            CheckpointError::OffLevel {
                count: 18,
                index: 1,
                ..
            }
        ),
        "{err}"
    );

    let weight = ckpt.tensors.get_mut("conv.weight").unwrap();
    weight.iter_mut().enumerate().for_each(|(i, w)| {
        if *w == 0.0 {
            *w = SCALES[i / 18];
        }
    });
    ckpt.validate().unwrap();
}

#[test]
fn per_tensor_scale() {
    let mut ckpt = small_checkpoint();
    let quant = ckpt.quant.as_mut().unwrap();
    quant.granularity = Granularity::PerTensor;
    quant.layers.get_mut("conv").unwrap().scales = vec![0.5];
    // Channels 1 and 2 use other scales, so their 24 nonzero weights are off.
    let err = ckpt.validate().unwrap_err();
    assert!(
        matches!(&err, CheckpointError::OffLevel { count: 24, .. }),
        "{err}"
    );

    ckpt.tensors
        .get_mut("conv.weight")
        .unwrap()
        .mapv_inplace(|w| w.signum() * 0.5 * (w != 0.0) as u8 as f32);
    ckpt.validate().unwrap();
}

#[test]
fn scale_count_and_value_checked() {
    let mut ckpt = small_checkpoint();
    ckpt.quant
        .as_mut()
        .unwrap()
        .layers
        .get_mut("conv")
        .unwrap()
        .scales = vec![0.5, 0.25];
    let err = ckpt.validate().unwrap_err();
    assert!(
        matches!(
            &err,
            CheckpointError::ScaleCount {
                expected: 3,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );

    for bad in [0.0, -0.25, f32::NAN, f32::INFINITY] {
        let mut ckpt = small_checkpoint();
        ckpt.quant
            .as_mut()
            .unwrap()
            .layers
            .get_mut("conv")
            .unwrap()
            .scales[1] = bad;
        let err = ckpt.validate().unwrap_err();
        assert!(
            matches!(&err, CheckpointError::InvalidScale { index: 1, .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn quant_layer_must_be_conv_or_linear() {
    for layer in ["bn", "nowhere"] {
        let mut ckpt = small_checkpoint();
        ckpt.quant.as_mut().unwrap().layers.insert(
            layer.into(),
            LayerQuant {
                scales: vec![1.0; 3],
            },
        );
        let err = ckpt.validate().unwrap_err();
        assert!(
            matches!(&err, CheckpointError::UnknownQuantLayer { layer: l } if l == layer),
            "{err}"
        );
    }
}

#[test]
fn quant_json_format() {
    let text = serde_json::to_string(small_checkpoint().quant.as_ref().unwrap()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["bits"], "ternary");
    assert_eq!(value["granularity"], "per_channel");
    assert_eq!(
        value["layers"]["conv"]["scales"],
        serde_json::json!([0.5, 0.25, 1.5])
    );
}
