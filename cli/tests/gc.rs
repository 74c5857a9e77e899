//! Garbage collection and SDT probes end to end, for real: entry uprobes on the Go runtime of
//! `workloads/gogc.go` and HotSpot's SDT probes under `workloads/JavaGc.java` count collection
//! cycles, which must match the runtimes' own counts; SDT probe hits of `workloads/sdt_demo.c` are
//! counted exactly.
//!
//! Needs root, Go (`golang-go`), a JDK and `<sys/sdt.h>` (installed by ci/setup.sh); skips with a
//! reason without root, fails under `ARMTUNE_REQUIRE_BPF=1`.

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
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
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
fn go_gc_of_a_running_pid() {
    let Some(_kernel) = bpf_or_skip("go_gc_of_a_running_pid") else { return };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("gc.json");
    // gogc waits 1.5 s (armtune attaches meanwhile), collects 15 times and exits, ending the profile.
    let workload = Command::new(gogc()).args(["15", "1500"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let out = run(armtune()
        .args(["profile", "--event", "gc", "--duration", "30", "-o"])
        .arg(&json)
        .arg("--pid")
        .arg(workload.id().to_string()));
    let printed = workload.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let since_pause: u64 = String::from_utf8_lossy(&printed.stdout)
        .split("since_pause=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .expect("gogc prints the collections after its pause");
    let gc = &read_json(&json)["gc"][0];
    assert_eq!(gc["cycles"].as_u64().unwrap(), since_pause, "{gc}");
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
    assert!(
        err.contains("cannot follow garbage collection") && err.contains("neither a JVM nor a Go program"),
        "{err}"
    );
    let out = run(armtune().args(["profile", "--event", "gc", "--all", "-o", "/tmp/armtune-gc-err.svg"]));
    assert!(stderr(&out).contains("needs the Go program"), "{}", stderr(&out));
    assert_no_programs_left();
    let _ = std::fs::remove_file("/tmp/armtune-gc-err.svg");
}

/// `workloads/JavaGc.java`, compiled once per test run.
fn java_gc_classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("javagc");
        std::fs::create_dir_all(&dir).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/JavaGc.java");
        let status = Command::new("javac")
            .arg("-d")
            .arg(&dir)
            .arg(&src)
            .status()
            .expect("javac (a JDK) is needed for the JVM test: run ci/setup.sh");
        assert!(status.success(), "javac {}", src.display());
        dir
    })
}

#[test]
fn jvm_gc_cycles_match_the_jvm_count() {
    let Some(_kernel) = bpf_or_skip("jvm_gc_cycles_match_the_jvm_count") else { return };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("gc.json");
    let out = run(armtune()
        .args(["profile", "--event", "gc", "-o"])
        .arg(&json)
        .args(["--", "java", "-cp"])
        .arg(java_gc_classes())
        .args(["JavaGc", "12"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: u64 = String::from_utf8_lossy(&out.stdout)
        .split("collections=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .expect("JavaGc prints its collection count");
    assert!(printed >= 12, "{printed}");
    let gc = &read_json(&json)["gc"][0];
    assert_eq!(gc["cycles"].as_u64().unwrap(), printed, "armtune counts what the JVM counts: {gc}");
    assert_eq!(gc["pauses"].as_u64().unwrap(), printed, "one gc__begin/gc__end pair per collection: {gc}");
    assert_eq!(gc["comm"], "java");
}

#[test]
fn sdt_probe_hits_are_counted_exactly() {
    let Some(_kernel) = bpf_or_skip("sdt_probe_hits_are_counted_exactly") else { return };
    let sdt_demo = build_workload("cc", "sdt_demo.c", "sdt_demo");
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("sdt.folded");
    let out = run(armtune()
        .args(["profile", "-q", "--event", "sdt:armtune_demo:*", "--format", "folded", "-o"])
        .arg(&folded)
        .arg("--")
        .arg(&sdt_demo)
        .arg("1500"));
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = read_folded(&folded);
    assert_eq!(weight_under(&stacks, "[sdt armtune_demo:tick]", "tick"), 4500, "{stacks:?}");
    assert_eq!(weight_under(&stacks, "[sdt armtune_demo:tock]", "tock"), 1500, "{stacks:?}");

    let out = run(armtune()
        .args(["profile", "--event", "sdt:libc:memory_*", "-o", "/tmp/armtune-sdt-err.svg", "--"])
        .arg(&sdt_demo));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no SDT probe libc:memory_*"), "{err}");
    assert_no_programs_left();
    let _ = std::fs::remove_file("/tmp/armtune-sdt-err.svg");
}
