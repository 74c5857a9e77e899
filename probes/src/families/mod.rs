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

use std::path::Path;

use aya::{maps::MapData, programs::TracePoint, Ebpf};
use serde_json::Value;

use crate::{error::Context as _, Result};

mod proc;

/// Every registered family, in the order help, JSON and the summary list them.
pub static REGISTRY: &[&dyn Family] = &[&proc::Proc];

/// What a family may read while it is set up, attached and drained.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// Where tracefs is mounted (for tracepoint format files).
    pub tracing: &'a Path,
    /// The kernel's BTF file (`/sys/kernel/btf/vmlinux`), which may be absent.
    pub btf: &'a Path,
    /// When the probes were attached (ns, CLOCK_MONOTONIC): times in reports count from here.
    pub started_ns: u64,
    /// When the session stopped (ns, CLOCK_MONOTONIC); 0 before.
    pub stopped_ns: u64,
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
    /// The name `--event` takes (also its name in `meta.events`).
    fn name(&self) -> &'static str;
    /// One line for `--event`'s help: what it records.
    fn help(&self) -> &'static str;
    /// Its bit of the eBPF `EVENTS` global (`armtune_common::events`).
    fn bit(&self) -> u32;
    /// The eBPF maps it owns, with their size when it records (one entry otherwise).
    fn maps(&self) -> &'static [(&'static str, u32)];
    /// Values for the eBPF globals it reads (offsets and switches), set when the object loads.
    fn globals(&self, setup: &Setup) -> Result<Vec<(&'static str, u32)>>;
    /// Loads and attaches its programs; returns what could not be placed, as warnings.
    fn attach(&self, ebpf: &mut Ebpf, setup: &Setup) -> Result<Vec<String>>;
    /// Reads its maps when the session stops, into its JSON section.
    fn drain(&self, ebpf: &Ebpf, setup: &Setup) -> Result<Value>;
    /// Its loss counters.
    fn losses(&self) -> &'static [Loss];
    /// The key of its section in the JSON report.
    fn section(&self) -> &'static str;
    /// Its part of the terminal summary, from its section; `None` when it has nothing to say.
    fn summary(&self, section: &Value) -> Option<String>;
}

/// The registered family called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Family> {
    REGISTRY.iter().copied().find(|f| f.name() == name)
}

/// The registered families whose bits are in `bits`.
pub fn enabled(bits: u32) -> impl Iterator<Item = &'static dyn Family> {
    REGISTRY.iter().copied().filter(move |f| bits & f.bit() != 0)
}

/// The summary sections of the families whose JSON sections `sections` holds, in registry order.
pub fn summaries(sections: &std::collections::BTreeMap<String, Value>) -> Vec<String> {
    REGISTRY.iter().filter_map(|f| sections.get(f.section()).and_then(|s| f.summary(s))).collect()
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

/// Map `name` of the loaded object as a hash map.
pub(crate) fn hash_map<'a, K: aya::Pod, V: aya::Pod>(
    ebpf: &'a Ebpf,
    name: &str,
) -> Result<aya::maps::HashMap<&'a MapData, K, V>> {
    let map = ebpf.map(name).ok_or_else(|| crate::Error::Invalid(format!("the eBPF object has no map {name}")))?;
    aya::maps::HashMap::try_from(map).with_context(|| format!("opening map {name}"))
}

/// A NUL-padded kernel `comm` as text.
pub(crate) fn comm_text(comm: &[u8]) -> String {
    let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    String::from_utf8_lossy(&comm[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_stops_at_nul() {
        let mut c = [0u8; 16];
        c[..4].copy_from_slice(b"demo");
        assert_eq!(comm_text(&c), "demo");
        assert_eq!(comm_text(b"exactly16bytes!!"), "exactly16bytes!!");
    }

    #[test]
    fn names_bits_and_sections_are_unique_and_clear_of_the_older_families() {
        let mut names = std::collections::HashSet::new();
        let mut bits = 0u32;
        for f in REGISTRY {
            assert!(names.insert(f.name()), "{} registered twice", f.name());
            assert_eq!(f.bit().count_ones(), 1, "{}: one bit", f.name());
            assert_eq!(bits & f.bit(), 0, "{}: bit shared", f.name());
            bits |= f.bit();
            assert!(!f.help().is_empty() && !f.section().is_empty());
            assert!(crate::events::EVENT_NAMES.iter().all(|(n, _)| *n != f.name()), "{} also in EVENT_NAMES", f.name());
        }
        use armtune_common::events::*;
        let older = CPU | OFF_CPU | RUNQ | WAKEUP | ALLOC | LEAK | GC | SDT;
        assert_eq!(bits & older, 0);
        assert_eq!(by_name("proc").map(|f| f.bit()), Some(PROC));
    }
}
