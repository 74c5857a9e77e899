//! Loading armtune's eBPF object and placing its probes for a session's options: the globals and
//! map sizes the programs are loaded with, the scheduler tracepoints (BTF-typed or classic), the
//! uprobes of runtimes, SDT probes and allocators, and the CPU sampler.

use crate::error::Context as _;
use armtune_common::maps;

use aya::{maps::HashMap as BpfHashMap, Ebpf, EbpfLoader};

use crate::{
    families::{Global, Setup},
    object::EBPF_OBJECT,
    options::{Options, Target},
    tracefs::SchedLayout,
    Result,
};

/// Loads the eBPF object with the globals and map sizes `options` call for: the ones every
/// program reads here, each recorded family's own from the registry.
pub(crate) fn load(options: &Options, layout: &SchedLayout, setup: &Setup) -> Result<Ebpf> {
    let events = options.events;
    let filter: u8 = u8::from(options.target != Target::All);
    let (cgroup_id, cgroup_level) = match &options.target {
        Target::Cgroup(cgroup) => (cgroup.id, cgroup.level),
        _ => (0, 0),
    };
    let per_thread: u8 = options.per_thread.into();
    let event_bits = events.bits();
    let stack_kinds = options.stacks.bits();
    let unwind = options.unwind.bits();
    let self_tgid = std::process::id();
    let stack_copy = options.stack_copy;
    let task_regs: u8 = u8::from(std::path::Path::new(crate::btf::VMLINUX).exists());
    let ring_bytes = stack_ring_bytes(options, aya::util::nr_cpus().map_or(1, |n| n as u32));
    // Woken when a quarter of the ring is waiting: user space keeps up without a wakeup per sample.
    let wakeup_bytes: u64 = u64::from(ring_bytes / 4);
    let mut family_globals = Vec::new();
    for family in crate::families::enabled(event_bits) {
        family_globals.extend(family.globals(setup)?);
    }
    // `EbpfLoader::new` parses the kernel's BTF itself and keeps it private: the BTF-typed
    // programs parse their own copy, only when they are used.
    let mut loader = EbpfLoader::new();
    loader
        .set_global("FILTER_TARGETS", &filter, true)
        .set_global("FILTER_CGROUP", &cgroup_id, true)
        .set_global("FILTER_CGROUP_LEVEL", &cgroup_level, true)
        .set_global("PER_THREAD", &per_thread, true)
        .set_global("EVENTS", &event_bits, true)
        .set_global("FORK_CHILD_PID_OFFSET", &layout.fork_child_pid, true)
        .set_global("STACK_KINDS", &stack_kinds, true)
        .set_global("SELF_TGID", &self_tgid, true)
        .set_global("UNWIND", &unwind, true)
        .set_global("STACK_COPY", &stack_copy, true)
        .set_global("TASK_REGS", &task_regs, true)
        .set_global("STACK_WAKEUP_BYTES", &wakeup_bytes, true)
        .set_max_entries(maps::STACKS.name, options.stack_entries)
        .set_max_entries(maps::OVERFLOW_STACKS.name, overflow_entries(options.stack_entries));
    if options.unwind.copies_stacks() {
        // Two scratch copies per CPU (the sampler's and the other programs'), by CPU number.
        let cpus = aya::util::nr_cpus().map_or(1, |n| n as u32);
        loader.set_max_entries(maps::STACK_COPIES.name, 2 * cpus);
        loader.set_max_entries(maps::USER_STACKS.name, ring_bytes);
    } else {
        // The smallest ring buffer the kernel takes: one page.
        loader.set_max_entries(maps::USER_STACKS.name, 4096);
    }
    if options.unwind != crate::options::Unwind::Auto {
        loader.set_max_entries(maps::FRAME_POINTERS.name, 1);
    }
    // Maps of events not recorded shrink to one entry: the kernel memory is not wasted.
    set_up_families(&mut loader, &family_globals, options);
    let ebpf = loader.load(EBPF_OBJECT).context("loading the eBPF object")?;
    // The loader holds the parsed kernel BTF; freeing it takes a while (hundreds of ms in a
    // debug build). Done here, before the command starts, it delays nothing that matters;
    // at the end of this function it would delay the first read of the command's mappings.
    drop(loader);
    Ok(ebpf)
}

/// Bytes of the ring buffer that carries copied user stacks. CPU samples alone come at a known
/// rate: a quarter second of the largest copies at that rate (a power of two, 1 MiB at least),
/// which at 99 Hz keeps the ring, mapped twice into armtune and counted twice in its RSS, at
/// 2 MiB instead of 8 (what `armtune agent` runs with for days). Other events come as fast as the
/// program makes them: the full size.
fn stack_ring_bytes(options: &Options, cpus: u32) -> u32 {
    let only_cpu = options.events.bits() & !armtune_common::events::CPU == 0;
    if !only_cpu {
        return maps::USER_STACKS.entries;
    }
    let per_second = options.frequency.saturating_mul(u64::from(cpus)).saturating_mul(u64::from(options.stack_copy));
    let bytes = (per_second / 4).clamp(1 << 20, u64::from(maps::USER_STACKS.entries));
    (bytes as u32).next_power_of_two().min(maps::USER_STACKS.entries)
}

/// Entries of the map that takes stacks colliding in the stack map. Collisions are rare next to
/// the stacks themselves: an eighth is plenty, 64 at least, but never more than the stack map, so
/// a deliberately small `--stack-map-size` (what the lost-stacks test asks for) stays small.
fn overflow_entries(stack_entries: u32) -> u32 {
    (stack_entries / 8).max(64).min(stack_entries.max(1))
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
        BpfHashMap::try_from(ebpf.map_mut(maps::TARGETS.name).unwrap()).context("opening the target map")?;
    for pid in pids {
        targets.insert(pid, 1, 0).with_context(|| format!("adding pid {pid} to the targets"))?;
    }
    Ok(())
}

/// Attaches the process-tracking tracepoints: children of targets become targets, and an exec
/// of a target is noticed.
pub(crate) fn tracepoints(ebpf: &mut Ebpf) -> Result<()> {
    for (program, name) in [("armtune_fork", "sched_process_fork"), ("armtune_exec", "sched_process_exec")] {
        crate::families::attach_tracepoint(ebpf, program, "sched", name)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::{overflow_entries, stack_ring_bytes};
    use crate::options::{EventSet, Options};

    #[test]
    fn overflow_map_is_an_eighth_but_never_more_than_the_stack_map() {
        assert_eq!(overflow_entries(16_384), 2048);
        assert_eq!(overflow_entries(256), 64);
        assert_eq!(overflow_entries(4), 4);
        assert_eq!(overflow_entries(0), 1);
    }

    #[test]
    fn stack_ring_holds_a_quarter_second_of_cpu_samples() {
        let cpu = |frequency| Options { frequency, stack_copy: 32 << 10, ..Options::default() };
        assert_eq!(stack_ring_bytes(&cpu(99), 2), 2 << 20);
        assert_eq!(stack_ring_bytes(&cpu(9), 1), 1 << 20);
        assert_eq!(stack_ring_bytes(&cpu(999), 4), 8 << 20);
        let off_cpu = Options { events: EventSet::parse("cpu,off-cpu").unwrap(), ..cpu(99) };
        assert_eq!(stack_ring_bytes(&off_cpu, 2), 8 << 20);
    }
}
