#!/usr/bin/env bash
# Set-up, build, and a CPU profile of the bundled demo workload into a flame graph.
#
# Usage: bash scripts/demo.sh [SECONDS]     (writes demo-out/flame.svg; needs root or sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}

bash ci/setup.sh
if ! command -v cargo >/dev/null 2>&1; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
cargo build --release --locked -p armtune
mkdir -p demo-out
cc -O2 -g -fno-omit-frame-pointer -pthread -o demo-out/demo workloads/demo.c

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi
"${sudo[@]}" ./target/release/armtune profile -F 499 -o demo-out/flame.svg --folded demo-out/flame.folded \
    -- ./demo-out/demo "$seconds"
echo "open demo-out/flame.svg in a browser: work_major should take about 3/4 of demo's width, work_minor 1/4"
