#!/usr/bin/env bash
# Downloads a Debian arm64 package once and unpacks it under target/debian-arm64/<package>; prints
# that directory. Tests and ci/arm64-vm.sh share it: a lock makes parallel callers wait for the one
# download, and the directory appears (by rename) only when it is whole, so nobody reads half a file.
#
# Usage: bash ci/debian-arm64.sh PACKAGE      e.g. busybox-static, linux-image-6.1.0-41-arm64
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG=${1:?usage: ci/debian-arm64.sh PACKAGE}
CACHE="$ROOT/target/debian-arm64"
DEST="$CACHE/$PKG"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -d "$DEST" ]; then
    WORK=$(mktemp -d "$CACHE/.fetch.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    # apt drops privileges to _apt for downloads; a directory it can write keeps its warning away.
    chmod 755 "$WORK"
    if ! (cd "$WORK" && apt-get download -q "$PKG:arm64" >apt.log 2>&1); then
        cat "$WORK/apt.log" >&2
        echo "ci/debian-arm64.sh: cannot download $PKG:arm64 (apt-get download; the arm64 architecture must be added: ci/setup.sh)" >&2
        exit 2
    fi
    dpkg-deb -x "$WORK"/*.deb "$WORK/root"
    mv "$WORK/root" "$DEST"
fi
echo "$DEST"
