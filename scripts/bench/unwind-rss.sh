#!/usr/bin/env bash
# Peak memory (RSS) of a host-wide `armtune profile --all --unwind dwarf` while the demo (built
# without frame pointers) runs two threads, with what the run unwound.
#
# Usage: sudo bash scripts/bench/unwind-rss.sh [SECONDS] [FREQ]
# Target (issue 15): at most 100 MB for 60 s host-wide at 99 Hz.
source "$(dirname "$0")/common.sh"
need_root
seconds=${1:-60}
freq=${2:-99}
build
"$WORK/demo-nofp" "$seconds" threads >/dev/null &
demo=$!
/usr/bin/time -f '%M' -o "$WORK/rss" "$ARMTUNE" profile -q --all -F "$freq" --unwind dwarf -d "$seconds" \
    -o "$WORK/all.json" 2>/dev/null
wait "$demo"
python3 - "$WORK/rss" "$WORK/all.json" "$seconds" "$freq" <<'PY'
import json, sys
rss_kb = int(open(sys.argv[1]).read().split()[-1])
u = json.load(open(sys.argv[2]))["meta"]["unwinding"]
print(f"host-wide --unwind dwarf for {sys.argv[3]} s at {sys.argv[4]} Hz: peak RSS {rss_kb / 1024:.1f} MB "
      f"(target <= 100 MB); {u['stacks']} stacks unwound, {u['stack_bytes'] / max(u['stacks'], 1):.0f} bytes "
      f"copied per stack, {sum(v for k, v in u.items() if k.startswith('truncated'))} truncated")
PY
