#!/usr/bin/env bash
# `armtune check` throughput on a large real arm64 library (Debian's libLLVM-14, ~46 MB of text)
# against `aarch64-linux-gnu-objdump -d` on the same file, in one run: instructions per second of
# each and the time ratio.
#
# Usage: bash scripts/bench/check-throughput.sh [ROUNDS]    (needs ci/setup.sh's arm64 set-up)
# Target (issue 5): the whole analysis in at most a tenth of objdump's disassembly time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${ARMTUNE_BENCH_DIR:-/tmp/armtune-bench-check}
rounds=${1:-3}
if ! command -v cargo >/dev/null 2>&1; then export PATH="$HOME/.cargo/bin:$PATH"; fi
mkdir -p "$WORK"
(cd "$ROOT" && bash ci/setup.sh >/dev/null && cargo build --release --locked -q -p armtune)
ARMTUNE="$ROOT/target/release/armtune"

LIB=$(ls "$WORK"/root/usr/lib/aarch64-linux-gnu/libLLVM-14.so* 2>/dev/null | head -1 || true)
if [ -z "$LIB" ]; then
    (cd "$WORK" && apt-get download -q libllvm14:arm64 >/dev/null && dpkg-deb -x libllvm14_*_arm64.deb root)
    LIB=$(ls "$WORK"/root/usr/lib/aarch64-linux-gnu/libLLVM-14.so* | head -1)
fi
LIB=$(readlink -f "$LIB")
text_bytes=$((16#$(aarch64-linux-gnu-objdump -h "$LIB" | awk '$2 == ".text" { print $3 }')))
insns=$((text_bytes / 4))

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
timed() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN {print e - s}'; }
: >"$WORK/check"; : >"$WORK/objdump"
for i in $(seq "$rounds"); do
    timed "$ARMTUNE" check "$LIB" --target rpi4 --format json >>"$WORK/check"
    timed aarch64-linux-gnu-objdump -d "$LIB" >>"$WORK/objdump"
    echo "round $i: armtune check $(tail -1 "$WORK/check") s, objdump -d $(tail -1 "$WORK/objdump") s" >&2
done
awk -v c="$(median <"$WORK/check")" -v o="$(median <"$WORK/objdump")" -v n="$insns" -v f="$(basename "$LIB")" 'BEGIN {
    printf "%s: %d instructions of .text; median of runs: armtune check %.2f s (%.1f M insn/s), objdump -d %.2f s (%.1f M insn/s)\n", f, n, c, n / c / 1e6, o, n / o / 1e6
    printf "ratio armtune/objdump: %.3f (target: <= 0.1)\n", c / o
}'
