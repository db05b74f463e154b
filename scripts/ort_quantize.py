#!/usr/bin/env python3
"""Quantize a float ONNX model to int8 with ONNX Runtime's static quantization.

The engine comparison (scripts/compare.sh) runs this once per network to get
the int8 model that ONNX Runtime's own tooling makes from rpr-export's float
file, and times that model next to rpr-infer.

Steps: `onnxruntime.quantization.shape_inference.quant_pre_process` (graph
optimization and shape inference), then `onnxruntime.quantization.
quantize_static` in QDQ format with per-channel int8 weights, uint8
activations and the default MinMax calibration. The calibration images feed
the model one at a time, or in batches of the model's batch size when its
batch dimension is fixed. The output is written to a temporary file in the
output's folder and renamed, so an interrupted run leaves no partial model.

Usage:
    ort_quantize.py FLOAT.onnx CALIBRATION.f32 --shape N,C,H,W OUTPUT.onnx

CALIBRATION.f32 is a raw little-endian f32 file of N images in NCHW order.
On success the script prints one JSON object on stdout:
{"onnxruntime_version", "output", "node_counts"}, where `node_counts` maps
each operator type of the output graph to its number of nodes. On failure it
prints the reason as the last line of stderr and exits with status 1.
"""

import argparse
import json
import os
import sys
import tempfile
from collections import Counter


class QuantizeError(Exception):
    """A failure with a message meant for the user."""


def parse_shape(text):
    try:
        shape = [int(dim) for dim in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid shape '{text}': expected N,C,H,W, for example 8,1,28,28") from None
    if len(shape) != 4 or any(dim <= 0 for dim in shape):
        raise argparse.ArgumentTypeError(f"invalid shape '{text}': expected four positive integers N,C,H,W")
    return shape


def import_onnxruntime():
    try:
        import onnx
        import onnxruntime
        from onnxruntime import quantization
        from onnxruntime.quantization import shape_inference
    except ImportError as error:
        raise QuantizeError(
            f"{sys.executable} cannot import onnx or onnxruntime ({error}); run scripts/setup.sh bench"
        ) from None
    return onnx, onnxruntime, quantization, shape_inference


def load_calibration(np, path, shape):
    try:
        size = os.path.getsize(path)
    except OSError as error:
        raise QuantizeError(f"failed to read the calibration file {path}: {error}") from None
    expected = int(np.prod(shape))
    if size != 4 * expected:
        raise QuantizeError(
            f"calibration file {path} has {size} bytes ({size / 4:g} f32 values), "
            f"expected {4 * expected} bytes for shape {shape}; write it again with the same --shape"
        )
    images = np.fromfile(path, dtype="<f4").reshape(shape)
    bad = np.argwhere(~np.isfinite(images))
    if bad.size:
        index = [int(i) for i in bad[0]]
        raise QuantizeError(f"calibration file {path} contains the non-finite value {images[tuple(index)]} at {index}")
    return images


def model_input(onnx, path):
    """Return the name and dimensions of the model's only input (None for a dynamic dimension)."""
    try:
        model = onnx.load(path)
    except Exception as error:  # noqa: BLE001 - onnx raises several types for a bad file
        raise QuantizeError(f"failed to load the ONNX model {path}: {error}") from None
    initializers = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initializers]
    if len(inputs) != 1:
        names = [value.name for value in inputs]
        raise QuantizeError(f"model {path} has inputs {names}, expected exactly one image input")
    dims = [dim.dim_value if dim.HasField("dim_value") else None for dim in inputs[0].type.tensor_type.shape.dim]
    return inputs[0].name, dims


def calibration_batches(images, dims, path):
    """Split the calibration images into the batches the model accepts."""
    if len(dims) != 4:
        raise QuantizeError(f"model {path} has an input of rank {len(dims)}, expected an NCHW image batch")
    image_dims = list(images.shape[1:])
    for axis, (model_dim, image_dim) in enumerate(zip(dims[1:], image_dims), start=1):
        if model_dim is not None and model_dim != image_dim:
            raise QuantizeError(
                f"model {path} expects input dimension {axis} to be {model_dim}, "
                f"but the calibration images have shape {list(images.shape)}"
            )
    batch = dims[0] or 1
    if len(images) % batch != 0:
        raise QuantizeError(
            f"model {path} has a fixed batch size of {batch}, which does not divide the {len(images)} calibration images"
        )
    return [images[start : start + batch] for start in range(0, len(images), batch)]


def quantize(args):
    import numpy as np

    onnx, onnxruntime, quantization, shape_inference = import_onnxruntime()
    images = load_calibration(np, args.calibration, args.shape)
    input_name, dims = model_input(onnx, args.model)
    batches = calibration_batches(images, dims, args.model)

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.pending = iter(batches)

        def get_next(self):
            batch = next(self.pending, None)
            return None if batch is None else {input_name: batch}

    output_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(output_dir):
        raise QuantizeError(f"output folder {output_dir} not found; create it or pass another output path")
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".ort_quantize.") as work_dir:
        preprocessed = os.path.join(work_dir, "preprocessed.onnx")
        quantized = os.path.join(work_dir, "quantized.onnx")
        try:
            # ONNX shape inference infers every shape of these CNNs, so the
            # symbolic shape pass is skipped.
            shape_inference.quant_pre_process(args.model, preprocessed, skip_symbolic_shape=True)
        except Exception as error:  # noqa: BLE001 - reported with the model's name
            raise QuantizeError(f"quant_pre_process failed on {args.model}: {error}") from None
        try:
            quantization.quantize_static(
                preprocessed,
                quantized,
                Reader(),
                quant_format=quantization.QuantFormat.QDQ,
                per_channel=True,
                activation_type=quantization.QuantType.QUInt8,
                weight_type=quantization.QuantType.QInt8,
                calibrate_method=quantization.CalibrationMethod.MinMax,
            )
        except Exception as error:  # noqa: BLE001 - reported with the model's name
            raise QuantizeError(f"quantize_static failed on {args.model}: {error}") from None
        node_counts = Counter(node.op_type for node in onnx.load(quantized).graph.node)
        os.replace(quantized, args.output)
    return {"onnxruntime_version": onnxruntime.__version__, "output": args.output, "node_counts": dict(node_counts)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="float ONNX model to quantize")
    parser.add_argument("calibration", help="raw little-endian f32 file of calibration images in NCHW order")
    parser.add_argument("output", help="path of the quantized ONNX model")
    parser.add_argument("--shape", type=parse_shape, required=True, help="shape of the calibration file as N,C,H,W")
    args = parser.parse_args()

    try:
        summary = quantize(args)
    except (QuantizeError, OSError) as error:
        print(f"ort_quantize.py: {error}", file=sys.stderr)
        return 1
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
