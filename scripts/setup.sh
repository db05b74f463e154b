#!/usr/bin/env bash
# Install what rpr needs on a Debian or Ubuntu machine, idempotently.
#
#   scripts/setup.sh main    libtorch (PyPI torch in .venv) and Fashion-MNIST
#   scripts/setup.sh test    the above plus the aarch64 cross toolchain, qemu-user
#                            and the Python packages the tests call (onnx, onnxruntime)
#   scripts/setup.sh bench   the above plus hyperfine
#
# Each step checks first and prints what it installs. Nothing is removed.
set -euo pipefail

mode="${1:-main}"
case "$mode" in
    main | test | bench) ;;
    *)
        echo "setup.sh: invalid mode '$mode': expected main, test or bench" >&2
        exit 2
        ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

# Versions that tch 0.26 and the tests were built against.
torch_version="2.13.0"
onnx_version="1.23.2"
onnxruntime_version="1.32.0"

say() { echo "[setup] $*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "setup.sh: '$*' needs root, and sudo is missing: run it as root" >&2
        exit 1
    fi
}

apt_updated=0
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    say "installing Debian packages: ${missing[*]}"
    if [ "$apt_updated" -eq 0 ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

pip_install() {
    # Args: import name, pip requirement.
    if ! "$venv/bin/python" -c "import $1" 2>/dev/null; then
        say "installing $2 into .venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "$2"
    fi
}

# Python virtual environment with libtorch, which tch 0.26 links through
# LIBTORCH_USE_PYTORCH=1. About 5 GB, so it lives in the project folder.
if [ ! -x "$venv/bin/python" ]; then
    apt_install python3-venv
    say "creating the Python virtual environment .venv"
    python3 -m venv "$venv"
fi
installed_torch="$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [ "$installed_torch" != "$torch_version" ]; then
    say "installing torch==$torch_version into .venv (about 5 GB, one minute)"
    "$venv/bin/pip" install -q --disable-pip-version-check "torch==$torch_version"
fi
pip_install numpy numpy

# Fashion-MNIST, the default data set of the main job.
apt_install dataset-fashion-mnist

if [ "$mode" = test ] || [ "$mode" = bench ]; then
    pip_install onnx "onnx==$onnx_version"
    pip_install onnxruntime "onnxruntime==$onnxruntime_version"

    # Cross-build and run the deploy crates' tests for 64-bit ARM boards.
    apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
    if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
        say "adding the Rust target aarch64-unknown-linux-gnu"
        rustup target add aarch64-unknown-linux-gnu
    fi
fi

if [ "$mode" = bench ]; then
    apt_install hyperfine
fi

say "ready ($mode)"
