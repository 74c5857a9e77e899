//! Go garbage collection end to end, for real: entry uprobes on the Go runtime of
//! `workloads/gogc.go` count its collection cycles, which must match the runtime's own count.
//!
//! Needs root and Go (`golang-go`, installed by ci/setup.sh); skips with a reason without them,
//! fails under `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use common::*;

/// The Go workload, built once per test run with Debian's go (symbols kept).
fn gogc() -> &'static Path {
    static GOGC: OnceLock<PathBuf> = OnceLock::new();
    GOGC.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = tmp.join("gogc");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/gogc.go");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(&src)
            .env("GOCACHE", tmp.join("gocache"))
            .env("GOPATH", tmp.join("gopath"))
            .env("GO111MODULE", "off")
            .status()
            .expect("go (Debian's golang-go) is needed to build the GC workload: run ci/setup.sh");
        assert!(status.success(), "go build {}", src.display());
        out
    })
}

#[test]
fn go_gc_cycles_match_the_runtime_count() {
    let Some(_kernel) = bpf_or_skip("go_gc_cycles_match_the_runtime_count") else { return };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("gc.json");
    let out = run(armtune().args(["profile", "--event", "gc", "-o"]).arg(&json).arg("--").arg(gogc()).arg("25"));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: u64 = String::from_utf8_lossy(&out.stdout)
        .split("NumGC=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .expect("gogc prints NumGC");
    assert!(printed >= 25, "25 forced collections at least: {printed}");
    let v = read_json(&json);
    let gc = &v["gc"][0];
    assert_eq!(gc["cycles"].as_u64().unwrap(), printed, "armtune counts what the runtime counts: {gc}");
    // Two stop-the-world phases per cycle, plus ReadMemStats's.
    assert!(gc["pauses"].as_u64().unwrap() > 2 * printed, "{gc}");
    assert!(gc["pause_max_us"].as_f64().unwrap() > 0.0 && gc["pause_p50_us"].as_f64().is_some(), "{gc}");
    assert_eq!(gc["comm"], "gogc");
    let err = stderr(&out);
    assert!(err.contains("garbage collection in gogc") && err.contains("pause usecs"), "{err}");
    assert_no_programs_left();
}

#[test]
fn go_programs_refuse_allocator_probes_and_c_programs_refuse_gc_probes() {
    let Some(_kernel) = bpf_or_skip("go_programs_refuse_allocator_probes_and_c_programs_refuse_gc_probes") else {
        return;
    };
    let out = run(armtune().args(["profile", "--event", "alloc", "-o", "/tmp/armtune-gc-err.svg", "--"]).arg(gogc()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is a Go program") && err.contains("--event gc"), "{err}");
    let out = run(armtune().args(["profile", "--event", "gc", "-o", "/tmp/armtune-gc-err.svg", "--"]).arg(allocs()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot follow garbage collection") && err.contains("not a Go program"), "{err}");
    let out = run(armtune().args(["profile", "--event", "gc", "--all", "-o", "/tmp/armtune-gc-err.svg"]));
    assert!(stderr(&out).contains("needs the Go program"), "{}", stderr(&out));
    assert_no_programs_left();
    let _ = std::fs::remove_file("/tmp/armtune-gc-err.svg");
}
