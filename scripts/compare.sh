#!/usr/bin/env bash
# Time rpr-infer next to libtorch (tch), PyTorch eager, tract and ONNX
# Runtime on the same exported networks and inputs, and write results.md,
# results.json and chart.png (default folder: runs/compare).
#
# Rows: rpr-infer int8 and f32, libtorch fp32 through tch, PyTorch eager
# fp32 (an nn.Module called from Python, scripts/torch_bench.py), tract on
# the float ONNX file and on rpr-export's QDQ file, and ONNX Runtime on
# three models. These are the float file, rpr-export's QDQ file, and the
# int8 model that ONNX Runtime's own quantize_static makes from the float
# file (scripts/ort_quantize.py), calibrated on the images that set
# rpr-infer's activation scales.
#
#   scripts/compare.sh            ternary ResNet-20 and ResNet-18, binary ResNet-20
#   scripts/compare.sh --quick    ternary ResNet-20 with few iterations
#   scripts/compare.sh --help     every option of the compare binary
#
# Every engine configuration is timed in its own process, started anew for
# each round, so no engine's threads run while another one is timed. Model
# files and inputs are written once, under the output folder.
#
# Needs libtorch and onnxruntime in .venv: run `scripts/setup.sh bench` once.
# Builds with the release profile (fat LTO), which takes several minutes the
# first time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! .venv/bin/python -c "import onnxruntime, torch" 2>/dev/null; then
    echo "compare.sh: .venv lacks torch or onnxruntime; run scripts/setup.sh bench first" >&2
    exit 1
fi

# shellcheck source=env.sh
source scripts/env.sh
target_dir="${CARGO_TARGET_DIR:-$root/target}"

echo "[compare] building the compare binary (release)" >&2
cargo build --release -p rpr-benches --bin compare

RPR_COMPARE_COMMAND="scripts/compare.sh $*" "$target_dir/release/compare" "$@"
