//! pprof in and out, checked by the tools that made the format: profiles Go's own `runtime/pprof`
//! writes (`workloads/gopprof.go`, built here with Debian's Go) drawn by `armtune flame`; profiles
//! `armtune profile --format pprof` writes read by Debian's `go tool pprof` (`-raw`, `-top`,
//! `-traces`), whose numbers must be armtune's own.
//!
//! The profiling tests need root; they skip with a reason without it, and fail under
//! `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use common::*;

/// The CPU and heap profiles `workloads/gopprof.go` writes of itself, made once.
fn go_profiles() -> &'static (PathBuf, PathBuf) {
    static PROFILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PROFILES.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let exe = tmp.join("gopprof");
        let src = repo_root().join("workloads/gopprof.go");
        let status = go().args(["build", "-o"]).arg(&exe).arg(&src).status().expect("go (run ci/setup.sh)");
        assert!(status.success(), "go build {}", src.display());
        let (cpu, heap) = (tmp.join("go-cpu.pprof"), tmp.join("go-heap.pprof"));
        let out = run(Command::new(&exe).arg(&cpu).arg(&heap));
        assert!(out.status.success(), "{}", stderr(&out));
        (cpu, heap)
    })
}

/// `armtune flame INPUT -o x.folded ARGS`: the input's stacks as armtune reads them.
fn flame_folded(input: &Path, args: &[&str]) -> Vec<(Vec<String>, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("x.folded");
    let out = run(armtune().arg("flame").arg(input).args(args).arg("-o").arg(&folded));
    assert!(out.status.success(), "armtune flame {}: {}", input.display(), stderr(&out));
    read_folded(&folded)
}

fn weight_with(stacks: &[(Vec<String>, u64)], function: &str) -> u64 {
    stacks.iter().filter(|(f, _)| f.iter().any(|n| n == function)).map(|(_, w)| w).sum()
}

#[test]
fn go_runtime_pprof_cpu_profiles_are_drawn_with_the_programs_functions() {
    let (cpu, _) = go_profiles();
    // Go's CPU profile has samples/count and cpu/nanoseconds; the last is the default, as in pprof.
    let stacks = flame_folded(cpu, &[]);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let (major, minor) = (weight_with(&stacks, "main.burnMajor"), weight_with(&stacks, "main.burnMinor"));
    assert!(total >= 500_000_000, "{total} ns of a one-second profile");
    assert!(stacks.iter().all(|(f, _)| f.first().is_some_and(|r| r == "runtime.main" || r.starts_with("runtime."))));
    // 3:1 by work; about 100 samples of 10 ms, so three standard deviations are 0.13 either way.
    let share = major as f64 / (major + minor) as f64;
    assert!((major + minor) * 10 >= total * 9 && (0.62..=0.88).contains(&share), "burnMajor share {share:.2}");
    // The spinning itself is under both, as main.spin.
    assert!(weight_under(&stacks, "main.burnMajor", "main.spin") * 10 >= major * 9);
    let counts = flame_folded(cpu, &["--sample-type", "samples"]);
    assert_eq!(counts.iter().map(|(_, w)| w).sum::<u64>() * 10_000_000, total, "10 ms per sample");

    // An SVG of it, as users draw it.
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("go.svg");
    assert!(run(armtune().arg("flame").arg(cpu).arg("-o").arg(&svg)).status.success());
    assert!(svg_text(&svg).contains("main.burnMajor"));
}

#[test]
fn go_heap_profiles_hold_live_and_allocated_bytes() {
    let (_, heap) = go_profiles();
    // The default sample type of a heap profile is inuse_space: 64 live blocks of 64 KiB (and the
    // slice that holds them).
    let live = flame_folded(heap, &[]);
    let kept = weight_with(&live, "main.keepBlocks");
    assert!((64 * 64 * 1024..64 * 64 * 1024 + 4096).contains(&kept), "{live:?}");
    assert!(weight_with(&live, "main.dropBlocks") < 4096, "none of its dropped blocks: {live:?}");
    // The runtime may allocate a little on dropBlocks' stack when a collection starts inside
    // one of its makes (CI once read 256 × 4096 + 96 bytes on a loaded machine): the blocks'
    // bytes and count exactly, plus at most a few small runtime objects.
    let allocated = flame_folded(heap, &["--sample-type", "alloc_space"]);
    let bytes = weight_with(&allocated, "main.dropBlocks");
    assert!((256 * 4096..256 * 4096 + 1024).contains(&bytes), "{allocated:?}");
    let objects = flame_folded(heap, &["--sample-type", "alloc_objects/count"]);
    let count = weight_with(&objects, "main.dropBlocks");
    assert!((256..256 + 4).contains(&count), "{objects:?}");
    // A sample type the profile lacks, and a --graph of a pprof input, are clear errors.
    let out = run(armtune().arg("flame").arg(heap).args(["--sample-type", "cpu", "-o", "/dev/null"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no sample type cpu in this profile (it has alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes)"), "{}", stderr(&out));
    let out = run(armtune().arg("flame").arg(heap).args(["--graph", "leak", "-o", "/dev/null"]));
    assert_eq!(out.status.code(), Some(2));
    // --diff takes pprof inputs as well as any other.
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("diff.svg");
    let out = run(armtune().args(["flame", "--diff"]).arg(heap).arg(heap).arg("-o").arg(&diff));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(svg_text(&diff).contains("main.keepBlocks"));
}

/// What `go tool pprof -raw` says of a profile: its sample types, and each sample's stack (root
/// first, inlined functions as frames) and values.
struct Raw {
    types: Vec<String>,
    samples: Vec<(Vec<String>, Vec<i64>)>,
    /// The whole text, for what the fields above leave out (labels, mappings).
    text: String,
}

impl Raw {
    fn of(path: &Path) -> Raw {
        let out = run(go().args(["tool", "pprof", "-raw", "-symbolize=none"]).arg(path));
        assert!(out.status.success(), "go tool pprof -raw {}: {}", path.display(), stderr(&out));
        Raw::parse(&stdout(&out))
    }

    fn parse(text: &str) -> Raw {
        let mut lines = text.lines().skip_while(|l| *l != "Samples:").skip(1);
        let types = lines.next().expect("sample types").split_whitespace().map(String::from).collect();
        let mut ids = Vec::new();
        for line in lines.by_ref().take_while(|l| *l != "Locations") {
            // "  30  303030300: 1 2 3 " (values, then location ids leaf first), or a label line.
            if let Some((values, locations)) = line.split_once(':') {
                let values: Option<Vec<i64>> = values.split_whitespace().map(|v| v.parse().ok()).collect();
                if let Some(values) = values.filter(|v| !v.is_empty()) {
                    let locations: Vec<u64> = locations.split_whitespace().map(|l| l.parse().unwrap()).collect();
                    ids.push((locations, values));
                }
            }
        }
        // "     1: 0x0 M=2 work_major :0 s=0", then "             inlined_into ..." for inlined lines.
        let mut functions: HashMap<u64, Vec<String>> = HashMap::new();
        let mut current = 0;
        for line in lines.take_while(|l| *l != "Mappings") {
            let trimmed = line.trim_start();
            let rest = match trimmed.split_once(": ") {
                Some((id, rest)) if id.chars().all(|c| c.is_ascii_digit()) => {
                    current = id.parse().unwrap();
                    rest.split_whitespace()
                        .skip(1)
                        .skip_while(|t| t.starts_with("M=") || *t == "[F]")
                        .collect::<Vec<_>>()
                }
                _ => trimmed.split_whitespace().collect(),
            };
            if let Some(name) = rest.first() {
                functions.entry(current).or_default().push(name.to_string());
            }
        }
        let samples = ids
            .into_iter()
            .map(|(locations, values)| {
                let frames = locations
                    .iter()
                    .rev()
                    .flat_map(|id| functions.get(id).into_iter().flat_map(|names| names.iter().rev().cloned()))
                    .collect();
                (frames, values)
            })
            .collect();
        Raw { types, samples, text: text.to_string() }
    }

    /// The stacks with the values of sample type `kind` (`samples/count`).
    fn stacks(&self, kind: &str) -> Vec<(Vec<String>, u64)> {
        let i = self.types.iter().position(|t| t == kind).unwrap_or_else(|| panic!("{kind} among {:?}", self.types));
        self.samples.iter().map(|(f, v)| (f.clone(), v[i] as u64)).collect()
    }
}

/// Self weight per leaf function.
fn by_leaf(stacks: &[(Vec<String>, u64)]) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for (frames, w) in stacks {
        if let Some(leaf) = frames.last() {
            *out.entry(leaf.trim_end_matches("_[k]").to_string()).or_insert(0) += w;
        }
    }
    out
}

#[test]
fn cpu_profiles_armtune_writes_are_read_by_go_tool_pprof() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (pprof, folded) = (dir.path().join("cpu.pb.gz"), dir.path().join("cpu.folded"));
    let out = run(armtune()
        .args(["profile", "-q", "-F", "999", "-o"])
        .arg(&pprof)
        .arg("--folded")
        .arg(&folded)
        .arg("--")
        .arg(demo())
        .args(["1", "syscall"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let ours = read_folded(&folded);
    let total: u64 = ours.iter().map(|(_, w)| w).sum();
    assert!(total >= 500, "{total} samples");

    let raw = Raw::of(&pprof);
    assert_eq!(raw.types, ["samples/count", "cpu/nanoseconds"]);
    let theirs = raw.stacks("samples/count");
    assert_eq!(theirs.iter().map(|(_, w)| w).sum::<u64>(), total, "the same samples");
    // The nanoseconds are the samples times the period (1 s / 999).
    let ns: u64 = raw.stacks("cpu/nanoseconds").iter().map(|(_, w)| w).sum();
    assert_eq!(ns, total * (1_000_000_000 / 999));
    // The same functions with the same self weights (user and kernel: the syscall mode writes to
    // /dev/null, so the kernel's frames are most of it).
    let (ours_by_leaf, theirs_by_leaf) = (by_leaf(&ours), by_leaf(&theirs));
    assert_eq!(ours_by_leaf, theirs_by_leaf);
    let mut top: Vec<(&String, &u64)> = ours_by_leaf.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1));
    // And what pprof's own reports print: the top function, and the traces under main.
    let top_out = run(go().args(["tool", "pprof", "-top", "-symbolize=none", "-sample_index=samples"]).arg(&pprof));
    let text = stdout(&top_out);
    let first = text.lines().skip_while(|l| !l.trim_start().starts_with("flat")).nth(1).unwrap_or("");
    assert!(first.ends_with(top[0].0.as_str()), "pprof's top line {first:?}, armtune's top {:?}", top[0]);
    let traces = run(go().args(["tool", "pprof", "-traces", "-symbolize=none"]).arg(&pprof));
    assert!(traces.status.success() && stdout(&traces).contains("syscall_heavy"), "{}", stderr(&traces));

    // And read back by armtune: the same folded stacks as the run's own.
    let back = flame_folded(&pprof, &["--sample-type", "samples"]);
    let sorted = |mut v: Vec<(Vec<String>, u64)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(back), sorted(ours));
}

#[test]
fn json_reports_become_pprof_with_mappings_inlined_functions_and_pids() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (json, pprof) = (dir.path().join("cpu.json"), dir.path().join("cpu.pb.gz"));
    let out = run(armtune().args(["profile", "-q", "-F", "999", "-o"]).arg(&json).arg("--").arg(demo()).arg("0.5"));
    assert!(out.status.success(), "{}", stderr(&out));
    // JSON -> pprof -> folded gives the JSON's own folded stacks.
    let out = run(armtune().arg("flame").arg(&json).arg("-o").arg(&pprof));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(flame_folded(&pprof, &["--sample-type", "samples"]), flame_folded(&json, &[]));
    // Named code is in its file's mapping, with the build-id, and the helper the compiler inlined
    // into work_major is a second line of work_major's location, as Go's own profiles write it.
    let raw = Raw::of(&pprof);
    let mapping = raw.text.lines().skip_while(|l| *l != "Mappings").nth(1).unwrap_or("");
    let demo_path = demo().to_str().unwrap();
    assert!(mapping.contains(demo_path) && mapping.ends_with("[FN]"), "the first mapping: {mapping}");
    let build_id = mapping.split_whitespace().nth(3).unwrap_or("");
    assert!(build_id.len() == 40 && build_id.chars().all(|c| c.is_ascii_hexdigit()), "{mapping}");
    let locations: Vec<&str> = raw.text.lines().collect();
    let inlined = locations.windows(2).any(|w| {
        w[0].split_whitespace().nth(3) == Some("lcg_step") && w[1].split_whitespace().next() == Some("work_major")
    });
    assert!(inlined, "lcg_step inlined into work_major: {}", raw.text);
    let pids: std::collections::BTreeSet<&str> =
        raw.text.lines().filter_map(|l| l.trim().strip_prefix("pid:[")).collect();
    assert!(pids.len() == 1 && pids.iter().all(|p| p.trim_end_matches(']').parse::<u32>().is_ok()), "{pids:?}");
}

#[test]
fn allocation_profiles_give_pprof_the_live_bytes_armtune_counts() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pprof = dir.path().join("mem.pb.gz");
    let out = run(armtune()
        .args(["profile", "-q", "--event", "alloc,leak", "-o"])
        .arg(&pprof)
        .arg("--")
        .arg(allocs())
        .args(["0", "0.2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    // One file per family: allocations in the main one, live blocks beside it.
    let leak = dir.path().join("mem.leak.pb.gz");
    let (alloc, live) = (Raw::of(&pprof), Raw::of(&leak));
    assert_eq!(alloc.types, ["alloc_objects/count", "alloc_space/bytes"]);
    assert_eq!(live.types, ["inuse_objects/count", "inuse_space/bytes"]);
    for &(function, calls, bytes, live_bytes) in EXPECTED {
        assert_eq!(weight_under(&alloc.stacks("alloc_objects/count"), "main", function), calls, "calls of {function}");
        assert_eq!(weight_under(&alloc.stacks("alloc_space/bytes"), "main", function), bytes, "bytes of {function}");
        assert_eq!(weight_under(&live.stacks("inuse_space/bytes"), "main", function), live_bytes, "live of {function}");
    }
    // As a user reads it: pprof's -top by inuse_space names make_mapped first (8 KiB live).
    let top = run(go().args(["tool", "pprof", "-top", "-symbolize=none", "-sample_index=inuse_space"]).arg(&leak));
    let text = stdout(&top);
    let first = text.lines().skip_while(|l| !l.trim_start().starts_with("flat")).nth(1).unwrap_or("");
    assert!(first.ends_with("make_mapped") && first.trim_start().starts_with("8192B"), "{text}");
}
