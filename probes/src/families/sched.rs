//! The scheduler's families: `off-cpu` (time blocked, by stack and task state), `runq` (run-queue
//! latency histograms) and `wakeup` (who woke whom, with waker stacks). They share the
//! `sched:sched_switch`, `sched_wakeup`, `sched_wakeup_new` and `sched_migrate_task` programs
//! (BTF-typed where the kernel's BTF allows, classic otherwise) and the thread table, which also
//! gives the per-thread switch counts. Kernel side: `ebpf/src/sched.rs`.

use std::{collections::HashMap, fmt::Write as _};

use armtune_common::{events, maps, task_state, HistKey, OffCpuKey, StackRef, TaskInfo, Totals, WakeKey, ALL_CPUS};
use aya::{programs::BtfTracePoint, Btf, Ebpf};

use super::{attach_tracepoint, hash_map, About, Attach, Drain, Family, Global, Setup, TOP_ROWS};
use crate::{
    btf::{SchedPath, SchedTracepoints, TaskOffsets, VMLINUX},
    capture::{comm_text, Capture, RawSample, RunqHistogram, ThreadRow, WakePair},
    error::Context as _,
    histogram::Log2Histogram,
    mmap_records::monotonic_ns,
    options::{EventSet, Options, SchedSample},
    profile::Unit,
    report::Report,
    stacks::StackReader,
    symbolize::Symbolizer,
    tracefs::SchedLayout,
    Error, Result,
};

/// Off-CPU time.
pub struct OffCpu;
/// Run-queue latency.
pub struct Runq;
/// Wakeups.
pub struct Wakeup;

/// The state key under which the attached kind of tracepoints is kept.
const STATE: &str = "sched";

/// The scheduler programs and their tracepoints.
const SCHED: [(&str, &str); 4] = [
    ("armtune_switch", "sched_switch"),
    ("armtune_wakeup", "sched_wakeup"),
    ("armtune_wakeup_new", "sched_wakeup_new"),
    ("armtune_migrate", "sched_migrate_task"),
];

const OFF_CPU_ABOUT: About = About {
    name: "off-cpu",
    usage: "off-cpu",
    help: "time blocked off the CPU, by stack (off-CPU flame graph)",
    bit: events::OFF_CPU,
};

const RUNQ_ABOUT: About =
    About { name: "runq", usage: "runq", help: "run-queue latency histograms", bit: events::RUNQ };

const WAKEUP_ABOUT: About = About {
    name: "wakeup",
    usage: "wakeup",
    help: "who woke whom, with waker stacks (wakeup flame graph)",
    bit: events::WAKEUP,
};

impl Family for OffCpu {
    fn about(&self) -> &'static About {
        &OFF_CPU_ABOUT
    }

    fn maps(&self, _options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::OFF_CPU.name, None), (maps::TASKS.name, None), open_intervals()]
    }

    fn globals(&self, setup: &Setup) -> Result<Vec<(&'static str, Global)>> {
        sched_globals(setup)
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        attach_once(ebpf, ctx)
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        let tasks = shared_drain(ebpf, ctx, capture)?;
        capture.off_cpu = drain_off_cpu(ebpf, ctx, &tasks)?;
        capture.off_cpu.retain(|s| !(ctx.before_exec)(s));
        Ok(())
    }

    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[("off-cpu", "time off the CPU, in microseconds")]
    }

    fn report(&self, capture: &Capture, symbolizer: &mut Symbolizer, report: &mut Report) {
        let meta = capture.meta.clone();
        report.off_cpu = Some(symbolizer.stacks(&capture.off_cpu, &capture.maps, Unit::off_cpu_us(), meta, 0.001));
    }

    fn summary(&self, report: &Report) -> Option<String> {
        let mut s = String::new();
        // Alone, off-CPU time is the main graph; beside CPU samples (one wall graph) its total.
        if let Some(off) = report.off_cpu.as_ref().filter(|_| report.cpu.is_some()) {
            let _ = writeln!(s, "off-CPU: {:.3} s blocked in total", off.total() as f64 / 1e6);
        }
        Some(s + &threads_if_last(report, events::OFF_CPU))
    }
}

impl Family for Runq {
    fn about(&self) -> &'static About {
        &RUNQ_ABOUT
    }

    fn maps(&self, _options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::RUNQ_HIST.name, None), (maps::TASKS.name, None), open_intervals()]
    }

    fn globals(&self, setup: &Setup) -> Result<Vec<(&'static str, Global)>> {
        sched_globals(setup)
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        attach_once(ebpf, ctx)
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        let tasks = shared_drain(ebpf, ctx, capture)?;
        capture.runq = drain_runq(ebpf, &tasks)?;
        Ok(())
    }

    fn summary(&self, report: &Report) -> Option<String> {
        let mut s = String::new();
        if !report.runq.is_empty() {
            let _ = writeln!(s, "run-queue latency (time from wakeup or preemption to running):");
            for h in report.runq_overall() {
                s.push_str(&runq_line("all targets", h.cpu, &h.histogram));
                s.push_str(&h.histogram.render("usecs"));
            }
            let per_process: Vec<_> = report.runq.iter().filter(|h| h.cpu.is_none()).collect();
            if per_process.len() > 1 {
                for h in per_process.into_iter().take(TOP_ROWS) {
                    s.push_str(&runq_line(&format!("{} ({})", h.comm, h.tgid), None, &h.histogram));
                }
            }
        }
        Some(s + &threads_if_last(report, events::RUNQ))
    }
}

impl Family for Wakeup {
    fn about(&self) -> &'static About {
        &WAKEUP_ABOUT
    }

    fn maps(&self, _options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::WAKEUPS.name, None), (maps::TASKS.name, None), open_intervals()]
    }

    fn globals(&self, setup: &Setup) -> Result<Vec<(&'static str, Global)>> {
        sched_globals(setup)
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        attach_once(ebpf, ctx)
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        let tasks = shared_drain(ebpf, ctx, capture)?;
        (capture.wakeups, capture.wake_pairs) = drain_wakeups(ebpf, ctx, &tasks)?;
        Ok(())
    }

    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[("wakeup", "wakeups, by waker stack")]
    }

    fn report(&self, capture: &Capture, symbolizer: &mut Symbolizer, report: &mut Report) {
        let meta = capture.meta.clone();
        report.wakeups = Some(symbolizer.stacks(&capture.wakeups, &capture.maps, Unit::wakeups(), meta, 1.0));
    }

    fn summary(&self, report: &Report) -> Option<String> {
        let mut s = String::new();
        if !report.wake_pairs.is_empty() {
            let _ = writeln!(s, "wakeups (waker -> woken):");
            for w in report.wake_pairs.iter().take(TOP_ROWS) {
                let _ = writeln!(
                    s,
                    "  {:>8}  {} ({}) -> {} ({})",
                    w.count, w.waker_comm, w.waker_tgid, w.wakee_comm, w.wakee_tgid
                );
            }
        }
        Some(s + &threads_if_last(report, events::WAKEUP))
    }
}

/// The open-interval marks, one byte per possible thread id (`pid_max`, 4 Mi on most 64-bit
/// systems: 4 MiB of kernel memory), in blocks of 64.
fn open_intervals() -> (&'static str, Option<u32>) {
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(maps::OPEN_INTERVALS.entries * 64);
    (maps::OPEN_INTERVALS.name, Some(pid_max.div_ceil(64).max(1)))
}

/// The globals of the scheduler programs (the same for the three families): field offsets of the
/// classic tracepoints' records, `task_struct` offsets for the BTF-typed ones, and the options.
fn sched_globals(setup: &Setup) -> Result<Vec<(&'static str, Global)>> {
    let options = setup.options;
    let layout = SchedLayout::read(setup.tracing)?;
    let task = task_offsets(options.sched_path)?;
    let (task_pid, task_comm) = task.map_or((0, 0), |t| (t.pid, t.comm));
    let u32s = [
        ("SWITCH_PREV_PID", layout.switch_prev_pid),
        ("SWITCH_PREV_STATE", layout.switch_prev_state),
        ("SWITCH_PREV_STATE_SIZE", layout.switch_prev_state_size),
        ("SWITCH_NEXT_PID", layout.switch_next_pid),
        ("WAKEUP_PID", layout.wakeup_pid),
        ("WAKEUP_COMM", layout.wakeup_comm.unwrap_or(u32::MAX)),
        ("MIGRATE_PID", layout.migrate_pid),
        ("TASK_PID", task_pid),
        ("TASK_COMM", task_comm),
        ("OFF_CPU_STATES", options.off_cpu_states.bits()),
    ];
    let mut out: Vec<(&'static str, Global)> = u32s.into_iter().map(|(n, v)| (n, Global::U32(v))).collect();
    out.push(("MIN_BLOCK_NS", Global::U64(options.min_block.as_nanos().min(u64::MAX as u128) as u64)));
    out.push(("RUNQ_PER_CPU", Global::U8(options.runq_per_cpu.into())));
    out.push(("WAKEUP_STACKS", Global::U8(options.events.wakeup.into())));
    out.push(("SCHED_SAMPLE", Global::U32(options.sched_sample.every())));
    out.push(("SCHED_RATE", Global::U32(options.sched_sample.per_cpu_second())));
    Ok(out)
}

/// Attaches the scheduler tracepoints once for the three families: BTF-typed when `btf_offsets`
/// (falling back to classic under `auto`, with a warning), classic otherwise. Notes which kind
/// in the state, for `meta.sched_tracepoints`.
fn attach_once(ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
    if ctx.state.get::<SchedTracepoints>(STATE).is_some() {
        return Ok(());
    }
    let options = ctx.setup.options;
    // Off-CPU time alone needs no wakeups (new tasks' come through sched_wakeup_new): in a
    // context-switch storm each wakeup program run costs as much as half a switch's.
    let wakeups = options.events.runq || options.events.wakeup;
    let programs: Vec<(&str, &str)> =
        SCHED.into_iter().filter(|(_, tracepoint)| wakeups || *tracepoint != "sched_wakeup").collect();
    let mut kind = SchedTracepoints::None;
    if task_offsets(options.sched_path)?.is_some() {
        match attach_btf_tracepoints(ebpf, &programs) {
            Ok(()) => kind = SchedTracepoints::Btf,
            Err(e) if options.sched_path == SchedPath::Auto => {
                ctx.warnings.push(format!(
                    "BTF-typed scheduler tracepoints failed ({}); used classic ones",
                    crate::error::chain(&e)
                ));
            }
            Err(e) => return Err(e),
        }
    }
    if kind == SchedTracepoints::None {
        for (program, name) in programs {
            attach_tracepoint(ebpf, program, "sched", name)?;
        }
        kind = SchedTracepoints::Classic;
    }
    ctx.state.put(STATE, kind);
    Ok(())
}

/// The `task_struct` offsets the BTF-typed scheduler programs need, or `None` for the classic
/// programs: by choice, or (`auto`) because the kernel's BTF lacks something they read.
fn task_offsets(path: SchedPath) -> Result<Option<TaskOffsets>> {
    match path {
        SchedPath::Classic => Ok(None),
        SchedPath::Auto => Ok(TaskOffsets::read(std::path::Path::new(VMLINUX)).ok()),
        SchedPath::Btf => TaskOffsets::read(std::path::Path::new(VMLINUX))
            .map(Some)
            .map_err(|e| Error::Invalid(format!("--tracepoints btf: {e}; use --tracepoints classic"))),
    }
}

/// Loads and attaches the `tp_btf` twins (`<program>_btf`) of the scheduler programs.
fn attach_btf_tracepoints(ebpf: &mut Ebpf, programs: &[(&str, &str)]) -> Result<()> {
    let btf = Btf::from_sys_fs().context("reading the kernel's BTF")?;
    for (program, name) in programs {
        let program = format!("{program}_btf");
        let tp: &mut BtfTracePoint = ebpf.program_mut(&program).unwrap().try_into().unwrap();
        tp.load(name, &btf).with_context(|| format!("loading {program}"))?;
        tp.attach().with_context(|| format!("attaching to tp_btf/{name}"))?;
    }
    Ok(())
}

/// The per-thread switch table, from the last of the three families the report recorded (the
/// table is theirs together, and comes after their own sections).
fn threads_if_last(report: &Report, me: u32) -> String {
    let recorded = EventSet::from_names(&report.meta.events).bits() & (events::OFF_CPU | events::RUNQ | events::WAKEUP);
    // The families' bits rise in registry order: a recorded bit above `me` is a later family.
    let later = recorded & !(me | (me - 1));
    if later != 0 {
        return String::new();
    }
    let mut s = match report.meta.sched_sampling() {
        SchedSample::PerCpuSecond(r) => format!(
            "scheduler events sampled: about {r} a CPU-second recorded, each weighted by the events it stands for; \
             times, counts and histograms are estimates\n"
        ),
        SchedSample::Every(n) if n > 1 => format!(
            "scheduler events sampled: one in {n} recorded and weighted by {n}; times, counts and histograms are estimates\n"
        ),
        _ => String::new(),
    };
    if report.threads.is_empty() {
        return s;
    }
    let _ = writeln!(s, "threads: {:>8} {:>10} {:>12} {:>10}", "tid", "voluntary", "involuntary", "migrations");
    for t in report.threads.iter().take(TOP_ROWS) {
        let _ =
            writeln!(s, "  {:<16} {:>6} {:>10} {:>12} {:>10}", t.comm, t.tid, t.voluntary, t.involuntary, t.migrations);
    }
    s
}

fn runq_line(who: &str, cpu: Option<u32>, h: &Log2Histogram) -> String {
    let p = |q: f64| h.percentile_us(q).map_or("-".to_string(), |v| format!("{v:.0}"));
    let cpu = cpu.map(|c| format!(" on CPU {c}")).unwrap_or_default();
    format!(
        "  {who}{cpu}: {} waits, p50 {} us, p90 {} us, p99 {} us, max {:.0} us\n",
        h.count(),
        p(50.0),
        p(90.0),
        p(99.0),
        h.max_ns as f64 / 1000.0
    )
}

/// What the three families share at the end, the same whichever drains first: the thread table
/// (also the per-thread switch counts and `meta.switches`) and the kind of tracepoints used.
fn shared_drain(ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<Vec<(u32, TaskInfo)>> {
    let tasks = tasks(ebpf)?;
    capture.threads = drain_threads(&tasks);
    capture.meta.switches = capture.threads.iter().map(|t| t.voluntary + t.involuntary).sum();
    let kind = ctx.state.get::<SchedTracepoints>(STATE).copied().unwrap_or_default();
    capture.meta.sched_tracepoints = kind.as_str().into();
    Ok(tasks)
}

/// The thread table the scheduler programs keep.
pub(crate) fn tasks(ebpf: &Ebpf) -> Result<Vec<(u32, TaskInfo)>> {
    hash_map::<u32, TaskInfo>(ebpf, maps::TASKS.name)?.iter().map(|e| e.context("reading the thread table")).collect()
}

fn drain_off_cpu(ebpf: &Ebpf, ctx: &Drain, tasks: &[(u32, TaskInfo)]) -> Result<Vec<RawSample>> {
    let mut out = Vec::new();
    for entry in hash_map::<OffCpuKey, Totals>(ebpf, maps::OFF_CPU.name)?.iter() {
        let (key, totals) = entry.context("reading off-CPU times")?;
        out.push(off_sample(ctx, &key, totals.sum, false));
    }
    // --unwind dwarf: summed in user space, the state in the tag.
    for (key, ns, _) in ctx.unwound.of(events::OFF_CPU) {
        out.push(unwound_off_sample(ctx, key, ns, false));
    }
    // Blocks still open: closed now, and marked so they are not mistaken for finished ones.
    let now = monotonic_ns();
    let min_block = ctx.setup.options.min_block.as_nanos() as u64;
    for (tid, task) in tasks.iter().filter(|(_, t)| t.off_since_ns != 0) {
        let ns = now.saturating_sub(task.off_since_ns);
        if ns < min_block || ns == 0 {
            continue;
        }
        // Weighted as the kernel weighs finished ones.
        let ns = ns * u64::from(task.off_weight.max(1));
        if task.stacks.user == StackRef::UNWOUND {
            // None open: its switch-out record was lost (ring buffer full, counted).
            out.extend(ctx.unwound.open(*tid).map(|key| unwound_off_sample(ctx, key, ns, true)));
            continue;
        }
        let key = OffCpuKey {
            tgid: task.tgid,
            tid: if ctx.setup.options.per_thread { *tid } else { 0 },
            stacks: task.stacks,
            state: task.state,
            comm: task.comm,
        };
        out.push(off_sample(ctx, &key, ns, true));
    }
    Ok(out)
}

/// An off-CPU interval under its state (and, still open at the end, a marker saying so).
fn off_sample(ctx: &Drain, key: &OffCpuKey, ns: u64, still_blocked: bool) -> RawSample {
    off_cpu_sample(ctx.stacks, key, ns, still_blocked)
}

/// The same for a user stack unwound in user space.
fn unwound_off_sample(ctx: &Drain, key: &crate::stacks::UnwoundKey, ns: u64, still_blocked: bool) -> RawSample {
    unwound_off_cpu_sample(ctx.stacks, key, ns, still_blocked)
}

/// `ns` of off-CPU time of `key`, named by `stacks` (also `armtune agent`'s windows).
pub(crate) fn off_cpu_sample(stacks: &StackReader, key: &OffCpuKey, ns: u64, still_blocked: bool) -> RawSample {
    let mut s = stacks.sample(key.tgid, key.tid, &key.comm, key.stacks);
    off_markers(&mut s, key.state, still_blocked);
    s.count = ns;
    s
}

/// The same for a user stack unwound in user space.
pub(crate) fn unwound_off_cpu_sample(
    stacks: &StackReader,
    key: &crate::stacks::UnwoundKey,
    ns: u64,
    still_blocked: bool,
) -> RawSample {
    let mut s = stacks.unwound(key);
    off_markers(&mut s, key.tag as u32, still_blocked);
    s.count = ns;
    s
}

fn off_markers(s: &mut RawSample, state: u32, still_blocked: bool) {
    s.markers.insert(0, state_marker(state).to_string());
    if still_blocked {
        s.markers.insert(1, "[still off-CPU at end]".to_string());
    }
}

fn drain_threads(tasks: &[(u32, TaskInfo)]) -> Vec<ThreadRow> {
    let mut rows: Vec<ThreadRow> = tasks
        .iter()
        // Entries made for a wakeup that never ran while profiled have nothing to say.
        .filter(|(_, t)| t.state != 0)
        .map(|(tid, t)| ThreadRow {
            tid: *tid,
            tgid: t.tgid,
            comm: comm_text(&t.comm),
            voluntary: t.voluntary,
            involuntary: t.involuntary,
            migrations: t.migrations,
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.voluntary + r.involuntary));
    rows
}

fn drain_runq(ebpf: &Ebpf, tasks: &[(u32, TaskInfo)]) -> Result<Vec<RunqHistogram>> {
    let names = task_names(tasks);
    let mut maxima: HashMap<u32, u64> = HashMap::new();
    for (_, t) in tasks {
        let max = maxima.entry(t.tgid).or_insert(0);
        *max = (*max).max(t.runq_max_ns);
    }
    let mut hists: HashMap<(u32, Option<u32>), Log2Histogram> = HashMap::new();
    for entry in hash_map::<HistKey, u64>(ebpf, maps::RUNQ_HIST.name)?.iter() {
        let (key, count) = entry.context("reading run-queue histograms")?;
        let cpu = (key.cpu != ALL_CPUS).then_some(key.cpu);
        let h = hists.entry((key.tgid, cpu)).or_default();
        h.add(key.slot as usize, count);
        h.max_ns = maxima.get(&key.tgid).copied().unwrap_or(0);
    }
    let mut out: Vec<RunqHistogram> = hists
        .into_iter()
        .map(|((tgid, cpu), histogram)| RunqHistogram {
            tgid,
            comm: names.get(&tgid).cloned().unwrap_or_default(),
            cpu,
            histogram,
        })
        .collect();
    out.sort_by(|a, b| b.histogram.count().cmp(&a.histogram.count()).then(a.cpu.cmp(&b.cpu)));
    Ok(out)
}

fn drain_wakeups(ebpf: &Ebpf, ctx: &Drain, tasks: &[(u32, TaskInfo)]) -> Result<(Vec<RawSample>, Vec<WakePair>)> {
    let names = task_names(tasks);
    let mut samples = Vec::new();
    let mut pairs: HashMap<(u32, String, u32, String), u64> = HashMap::new();
    for entry in hash_map::<WakeKey, u64>(ebpf, maps::WAKEUPS.name)?.iter() {
        let (key, count) = entry.context("reading wakeups")?;
        let waker = comm_text(&key.waker_comm);
        let mut wakee = comm_text(&key.wakee_comm);
        if wakee.is_empty() {
            wakee = names.get(&key.wakee_tgid).cloned().unwrap_or_else(|| format!("[pid {}]", key.wakee_tgid));
        }
        *pairs.entry((key.waker_tgid, waker.clone(), key.wakee_tgid, wakee.clone())).or_insert(0) += count;
        // The graph reads from the woken task up: who woke it, and from which stack.
        let mut s = ctx.stacks.sample(key.waker_tgid, key.wakee_tid, &key.wakee_comm, key.stacks);
        s.comm = wakee;
        s.markers.push(format!("woken by {waker}"));
        s.count = count;
        samples.push(s);
    }
    let mut pairs: Vec<WakePair> = pairs
        .into_iter()
        .map(|((waker_tgid, waker_comm, wakee_tgid, wakee_comm), count)| WakePair {
            waker_tgid,
            waker_comm,
            wakee_tgid,
            wakee_comm,
            count,
        })
        .collect();
    pairs.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.waker_comm.cmp(&b.waker_comm)));
    Ok((samples, pairs))
}

/// Process names from the thread table: the main thread's name, else any thread's. Drains take
/// names from here rather than from each other's results, so their order does not matter.
fn task_names(tasks: &[(u32, TaskInfo)]) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    // Entries made for a wakeup that never ran while profiled have no name worth keeping.
    for (tid, t) in tasks.iter().filter(|(_, t)| t.state != 0) {
        if *tid == t.tgid || !names.contains_key(&t.tgid) {
            names.insert(t.tgid, comm_text(&t.comm));
        }
    }
    names
}

/// The marker frame naming a task-state class in off-CPU stacks.
pub fn state_marker(class: u32) -> &'static str {
    match class {
        task_state::SLEEPING => "[sleeping]",
        task_state::UNINTERRUPTIBLE => "[uninterruptible]",
        task_state::RUNNABLE => "[preempted]",
        _ => "[other state]",
    }
}
