#!/usr/bin/env bash
# Cost per malloc+free pair of an allocation-heavy loop: alone, with do-nothing uprobes on malloc
# and free plus a do-nothing uretprobe on malloc (the floor no uprobe tool can beat: the traps),
# and under `armtune profile --event alloc` (and `alloc,leak`). Interleaved rounds in one run.
#
# Usage: sudo bash scripts/bench/alloc-overhead.sh [ROUNDS] [PAIRS]
# Target (issue 4): armtune within 1.2x of the empty-uprobe floor.
source "$(dirname "$0")/common.sh"
need_root
rounds=${1:-5}
pairs=${2:-1000000}
build
(cd "$ROOT" && cargo build --release --locked -q -p armtune-probes --example uprobe_floor)
FLOOR="$ROOT/target/release/examples/uprobe_floor"
cc -O2 -g -fno-omit-frame-pointer -o "$WORK/churn" "$ROOT/workloads/churn.c"

per_pair() { grep -o '[0-9.]* ns per' | awk '{print $1}'; }
: >"$WORK/alone"; : >"$WORK/floor"; : >"$WORK/alloc"; : >"$WORK/leak"; : >"$WORK/sampled"
for i in $(seq "$rounds"); do
    "$WORK/churn" "$pairs" | per_pair >>"$WORK/alone"
    "$FLOOR" "$WORK/churn" "$pairs" | per_pair >>"$WORK/floor"
    "$ARMTUNE" profile -q --event alloc -o "$WORK/a.svg" -- "$WORK/churn" "$pairs" 2>/dev/null | per_pair >>"$WORK/alloc"
    "$ARMTUNE" profile -q --event alloc,leak -o "$WORK/l.svg" -- "$WORK/churn" "$pairs" 2>/dev/null | per_pair >>"$WORK/leak"
    "$ARMTUNE" profile -q --event alloc --alloc-sample 524288 -o "$WORK/s.svg" -- "$WORK/churn" "$pairs" 2>/dev/null | per_pair >>"$WORK/sampled"
    echo "round $i: alone $(tail -1 "$WORK/alone") ns, floor $(tail -1 "$WORK/floor") ns, alloc $(tail -1 "$WORK/alloc") ns, alloc+leak $(tail -1 "$WORK/leak") ns, sampled $(tail -1 "$WORK/sampled") ns" >&2
done
awk -v a="$(median <"$WORK/alone")" -v f="$(median <"$WORK/floor")" -v b="$(median <"$WORK/alloc")" \
    -v l="$(median <"$WORK/leak")" -v s="$(median <"$WORK/sampled")" -v r="$rounds" 'BEGIN {
    printf "ns per malloc+free (median of %d): alone %.1f, empty uprobes %.1f, armtune alloc %.1f, alloc+leak %.1f, alloc --alloc-sample 512KiB %.1f\n", r, a, f, b, l, s
    printf "armtune / floor: alloc %.2fx, alloc+leak %.2fx, sampled %.2fx (target: <= 1.2x)\n", b / f, l / f, s / f
    printf "armtune program cost above the traps: alloc %.0f ns, sampled %.0f ns per pair\n", b - f, s - f
}'
