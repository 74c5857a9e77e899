//! Loading armtune's eBPF object and placing its probes for a session's options: the globals and
//! map sizes the programs are loaded with, the scheduler tracepoints (BTF-typed or classic), the
//! uprobes of runtimes, SDT probes and allocators, and the CPU sampler.

use crate::error::Context as _;

use aya::{
    maps::HashMap as BpfHashMap,
    programs::{
        perf_event::{perf_sw_ids, PerfEventLinkId, PerfEventScope, PerfTypeId, SamplePolicy},
        BtfTracePoint, PerfEvent, TracePoint,
    },
    util::online_cpus,
    Btf, Ebpf, EbpfLoader,
};

use crate::{
    btf::{SchedPath, SchedTracepoints, TaskOffsets, VMLINUX},
    families::{Global, Setup},
    object::EBPF_OBJECT,
    options::{Options, Target},
    tracefs::SchedLayout,
    Error, Result,
};

/// Loads the eBPF object with the globals and map sizes `options` call for (the registered
/// families' own among them).
pub(crate) fn load(
    options: &Options,
    layout: &SchedLayout,
    task_offsets: Option<TaskOffsets>,
    setup: &Setup,
) -> Result<Ebpf> {
    let (task_pid, task_comm) = task_offsets.map_or((0u32, 0u32), |t| (t.pid, t.comm));
    let events = options.events;
    let filter: u8 = u8::from(options.target != Target::All);
    let per_thread: u8 = options.per_thread.into();
    let event_bits = events.bits();
    let wakeup_comm = layout.wakeup_comm.unwrap_or(u32::MAX);
    let min_block_ns = options.min_block.as_nanos().min(u64::MAX as u128) as u64;
    let runq_per_cpu: u8 = options.runq_per_cpu.into();
    let wakeup_stacks: u8 = events.wakeup.into();
    let (off_cpu_states, stack_kinds) = (options.off_cpu_states.bits(), options.stacks.bits());
    let mut family_globals = Vec::new();
    for family in crate::families::enabled(events.bits()) {
        family_globals.extend(family.globals(setup)?);
    }
    // `EbpfLoader::new` parses the kernel's BTF itself and keeps it private: the BTF-typed
    // programs parse their own copy, only when they are used.
    let mut loader = EbpfLoader::new();
    loader
        .set_global("FILTER_TARGETS", &filter, true)
        .set_global("PER_THREAD", &per_thread, true)
        .set_global("EVENTS", &event_bits, true)
        .set_global("FORK_CHILD_PID_OFFSET", &layout.fork_child_pid, true)
        .set_global("SWITCH_PREV_PID", &layout.switch_prev_pid, true)
        .set_global("SWITCH_PREV_STATE", &layout.switch_prev_state, true)
        .set_global("SWITCH_PREV_STATE_SIZE", &layout.switch_prev_state_size, true)
        .set_global("SWITCH_NEXT_PID", &layout.switch_next_pid, true)
        .set_global("WAKEUP_PID", &layout.wakeup_pid, true)
        .set_global("WAKEUP_COMM", &wakeup_comm, true)
        .set_global("MIGRATE_PID", &layout.migrate_pid, true)
        .set_global("TASK_PID", &task_pid, true)
        .set_global("TASK_COMM", &task_comm, true)
        .set_global("OFF_CPU_STATES", &off_cpu_states, true)
        .set_global("MIN_BLOCK_NS", &min_block_ns, true)
        .set_global("RUNQ_PER_CPU", &runq_per_cpu, true)
        .set_global("WAKEUP_STACKS", &wakeup_stacks, true)
        .set_global("STACK_KINDS", &stack_kinds, true)
        .set_max_entries("STACKS", options.stack_entries)
        // Collisions are rare next to the stacks themselves: an eighth is plenty (64 at least).
        .set_max_entries("OVERFLOW_STACKS", (options.stack_entries / 8).max(64))
        .set_max_entries("COUNTS", if events.cpu { options.count_entries } else { 1 });
    set_up_families(&mut loader, &family_globals, options);
    // Maps of events not recorded shrink to one entry: the kernel memory is not wasted.
    for (on, maps) in [
        (events.off_cpu, &["OFF_CPU"][..]),
        (events.runq, &["RUNQ_HIST"][..]),
        (events.wakeup, &["WAKEUPS"][..]),
        (events.sched(), &["TASKS"][..]),
    ] {
        if !on {
            for map in maps {
                loader.set_max_entries(map, 1);
            }
        }
    }
    let ebpf = loader.load(EBPF_OBJECT).context("loading the eBPF object")?;
    // The loader holds the parsed kernel BTF; freeing it takes a while (hundreds of ms in a
    // debug build). Done here, before the command starts, it delays nothing that matters;
    // at the end of this function it would delay the first read of the command's mappings.
    drop(loader);
    Ok(ebpf)
}

/// The registered families' globals, and their maps sized: as they ask when `bits` records them,
/// one entry otherwise.
fn set_up_families<'a>(loader: &mut EbpfLoader<'a>, globals: &'a [(&'static str, Global)], options: &Options) {
    for (name, value) in globals {
        match value {
            Global::U8(v) => loader.set_global(name, v, true),
            Global::U32(v) => loader.set_global(name, v, true),
            Global::U64(v) => loader.set_global(name, v, true),
        };
    }
    // A map two families share (the allocator's pending calls) keeps its size if either records.
    let wanted: Vec<(&str, Option<u32>)> =
        crate::families::enabled(options.events.bits()).flat_map(|f| f.maps(options)).collect();
    for (map, entries) in &wanted {
        if let Some(entries) = entries {
            loader.set_max_entries(map, *entries);
        }
    }
    for family in crate::families::REGISTRY {
        for (map, _) in family.maps(options) {
            if !wanted.iter().any(|(w, _)| *w == map) {
                loader.set_max_entries(map, 1);
            }
        }
    }
}

/// Marks `pids` as targets: the programs record only targets (and the children they start).
pub(crate) fn targets(ebpf: &mut Ebpf, pids: impl IntoIterator<Item = u32>) -> Result<()> {
    let mut targets: BpfHashMap<_, u32, u8> =
        BpfHashMap::try_from(ebpf.map_mut("TARGETS").unwrap()).context("opening the target map")?;
    for pid in pids {
        targets.insert(pid, 1, 0).with_context(|| format!("adding pid {pid} to the targets"))?;
    }
    Ok(())
}

/// Attaches the process-tracking tracepoints and, when scheduler events are recorded, the
/// scheduler's: BTF-typed when `btf_offsets` (falling back to classic under `auto`, with a
/// warning), classic otherwise. Returns which kind the scheduler events use.
pub(crate) fn tracepoints(
    ebpf: &mut Ebpf,
    options: &Options,
    btf_offsets: bool,
    warnings: &mut Vec<String>,
) -> Result<SchedTracepoints> {
    let events = options.events;
    let mut tracepoints = vec![("armtune_fork", "sched_process_fork"), ("armtune_exec", "sched_process_exec")];
    const SCHED: [(&str, &str); 4] = [
        ("armtune_switch", "sched_switch"),
        ("armtune_wakeup", "sched_wakeup"),
        ("armtune_wakeup_new", "sched_wakeup_new"),
        ("armtune_migrate", "sched_migrate_task"),
    ];
    let mut sched_tracepoints = SchedTracepoints::None;
    if events.sched() && btf_offsets {
        match attach_btf_tracepoints(ebpf, &SCHED) {
            Ok(()) => sched_tracepoints = SchedTracepoints::Btf,
            Err(e) if options.sched_path == SchedPath::Auto => {
                warnings.push(format!(
                    "BTF-typed scheduler tracepoints failed ({}); used classic ones",
                    crate::error::chain(&e)
                ));
            }
            Err(e) => return Err(e),
        }
    }
    if events.sched() && sched_tracepoints == SchedTracepoints::None {
        tracepoints.extend(SCHED);
        sched_tracepoints = SchedTracepoints::Classic;
    }
    for (program, name) in tracepoints {
        let tp: &mut TracePoint = ebpf.program_mut(program).unwrap().try_into().unwrap();
        tp.load().with_context(|| format!("loading {program}"))?;
        tp.attach("sched", name).with_context(|| format!("attaching to sched:{name}"))?;
    }
    Ok(sched_tracepoints)
}

pub(crate) fn cpu_clock(ebpf: &mut Ebpf, frequency: u64) -> Result<Vec<PerfEventLinkId>> {
    let prog: &mut PerfEvent = ebpf.program_mut("armtune_cpu").unwrap().try_into().unwrap();
    prog.load().context("loading the CPU sampler")?;
    let cpus = online_cpus().map_err(|(path, e)| Error::io(path, e))?;
    let mut links = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        let link = prog
            .attach(
                PerfTypeId::Software,
                perf_sw_ids::PERF_COUNT_SW_CPU_CLOCK as u64,
                PerfEventScope::AllProcessesOneCpu { cpu },
                SamplePolicy::Frequency(frequency),
                true,
            )
            .with_context(|| format!("opening the cpu-clock perf event on CPU {cpu}"))?;
        links.push(link);
    }
    Ok(links)
}

pub(crate) fn max_sample_rate() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate").ok()?.trim().parse().ok()
}

/// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK; raising it is harmless on newer ones.
pub(crate) fn raise_memlock_limit() {
    let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: plain setrlimit with a valid struct; failure only matters on old kernels, where the
    // map creation error that follows says what is wrong.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}

/// The `task_struct` offsets the BTF-typed scheduler programs need, or `None` for the classic
/// programs: by choice, or (`auto`) because the kernel's BTF lacks something they read.
pub(crate) fn sched_offsets(path: SchedPath) -> Result<Option<TaskOffsets>> {
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
