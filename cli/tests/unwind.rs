//! Complete, named stacks for real. `--unwind dwarf`: a program and a library built as
//! distributions build them (-O2 -fomit-frame-pointer), whose hot code is four calls deep in the
//! library; a comparator reached only through libc's own frames (qsort); a recursion deeper than
//! the copied window. Debug files: libc's local functions named from libc6-dbg.
//!
//! Needs root; skips with a reason without it, fails under `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use common::*;

/// `workloads/nofp_main.c` linked with `libnofp.so` (beside it, through its rpath), both
/// without frame pointers, built once.
fn nofp() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nofp");
        std::fs::create_dir_all(&dir).unwrap();
        let src = repo_root().join("workloads");
        let cc = |args: &[&OsStr]| common::cc(&["-O2", "-g", "-fomit-frame-pointer"], args);
        let (lib, lib_src) = (dir.join("libnofp.so"), src.join("nofp_lib.c"));
        cc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), lib.as_os_str(), lib_src.as_os_str()]);
        let (main, main_src) = (dir.join("nofp_main"), src.join("nofp_main.c"));
        let dir_flag = format!("-L{}", dir.display());
        cc(&[
            "-o".as_ref(),
            main.as_os_str(),
            main_src.as_os_str(),
            dir_flag.as_ref(),
            "-lnofp".as_ref(),
            "-Wl,-rpath,$ORIGIN".as_ref(),
        ]);
        dir
    })
}

fn nofp_main() -> PathBuf {
    nofp().join("nofp_main")
}

/// The same program with a stripped library built with -fvisibility=hidden: only `nofp_run` has
/// a name left (in .dynsym). Returns the directory and the addresses the unstripped library's
/// symbol table gives each function, by name.
fn nofp_stripped() -> &'static (PathBuf, std::collections::HashMap<String, u64>) {
    static DIR: OnceLock<(PathBuf, std::collections::HashMap<String, u64>)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nofp-stripped");
        std::fs::create_dir_all(&dir).unwrap();
        let lib = dir.join("libnofp.so");
        let src = repo_root().join("workloads/nofp_lib.c");
        let status = Command::new("cc")
            .args(["-O2", "-fomit-frame-pointer", "-fvisibility=hidden", "-shared", "-fPIC", "-o"])
            .arg(&lib)
            .arg(&src)
            .status()
            .unwrap();
        assert!(status.success());
        let nm = Command::new("nm").arg("--defined-only").arg(&lib).output().unwrap();
        let addresses = String::from_utf8_lossy(&nm.stdout)
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                let addr = u64::from_str_radix(parts.next()?, 16).ok()?;
                let _kind = parts.next()?;
                Some((parts.next()?.to_string(), addr))
            })
            .collect();
        assert!(Command::new("strip").arg("--strip-all").arg(&lib).status().unwrap().success());
        std::fs::copy(nofp_main(), dir.join("nofp_main")).unwrap();
        (dir, addresses)
    })
}

/// Whether `names` holds `chain` as consecutive frames.
fn has_chain(names: &[String], chain: &[&str]) -> bool {
    names.windows(chain.len()).any(|w| w.iter().zip(chain).all(|(a, b)| a == b))
}

fn weight_where(stacks: &[(Vec<String>, u64)], pred: impl Fn(&[String]) -> bool) -> u64 {
    stacks.iter().filter(|(f, _)| pred(f)).map(|(_, w)| w).sum()
}

const CHAIN: [&str; 6] = ["main", "run_library", "nofp_run", "nofp_level1", "nofp_level2", "nofp_level3"];

#[test]
fn dwarf_unwinding_walks_a_library_without_frame_pointers_from_main_to_the_leaf() {
    let Some(_kernel) = kernel_test() else { return };
    let report =
        ProfileRun::new().args(["-F", "999", "--unwind", "dwarf"]).json([nofp_main().as_os_str(), "1".as_ref()]);
    let stacks = json_stacks(&report);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let leaf = |leaf: &'static str| {
        move |f: &[String]| {
            has_chain(f, &CHAIN)
                && f.iter().position(|n| n == "nofp_level3").is_some_and(|i| f.get(i + 1).is_some_and(|n| n == leaf))
        }
    };
    let major = weight_where(&stacks, leaf("nofp_leaf_major"));
    let minor = weight_where(&stacks, leaf("nofp_leaf_minor"));
    // One second at 999 Hz: about 1,000 samples, nearly all in the chain.
    assert!(total >= 500, "{total} samples");
    assert!((major + minor) * 100 >= total * 90, "{major} + {minor} of {total} under the whole chain: {stacks:?}");
    // The work splits 3:1 between the leaves, by iterations.
    let share = major as f64 / (major + minor) as f64;
    assert!((share - 0.75).abs() <= 0.06, "nofp_leaf_major has {share:.3} of the leaves' samples");
    let unwinding = &report["meta"]["unwinding"];
    assert!(unwinding["stacks"].as_u64().unwrap() >= total, "{unwinding}");
    let truncated = unwinding["truncated_window"].as_u64().unwrap() + unwinding["truncated_no_cfi"].as_u64().unwrap();
    assert!(truncated * 100 <= total, "{unwinding}");
}

#[test]
fn auto_unwinds_c_without_frame_pointers_by_cfi_and_go_by_frame_pointers() {
    let Some(_kernel) = kernel_test() else { return };
    // The default: the C program and Debian's libc keep no frame pointers, so CFI walks it whole.
    let report = ProfileRun::new().args(["-F", "999"]).json([nofp_main().as_os_str(), "1".as_ref()]);
    let stacks = json_stacks(&report);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let whole = weight_where(&stacks, |f| has_chain(f, &CHAIN));
    assert!(total >= 500 && whole * 100 >= total * 90, "{whole} of {total} samples under the whole chain");
    let unwinding = &report["meta"]["unwinding"];
    assert_eq!(unwinding["frame_pointer_processes"], 0, "{unwinding}");
    assert!(unwinding["cfi_processes"].as_u64() >= Some(1), "{unwinding}");
    assert!(unwinding["stacks"].as_u64().unwrap() >= total, "{unwinding}");

    // Go keeps frame pointers and has no .eh_frame: after its first stacks the kernel walks it.
    let report = ProfileRun::new().args(["-F", "999"]).json([gogc().as_os_str(), "assist".as_ref(), "1000".as_ref()]);
    let stacks = json_stacks(&report);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let unwinding = &report["meta"]["unwinding"];
    assert_eq!(unwinding["frame_pointer_processes"], 1, "{unwinding}");
    assert_eq!(unwinding["cfi_processes"], 0, "{unwinding}");
    let copied = unwinding["stacks"].as_u64().unwrap();
    assert!(total >= 500 && copied * 20 <= total, "{copied} of {total} stacks copied: the verdict came late");
    let walked =
        weight_where(&stacks, |f| f.iter().any(|n| n == "main.buildTree") && f.iter().any(|n| n == "runtime.goexit"));
    assert!(walked * 5 >= total, "main.buildTree under runtime.goexit in {walked} of {total}");
}

#[test]
fn frame_pointers_cannot_walk_the_same_program() {
    let Some(_kernel) = kernel_test() else { return };
    let report = ProfileRun::new().args(["-F", "999", "--unwind", "fp"]).json([nofp_main().as_os_str(), "1".as_ref()]);
    let stacks = json_stacks(&report);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let whole = weight_where(&stacks, |f| has_chain(f, &CHAIN));
    assert!(total >= 500, "{total} samples");
    assert!(whole * 10 < total, "frame pointers walked {whole} of {total} samples: the workload has them?");
    assert!(report["meta"].get("unwinding").is_none(), "no unwinding statistics without --unwind dwarf");
}

#[test]
fn a_callback_reached_through_libc_is_under_its_caller() {
    let Some(_kernel) = kernel_test() else { return };
    let report = ProfileRun::new().args(["-F", "999", "--unwind", "dwarf"]).json([
        nofp_main().as_os_str(),
        "1".as_ref(),
        "qsort".as_ref(),
    ]);
    let stacks = json_stacks(&report);
    let in_comparator = weight_where(&stacks, |f| f.iter().any(|n| n == "compare_slowly"));
    // main -> sort_rounds -> qsort's frames in libc (named from libc6-dbg's debug file:
    // __GI___qsort_r, msort_with_tmp) -> compare_slowly.
    let through_libc = weight_where(&stacks, |f| {
        let (Some(caller), Some(callback)) =
            (f.iter().position(|n| n == "sort_rounds"), f.iter().position(|n| n == "compare_slowly"))
        else {
            return false;
        };
        has_chain(f, &["main", "sort_rounds"])
            && callback > caller + 1
            && f[caller + 1..callback].iter().all(|n| n.contains("sort"))
    });
    assert!(in_comparator >= 300, "{in_comparator} samples in the comparator: {stacks:?}");
    assert!(through_libc * 100 >= in_comparator * 90, "{through_libc} of {in_comparator}: {stacks:?}");
}

#[test]
fn a_stack_deeper_than_the_window_is_marked_and_counted() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("deep.folded");
    let out = run(armtune()
        .args(["profile", "-F", "999", "--unwind", "dwarf", "--stack-copy", "8K", "-o"])
        .arg(&folded)
        .arg("--")
        .args([nofp_main().as_os_str(), "0.5".as_ref(), "deep".as_ref()]));
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stderr(&out);
    let notes = summary.lines().find(|l| l.starts_with("notes: ")).unwrap_or_else(|| panic!("{summary}"));
    assert!(notes.contains("window too small: raise --stack-copy"), "{notes}");
    let stacks = read_folded(&folded);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let marked = weight_where(&stacks, |f| f.get(1).is_some_and(|n| n == "[truncated stack]"));
    assert!(marked * 100 >= total * 90, "{marked} of {total} marked: {:?}", &stacks[..3.min(stacks.len())]);
}

#[test]
fn a_stack_copy_outside_its_range_is_refused_before_anything_loads() {
    for size in ["4K", "129K", "1M", "lots"] {
        let out = run(armtune().args(["profile", "--unwind", "dwarf", "--stack-copy", size, "--", "true"]));
        assert_eq!(out.status.code(), Some(2), "--stack-copy {size}");
        let err = stderr(&out);
        assert!(err.contains("--stack-copy") || err.contains("stack copy"), "{size}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn the_demo_names_libcs_local_functions_from_libc6_dbg() {
    let Some(_kernel) = kernel_test() else { return };
    // ci/setup.sh installs libc6-dbg; its detached debug file names what libc's .dynsym does not.
    let report = ProfileRun::new().args(["-F", "999"]).json([demo().as_os_str(), "0.5".as_ref()]);
    let stacks = json_stacks(&report);
    let under_main = weight_where(&stacks, |f| f.iter().any(|n| n == "main"));
    let named = weight_where(&stacks, |f| has_chain(f, &["__libc_start_call_main", "main"]));
    assert!(under_main >= 200, "{under_main} samples under main");
    assert!(named * 100 >= under_main * 95, "{named} of {under_main} name main's caller: {stacks:?}");
}

#[test]
fn a_stripped_library_is_grouped_by_function_start_with_the_same_split() {
    let Some(_kernel) = kernel_test() else { return };
    let (dir, addresses) = nofp_stripped();
    let report = ProfileRun::new()
        .args(["-F", "999", "--unwind", "dwarf"])
        .json([dir.join("nofp_main").as_os_str(), "1".as_ref()]);
    let frame = |name: &str| format!("libnofp.so+{:#x}", addresses[name]);
    let chain = ["main", "run_library", "nofp_run"]
        .map(String::from)
        .into_iter()
        .chain(["nofp_level1", "nofp_level2", "nofp_level3"].map(frame))
        .collect::<Vec<_>>();
    let chain: Vec<&str> = chain.iter().map(String::as_str).collect();
    let stacks = json_stacks(&report);
    let total: u64 = stacks.iter().map(|(_, w)| w).sum();
    let under = |leaf: String| {
        let mut with_leaf = chain.clone();
        with_leaf.push(&leaf);
        weight_where(&stacks, |f| has_chain(f, &with_leaf))
    };
    let (major, minor) = (under(frame("nofp_leaf_major")), under(frame("nofp_leaf_minor")));
    assert!((major + minor) * 100 >= total * 90, "{major} + {minor} of {total}: {stacks:?}");
    let share = major as f64 / (major + minor) as f64;
    assert!((share - 0.75).abs() <= 0.06, "the stripped leaf_major has {share:.3}");
    // Each such frame keeps where its code is, for symbolizing later.
    let located = report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["frames"].as_array().unwrap())
        .find(|f| f["name"] == frame("nofp_level2"))
        .expect("the frame");
    let location = &located["location"];
    assert_eq!(location["address"].as_u64(), Some(addresses["nofp_level2"]), "{located}");
    assert!(location["file"].as_str().unwrap().ends_with("nofp-stripped/libnofp.so"), "{located}");
    assert_eq!(location["build_id"].as_str().map(str::len), Some(40), "{located}");
}

/// Weight of `comm`'s stacks, and of those with a frame containing `name`.
fn share_named(stacks: &[(Vec<String>, u64)], name: &str) -> (u64, u64) {
    let total = stacks.iter().map(|(_, w)| w).sum();
    let named = weight_where(stacks, |f| f.iter().any(|n| n.contains(name)));
    (named, total)
}

#[test]
fn node_jit_frames_are_named_from_its_perf_map() {
    let Some(_kernel) = kernel_test() else { return };
    let script = repo_root().join("workloads/jit_hot.js");
    for unwind in ["fp", "dwarf"] {
        let report = ProfileRun::new().args(["-F", "999", "--unwind", unwind]).json([
            "node".as_ref(),
            "--perf-basic-prof".as_ref(),
            script.as_os_str(),
            "1".as_ref(),
        ]);
        let stacks = json_stacks(&report);
        let (named, total) = share_named(&stacks, "hotJsFunction");
        // One second of a loop V8 compiles: most samples are in its code, named by the map.
        assert!(named * 2 >= total && total >= 500, "--unwind {unwind}: hotJsFunction in {named} of {total}");
        // And walked out of the JIT code (by frame pointers: it has no CFI) into node's own C++.
        let walked = weight_where(&stacks, |f| {
            f.iter().any(|n| n.contains("hotJsFunction")) && f.iter().any(|n| n.starts_with("node::Start"))
        });
        assert!(walked * 10 >= named * 8, "--unwind {unwind}: {walked} of {named} reach node::Start");
    }
}

#[test]
fn jvm_jit_frames_are_named_from_the_map_it_writes_at_exit() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = repo_root().join("workloads/JitHot.java");
    let javac = Command::new("javac").arg("-d").arg(dir.path()).arg(&src).status();
    assert!(javac.expect("javac (a JDK): run ci/setup.sh").success());
    let report = ProfileRun::new().args(["-F", "999"]).json([
        "java".as_ref(),
        "-XX:+UnlockDiagnosticVMOptions".as_ref(),
        "-XX:+DumpPerfMapAtExit".as_ref(),
        "-cp".as_ref(),
        dir.path().as_os_str(),
        "JitHot".as_ref(),
        "2".as_ref(),
    ]);
    let (named, total) = share_named(&json_stacks(&report), "JitHot.hotJavaMethod");
    assert!(named * 2 >= total && total >= 1000, "JitHot.hotJavaMethod in {named} of {total}");
}

/// `workloads/SOURCE` built without frame pointers, as distributions build programs.
fn without_frame_pointers(source: &str, name: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-nofp"));
    let status = Command::new("cc")
        .args(["-O2", "-g", "-fomit-frame-pointer", "-pthread", "-o"])
        .arg(&out)
        .arg(repo_root().join("workloads").join(source))
        .status()
        .expect("cc: run ci/setup.sh");
    assert!(status.success(), "building {source}");
    out
}

/// Weight of the stacks of a JSON report's graph `name` that hold `chain`.
fn graph_weight(report: &serde_json::Value, name: &str, chain: &[&str]) -> u64 {
    weight_where(&json_stacks(&report["profiles"][name]), |f| has_chain(f, chain))
}

#[test]
fn off_cpu_time_is_walked_from_switch_out_through_libc() {
    let Some(_kernel) = kernel_test() else { return };
    let blocker = without_frame_pointers("blocker.c", "blocker");
    let report = ProfileRun::new().args(["--event", "off-cpu", "--unwind", "dwarf"]).json([blocker.as_os_str()]);
    let us = |chain: &[&str]| graph_weight(&report, "off-cpu", chain) as f64 / 1000.0;
    // 10 x 50 ms in main's own function; 300 ms in the holder thread, asleep in libc's nanosleep.
    let sleeps = us(&["main", "sleep_in_nanosleep"]);
    let holder = us(&["start_thread", "holder"]);
    assert!((450.0..=900.0).contains(&sleeps), "sleep_in_nanosleep: {sleeps} ms: {report}");
    assert!((270.0..=600.0).contains(&holder), "holder: {holder} ms");
}

#[test]
fn allocations_and_live_blocks_keep_their_exact_counts_with_whole_stacks() {
    let Some(_kernel) = kernel_test() else { return };
    let allocs = without_frame_pointers("allocs.c", "allocs");
    let report = ProfileRun::new().args(["--event", "alloc,leak", "--unwind", "dwarf"]).json([allocs.as_os_str()]);
    // workloads/allocs.c: 100 x malloc(24) in make_small, 40 of them live at the end; 10 calloc
    // blocks in make_zeroed, all live.
    assert_eq!(graph_weight(&report, "alloc-calls", &["main", "make_small"]), 100);
    assert_eq!(graph_weight(&report, "alloc-bytes", &["main", "make_small"]), 2400);
    assert_eq!(graph_weight(&report, "leak-blocks", &["main", "make_small"]), 40);
    assert_eq!(graph_weight(&report, "leak", &["main", "make_zeroed"]), 1280);
}

#[test]
fn sdt_hits_keep_their_counts_with_whole_stacks() {
    let Some(_kernel) = kernel_test() else { return };
    let sdt_demo = without_frame_pointers("sdt_demo.c", "sdt_demo");
    let report =
        ProfileRun::new().args(["--event", "sdt:armtune_demo:*", "--unwind", "dwarf"]).json([sdt_demo.as_os_str()]);
    let stacks = json_stacks(&report);
    assert_eq!(weight_where(&stacks, |f| has_chain(f, &["main", "tick"])), 3000, "{stacks:?}");
    assert_eq!(weight_where(&stacks, |f| has_chain(f, &["main", "tock"])), 1000, "{stacks:?}");
}
