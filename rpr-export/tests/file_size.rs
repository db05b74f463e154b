//! Size of the `.rpr` file against the float32 ONNX file of the same model.
//! File sizes do not depend on the weight values except for a few bytes of
//! compressed header, so random weights stand in for a trained checkpoint.

mod common;

use rpr_core::quant::{Bits, Granularity};
use rpr_core::zoo::{self, ZooConfig};
use rpr_export::calibrate::calibrate;
use rpr_export::onnx::{encode_onnx, OnnxOptions, WeightStorage};
use rpr_export::packed::{encode_rpr, PackOptions, RprFile, ALIGN, PREAMBLE_LEN};

use common::{random_checkpoint, random_images};

/// The `.rpr` file of a ternary ResNet-20 (2 bits per weight, calibrated)
/// must be at most this fraction of its float32 ONNX file.
const MAX_RATIO: f64 = 1.0 / 14.0;

#[test]
fn ternary_resnet20_fits_size_limit() {
    // Fashion-MNIST geometry, as in the main training run.
    let config = ZooConfig { input_channels: 1, input_size: 28, num_classes: 10, upsample_to: None };
    let model = zoo::build("resnet20", &config).unwrap();
    let checkpoint = random_checkpoint(model, Some(Bits::Ternary), Granularity::PerChannel, 43);

    let images = random_images(2, checkpoint.model.input_shape, 47);
    let calibration =
        calibrate(&checkpoint.model, &checkpoint.tensors, images.view(), "random", 100.0, &mut |_| {}).unwrap();
    let rpr = encode_rpr(&checkpoint, &PackOptions { ternary3: false, calibration: Some(calibration) }).unwrap();
    let onnx = encode_onnx(&checkpoint, &OnnxOptions { weights: WeightStorage::Float, qdq: None }).unwrap();

    let file = RprFile::from_bytes(rpr.clone()).unwrap();
    assert!(file.calibration().is_some(), "the measured file must include the calibration");
    let payload_bytes: usize = file.tensors().map(|info| info.length).sum();
    let header_and_padding = rpr.len() - payload_bytes;
    let ratio = rpr.len() as f64 / onnx.len() as f64;
    assert!(
        ratio <= MAX_RATIO,
        ".rpr file is {} bytes ({payload_bytes} of payloads, {header_and_padding} of preamble, header and padding), \
         1/{:.2} of the {}-byte float ONNX file; the limit is 1/14",
        rpr.len(),
        1.0 / ratio,
        onnx.len()
    );
    // Payloads dominate: the preamble, the compressed header and alignment
    // padding stay within about 2 KiB for ResNet-20.
    assert!(header_and_padding <= PREAMBLE_LEN + 2048 + ALIGN as usize, "{header_and_padding} bytes of header and padding");
}
