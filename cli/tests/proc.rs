//! `--event proc` end to end, for real: the exec and exit tracepoints record every process a
//! script starts, and what they say of each (exit status, the signal that killed it, parent) must
//! match what strace, a tracer nobody here wrote, saw of the same processes.
//!
//! Needs root (skips with a reason without it, fails under `ARMTUNE_REQUIRE_BPF=1`) and strace.

mod common;

use std::collections::BTreeMap;

use common::*;

/// A script whose children end every way a process can: status 0, a non-zero status from a
/// subshell that never execs, a SIGKILL, `false`, and Debian's xz doing real work.
const SCRIPT: &str =
    "sleep 0.3; (exit 3); sh -c 'kill -9 $$'; /bin/false; head -c 2000000 /dev/urandom | xz -1 -T1 > /dev/null; true";

/// How strace's `-f` log says each process ended: pid -> `exited with N` / `killed by SIG...`.
fn strace_endings(log: &str) -> BTreeMap<u32, String> {
    log.lines()
        .filter_map(|line| {
            let (pid, rest) = line.split_once(' ')?;
            let what = rest.trim().strip_prefix("+++ ")?.strip_suffix(" +++")?;
            Some((pid.parse().ok()?, what.to_string()))
        })
        .collect()
}

/// Whether this process is being traced (`ci/audit-setup.sh` runs the suite under strace): strace
/// cannot trace from inside a traced process (PTRACE_TRACEME is refused).
fn traced() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("TracerPid:")).is_some_and(|pid| pid.trim() != "0")
}

#[test]
fn every_process_of_a_script_ends_as_strace_saw_it() {
    if traced() {
        eprintln!("every_process_of_a_script_ends_as_strace_saw_it: skipped: already traced, and strace cannot nest");
        return;
    }
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let report = ProfileRun::new().args(["--event", "proc"]).json([
        "strace",
        "-f",
        "-e",
        "trace=none",
        "-o",
        log.to_str().unwrap(),
        "sh",
        "-c",
        SCRIPT,
    ]);
    let rows = report["processes"].as_array().expect("a processes section");
    let strace = strace_endings(&std::fs::read_to_string(&log).unwrap());
    assert!(strace.len() >= 6, "strace saw the script's processes: {strace:?}");
    let by_pid: BTreeMap<u32, &serde_json::Value> =
        rows.iter().map(|r| (r["pid"].as_u64().unwrap() as u32, r)).collect();
    for (pid, ending) in &strace {
        let row = by_pid.get(pid).unwrap_or_else(|| panic!("pid {pid} ({ending}) missing from {rows:#?}"));
        assert_eq!(row["exited"], true, "{row}");
        let ours = match (row["exit_code"].as_i64(), row["signal"].as_str()) {
            (Some(code), None) => format!("exited with {code}"),
            (None, Some(signal)) => format!("killed by {signal}"),
            other => panic!("pid {pid}: neither a status nor a signal: {other:?}"),
        };
        assert_eq!(&ours, ending, "pid {pid}: {row}");
    }
    let endings: Vec<&String> = strace.values().collect();
    for expected in ["exited with 3", "killed by SIGKILL", "exited with 1"] {
        assert!(endings.iter().any(|e| *e == expected), "the script ends one process {expected}: {strace:?}");
    }
    // Parents: every process but strace itself was started by one armtune saw.
    let strace_pid = rows.iter().find(|r| r["comm"] == "strace").expect("strace's row")["pid"].as_u64().unwrap();
    for row in rows.iter().filter(|r| r["pid"].as_u64() != Some(strace_pid)) {
        let ppid = row["ppid"].as_u64().expect("parents come from the kernel's BTF");
        assert!(by_pid.contains_key(&(ppid as u32)), "parent of {row} not among the rows");
    }
    let run_time = |comm: &str| {
        rows.iter().find(|r| r["comm"] == comm).unwrap_or_else(|| panic!("{comm} missing"))["run_time_s"]
            .as_f64()
            .unwrap()
    };
    let sleep = run_time("sleep");
    // The upper bound is loose: under strace -f on a loaded 2-core CI runner, starting `sleep`
    // (exec, dynamic loading, each stop reported to strace) took 0.35 s once.
    assert!((0.29..2.0).contains(&sleep), "sleep 0.3 ran {sleep} s");
    assert!(run_time("xz") > 0.0);
    assert!(rows.iter().all(|r| r["started_s"].as_f64().unwrap() > -1.0), "all started with the profile: {rows:#?}");
    assert_eq!(report["meta"]["events"], serde_json::json!(["proc"]));
    assert_eq!(report["meta"]["lost"]["processes"], 0);
}

#[test]
fn a_pid_that_was_running_before_exits_with_its_status_in_the_summary() {
    let Some(_kernel) = kernel_test() else { return };
    let mut child = std::process::Command::new("sh").args(["-c", "sleep 2; exit 7"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = run(armtune()
        .args(["profile", "--event", "proc,cpu", "-o"])
        .arg("/dev/null")
        .args(["--pid", &child.id().to_string()]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(child.wait().unwrap().code(), Some(7));
    let text = stderr(&out);
    let row = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&child.id().to_string()))
        .unwrap_or_else(|| panic!("the pid's row: {text}"));
    assert!(row.contains(" sh ") && row.trim_end().ends_with("exit 7"), "{row}");
    let start: f64 = row.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(start < -0.1, "it started before the profile: {row}");
    assert!(text.contains("processes: ") && text.contains("lost: "), "{text}");
}
