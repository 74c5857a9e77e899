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
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== aarch64: armtune built for ARM boards, kernel-free tests run under qemu-user"
# Debian's rustc with Debian's arm64 std (ci/setup.sh); the cross linker and the qemu runner come
# from .cargo/config.toml. The eBPF object inside is built with bpf_target_arch="aarch64".
export_a64=(env RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=target/aarch64)
"${export_a64[@]}" cargo build --locked --target aarch64-unknown-linux-gnu -p armtune
"${export_a64[@]}" cargo test --locked --target aarch64-unknown-linux-gnu -p armtune-layout --lib --tests 2>&1 | tee -a "$log"
# One test at a time: a test that runs a compiler forks the emulated process, and qemu-user can
# deadlock a fork taken while another guest thread holds one of its locks (seen once in CI, the
# child stuck on a futex for good).
"${export_a64[@]}" cargo test --locked --target aarch64-unknown-linux-gnu -p armtune-probes --lib -- --test-threads=1 2>&1 | tee -a "$log"
"${export_a64[@]}" cargo test --locked --target aarch64-unknown-linux-gnu -p armtune-gate --lib --tests 2>&1 | tee -a "$log"
# The benchmark kernels' own tests: LL/SC and LSE counting, the hand-placed loops' alignment.
"${export_a64[@]}" cargo test --locked --target aarch64-unknown-linux-gnu -p armtune-bench-arm64 --lib 2>&1 | tee -a "$log"
a64=target/aarch64/aarch64-unknown-linux-gnu/debug/armtune
qemu=(qemu-aarch64-static -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
"${qemu[@]}" "$a64" --version
# The aarch64 armtune checks the layout fixture under emulation and must find its planted LSE fault.
fixture=target/aarch64/defects
aarch64-linux-gnu-gcc -nostdlib -static -o "$fixture" layout/tests/fixtures/defects.S
# (Output captured first: `grep -q` stops reading at the first match, and under pipefail the
# writer's SIGPIPE would fail the pipeline.)
a64_report=$("${qemu[@]}" "$a64" check "$fixture" --target rpi4 --format json)
grep -q '"lse-on-non-lse-core"' <<<"$a64_report" \
    || { echo "the aarch64 armtune check missed the fixture's LSE fault" >&2; exit 1; }

echo "== cargo test"
cargo test --workspace --locked 2>&1 | tee -a "$log"

echo "== armtune gate on this repository (complexity over the baseline, secrets)"
# The baseline holds the functions that were already over the limits when the gate was adopted;
# regenerate it with: ./target/debug/armtune gate --format json -o ci/gate-baseline.json
./target/debug/armtune gate --baseline ci/gate-baseline.json
if compgen -G "target/artifacts/report/*.png" >/dev/null; then
    echo "screenshots of the HTML report tests: target/artifacts/report/"
fi
# cargo prints one result line per test binary (x86_64 and aarch64), the last often a doc-test run
# of 0; say the total.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
