# Shared by the benchmark scripts: tools, the workload, timing helpers. Sourced, not run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${ARMTUNE_BENCH_DIR:-$(mktemp -d /tmp/armtune-bench.XXXXXX)}
if ! command -v cargo >/dev/null 2>&1; then export PATH="$HOME/.cargo/bin:$PATH"; fi

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "this benchmark loads eBPF programs and runs perf system-wide: run it as root (sudo)" >&2
        exit 1
    fi
}

need_perf() {
    if ! perf --version >/dev/null 2>&1; then
        echo "installing linux-perf (Debian) for the comparison" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
    fi
    # Debian's perf is a wrapper that looks for perf_$(uname -r); use the newest real binary.
    PERF=$(ls /usr/bin/perf_* 2>/dev/null | sort -V | tail -1 || true)
    PERF=${PERF:-perf}
}

# The Python tools the gate is compared with (lizard, detect-secrets, credsweeper), in a venv
# under the work directory: $VENV/bin/TOOL.
need_python_tools() {
    VENV="$WORK/venv"
    if [ ! -x "$VENV/bin/lizard" ] || [ ! -x "$VENV/bin/credsweeper" ]; then
        echo "installing lizard, detect-secrets and credsweeper into $VENV" >&2
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q lizard detect-secrets credsweeper
    fi
}

need_inferno() {
    if ! command -v inferno-flamegraph >/dev/null 2>&1; then
        echo "installing inferno's command-line tools (cargo install inferno)" >&2
        cargo install --locked --quiet inferno
    fi
}

build() {
    (cd "$ROOT" && bash ci/setup.sh >/dev/null && cargo build --release --locked -q -p armtune)
    ARMTUNE="$ROOT/target/release/armtune"
    cc -O2 -g -fno-omit-frame-pointer -pthread -o "$WORK/demo" "$ROOT/workloads/demo.c"
    DEMO="$WORK/demo"
    # As distributions build programs: what --unwind dwarf / --call-graph dwarf are for.
    cc -O2 -g -fomit-frame-pointer -pthread -o "$WORK/demo-nofp" "$ROOT/workloads/demo.c"
}

# A busy host for SECONDS (and 30 more): two demo threads all along, and a short demo started
# every 50 ms (processes coming and going). More background jobs can join BUSY_PIDS; stop_busy
# (also run on exit) ends them all.
busy_host() {
    "$DEMO" "$(($1 + 30))" threads >/dev/null &
    BUSY_PIDS=($!)
    # python3 stands for the interpreters a host starts all day: each start maps a dozen
    # libraries (pyenv's libpython carries 16 MiB of DWARF) for a few tens of milliseconds.
    # The interpreter itself, not a version manager's shim (pyenv's starts dozens of shell
    # processes per run).
    local python=(true)
    [ "${2:-}" = python ] && python=("$(python3 -c 'import sys; print(sys.executable)')" -c "import json, re, ssl")
    ( while :; do "$DEMO" 0.02 >/dev/null; "${python[@]}"; sleep 0.03; done ) &
    BUSY_PIDS+=($!)
    trap stop_busy EXIT
}

stop_busy() {
    kill "${BUSY_PIDS[@]}" 2>/dev/null || true
}

# The options that walk user stacks the way MODE (fp or dwarf) says, for armtune and for perf,
# and the demo built to match: sets UNWIND_ARMTUNE, UNWIND_PERF and DEMO.
unwind_mode() {
    case "$1" in
        fp) UNWIND_ARMTUNE=(--unwind fp); UNWIND_PERF=(-g) ;;
        dwarf) UNWIND_ARMTUNE=(--unwind dwarf); UNWIND_PERF=(--call-graph dwarf); DEMO="$WORK/demo-nofp" ;;
        *) echo "unwinding mode $1: give fp or dwarf" >&2; exit 2 ;;
    esac
}


# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
