//! The networks of the comparison: zoo architectures with seeded random
//! weights, quantized and exported to every file format the engines read.

use std::path::{Path, PathBuf};

use ndarray::{Array4, ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rpr_core::checkpoint::{Checkpoint, LayerQuant, QuantSpec, Tensors};
use rpr_core::graph::{Model, Op, ParamKind, INPUT};
use rpr_core::quant::{quantize, Bits, Granularity, QuantConfig, ScaleNorm};
use rpr_core::zoo::{self, ZooConfig};
use rpr_export::calibrate::calibrate;
use rpr_export::onnx::{write_onnx, OnnxOptions, WeightStorage};
use rpr_export::packed::{write_rpr, PackOptions};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors while building or exporting a comparison network.
#[derive(Debug, Error)]
pub enum NetworkError {
    #[error("network `{network}`: {message}")]
    Build { network: String, message: String },
    #[error("network `{network}`: failed to write {path}: {message}")]
    Export { network: String, path: PathBuf, message: String },
}

/// One network of the comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Short key used in file names and tables, for example `resnet20-ternary`.
    pub key: String,
    /// Zoo architecture name.
    pub arch: String,
    pub bits: Bits,
    /// Input `[channels, height, width]`.
    pub input: [usize; 3],
}

impl NetworkSpec {
    /// Creates a spec for a square input with `num_classes = 10`.
    pub fn new(arch: &str, bits: Bits, channels: usize, size: usize) -> Self {
        let bits_name = match bits {
            Bits::Binary => "binary",
            Bits::Ternary => "ternary",
        };
        NetworkSpec { key: format!("{arch}-{bits_name}-{size}"), arch: arch.into(), bits, input: [channels, size, size] }
    }

    /// Ternary ResNet-20 at 1x28x28, ternary ResNet-18 at 3x224x224 and binary ResNet-20 at 1x28x28.
    pub fn standard_set() -> Vec<NetworkSpec> {
        vec![
            NetworkSpec::new("resnet20", Bits::Ternary, 1, 28),
            NetworkSpec::new("resnet18", Bits::Ternary, 3, 224),
            NetworkSpec::new("resnet20", Bits::Binary, 1, 28),
        ]
    }
}

/// Size of one model file on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSize {
    /// What the file is, for example `.rpr (packed)`.
    pub label: String,
    pub path: PathBuf,
    pub bytes: u64,
}

/// A network and the files exported from it.
pub struct PreparedNetwork {
    pub spec: NetworkSpec,
    pub checkpoint: Checkpoint,
    /// Checkpoint directory with the unfolded f32 weights.
    pub checkpoint_dir: PathBuf,
    pub rpr: PathBuf,
    pub onnx_float: PathBuf,
    pub onnx_qdq: PathBuf,
    /// Raw little-endian f32 file of the images that calibrated the int8
    /// activation scales, in NCHW order, for other engines' quantizers.
    pub calibration: PathBuf,
    /// NCHW shape of the batch in `calibration`.
    pub calibration_shape: [usize; 4],
    pub files: Vec<FileSize>,
}

/// Images used to calibrate the int8 activation scales.
const CALIBRATION_IMAGES: usize = 8;

/// Builds `spec` with weights drawn from `seed`, quantizes every conv that
/// does not read the image, calibrates activation scales on random images,
/// and writes the checkpoint, the `.rpr` file, the float ONNX file, the
/// QDQ int8 ONNX file and the calibration images into `dir`.
pub fn prepare(spec: &NetworkSpec, seed: u64, dir: &Path) -> Result<PreparedNetwork, NetworkError> {
    let build_error = |message: String| NetworkError::Build { network: spec.key.clone(), message };
    let cfg = ZooConfig { input_channels: spec.input[0], input_size: spec.input[1], num_classes: 10, upsample_to: None };
    let model = zoo::build(&spec.arch, &cfg).map_err(|error| build_error(error.to_string()))?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tensors = random_tensors(&model, &mut rng);
    let quant = quantize_convs(&model, &mut tensors, spec.bits).map_err(build_error)?;
    randomize_batch_norm(&model, &mut tensors, &mut rng);
    let checkpoint = Checkpoint { model, quant: Some(quant), tensors };
    checkpoint.validate().map_err(|error| build_error(error.to_string()))?;

    let images = random_images(&mut rng, CALIBRATION_IMAGES, spec.input);
    let calibration = calibrate(&checkpoint.model, &checkpoint.tensors, images.view(), "random normal", 100.0, &mut |_| {})
        .map_err(|error| build_error(format!("calibration failed: {error}")))?;

    std::fs::create_dir_all(dir).map_err(|error| export_error(spec, dir, error))?;
    let checkpoint_dir = dir.join(format!("{}.ckpt", spec.key));
    checkpoint.save(&checkpoint_dir).map_err(|error| export_error(spec, &checkpoint_dir, error))?;

    let rpr = dir.join(format!("{}.rpr", spec.key));
    let options = PackOptions { ternary3: false, calibration: Some(calibration.clone()) };
    write_rpr(&checkpoint, &options, &rpr).map_err(|error| export_error(spec, &rpr, error))?;

    let onnx_float = dir.join(format!("{}.float.onnx", spec.key));
    let options = OnnxOptions { weights: WeightStorage::Float, qdq: None };
    write_onnx(&checkpoint, &options, &onnx_float).map_err(|error| export_error(spec, &onnx_float, error))?;

    let onnx_qdq = dir.join(format!("{}.qdq.onnx", spec.key));
    let options = OnnxOptions { weights: WeightStorage::Int8Codes, qdq: Some(calibration) };
    write_onnx(&checkpoint, &options, &onnx_qdq).map_err(|error| export_error(spec, &onnx_qdq, error))?;

    let calibration_path = dir.join(format!("{}.calibration.f32", spec.key));
    let bytes: Vec<u8> = images.iter().flat_map(|value| value.to_le_bytes()).collect();
    std::fs::write(&calibration_path, bytes).map_err(|error| export_error(spec, &calibration_path, error))?;
    let (n, c, h, w) = images.dim();
    let calibration_shape = [n, c, h, w];

    let weights = checkpoint_dir.join(rpr_core::checkpoint::WEIGHTS_FILE);
    let mut files = Vec::new();
    for (label, path) in [
        ("f32 safetensors (checkpoint)", &weights),
        (".rpr (packed weights)", &rpr),
        ("ONNX float", &onnx_float),
        ("ONNX QDQ int8 (rpr-export)", &onnx_qdq),
    ] {
        let bytes = std::fs::metadata(path).map_err(|error| export_error(spec, path, error))?.len();
        files.push(FileSize { label: label.into(), path: path.clone(), bytes });
    }
    Ok(PreparedNetwork {
        spec: spec.clone(),
        checkpoint,
        checkpoint_dir,
        rpr,
        onnx_float,
        onnx_qdq,
        calibration: calibration_path,
        calibration_shape,
        files,
    })
}

fn export_error(spec: &NetworkSpec, path: &Path, error: impl std::fmt::Display) -> NetworkError {
    NetworkError::Export { network: spec.key.clone(), path: path.to_path_buf(), message: error.to_string() }
}

/// Returns `n` images of standard normal values, the statistics of a
/// normalized data set.
pub fn random_images(rng: &mut ChaCha8Rng, n: usize, shape: [usize; 3]) -> Array4<f32> {
    Array4::from_shape_simple_fn((n, shape[0], shape[1], shape[2]), || rng.sample(StandardNormal))
}

/// Draws every parameter: He-uniform conv and linear weights, small biases,
/// and BatchNorm tensors near identity (overwritten by
/// [`randomize_batch_norm`] once the conv weights are final).
fn random_tensors(model: &Model, rng: &mut ChaCha8Rng) -> Tensors {
    let mut tensors = Tensors::new();
    for spec in model.parameters() {
        let len: usize = spec.shape.iter().product();
        let values: Vec<f32> = match spec.kind {
            ParamKind::ConvWeight | ParamKind::LinearWeight => {
                let fan_in: usize = spec.shape[1..].iter().product();
                let bound = (6.0 / fan_in.max(1) as f32).sqrt();
                (0..len).map(|_| rng.gen_range(-bound..bound)).collect()
            }
            ParamKind::ConvBias | ParamKind::LinearBias | ParamKind::BnBias | ParamKind::BnRunningMean => {
                (0..len).map(|_| rng.gen_range(-0.1..0.1)).collect()
            }
            ParamKind::BnWeight | ParamKind::BnRunningVar => vec![1.0; len],
            ParamKind::BnNumBatchesTracked => vec![0.0; len],
        };
        let array = ArrayD::from_shape_vec(IxDyn(&spec.shape), values).expect("the value count equals the shape's product");
        tensors.insert(spec.name, array);
    }
    tensors
}

/// Replaces every conv weight that does not read the graph input by its
/// per-channel quantization `scale[c] * code`. The first conv stays f32
/// because its input, the normalized image, is signed.
fn quantize_convs(model: &Model, tensors: &mut Tensors, bits: Bits) -> Result<QuantSpec, String> {
    let cfg = QuantConfig { bits, granularity: Granularity::PerChannel, norm: ScaleNorm::L2 };
    let mut spec = QuantSpec { bits, granularity: Granularity::PerChannel, layers: Default::default() };
    for node in &model.nodes {
        if !matches!(node.op, Op::Conv2d(_)) || node.inputs.iter().any(|input| input == INPUT) {
            continue;
        }
        let key = format!("{}.weight", node.name);
        let quantized = quantize(tensors[&key].view(), &cfg).map_err(|error| format!("quantizing `{key}`: {error}"))?;
        tensors.insert(key, quantized.dequantize());
        spec.layers.insert(node.name.clone(), LayerQuant { scales: quantized.scales.clone() });
    }
    Ok(spec)
}

/// Sets BatchNorm running statistics so that each BatchNorm roughly
/// normalizes the conv before it: for an input with unit second moment,
/// output channel `c` of a conv has variance near `sum(w_c^2)`, so the
/// running variance is that times a random factor in [0.5, 1.5] and the
/// running mean a small fraction of its square root. Affine parameters are
/// drawn near identity. Activations then keep a similar magnitude through
/// deep networks, as in a trained one, so int8 calibration is meaningful.
fn randomize_batch_norm(model: &Model, tensors: &mut Tensors, rng: &mut ChaCha8Rng) {
    for node in &model.nodes {
        let Op::BatchNorm { channels, .. } = node.op else { continue };
        let conv_weight = node.inputs.first().and_then(|input| tensors.get(&format!("{input}.weight")));
        let variances: Vec<f32> = match conv_weight {
            Some(weight) if weight.ndim() == 4 && weight.shape()[0] == channels => weight
                .outer_iter()
                .map(|filter| filter.iter().map(|w| w * w).sum::<f32>().max(1e-3))
                .collect(),
            _ => vec![1.0; channels],
        };
        let mut draw = |low: f32, high: f32| -> Vec<f32> { (0..channels).map(|_| rng.gen_range(low..high)).collect() };
        let var_factor = draw(0.5, 1.5);
        let mean_factor = draw(-0.2, 0.2);
        let gamma = draw(0.7, 1.3);
        let beta = draw(-0.1, 0.1);
        let running_var: Vec<f32> = variances.iter().zip(&var_factor).map(|(v, f)| v * f).collect();
        let running_mean: Vec<f32> = variances.iter().zip(&mean_factor).map(|(v, f)| v.sqrt() * f).collect();
        for (suffix, values) in [("running_var", running_var), ("running_mean", running_mean), ("weight", gamma), ("bias", beta)] {
            let array = ArrayD::from_shape_vec(IxDyn(&[channels]), values).expect("one value per channel");
            tensors.insert(format!("{}.{suffix}", node.name), array);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_keys_are_distinct() {
        let specs = NetworkSpec::standard_set();
        assert_eq!(specs[0].key, "resnet20-ternary-28");
        assert_eq!(specs[1].key, "resnet18-ternary-224");
        assert_eq!(specs[2].key, "resnet20-binary-28");
        assert_eq!(specs[1].input, [3, 224, 224]);
    }

    #[test]
    fn batch_norm_variance_follows_conv_weights() {
        let cfg = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: None };
        let model = zoo::build("resnet20", &cfg).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut tensors = random_tensors(&model, &mut rng);
        quantize_convs(&model, &mut tensors, Bits::Ternary).unwrap();
        randomize_batch_norm(&model, &mut tensors, &mut rng);

        let weight = &tensors["layer1.0.conv1.weight"];
        let var = &tensors["layer1.0.bn1.running_var"];
        for (channel, filter) in weight.outer_iter().enumerate() {
            let energy: f32 = filter.iter().map(|w| w * w).sum();
            let ratio = var[[channel]] / energy;
            assert!((0.5..1.5).contains(&ratio), "channel {channel}: running_var / sum(w^2) = {ratio}");
        }
    }

    #[test]
    fn prepared_checkpoint_is_valid() {
        let cfg = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: None };
        let model = zoo::build("resnet20", &cfg).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut tensors = random_tensors(&model, &mut rng);
        let quant = quantize_convs(&model, &mut tensors, Bits::Binary).unwrap();
        randomize_batch_norm(&model, &mut tensors, &mut rng);
        assert!(!quant.layers.contains_key("conv1"), "the conv reading the image must stay f32");
        assert!(quant.layers.contains_key("layer1.0.conv1"));
        let checkpoint = Checkpoint { model, quant: Some(quant), tensors };
        checkpoint.validate().unwrap();
    }
}
