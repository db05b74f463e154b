#!/usr/bin/env bash
# The main job: ternary RPR on Fashion-MNIST with ResNet-20, then export and
# inference with the engine. Installs what is missing first.
#
# Outputs go to runs/main/. Environment overrides for quicker or longer runs:
#   RPR_TRAIN_SUBSET   training images per RPR epoch (default 8000)
#   RPR_EPOCHS         RPR epochs (default 7: FF 0.9 ... 1.0, one epoch each)
#   RPR_LR             Adam learning rate of the RPR run (default 3e-4)
#   RPR_CALIBRATE      images for the int8 activation calibration (default 512)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh main
# shellcheck source=env.sh
source scripts/env.sh

float_dir="models/resnet20-fmnist-float"
run_dir="runs/main"
train_subset="${RPR_TRAIN_SUBSET:-8000}"
epochs="${RPR_EPOCHS:-7}"
lr="${RPR_LR:-0.0003}"
calibrate="${RPR_CALIBRATE:-512}"
bin="target/release"

step() { echo "[main] $*"; }

step "building rpr-train, rpr-export and rpr-infer (release)"
cargo build --release --locked -p rpr-train -p rpr-export -p rpr-infer

mkdir -p "$run_dir"
start=$(date +%s)

if [ ! -f "$float_dir/weights.safetensors" ]; then
    # The shipped float checkpoint is missing: reproduce it (docs/RESULTS.md).
    # It was trained with one libtorch thread, and the thread count changes the
    # order of float reductions and with it the weights.
    step "pretraining the float ResNet-20 into $float_dir"
    "$bin/rpr-train" pretrain --arch resnet20 --dataset fashion-mnist \
        --epochs 7 --batch-size 128 --lr 0.1 --weight-decay 5e-4 \
        --seed 0 --threads 1 --out "$float_dir"
fi

step "ternary RPR from $float_dir ($epochs epochs, $train_subset training images per epoch)"
"$bin/rpr-train" rpr --method rpr --bits ternary --init-checkpoint "$float_dir" \
    --train-subset "$train_subset" --epochs "$epochs" --ff-step-epochs 1 --lr "$lr" --seed 0 \
    --out "$run_dir/ternary"

step "evaluating the float and ternary checkpoints with libtorch on the full test set"
"$bin/rpr-train" eval "$float_dir" > "$run_dir/float-eval.json"
"$bin/rpr-train" eval "$run_dir/ternary" > "$run_dir/ternary-eval.json"

step "exporting model.rpr (calibrated on $calibrate images) and model.onnx"
"$bin/rpr-export" --packed "$run_dir/ternary" -o "$run_dir/model.rpr" --calibrate "$calibrate"
"$bin/rpr-export" --onnx "$run_dir/ternary" -o "$run_dir/model.onnx"
"$bin/rpr-export" --onnx "$run_dir/ternary" --onnx-float -o "$run_dir/model-float.onnx"
"$bin/rpr-export" summary "$run_dir/model.rpr" | tee "$run_dir/summary.txt"

step "evaluating model.rpr with rpr-infer on the full test set"
"$bin/rpr-infer" eval "$run_dir/model.rpr" --precision f32 --json > "$run_dir/engine-f32.json"
"$bin/rpr-infer" eval "$run_dir/model.rpr" --precision int8 --json > "$run_dir/engine-int8.json"
"$bin/rpr-infer" bench "$run_dir/model.rpr" --batch 1 --threads 1 --json > "$run_dir/bench.json"

end=$(date +%s)
python3 scripts/summary.py "$run_dir" "$((end - start))"
