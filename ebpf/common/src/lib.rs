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

/// Stack ids with this bit set name stacks in the overflow map: stacks whose bucket in the
/// kernel's stack map was taken by another stack (`bpf_get_stackid` collisions).
pub const OVERFLOW_STACK_BIT: u32 = 1 << 30;

/// A stack copied by `bpf_get_stack`: up to [`MAX_STACK_DEPTH`] addresses, zero-padded.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StackBuf {
    /// Addresses, leaf first; zeros after the last.
    pub ips: [u64; MAX_STACK_DEPTH],
}

/// The stacks one event recorded: ids in the stack map (or, with [`OVERFLOW_STACK_BIT`], the
/// overflow map), or negated errnos (-EFAULT: there is no such stack, -1: not recorded). Every
/// family that records stacks keeps one of these and takes it from `ebpf/src/stacks.rs`, so a new
/// way of capturing stacks changes this type and that module, not the families.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StackRef {
    /// User stack id, or a negated errno.
    pub user: i32,
    /// Kernel stack id, or a negated errno.
    pub kernel: i32,
}

impl StackRef {
    /// No stack recorded.
    pub const NONE: StackRef = StackRef { user: -1, kernel: -1 };
    /// The `user` value of a stack sent to user space to unwind (`--unwind dwarf`): the event's
    /// user stack is found there, by what the family keys it by (the thread, the block).
    pub const UNWOUND: i32 = i32::MIN;
}

/// Largest window of user stack `--stack-copy` may ask to copy per event (DWARF unwinding).
pub const MAX_STACK_COPY: usize = 128 * 1024;

/// Page size the stack copy steps by: a read that crosses into an unmapped page fails whole, so
/// the copy goes page by page and keeps what it read before the first failure.
pub const STACK_COPY_PAGE: usize = 4096;

/// How user stacks are taken (the `UNWIND` global, `--unwind`).
pub mod unwind {
    /// Frame pointers, walked by the kernel (`bpf_get_stackid`): an id in the stack map.
    pub const FP: u32 = 0;
    /// Registers and a window of stack bytes sent to user space, which unwinds them with the
    /// files' CFI (`.eh_frame`, `.debug_frame`).
    pub const DWARF: u32 = 1;
    /// Frame pointers for processes user space found to keep them in all their code (listed in
    /// `FRAME_POINTERS`), registers and stack bytes for every other.
    pub const AUTO: u32 = 2;
    /// `FRAME_POINTERS` value: the process keeps frame pointers; the kernel walks its stacks.
    pub const VERDICT_FRAME_POINTERS: u8 = 1;
    /// `FRAME_POINTERS` value: the process was judged and is unwound with CFI.
    pub const VERDICT_CFI: u8 = 2;
    /// `FRAME_POINTERS` value: the process's first stack went to user space, which is to judge it.
    pub const VERDICT_PENDING: u8 = 3;
}

/// Flags of a [`StackSample`].
pub mod stack_copy {
    /// The copy stopped at memory it could not read before the window was full (the top of the
    /// stack, usually: not a loss).
    pub const UNREADABLE: u32 = 1;
    /// The task's user registers could not be had (an event in kernel mode without BTF): no
    /// user stack.
    pub const NO_REGS: u32 = 2;
    /// No stack follows: this record completes the open event of its thread (`off-cpu`: the
    /// thread is back on a CPU, `weight` is the time it was off).
    pub const COMPLETES: u32 = 4;
}

/// The user registers an unwinder starts from: x86_64 ip, sp, bp (lr unused); aarch64 pc, sp,
/// x29, x30 (the leaf's return address is in the link register, not yet on the stack).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserRegs {
    /// Program counter.
    pub pc: u64,
    /// Stack pointer.
    pub sp: u64,
    /// Frame pointer (rbp / x29).
    pub fp: u64,
    /// Link register (x30); zero on x86_64.
    pub lr: u64,
}

/// One event's user stack to unwind in user space (`--unwind dwarf`), sent through the
/// `USER_STACKS` ring buffer: this header, then `len` bytes of stack from `regs.sp` up. The
/// bytes are unwound as they arrive and never kept: stacks hold whatever the program had there.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackSample {
    /// Process id.
    pub tgid: u32,
    /// Thread id, or 0 when aggregated per process.
    pub tid: u32,
    /// The [`events`] bit of the family whose event this is.
    pub family: u32,
    /// Kernel stack id (as in [`StackRef::kernel`]).
    pub kernel: i32,
    /// Weight: 1 per sample, or nanoseconds, bytes, by family.
    pub weight: u64,
    /// Family-specific part of the aggregation key (the off-CPU state, the SDT site).
    pub tag: u64,
    /// The registers at the event.
    pub regs: UserRegs,
    /// Stack bytes that follow.
    pub len: u32,
    /// [`stack_copy`] flags.
    pub flags: u32,
    /// Thread name, NUL padded.
    pub comm: [u8; TASK_COMM_LEN],
    /// Where the registers could not be had ([`stack_copy::NO_REGS`]): the user stack the kernel
    /// walked by frame pointers instead (an id as in [`StackRef::user`]); -1 otherwise.
    pub user_fp: i32,
    /// Padding to eight bytes.
    pub pad: u32,
    /// When the event was taken (CLOCK_MONOTONIC, ns): user space unwinds it only once it has
    /// the mapping records up to then.
    pub time_ns: u64,
}

/// The per-CPU scratch a [`StackSample`] is assembled in: the header, then the window (one page
/// more than [`MAX_STACK_COPY`]: the first, partial page is copied up to its end).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StackCopy {
    /// What the stack belongs to.
    pub header: StackSample,
    /// Stack bytes from `header.regs.sp` up.
    pub bytes: [u8; MAX_STACK_COPY + STACK_COPY_PAGE],
}

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
    /// Its stacks.
    pub stacks: StackRef,
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
    /// Off-CPU intervals dropped because a map was full.
    pub const OFF_CPU_LOST: u32 = 6;
    /// Run-queue waits dropped because a map was full.
    pub const RUNQ_LOST: u32 = 7;
    /// Wakeups dropped because the wakeup map was full.
    pub const WAKEUP_LOST: u32 = 8;
    /// Allocations not counted because the allocation map was full.
    pub const ALLOC_LOST: u32 = 9;
    /// Live blocks not remembered because the live-block map was full.
    pub const LIVE_LOST: u32 = 10;
    /// Allocator calls seen (entries).
    pub const ALLOC_CALLS: u32 = 11;
    /// SDT probe hits not counted because the hit map was full.
    pub const SDT_LOST: u32 = 12;
    /// Go GC assists not counted by stack because the assist map was full.
    pub const GC_ASSIST_LOST: u32 = 13;
    /// Process lives not recorded because the process map was full (`proc` family).
    pub const PROC_LOST: u32 = 14;
    /// User stacks dropped because the `USER_STACKS` ring buffer was full (`--unwind dwarf`).
    pub const STACK_COPY_LOST: u32 = 15;
    /// Number of counters.
    pub const COUNT: u32 = 16;
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

/// An eBPF map as both sides know it: the kernel side declares a static of this name with this
/// many entries; the loader opens it by name and may resize it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// The map's name in the object (the static's name).
    pub name: &'static str,
    /// Entries it is declared with.
    pub entries: u32,
}

/// Every map of the object whose size or name the loader uses, by family.
pub mod maps {
    use super::MapDef;

    /// CPU sample counts (`cpu`).
    pub const COUNTS: MapDef = MapDef { name: "COUNTS", entries: super::DEFAULT_COUNT_ENTRIES };
    /// Processes to record when filtering; children of targets are added on fork.
    pub const TARGETS: MapDef = MapDef { name: "TARGETS", entries: 8192 };
    /// Processes already announced to user space.
    pub const SEEN: MapDef = MapDef { name: "SEEN", entries: 16_384 };
    /// User and kernel stacks, shared by every event that records them.
    pub const STACKS: MapDef = MapDef { name: "STACKS", entries: super::DEFAULT_STACK_ENTRIES };
    /// Stacks that collided in `STACKS`, by their own hash.
    pub const OVERFLOW_STACKS: MapDef = MapDef { name: "OVERFLOW_STACKS", entries: 4096 };
    /// The scheduler families' thread table.
    pub const TASKS: MapDef = MapDef { name: "TASKS", entries: 65_536 };
    /// One byte per thread id, set while the thread may have an interval open in `TASKS`, in
    /// blocks of 64 ids; the loader sizes it from the kernel's `pid_max`.
    pub const OPEN_INTERVALS: MapDef = MapDef { name: "OPEN_INTERVALS", entries: 65_536 };
    /// Off-CPU time by (process, stacks, state) (`off-cpu`).
    pub const OFF_CPU: MapDef = MapDef { name: "OFF_CPU", entries: 65_536 };
    /// Run-queue latency histogram slots (`runq`).
    pub const RUNQ_HIST: MapDef = MapDef { name: "RUNQ_HIST", entries: 16_384 };
    /// Wakeups by waker stack (`wakeup`).
    pub const WAKEUPS: MapDef = MapDef { name: "WAKEUPS", entries: 65_536 };
    /// Allocator calls between entry and return (`alloc`, `leak`).
    pub const PENDING: MapDef = MapDef { name: "PENDING", entries: 16_384 };
    /// Allocations by stack (`alloc`).
    pub const ALLOCS: MapDef = MapDef { name: "ALLOCS", entries: 65_536 };
    /// Allocation-size histogram slots (`alloc`).
    pub const SIZES: MapDef = MapDef { name: "SIZES", entries: 4096 };
    /// Live blocks (`leak`); `--live-map-size` resizes it.
    pub const LIVE: MapDef = MapDef { name: "LIVE", entries: 262_144 };
    /// Collection counters per process (`gc`).
    pub const GC_STATS: MapDef = MapDef { name: "GC_STATS", entries: 1024 };
    /// Pause histogram slots (`gc`).
    pub const GC_PAUSES: MapDef = MapDef { name: "GC_PAUSES", entries: 1024 };
    /// Go mark assists by stack (`gc`).
    pub const GC_ASSISTS: MapDef = MapDef { name: "GC_ASSISTS", entries: 16_384 };
    /// SDT probe hits by site and stack (`sdt`).
    pub const SDT_HITS: MapDef = MapDef { name: "SDT_HITS", entries: 16_384 };
    /// Process lives by process id (`proc`).
    pub const PROC_LIVES: MapDef = MapDef { name: "PROC_LIVES", entries: 16_384 };

    /// User registers and stack windows for user-space unwinding (bytes; `--unwind dwarf`).
    pub const USER_STACKS: MapDef = MapDef { name: "USER_STACKS", entries: 8 << 20 };
    /// Scratch to assemble a [`super::StackCopy`] in: two per CPU (the sampler's, and one for
    /// events it can interrupt); one entry unless unwinding with DWARF.
    pub const STACK_COPIES: MapDef = MapDef { name: "STACK_COPIES", entries: 1 };
    /// `--unwind auto`'s verdict on each process judged, by tgid (`unwind::VERDICT_*`).
    pub const FRAME_POINTERS: MapDef = MapDef { name: "FRAME_POINTERS", entries: 16_384 };

    /// All of the above, for the test that holds the object to them.
    pub const ALL: [MapDef; 22] = [
        COUNTS,
        TARGETS,
        SEEN,
        STACKS,
        OVERFLOW_STACKS,
        TASKS,
        OPEN_INTERVALS,
        OFF_CPU,
        RUNQ_HIST,
        WAKEUPS,
        PENDING,
        ALLOCS,
        SIZES,
        LIVE,
        GC_STATS,
        GC_PAUSES,
        GC_ASSISTS,
        SDT_HITS,
        PROC_LIVES,
        USER_STACKS,
        STACK_COPIES,
        FRAME_POINTERS,
    ];
}

/// Bits of the `STACK_KINDS` global: which stacks the programs record (`--stacks`).
pub mod stack_kind {
    /// User stacks.
    pub const USER: u32 = 1;
    /// Kernel stacks.
    pub const KERNEL: u32 = 2;
}

/// Bits of the `EVENTS` global: which program families record.
pub mod events {
    /// CPU samples (perf_event on cpu-clock).
    pub const CPU: u32 = 1;
    /// Off-CPU time with the stack that blocked.
    pub const OFF_CPU: u32 = 2;
    /// Run-queue latency histograms.
    pub const RUNQ: u32 = 4;
    /// Wakeups: who woke whom, with waker stacks.
    pub const WAKEUP: u32 = 8;
    /// Allocations: bytes and calls by allocating stack, size histogram.
    pub const ALLOC: u32 = 16;
    /// Live blocks (leaks): every allocation remembered until it is freed.
    pub const LEAK: u32 = 32;
    /// Garbage-collector cycles and stop-the-world pauses (Go runtime uprobes, HotSpot SDT probes).
    pub const GC: u32 = 64;
    /// SDT (USDT) probe hits with stacks.
    pub const SDT: u32 = 128;
    /// Process lifetimes: exec and exit of the targets (`proc` family).
    pub const PROC: u32 = 256;
}

/// One SDT probe hit count key: which probe site (by address), who, from where.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SdtKey {
    /// Process id.
    pub tgid: u32,
    /// Thread id, or zero for per-process aggregation.
    pub tid: u32,
    /// Address of the probe site in the process.
    pub ip: u64,
    /// Its stacks (kernel: not recorded).
    pub stacks: StackRef,
    /// Thread name.
    pub comm: [u8; TASK_COMM_LEN],
}

/// Garbage-collection counters of one process.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Completed collection cycles (Go: entries of `runtime.gcMarkTermination`).
    pub cycles: u64,
    /// Stop-the-world pauses that ended.
    pub pauses: u64,
    /// Their total length, ns.
    pub pause_total_ns: u64,
    /// The longest, ns.
    pub pause_max_ns: u64,
    /// When the current pause began, 0 when the world is running.
    pub pause_since_ns: u64,
    /// Go: mark assists (entries of `runtime.gcAssistAlloc`), the allocations that had to help
    /// the collector before they could proceed.
    pub assists: u64,
}

/// Which allocator function a pending call is (kept from entry to return).
pub mod alloc_fn {
    /// `malloc(size)`, `valloc(size)`, `pvalloc(size)`.
    pub const MALLOC: u32 = 1;
    /// `calloc(n, size)`.
    pub const CALLOC: u32 = 2;
    /// `realloc(ptr, size)`: frees `ptr` when it returns a block (or when size is 0).
    pub const REALLOC: u32 = 3;
    /// `posix_memalign(&ptr, align, size)`: the block comes back through `*memptr`.
    pub const POSIX_MEMALIGN: u32 = 4;
    /// `aligned_alloc(align, size)`, `memalign(align, size)`.
    pub const ALIGNED: u32 = 5;
    /// `mmap(addr, len, prot, flags, fd, off)` of anonymous memory: fails with `MAP_FAILED`.
    pub const MMAP: u32 = 6;
}

/// An allocator call between its entry and its return.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingAlloc {
    /// Requested bytes.
    pub size: u64,
    /// `realloc`'s old block, or `posix_memalign`'s out pointer.
    pub addr: u64,
    /// One of [`alloc_fn`].
    pub function: u32,
    /// Zero.
    pub pad: u32,
}

/// A live block: which process, which address.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LiveKey {
    /// Process id.
    pub tgid: u32,
    /// Zero.
    pub pad: u32,
    /// Block address.
    pub addr: u64,
}

/// What is known of a live block.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveBlock {
    /// Bytes requested.
    pub size: u64,
    /// When it was allocated (ns, CLOCK_MONOTONIC).
    pub since_ns: u64,
    /// Allocating stacks (kernel: not recorded).
    pub stacks: StackRef,
    /// Allocating thread, or zero for per-process aggregation.
    pub tid: u32,
    /// Zero.
    pub pad: u32,
    /// Allocating thread's name.
    pub comm: [u8; TASK_COMM_LEN],
}

/// One bucket of an allocation-size histogram: bucket k counts sizes in [2^k, 2^(k+1)) bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SizeKey {
    /// Process id.
    pub tgid: u32,
    /// log2 bucket.
    pub slot: u32,
}

/// Classes of the state a task leaves the CPU in, as bits (for filters) and values (in keys).
pub mod task_state {
    /// `S`: interruptible sleep (waiting for an event, a timer, a lock taken with a futex).
    pub const SLEEPING: u32 = 1;
    /// `D`: uninterruptible sleep (mostly I/O and some kernel locks).
    pub const UNINTERRUPTIBLE: u32 = 2;
    /// `R`: still runnable (preempted, or yielded): the time off the CPU is run-queue wait.
    pub const RUNNABLE: u32 = 4;
    /// Stopped, traced, dead, idle kernel threads.
    pub const OTHER: u32 = 8;

    /// Classifies a `prev_state` value of `sched:sched_switch`. The low byte holds the
    /// `TASK_REPORT` bits (0 = running), the next bit the "preempted" flag.
    pub const fn classify(prev_state: u64) -> u32 {
        let report = prev_state & 0xff;
        if report == 0 {
            RUNNABLE
        } else if report & 1 != 0 {
            SLEEPING
        } else if report & 2 != 0 {
            UNINTERRUPTIBLE
        } else {
            OTHER
        }
    }

    /// Classifies the raw `prev->__state` a BTF-typed `sched_switch` passes, with its `preempt`
    /// flag, into the same classes as [`classify`] gives the classic record (whose kernel side
    /// reports an idle kernel thread's `TASK_IDLE` as neither sleep).
    pub const fn classify_raw(preempt: bool, state: u32) -> u32 {
        const TASK_IDLE: u32 = 0x402;
        if preempt || state == 0 {
            RUNNABLE
        } else if state & TASK_IDLE == TASK_IDLE {
            OTHER
        } else if state & 1 != 0 {
            SLEEPING
        } else if state & 2 != 0 {
            UNINTERRUPTIBLE
        } else {
            OTHER
        }
    }
}

/// Aggregated off-CPU time: who blocked, where, in which state.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OffCpuKey {
    /// Process id.
    pub tgid: u32,
    /// Thread id, or zero for per-process aggregation.
    pub tid: u32,
    /// Its stacks when the task left the CPU.
    pub stacks: StackRef,
    /// One of the [`task_state`] classes.
    pub state: u32,
    /// Thread name.
    pub comm: [u8; TASK_COMM_LEN],
}

/// A sum and a count per key: nanoseconds off the CPU, or bytes allocated, and how many events.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Nanoseconds (off-CPU) or bytes (allocations).
    pub sum: u64,
    /// Events.
    pub count: u64,
}

/// One bucket of a run-queue latency histogram.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HistKey {
    /// Process id of the waiting task (0 when unknown).
    pub tgid: u32,
    /// CPU it was switched in on, or [`ALL_CPUS`] without `--per-cpu`.
    pub cpu: u32,
    /// log2 bucket of the latency in microseconds: slot k holds [2^k, 2^(k+1)) us, slot 0 also 0.
    pub slot: u32,
}

/// `HistKey::cpu` when histograms are not per CPU.
pub const ALL_CPUS: u32 = u32::MAX;
/// Number of log2 slots (2^63 us is far beyond any latency).
pub const HIST_SLOTS: u32 = 64;

/// Who woke whom, and from where.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WakeKey {
    /// Process of the waker (the task running when the wakeup happened).
    pub waker_tgid: u32,
    /// Process of the woken task (0 when not known yet).
    pub wakee_tgid: u32,
    /// Woken thread id, or zero for per-process aggregation.
    pub wakee_tid: u32,
    /// Waker's stacks (`StackRef::NONE` when they were not asked for).
    pub stacks: StackRef,
    /// Waker thread name.
    pub waker_comm: [u8; TASK_COMM_LEN],
    /// Woken thread name.
    pub wakee_comm: [u8; TASK_COMM_LEN],
}

/// Everything the scheduler programs keep about one thread, in one map entry so a context switch
/// costs one lookup per side.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskInfo {
    /// Process id.
    pub tgid: u32,
    /// `task_state` class the thread last left the CPU in.
    pub state: u32,
    /// When the thread left the CPU (ns, CLOCK_MONOTONIC), 0 when it is not off the CPU (or its
    /// off-CPU time is not recorded).
    pub off_since_ns: u64,
    /// When the thread became runnable without running, 0 when not waiting.
    pub runq_since_ns: u64,
    /// Longest run-queue wait seen, ns.
    pub runq_max_ns: u64,
    /// Switches out while blocking.
    pub voluntary: u64,
    /// Switches out while runnable (preempted).
    pub involuntary: u64,
    /// Moves to another CPU.
    pub migrations: u64,
    /// Its stacks when it left the CPU.
    pub stacks: StackRef,
    /// Thread name when first seen.
    pub comm: [u8; TASK_COMM_LEN],
    /// What the open off-CPU interval stands for: the one-in-N its switch-out was chosen at.
    pub off_weight: u32,
    /// The same for the open run-queue interval.
    pub runq_weight: u32,
}

/// The `proc` family's values.
pub mod proc_life {
    /// `ProcLife::exit_code` before the process exits, or where the kernel's BTF does not say
    /// where `task_struct` keeps the code.
    pub const NO_EXIT_CODE: u32 = u32::MAX;
    /// `ProcLife::flags`: the exit was seen.
    pub const EXITED: u32 = 1;
}

/// What the `proc` family knows of one process: when it started, exec'd and exited, and how.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcLife {
    /// When the process was created (`task_struct.start_time`, ns, CLOCK_MONOTONIC), 0 unknown.
    pub start_ns: u64,
    /// Its first exec while profiled (ns, CLOCK_MONOTONIC), 0 when it did not exec.
    pub exec_ns: u64,
    /// Its exit (ns, CLOCK_MONOTONIC), 0 while it runs.
    pub exit_ns: u64,
    /// Parent's process id at the last event, 0 unknown.
    pub ppid: u32,
    /// `task_struct.exit_code` as wait(2) reports it (status << 8, or the signal), or
    /// [`proc_life::NO_EXIT_CODE`].
    pub exit_code: u32,
    /// Execs seen while profiled.
    pub execs: u32,
    /// Bits of `proc_life`: [`proc_life::EXITED`].
    pub flags: u32,
    /// Process name at the last event.
    pub comm: [u8; TASK_COMM_LEN],
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: both are #[repr(C)] integers and byte arrays without padding, valid for any bit pattern.
    unsafe impl aya::Pod for super::ProcLife {}
    unsafe impl aya::Pod for super::StackRef {}
    unsafe impl aya::Pod for super::SampleKey {}
    unsafe impl aya::Pod for super::ProcEvent {}
    unsafe impl aya::Pod for super::OffCpuKey {}
    unsafe impl aya::Pod for super::Totals {}
    unsafe impl aya::Pod for super::HistKey {}
    unsafe impl aya::Pod for super::WakeKey {}
    unsafe impl aya::Pod for super::TaskInfo {}
    unsafe impl aya::Pod for super::PendingAlloc {}
    unsafe impl aya::Pod for super::LiveKey {}
    unsafe impl aya::Pod for super::LiveBlock {}
    unsafe impl aya::Pod for super::SizeKey {}
    unsafe impl aya::Pod for super::GcStats {}
    unsafe impl aya::Pod for super::SdtKey {}
    unsafe impl aya::Pod for super::StackBuf {}
    unsafe impl aya::Pod for super::StackSample {}
    unsafe impl aya::Pod for super::UserRegs {}
}
