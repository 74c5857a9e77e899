#!/usr/bin/env bash
# Cyclomatic complexity of `armtune gate complexity` against lizard's (from PyPI), function by
# function, on real code of each language: how many functions agree, and where they differ.
#
# Usage: bash scripts/bench/complexity-vs-lizard.sh LANG=DIR [LANG=DIR ...]
#   LANG as lizard names it: java, csharp, ruby, php, lua, kotlin, swift, scala (lizard has no
#   shell support).
# Example: bash scripts/bench/complexity-vs-lizard.sh java=/tmp/jdk/java.base/java/util ruby=/tmp/sinatra
source "$(dirname "$0")/common.sh"
[ "$#" -gt 0 ] || { sed -n '2,8p' "$0"; exit 2; }
# The gate alone (`armtune-gate` is `armtune gate` without the profiler), which builds in a minute.
(cd "$ROOT" && cargo build --release --locked -q -p armtune-gate --features cli)
need_python_tools
python3 "$ROOT/scripts/bench/complexity_vs_lizard.py" "$ROOT/target/release/armtune-gate" "$VENV/bin/lizard" "$@"
