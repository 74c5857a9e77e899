#!/usr/bin/env bash
# Slowdown of a context-switch storm (two threads ping-ponging through pipes on one CPU, several
# hundred thousand switches/s) alone, under `armtune profile --event off-cpu,runq`, and under
# `perf record -e sched:sched_switch -g`, interleaved over several rounds in one run. The workload
# times its own fixed work, so tool start-up and post-processing are not counted.
#
# Usage: sudo bash scripts/bench/sched-overhead.sh [ROUNDS] [ROUND_TRIPS]
# Target (issue 3): armtune at most 5 % slowdown and below perf's.
source "$(dirname "$0")/common.sh"
rounds=${1:-7}
trips=${2:-400000}
need_perf
build
cc -O2 -g -fno-omit-frame-pointer -pthread -o "$WORK/pingpong" "$ROOT/workloads/pingpong.c"
PP="$WORK/pingpong"

elapsed() { grep -o 'elapsed [0-9.]*' | awk '{print $2}'; }
: >"$WORK/alone"; : >"$WORK/armtune"; : >"$WORK/perf"
for i in $(seq "$rounds"); do
    "$PP" "$trips" | elapsed >>"$WORK/alone"
    "$ARMTUNE" profile -q --event off-cpu,runq -o "$WORK/a.svg" -- "$PP" "$trips" 2>/dev/null | elapsed >>"$WORK/armtune"
    "$PERF" record -q -e sched:sched_switch -g -o "$WORK/perf.data" -- "$PP" "$trips" 2>/dev/null | elapsed >>"$WORK/perf"
    echo "round $i: alone $(tail -1 "$WORK/alone") s, armtune $(tail -1 "$WORK/armtune") s, perf $(tail -1 "$WORK/perf") s" >&2
done
alone=$(median <"$WORK/alone"); armtune=$(median <"$WORK/armtune"); perf=$(median <"$WORK/perf")
awk -v a="$alone" -v b="$armtune" -v p="$perf" -v r="$rounds" -v n="$trips" 'BEGIN {
    printf "median of %d rounds of %d round trips (%.0f switches/s alone): alone %.3f s, armtune %.3f s, perf record %.3f s\n", r, n, 2 * n / a, a, b, p
    printf "slowdown: armtune %+.1f %%, perf %+.1f %% (target: armtune <= 5 %% and below perf)\n", (b/a-1)*100, (p/a-1)*100
}'
