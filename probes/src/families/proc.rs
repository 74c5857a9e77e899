//! `--event proc`: which of the targets' processes started, exec'd and exited during the profile,
//! with exit codes (or the signal that ended them) and run times. Kernel side:
//! `ebpf/src/families/proc.rs` on `sched:sched_process_exec` and `sched:sched_process_exit`.

use armtune_common::{events, maps, proc_life, ProcLife};
use aya::Ebpf;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{attach_tracepoint, hash_map, About, Attach, Drain, Family, Global, Loss, Setup};
use crate::{
    capture::{comm_text, Capture},
    error::Context as _,
    options::Options,
    report::Report,
    tracefs::Format,
    Result,
};

/// The `proc` family.
pub struct Proc;

/// One process as the JSON report's `processes` section lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessLife {
    /// Process id.
    pub pid: u32,
    /// Parent's process id, when the kernel's BTF let armtune read it.
    pub ppid: Option<u32>,
    /// Name at its last exec or at its exit.
    pub comm: String,
    /// Start, seconds from the start of the profile (negative: it was running before): its first
    /// exec during the profile (the moments between a fork and its exec belong to the parent's
    /// program, and a spawned command waits for armtune's probes there), else its creation.
    pub started_s: Option<f64>,
    /// From its start to its exit, or to the end of the profile while it still runs.
    pub run_time_s: Option<f64>,
    /// Whether it exited during the profile.
    pub exited: bool,
    /// Its exit status, when it exited normally and the kernel's BTF gave the code.
    pub exit_code: Option<i32>,
    /// The signal that ended it (`SIGKILL`), when one did.
    pub signal: Option<String>,
    /// Whether it dumped core.
    pub core_dumped: bool,
    /// Execs seen during the profile.
    pub execs: u32,
}

const LOSSES: &[Loss] = &[Loss {
    counter: armtune_common::counter::PROC_LOST,
    key: "processes",
    what: "process lives",
    remedy: "process map full: more processes than it holds",
}];

/// Its key in the JSON report.
const SECTION: &str = "processes";

/// Rows the summary shows; JSON has every one.
const SUMMARY_ROWS: usize = 25;

const PROC_ABOUT: About = About {
    name: "proc",
    usage: "proc",
    help: "processes that started, exec'd and exited, with exit codes and run times",
    bit: events::PROC,
};

impl Family for Proc {
    fn about(&self) -> &'static About {
        &PROC_ABOUT
    }

    fn maps(&self, _options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::PROC_LIVES.name, None)]
    }

    fn globals(&self, setup: &Setup) -> Result<Vec<(&'static str, Global)>> {
        let exit = Format::read(setup.tracing, "sched", "sched_process_exit")?;
        let group_dead = exit.field("group_dead").map_or(u32::MAX, |f| f.offset);
        let fields = ["exit_code", "start_time", "real_parent", "tgid"];
        let offsets = crate::btf::member_offsets(setup.btf, "task_struct", &fields).unwrap_or_default();
        let offset = |i: usize| Global::U32(offsets.get(i).copied().flatten().unwrap_or(u32::MAX));
        Ok(vec![
            ("PROC_EXIT_GROUP_DEAD", Global::U32(group_dead)),
            ("PROC_TASK_EXIT_CODE", offset(0)),
            ("PROC_TASK_START_TIME", offset(1)),
            ("PROC_TASK_REAL_PARENT", offset(2)),
            ("PROC_TASK_TGID", offset(3)),
        ])
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        attach_tracepoint(ebpf, "armtune_proc_exec", "sched", "sched_process_exec")?;
        attach_tracepoint(ebpf, "armtune_proc_exit", "sched", "sched_process_exit")?;
        match crate::btf::member_offsets(ctx.setup.btf, "task_struct", &["exit_code"]) {
            Ok(found) if found[0].is_some() => {}
            Ok(_) => ctx
                .warnings
                .push("--event proc: the kernel's BTF has no task_struct.exit_code: exit codes unknown".into()),
            Err(e) => ctx
                .warnings
                .push(format!("--event proc: {e}: exit codes and parents unknown, and run times count from exec")),
        }
        Ok(())
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        let mut rows = Vec::new();
        for entry in hash_map::<u32, ProcLife>(ebpf, maps::PROC_LIVES.name)?.iter() {
            let (pid, life) = entry.context("reading process lives")?;
            rows.push(life_row(pid, &life, &ctx.setup));
        }
        rows.sort_by(|a, b| {
            a.started_s.unwrap_or(f64::MAX).total_cmp(&b.started_s.unwrap_or(f64::MAX)).then(a.pid.cmp(&b.pid))
        });
        capture.sections.insert(SECTION.into(), serde_json::to_value(rows).unwrap_or(Value::Null));
        Ok(())
    }

    fn losses(&self) -> &'static [Loss] {
        LOSSES
    }

    fn summary(&self, report: &Report) -> Option<String> {
        let rows: Vec<ProcessLife> = serde_json::from_value(report.sections.get(SECTION)?.clone()).ok()?;
        Some(summary_text(&rows))
    }
}

/// A process's row from its kernel record; times relative to `setup.started_ns`.
fn life_row(pid: u32, life: &ProcLife, setup: &Setup) -> ProcessLife {
    let start = [life.exec_ns, life.start_ns].into_iter().find(|&t| t != 0);
    let exited = life.flags & proc_life::EXITED != 0;
    let end = if exited { life.exit_ns } else { setup.stopped_ns };
    let seconds = |ns: i128| ns as f64 / 1e9;
    let (status, signal) = match life.exit_code {
        proc_life::NO_EXIT_CODE => (None, None),
        // As wait(2) encodes it: the low seven bits a signal, else the status in the next byte.
        code if code & 0x7f != 0 => (None, Some(code & 0x7f)),
        code => (Some(((code >> 8) & 0xff) as i32), None),
    };
    ProcessLife {
        pid,
        ppid: (life.ppid != 0).then_some(life.ppid),
        comm: comm_text(&life.comm),
        started_s: start.map(|s| seconds(s as i128 - setup.started_ns as i128)),
        run_time_s: start.filter(|_| end != 0).map(|s| seconds(end as i128 - s as i128).max(0.0)),
        exited,
        exit_code: status.filter(|_| exited),
        signal: signal.filter(|_| exited).map(signal_name),
        core_dumped: exited && life.exit_code != proc_life::NO_EXIT_CODE && life.exit_code & 0x80 != 0,
        execs: life.execs,
    }
}

/// `SIGKILL` for 9, as Linux numbers signals on arm64 and x86-64; `signal 40` past the named ones.
fn signal_name(signal: u32) -> String {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get((signal as usize).wrapping_sub(1)).map_or_else(|| format!("signal {signal}"), |n| n.to_string())
}

/// The summary's `processes` table.
fn summary_text(rows: &[ProcessLife]) -> String {
    let exited = rows.iter().filter(|r| r.exited).count();
    let signalled = rows.iter().filter(|r| r.signal.is_some()).count();
    let failed = rows.iter().filter(|r| r.exit_code.is_some_and(|c| c != 0)).count();
    let mut s = format!(
        "processes: {} seen, {exited} exited ({failed} with a non-zero status, {signalled} by a signal), {} still running\n",
        rows.len(),
        rows.len() - exited
    );
    s += &format!("  {:>8} {:>8}  {:<16} {:>10} {:>10}  end\n", "pid", "ppid", "command", "start s", "run s");
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for r in rows.iter().take(SUMMARY_ROWS) {
        let end = match (&r.signal, r.exit_code, r.exited) {
            (Some(sig), _, _) => format!("killed by {sig}{}", if r.core_dumped { " (core dumped)" } else { "" }),
            (None, Some(code), _) => format!("exit {code}"),
            (None, None, true) => "exited (code unknown)".into(),
            (None, None, false) => "running".into(),
        };
        s += &format!(
            "  {:>8} {:>8}  {:<16} {:>10} {:>10}  {end}\n",
            r.pid,
            or_dash(r.ppid.map(|p| p.to_string())),
            r.comm,
            or_dash(r.started_s.map(|t| format!("{t:+.3}"))),
            or_dash(r.run_time_s.map(|t| format!("{t:.3}"))),
        );
    }
    if rows.len() > SUMMARY_ROWS {
        s += &format!("  ... {} more (the JSON report lists every one)\n", rows.len() - SUMMARY_ROWS);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup<'static> {
        static OPTIONS: std::sync::OnceLock<Options> = std::sync::OnceLock::new();
        Setup {
            options: OPTIONS.get_or_init(Options::default),
            tracing: std::path::Path::new("/nonexistent"),
            btf: std::path::Path::new("/nonexistent"),
            started_ns: 10_000_000_000,
            stopped_ns: 14_000_000_000,
        }
    }

    fn life(start_s: f64, exit_s: Option<f64>, exit_code: u32) -> ProcLife {
        let mut comm = [0u8; 16];
        comm[..2].copy_from_slice(b"sh");
        ProcLife {
            start_ns: (start_s * 1e9) as u64,
            exec_ns: 0,
            exit_ns: exit_s.map_or(0, |s| (s * 1e9) as u64),
            ppid: 7,
            exit_code,
            execs: 1,
            flags: if exit_s.is_some() { proc_life::EXITED } else { 0 },
            comm,
        }
    }

    #[test]
    fn exit_codes_decode_as_wait_does() {
        let r = life_row(100, &life(10.5, Some(11.0), 3 << 8), &setup());
        assert_eq!((r.exit_code, r.signal.as_deref(), r.core_dumped), (Some(3), None, false));
        assert_eq!((r.started_s, r.run_time_s), (Some(0.5), Some(0.5)));
        let r = life_row(100, &life(10.5, Some(11.0), 9), &setup());
        assert_eq!((r.exit_code, r.signal.as_deref()), (None, Some("SIGKILL")));
        let r = life_row(100, &life(10.5, Some(11.0), 0x80 | 11), &setup());
        assert_eq!((r.signal.as_deref(), r.core_dumped), (Some("SIGSEGV"), true));
        let r = life_row(100, &life(10.5, Some(11.0), proc_life::NO_EXIT_CODE), &setup());
        assert_eq!((r.exit_code, r.signal.as_deref(), r.exited), (None, None, true));
    }

    #[test]
    fn running_processes_count_to_the_end_and_older_ones_start_before_zero() {
        let r = life_row(5, &life(8.0, None, proc_life::NO_EXIT_CODE), &setup());
        assert_eq!((r.exited, r.started_s, r.run_time_s), (false, Some(-2.0), Some(6.0)));
        let mut no_start = life(0.0, Some(12.0), 0);
        no_start.start_ns = 0;
        no_start.exec_ns = 11_000_000_000;
        assert_eq!(life_row(6, &no_start, &setup()).run_time_s, Some(1.0), "from the exec without BTF");
        no_start.exec_ns = 0;
        assert_eq!(life_row(6, &no_start, &setup()).run_time_s, None);
    }

    #[test]
    fn summary_counts_and_limits_rows() {
        let mut rows: Vec<ProcessLife> = (0..30)
            .map(|i| life_row(i, &life(10.0 + i as f64 / 100.0, Some(12.0), if i == 3 { 9 } else { 1 << 8 }), &setup()))
            .collect();
        rows.push(life_row(99, &life(10.0, None, proc_life::NO_EXIT_CODE), &setup()));
        let text = summary_text(&rows);
        assert!(
            text.starts_with(
                "processes: 31 seen, 30 exited (29 with a non-zero status, 1 by a signal), 1 still running"
            ),
            "{text}"
        );
        assert!(text.contains("killed by SIGKILL") && text.contains("exit 1"), "{text}");
        assert!(text.contains("... 6 more"), "{text}");
        let mut report = Report::default();
        report.sections.insert(SECTION.into(), serde_json::to_value(&rows).unwrap());
        assert_eq!(Proc.summary(&report).unwrap(), text, "the summary reads the JSON section");
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(31), "SIGSYS");
        assert_eq!(signal_name(40), "signal 40");
        assert_eq!(signal_name(0), "signal 0");
    }
}
