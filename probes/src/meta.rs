//! Facts about a profile run that every stage carries: what was recorded, for how long, and what
//! was lost. Plain data shared by the raw capture and the rendered profiles, depending on neither.

use serde::{Deserialize, Serialize};

/// Losses reported at the end of a profile: never silent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Losses {
    /// User stacks lost to stack-map collisions or a full map.
    pub user_stacks: u64,
    /// Kernel stacks lost the same way.
    pub kernel_stacks: u64,
    /// Samples dropped because the count map was full.
    pub samples: u64,
    /// Process events (mapping captures) dropped because the ring buffer was full.
    pub events: u64,
    /// Off-CPU intervals dropped because a map was full.
    #[serde(default)]
    pub off_cpu: u64,
    /// Run-queue waits dropped because a map was full.
    #[serde(default)]
    pub runq: u64,
    /// Wakeups dropped because the wakeup map was full.
    #[serde(default)]
    pub wakeups: u64,
    /// Allocations not counted because the allocation map was full.
    #[serde(default)]
    pub allocs: u64,
    /// Live blocks not remembered because the live-block map was full (the leak view misses them).
    #[serde(default)]
    pub live_blocks: u64,
    /// SDT probe hits not counted because the hit map was full.
    #[serde(default)]
    pub sdt_hits: u64,
    /// Go GC assists not counted by stack because the assist map was full.
    #[serde(default)]
    pub gc_assists: u64,
    /// Mapping records the kernel dropped because armtune's buffer for them was full.
    #[serde(default)]
    pub mappings: u64,
    /// User stacks not copied for unwinding because their ring buffer was full: those events were
    /// kept with their frame-pointer stacks instead.
    #[serde(default)]
    pub stack_copies: u64,
    /// Losses of the registered families, by their key (`processes`).
    #[serde(flatten)]
    pub families: std::collections::BTreeMap<String, u64>,
    /// How [`Losses::describe`] words each of `families`: what was lost, and the remedy.
    #[serde(skip)]
    pub family_phrases: std::collections::BTreeMap<String, (String, String)>,
}

impl Losses {
    /// What was lost, one phrase per kind that lost anything, each saying what to do about it.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.user_stacks + self.kernel_stacks > 0 {
            out.push(format!(
                "{} user stacks, {} kernel stacks (stack map full or hash collisions: raise --stack-map-size)",
                self.user_stacks, self.kernel_stacks
            ));
        }
        let full = |n: u64, what: &str, remedy: &str| (n > 0).then(|| format!("{n} {what} ({remedy})"));
        out.extend(
            [
                full(self.samples, "samples", "count map full: raise --count-map-size"),
                full(self.events, "process events", "ring buffer full: some mappings may be missing"),
                full(self.off_cpu, "off-CPU intervals", "off-CPU map full: too many distinct stacks"),
                full(self.runq, "run-queue waits", "histogram map full"),
                full(self.wakeups, "wakeups", "wakeup map full: too many distinct stacks"),
                full(self.allocs, "allocations", "allocation map full: too many distinct stacks"),
                full(
                    self.live_blocks,
                    "live blocks",
                    "live-block map full: the leak view misses them; raise --live-map-size",
                ),
                full(self.sdt_hits, "SDT probe hits", "hit map full: too many distinct stacks"),
                full(self.gc_assists, "GC assists", "assist map full: too many distinct stacks"),
                full(
                    self.stack_copies,
                    "user stacks walked by frame pointers, not unwound",
                    "their ring buffer was full: lower --freq or --stack-copy",
                ),
                full(self.mappings, "mapping records", "their buffer overflowed: some library frames may be [unknown]"),
            ]
            .into_iter()
            .flatten(),
        );
        for (key, &n) in self.families.iter().filter(|(_, &n)| n > 0) {
            let (what, remedy) = self.family_phrases.get(key).cloned().unwrap_or((key.clone(), "map full".into()));
            out.push(format!("{n} {what} ({remedy})"));
        }
        out
    }
}

/// How the user stacks of a profile were walked, and how many ended early, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnwindStats {
    /// Stacks unwound.
    pub stacks: u64,
    /// Bytes of stack the kernel copied for them, in all (what the events cost to copy; the
    /// bytes themselves are never kept).
    #[serde(default)]
    pub stack_bytes: u64,
    /// Stacks that ended early because the unwinder needed stack beyond the copied window
    /// (`--stack-copy` too small for the depth).
    pub truncated_window: u64,
    /// Stacks that ended early in code without CFI whose frame pointers led nowhere.
    pub truncated_no_cfi: u64,
    /// Stacks that ended early at memory that could not be read (the copy stopped at an unmapped
    /// page before the unwinder was done).
    pub truncated_unreadable: u64,
    /// Stacks deeper than the 127 frames kept (the kernel's own limit for stacks).
    #[serde(default)]
    pub truncated_depth: u64,
    /// Events without user registers (taken in kernel mode on a kernel without BTF): their user
    /// stacks were walked by frame pointers instead.
    pub no_registers: u64,
    /// `--unwind auto`: processes found to keep frame pointers in all their code, walked by the
    /// kernel after their first stacks.
    #[serde(default)]
    pub frame_pointer_processes: u64,
    /// `--unwind auto`: processes with code that does not, unwound with CFI.
    #[serde(default)]
    pub cfi_processes: u64,
}

impl UnwindStats {
    /// Stacks that ended early, for any reason.
    pub fn truncated(&self) -> u64 {
        self.truncated_window + self.truncated_no_cfi + self.truncated_unreadable + self.truncated_depth
    }

    /// One line for the summary's notes, or `None` when every stack was whole and unwound.
    pub fn describe(&self) -> Option<String> {
        let mut out = Vec::new();
        if self.truncated() > 0 {
            let mut parts = Vec::new();
            let mut part = |n: u64, what: &str| {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            };
            part(self.truncated_window, "window too small: raise --stack-copy");
            part(self.truncated_no_cfi, "no CFI for a frame");
            part(self.truncated_unreadable, "unreadable memory");
            part(self.truncated_depth, "deeper than 127 frames");
            out.push(format!("{} of {} user stacks truncated ({})", self.truncated(), self.stacks, parts.join(", ")));
        }
        if self.no_registers > 0 {
            out.push(format!(
                "{} of {} user stacks walked by frame pointers (taken in kernel mode, and no BTF to find the user registers)",
                self.no_registers, self.stacks
            ));
        }
        if self.frame_pointer_processes > 0 {
            out.push(format!(
                "--unwind auto: {} of {} processes walked by frame pointers (all their code keeps them)",
                self.frame_pointer_processes,
                self.frame_pointer_processes + self.cfi_processes
            ));
        }
        (!out.is_empty()).then(|| out.join("; "))
    }
}

/// Whether no `--sched-sample R/s` rate was set.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Whether `--sched-sample` left every scheduler event recorded (0 in files from before it).
fn is_unsampled(n: &u32) -> bool {
    *n <= 1
}

/// Facts about how a profile was taken, for titles and for scripts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// What was profiled: the command line, `pid 123`, or `all processes`.
    pub target: String,
    /// Wall time profiled, seconds.
    pub duration_secs: f64,
    /// Sampling frequency, Hz (0 when not sampling).
    pub frequency_hz: u64,
    /// Samples counted by the kernel.
    pub samples: u64,
    /// What was lost.
    pub lost: Losses,
    /// Events recorded (`cpu`, `off-cpu`, `runq`, `wakeup`).
    #[serde(default)]
    pub events: Vec<String>,
    /// Context switches of the targets seen (scheduler events only).
    #[serde(default)]
    pub switches: u64,
    /// `--alloc-sample`: mean bytes between recorded allocations (0: all recorded).
    #[serde(default)]
    pub alloc_sample_bytes: u64,
    /// `--sched-sample`: one in this many scheduler events recorded, each weighted by it (0 and 1:
    /// all recorded).
    #[serde(default, skip_serializing_if = "is_unsampled")]
    pub sched_sample: u32,
    /// `--sched-sample R/s`: about this many scheduler events recorded per CPU-second, each
    /// weighted by the events it stands for (0: no rate set).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sched_rate: u32,
    /// Program type of the scheduler events: `btf` (tp_btf) or `classic`; empty without them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sched_tracepoints: String,
    /// How user stacks were walked with `--unwind dwarf`, and how many ended early; `None` with
    /// frame pointers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unwinding: Option<UnwindStats>,
}

impl Meta {
    /// The `--sched-sample` its `sched_sample` and `sched_rate` say (every event for files from
    /// before either).
    pub fn sched_sampling(&self) -> crate::options::SchedSample {
        use crate::options::SchedSample;
        match self.sched_rate {
            0 => SchedSample::Every(self.sched_sample.max(1)),
            rate => SchedSample::PerCpuSecond(rate),
        }
    }
}
