#!/usr/bin/env bash
# The main job: ternary RPR on Fashion-MNIST with ResNet-20, then export and
# inference. Installs what is missing first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh main
# shellcheck source=env.sh
source scripts/env.sh
echo "[main] (pipeline in progress)"
