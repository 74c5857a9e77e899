#!/usr/bin/env bash
# Speed of `armtune gate` against the usual single-purpose tools, in one run on one tree:
# complexity against lizard, secrets against detect-secrets and credsweeper (all from PyPI, in a
# venv under the work directory). Prints MB/s and the ratios.
#
# Usage: bash scripts/bench/gate-speed.sh [CORPUS_DIR] [EXTRA_DIR ...]
# Default corpus: the sources of some crates this workspace depends on (Rust, and C in
# capstone-sys), copied from ~/.cargo/registry/src after a build. EXTRA_DIRs (real code in the
# other languages the gate measures) are copied in beside them; give "" as CORPUS_DIR to keep the
# default corpus and add extras.
# Target (issue 6): at least 20x lizard, and 10x the fastest secret scanner measured.
source "$(dirname "$0")/common.sh"
# The gate alone (`armtune-gate` is `armtune gate` without the profiler), which builds in a minute.
(cd "$ROOT" && cargo build --release --locked -q -p armtune-gate --features cli)
ARMTUNE="$ROOT/target/release/armtune-gate"

need_python_tools
venv=$VENV

corpus=${1:-}
if [ -z "$corpus" ]; then
    corpus="$WORK/corpus"
    rm -rf "$corpus" && mkdir -p "$corpus"
    registry=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ | head -1)
    for crate in syn regex-automata regex-syntax gimli object blazesym aya aya-obj clap_builder serde_json \
        serde aho-corasick memchr ignore globset inferno criterion capstone-sys; do
        dir=$(ls -d "$registry$crate"-[0-9]* 2>/dev/null | sort -V | tail -1)
        [ -n "$dir" ] && cp -r "$dir" "$corpus/"
    done
    for extra in "${@:2}"; do
        cp -r "$extra" "$corpus/"
    done
fi
mb=$(du -sm --apparent-size "$corpus" | cut -f1)
echo "corpus: $corpus ($mb MB, $(find "$corpus" -type f | wc -l) files, $(nproc) CPUs)"

# Each tool is timed once, right after every file of the corpus has been read (the page cache
# warm for all alike: a first cold run of armtune measured 20 % slower, lizard's 17 s hardly moves).
warm() { find . -type f -print0 | xargs -0 cat >/dev/null; }
seconds() { local t0 t1; warm; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; }
row() { awk -v n="$1" -v s="$2" -v mb="$mb" 'BEGIN { printf "  %-44s %8.2f s  %8.1f MB/s\n", n, s, mb / s }'; }

# Every tool runs in the corpus on "." (detect-secrets scans nothing outside its working tree when
# started inside another git repository).
cd "$corpus"
gate_c=$(seconds "$ARMTUNE" complexity --no-ignore .)
lizard=$(seconds "$venv/bin/lizard" .)
gate_s=$(seconds "$ARMTUNE" secrets --no-ignore .)
detect=$(seconds "$venv/bin/detect-secrets" scan --all-files .)
cred=$(seconds "$venv/bin/credsweeper" --path . --save-json "$WORK/credsweeper.json")

echo "complexity:"
row "armtune gate complexity" "$gate_c"
row "lizard $("$venv/bin/lizard" --version)" "$lizard"
echo "secrets:"
row "armtune gate secrets" "$gate_s"
row "detect-secrets $("$venv/bin/detect-secrets" --version)" "$detect"
row "$("$venv/bin/credsweeper" --version)" "$cred"
fastest=$(printf '%s\n%s\n' "$detect" "$cred" | sort -g | head -1)
awk -v c="$gate_c" -v l="$lizard" -v s="$gate_s" -v f="$fastest" 'BEGIN {
    printf "ratios: complexity %.1fx lizard (target >= 20x); secrets %.1fx the fastest secret scanner (target >= 10x)\n", l / c, f / s
}'
