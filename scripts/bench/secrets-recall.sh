#!/usr/bin/env bash
# Recall and precision of `armtune gate secrets` on a labelled corpus (scripts/bench/secrets_corpus.py:
# a realistic application tree with made-up credentials of every family issue 18 names, and as
# many look-alikes), side by side with detect-secrets and CredSweeper from PyPI on the same tree.
#
# Usage: bash scripts/bench/secrets-recall.sh
# Target (issue 18): recall >= 0.97 and precision >= 0.95.
source "$(dirname "$0")/common.sh"
# The gate alone (`armtune-gate` is `armtune gate` without the profiler), which builds in a minute.
(cd "$ROOT" && cargo build --release --locked -q -p armtune-gate --features cli)
ARMTUNE="$ROOT/target/release/armtune-gate"
need_python_tools
venv=$VENV
corpus="$WORK/corpus"
rm -rf "$corpus" && mkdir -p "$corpus"
python3 "$ROOT/scripts/bench/secrets_corpus.py" make "$corpus"
(cd "$corpus" && git init -q && git add -A)
cd "$corpus"
"$ARMTUNE" secrets --format json -o "$WORK/armtune.json" . >/dev/null 2>&1 || true
"$venv/bin/detect-secrets" scan --all-files >"$WORK/detect-secrets.json"
"$venv/bin/credsweeper" --path "$corpus" --save-json "$WORK/credsweeper.json" >/dev/null 2>&1 || true
for tool in armtune detect-secrets credsweeper; do
    python3 "$ROOT/scripts/bench/secrets_corpus.py" score "$WORK/labels.json" "$tool" "$WORK/$tool.json"
done
