#!/usr/bin/env python3
"""Cyclomatic complexity of `armtune gate` against lizard's, function by function, on real code.

Usage: python3 scripts/bench/complexity_vs_lizard.py GATE LIZARD LANG=DIR [LANG=DIR ...]
  GATE is the `armtune-gate` binary (`armtune gate` alone).
  LANG is lizard's name for the language (java, csharp, ruby, php, lua, ...). Functions are
  matched by file, name and start line (within three lines: the two tools start a function at its
  annotations or at its name). Prints, per language, how many functions both found, how many have
  the same number, the mean difference, and the kinds of differences seen most.

scripts/bench/complexity-vs-lizard.sh builds armtune-gate and installs lizard, then runs this.
"""

import collections
import csv
import io
import json
import os
import subprocess
import sys

EXTENSIONS = {
    "java": (".java",),
    "csharp": (".cs",),
    "ruby": (".rb",),
    "php": (".php",),
    "lua": (".lua",),
    "kotlin": (".kt", ".kts"),
    "swift": (".swift",),
    "scala": (".scala", ".sc"),
    "python": (".py",),
    "go": (".go",),
    "rust": (".rs",),
}


def armtune_functions(armtune, directory):
    """{(file, base name): [(line, cyclomatic)]} from armtune's JSON report (every function is a
    finding at --max-cyclomatic 0)."""
    out = subprocess.run(
        [armtune, "complexity", "--no-ignore", "--format", "json", "--max-cyclomatic", "0",
         "--max-cognitive", "1000000", "."],
        cwd=directory, capture_output=True, text=True, check=False)
    report = json.loads(out.stdout)
    functions = collections.defaultdict(list)
    for f in report["findings"]:
        if f["rule"] != "cyclomatic":
            continue
        base = f["function"].replace("::", ".").split(".")[-1]
        functions[(os.path.normpath(f["path"]), base)].append((f["line"], f["value"], f["function"]))
    return functions


def lizard_functions(lizard, directory, lang):
    out = subprocess.run([lizard, "--csv", "-l", lang, "."], cwd=directory, capture_output=True, text=True,
                         check=False)
    functions = collections.defaultdict(list)
    for row in csv.reader(io.StringIO(out.stdout)):
        if len(row) < 11:
            continue
        ccn, file, name, start = int(row[1]), row[6], row[7], int(row[9])
        base = name.replace("::", ".").split(".")[-1]
        functions[(os.path.normpath(file), base)].append((start, ccn, name))
    return functions


def match_functions(ours, theirs, extensions):
    """Pairs each of lizard's functions with armtune's nearest one of the same file and name:
    (matched, same, differences, examples of differences)."""
    both, same, diffs, examples = 0, 0, [], []
    for key, entries in theirs.items():
        if extensions and not key[0].endswith(extensions):
            continue
        candidates = list(ours.get(key, []))
        for start, ccn, name in entries:
            match = min(candidates, key=lambda c: abs(c[0] - start), default=None)
            if match is None or abs(match[0] - start) > 3:
                continue
            candidates.remove(match)
            both += 1
            same += match[1] == ccn
            if match[1] != ccn:
                diffs.append(match[1] - ccn)
                examples.append((abs(match[1] - ccn), key[0], start, name, match[1], ccn))
    return both, same, diffs, examples


def compare(armtune, lizard, lang, directory):
    ours = armtune_functions(armtune, directory)
    theirs = lizard_functions(lizard, directory, lang)
    extensions = EXTENSIONS.get(lang, ())
    both, same, diffs, examples = match_functions(ours, theirs, extensions)
    lizard_count = sum(len(v) for k, v in theirs.items() if not extensions or k[0].endswith(extensions))
    armtune_count = sum(len(v) for v in ours.values())
    print(f"{lang}: {directory}")
    print(f"  functions: lizard {lizard_count}, armtune {armtune_count}, matched {both}")
    if both:
        mean = sum(diffs) / both
        print(f"  same cyclomatic: {same} ({100.0 * same / both:.1f} %); mean armtune - lizard {mean:+.3f}; "
              f"armtune higher {sum(1 for d in diffs if d > 0)}, lower {sum(1 for d in diffs if d < 0)}")
    for _, file, start, name, a, b in sorted(examples, reverse=True)[:5]:
        print(f"    {file}:{start} {name}: armtune {a}, lizard {b}")


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    armtune, lizard = sys.argv[1], sys.argv[2]
    for arg in sys.argv[3:]:
        lang, _, directory = arg.partition("=")
        compare(armtune, lizard, lang, directory)


if __name__ == "__main__":
    main()
