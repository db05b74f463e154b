# Source this file to build and run the libtorch-linked crates by hand:
#   source scripts/env.sh
# tch's build script finds libtorch through the virtual environment's python.
rpr_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LIBTORCH_USE_PYTORCH=1
export PATH="$rpr_root/.venv/bin:$PATH"
rpr_torch_lib="$(ls -d "$rpr_root"/.venv/lib/python3*/site-packages/torch/lib 2>/dev/null | head -n 1)"
if [ -n "$rpr_torch_lib" ]; then
    export LD_LIBRARY_PATH="$rpr_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
unset rpr_torch_lib
