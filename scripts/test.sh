#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, and every test (the eBPF ones for real, as root).
#
# Usage: bash scripts/test.sh
# Run as root, or as a user with sudo: the test binaries then run under `sudo -E` (the build does not).
# ARMTUNE_REQUIRE_BPF=1 turns "skipped: needs root" into a failure; .ci/run sets it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
if ! command -v cargo >/dev/null 2>&1; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    # Build as the user, run the test binaries as root.
    triple=$(rustc -vV | sed -n 's/^host: //p')
    export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUNNER=sudo -E"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
