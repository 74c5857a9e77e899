//! Event families that own everything about themselves in one module: the name `--event` takes and
//! its help line, the eBPF maps and globals they need, attaching their programs, draining their
//! maps at the end, their loss counters with the remedy, their JSON section and summary text.
//! The session walks [`REGISTRY`]; it knows nothing of any one family.
//!
//! A new tracepoint-based event is its `#[repr(C)]` types and constants in `ebpf/common`, its
//! programs in `ebpf/src/families/NAME.rs` (found by `ebpf/build.rs`), its module here, and one
//! line in [`REGISTRY`]. The families from before this registry (cpu, the scheduler's, the
//! allocator's, gc, sdt) still go through `events`, `attach` and `session`; they move here one by
//! one.

use std::path::{Path, PathBuf};

use armtune_common::{SdtKey, StackRef};
use aya::{maps::MapData, programs::TracePoint, Ebpf};

use crate::{
    capture::{Capture, RawSample},
    error::Context as _,
    options::{EventSet, Options},
    procmaps::MapsStore,
    report::{AllocWeight, Report},
    stacks::StackReader,
    symbolize::Symbolizer,
    Result,
};

pub(crate) mod alloc;
mod cpu;
mod gc;
mod proc;
pub(crate) mod sched;
mod sdt;

pub use sched::state_marker;

/// Every registered family, in the order help, JSON and the summary list them.
pub static REGISTRY: &[&dyn Family] = &[
    &cpu::Cpu,
    &sched::OffCpu,
    &sched::Runq,
    &sched::Wakeup,
    &alloc::Alloc,
    &alloc::Leak,
    &gc::Gc,
    &sdt::Sdt,
    &proc::Proc,
];

/// What every family may read while it is set up, attached and drained.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The profile's options.
    pub options: &'a Options,
    /// Where tracefs is mounted (for tracepoint format files).
    pub tracing: &'a Path,
    /// The kernel's BTF file (`/sys/kernel/btf/vmlinux`), which may be absent.
    pub btf: &'a Path,
    /// When the probes were attached (ns, CLOCK_MONOTONIC): times in reports count from here.
    pub started_ns: u64,
    /// When the session stopped (ns, CLOCK_MONOTONIC); 0 before.
    pub stopped_ns: u64,
}

/// A value for an eBPF global, in the width the program declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    /// `u8` (switches).
    U8(u8),
    /// `u32` (offsets, bit sets).
    U32(u32),
    /// `u64` (nanoseconds, bytes).
    U64(u64),
}

/// What families keep between attaching and draining: values a family's drain reads back (the
/// SDT sites it attached, the sampler's links) and things that must stay open while attached.
#[derive(Default)]
pub struct FamilyState {
    by_family: std::collections::HashMap<&'static str, Box<dyn std::any::Any>>,
    keep: Vec<Box<dyn std::any::Any>>,
}

impl FamilyState {
    /// Stores `value` under `key` (a family's name, or a shared part's).
    pub fn put<T: 'static>(&mut self, key: &'static str, value: T) {
        self.by_family.insert(key, Box::new(value));
    }

    /// What was stored under `key`, if it is a `T`.
    pub fn get<T: 'static>(&self, key: &str) -> Option<&T> {
        self.by_family.get(key)?.downcast_ref()
    }

    /// As [`FamilyState::get`], to change it.
    pub fn get_mut<T: 'static>(&mut self, key: &str) -> Option<&mut T> {
        self.by_family.get_mut(key)?.downcast_mut()
    }

    /// Keeps `value` alive until the session ends (a link whose drop detaches a probe).
    pub fn keep<T: 'static>(&mut self, value: T) {
        self.keep.push(Box::new(value));
    }
}

/// What attaching may use and leave behind.
pub struct Attach<'a> {
    /// The run's settings.
    pub setup: Setup<'a>,
    /// The `--pid` processes (process ids).
    pub pids: &'a [u32],
    /// The command's program, made absolute, when a command is profiled.
    pub exe: Option<&'a Path>,
    /// The programs whose runtime or allocator is probed: the command's, or each pid's
    /// executable with the pid.
    pub programs: &'a [(PathBuf, Option<u32>)],
    /// What could not be placed, for the report.
    pub warnings: &'a mut Vec<String>,
    /// State for the drain, and links to keep open.
    pub state: &'a mut FamilyState,
}

/// What draining may read.
pub struct Drain<'a> {
    /// The run's settings.
    pub setup: Setup<'a>,
    /// Every recorded stack, by [`armtune_common::StackRef`].
    pub stacks: &'a StackReader,
    /// The events whose user stacks were unwound in user space (`--unwind dwarf`).
    pub unwound: &'a crate::stacks::Unwound,
    /// The targets' mappings (SDT sites are named through them).
    pub maps: &'a MapsStore,
    /// What attaching left.
    pub state: &'a FamilyState,
    /// A process's name, also after it exited (see `Session`).
    pub process_name: &'a dyn Fn(u32) -> String,
    /// Whether a sample is the spawned command's before its exec (armtune's own child then).
    pub before_exec: &'a dyn Fn(&RawSample) -> bool,
}

/// What a family is called and what it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    /// The name `--event` takes (also its name in `meta.events`).
    pub name: &'static str,
    /// How `--event`'s help shows it: the name, or a pattern (`sdt:PROVIDER:NAME`).
    pub usage: &'static str,
    /// One line for `--event`'s help: what it records.
    pub help: &'static str,
    /// Its bit of the eBPF `EVENTS` global (`armtune_common::events`).
    pub bit: u32,
}

/// A loss counter of a family: its index in the eBPF `COUNTERS` array and how the summary says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loss {
    /// Index into `COUNTERS` (`armtune_common::counter`).
    pub counter: u32,
    /// Key under `meta.lost` in JSON.
    pub key: &'static str,
    /// What was lost, plural (`process lives`).
    pub what: &'static str,
    /// Why, and what to do about it.
    pub remedy: &'static str,
}

/// One event family. Implementations are unit structs listed in [`REGISTRY`].
pub trait Family: Sync {
    /// Its name, help line and event bit.
    fn about(&self) -> &'static About;
    /// The name `--event` takes (also its name in `meta.events`).
    fn name(&self) -> &'static str {
        self.about().name
    }
    /// How `--event` names it in help (`sdt:PROVIDER:NAME`).
    fn usage(&self) -> &'static str {
        self.about().usage
    }
    /// One line for `--event`'s help: what it records.
    fn help(&self) -> &'static str {
        self.about().help
    }
    /// Its bit of the eBPF `EVENTS` global (`armtune_common::events`).
    fn bit(&self) -> u32 {
        self.about().bit
    }
    /// The eBPF maps it owns, with their size when it records (`None`: as the object declares
    /// it); one entry when it does not record.
    fn maps(&self, options: &Options) -> Vec<(&'static str, Option<u32>)>;
    /// Values for the eBPF globals it reads, set when the object loads.
    fn globals(&self, _setup: &Setup) -> Result<Vec<(&'static str, Global)>> {
        Ok(Vec::new())
    }
    /// Loads and attaches its programs.
    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()>;
    /// Stops what must stop before the maps are read (the CPU sampler).
    fn stop(&self, _ebpf: &mut Ebpf, _state: &mut FamilyState) {}
    /// Reads its maps when the session stops, into the capture.
    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()>;
    /// Its loss counters, beyond those `meta::Losses` names.
    fn losses(&self) -> &'static [Loss] {
        &[]
    }
    /// The graphs it adds to a report: each one's name (its key under the JSON's `profiles`, and
    /// what `armtune flame --graph` takes) and what it weighs.
    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// Names its stacks into its graphs of `report` (and copies its tables).
    fn report(&self, _capture: &Capture, _symbolizer: &mut Symbolizer, _report: &mut Report) {}
    /// Its part of the terminal summary, ending with a newline; `None` when it has nothing to say.
    fn summary(&self, _report: &Report) -> Option<String> {
        None
    }
}

/// The registered family called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Family> {
    REGISTRY.iter().copied().find(|f| f.name() == name)
}

/// The registered families whose bits are in `bits`.
pub fn enabled(bits: u32) -> impl Iterator<Item = &'static dyn Family> {
    REGISTRY.iter().copied().filter(move |f| bits & f.bit() != 0)
}

/// The summary sections of the families a report recorded, in registry order.
pub fn summaries(report: &Report) -> Vec<String> {
    enabled(EventSet::from_names(&report.meta.events).bits()).filter_map(|f| f.summary(report)).collect()
}

/// Every graph a report can hold, in registry order, with what it weighs (`flame --graph`'s help).
pub fn graph_names() -> Vec<(&'static str, &'static str)> {
    REGISTRY.iter().flat_map(|f| f.graph_names().iter().copied()).collect()
}

/// How many rows the summary's tables (wakeups, threads, processes) list.
pub const TOP_ROWS: usize = 10;

impl Report {
    /// Names every stack of `capture`, allocations weighted by bytes.
    pub fn build(capture: &Capture, symbolizer: &mut Symbolizer) -> Report {
        Report::build_with(capture, symbolizer, AllocWeight::Bytes)
    }

    /// Names every stack of `capture`: each recorded family fills its graphs.
    pub fn build_with(capture: &Capture, symbolizer: &mut Symbolizer, weight: AllocWeight) -> Report {
        let mut report = Report {
            alloc_weight: weight,
            sizes: capture.sizes.clone(),
            warnings: capture.warnings.clone(),
            gc: capture.gc.clone(),
            runq: capture.runq.clone(),
            wake_pairs: capture.wake_pairs.clone(),
            threads: capture.threads.clone(),
            sections: capture.sections.clone(),
            meta: capture.meta.clone(),
            ..Report::default()
        };
        if !capture.maps.retired_roots().is_empty() {
            // A closed root's descriptor number may name another container's root now: names
            // cached under the old one would be wrong. Rare (a container's last process exited).
            symbolizer.drop_caches();
        }
        for family in enabled(capture.events.bits()) {
            family.report(capture, symbolizer, &mut report);
        }
        report.debuginfod = symbolizer.debuginfod_outcomes();
        report
    }
}

/// Loads program `program` and attaches it to tracepoint `category:name`.
pub(crate) fn attach_tracepoint(ebpf: &mut Ebpf, program: &str, category: &str, name: &str) -> Result<()> {
    let tp: &mut TracePoint = ebpf
        .program_mut(program)
        .ok_or_else(|| crate::Error::Invalid(format!("the eBPF object has no program {program}")))?
        .try_into()
        .context(format!("{program} is not a tracepoint program"))?;
    tp.load().with_context(|| format!("loading {program}"))?;
    tp.attach(category, name).with_context(|| format!("attaching to {category}:{name}"))?;
    Ok(())
}

/// Hits counted per (process, site, stack) in map `name` (SDT probes, Go GC assists), and those
/// of `family` unwound in user space (`--unwind dwarf`, the site in their tag), each under the
/// marker `label` gives its key.
pub(crate) fn drain_hits(
    ebpf: &Ebpf,
    ctx: &Drain,
    family: u32,
    name: &str,
    label: impl Fn(&SdtKey) -> String,
) -> Result<Vec<RawSample>> {
    let mut out = Vec::new();
    for entry in hash_map::<SdtKey, u64>(ebpf, name)?.iter() {
        let (key, count) = entry.with_context(|| format!("reading map {name}"))?;
        let mut s = ctx.stacks.sample(key.tgid, key.tid, &key.comm, key.stacks);
        s.markers.insert(0, label(&key));
        s.count = count;
        out.push(s);
    }
    for (key, count, _) in ctx.unwound.of(family) {
        let mut s = ctx.stacks.unwound(key);
        let site = SdtKey { tgid: key.tgid, tid: key.tid, ip: key.tag, stacks: StackRef::NONE, comm: key.comm };
        s.markers.insert(0, label(&site));
        s.count = count;
        out.push(s);
    }
    Ok(out)
}

/// Map `name` of the loaded object as a hash map.
pub(crate) fn hash_map<'a, K: aya::Pod, V: aya::Pod>(
    ebpf: &'a Ebpf,
    name: &str,
) -> Result<aya::maps::HashMap<&'a MapData, K, V>> {
    let map = ebpf.map(name).ok_or_else(|| crate::Error::Invalid(format!("the eBPF object has no map {name}")))?;
    aya::maps::HashMap::try_from(map).with_context(|| format!("opening map {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::comm_text;

    #[test]
    fn comm_stops_at_nul() {
        let mut c = [0u8; 16];
        c[..4].copy_from_slice(b"demo");
        assert_eq!(comm_text(&c), "demo");
        assert_eq!(comm_text(b"exactly16bytes!!"), "exactly16bytes!!");
    }

    #[test]
    fn names_and_bits_are_unique_and_every_family_is_registered() {
        let mut names = std::collections::HashSet::new();
        let mut bits = 0u32;
        for f in REGISTRY {
            assert!(names.insert(f.name()), "{} registered twice", f.name());
            assert_eq!(f.bit().count_ones(), 1, "{}: one bit", f.name());
            assert_eq!(bits & f.bit(), 0, "{}: bit shared", f.name());
            bits |= f.bit();
            assert!(!f.help().is_empty());
            assert!(crate::events::GROUPS.iter().all(|(n, _, _)| *n != f.name()), "{} is also a group", f.name());
        }
        use armtune_common::events::*;
        assert_eq!(bits, CPU | OFF_CPU | RUNQ | WAKEUP | ALLOC | LEAK | GC | SDT | PROC, "every family registered");
        assert_eq!(by_name("proc").map(|f| f.bit()), Some(PROC));
    }
}
