//! `armtune profile` on an ARM64 kernel: `ci/arm64-vm.sh` boots Debian's arm64 6.1 kernel in
//! qemu-system-aarch64 (Cortex-A72, the Pi 4's core) with the aarch64 armtune and aarch64
//! workloads, runs the profile scenarios inside, and brings the results out; this test holds them
//! to the same expectations as the x86_64 tests. A second boot hides the kernel's BTF (the Raspberry
//! Pi OS case). Root is not needed; the test skips with a reason when qemu-system-aarch64 is
//! missing, and fails then under `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::*;

fn vm_or_skip(test: &str) -> bool {
    let has_qemu = Command::new("qemu-system-aarch64").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_qemu {
        assert!(
            std::env::var("ARMTUNE_REQUIRE_BPF").as_deref() != Ok("1"),
            "{test}: qemu-system-aarch64 missing (apt-get install qemu-system-arm; ci/setup.sh does)"
        );
        eprintln!("skipped {test}: qemu-system-aarch64 missing (apt-get install qemu-system-arm)");
    }
    has_qemu
}

/// Boots the guest in `mode` and returns the directory of what it wrote.
fn boot(mode: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash").arg(repo_root().join("ci/arm64-vm.sh")).arg(dir.path()).arg(mode).output().unwrap();
    assert!(
        out.status.success(),
        "ci/arm64-vm.sh {mode} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let path = dir.path().to_path_buf();
    (dir, path)
}

fn file(out: &Path, name: &str) -> String {
    std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn status(out: &Path, name: &str) -> i32 {
    file(out, &format!("{name}.status")).trim().parse().unwrap()
}

fn json(out: &Path, name: &str) -> serde_json::Value {
    assert_eq!(status(out, name), 0, "{name} failed in the guest: {}", file(out, &format!("{name}.stderr")));
    read_json(&out.join(format!("{name}.json")))
}

#[test]
fn profiles_on_an_arm64_kernel() {
    if !vm_or_skip("profiles_on_an_arm64_kernel") {
        return;
    }
    let (_keep, out) = boot("btf");
    let console = file(&out, "console.txt");
    assert!(console.contains("=== GUEST 6.1.") && console.contains("aarch64 btf"), "not the arm64 6.1 guest");

    let doctor = file(&out, "doctor.stdout");
    assert!(doctor.contains("BTF tracepoint       ok"), "{doctor}");
    assert!(doctor.contains("scheduler events use BTF-typed tracepoints"), "{doctor}");

    // On-CPU: demo splits its work 3:1 between two functions.
    assert_eq!(status(&out, "cpu"), 0, "{}", file(&out, "cpu.stderr"));
    let folded = read_folded(&out.join("cpu.folded"));
    let major = weight_under(&folded, "cpu_split", "work_major") as f64;
    let minor = weight_under(&folded, "cpu_split", "work_minor") as f64;
    let share = major / (major + minor);
    assert!(
        major + minor > 100.0 && (0.65..=0.85).contains(&share),
        "work_major share {share:.2} of {}",
        major + minor
    );
    assert!(folded.iter().any(|(f, _)| f.iter().any(|x| x.ends_with("_[k]"))), "kernel frames on arm64");

    // Off-CPU: blocker sleeps 10 x 50 ms in sleep_in_nanosleep (every state counted: a sleep the
    // busy guest preempts before schedule() is off-CPU as [preempted]).
    let off = json(&out, "offcpu");
    assert_eq!(off["meta"]["sched_tracepoints"], "btf");
    let slept = weight_under(&json_stacks(&off), "main", "sleep_in_nanosleep");
    assert!((450_000..=650_000).contains(&slept), "sleep_in_nanosleep off-CPU {slept} us of 500 ms");
    assert!(weight_under(&json_stacks(&off), "main", "wait_for_lock") > 250_000, "the futex wait");

    // Run queue: 4 spinners on 2 vCPUs wait for whole slices.
    let busy = json(&out, "runq_busy");
    let main = busy["runq"].as_array().unwrap().iter().max_by_key(|h| h["count"].as_u64().unwrap()).unwrap().clone();
    assert!(main["p50_us"].as_f64().unwrap() > 500.0, "oversubscribed p50: {main}");

    // Allocations: exact counts and bytes, dynamically and statically linked.
    for name in ["alloc", "alloc_static"] {
        let v = json(&out, name);
        let bytes = json_stacks(&v);
        for &(function, _calls, b, _live) in EXPECTED {
            assert_eq!(weight_under(&bytes, "main", function), b, "{name}: bytes of {function}");
        }
        if name == "alloc" {
            let live = json_stacks(&v["profiles"]["leak"]);
            for &(function, _, _, live_bytes) in EXPECTED {
                assert_eq!(weight_under(&live, "main", function), live_bytes, "live bytes of {function}");
            }
        }
    }

    check_unwinding(&out);
    // Samples in the kernel (write(2) to /dev/null): the task's saved user registers, through
    // BTF, start the walk, which passes glibc's frameless wrapper to its caller.
    let syscall = json(&out, "unwind_syscall");
    assert_eq!(syscall["meta"]["unwinding"]["no_registers"], 0, "{}", syscall["meta"]);
    let stacks = json_stacks(&syscall);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let under = weight_under(&stacks, "main", "syscall_heavy");
    assert!(under * 10 >= total * 8, "syscall_heavy under main in {under} of {total}: {stacks:?}");

    // Process lifetimes: exit statuses and parents from task_struct at the offsets BTF gives (6.1
    // has no group_dead: the main thread's exit stands for the process's).
    let procs = json(&out, "proc");
    let rows = procs["processes"].as_array().unwrap();
    let codes: Vec<i64> = rows.iter().filter_map(|r| r["exit_code"].as_i64()).collect();
    for code in [0, 3, 5] {
        assert!(codes.contains(&code), "exit {code} among {rows:?}");
    }
    assert!(rows.iter().all(|r| r["ppid"].is_u64()), "parents known: {rows:?}");
    let sleep = rows.iter().find(|r| r["comm"] == "sleep").expect("sleep's row");
    assert!(sleep["run_time_s"].as_f64().unwrap() >= 0.19, "{sleep}");

    // Go: the collector's cycles as the program counts them.
    if out.join("gc.status").exists() {
        let gc = json(&out, "gc");
        let program = file(&out, "gc.stdout");
        let num_gc: u64 =
            program.split("NumGC=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().parse().unwrap();
        let cycles = gc["gc"][0]["cycles"].as_u64().unwrap();
        assert!(num_gc >= 5 && cycles == num_gc, "armtune {cycles} cycles, program {num_gc}");
        // Mark assists, with the allocating goroutine's stack walked through Go's arm64 frames.
        let assist = json(&out, "gc_assist");
        let paid = assist["gc"][0]["assists"].as_u64().unwrap();
        let by_build = weight_under(&json_stacks(&assist["profiles"]["gc-assist"]), "[gc assist]", "main.buildTree");
        assert!(paid > 0 && by_build * 10 >= paid * 9, "{by_build} of {paid} assists under main.buildTree");
        // Go keeps frame pointers and has no .eh_frame: --unwind auto (the default) has the kernel
        // walk it after its first stacks.
        let unwinding = &assist["meta"]["unwinding"];
        assert_eq!(unwinding["frame_pointer_processes"], 1, "{unwinding}");
    }
}

#[test]
fn without_btf_the_fallbacks_work() {
    if !vm_or_skip("without_btf_the_fallbacks_work") {
        return;
    }
    let (_keep, out) = boot("nobtf");
    let doctor = file(&out, "doctor.stdout");
    assert!(doctor.contains("no /sys/kernel/btf/vmlinux"), "{doctor}");
    assert!(doctor.contains("scheduler events use classic tracepoints"), "{doctor}");
    let off = json(&out, "offcpu");
    assert_eq!(off["meta"]["sched_tracepoints"], "classic");
    let slept = weight_under(&json_stacks(&off), "main", "sleep_in_nanosleep");
    assert!((450_000..=650_000).contains(&slept), "sleep_in_nanosleep off-CPU {slept} us of 500 ms");
    assert_eq!(status(&out, "cpu"), 0, "{}", file(&out, "cpu.stderr"));
    let v = json(&out, "alloc");
    for &(function, _calls, b, _live) in EXPECTED {
        assert_eq!(weight_under(&json_stacks(&v), "main", function), b, "bytes of {function}");
    }
    // CPU samples are taken in user mode: their registers need no BTF.
    check_unwinding(&out);
    // Samples in the kernel have no user registers without BTF: their user stacks are walked by
    // frame pointers instead (counted), so they still reach main.
    let syscall = json(&out, "unwind_syscall");
    let unwinding = &syscall["meta"]["unwinding"];
    assert!(unwinding["no_registers"].as_u64().unwrap() > 0, "{unwinding}");
    let stacks = json_stacks(&syscall);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let under_main: u64 = stacks.iter().filter(|(f, _)| f.iter().any(|n| n == "main")).map(|(_, w)| w).sum();
    assert!(under_main * 10 >= total * 8, "main in {under_main} of {total}: {stacks:?}");
    // Without BTF, `proc` still lists every process; exit codes and parents are unknown, run
    // times count from the exec, and the user is told.
    assert_eq!(status(&out, "proc"), 0, "{}", file(&out, "proc.stderr"));
    assert!(file(&out, "proc.stderr").contains("exit codes and parents unknown"), "{}", file(&out, "proc.stderr"));
    let rows = json(&out, "proc")["processes"].as_array().unwrap().clone();
    assert!(rows.len() >= 4 && rows.iter().all(|r| r["exited"] == true && r["exit_code"].is_null()), "{rows:?}");
    let sleep = rows.iter().find(|r| r["comm"] == "sleep").expect("sleep's row");
    assert!(sleep["run_time_s"].as_f64().unwrap() >= 0.19, "{sleep}");
}

/// `--unwind dwarf` on aarch64 (pc, sp, x29 and the leaf's return address in x30): the
/// no-frame-pointer program's chain from main into its library, four calls deep, with the 3:1
/// split between the leaves; frame pointers lose that chain; `--unwind auto` takes CFI for it.
///
/// Shares are of the samples taken in the library's hot code (leaf `nofp_spin`). The rest (the
/// clock read in the vDSO, the loader, page faults at start) is a share that grows as the emulated
/// guest runs slower, while fewer samples are taken (the guest's timer fires late): the program
/// runs 2 s, for several hundred samples even then.
fn check_unwinding(out: &Path) {
    const CHAIN: [&str; 6] = ["main", "run_library", "nofp_run", "nofp_level1", "nofp_level2", "nofp_level3"];
    let has_chain =
        |f: &[String], chain: &[&str]| f.windows(chain.len()).any(|w| w.iter().zip(chain).all(|(a, b)| a == b));
    let weight = |stacks: &[(Vec<String>, u64)], chain: &[&str]| -> u64 {
        stacks.iter().filter(|(f, _)| has_chain(f, chain)).map(|(_, w)| w).sum()
    };
    let in_library = |stacks: &[(Vec<String>, u64)]| -> u64 {
        stacks.iter().filter(|(f, _)| f.last().is_some_and(|leaf| leaf == "nofp_spin")).map(|(_, w)| w).sum()
    };
    let dwarf = json(out, "unwind");
    let stacks = json_stacks(&dwarf);
    let total = in_library(&stacks);
    let leaf = |name: &str| weight(&stacks, &[&CHAIN[..], &[name, "nofp_spin"]].concat());
    let (major, minor) = (leaf("nofp_leaf_major"), leaf("nofp_leaf_minor"));
    assert!(total >= 100 && (major + minor) * 10 >= total * 9, "{major} + {minor} of {total}: {stacks:?}");
    let share = major as f64 / (major + minor) as f64;
    assert!((0.65..=0.85).contains(&share), "nofp_leaf_major share {share:.2}");
    let fp = json_stacks(&json(out, "unwind_fp"));
    let fp_total = in_library(&fp);
    assert!(fp_total >= 100 && weight(&fp, &CHAIN) * 10 < fp_total, "frame pointers walked the chain: {fp:?}");

    // --unwind auto (the default) unwinds that program with CFI: the same chain.
    let auto = json(out, "unwind_auto");
    let unwinding = &auto["meta"]["unwinding"];
    assert!(unwinding["cfi_processes"].as_u64() >= Some(1) && unwinding["frame_pointer_processes"] == 0, "{unwinding}");
    let stacks = json_stacks(&auto);
    let total = in_library(&stacks);
    assert!(total >= 100 && weight(&stacks, &CHAIN) * 10 >= total * 9, "auto: {total} in the library: {stacks:?}");
}
