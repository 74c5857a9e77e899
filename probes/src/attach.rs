//! Loading armtune's eBPF object and placing its probes for a session's options: the globals and
//! map sizes the programs are loaded with, the scheduler tracepoints (BTF-typed or classic), the
//! uprobes of runtimes, SDT probes and allocators, and the CPU sampler.

use crate::error::Context as _;
use std::{
    collections::HashSet,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
};

use aya::{
    maps::HashMap as BpfHashMap,
    programs::{
        perf_event::{perf_sw_ids, PerfEventLinkId, PerfEventScope, PerfTypeId, SamplePolicy},
        BtfTracePoint, PerfEvent, TracePoint, UProbe,
    },
    util::online_cpus,
    Btf, Ebpf, EbpfLoader,
};

use crate::{
    allocator::{self, AllocTarget},
    btf::{SchedPath, SchedTracepoints, TaskOffsets, VMLINUX},
    families::Setup,
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
    for family in crate::families::enabled(events.families) {
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
        .set_global("ALLOC_SAMPLE_BYTES", &options.alloc_sample, true)
        .set_max_entries("STACKS", options.stack_entries)
        // Collisions are rare next to the stacks themselves: an eighth is plenty (64 at least).
        .set_max_entries("OVERFLOW_STACKS", (options.stack_entries / 8).max(64))
        .set_max_entries("COUNTS", if events.cpu { options.count_entries } else { 1 })
        .set_max_entries("LIVE", if events.leak { options.live_entries } else { 1 });
    set_up_families(&mut loader, &family_globals, events.families);
    // Maps of events not recorded shrink to one entry: the kernel memory is not wasted.
    for (on, maps) in [
        (events.off_cpu, &["OFF_CPU"][..]),
        (events.runq, &["RUNQ_HIST"][..]),
        (events.wakeup, &["WAKEUPS"][..]),
        (events.sched(), &["TASKS"][..]),
        (events.allocator(), &["PENDING"][..]),
        (events.alloc, &["ALLOCS", "SIZES"][..]),
        (events.gc, &["GC_STATS", "GC_PAUSES", "GC_ASSISTS"][..]),
        (events.sdt, &["SDT_HITS"][..]),
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
fn set_up_families<'a>(loader: &mut EbpfLoader<'a>, globals: &'a [(&'static str, u32)], bits: u32) {
    for (name, value) in globals {
        loader.set_global(name, value, true);
    }
    for family in crate::families::REGISTRY {
        let on = bits & family.bit() != 0;
        for (map, entries) in family.maps() {
            loader.set_max_entries(map, if on { *entries } else { 1 });
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

/// Places the uprobes: the runtimes' garbage-collector probes, SDT probes, and the allocator's.
/// `programs` are the command's or the pids' executables. Returns the SDT sites and the links of
/// semaphore-guarded probes, which must stay open while attached.
pub(crate) fn uprobes(
    ebpf: &mut Ebpf,
    options: &Options,
    pids: &[u32],
    exe: Option<&Path>,
    programs: &[(PathBuf, Option<u32>)],
    warnings: &mut Vec<String>,
) -> Result<(Vec<SdtSite>, Vec<OwnedFd>)> {
    let events = options.events;
    if events.gc {
        if programs.is_empty() {
            return Err(Error::Invalid("--event gc needs the Go program: give a command after `--` or --pid".into()));
        }
        for (program, pid) in programs {
            warnings.extend(crate::gc::attach(ebpf, program, *pid)?);
        }
    }
    let (mut sdt_sites, mut sdt_links) = (Vec::new(), Vec::new());
    if events.sdt {
        let (sites, links, sdt_warnings) = attach_sdt(ebpf, options, programs)?;
        sdt_sites = sites;
        sdt_links = links;
        warnings.extend(sdt_warnings);
    }
    if events.allocator() {
        if let Some((go, _)) = programs.iter().find(|(p, _)| allocator::is_go(p)) {
            return Err(Error::Invalid(format!(
                "{} is a Go program: allocation probes need return probes, which corrupt Go's \
                 movable stacks; use --event gc for its collector",
                go.display()
            )));
        }
        for target in alloc_targets(options, pids, exe) {
            warnings.extend(
                allocator::attach(ebpf, &target, &options.alloc_prefix)?
                    .into_iter()
                    .map(|m| format!("allocator probe not placed in {}: {m}", target.library.display())),
            );
        }
    }
    Ok((sdt_sites, sdt_links))
}

/// An attached SDT probe: the file it is in (canonical, to match mappings) and the probe.
pub(crate) type SdtSite = (PathBuf, crate::sdt::SdtProbe);

/// Places the SDT probes `options.sdt` names, found in the target programs, their mapped libraries
/// (for pids) and `options.sdt_libs`. Returns the sites (file made canonical, to match mappings),
/// the links of semaphore-guarded probes and warnings; an error when no probe matches.
fn attach_sdt(
    ebpf: &mut Ebpf,
    options: &Options,
    programs: &[(PathBuf, Option<u32>)],
) -> Result<(Vec<SdtSite>, Vec<OwnedFd>, Vec<String>)> {
    let files = sdt_files(options, programs);
    let prog: &mut UProbe = ebpf.program_mut("armtune_sdt").unwrap().try_into().unwrap();
    prog.load().context("loading the SDT program")?;
    let (mut sites, mut links, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    let refctr_pmu = crate::refctr::pmu_type();
    for (file, pid) in &files {
        let Ok(probes) = crate::sdt::read(file) else { continue };
        let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        let wanted = options.sdt.iter().flat_map(|spec| crate::sdt::select(&probes, &spec.provider, &spec.pattern));
        for probe in wanted {
            let site = SdtAttach { file, pid: *pid, probe };
            match refctr_pmu.filter(|_| probe.semaphore_offset != 0) {
                Some(pmu) => links.push(site.with_semaphore(prog, pmu)?),
                None => warnings.extend(site.plain(prog)?),
            }
            sites.push((canonical.clone(), probe.clone()));
        }
    }
    if sites.is_empty() {
        let wanted: Vec<String> = options.sdt.iter().map(|s| format!("{}:{}", s.provider, s.pattern)).collect();
        let looked: Vec<String> = files.iter().map(|(f, _)| f.display().to_string()).collect();
        return Err(Error::Invalid(format!(
            "no SDT probe {} in {} (name more files with --sdt-lib; Debian's glibc is built without SDT probes)",
            wanted.join(", "),
            if looked.is_empty() { "any file (give a command or --pid)".to_string() } else { looked.join(", ") }
        )));
    }
    Ok((sites, links, warnings))
}

/// The files to look for SDT probes in, each once per process filter: the target programs, the
/// files each pid maps, and `--sdt-lib` files.
fn sdt_files(options: &Options, programs: &[(PathBuf, Option<u32>)]) -> Vec<(PathBuf, Option<u32>)> {
    let mut files: Vec<(PathBuf, Option<u32>)> = programs.to_vec();
    for pid in programs.iter().filter_map(|(_, pid)| *pid) {
        for m in crate::procmaps::ProcessMaps::read(pid).unwrap_or_default().mappings() {
            if let crate::procmaps::Backing::File(path) = &m.backing {
                files.push((path.clone(), Some(pid)));
            }
        }
    }
    let pid_filter = match &options.target {
        Target::Pids(pids) if pids.len() == 1 => Some(pids[0]),
        _ => None,
    };
    files.extend(options.sdt_libs.iter().map(|l| (attachable(l.clone()), pid_filter)));
    let mut seen = HashSet::new();
    files.retain(|(f, pid)| seen.insert((std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()), *pid)));
    files
}

/// One SDT probe site to attach the SDT program to.
struct SdtAttach<'a> {
    file: &'a Path,
    pid: Option<u32>,
    probe: &'a crate::sdt::SdtProbe,
}

impl SdtAttach<'_> {
    fn what(&self) -> String {
        format!("{}:{} in {}", self.probe.provider, self.probe.name, self.file.display())
    }

    /// Attached with its semaphore raised while attached (see [`crate::refctr`]).
    fn with_semaphore(&self, prog: &UProbe, pmu: u32) -> Result<OwnedFd> {
        let fd = prog.fd().context("the SDT program")?;
        let (offset, semaphore) = (self.probe.file_offset, self.probe.semaphore_offset);
        crate::refctr::attach(fd, pmu, self.file, offset, semaphore, self.pid)
    }

    /// Attached by aya; a semaphore it has stays down (a kernel without uprobe reference
    /// counters), which the returned warning says.
    fn plain(&self, prog: &mut UProbe) -> Result<Option<String>> {
        prog.attach(None, self.probe.file_offset, self.file, self.pid.map(|p| p as i32))
            .with_context(|| format!("attaching to {}", self.what()))?;
        Ok((self.probe.semaphore != 0).then(|| {
            format!(
                "{} is guarded by a semaphore and this kernel cannot raise it (no uprobe ref_ctr_offset, \
                 Linux < 4.20): it fires only while something else enables it",
                self.what()
            )
        }))
    }
}

/// Where the allocator probes go for these options (see [`allocator`]).
fn alloc_targets(options: &Options, pids: &[u32], exe: Option<&std::path::Path>) -> Vec<AllocTarget> {
    let fixed = options.alloc_lib.clone().map(attachable);
    match &options.target {
        Target::Pids(_) => pids
            .iter()
            .map(|&pid| AllocTarget {
                library: fixed
                    .clone()
                    .or_else(|| allocator::libc_of(pid))
                    .unwrap_or_else(|| PathBuf::from(format!("/proc/{pid}/exe"))),
                pid: Some(pid),
            })
            .collect(),
        Target::Command(_) => {
            let library = fixed.unwrap_or_else(|| match exe {
                // A static program carries its own malloc.
                Some(exe) if allocator::is_static(exe) => exe.to_path_buf(),
                Some(exe) => allocator::needed_libc(exe).unwrap_or_else(|| PathBuf::from("libc")),
                None => PathBuf::from("libc"),
            });
            vec![AllocTarget { library, pid: None }]
        }
        Target::All => vec![AllocTarget { library: fixed.unwrap_or_else(|| PathBuf::from("libc")), pid: None }],
    }
}

/// A file to place uprobes in, as aya can take it: aya looks a relative path up as a library name
/// in ld.so.cache (`./service` would not be found), so the path is made absolute (symbolic links
/// kept, so messages name the file as the user did).
pub(crate) fn attachable(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
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
