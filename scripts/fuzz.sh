#!/usr/bin/env bash
# Runs armtune's fuzz targets (fuzzing/fuzz, entry points in fuzzing/src/lib.rs) for SECONDS each
# (default 60), all of them or those named, and prints each one's executions and what it found.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   needs cargo-fuzz (`cargo install cargo-fuzz`); runs on the stable toolchain (RUSTC_BOOTSTRAP=1,
#   --sanitizer none: Rust's own checks, overflow checks included, are what catch the bugs).
#   FUZZ_JOBS=N runs N targets at once (default: one); FUZZ_RUNS=N ends a target after N executions
#   if that comes before SECONDS (`FUZZ_RUNS=1000000 scripts/fuzz.sh 600`: a million or ten minutes).
#
# Each target starts from its kept seeds (fuzzing/seeds/NAME, replayed by `cargo test`) and, for
# the ELF readers, ELF files gathered here (this machine's binaries and libraries, the workloads
# built for x86-64 and aarch64). The corpus grows in target/fuzz/corpus/NAME across runs. A crash
# is written to fuzzing/fuzz/artifacts/NAME/: fix it, then keep the input in
# fuzzing/regressions/NAME/ (the test suite replays it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-60}
shift || true
cd "$ROOT/fuzzing"
mapfile -t ALL < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^armtune-fuzz-targets$')
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
command -v cargo-fuzz >/dev/null || { echo "scripts/fuzz.sh: cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 2; }

CORPUS="$ROOT/target/fuzz/corpus"
LOGS="$ROOT/target/fuzz/logs"
mkdir -p "$CORPUS" "$LOGS"

# ELF seeds: small real files (libFuzzer's inputs grow to the largest seed), built or installed.
ELF="$ROOT/target/fuzz/elf-seeds"
if [ ! -d "$ELF" ]; then
    mkdir -p "$ELF.tmp"
    for f in /bin/true /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/lib/aarch64-linux-gnu/libz.so.1; do
        [ -f "$f" ] && cp -L "$f" "$ELF.tmp/$(basename "$f")-$(uname -m)" || true
    done
    for cc in gcc aarch64-linux-gnu-gcc; do
        command -v $cc >/dev/null || continue
        $cc -O2 -g -pthread -o "$ELF.tmp/demo-$cc" "$ROOT/workloads/demo.c" || true
        $cc -O2 -g -fomit-frame-pointer -shared -fPIC -o "$ELF.tmp/libnofp-$cc.so" "$ROOT/workloads/nofp_lib.c" || true
        $cc -O2 -g -c -o "$ELF.tmp/structs-$cc.o" "$ROOT/layout/tests/fixtures/structs.c" || true
    done
    mv "$ELF.tmp" "$ELF"
fi
# The gate's complexity fixtures, each behind the byte that names its extension for gate_file
# (the index in fuzzing/src/lib.rs's NAMES).
GATE="$ROOT/target/fuzz/gate-seeds"
mkdir -p "$GATE"
names=$(sed -n '/const NAMES/,/];/p' src/lib.rs | grep -o '"[^"]*"' | tr -d '"')
for f in "$ROOT"/ci/gate/tests/fixtures/complexity/*; do
    i=$(printf '%s\n' $names | grep -nx "f.${f##*.}" | cut -d: -f1)
    if [ -n "$i" ]; then
        { printf "\\x$(printf %02x $((i - 1)))"; cat "$f"; } > "$GATE/$(basename "$f")"
    fi
done

export RUSTC_BOOTSTRAP=1
echo "scripts/fuzz.sh: building ${#TARGETS[@]} targets" >&2
cargo fuzz build --sanitizer none --debug-assertions >&2

run_one() {
    local t=$1 dirs=()
    mkdir -p "$CORPUS/$t"
    [ -d "seeds/$t" ] && dirs+=("seeds/$t")
    case $t in layout_elf | elf_notes) dirs+=("$ELF") ;; gate_file) dirs+=("$GATE") ;; esac
    local status=0
    cargo fuzz run --sanitizer none --debug-assertions "$t" "$CORPUS/$t" "${dirs[@]}" -- \
        -max_total_time="$SECONDS_EACH" -runs="${FUZZ_RUNS:--1}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        > "$LOGS/$t.log" 2>&1 || status=$?
    local runs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.log" | tail -1)
    local found="nothing"
    if [ $status -ne 0 ]; then
        found="CRASH (exit $status): $(grep -m1 -o 'artifacts/[^ ]*' "$LOGS/$t.log" || echo "see $LOGS/$t.log")"
    fi
    local took
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$LOGS/$t.log" | tail -1)
    printf '%-15s %12s executions in %5ss, corpus %5s files: %s\n' "$t" "${runs:-?}" "${took:-?}" \
        "$(ls "$CORPUS/$t" | wc -l)" "$found"
    [ $status -eq 0 ]
}

failed=0
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    export -f run_one
    export CORPUS LOGS ELF GATE SECONDS_EACH FUZZ_RUNS
    printf '%s\n' "${TARGETS[@]}" | xargs -P "$FUZZ_JOBS" -I{} bash -c 'run_one {}' || failed=1
else
    for t in "${TARGETS[@]}"; do run_one "$t" || failed=1; done
fi
exit $failed
