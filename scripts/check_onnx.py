#!/usr/bin/env python3
"""Check an ONNX file written by rpr-export and optionally run it.

Runs the ONNX checker with full shape inference. With --input, also runs the
model in ONNX Runtime (CPU) on a raw little-endian f32 file of the given
shape and writes the first output as raw f32 to --output.

Usage:
    check_onnx.py MODEL.onnx [--input IN.f32 --shape N,C,H,W --output OUT.f32]

Needs the Python packages onnx and onnxruntime. Exit status 0 means the
model passed; any failure prints the reason and exits non-zero.
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="ONNX file to check")
    parser.add_argument("--input", help="raw little-endian f32 input tensor")
    parser.add_argument("--shape", help="input shape as comma-separated integers, e.g. 2,3,32,32")
    parser.add_argument("--output", help="where to write the first output as raw f32")
    args = parser.parse_args()

    import numpy as np
    import onnx

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    opsets = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
    print(f"checker passed: {args.model} (opsets {opsets}, {len(model.graph.node)} nodes)")

    if args.input is None:
        return 0
    if args.shape is None or args.output is None:
        parser.error("--input needs --shape and --output")

    import onnxruntime

    shape = [int(dim) for dim in args.shape.split(",")]
    data = np.fromfile(args.input, dtype="<f4").reshape(shape)
    session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    (logits, *_) = session.run(None, {input_name: data})
    np.asarray(logits, dtype="<f4").tofile(args.output)
    print(f"onnxruntime output shape {list(logits.shape)} written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
