//! Garbage collection and SDT probes end to end, for real: entry uprobes on the Go runtime of
//! `workloads/gogc.go` and HotSpot's SDT probes under `workloads/JavaGc.java` count collection
//! cycles, which must match the runtimes' own counts; SDT probe hits of `workloads/sdt_demo.c` are
//! counted exactly, and the semaphore-guarded probe of `workloads/sdt_guarded.c` is enabled.
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

/// The number a workload printed after `label` (`NumGC=`, `since_pause=`).
fn printed_count(stdout: &[u8], label: &str) -> u64 {
    String::from_utf8_lossy(stdout)
        .split(label)
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("the workload prints {label}: {}", String::from_utf8_lossy(stdout)))
}

#[test]
fn go_gc_cycles_match_the_runtime_count() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("gc.json");
    let out = run(armtune().args(["profile", "--event", "gc", "-o"]).arg(&json).arg("--").arg(gogc()).arg("25"));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = printed_count(&out.stdout, "NumGC=");
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
}

#[test]
fn go_mark_assists_name_the_allocating_function() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (json, svg) = (dir.path().join("assist.json"), dir.path().join("assist.svg"));
    // gogc assist: four goroutines allocate trees in main.buildTree faster than the collector marks.
    let out = run(armtune().args(["profile", "--event", "gc", "-o"]).arg(&json).arg("--").arg(gogc()).arg("assist"));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = printed_count(&out.stdout, "NumGC=");
    let v = read_json(&json);
    let gc = &v["gc"][0];
    assert_eq!(gc["cycles"].as_u64().unwrap(), printed, "{gc}");
    let assists = gc["assists"].as_u64().unwrap();
    assert!(assists > 0, "no mark assist in {printed} self-started cycles: {gc}");
    let stacks = json_stacks(&v["profiles"]["gc-assist"]);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    assert_eq!(total, assists, "every assist is in the graph");
    let in_build = weight_under(&stacks, "[gc assist]", "main.buildTree");
    assert!(in_build * 10 >= total * 9, "assists paid by main.buildTree: {in_build} of {total}: {stacks:?}");
    assert!(stacks.iter().all(|(f, _)| f[1] == "[gc assist]"), "marker under the process");
    let err = stderr(&out);
    assert!(err.contains("mark assists by allocating function") && err.contains("main.buildTree"), "{err}");

    // An SVG output draws the assist graph: the only flame graph of a gc-only run. The program is
    // named by a relative path, as users do (`-- ./service`).
    let out = run(armtune()
        .current_dir(gogc().parent().unwrap())
        .args(["profile", "-q", "--event", "gc", "-o"])
        .arg(&svg)
        .args(["--", "./gogc", "assist"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = svg_text(&svg);
    assert!(text.contains("Go GC Assists") && text.contains("main.buildTree"), "{text}");
}

#[test]
fn go_gc_of_a_running_pid() {
    let Some(_kernel) = kernel_test() else { return };
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
    let since_pause = printed_count(&printed.stdout, "since_pause=");
    let gc = &read_json(&json)["gc"][0];
    assert_eq!(gc["cycles"].as_u64().unwrap(), since_pause, "{gc}");
}

#[test]
fn go_programs_refuse_allocator_probes_and_c_programs_refuse_gc_probes() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let out = run(armtune().args(["profile", "--event", "alloc", "-o", "/tmp/armtune-gc-err.svg", "--"]).arg(gogc()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is a Go program") && err.contains("--event gc"), "{err}");
    let out = run(armtune().args(["profile", "--event", "gc", "-o", "/tmp/armtune-gc-err.svg", "--"]).arg(allocs()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
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
    let Some(_kernel) = kernel_test() else { return };
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
    let Some(_kernel) = kernel_test() else { return };
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

    // --sdt-lib by a relative path, as users give it, in a program the command starts.
    let out = run(armtune()
        .current_dir(sdt_demo.parent().unwrap())
        .args(["profile", "-q", "--event", "sdt:armtune_demo:tock", "--sdt-lib", "./sdt_demo", "--format"])
        .args(["folded", "-o"])
        .arg(&folded)
        .args(["--", "sh", "-c", "./sdt_demo 100"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = read_folded(&folded);
    assert_eq!(weight_under(&stacks, "[sdt armtune_demo:tock]", "tock"), 100, "{stacks:?}");

    let out = run(armtune()
        .args(["profile", "--event", "sdt:libc:memory_*", "-o", "/tmp/armtune-sdt-err.svg", "--"])
        .arg(&sdt_demo));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no SDT probe libc:memory_*"), "{err}");
    assert_no_programs_left();
    let _ = std::fs::remove_file("/tmp/armtune-sdt-err.svg");
}

#[test]
fn semaphore_guarded_sdt_probes_are_enabled_while_attached() {
    let Some(_kernel) = kernel_test() else { return };
    let guarded = build_workload("cc", "sdt_guarded.c", "sdt_guarded");
    let alone = Command::new(&guarded).arg("10").output().unwrap();
    assert_eq!(printed_count(&alone.stdout, "enabled="), 0, "the probe is off without a tracer");
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("sdt.folded");
    let profile = |target: &[&std::ffi::OsStr]| {
        let out = run(armtune()
            .args(["profile", "--event", "sdt:armtune_guarded:hit", "--duration", "30", "--format", "folded", "-o"])
            .arg(&folded)
            .args(target));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stderr(&out).contains("semaphore"), "no warning: the semaphore is raised: {}", stderr(&out));
        read_folded(&folded)
    };

    // The command itself.
    let stacks = profile(&["--".as_ref(), guarded.as_os_str(), "700".as_ref()]);
    assert_eq!(weight_under(&stacks, "[sdt armtune_guarded:hit]", "guarded"), 700, "{stacks:?}");

    // A program a command starts later, named by --sdt-lib: the kernel raises the semaphore when
    // the program maps its file.
    let out_path = dir.path().join("command.out");
    let script = format!("{} 1000 > {}", guarded.display(), out_path.display());
    let stacks = profile(&[
        "--sdt-lib".as_ref(),
        guarded.as_os_str(),
        "--".as_ref(),
        "sh".as_ref(),
        "-c".as_ref(),
        script.as_ref(),
    ]);
    let enabled = printed_count(&std::fs::read(&out_path).unwrap(), "enabled=");
    assert_eq!(enabled, 1000, "every call found the probe enabled");
    assert_eq!(weight_under(&stacks, "[sdt armtune_guarded:hit]", "guarded"), 1000, "{stacks:?}");

    // A running pid: raised in the process while attached (it waits 2.5 s, armtune attaching
    // meanwhile, then calls 300 times).
    let workload = Command::new(&guarded).args(["300", "2500"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let stacks = profile(&["--pid".as_ref(), workload.id().to_string().as_ref()]);
    let enabled = printed_count(&workload.wait_with_output().unwrap().stdout, "enabled=");
    assert_eq!(enabled, 300, "the probe was enabled from the first call after attaching");
    assert_eq!(weight_under(&stacks, "[sdt armtune_guarded:hit]", "guarded"), 300, "{stacks:?}");
}
