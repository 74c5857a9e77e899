//! `armtune profile` end to end, for real: the eBPF programs load into the running kernel, sample
//! a C workload built from `workloads/demo.c`, and the outputs are checked.
//!
//! Needs root (CAP_BPF + CAP_PERFMON). Without it each test prints why it skipped, except under
//! `ARMTUNE_REQUIRE_BPF=1` (set by `.ci/run`), where that is a failure.

mod common;

use std::{
    collections::HashMap,
    os::unix::fs::MetadataExt,
    path::Path,
    process::{Command, Stdio},
    thread::sleep,
    time::Duration,
};

use common::*;

#[test]
fn cpu_split_matches_the_workload_ratio() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (svg, folded) = (dir.path().join("p.svg"), dir.path().join("p.folded"));
    let out = run(armtune()
        .args(["profile", "-F", "499", "-o"])
        .arg(&svg)
        .arg("--folded")
        .arg(&folded)
        .arg("--")
        .arg(demo())
        .arg("3"));
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = read_folded(&folded);
    let major = weight_under(&stacks, "main", "work_major");
    let minor = weight_under(&stacks, "main", "work_minor");
    // The workload does three times as much work in work_major: 75% of the pair, within ±5 points
    // (about four standard deviations of sampling noise at ~1,400 samples).
    let share = major as f64 / (major + minor) as f64;
    assert!(major + minor > 500, "too few samples: {major} + {minor}");
    assert!((share - 0.75).abs() < 0.05, "work_major share {share:.3} (major {major}, minor {minor})");
    // Nearly every sample of the process names both its callers.
    let total: u64 = stacks.iter().filter(|(f, _)| f[0] == "demo").map(|(_, w)| w).sum();
    assert!((major + minor) as f64 > 0.9 * total as f64, "{major}+{minor} of {total}");

    // DWARF names the always-inlined helper as a frame of its own under its caller.
    assert!(weight_under(&stacks, "work_major", "lcg_step") > 0, "no inlined frame: {stacks:?}");

    let text = svg_text(&svg);
    for name in ["work_major", "work_minor", "main", "CPU Flame Graph"] {
        assert!(text.contains(name), "SVG lacks {name}");
    }
    let err = stderr(&out);
    assert!(err.contains("top functions by self") && err.contains("work_major"), "{err}");
    assert!(err.contains("lost: nothing"), "{err}");
}

#[test]
fn syscall_heavy_run_shows_kernel_frames() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("p.folded");
    let out = run(armtune()
        .args(["profile", "-q", "-F", "499", "--format", "folded", "-o"])
        .arg(&folded)
        .arg("--")
        .arg(demo())
        .args(["2", "syscall"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = read_folded(&folded);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let kernel: u64 = stacks.iter().filter(|(f, _)| f.iter().any(|x| x.ends_with("_[k]"))).map(|(_, w)| w).sum();
    assert!(kernel as f64 > 0.5 * total as f64, "kernel share {kernel}/{total}");
    let names_write = stacks.iter().any(|(f, _)| f.iter().any(|x| x.ends_with("_[k]") && x.contains("write")));
    assert!(names_write, "no kernel write frame in {stacks:?}");
    // glibc's write(2) wrapper under main: `__write` / `write` from its dynamic symbols, or
    // `__GI___libc_write` where libc6-dbg's symbol table names it (as perf does).
    let in_libc_write = stacks
        .iter()
        .filter(|(f, _)| {
            f.iter().position(|x| x == "main").is_some_and(|m| {
                f[m + 1..].iter().any(|x| !x.ends_with("_[k]") && (x == "write" || x.ends_with("_write")))
            })
        })
        .count();
    assert!(in_libc_write > 0, "no libc write under main: {stacks:?}");
}

#[test]
fn cxx_names_are_demangled() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let cxx = build_workload("c++", "cxx_demo.cpp", "cxx_demo");
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("p.folded");
    let out = run(armtune()
        .args(["profile", "-q", "-F", "499", "--format", "folded", "-o"])
        .arg(&folded)
        .arg("--")
        .arg(&cxx)
        .arg("1"));
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = read_folded(&folded);
    let hot = weight_under(
        &stacks,
        "shop::Checkout::settle(unsigned long)",
        "shop::Ledger<unsigned long>::total(unsigned long)",
    );
    assert!(hot > 100, "demangled C++ frames missing: {stacks:?}");
}

#[test]
fn lost_stacks_are_counted_and_reported() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("p.json");
    // A 4-entry stack map cannot hold the distinct kernel stacks of a syscall-heavy run.
    let out = run(armtune()
        .args(["profile", "-F", "999", "--stack-map-size", "4", "-o"])
        .arg(&json)
        .arg("--")
        .arg(demo())
        .args(["1", "syscall"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v = read_json(&json);
    let lost = &v["meta"]["lost"];
    let lost_stacks = lost["user_stacks"].as_u64().unwrap() + lost["kernel_stacks"].as_u64().unwrap();
    assert!(lost_stacks > 0, "{lost}");
    let err = stderr(&out);
    assert!(err.contains("raise --stack-map-size"), "{err}");
    let markers = v["stacks"].as_array().unwrap().iter().any(|s| {
        s["frames"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "marker" && f["name"].as_str().unwrap().contains("stack lost"))
    });
    assert!(markers, "lost stacks are marked in the profile");
}

#[test]
fn json_output_has_stacks_and_run_facts() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("p.json");
    let out = run(armtune().args(["profile", "-q", "-F", "199", "-o"]).arg(&json).arg("--").arg(demo()).arg("1"));
    assert!(out.status.success(), "{}", stderr(&out));
    let v = read_json(&json);
    assert_eq!(v["unit"]["name"], "samples");
    assert_eq!(v["meta"]["frequency_hz"], 199);
    assert!(v["meta"]["samples"].as_u64().unwrap() > 50);
    let stacks = v["stacks"].as_array().unwrap();
    let top = &stacks[0]["frames"];
    assert_eq!(top[0]["kind"], "process");
    assert!(stacks.iter().any(|s| s["frames"].as_array().unwrap().iter().any(|f| f["name"] == "work_major")));
}

#[test]
fn children_are_followed_and_resolved_after_they_exit() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("p.folded");
    // The child does the work for 1 s and exits; the parent lives 1 s longer: the child's mappings
    // must have been captured while it lived.
    let out = run(armtune()
        .args(["profile", "-F", "499", "--format", "folded", "-o"])
        .arg(&folded)
        .arg("--")
        .arg(demo())
        .args(["2", "fork"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = read_folded(&folded);
    assert!(weight_under(&stacks, "cpu_split", "work_major") > 200, "{stacks:?}");
    assert!(weight_under(&stacks, "cpu_split", "work_minor") > 50, "{stacks:?}");
}

#[test]
fn pid_and_all_targets() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for target in [vec!["--pid".to_string()], vec!["--all".to_string()]] {
        let mut workload = Command::new(demo()).arg("4").stdout(Stdio::null()).spawn().unwrap();
        sleep(Duration::from_millis(200));
        let folded = dir.path().join("p.folded");
        let mut cmd = armtune();
        cmd.args(["profile", "-q", "--duration", "1.5", "--format", "folded", "-o"]).arg(&folded);
        cmd.args(&target);
        if target[0] == "--pid" {
            cmd.arg(workload.id().to_string());
        }
        let out = run(&mut cmd);
        workload.kill().ok();
        workload.wait().ok();
        assert!(out.status.success(), "{target:?}: {}", stderr(&out));
        let stacks = read_folded(&folded);
        assert!(weight_under(&stacks, "demo", "work_major") > 30, "{target:?}: {stacks:?}");
        if target[0] == "--pid" {
            assert!(stacks.iter().all(|(f, _)| f[0] == "demo"), "only the pid is profiled: {stacks:?}");
        }
    }
}

#[test]
fn pids_that_exit_end_the_profile() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut workload = Command::new(demo()).arg("1").stdout(Stdio::null()).spawn().unwrap();
    let out = run(armtune()
        .args(["profile", "-q", "--duration", "30", "-o"])
        .arg(dir.path().join("p.svg"))
        .arg("--pid")
        .arg(workload.id().to_string()));
    workload.wait().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("p.svg").metadata().unwrap().len() > 1000);
}

#[test]
fn ctrl_c_writes_output_and_detaches_everything() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("p.svg");
    let child = armtune()
        .args(["profile", "-F", "499", "-o"])
        .arg(&svg)
        .arg("--")
        .arg(demo())
        .arg("60")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sleep(Duration::from_secs(2));
    // Only armtune gets the signal (not a terminal's process group): it must stop its command too.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(130), "the command's SIGINT status is passed on: {err}");
    assert!(svg_text(&svg).contains("work_major"), "output written after Ctrl-C");
}

#[test]
fn ctrl_c_during_start_up_leaves_nothing_behind() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    for delay_ms in [5u64, 20, 60] {
        let script = format!("touch {}; sleep 5", marker.display());
        let child = armtune()
            .args(["profile", "-o"])
            .arg(dir.path().join("p.svg"))
            .args(["--", "sh", "-c", &script])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        sleep(Duration::from_millis(delay_ms));
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        if err.contains("interrupted during start-up") {
            assert_eq!(out.status.code(), Some(130));
            assert!(!marker.exists(), "the command must not run when start-up was interrupted");
        }
        assert_no_programs_left();
        let _ = std::fs::remove_file(&marker);
    }
}

#[test]
fn exit_status_of_the_command_is_passed_on() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out =
        run(armtune().args(["profile", "-q", "-o"]).arg(dir.path().join("p.svg")).args(["--", "sh", "-c", "exit 3"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn bad_input_gets_one_line_errors() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("p.svg");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--".into(), "armtune-no-such-command".into()], "command not found: armtune-no-such-command"),
        (vec!["--pid".into(), "999999999".into()], "no process with pid 999999999"),
        (vec!["--freq".into(), "0".into(), "--all".into()], "--freq 0"),
        (vec![], "nothing to profile"),
        (vec!["--all".into(), "--".into(), "true".into()], "only one of"),
    ];
    for (args, expected) in cases {
        let out = run(armtune().args(["profile", "-o"]).arg(&svg).args(&args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: expected {expected:?} in {err:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: one line: {err:?}");
    }
    let out = run(armtune().args(["profile", "-o", "/nonexistent-dir/p.svg", "--all"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("cannot write /nonexistent-dir/p.svg"), "{err}");
}

#[test]
fn unprivileged_user_is_told_what_is_missing() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    if Command::new("setpriv").arg("--version").output().is_err() {
        panic!("setpriv (util-linux) is needed for this test");
    }
    let out = run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(env!("CARGO_BIN_EXE_armtune"))
        .args(["profile", "--all", "-o", "/tmp/armtune-unprivileged-test.svg"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs CAP_BPF and CAP_PERFMON") && err.contains("sudo"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let _ = std::fs::remove_file("/tmp/armtune-unprivileged-test.svg");
}

#[test]
fn outputs_belong_to_the_sudo_user() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (svg, folded) = (dir.path().join("p.svg"), dir.path().join("p.folded"));
    let out = run(armtune()
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .args(["profile", "-q", "-o"])
        .arg(&svg)
        .arg("--folded")
        .arg(&folded)
        .args(["--", "true"]));
    assert!(out.status.success(), "{}", stderr(&out));
    for p in [&svg, &folded] {
        let meta = p.metadata().unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "{}", p.display());
    }
}

#[test]
fn doctor_reports_every_probe_family() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let out = run(armtune().arg("doctor"));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once("  ")?;
            Some((name.trim(), rest.split_whitespace().next()?))
        })
        .collect();
    for family in
        ["perf_event", "tracepoint", "BTF tracepoint", "uprobe", "kprobe", "tracefs", "capabilities", "kernel", "BTF"]
    {
        assert!(rows.keys().any(|k| k.starts_with(family)), "doctor lacks {family}:\n{text}");
    }
    assert_eq!(rows["perf_event"], "ok", "{text}");
    // This kernel (6.x) raises SDT semaphores, as gc.rs's semaphore test relies on.
    assert_eq!(rows["SDT semaphores"], "ok", "{text}");
    // Which program type the scheduler events will use, said in so many words.
    let sched = text.lines().find(|l| l.starts_with("sched tracepoints")).expect("sched tracepoints row");
    if std::path::Path::new(armtune_probes::btf::VMLINUX).exists() {
        assert_eq!(rows["BTF tracepoint"], "ok", "{text}");
        assert!(sched.contains("BTF-typed tracepoints"), "{sched}");
    } else {
        assert!(sched.contains("classic tracepoints"), "{sched}");
    }
    assert_eq!(out.status.success(), !text.contains("FAIL"), "{text}");
}

#[test]
fn unmounted_tracefs_is_mounted_again() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    if !mounts.lines().any(|l| l.split(' ').nth(1) == Some("/sys/kernel/tracing")) {
        eprintln!("unmounted_tracefs_is_mounted_again: skipped: tracefs is not a mount of its own here");
        return;
    }
    let status = Command::new("umount").arg("/sys/kernel/tracing").status().unwrap();
    if !status.success() {
        eprintln!("unmounted_tracefs_is_mounted_again: skipped: tracefs is busy and cannot be unmounted");
        return;
    }
    let out = run(armtune().arg("doctor"));
    let text = String::from_utf8_lossy(&out.stdout);
    let mounted_again = Path::new("/sys/kernel/tracing/events").is_dir();
    if !mounted_again {
        // Leave the machine as it was whatever armtune did.
        Command::new("mount").args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"]).status().unwrap();
    }
    assert!(mounted_again, "armtune did not mount tracefs:\n{text}");
    assert!(text.contains("was not mounted; mounted it at /sys/kernel/tracing"), "{text}");
}

#[test]
fn profile_help_names_every_event_the_parser_accepts() {
    let out = run(armtune().args(["profile", "--help"]));
    assert!(out.status.success());
    let help = stdout(&out);
    for (name, what) in armtune_probes::events::all_names() {
        assert!(help.contains(name) && help.contains(what), "`profile --help` misses {name}: {help}");
    }
    let top = stdout(&run(armtune().arg("--help")));
    assert!(top.contains("off-CPU") && top.contains("allocations"), "`armtune --help` is stale: {top}");
}
