#!/usr/bin/env bash
# Time from the end of a profiled workload to the flame graph on disk (the SVG's modification time): armtune (drain, symbolize,
# render in one process) against perf record + perf script + inferno-collapse-perf +
# inferno-flamegraph. The workload prints the wall-clock time its work ended.
#
# Usage: sudo bash scripts/bench/profile-to-svg.sh [SECONDS] [FREQ] [ROUNDS] [fp|dwarf]
# dwarf: `--unwind dwarf` against perf's DWARF pipeline (`perf record --call-graph dwarf`, whose
# `perf script` does the unwinding), on the demo built without frame pointers.
# Target (issues 2 and 15): armtune at most a tenth of the perf pipeline's time, for 30 s at 999 Hz.
source "$(dirname "$0")/common.sh"
need_root
seconds=${1:-30}
freq=${2:-999}
rounds=${3:-3}
mode=${4:-fp}
need_perf
need_inferno
build
unwind_mode "$mode"

ended() { grep -o 'at [0-9.]*$' | awk '{print $2}'; }
# When the SVG landed on disk (its modification time), not when the tool exited: armtune detaches
# its probes after writing, and unloading costs the kernel RCU grace periods that delay nothing.
on_disk() { stat -c %.9Y "$1"; }
: >"$WORK/armtune"; : >"$WORK/perf"
for i in $(seq "$rounds"); do
    end=$("$ARMTUNE" profile -q -F "$freq" "${UNWIND_ARMTUNE[@]}" -o "$WORK/a.svg" -- "$DEMO" "$seconds" threads | ended)
    done_at=$(on_disk "$WORK/a.svg")
    armtune=$(awk -v a="$end" -v b="$done_at" 'BEGIN {print b - a}')

    end=$("$PERF" record -q -F "$freq" "${UNWIND_PERF[@]}" -o "$WORK/perf.data" -- "$DEMO" "$seconds" threads 2>/dev/null | ended)
    "$PERF" script -i "$WORK/perf.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph >"$WORK/p.svg"
    done_at=$(on_disk "$WORK/p.svg")
    perf=$(awk -v a="$end" -v b="$done_at" 'BEGIN {print b - a}')
    echo "$armtune" >>"$WORK/armtune"; echo "$perf" >>"$WORK/perf"
    echo "round $i: armtune $armtune s, perf pipeline $perf s" >&2
done
armtune=$(median <"$WORK/armtune"); perf=$(median <"$WORK/perf")
awk -v a="$armtune" -v p="$perf" -v s="$seconds" -v f="$freq" -v r="$rounds" -v m="$mode" 'BEGIN {
    printf "end of a %d s, %d Hz, 2-thread profile to SVG on disk, unwinding %s (median of %d): armtune %.3f s, perf pipeline %.3f s\n", s, f, m, r, a, p
    printf "ratio armtune/perf: %.3f (target: <= 0.1)\n", a / p
}'
