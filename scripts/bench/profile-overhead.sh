#!/usr/bin/env bash
# Slowdown of a CPU-bound workload under `armtune profile -F 99` and under `perf record -F 99 -g`,
# interleaved over several rounds in one run. The workload times its own fixed work, so tool
# start-up and post-processing are not counted: this is the cost of sampling itself.
#
# Usage: sudo bash scripts/bench/profile-overhead.sh [ROUNDS] [WORK_ROUNDS] [fp|dwarf]
# dwarf: `--unwind dwarf` against `perf record --call-graph dwarf`, on the demo built without
# frame pointers.
# Targets: fp (issue 2): armtune's slowdown at most 1 % and not above perf's; dwarf (issue 15):
# below perf's.
source "$(dirname "$0")/common.sh"
need_root
rounds=${1:-7}
work=${2:-6000}
mode=${3:-fp}
need_perf
build
unwind_mode "$mode"

elapsed() { grep -o 'elapsed [0-9.]*' | awk '{print $2}'; }
: >"$WORK/alone"; : >"$WORK/armtune"; : >"$WORK/perf"
for i in $(seq "$rounds"); do
    "$DEMO" "$work" rounds | elapsed >>"$WORK/alone"
    "$ARMTUNE" profile -q -F 99 "${UNWIND_ARMTUNE[@]}" -o "$WORK/a.json" -- "$DEMO" "$work" rounds | elapsed >>"$WORK/armtune"
    "$PERF" record -q -F 99 "${UNWIND_PERF[@]}" -o "$WORK/perf.data" -- "$DEMO" "$work" rounds 2>/dev/null | elapsed >>"$WORK/perf"
    echo "round $i: alone $(tail -1 "$WORK/alone") s, armtune $(tail -1 "$WORK/armtune") s, perf $(tail -1 "$WORK/perf") s" >&2
done
alone=$(median <"$WORK/alone"); armtune=$(median <"$WORK/armtune"); perf=$(median <"$WORK/perf")
awk -v a="$alone" -v b="$armtune" -v p="$perf" -v r="$rounds" -v m="$mode" 'BEGIN {
    printf "unwinding %s; median of %d rounds: alone %.3f s, under armtune %.3f s, under perf record %.3f s\n", m, r, a, b, p
    printf "slowdown: armtune %+.2f %%, perf %+.2f %% (target: armtune <= perf)\n", (b/a-1)*100, (p/a-1)*100
}'
if [ "$mode" = dwarf ]; then
    python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["meta"]["unwinding"]
print("stack copied per sample: %.0f bytes (mean of %d); perf copies 8192 per sample" % (u["stack_bytes"]/max(u["stacks"],1), u["stacks"]))' "$WORK/a.json"
fi
