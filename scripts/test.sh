#!/usr/bin/env bash
# Run every test of the workspace: installs what is missing, then runs the
# host tests (including the libtorch-linked trainer) and the deploy crates'
# tests cross-built for aarch64 under qemu-user.
#
#   scripts/test.sh            everything
#   scripts/test.sh --no-arm   skip the aarch64 cross tests
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

arm=1
for arg in "$@"; do
    case "$arg" in
        --no-arm) arm=0 ;;
        *)
            echo "test.sh: unknown option '$arg': expected --no-arm" >&2
            exit 2
            ;;
    esac
done

scripts/setup.sh test
# shellcheck source=env.sh
source scripts/env.sh

# `cargo test` links tests against the rlib only, so it leaves the static
# library that the C example test compiles against stale or missing.
echo "[test] host: cargo build -p rpr-infer (C libraries), cargo test --workspace"
cargo build --locked -p rpr-infer
cargo test --workspace --locked

if [ "$arm" -eq 1 ]; then
    # The deploy crates run on ARM boards; their NEON kernels must match the
    # scalar reference bit for bit, so their tests also run under emulation.
    echo "[test] aarch64 under qemu-user: rpr-core, rpr-infer"
    cargo test --locked --target aarch64-unknown-linux-gnu -p rpr-core -p rpr-infer
fi

echo "[test] all test suites passed"
