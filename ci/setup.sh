#!/usr/bin/env bash
# Installs what armtune's build and test suite need, and nothing that is already there.
#
# The host crates build with any stable Rust. The eBPF crate needs a `core` for bpfel-unknown-none and
# bpf-linker; rustup cannot download those here, so this follows the Debian route: Debian's rustc with
# its prebuilt bpf `core`, and bpf-linker built against Debian's LLVM 22. Run it again at any time: each
# step checks first and skips what is present.
#
# Usage: ci/setup.sh            (as root, or as a user with sudo)
set -euo pipefail

say() { printf 'ci/setup.sh: %s\n' "$*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    say "needs root to install packages: run it as root or install sudo"
    exit 1
fi

if ! [ -r /etc/os-release ] || ! grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; then
    say "this script knows Debian and Ubuntu only; elsewhere install by hand: a Rust toolchain able to"
    say "build for bpfel-unknown-none (nightly + rust-src), bpf-linker, gcc, make (see README, 'Building')"
    exit 1
fi

# Packages the build and the tests need:
#   rustc-web, libstd-rust-web-dev-bpf   Debian's rustc 1.96 with a prebuilt core for the eBPF target
#   llvm-22-dev, libpolly-22-dev, zlib1g-dev, libzstd-dev   to build bpf-linker against LLVM 22
#   gcc, g++, make, libc6-dev            to build the C and C++ workloads the integration tests profile
#   pkg-config                           for -sys crates
#   golang-go                            to build the Go workload of the garbage-collection tests
#   openjdk-17-jdk-headless              a JVM with HotSpot's SDT probes, for the JVM GC test
#   systemtap-sdt-dev                    <sys/sdt.h>, for the SDT probe workload
#   gcc-aarch64-linux-gnu, binutils-aarch64-linux-gnu, libc6-dev-arm64-cross   to build the AArch64
#                                        fixtures of `check` and C code in the aarch64 build (capstone);
#                                        the headers are only a Recommends of the cross compiler
#   libstd-rust-web-dev:arm64, qemu-user-static   Debian's aarch64 std for /usr/bin/rustc, and
#                                        qemu-user to run the aarch64 build's tests (see test.sh)
#   qemu-system-arm, cpio                boot Debian's arm64 kernel with an initramfs (ci/arm64-vm.sh)
#   openssh-server, openssh-client, git  the `armtune bench` test's stand-in board (a throwaway sshd
#                                        on loopback) and the gate's git-history tests
#   xz-utils, linux-perf                 Debian's own xz (a stripped, frame-pointer-less program the
#                                        mapping tests profile) and perf (what they compare against)
#   libc6-dbg                            glibc's symbols, which blazesym (and perf) find by build-id:
#                                        libc frames are named the same on every machine
#   strace                               what `--event proc`'s exit codes are compared with (and the
#                                        set-up audit's tracer)
#   debuginfod                           elfutils' debuginfod server, which the debuginfod test
#                                        starts on loopback to serve the debug files it builds
#   zsh, fish, man-db                    shells and man whose own machinery the tests run on
#                                        `armtune completions` and `armtune man` output
#   podman                               a real container runtime (daemonless): the container tests
#                                        import a root file system and profile a container of it
#   golang-google-grpc-dev               grpc-go, for the agent test's stand-in Parca gRPC server
#   chromium, fonts-dejavu-core          the browser the HTML report's tests open each page in
#                                        (headless, over the DevTools protocol), and a font for it
PACKAGES=(rustc-web libstd-rust-web-dev-bpf llvm-22-dev libpolly-22-dev zlib1g-dev libzstd-dev
          gcc g++ make libc6-dev pkg-config golang-go openjdk-17-jdk-headless systemtap-sdt-dev
          gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross libstd-rust-web-dev:arm64
          qemu-user-static openssh-server openssh-client git qemu-system-arm cpio xz-utils linux-perf libc6-dbg strace
          debuginfod zsh fish man-db podman golang-google-grpc-dev chromium fonts-dejavu-core)

INSTALLED_SOMETHING=0
# The arm64 architecture, so tests can fetch a real Debian arm64 binary with `apt-get download`.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 package architecture (for apt-get download of arm64 test binaries)"
    "${SUDO[@]}" dpkg --add-architecture arm64
    INSTALLED_SOMETHING=1
    "${SUDO[@]}" apt-get update -qq
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
installed_packages() { dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' | awk '$1 == "ii" { print $2 }' | sort; }
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} (and what they depend on)"
    before=$(installed_packages)
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Say exactly what changed on this machine, dependencies included, so it can be undone.
    added=$(comm -13 <(echo "$before") <(installed_packages))
    say "installed $(echo "$added" | grep -c .) Debian packages: $(echo "$added" | tr '\n' ' ')"
    INSTALLED_SOMETHING=1
else
    say "Debian packages present"
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    say "no cargo on PATH: install a stable Rust toolchain (rustup) first"
    exit 1
fi

# bpf-linker 0.13 speaks LLVM 21-23; pin it so a new release cannot change the linker under CI.
BPF_LINKER_VERSION=0.13.0
if command -v bpf-linker >/dev/null 2>&1 && bpf-linker --version 2>/dev/null | grep -q "$BPF_LINKER_VERSION"; then
    say "bpf-linker $BPF_LINKER_VERSION present"
else
    say "building bpf-linker $BPF_LINKER_VERSION against LLVM 22 (a few minutes, once)"
    LLVM_PREFIX=/usr/lib/llvm-22 cargo install --locked --quiet bpf-linker \
        --version "$BPF_LINKER_VERSION" --no-default-features --features llvm-22
    say "installed bpf-linker $BPF_LINKER_VERSION in $(dirname "$(command -v bpf-linker || echo "$HOME/.cargo/bin/x")") (cargo install)"
    INSTALLED_SOMETHING=1
fi

# tracefs is where tracepoint ids and formats live; the profiler mounts it too, but tests read it.
if [ ! -e /sys/kernel/tracing/events ] && [ "$(id -u)" -eq 0 ]; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || say "could not mount tracefs (not fatal)"
fi

# Podman's runtime (crun) refuses a hybrid cgroup layout (v1 hierarchies plus /sys/fs/cgroup/unified)
# whose v2 side still holds controllers: here that is hugetlb alone, which no v1 hierarchy took.
# Binding it to a v1 hierarchy of its own leaves v2 without controllers, as crun asks.
UNIFIED=/sys/fs/cgroup/unified
if [ "$(id -u)" -eq 0 ] && [ -e "$UNIFIED/cgroup.controllers" ]; then
    for controller in $(cat "$UNIFIED/cgroup.controllers"); do
        say "cgroup v2 in hybrid mode holds the $controller controller: mounting it as v1 at /sys/fs/cgroup/$controller (for podman)"
        mkdir -p "/sys/fs/cgroup/$controller"
        mount -t cgroup -o "$controller" none "/sys/fs/cgroup/$controller" || say "could not (podman's test will say why it cannot run)"
        INSTALLED_SOMETHING=1
    done
fi

if [ "${INSTALLED_SOMETHING:-0}" = 1 ]; then
    say "ready (this run changed the machine as the lines above say)"
else
    say "ready (nothing installed)"
fi
