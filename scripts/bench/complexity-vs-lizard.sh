#!/usr/bin/env bash
# Cyclomatic complexity of `armtune gate complexity` against lizard's (from PyPI), function by
# function, on real code of each language: how many functions agree, and where they differ.
#
# Usage: bash scripts/bench/complexity-vs-lizard.sh LANG=DIR [LANG=DIR ...]
#   LANG as lizard names it: java, csharp, ruby, php, lua (lizard has no shell support).
# Example: bash scripts/bench/complexity-vs-lizard.sh java=/tmp/jdk/java.base/java/util ruby=/tmp/sinatra
source "$(dirname "$0")/common.sh"
[ "$#" -gt 0 ] || { sed -n '2,8p' "$0"; exit 2; }
(cd "$ROOT" && cargo build --release --locked -q -p armtune)
need_python_tools
python3 "$ROOT/scripts/bench/complexity_vs_lizard.py" "$ROOT/target/release/armtune" "$VENV/bin/lizard" "$@"
