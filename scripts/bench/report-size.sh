#!/usr/bin/env bash
# Whether the HTML report stays usable for a 60 s host-wide profile: records one on a busy host
# (CPU, off-CPU, run-queue and wakeups; two demo threads, a process started and ended every 50 ms,
# a thread blocking in a loop), writes the report with and without icicles, and prints each
# page's size and how long headless Chromium takes to its load event and until every flame graph
# is searchable, beside the anchor: the same run's main flame graph alone, as inferno's SVG.
#
# Usage: sudo bash scripts/bench/report-size.sh [SECONDS]
source "$(dirname "$0")/common.sh"
need_root
seconds=${1:-60}
build
(cd "$ROOT" && cargo build --release --locked -q -p armtune --example report_load)
LOAD="$ROOT/target/release/examples/report_load"
cc -O2 -g -fno-omit-frame-pointer -pthread -o "$WORK/blocker" "$ROOT/workloads/blocker.c"

busy_host "$seconds"
( while :; do "$WORK/blocker" >/dev/null; done ) &
BUSY_PIDS+=($!)

"$ARMTUNE" profile -q --all --duration "$seconds" --event cpu,off-cpu,runq,wakeup -o "$WORK/host.json"
stop_busy
"$ARMTUNE" flame "$WORK/host.json" -o "$WORK/host.svg" 2>/dev/null
"$ARMTUNE" report "$WORK/host.json" -o "$WORK/host.html"
"$ARMTUNE" report "$WORK/host.json" --icicle -o "$WORK/host-icicle.html"
python3 - "$WORK/host.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"profile: {len(d['stacks'])} stacks in the main graph, graphs {sorted(d['profiles'])}, "
      f"{len(d['threads'])} threads, {len(d['runq'])} run-queue histograms, {len(d['wakeups'])} wakeup pairs")
PY
echo "page / size / to the load event / until every graph is searchable (Chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
for round in 1 2 3; do
    "$LOAD" "$WORK/host.svg" "$WORK/host.html" "$WORK/host-icicle.html"
done
