#!/usr/bin/env python3
"""Print the main job's summary table from the JSON files in its run folder.

Usage: summary.py RUN_DIR [SECONDS]
"""

import json
import os
import sys


def load(run_dir, name):
    path = os.path.join(run_dir, name)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        sys.exit(f"summary.py: cannot read {path}: {err}")


def size_kib(run_dir, name):
    return os.path.getsize(os.path.join(run_dir, name)) / 1024


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip())
    run_dir = sys.argv[1]

    float_eval = load(run_dir, "float-eval.json")
    ternary_eval = load(run_dir, "ternary-eval.json")
    engine_f32 = load(run_dir, "engine-f32.json")
    engine_int8 = load(run_dir, "engine-int8.json")
    bench = load(run_dir, "bench.json")

    rows = [
        ("float ResNet-20, libtorch", float_eval["top1"], float_eval["correct"]),
        ("ternary RPR, libtorch", ternary_eval["top1"], ternary_eval["correct"]),
        ("ternary, rpr-infer f32 activations", engine_f32["top1"], engine_f32["correct"]),
        ("ternary, rpr-infer int8 activations", engine_int8["top1"], engine_int8["correct"]),
    ]
    print()
    print("| model | top-1 | correct of 10,000 |")
    print("| --- | ---: | ---: |")
    for name, top1, correct in rows:
        print(f"| {name} | {100 * top1:.2f}% | {correct} |")

    parity = engine_f32["correct"] - ternary_eval["correct"]
    print()
    print(f"f32-path parity with libtorch: {parity:+d} images")
    print(f"int8 path vs libtorch: {100 * (engine_int8['top1'] - ternary_eval['top1']):+.2f} points")

    rpr_kib = size_kib(run_dir, "model.rpr")
    onnx_kib = size_kib(run_dir, "model.onnx")
    float_onnx_kib = size_kib(run_dir, "model-float.onnx")
    print()
    print("| file | size | vs float ONNX |")
    print("| --- | ---: | ---: |")
    print(f"| model-float.onnx | {float_onnx_kib:.1f} KiB | 1.00x |")
    print(f"| model.onnx (int8 codes) | {onnx_kib:.1f} KiB | 1/{float_onnx_kib / onnx_kib:.1f} |")
    print(f"| model.rpr (2-bit packed) | {rpr_kib:.1f} KiB | 1/{float_onnx_kib / rpr_kib:.1f} |")

    latency = bench["latency_ms"]
    print()
    print(
        f"rpr-infer latency, batch 1, {bench['threads']} thread, {bench['precision']}, "
        f"{bench['kernels']} kernels: p50 {latency['p50_ms']:.3f} ms, p99 {latency['p99_ms']:.3f} ms"
    )
    if len(sys.argv) == 3:
        print(f"main job time after the build: {int(sys.argv[2])} s")


if __name__ == "__main__":
    main()
