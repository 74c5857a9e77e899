//! What a profile is asked to do: the target and every option, as plain data. The session and the
//! attaching code both read it; it depends on neither.

use std::{ffi::OsString, path::PathBuf, time::Duration};

use crate::btf::SchedPath;

pub use armtune_common::{DEFAULT_COUNT_ENTRIES, DEFAULT_STACK_ENTRIES};

/// Default entries of the live-block map: blocks the leak view can follow at once.
pub const DEFAULT_LIVE_ENTRIES: u32 = armtune_common::maps::LIVE.entries;

/// Which stacks the programs record (`--stacks`, as bcc's `-U` / `-K`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Stacks {
    /// User and kernel stacks.
    #[default]
    Both,
    /// User stacks only.
    User,
    /// Kernel stacks only.
    Kernel,
    /// No stacks.
    None,
}

impl Stacks {
    /// The `STACK_KINDS` global of the eBPF object.
    pub fn bits(self) -> u32 {
        use armtune_common::stack_kind::{KERNEL, USER};
        match self {
            Stacks::Both => USER | KERNEL,
            Stacks::User => USER,
            Stacks::Kernel => KERNEL,
            Stacks::None => 0,
        }
    }
}

/// How user stacks are walked (`--unwind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Unwind {
    /// Frame pointers, walked in the kernel: cheapest, but stops at the first function built
    /// without them (most distribution libraries).
    Fp,
    /// The files' CFI (`.eh_frame`, `.debug_frame`): registers and a window of stack are copied
    /// per event and unwound in user space, as `perf record --call-graph dwarf` does.
    Dwarf,
    /// Frame pointers for processes whose every file keeps them, CFI for the others: judged per
    /// process image from the files' own CFI and prologues, and again when it maps more.
    #[default]
    Auto,
}

impl Unwind {
    /// The `UNWIND` global of the eBPF object.
    pub fn bits(self) -> u32 {
        match self {
            Unwind::Fp => armtune_common::unwind::FP,
            Unwind::Dwarf => armtune_common::unwind::DWARF,
            Unwind::Auto => armtune_common::unwind::AUTO,
        }
    }

    /// Whether stacks are (or can be) copied to user space for unwinding.
    pub fn copies_stacks(self) -> bool {
        self != Unwind::Fp
    }
}

/// Default window of user stack copied per event with `--unwind dwarf` (as samply and ddprof).
pub const DEFAULT_STACK_COPY: u32 = 32 * 1024;
/// Smallest `--stack-copy`.
pub const MIN_STACK_COPY: u32 = 8 * 1024;
/// Largest `--stack-copy`.
pub const MAX_STACK_COPY: u32 = armtune_common::MAX_STACK_COPY as u32;

/// Task states whose off-CPU time is recorded (`--off-cpu-state`): a set of
/// `armtune_common::task_state` classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskStates(u32);

impl Default for TaskStates {
    /// Sleeping and uninterruptible: where a thread waits, not where it was preempted.
    fn default() -> Self {
        TaskStates(armtune_common::task_state::SLEEPING | armtune_common::task_state::UNINTERRUPTIBLE)
    }
}

impl TaskStates {
    /// Parses `S` (sleeping), `D` (uninterruptible), `R` (preempted) and `all`, comma-separated.
    pub fn parse(list: &str) -> crate::Result<TaskStates> {
        parse_states(list).map(TaskStates)
    }

    /// The `OFF_CPU_STATES` global of the eBPF object.
    pub fn bits(self) -> u32 {
        self.0
    }
}

/// The set of event families to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSet {
    /// CPU samples.
    pub cpu: bool,
    /// Off-CPU time by blocking stack.
    pub off_cpu: bool,
    /// Run-queue latency.
    pub runq: bool,
    /// Wakeups with waker stacks.
    pub wakeup: bool,
    /// Allocations by stack (bytes and calls) and sizes.
    pub alloc: bool,
    /// Blocks still live at the end, by allocating stack.
    pub leak: bool,
    /// Garbage-collection cycles and stop-the-world pauses (Go).
    pub gc: bool,
    /// SDT probe hits (`sdt:PROVIDER:NAME` entries).
    pub sdt: bool,
    /// Bits of the registered families (`crate::families`) to record.
    pub families: u32,
}

/// An `sdt:PROVIDER:NAME` entry of `--event` (NAME may hold `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdtSpec {
    /// Provider, e.g. `libc`.
    pub provider: String,
    /// Probe name pattern, e.g. `memory_*`.
    pub pattern: String,
}

impl EventSet {
    /// Turns on the family whose `armtune_common::events` bit is `bit`: a field of its own for
    /// the families from before the registry, else a bit of [`EventSet::families`].
    pub fn insert_bit(&mut self, bit: u32) {
        use armtune_common::events::*;
        match bit {
            CPU => self.cpu = true,
            OFF_CPU => self.off_cpu = true,
            RUNQ => self.runq = true,
            WAKEUP => self.wakeup = true,
            ALLOC => self.alloc = true,
            LEAK => self.leak = true,
            GC => self.gc = true,
            SDT => self.sdt = true,
            other => self.families |= other,
        }
    }
}

impl Default for EventSet {
    /// CPU samples only, as `profile` does without `--event`.
    fn default() -> Self {
        EventSet { cpu: true, ..EventSet::none() }
    }
}

/// Parses `--off-cpu-state` values: `S` (sleeping), `D` (uninterruptible), `R` (preempted), `all`.
pub fn parse_states(list: &str) -> crate::Result<u32> {
    let mut bits = 0;
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        bits |= match s {
            "S" | "s" | "sleeping" => armtune_common::task_state::SLEEPING,
            "D" | "d" | "uninterruptible" => armtune_common::task_state::UNINTERRUPTIBLE,
            "R" | "r" | "runnable" | "preempted" => armtune_common::task_state::RUNNABLE,
            "all" => {
                armtune_common::task_state::SLEEPING
                    | armtune_common::task_state::UNINTERRUPTIBLE
                    | armtune_common::task_state::RUNNABLE
                    | armtune_common::task_state::OTHER
            }
            other => {
                return Err(crate::Error::Invalid(format!("unknown task state {other:?}: use S, D, R or all")));
            }
        };
    }
    if bits == 0 {
        return Err(crate::Error::Invalid("--off-cpu-state needs at least one state".into()));
    }
    Ok(bits)
}

/// What to profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Start this command (program and arguments) and profile it and every process it starts.
    Command(Vec<OsString>),
    /// Profile these running processes (and processes they start during the run).
    Pids(Vec<u32>),
    /// Profile every process on the host.
    All,
    /// Profile the processes of a cgroup and its children (`--cgroup`, `--unit`, `--container`),
    /// whenever they run: filtered in the kernel by cgroup id.
    Cgroup(crate::cgroups::Cgroup),
}

impl Target {
    /// How the target is named in titles.
    pub fn describe(&self) -> String {
        match self {
            Target::Command(argv) => argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
            Target::Pids(pids) => {
                let list: Vec<String> = pids.iter().map(u32::to_string).collect();
                format!("pid {}", list.join(", "))
            }
            Target::All => "all processes".into(),
            Target::Cgroup(cgroup) => cgroup.label.clone(),
        }
    }
}

/// How to profile.
#[derive(Debug, Clone)]
pub struct Options {
    /// What to profile.
    pub target: Target,
    /// Samples per second per CPU.
    pub frequency: u64,
    /// Keep threads apart (key samples by thread id too).
    pub per_thread: bool,
    /// Entries of the stack-trace map; more means fewer collisions and more kernel memory.
    pub stack_entries: u32,
    /// Entries of the sample-count map.
    pub count_entries: u32,
    /// Entries of the live-block map (blocks the leak view can follow at once).
    pub live_entries: u32,
    /// What to record.
    pub events: EventSet,
    /// Task states whose off-CPU time is recorded.
    pub off_cpu_states: TaskStates,
    /// Off-CPU intervals shorter than this are ignored.
    pub min_block: Duration,
    /// Run-queue histograms per CPU as well.
    pub runq_per_cpu: bool,
    /// Which stacks to record.
    pub stacks: Stacks,
    /// How user stacks are walked.
    pub unwind: Unwind,
    /// Bytes of user stack copied per event with [`Unwind::Dwarf`].
    pub stack_copy: u32,
    /// The library holding the allocator (`--alloc-lib`); found from the target when `None`.
    pub alloc_lib: Option<PathBuf>,
    /// Prefix of the allocator's symbols (`je_` for a prefixed jemalloc).
    pub alloc_prefix: String,
    /// Record about one allocation per this many bytes (0: every allocation); weights are scaled
    /// back to estimates of the totals.
    pub alloc_sample: u64,
    /// SDT probes to count (`sdt:PROVIDER:NAME` events).
    pub sdt: Vec<SdtSpec>,
    /// Files to look for SDT probes in, besides the target's program (and its mapped libraries for
    /// `--pid`).
    pub sdt_libs: Vec<PathBuf>,
    /// Program type for the scheduler events.
    pub sched_path: SchedPath,
    /// Which scheduler events are recorded.
    pub sched_sample: SchedSample,
}

/// Which scheduler events are recorded (`--sched-sample`): each recorded one is weighted by the
/// one-in-N it was chosen at, so totals per stack stay unbiased estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedSample {
    /// One in N, chosen at random (1: every one). Written `N`.
    Every(u32),
    /// About this many per CPU-second: each CPU records the event that ends a random gap whose
    /// mean follows the CPU's event rate (every event while the rate is below this), weighted by
    /// the gap's length. Written `R/s`, or `auto` for [`SchedSample::AUTO_RATE`].
    PerCpuSecond(u32),
}

impl SchedSample {
    /// `auto`'s events per CPU-second. Stacks recorded at 2–3 µs each cost about 0.3 % of a CPU
    /// at this rate, however fast the CPU switches; below it, every event is recorded.
    pub const AUTO_RATE: u32 = 1000;

    /// The fixed one-in-N (1 under a rate).
    pub fn every(self) -> u32 {
        match self {
            SchedSample::Every(n) => n.max(1),
            SchedSample::PerCpuSecond(_) => 1,
        }
    }

    /// Events per CPU-second under a rate (0 for a fixed one-in-N).
    pub fn per_cpu_second(self) -> u32 {
        match self {
            SchedSample::Every(_) => 0,
            SchedSample::PerCpuSecond(r) => r,
        }
    }

    /// Whether every event is recorded.
    pub fn is_all(self) -> bool {
        self == SchedSample::Every(1)
    }

    /// How a report says which events were recorded (`one in 8 recorded`, `about 1000 a
    /// CPU-second recorded`); `None` when every one was.
    pub fn recorded(self) -> Option<String> {
        match self {
            _ if self.is_all() => None,
            SchedSample::Every(n) => Some(format!("one in {n} recorded")),
            SchedSample::PerCpuSecond(r) => Some(format!("about {r} a CPU-second recorded")),
        }
    }
}

impl Default for SchedSample {
    fn default() -> Self {
        SchedSample::Every(1)
    }
}

impl std::str::FromStr for SchedSample {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s}: give N (one in N recorded, 1 to 1000000), R/s (about R a CPU-second), or auto");
        if s == "auto" {
            return Ok(SchedSample::PerCpuSecond(SchedSample::AUTO_RATE));
        }
        let (number, rate) = match s.strip_suffix("/s") {
            Some(r) => (r, true),
            None => (s, false),
        };
        let n: u32 = number.trim().parse().map_err(|_| bad())?;
        if !(1..=1_000_000).contains(&n) {
            return Err(bad());
        }
        Ok(if rate { SchedSample::PerCpuSecond(n) } else { SchedSample::Every(n) })
    }
}

impl std::fmt::Display for SchedSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchedSample::Every(n) => write!(f, "{n}"),
            SchedSample::PerCpuSecond(r) if *r == SchedSample::AUTO_RATE => f.write_str("auto"),
            SchedSample::PerCpuSecond(r) => write!(f, "{r}/s"),
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: Target::All,
            frequency: 99,
            per_thread: false,
            stack_entries: DEFAULT_STACK_ENTRIES,
            count_entries: DEFAULT_COUNT_ENTRIES,
            live_entries: DEFAULT_LIVE_ENTRIES,
            events: EventSet::default(),
            off_cpu_states: TaskStates::default(),
            min_block: Duration::ZERO,
            runq_per_cpu: false,
            stacks: Stacks::Both,
            unwind: Unwind::Auto,
            stack_copy: DEFAULT_STACK_COPY,
            alloc_lib: None,
            alloc_prefix: String::new(),
            sdt: Vec::new(),
            sdt_libs: Vec::new(),
            alloc_sample: 0,
            sched_path: SchedPath::Auto,
            sched_sample: SchedSample::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_targets() {
        assert_eq!(Target::Command(vec!["./demo".into(), "-n".into(), "3".into()]).describe(), "./demo -n 3");
        assert_eq!(Target::Pids(vec![1, 22]).describe(), "pid 1, 22");
        assert_eq!(Target::All.describe(), "all processes");
    }

    #[test]
    fn reads_and_writes_sched_sample() {
        for (text, sample) in [
            ("16", SchedSample::Every(16)),
            ("1", SchedSample::Every(1)),
            ("auto", SchedSample::PerCpuSecond(SchedSample::AUTO_RATE)),
            ("500/s", SchedSample::PerCpuSecond(500)),
        ] {
            assert_eq!(text.parse::<SchedSample>(), Ok(sample));
            assert_eq!(sample.to_string(), text);
        }
        for bad in ["0", "0/s", "x", "16/m", "", "2000000"] {
            assert!(bad.parse::<SchedSample>().unwrap_err().contains("auto"), "{bad}");
        }
        assert_eq!((SchedSample::Every(16).every(), SchedSample::Every(16).per_cpu_second()), (16, 0));
        assert_eq!((SchedSample::PerCpuSecond(500).every(), SchedSample::PerCpuSecond(500).per_cpu_second()), (1, 500));
        assert!(SchedSample::default().is_all() && !SchedSample::PerCpuSecond(500).is_all());
        assert_eq!(SchedSample::Every(1).recorded(), None);
        assert_eq!(SchedSample::Every(8).recorded().as_deref(), Some("one in 8 recorded"));
        assert_eq!(SchedSample::PerCpuSecond(300).recorded().as_deref(), Some("about 300 a CPU-second recorded"));
    }
}
