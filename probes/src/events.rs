//! Which events a profile records, as chosen with `--event`.

use armtune_common::events;

pub use crate::families::state_marker;
pub use crate::options::{parse_states, EventSet, SdtSpec};
use crate::{Error, Result};

/// Names that stand for several families: (name, help line, the families' names).
pub const GROUPS: &[(&str, &str, &[&str])] = &[("sched", "off-cpu + runq + wakeup", &["off-cpu", "runq", "wakeup"])];

/// Other spellings `--event` takes: (spelling, the family's name).
const ALIASES: &[(&str, &str)] = &[("offcpu", "off-cpu"), ("wakeups", "wakeup")];

/// Every name `--event` accepts with what it records: the registered families
/// ([`crate::families::REGISTRY`]), then the [`GROUPS`].
pub fn all_names() -> Vec<(&'static str, &'static str)> {
    let registered = crate::families::REGISTRY.iter().map(|f| (f.usage(), f.help()));
    registered.chain(GROUPS.iter().map(|(name, help, _)| (*name, *help))).collect()
}

/// The events `--event` accepts, one per line with what each records: the `--help` text, made from
/// [`all_names`] so that it cannot fall behind the parser.
pub fn help_table() -> String {
    let names = all_names();
    let width = names.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    names.iter().map(|(name, what)| format!("  {name:width$}  {what}\n")).collect()
}

/// The same list as a Markdown table, as the README shows it between its `events table` markers.
pub fn markdown_table() -> String {
    let rows: String = all_names().iter().map(|(name, what)| format!("| `{name}` | {what} |\n")).collect();
    format!("| event | records |\n|---|---|\n{rows}")
}

impl EventSet {
    /// Nothing.
    pub const fn none() -> EventSet {
        EventSet {
            cpu: false,
            off_cpu: false,
            runq: false,
            wakeup: false,
            alloc: false,
            leak: false,
            gc: false,
            sdt: false,
            families: 0,
        }
    }

    /// Parses a comma-separated list such as `cpu,off-cpu` or `sched` (without SDT entries).
    pub fn parse(list: &str) -> Result<EventSet> {
        let (set, sdt) = EventSet::parse_with_sdt(list)?;
        if !sdt.is_empty() {
            return Err(Error::Invalid("SDT entries need EventSet::parse_with_sdt".into()));
        }
        Ok(set)
    }

    /// Parses a comma-separated list that may hold `sdt:PROVIDER:NAME` entries.
    pub fn parse_with_sdt(list: &str) -> Result<(EventSet, Vec<SdtSpec>)> {
        let mut set = EventSet::none();
        let mut sdt = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(spec) = name.strip_prefix("sdt:") {
                let (provider, pattern) = spec
                    .split_once(':')
                    .filter(|(p, n)| !p.is_empty() && !n.is_empty())
                    .ok_or_else(|| Error::Invalid(format!("{name:?}: SDT events are sdt:PROVIDER:NAME")))?;
                sdt.push(SdtSpec { provider: provider.into(), pattern: pattern.into() });
                set.sdt = true;
                continue;
            }
            set.add(name)?;
        }
        if set == EventSet::none() {
            return Err(Error::Invalid("--event needs at least one event".into()));
        }
        Ok((set, sdt))
    }

    /// Turns on the family (or group) `name`, one entry of `--event` other than `sdt:`.
    fn add(&mut self, name: &str) -> Result<()> {
        let name = ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, family)| family);
        if let Some((_, _, members)) = GROUPS.iter().find(|(group, _, _)| *group == name) {
            return members.iter().try_for_each(|m| self.add(m));
        }
        match crate::families::by_name(name) {
            Some(family) => self.insert_bit(family.bit()),
            None => {
                let known: Vec<&str> = all_names().iter().map(|(n, _)| *n).collect();
                return Err(Error::Invalid(format!("unknown event {name:?}: choose from {}", known.join(", "))));
            }
        }
        Ok(())
    }

    /// Whether any scheduler tracepoint is needed.
    pub fn sched(&self) -> bool {
        self.off_cpu || self.runq || self.wakeup
    }

    /// Whether the allocator uprobes are needed.
    pub fn allocator(&self) -> bool {
        self.alloc || self.leak
    }

    /// The `EVENTS` global of the eBPF object.
    pub fn bits(&self) -> u32 {
        [
            (self.cpu, events::CPU),
            (self.off_cpu, events::OFF_CPU),
            (self.runq, events::RUNQ),
            (self.wakeup, events::WAKEUP),
            (self.alloc, events::ALLOC),
            (self.leak, events::LEAK),
            (self.gc, events::GC),
            (self.sdt, events::SDT),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(self.families, |bits, (_, bit)| bits | bit)
    }

    /// The set whose [`EventSet::names`] are `names` (unknown names are ignored).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> EventSet {
        let mut set = EventSet::none();
        for family in names.iter().filter_map(|n| crate::families::by_name(n.as_ref())) {
            set.insert_bit(family.bit());
        }
        set
    }

    /// Names of the chosen events, for titles and JSON.
    pub fn names(&self) -> Vec<&'static str> {
        crate::families::enabled(self.bits()).map(|f| f.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use armtune_common::task_state;

    #[test]
    fn parses_lists_and_groups() {
        let s = EventSet::parse("cpu,off-cpu").unwrap();
        assert!(s.cpu && s.off_cpu && !s.runq && !s.wakeup);
        let s = EventSet::parse("sched").unwrap();
        assert!(!s.cpu && s.off_cpu && s.runq && s.wakeup && s.sched());
        assert_eq!(s.bits(), events::OFF_CPU | events::RUNQ | events::WAKEUP);
        assert_eq!(EventSet::default().names(), ["cpu"]);
    }

    #[test]
    fn allocator_events() {
        let s = EventSet::parse("cpu,alloc,leak").unwrap();
        assert!(s.allocator() && !s.sched());
        assert_eq!(s.names(), ["cpu", "alloc", "leak"]);
        assert!(EventSet::parse("gc").unwrap().gc);
    }

    #[test]
    fn sdt_entries() {
        let (set, sdt) = EventSet::parse_with_sdt("cpu,sdt:libc:memory_*,sdt:hotspot:gc__begin").unwrap();
        assert!(set.cpu && set.sdt);
        assert_eq!(sdt[0], SdtSpec { provider: "libc".into(), pattern: "memory_*".into() });
        assert_eq!(sdt.len(), 2);
        assert!(EventSet::parse_with_sdt("sdt:libc").is_err());
        assert!(EventSet::parse_with_sdt("sdt::x").is_err());
    }

    #[test]
    fn rejects_unknown_and_empty() {
        let err = EventSet::parse("cpu,cycles").unwrap_err().to_string();
        assert!(err.contains("\"cycles\"") && err.contains("off-cpu"), "{err}");
        assert!(EventSet::parse(",").is_err());
    }

    #[test]
    fn registered_families_parse_and_name_themselves() {
        let s = EventSet::parse("cpu,proc").unwrap();
        assert_eq!(s.families, events::PROC);
        assert_eq!(s.bits(), events::CPU | events::PROC);
        assert_eq!(s.names(), ["cpu", "proc"]);
        assert_eq!(EventSet::from_names(&s.names()), s);
    }

    #[test]
    fn help_names_every_event_the_parser_accepts() {
        let help = help_table();
        assert!(help.contains("  proc "), "{help}");
        for (name, _) in all_names() {
            assert!(help.contains(name), "{name} missing from the help");
            let probe = name.replace("PROVIDER:NAME", "p:n");
            assert!(EventSet::parse_with_sdt(&probe).is_ok(), "{name} is in the help but not parsed");
        }
    }

    #[test]
    fn readme_event_table_is_the_registry_s() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let table = readme
            .split("<!-- events table: start -->\n")
            .nth(1)
            .and_then(|rest| rest.split("<!-- events table: end -->").next())
            .expect("the README's events table markers");
        assert_eq!(table, markdown_table(), "put this between the README's markers:\n{}", markdown_table());
    }

    #[test]
    fn states() {
        assert_eq!(parse_states("S,D").unwrap(), task_state::SLEEPING | task_state::UNINTERRUPTIBLE);
        assert!(parse_states("X").is_err());
        assert_eq!(state_marker(task_state::UNINTERRUPTIBLE), "[uninterruptible]");
        // prev_state values as kernels report them: 0 running, 0x100 preempted, 1 S, 2 D, 0x80 idle.
        assert_eq!(task_state::classify(0), task_state::RUNNABLE);
        assert_eq!(task_state::classify(0x100), task_state::RUNNABLE);
        assert_eq!(task_state::classify(1), task_state::SLEEPING);
        assert_eq!(task_state::classify(2), task_state::UNINTERRUPTIBLE);
        assert_eq!(task_state::classify(0x80), task_state::OTHER);
        // Raw __state values the BTF-typed tracepoint passes, with its preempt flag: both program
        // types must put the same block in the same class.
        use task_state::classify_raw;
        assert_eq!(classify_raw(true, 1), task_state::RUNNABLE, "preempted while setting up a sleep");
        assert_eq!(classify_raw(false, 0), task_state::RUNNABLE);
        assert_eq!(classify_raw(false, 1), task_state::SLEEPING);
        assert_eq!(classify_raw(false, 2), task_state::UNINTERRUPTIBLE);
        assert_eq!(classify_raw(false, 0x102), task_state::UNINTERRUPTIBLE, "TASK_KILLABLE");
        assert_eq!(classify_raw(false, 0x402), task_state::OTHER, "TASK_IDLE, as the classic record's 0x80");
        assert_eq!(classify_raw(false, 0x40), task_state::OTHER, "TASK_PARKED");
    }
}
