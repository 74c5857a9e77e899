#!/usr/bin/env bash
# Proves `armtune profile` on an ARM64 kernel: builds the aarch64 armtune (its eBPF object built
# for aarch64 and embedded; the same build scripts/test.sh makes) and the test workloads for
# aarch64, packs them with busybox into an initramfs, boots Debian's arm64 kernel in
# qemu-system-aarch64 (-cpu cortex-a72, the Pi 4's core), runs the profile scenarios inside, and
# copies what they wrote out of the serial console.
#
# Usage: bash ci/arm64-vm.sh OUT_DIR [btf|nobtf]
#   OUT_DIR/console.log     the whole serial console
#   OUT_DIR/<name>          each file the guest printed between "=== FILE <name>" and "=== END <name>"
# Exits non-zero (with the console's tail) when the guest hangs, panics or a build fails.
# `nobtf` hides /sys/kernel/btf from armtune in the guest (the Raspberry Pi OS case).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: ci/arm64-vm.sh OUT_DIR [btf|nobtf]}
MODE=${2:-btf}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE="$ROOT/target/arm64-vm"
mkdir -p "$CACHE"
if ! command -v cargo >/dev/null 2>&1; then export PATH="$HOME/.cargo/bin:$PATH"; fi

for tool in qemu-system-aarch64 cpio aarch64-linux-gnu-gcc; do
    command -v "$tool" >/dev/null || {
        echo "ci/arm64-vm.sh: $tool missing: apt-get install qemu-system-arm cpio gcc-aarch64-linux-gnu (ci/setup.sh does)" >&2
        exit 2
    }
done

# One preparation at a time (the tests boot both modes in parallel): downloads, the build.
exec 9>"$CACHE/.lock"
flock 9

# Debian's arm64 kernel and busybox, downloaded once (shared with the tests' own copy of busybox).
kernel_pkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*-arm64\):arm64/\1/p' | head -1)
KERNEL_DIR=$(bash "$ROOT/ci/debian-arm64.sh" "${kernel_pkg:-linux-image-6.1.0-56-arm64}")
BUSYBOX_DIR=$(bash "$ROOT/ci/debian-arm64.sh" busybox-static)
VMLINUZ=$(ls "$KERNEL_DIR"/boot/vmlinuz-* | head -1)

# armtune for aarch64 with the aarch64 eBPF object: the build scripts/test.sh makes, linked against
# the cross glibc copied into the guest below. (A static build was a second copy of every
# dependency, 2.7 GB of target/, on CI machines whose disk has run out.)
(cd "$ROOT" && RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=target/aarch64 \
    cargo build --locked -q --target aarch64-unknown-linux-gnu -p armtune)
ARMTUNE="$ROOT/target/aarch64/aarch64-unknown-linux-gnu/debug/armtune"

GUEST="$CACHE/root-$MODE"
rm -rf "$GUEST" && mkdir -p "$GUEST"/{bin,proc,sys,dev,tmp,lib,w,out}
cp "$BUSYBOX_DIR/bin/busybox" "$GUEST/bin/"
for a in sh mount umount sleep cat poweroff mkdir ls echo grep wc dd sync uname; do ln -s busybox "$GUEST/bin/$a"; done
# Without its DWARF (240 MB of a debug build; nothing in the guest reads armtune's own), so the
# initramfs stays small.
aarch64-linux-gnu-objcopy --strip-debug "$ARMTUNE" "$GUEST/bin/armtune"
# armtune and the dynamically linked workloads need the cross glibc and its loader.
for lib in ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libgcc_s.so.1; do
    cp "/usr/aarch64-linux-gnu/lib/$lib" "$GUEST/lib/"
done
CC=(aarch64-linux-gnu-gcc -O2 -g -fno-omit-frame-pointer -pthread)
"${CC[@]}" -static -o "$GUEST/w/demo" "$ROOT/workloads/demo.c"
"${CC[@]}" -static -o "$GUEST/w/blocker" "$ROOT/workloads/blocker.c"
"${CC[@]}" -static -o "$GUEST/w/allocs_static" "$ROOT/workloads/allocs.c"
"${CC[@]}" -Wl,--dynamic-linker=/lib/ld-linux-aarch64.so.1 -Wl,-rpath,/lib -o "$GUEST/w/allocs" "$ROOT/workloads/allocs.c"
# The unwinding workload as distributions build code: no frame pointers, hot code in a library.
NOFP=(aarch64-linux-gnu-gcc -O2 -g -fomit-frame-pointer)
"${NOFP[@]}" -shared -fPIC -o "$GUEST/w/libnofp.so" "$ROOT/workloads/nofp_lib.c"
"${NOFP[@]}" -Wl,--dynamic-linker=/lib/ld-linux-aarch64.so.1 -Wl,-rpath,/w:/lib -o "$GUEST/w/nofp_main" \
    "$ROOT/workloads/nofp_main.c" -L"$GUEST/w" -lnofp
if command -v go >/dev/null; then
    (cd "$ROOT/workloads" && GO111MODULE=off GOCACHE="$CACHE/gocache" GOPATH="$CACHE/gopath" CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -o "$GUEST/w/gogc" gogc.go)
fi

cat > "$GUEST/init" <<INIT
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tracefs nodev /sys/kernel/tracing; mount -t debugfs nodev /sys/kernel/debug
mount -t tmpfs tmp /tmp
if [ "$MODE" = nobtf ]; then
    # As on Raspberry Pi OS: no kernel BTF to be found.
    mount -t tmpfs empty /sys/kernel/btf
fi
echo "=== GUEST \$(uname -r) \$(uname -m) $MODE"
show() { echo "=== FILE \$1"; cat "/out/\$1"; echo "=== END \$1"; }
run() { name=\$1; shift; "\$@" > /out/\$name.stdout 2> /out/\$name.stderr; echo "=== STATUS \$name \$?"; show \$name.stderr; }
run doctor armtune doctor; show doctor.stdout
run cpu armtune profile -F 499 --format folded -o /out/cpu.folded -- /w/demo 2; show cpu.folded
run offcpu armtune profile --event off-cpu,runq --off-cpu-state all --format json -o /out/offcpu.json -- /w/blocker; show offcpu.json
run runq_busy armtune profile --event runq --format json -o /out/runq_busy.json -- /w/demo 1 spinners 4; show runq_busy.json
run alloc armtune profile --event alloc,leak --format json -o /out/alloc.json -- /w/allocs 0 0.2; show alloc.json
run alloc_static armtune profile --event alloc --format json -o /out/alloc_static.json -- /w/allocs_static 0 0.2; show alloc_static.json
run unwind armtune profile -F 499 --unwind dwarf --format json -o /out/unwind.json -- /w/nofp_main 2; show unwind.json
run unwind_fp armtune profile -F 499 --unwind fp --format json -o /out/unwind_fp.json -- /w/nofp_main 2; show unwind_fp.json
run unwind_auto armtune profile -F 499 --format json -o /out/unwind_auto.json -- /w/nofp_main 2; show unwind_auto.json
run unwind_syscall armtune profile -F 499 --unwind dwarf --format json -o /out/unwind_syscall.json -- /w/demo 1 syscall; show unwind_syscall.json
run proc armtune profile --event proc --format json -o /out/proc.json -- sh -c 'sleep 0.2; (exit 3); sh -c "exit 5"; true'; show proc.json
if [ -x /w/gogc ]; then
    run gc armtune profile --event gc --format json -o /out/gc.json -- /w/gogc 5; show gc.json; show gc.stdout
    run gc_assist armtune profile --event gc --format json -o /out/gc_assist.json -- /w/gogc assist 1500; show gc_assist.json
fi
echo "=== DONE"
sync
poweroff -f
INIT
chmod +x "$GUEST/init"
(cd "$GUEST" && find . | cpio -o -H newc --quiet | gzip -1 > "$CACHE/initrd-$MODE.gz")
flock -u 9

echo "ci/arm64-vm.sh: booting $(basename "$VMLINUZ") in qemu-system-aarch64 -cpu cortex-a72 ($MODE)" >&2
start=$(date +%s)
status=0
# -nic none: the guest needs no network, and the virt board's default virtio NIC wants a boot ROM
# (efi-virtio.rom) from ipxe-qemu, which --no-install-recommends leaves out: qemu would exit at once.
timeout 900 qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1536 -nographic -nic none \
    -kernel "$VMLINUZ" -initrd "$CACHE/initrd-$MODE.gz" \
    -append "console=ttyAMA0 panic=-1 quiet" -no-reboot > "$OUT/console.log" 2>&1 || status=$?
echo "ci/arm64-vm.sh: guest ran $(( $(date +%s) - start )) s" >&2
tr -d '\r' < "$OUT/console.log" > "$OUT/console.txt"
if ! grep -q '^=== DONE' "$OUT/console.txt"; then
    echo "ci/arm64-vm.sh: the guest did not finish (qemu status $status); console tail:" >&2
    tail -30 "$OUT/console.txt" >&2
    exit 1
fi
# Split the console into the files the guest showed.
# A file without a final newline ends on the END marker's line.
awk -v out="$OUT" '
    /^=== FILE / { name = $3; file = out "/" name; printf "" > file; next }
    name != "" && index($0, "=== END " name) > 0 {
        rest = substr($0, 1, index($0, "=== END " name) - 1)
        if (rest != "") print rest >> file
        close(file); name = ""; next
    }
    /^=== STATUS / { print $4 > (out "/" $3 ".status"); close(out "/" $3 ".status"); next }
    name != "" { print >> file }
' "$OUT/console.txt"
echo "ci/arm64-vm.sh: results in $OUT" >&2
