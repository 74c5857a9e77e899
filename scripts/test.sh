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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# cargo prints one result line per test binary, the last often a doc-test run of 0; say the total.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
