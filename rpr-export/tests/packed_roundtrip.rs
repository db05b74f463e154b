//! `.rpr` write/read round trips, compared against values computed here from
//! the checkpoint.

mod common;

use std::path::Path;

use ndarray::{Array2, ArrayD, Axis, IxDyn};
use rpr_core::checkpoint::{Checkpoint, Tensors};
use rpr_core::graph::Op;
use rpr_core::pack::{self, Encoding};
use rpr_core::quant::{Bits, Granularity};
use rpr_export::fold;
use rpr_export::packed::{write_rpr, PackOptions, RprFile, TensorDType, ALIGN};

use common::{max_diff, random_checkpoint, random_images, tiny_model};

const CASES: [(Bits, bool, Encoding); 3] = [
    (Bits::Ternary, false, Encoding::Ternary2),
    (Bits::Ternary, true, Encoding::Ternary3),
    (Bits::Binary, false, Encoding::Binary),
];

fn export(checkpoint: &Checkpoint, ternary3: bool, dir: &Path) -> RprFile {
    let out = dir.join("model.rpr");
    write_rpr(checkpoint, &PackOptions { ternary3, calibration: None }, &out).unwrap();
    RprFile::open(&out).unwrap()
}

/// Codes `round(w / scale[c])` of a quantized conv, computed from the checkpoint.
fn expected_codes(checkpoint: &Checkpoint, layer: &str) -> ArrayD<i8> {
    let quant = checkpoint.quant.as_ref().unwrap();
    let scales = &quant.layers[layer].scales;
    let weight = &checkpoint.tensors[&format!("{layer}.weight")];
    let mut codes = ArrayD::<i8>::zeros(weight.raw_dim());
    for (c, (mut out, filter)) in codes.axis_iter_mut(Axis(0)).zip(weight.axis_iter(Axis(0))).enumerate() {
        let scale = if scales.len() == 1 { scales[0] } else { scales[c] };
        out.zip_mut_with(&filter, |code, &w| *code = (w / scale).round() as i8);
    }
    codes
}

fn f32_tensor(file: &RprFile, name: &str) -> ArrayD<f32> {
    let shape = file.tensor_shape(name).unwrap().to_vec();
    ArrayD::from_shape_vec(IxDyn(&shape), file.tensor_f32(name).unwrap().to_vec()).unwrap()
}

/// Parameters of the exported graph as plain f32 tensors, with packed
/// weights expanded to `code * scale`, for the reference executor.
fn dequantized_tensors(file: &RprFile) -> Tensors {
    let mut tensors = Tensors::new();
    for info in file.tensors() {
        match info.dtype {
            TensorDType::F32 if info.name.ends_with(".scale") => {}
            TensorDType::F32 => {
                tensors.insert(info.name.clone(), f32_tensor(file, &info.name));
            }
            TensorDType::Packed(_) => {
                let layer = info.name.trim_end_matches(".weight");
                let shape: [usize; 4] = info.shape.as_slice().try_into().unwrap();
                let codes = pack::rows_to_conv(file.packed(&info.name).unwrap().unpack().view(), shape);
                let scale = file.tensor_f32(&format!("{layer}.scale")).unwrap();
                let mut weight = codes.mapv(f32::from);
                for (c, mut filter) in weight.axis_iter_mut(Axis(0)).enumerate() {
                    filter *= scale[c];
                }
                tensors.insert(info.name.clone(), weight.into_dyn());
            }
        }
    }
    for node in &file.model().nodes {
        if let Op::BatchNorm { .. } = node.op {
            tensors.insert(format!("{}.num_batches_tracked", node.name), ArrayD::zeros(IxDyn(&[])));
        }
    }
    tensors
}

#[test]
fn roundtrip_matches_fold_bit_for_bit() {
    for (bits, ternary3, encoding) in CASES {
        let checkpoint = random_checkpoint(tiny_model(), Some(bits), Granularity::PerChannel, 7);
        let dir = tempfile::tempdir().unwrap();
        let file = export(&checkpoint, ternary3, dir.path());
        let folded =
            fold::fold(&checkpoint.model, &checkpoint.tensors, checkpoint.quant.as_ref().unwrap(), encoding).unwrap();

        assert_eq!(file.model(), &folded.model, "{encoding:?}: model description");
        assert_eq!(file.tensors().count(), folded.tensors.len(), "{encoding:?}: tensor count");
        for tensor in &folded.tensors {
            assert_eq!(file.tensor_bytes(&tensor.name).unwrap(), tensor.bytes.as_slice(), "{encoding:?}: {}", tensor.name);
            assert_eq!(file.tensor_shape(&tensor.name).unwrap(), tensor.shape.as_slice(), "{encoding:?}: {}", tensor.name);
            assert_eq!(file.tensor_info(&tensor.name).unwrap().offset as u64 % ALIGN, 0, "{}", tensor.name);
        }
        assert_eq!(file.bits(), bits);
    }
}

#[test]
fn packed_codes_equal_checkpoint_codes() {
    for (bits, ternary3, encoding) in CASES {
        let checkpoint = random_checkpoint(tiny_model(), Some(bits), Granularity::PerChannel, 11);
        let dir = tempfile::tempdir().unwrap();
        let file = export(&checkpoint, ternary3, dir.path());
        for layer in ["block.conv1", "block.conv2", "block.shortcut"] {
            let name = format!("{layer}.weight");
            assert_eq!(file.tensor_info(&name).unwrap().dtype, TensorDType::Packed(encoding));
            let view = file.packed(&name).unwrap();
            let shape: [usize; 4] = file.tensor_shape(&name).unwrap().try_into().unwrap();
            let codes = pack::rows_to_conv(view.unpack().view(), shape).into_dyn();
            assert_eq!(codes, expected_codes(&checkpoint, layer), "{encoding:?}: {layer}");
        }
    }
}

#[test]
fn float_tensors_copied_bit_for_bit() {
    let checkpoint = random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerChannel, 3);
    let dir = tempfile::tempdir().unwrap();
    let file = export(&checkpoint, false, dir.path());
    // The classifier and the BN that cannot be folded keep their values.
    for name in [
        "fc.weight",
        "fc.bias",
        "block.shortcut_bn.weight",
        "block.shortcut_bn.bias",
        "block.shortcut_bn.running_mean",
        "block.shortcut_bn.running_var",
    ] {
        let stored = f32_tensor(&file, name);
        let original = &checkpoint.tensors[name];
        let same_bits = stored.iter().zip(original.iter()).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same_bits, "{name} differs from the checkpoint");
        assert_eq!(stored.shape(), original.shape(), "{name} has another shape than in the checkpoint");
    }
}

#[test]
fn batchnorm_folded_into_scale_and_bias() {
    let checkpoint = random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerChannel, 5);
    let dir = tempfile::tempdir().unwrap();
    let file = export(&checkpoint, false, dir.path());
    let model = file.model();

    let names: Vec<&str> = model.nodes.iter().map(|n| n.name.as_str()).collect();
    for folded in ["bn1", "block.bn1", "block.bn2"] {
        assert!(!names.contains(&folded), "{folded} should be folded away");
    }
    assert!(names.contains(&"block.shortcut_bn"), "a BN whose conv output has two consumers must stay");
    assert_eq!(model.node("relu1").unwrap().inputs, ["conv1"]);
    assert_eq!(model.node("block.add").unwrap().inputs, ["block.conv2", "block.shortcut_bn", "shortcut_relu"]);

    // block.conv1 has a conv bias and a BN: scale = s * g / sqrt(v + eps),
    // bias = m * b + beta - m * mean.
    let t = &checkpoint.tensors;
    let s = &checkpoint.quant.as_ref().unwrap().layers["block.conv1"].scales;
    let scale = file.tensor_f32("block.conv1.scale").unwrap();
    let bias = file.tensor_f32("block.conv1.bias").unwrap();
    for c in 0..8 {
        let m = f64::from(t["block.bn1.weight"][[c]]) / (f64::from(t["block.bn1.running_var"][[c]]) + 1e-5).sqrt();
        let expected_scale = f64::from(s[c]) * m;
        let expected_bias = m * f64::from(t["block.conv1.bias"][[c]]) + f64::from(t["block.bn1.bias"][[c]])
            - m * f64::from(t["block.bn1.running_mean"][[c]]);
        assert!((f64::from(scale[c]) - expected_scale).abs() <= 1e-6 * expected_scale.abs(), "scale[{c}]");
        assert!((f64::from(bias[c]) - expected_bias).abs() <= 1e-6, "bias[{c}]");
    }

    // block.shortcut has no BN to fold: its scale is the weight scale and its bias zero.
    let shortcut_scale = file.tensor_f32("block.shortcut.scale").unwrap();
    assert_eq!(shortcut_scale, checkpoint.quant.as_ref().unwrap().layers["block.shortcut"].scales.as_slice());
    assert!(file.tensor_f32("block.shortcut.bias").unwrap().iter().all(|&b| b == 0.0));
}

#[test]
fn folded_graph_gives_same_logits() {
    for (bits, ternary3, _) in CASES {
        let checkpoint = random_checkpoint(tiny_model(), Some(bits), Granularity::PerChannel, 13);
        let dir = tempfile::tempdir().unwrap();
        let file = export(&checkpoint, ternary3, dir.path());
        let images = random_images(3, checkpoint.model.input_shape, 99);

        let expected = rpr_core::reference::run(&checkpoint.model, &checkpoint.tensors, images.view()).unwrap();
        let actual = rpr_core::reference::run(file.model(), &dequantized_tensors(&file), images.view()).unwrap();
        let (diff, scale) = max_diff(actual.as_slice().unwrap(), expected.as_slice().unwrap());
        assert!(diff <= 1e-4 * scale.max(1.0), "{bits:?}: max diff {diff} for max |logit| {scale}");
    }
}

#[test]
fn per_tensor_scales_roundtrip() {
    let checkpoint = random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerTensor, 17);
    let dir = tempfile::tempdir().unwrap();
    let file = export(&checkpoint, false, dir.path());
    assert_eq!(file.quantization().granularity, Granularity::PerTensor);
    // block.conv2's BatchNorm is folded, so its stored scale is the one
    // weight scale times the per-channel BatchNorm multiplier.
    let weight_scale = f64::from(checkpoint.quant.as_ref().unwrap().layers["block.conv2"].scales[0]);
    let t = &checkpoint.tensors;
    let stored = file.tensor_f32("block.conv2.scale").unwrap();
    assert_eq!(stored.len(), 12);
    for (c, &scale) in stored.iter().enumerate() {
        let m = f64::from(t["block.bn2.weight"][[c]]) / (f64::from(t["block.bn2.running_var"][[c]]) + 1e-5).sqrt();
        let expected = weight_scale * m;
        assert!((f64::from(scale) - expected).abs() <= 1e-6 * expected.abs(), "scale[{c}] = {scale}, expected {expected}");
    }
    let codes = pack::rows_to_conv(file.packed("block.conv2.weight").unwrap().unpack().view(), [12, 8, 3, 3]);
    assert_eq!(codes.into_dyn(), expected_codes(&checkpoint, "block.conv2"));
}

#[test]
fn from_bytes_equals_open() {
    let checkpoint = random_checkpoint(tiny_model(), Some(Bits::Ternary), Granularity::PerChannel, 19);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.rpr");
    write_rpr(&checkpoint, &PackOptions::default(), &out).unwrap();
    let mapped = RprFile::open(&out).unwrap();
    let owned = RprFile::from_bytes(std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(mapped.as_bytes(), owned.as_bytes());
    assert_eq!(mapped.model(), owned.model());
    let weight: Array2<i8> = owned.packed("block.conv1.weight").unwrap().unpack();
    assert_eq!(weight, mapped.packed("block.conv1.weight").unwrap().unpack());
}
