#!/usr/bin/env bash
# Slowdown of a CPU-bound workload under `armtune profile -F 99` and under `perf record -F 99 -g`,
# interleaved over several rounds in one run. The workload times its own fixed work, so tool
# start-up and post-processing are not counted: this is the cost of sampling itself.
#
# Usage: sudo bash scripts/bench/profile-overhead.sh [ROUNDS] [WORK_ROUNDS]
# Target (issue 2): armtune's slowdown at most 1 % and not above perf's.
source "$(dirname "$0")/common.sh"
need_root
rounds=${1:-7}
work=${2:-6000}
need_perf
build

elapsed() { grep -o 'elapsed [0-9.]*' | awk '{print $2}'; }
: >"$WORK/alone"; : >"$WORK/armtune"; : >"$WORK/perf"
for i in $(seq "$rounds"); do
    "$DEMO" "$work" rounds | elapsed >>"$WORK/alone"
    "$ARMTUNE" profile -q -F 99 -o "$WORK/a.svg" -- "$DEMO" "$work" rounds | elapsed >>"$WORK/armtune"
    "$PERF" record -q -F 99 -g -o "$WORK/perf.data" -- "$DEMO" "$work" rounds 2>/dev/null | elapsed >>"$WORK/perf"
    echo "round $i: alone $(tail -1 "$WORK/alone") s, armtune $(tail -1 "$WORK/armtune") s, perf $(tail -1 "$WORK/perf") s" >&2
done
alone=$(median <"$WORK/alone"); armtune=$(median <"$WORK/armtune"); perf=$(median <"$WORK/perf")
awk -v a="$alone" -v b="$armtune" -v p="$perf" -v r="$rounds" 'BEGIN {
    printf "median of %d rounds: alone %.3f s, under armtune %.3f s, under perf record %.3f s\n", r, a, b, p
    printf "slowdown: armtune %+.2f %%, perf %+.2f %% (target: armtune <= 1 %% and <= perf)\n", (b/a-1)*100, (p/a-1)*100
}'
