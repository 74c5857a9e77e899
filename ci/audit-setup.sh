#!/usr/bin/env bash
# Finds what the test suite (or any command) uses from Debian packages that ci/setup.sh does not
# install: a package that was on this machine from earlier work makes CI green here and red on a new
# machine. Runs the command under strace, maps every file it opened or executed to its package, and
# reports each package that is neither installed by ci/setup.sh (its list and everything that list
# depends on, recommends left out as setup.sh leaves them out) nor on a new machine of this project's
# kind (ci/base-image-packages.txt).
#
# Usage: bash ci/audit-setup.sh [--trace FILE] [COMMAND ARGS...]
#   COMMAND defaults to `bash scripts/test.sh`. --trace FILE analyses a trace written before
#   (strace -f -o FILE) instead of running anything. Exits 1 when it finds a gap or the command
#   failed (what it did not reach is not audited), 0 when none.
# Needs strace and python3 (apt-get install strace python3); run it as root, like the test suite.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

say() { printf 'ci/audit-setup.sh: %s\n' "$*" >&2; }
for tool in strace python3 dpkg-query apt-cache; do
    command -v "$tool" >/dev/null || { say "$tool missing: apt-get install ${tool/dpkg-query/dpkg}"; exit 2; }
done

trace=""
status=0
if [ "${1:-}" = "--trace" ]; then
    trace=${2:?--trace needs a file}
    shift 2
else
    [ "$#" -gt 0 ] || set -- bash scripts/test.sh
    mkdir -p target
    trace="$ROOT/target/audit-setup.trace"
    say "running '$*' under strace (file opens and execs only; $trace)"
    # --seccomp-bpf stops only the traced calls, so the rest of the suite runs at full speed; -z keeps
    # the calls that succeeded: a file that was not there is no dependency.
    strace -f --seccomp-bpf -qq -z -s 4096 -e trace=execve,execveat,open,openat,openat2 -e signal=none \
        -o "$trace" "$@" || status=$?
    [ "$status" -eq 0 ] || say "the command exited with status $status; auditing what it did until then"
fi

packages=$(sed -n '/^PACKAGES=(/,/)/p' ci/setup.sh | tr -d '()' | sed 's/^PACKAGES=//' | tr -s ' \n' '\n' | grep -v '^$')
# shellcheck disable=SC2086
exec python3 "$ROOT/ci/audit_setup.py" --trace "$trace" --root "$ROOT" \
    --base "$ROOT/ci/base-image-packages.txt" --optional "$ROOT/ci/audit-optional.txt" --status "$status" --setup-packages $packages
