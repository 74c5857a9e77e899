#!/usr/bin/env bash
# What `armtune agent` costs while it runs host-wide at 99 Hz beside a busy workload, in one run
# against the anchor tool: its own CPU time per wall second (utime + stime from /proc, in % of
# one CPU) and its RSS sampled every 5 s, with processes starting and exiting all the time
# (a shell loop of short demo runs and python3 starts), then the same for `perf record -a -g
# -F 99` over as long.
#
# Usage: sudo bash scripts/bench/agent-overhead.sh [SECONDS] [INTERVAL]
# Targets (issue 17): at most 1 % of one CPU; RSS flat after warm-up and at most 60 MB over a
# 10-minute soak (SECONDS=600).
source "$(dirname "$0")/common.sh"
need_root
need_perf
seconds=${1:-60}
interval=${2:-10s}
build

busy_host "$seconds" python

# Prints "CPU% peak_rss_mb first_rss_mb last_rss_mb" for PID over SECONDS; the RSS every minute
# goes to $WORK/rss-PID.
measure() {
    local pid=$1 secs=$2 hz ticks0 ticks1 rss first="" last="" peak=0
    hz=$(getconf CLK_TCK)
    sleep 2 # start-up (loading, attaching) is not the steady state
    ticks0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    local t0 t1
    t0=$(date +%s.%N)
    for ((i = 0; i < secs / 5; i++)); do
        sleep 5
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
        first=${first:-$rss}
        last=$rss
        ((rss > peak)) && peak=$rss
        if (((i + 1) % 12 == 0)); then echo "$(((i + 1) * 5)) s: $((rss / 1024)) MB" >>"$WORK/rss-$pid"; fi
    done
    ticks1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    t1=$(date +%s.%N)
    awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v p="$peak" -v f="$first" -v l="$last" \
        'BEGIN { printf "%.2f %.1f %.1f %.1f\n", 100 * (b - a) / hz / (t1 - t0), p / 1024, f / 1024, l / 1024 }'
}

rm -rf "$WORK/windows" "$WORK"/rss-*
"$ARMTUNE" agent -F 99 --interval "$interval" --output-dir "$WORK/windows" --keep 1000 2>"$WORK/agent.log" &
agent=$!
read -r a_cpu a_peak a_first a_last < <(measure "$agent" "$seconds")
kill -TERM "$agent" && wait "$agent" || true
windows=$(ls "$WORK/windows" | wc -l)

"$PERF" record -a -g -F 99 -o "$WORK/perf.data" 2>/dev/null &
perf=$!
read -r p_cpu p_peak _ _ < <(measure "$perf" "$seconds")
kill -INT "$perf" && wait "$perf" || true

echo "host-wide at 99 Hz for ${seconds} s, $(nproc) CPUs, a busy demo, a demo and a python3 started in a loop:"
printf "  %-28s %6s %% of one CPU   RSS peak %6s MB (first %s, last %s)   %s windows\n" \
    "armtune agent ($interval)" "$a_cpu" "$a_peak" "$a_first" "$a_last" "$windows"
printf "  %-28s %6s %% of one CPU   RSS peak %6s MB\n" "perf record -a -g -F 99" "$p_cpu" "$p_peak"
awk -v a="$a_cpu" -v p="$p_cpu" 'BEGIN { if (p > 0) printf "  ratio armtune / perf CPU: %.2f (target: agent <= 1 %% of one CPU)\n", a / p }'
echo "  armtune agent's RSS by minute: $(tr '\n' ';' <"$WORK/rss-$agent" 2>/dev/null)"
tail -2 "$WORK/agent.log"
