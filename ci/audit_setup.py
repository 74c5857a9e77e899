#!/usr/bin/env python3
"""The analysis half of ci/audit-setup.sh: files a traced command used -> Debian packages -> the
packages neither ci/setup.sh installs nor a new machine has. See the shell script for the why."""

import argparse
import collections
import glob
import os
import re
import subprocess
import sys

CALL = re.compile(r'^(\d+)\s+(?:<\.\.\. )?(execve|execveat|open|openat|openat2)\((?:[^,"]*, )?"((?:[^"\\]|\\.)*)"')

# Where files come from that are not Debian's: the project and its build output, the rustup
# toolchain the README asks for, and kernel or scratch file systems.
SKIP_PREFIXES = ("/proc/", "/sys/", "/dev/", "/run/", "/tmp/", "/var/tmp/")


def norm(name):
    """Package names as dpkg-query prints them, without the native architecture."""
    return name[: -len(":amd64")] if name.endswith(":amd64") else name


def traced_files(trace):
    """(path, program that used it) for every successful open and exec in an strace -f log."""
    program = {}
    used = []
    with open(trace, errors="replace") as f:
        for line in f:
            m = CALL.match(line)
            if not m:
                continue
            pid, call, path = m.group(1), m.group(2), m.group(3)
            path = path.encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")
            if call.startswith("exec"):
                program[pid] = path
            used.append((path, program.get(pid, "?")))
    return used


def canonical(path):
    """The path with its directory resolved: dpkg lists /lib/x86_64-linux-gnu/libc.so.6 and
    programs open /usr/lib/x86_64-linux-gnu/libc.so.6 (merged /usr)."""
    head, tail = os.path.split(path)
    return os.path.join(os.path.realpath(head), tail)


def file_owners():
    """Every file dpkg installed -> the packages that own it, keyed by canonical path."""
    owners = collections.defaultdict(set)
    for listing in glob.glob("/var/lib/dpkg/info/*.list"):
        package = norm(os.path.basename(listing)[: -len(".list")])
        with open(listing, errors="replace") as f:
            for line in f:
                path = line.rstrip("\n")
                if path and path != "/.":
                    owners[canonical(path)].add(package)
    return owners


def setup_closure(packages):
    """What ci/setup.sh's list brings: the packages and everything they depend on (not recommends,
    which setup.sh does not install)."""
    out = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
         "--no-breaks", "--no-replaces", "--no-enhances", *packages],
        capture_output=True, text=True, check=True,
    ).stdout
    closure = {norm(p) for p in packages}
    for line in out.splitlines():
        if line and not line[0].isspace() and not line.startswith("<"):
            closure.add(norm(line.strip()))
    return closure


def always_present():
    """Essential and required packages and what they depend on: on every Debian system, whatever
    the image."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${binary:Package} ${Essential} ${Priority}\n"],
        capture_output=True, text=True, check=True,
    ).stdout
    present = set()
    for line in out.splitlines():
        name, essential, priority = (line.split() + ["", "", ""])[:3]
        if essential == "yes" or priority == "required":
            present.add(norm(name))
    return setup_closure(sorted(present))


def read_list(path):
    """Package names, one a line; `#` starts a comment."""
    with open(path) as f:
        return {norm(l.split("#")[0].strip()) for l in f if l.split("#")[0].strip()}


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--optional", required=True)
    ap.add_argument("--setup-packages", nargs="+", required=True)
    ap.add_argument("--status", type=int, default=0, help="the audited command's exit status")
    return ap.parse_args()


class Usage:
    """What the traced command used: files by package, files of no package, relative paths."""

    def __init__(self):
        self.packages = collections.defaultdict(lambda: collections.defaultdict(set))  # package -> path -> programs
        self.foreign = collections.defaultdict(set)  # files no package owns, by their first two directories
        self.relative = 0

    def add(self, path, program, owners, skip):
        if not path.startswith("/"):
            self.relative += 1
            return
        real = os.path.realpath(path)
        if path.startswith(skip) or real.startswith(skip) or not os.path.isfile(real):
            return
        found = owners.get(canonical(path)) or owners.get(real)
        if not found:
            self.foreign["/" + "/".join(real.split("/")[1:-1][:2])].add(real)
        for package in found or ():
            self.packages[package][real].add(os.path.basename(program))

    def show(self, package):
        files = sorted(self.packages[package].items())
        for path, programs in files[:3]:
            print(f"    {path}  (used by {', '.join(sorted(programs)[:3])})")
        if len(files) > 3:
            print(f"    ... and {len(files) - 3} more files")


def report_context(usage, image_only, touched):
    """The informational sections: image packages, optional ones, files of no package."""
    if image_only:
        print(f"\nFrom this machine kind's image, not installed by ci/setup.sh ({len(image_only)}): present on")
        print("every new machine of this kind, but a user's own Debian may lack them (add them to PACKAGES):")
        for p in image_only:
            print(f"  {p}")
            usage.show(p)
    if touched:
        print(f"\nUsed only where present (ci/audit-optional.txt): {', '.join(touched)}")
    if usage.foreign:
        print("\nFiles from no Debian package (informational: the machine's own installs):")
        for top, paths in sorted(usage.foreign.items()):
            print(f"  {top}/...: {len(paths)} files, e.g. {sorted(paths)[0]}")
    if usage.relative:
        print(f"\n({usage.relative} relative paths not audited: they name files under the working directory)")


def verdict(usage, gaps, status):
    """The gaps, or why there are none; the exit status."""
    if gaps:
        print(f"\nGAPS ({len(gaps)}): used by the command, installed by nothing ci/setup.sh does, absent on a new machine:")
        for p in gaps:
            print(f"  {p}")
            usage.show(p)
        print("\nadd each to PACKAGES in ci/setup.sh (or stop using it), then run the audit again")
        return 1
    if status != 0:
        print(f"\nno gaps in what ran, but the command failed (status {status}): what it did not reach was not")
        print("audited; fix the failure (a missing package shows as one) and run the audit again")
        return 1
    print("\nno gaps: everything the command used is on a new machine or installed by ci/setup.sh")
    return 0


def main():
    args = parse_args()
    home = os.path.expanduser("~")
    skip = SKIP_PREFIXES + (
        os.path.realpath(args.root) + "/",
        os.environ.get("CARGO_HOME", home + "/.cargo") + "/",
        os.environ.get("RUSTUP_HOME", home + "/.rustup") + "/",
    )
    owners = file_owners()
    closure = setup_closure(args.setup_packages)
    base = read_list(args.base)
    present = always_present() | read_list(args.optional)
    optional = read_list(args.optional)

    usage = Usage()
    for path, program in traced_files(args.trace):
        usage.add(path, program, owners, skip)
    used = usage.packages
    gaps = sorted(p for p in used if p not in closure and p not in base and p not in present)
    image_only = sorted(p for p in used if p not in closure and p in base and p not in present)
    touched = sorted(p for p in used if p in optional and p not in closure)
    print(f"ci/audit-setup.sh: {len(used)} Debian packages used; {len(closure)} come with ci/setup.sh's list")
    report_context(usage, image_only, touched)
    return verdict(usage, gaps, args.status)


if __name__ == "__main__":
    sys.exit(main())
