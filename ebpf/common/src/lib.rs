//! The `#[repr(C)]` types and constants that armtune's eBPF programs and its loader both use.
//!
//! Both sides compile this file: the kernel side for `bpfel-unknown-none` (no_std, no aya), the user
//! side with the `user` feature, which marks the types as plain old data for aya's maps. Layouts here
//! are an ABI between the two: change a field and both sides rebuild together (probes/build.rs
//! embeds the object, so they cannot drift apart).
#![no_std]
#![warn(missing_docs)]

/// Length of a task's `comm` (kernel `TASK_COMM_LEN`).
pub const TASK_COMM_LEN: usize = 16;

/// Deepest stack the kernel records (`PERF_MAX_STACK_DEPTH`, the default of
/// `/proc/sys/kernel/perf_event_max_stack`).
pub const MAX_STACK_DEPTH: usize = 127;

/// Default number of entries of the sample-count map; the loader may resize it.
pub const DEFAULT_COUNT_ENTRIES: u32 = 65_536;

/// Default number of entries of each stack-trace map; the loader may resize it.
pub const DEFAULT_STACK_ENTRIES: u32 = 32_768;

/// What one aggregated CPU sample is keyed by: who ran, and where (user and kernel stack ids).
///
/// A stack id below zero is the negated errno that `bpf_get_stackid` returned: `-EFAULT` means the
/// task had no such stack (a kernel thread has no user stack), `-EEXIST` or `-ENOMEM` mean it was
/// lost (hash collision or full map), which the counters report.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SampleKey {
    /// Process id (kernel tgid).
    pub tgid: u32,
    /// Thread id (kernel pid); zero when the loader asked for per-process aggregation.
    pub tid: u32,
    /// Id in the user stack map, or a negated errno.
    pub user_stack_id: i32,
    /// Id in the kernel stack map, or a negated errno.
    pub kernel_stack_id: i32,
    /// Thread name, NUL padded.
    pub comm: [u8; TASK_COMM_LEN],
}

/// Indexes into the per-CPU counter array.
pub mod counter {
    /// Samples that matched the target filter and were counted.
    pub const SAMPLES: u32 = 0;
    /// Samples whose user stack was lost (stack map collision or full).
    pub const USER_STACK_LOST: u32 = 1;
    /// Samples whose kernel stack was lost (stack map collision or full).
    pub const KERNEL_STACK_LOST: u32 = 2;
    /// Samples dropped because the count map was full.
    pub const COUNT_MAP_FULL: u32 = 3;
    /// Process events dropped because the ring buffer was full.
    pub const EVENTS_LOST: u32 = 4;
    /// Child processes added to the target set by the fork tracepoint.
    pub const CHILDREN_FOLLOWED: u32 = 5;
    /// Number of counters.
    pub const COUNT: u32 = 6;
}

/// Kinds of [`ProcEvent`].
pub mod proc_event {
    /// First sample of a process seen in this run: capture its mappings now, while it lives.
    pub const FIRST_SAMPLE: u32 = 1;
    /// A target process called exec: its mappings changed.
    pub const EXEC: u32 = 2;
}

/// A process life-cycle event sent to user space through the ring buffer, so the loader can read
/// `/proc/PID/maps` while the process still exists.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcEvent {
    /// One of the [`proc_event`] constants.
    pub kind: u32,
    /// Process id.
    pub tgid: u32,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: both are #[repr(C)] integers and byte arrays without padding, valid for any bit pattern.
    unsafe impl aya::Pod for super::SampleKey {}
    unsafe impl aya::Pod for super::ProcEvent {}
}
