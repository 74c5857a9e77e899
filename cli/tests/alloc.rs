//! Allocator events end to end, for real: uprobes on the C library's allocator count the calls of
//! `workloads/allocs.c` exactly (uprobes miss nothing), and the leak view shows exactly the blocks
//! it leaves live.
//!
//! Needs root; skips with a reason without it, fails under `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    path::Path,
    process::{Command, Stdio},
};

use common::*;

fn folded_profile(args: &[&str], target: &[&std::ffi::OsStr]) -> Vec<(Vec<String>, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("p.folded");
    let out = run(armtune().args(["profile", "-q", "--format", "folded", "-o"]).arg(&folded).args(args).args(target));
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    read_folded(&folded)
}

/// The workload as the command, pausing 0.2 s before it exits: armtune reads a process's mappings
/// when its first event arrives, and a process gone a millisecond later (on a loaded machine) would
/// leave its stacks unnamed. README: "Limits".
fn cmd(path: &Path) -> Vec<&std::ffi::OsStr> {
    vec!["--".as_ref(), path.as_os_str(), "0".as_ref(), "0.2".as_ref()]
}

#[test]
fn allocation_counts_and_bytes_are_exact() {
    let Some(_kernel) = kernel_test() else { return };
    let bytes = folded_profile(&["--event", "alloc"], &cmd(allocs()));
    let calls = folded_profile(&["--event", "alloc", "--alloc-weight", "count"], &cmd(allocs()));
    for &(function, n, b, _) in EXPECTED {
        assert_eq!(weight_under(&bytes, "main", function), b, "bytes of {function}: {bytes:?}");
        assert_eq!(weight_under(&calls, "main", function), n, "calls of {function}: {calls:?}");
    }
    // Allocated before the (absent) pause and freed after: counted as allocations, not live.
    assert_eq!(weight_under(&bytes, "main", "make_early"), 5000);
}

#[test]
fn stacks_that_collide_in_the_stack_map_are_kept() {
    let Some(_kernel) = kernel_test() else { return };
    // Two buckets for a dozen stacks: most collide, and must land in the overflow map, not be lost.
    let bytes = folded_profile(&["--event", "alloc", "--stack-map-size", "2"], &cmd(allocs()));
    for &(function, _, b, _) in EXPECTED {
        assert_eq!(weight_under(&bytes, "main", function), b, "bytes of {function}: {bytes:?}");
    }
    assert!(bytes.iter().all(|(f, _)| !f.iter().any(|x| x.contains("stack lost"))), "{bytes:?}");
}

#[test]
fn leak_view_shows_exactly_the_live_blocks() {
    let Some(_kernel) = kernel_test() else { return };
    let live = folded_profile(&["--event", "leak"], &cmd(allocs()));
    for &(function, _, _, live_bytes) in EXPECTED {
        assert_eq!(weight_under(&live, "main", function), live_bytes, "live bytes of {function}: {live:?}");
    }
    assert_eq!(weight_under(&live, "main", "make_early"), 0, "freed blocks are not live");
    assert!(live.iter().all(|(f, _)| f[1].starts_with("[live ")), "age marker under the process: {live:?}");
}

#[test]
fn a_full_live_block_map_is_reported_with_what_it_missed() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("leak.json");
    // The workload leaves about 60 blocks live: a 16-entry map cannot hold them.
    let out = run(armtune()
        .args(["profile", "--event", "leak", "--live-map-size", "16", "-o"])
        .arg(&json)
        .args(cmd(allocs())));
    assert!(out.status.success(), "{}", stderr(&out));
    let v = read_json(&json);
    let missed = v["meta"]["lost"]["live_blocks"].as_u64().unwrap();
    assert!(missed > 0, "{}", v["meta"]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{missed} live blocks (live-block map full")) && err.contains("raise --live-map-size"),
        "{err}"
    );
    let live: u64 = v["stacks"].as_array().unwrap().iter().map(|s| s["weight"].as_u64().unwrap()).sum();
    let expected: u64 = EXPECTED.iter().map(|e| e.3).sum();
    assert!(live < expected, "a 16-entry map cannot hold all {expected} live bytes: {live}");
}

#[test]
fn json_has_totals_sizes_and_both_graphs() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (json, svg) = (dir.path().join("a.json"), dir.path().join("a.svg"));
    let out = run(armtune()
        .args(["profile", "--event", "alloc,leak", "-o"])
        .arg(&json)
        .arg("--")
        .arg(allocs())
        .args(["0", "0.2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("allocation sizes of allocs") && err.contains("16 -> 31"), "{err}");
    let v = read_json(&json);
    assert_eq!(v["unit"]["label"], "bytes allocated");
    assert_eq!(v["profiles"]["leak"]["unit"]["label"], "bytes live at end");
    let sizes = &v["alloc_sizes"][0]["histogram"]["buckets"];
    assert!(sizes[4].as_u64().unwrap() >= 100, "the 24-byte blocks: {sizes}");
    assert!(sizes[9].as_u64().unwrap() >= 5, "the 1000-byte blocks: {sizes}");
    // Both totals per stack, whichever the main graph weighs.
    let (bytes, calls) = (json_stacks(&v["profiles"]["alloc-bytes"]), json_stacks(&v["profiles"]["alloc-calls"]));
    for &(function, n, b, _) in EXPECTED {
        assert_eq!(
            (weight_under(&bytes, "main", function), weight_under(&calls, "main", function)),
            (b, n),
            "{function}"
        );
    }
    // `armtune flame` draws any graph of the report later.
    let leak_svg = dir.path().join("later.leak.svg");
    let out = run(armtune().arg("flame").arg(&json).args(["--graph", "leak", "-o"]).arg(&leak_svg));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = svg_text(&leak_svg);
    assert!(text.contains("bytes live at end") && text.contains("make_zeroed"), "{text}");

    let out = run(armtune()
        .args(["profile", "-q", "--event", "alloc,leak", "-o"])
        .arg(&svg)
        .arg("--")
        .arg(allocs())
        .args(["0", "0.2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(svg_text(&svg).contains("Allocation Flame Graph"));
    assert!(svg_text(&dir.path().join("a.leak.svg")).contains("make_small"));
}

#[test]
fn pid_target_ignores_frees_of_older_blocks() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("p.folded");
    // allocs makes its early blocks, pauses 1.5 s (armtune attaches), frees them, allocates, waits
    // 0.5 s and exits, which ends the profile.
    let mut workload = Command::new(allocs()).args(["1.5", "0.5"]).stdout(Stdio::null()).spawn().unwrap();
    let out = run(armtune()
        .args(["profile", "-q", "--event", "leak", "--duration", "20", "--format", "folded", "-o"])
        .arg(&folded)
        .arg("--pid")
        .arg(workload.id().to_string()));
    workload.wait().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let live = read_folded(&folded);
    for &(function, _, _, live_bytes) in EXPECTED {
        assert_eq!(weight_under(&live, "main", function), live_bytes, "live bytes of {function}: {live:?}");
    }
    assert!(live.iter().all(|(f, _)| !f.iter().any(|x| x == "make_early" || x == "free_early")), "{live:?}");
}

#[test]
fn static_programs_and_forked_children_are_covered() {
    let Some(_kernel) = kernel_test() else { return };
    // A static program carries its own malloc: the probes go into the program itself. It is named
    // by a path relative to the working directory, as users do (`-- ./service`).
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("p.folded");
    let out = run(armtune()
        .current_dir(allocs_static().parent().unwrap())
        .args(["profile", "-q", "--event", "alloc", "--format", "folded", "-o"])
        .arg(&folded)
        .arg("--")
        .arg(Path::new(".").join(allocs_static().file_name().unwrap()))
        .args(["0", "0.2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = read_folded(&folded);
    for &(function, _, b, _) in EXPECTED {
        assert_eq!(weight_under(&bytes, "main", function), b, "static, bytes of {function}: {bytes:?}");
    }
    // The command is a shell that forks the workload: the child is a target too.
    let script = format!("{} 0 0.2; true", allocs().display());
    let bytes = folded_profile(&["--event", "alloc"], &["--".as_ref(), "sh".as_ref(), "-c".as_ref(), script.as_ref()]);
    assert_eq!(weight_under(&bytes, "main", "make_small"), 2400, "{bytes:?}");
}

#[test]
fn sampled_allocations_estimate_the_totals() {
    let Some(_kernel) = kernel_test() else { return };
    let churn = build_workload("cc", "churn.c", "churn");
    // 500,000 malloc(64): 32,000,000 bytes. One sample per 64 KiB on average is ~490 samples, a
    // relative standard error near 4.5 %; the bound is four of them.
    let bytes = folded_profile(
        &["--event", "alloc", "--alloc-sample", "65536"],
        &["--".as_ref(), churn.as_os_str(), "500000".as_ref()],
    );
    let estimate = weight_under(&bytes, "main", "churn") as f64;
    assert!((estimate / 32e6 - 1.0).abs() < 0.18, "estimated {estimate} bytes of 32,000,000");
}

#[test]
fn a_library_without_an_allocator_is_a_clear_error() {
    let Some(_kernel) = kernel_test() else { return };
    let out = run(armtune()
        .args(["profile", "--event", "alloc", "--alloc-lib", "/bin/true", "-o", "/tmp/armtune-alloc-err.svg", "--"])
        .arg(allocs()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot place allocator probes in /bin/true: no malloc"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_no_programs_left();
    let _ = std::fs::remove_file("/tmp/armtune-alloc-err.svg");
}
