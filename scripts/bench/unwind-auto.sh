#!/usr/bin/env bash
# What `--unwind auto` (the default) costs and gives, next to `--unwind fp` and `--unwind dwarf`
# and perf's two modes, on the two kinds of program it tells apart: a Go program (frame pointers
# everywhere, no .eh_frame: auto walks it by frame pointers after its first stacks) and the demo
# built as distributions build C (no frame pointers, nor in Debian's libc: auto copies its stacks).
# Interleaved rounds in one run; each workload times its own fixed work, so tool start-up and
# post-processing are not counted.
#
# Usage: sudo bash scripts/bench/unwind-auto.sh [ROUNDS] [GO_TREES] [DEMO_WORK]
# Target (issue 15): auto costs what fp costs where the code keeps frame pointers, and what dwarf
# costs elsewhere; and its stacks reach the root as often as the better of the two.
source "$(dirname "$0")/common.sh"
need_root
rounds=${1:-5}
trees=${2:-4000}
demo_work=${3:-6000}
need_perf
build
command -v go >/dev/null || { echo "go (Debian's golang-go) is needed: run ci/setup.sh" >&2; exit 1; }
(cd "$WORK" && GO111MODULE=off GOCACHE="$WORK/gocache" go build -o "$WORK/gogc" "$ROOT/workloads/gogc.go")

elapsed() { grep -o 'elapsed [0-9.]*' | awk '{print $2}'; }
modes=(alone fp auto dwarf perf-fp perf-dwarf)
run_one() { # WORKLOAD MODE COMMAND...
    local workload=$1 mode=$2; shift 2
    case "$mode" in
        alone) "$@" ;;
        fp | auto | dwarf) "$ARMTUNE" profile -q -F 99 --unwind "$mode" -o "$WORK/$workload-$mode.json" -- "$@" ;;
        perf-fp) "$PERF" record -q -F 99 -g -o "$WORK/perf.data" -- "$@" 2>/dev/null ;;
        perf-dwarf) "$PERF" record -q -F 99 --call-graph dwarf -o "$WORK/perf.data" -- "$@" 2>/dev/null ;;
    esac | elapsed >>"$WORK/$workload-$mode.times"
}

for workload in go c; do
    for mode in "${modes[@]}"; do : >"$WORK/$workload-$mode.times"; done
    for i in $(seq "$rounds"); do
        for mode in "${modes[@]}"; do
            if [ "$workload" = go ]; then run_one go "$mode" "$WORK/gogc" trees "$trees"
            else run_one c "$mode" "$WORK/demo-nofp" "$demo_work" rounds; fi
        done
        echo "$workload round $i done" >&2
    done
    alone=$(median <"$WORK/$workload-alone.times")
    echo "== $workload: median of $rounds rounds, alone $alone s"
    for mode in "${modes[@]:1}"; do
        t=$(median <"$WORK/$workload-$mode.times")
        awk -v m="$mode" -v t="$t" -v a="$alone" 'BEGIN { printf "  %-10s %.3f s  slowdown %+.2f %%\n", m, t, (t/a-1)*100 }'
    done
    # What each mode's stacks reach: the share of samples whose stack reaches the program's root
    # function (runtime.goexit or runtime.main for Go, main for C), and what auto copied.
    for mode in fp auto dwarf; do
        python3 - "$WORK/$workload-$mode.json" "$workload" "$mode" <<'EOF'
import json, sys
report, workload, mode = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
roots = {"runtime.goexit", "runtime.main"} if workload == "go" else {"main"}
total = sum(s["weight"] for s in report["stacks"])
rooted = sum(s["weight"] for s in report["stacks"] if any(f["name"] in roots for f in s["frames"]))
u = report["meta"].get("unwinding") or {}
copied = f', {u.get("stacks", 0)} stacks copied and unwound' if u else ""
verdict = ""
if mode == "auto":
    verdict = f', processes by frame pointers {u.get("frame_pointer_processes", 0)}, by CFI {u.get("cfi_processes", 0)}'
print(f"  {mode:<6} stacks reaching {'/'.join(sorted(roots))}: {rooted / max(total, 1) * 100:.1f} % of {total}{copied}{verdict}")
EOF
    done
done
