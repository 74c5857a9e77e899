//! Scheduler events: off-CPU time, run-queue latency, wakeups, context-switch and migration counts.
//!
//! Each event has two entry points with one body: a classic tracepoint (field offsets from the
//! format files, works on every kernel) and a BTF-typed one (`tp_btf`: the tracepoint's own
//! arguments, no trace record is filled, which makes it cheaper per event; `task_struct` offsets
//! come from the kernel's BTF). The loader attaches one set.
//!
//! Only the *previous* task's identity comes through `current`; the next and the woken task arrive
//! as thread ids. `TASKS` holds one entry per target thread (its process, counters and open
//! intervals), so the next/woken side is filtered and keyed by process without reading
//! `task_struct` further, and a context switch costs one map lookup per side.

use armtune_common::{
    counter, events, maps, task_state, HistKey, OffCpuKey, StackRef, StackSample, TaskInfo, Totals, WakeKey,
    ALL_CPUS,
};
use aya_ebpf::{
    bindings::BPF_NOEXIST,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_prandom_u32, bpf_get_smp_processor_id,
        bpf_ktime_get_ns, bpf_probe_read_kernel,
    },
    macros::{btf_tracepoint, map, tracepoint},
    maps::{Array, HashMap, LruHashMap, PerCpuArray},
    programs::{BtfTracePointContext, TracePointContext},
    EbpfContext,
};

use crate::{
    add_n, add_totals, atomic_add, bump, enabled, filtering, is_target, note_process, read_global, PER_THREAD,
};

/// `sched_switch.prev_pid` offset.
#[no_mangle]
static SWITCH_PREV_PID: u32 = 24;
/// `sched_switch.prev_state` offset.
#[no_mangle]
static SWITCH_PREV_STATE: u32 = 32;
/// `sched_switch.prev_state` size (4 or 8 bytes, by kernel).
#[no_mangle]
static SWITCH_PREV_STATE_SIZE: u32 = 8;
/// `sched_switch.next_pid` offset.
#[no_mangle]
static SWITCH_NEXT_PID: u32 = 56;
/// `sched_wakeup.pid` offset (`sched_wakeup_new` shares the layout).
#[no_mangle]
static WAKEUP_PID: u32 = 24;
/// `sched_wakeup.comm` offset when it is an inline `char[16]`, else `u32::MAX`.
#[no_mangle]
static WAKEUP_COMM: u32 = 8;
/// `sched_migrate_task.pid` offset.
#[no_mangle]
static MIGRATE_PID: u32 = 12;
/// `task_struct.pid` offset, from the kernel's BTF (BTF-typed programs only).
#[no_mangle]
static TASK_PID: u32 = 0;
/// `task_struct.comm` offset, from the kernel's BTF (BTF-typed programs only).
#[no_mangle]
static TASK_COMM: u32 = 0;
/// Bits of `task_state` whose off-CPU time is recorded.
#[no_mangle]
static OFF_CPU_STATES: u32 = task_state::SLEEPING | task_state::UNINTERRUPTIBLE;
/// Off-CPU intervals shorter than this are ignored.
#[no_mangle]
static MIN_BLOCK_NS: u64 = 0;
/// 1 to keep a run-queue histogram per CPU.
#[no_mangle]
static RUNQ_PER_CPU: u8 = 0;
/// 1 to record the waker's stacks for the wakeup flame graph.
#[no_mangle]
static WAKEUP_STACKS: u8 = 0;
/// Record one in this many scheduler events (`--sched-sample N`; 1: all), chosen at random, each
/// weighted by it. Decided before any map is touched: an event not chosen costs a random number.
#[no_mangle]
static SCHED_SAMPLE: u32 = 1;
/// `--sched-sample R/s`: record about this many scheduler events per CPU-second; 0: one in
/// `SCHED_SAMPLE`. See [`choose`].
#[no_mangle]
static SCHED_RATE: u32 = 0;

/// Events a CPU counts before it works out its mean gap again.
const RATE_WINDOW: u32 = 256;

/// One CPU's sampling under a rate: events seen since `since_ns`, the mean gap between recorded
/// events they set, and the gap being counted down.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SamplerState {
    since_ns: u64,
    seen: u32,
    mean_gap: u32,
    left: u32,
    gap: u32,
}

/// Each CPU's [`SamplerState`] (`--sched-sample R/s`).
#[map]
static SAMPLER: PerCpuArray<SamplerState> = PerCpuArray::with_max_entries(1, 0);

/// Whether to record this event: the weight it carries when chosen, 0 when not.
///
/// One in `SCHED_SAMPLE`: each event chosen at random, weighted by N. Under a rate, a CPU counts
/// events down a random gap (uniform on 1 to 2M - 1, mean M) and records the one that ends it,
/// weighted by the gap's length: the events it stands for. M follows the CPU's event rate over
/// its last [`RATE_WINDOW`] events, so that about `SCHED_RATE` a second are recorded (all of them
/// below that rate). A gap is drawn before the durations of its events are known, so totals stay
/// unbiased, and counts are exact but for the last gap. An event not chosen costs a decrement.
#[inline(always)]
fn choose() -> u64 {
    let rate = read_global(&SCHED_RATE);
    if rate == 0 {
        let n = read_global(&SCHED_SAMPLE);
        return if n <= 1 {
            1
        } else if unsafe { bpf_get_prandom_u32() } % n == 0 {
            n as u64
        } else {
            0
        };
    }
    let Some(state) = SAMPLER.get_ptr_mut(0) else { return 1 };
    let state = unsafe { &mut *state };
    state.seen += 1;
    if state.seen >= RATE_WINDOW {
        let now = unsafe { bpf_ktime_get_ns() };
        let elapsed = now.saturating_sub(state.since_ns).max(1);
        let per_second = state.seen as u64 * 1_000_000_000 / elapsed;
        let rate = rate as u64;
        state.mean_gap = ((per_second + rate - 1) / rate).min(1_000_000) as u32;
        state.seen = 0;
        state.since_ns = now;
    }
    if state.left > 1 {
        state.left -= 1;
        return 0;
    }
    let weight = state.gap.max(1) as u64;
    let gap = if state.mean_gap <= 1 { 1 } else { 1 + unsafe { bpf_get_prandom_u32() } % (2 * state.mean_gap - 1) };
    state.left = gap;
    state.gap = gap;
    weight
}

/// Every target thread seen: process, counters, open off-CPU and run-queue intervals. LRU so a
/// run over a churning thread pool cannot fill it; lookups only set a reference bit.
#[map]
pub(crate) static TASKS: LruHashMap<u32, TaskInfo> = LruHashMap::with_max_entries(maps::TASKS.entries, 0);
/// Whether a thread may have an interval open in `TASKS`: one byte per thread id (bytes, so
/// CPUs marking neighbouring ids never undo each other's writes). A switch-in looks the thread up
/// only when its byte is set: with `--sched-sample` most switch-ins close nothing, and this
/// array read costs a fraction of the hash lookup. A byte set with nothing open costs that lookup
/// once; an open interval always has its byte set.
#[map]
static OPEN_INTERVALS: Array<[u8; 64]> = Array::with_max_entries(maps::OPEN_INTERVALS.entries, 0);
/// Off-CPU time per key.
#[map]
static OFF_CPU: HashMap<OffCpuKey, Totals> = HashMap::with_max_entries(maps::OFF_CPU.entries, 0);
/// Run-queue latency histograms.
#[map]
static RUNQ_HIST: HashMap<HistKey, u64> = HashMap::with_max_entries(maps::RUNQ_HIST.entries, 0);
/// Wakeup counts per (waker, wakee, waker stack).
#[map]
static WAKEUPS: HashMap<WakeKey, u64> = HashMap::with_max_entries(maps::WAKEUPS.entries, 0);

/// Marks thread `tid` as (possibly) having an open interval, or clears the mark.
#[inline(always)]
fn mark_open(tid: u32, open: bool) {
    if let Some(block) = OPEN_INTERVALS.get_ptr_mut(tid / 64) {
        unsafe { *(block as *mut u8).add((tid % 64) as usize) = open as u8 };
    }
}

/// Whether thread `tid` may have an open interval (true for ids beyond the array: look them up).
#[inline(always)]
fn maybe_open(tid: u32) -> bool {
    match OPEN_INTERVALS.get(tid / 64) {
        Some(block) => block[(tid % 64) as usize] != 0,
        None => true,
    }
}

#[inline(always)]
fn read_pid(ctx: &TracePointContext, offset: &u32) -> u32 {
    unsafe { ctx.read_at::<i32>(read_global(offset) as usize) }.unwrap_or(0) as u32
}

/// The entry of thread `tid` of process `tgid`, created when new.
#[inline(always)]
fn task_entry(tid: u32, tgid: u32) -> Option<*mut TaskInfo> {
    if let Some(t) = TASKS.get_ptr_mut(&tid) {
        return Some(t);
    }
    let fresh = TaskInfo { tgid, ..TaskInfo::default() };
    let _ = TASKS.insert(&tid, &fresh, BPF_NOEXIST as u64);
    note_process(tgid);
    TASKS.get_ptr_mut(&tid)
}

/// `task->pid` of a task the BTF-typed tracepoint passes.
#[inline(always)]
fn task_pid(task: *const u8) -> u32 {
    unsafe { bpf_probe_read_kernel(task.wrapping_add(read_global(&TASK_PID) as usize) as *const i32) }.unwrap_or(0)
        as u32
}

/// `sched:sched_switch`: the previous task (current) leaves the CPU, the next one arrives.
#[tracepoint]
pub fn armtune_switch(ctx: TracePointContext) -> u32 {
    let prev = read_pid(&ctx, &SWITCH_PREV_PID);
    let next = read_pid(&ctx, &SWITCH_NEXT_PID);
    let state = unsafe {
        if read_global(&SWITCH_PREV_STATE_SIZE) == 8 {
            ctx.read_at::<u64>(read_global(&SWITCH_PREV_STATE) as usize).unwrap_or(0)
        } else {
            ctx.read_at::<u32>(read_global(&SWITCH_PREV_STATE) as usize).unwrap_or(0) as u64
        }
    };
    switched(&ctx, prev, next, task_state::classify(state));
    0
}

/// BTF-typed `sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
/// unsigned int prev_state)`.
#[btf_tracepoint(function = "sched_switch")]
pub fn armtune_switch_btf(ctx: BtfTracePointContext) -> u32 {
    let (preempt, next, state) = unsafe { (ctx.arg::<u64>(0) & 1 != 0, ctx.arg::<*const u8>(2), ctx.arg::<u64>(3)) };
    // prev is current.
    let prev = bpf_get_current_pid_tgid() as u32;
    switched(&ctx, prev, task_pid(next), task_state::classify_raw(preempt, state as u32));
    0
}

#[inline(always)]
fn switched<C: EbpfContext>(ctx: &C, prev: u32, next: u32, class: u32) {
    // Sampling chooses switch-outs: the interval a chosen one opens is closed at its switch-in.
    let weight = if prev != 0 { choose() } else { 0 };
    if weight != 0 {
        switched_out(ctx, prev, class, unsafe { bpf_ktime_get_ns() }, weight);
    } else if prev != 0 && enabled(events::RUNQ) && class != task_state::RUNNABLE && maybe_open(prev) {
        // Not chosen, going to sleep: a run-queue start a wakeup left while it was still on its
        // CPU is void all the same (its sleep is not run-queue latency).
        if let Some(task) = TASKS.get_ptr_mut(&prev) {
            unsafe { (*task).runq_since_ns = 0 };
        }
        mark_open(prev, false);
    }
    if next != 0 && maybe_open(next) {
        if let Some(task) = TASKS.get_ptr_mut(&next) {
            switched_in(next, unsafe { &mut *task }, unsafe { bpf_ktime_get_ns() });
        }
        // Both kinds of interval close at a switch-in (and an evicted entry has none open).
        mark_open(next, false);
    }
}

#[inline(always)]
fn switched_out<C: EbpfContext>(ctx: &C, tid: u32, class: u32, now: u64, weight: u64) {
    let task = match TASKS.get_ptr_mut(&tid) {
        Some(t) => t,
        None => {
            let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
            if !is_target(tgid) {
                return;
            }
            match task_entry(tid, tgid) {
                Some(t) => t,
                None => return,
            }
        }
    };
    let task = unsafe { &mut *task };
    if task.state == 0 {
        // Created by a wakeup, on behalf of the waker: now it is current, take its own names.
        task.tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        task.comm = bpf_get_current_comm().unwrap_or([0; 16]);
    }
    task.state = class;
    count_switch(task, class, weight);
    if enabled(events::OFF_CPU) && read_global(&OFF_CPU_STATES) & class != 0 {
        task.stacks = off_cpu_stacks(ctx, task, tid, class);
        task.off_since_ns = now;
        task.off_weight = weight as u32;
    }
    if enabled(events::RUNQ) {
        // Preempted while runnable: it waits in the run queue from now on. Asleep: any start a
        // wakeup left while the task was still on its CPU is void.
        task.runq_since_ns = if class == task_state::RUNNABLE { now } else { 0 };
        task.runq_weight = weight as u32;
    }
    if task.off_since_ns != 0 || task.runq_since_ns != 0 {
        mark_open(tid, true);
    }
}

/// Counts a switch-out of `task`, voluntary or not. Only this CPU switches this task out: plain
/// adds suffice.
#[inline(always)]
fn count_switch(task: &mut TaskInfo, class: u32, weight: u64) {
    if class == task_state::RUNNABLE {
        task.involuntary += weight;
    } else {
        task.voluntary += weight;
    }
}

/// The stacks a thread leaves the CPU with. With `--unwind dwarf` (on BTF kernels) the user stack
/// goes to user space now, kept there for the thread until a completion brings its time off.
#[inline(always)]
fn off_cpu_stacks<C: EbpfContext>(ctx: &C, task: &TaskInfo, tid: u32, class: u32) -> StackRef {
    if !crate::stacks::unwinding_tasks(task.tgid) {
        return crate::stacks::both(ctx);
    }
    let kernel = crate::stacks::kernel_only(ctx);
    let header = StackSample {
        tgid: task.tgid,
        tid,
        family: events::OFF_CPU,
        kernel,
        tag: class as u64,
        comm: task.comm,
        ..StackSample::default()
    };
    if !crate::stacks::send_user_stack(ctx, crate::stacks::RegsAt::Task, false, &header) {
        // The ring buffer is full: the frame-pointer stack, kept here as without unwinding.
        return StackRef { user: crate::stacks::user_only(ctx).user, kernel };
    }
    StackRef { user: StackRef::UNWOUND, kernel }
}

#[inline(always)]
fn switched_in(tid: u32, task: &mut TaskInfo, now: u64) {
    if task.off_since_ns != 0 {
        let delta = now.saturating_sub(task.off_since_ns);
        let weight = task.off_weight.max(1) as u64;
        task.off_since_ns = 0;
        if delta >= read_global(&MIN_BLOCK_NS) && task.stacks.user == StackRef::UNWOUND {
            let header = StackSample {
                tgid: task.tgid,
                tid,
                family: events::OFF_CPU,
                weight: delta * weight,
                tag: task.state as u64,
                comm: task.comm,
                ..StackSample::default()
            };
            crate::stacks::send_completion(&header);
        } else if delta >= read_global(&MIN_BLOCK_NS) {
            let key = OffCpuKey {
                tgid: task.tgid,
                tid: if read_global(&PER_THREAD) != 0 { tid } else { 0 },
                stacks: task.stacks,
                state: task.state,
                comm: task.comm,
            };
            if !add_totals(&OFF_CPU, &key, delta * weight, weight) {
                bump(counter::OFF_CPU_LOST);
            }
        }
    }
    if task.runq_since_ns != 0 {
        let delta = now.saturating_sub(task.runq_since_ns);
        task.runq_since_ns = 0;
        if delta > task.runq_max_ns {
            task.runq_max_ns = delta;
        }
        record_runq(task.tgid, delta, task.runq_weight.max(1) as u64);
    }
}

#[inline(always)]
fn record_runq(tgid: u32, delta_ns: u64, weight: u64) {
    let cpu = if read_global(&RUNQ_PER_CPU) != 0 { unsafe { bpf_get_smp_processor_id() } } else { ALL_CPUS };
    let key = HistKey { tgid, cpu, slot: crate::log2_slot(delta_ns / 1000) };
    if !add_n(&RUNQ_HIST, &key, weight) {
        bump(counter::RUNQ_LOST);
    }
}

/// `sched:sched_wakeup`: a task becomes runnable.
#[tracepoint]
pub fn armtune_wakeup(ctx: TracePointContext) -> u32 {
    woken(&ctx, read_pid(&ctx, &WAKEUP_PID), false, || classic_wakee_comm(&ctx));
    0
}

/// `sched:sched_wakeup_new`: a new task (thread or process) becomes runnable for the first time.
#[tracepoint]
pub fn armtune_wakeup_new(ctx: TracePointContext) -> u32 {
    woken(&ctx, read_pid(&ctx, &WAKEUP_PID), true, || classic_wakee_comm(&ctx));
    0
}

/// BTF-typed `sched_wakeup(struct task_struct *p)`.
#[btf_tracepoint(function = "sched_wakeup")]
pub fn armtune_wakeup_btf(ctx: BtfTracePointContext) -> u32 {
    let task = unsafe { ctx.arg::<*const u8>(0) };
    woken(&ctx, task_pid(task), false, || btf_task_comm(task));
    0
}

/// BTF-typed `sched_wakeup_new(struct task_struct *p)`.
#[btf_tracepoint(function = "sched_wakeup_new")]
pub fn armtune_wakeup_new_btf(ctx: BtfTracePointContext) -> u32 {
    let task = unsafe { ctx.arg::<*const u8>(0) };
    woken(&ctx, task_pid(task), true, || btf_task_comm(task));
    0
}

#[inline(always)]
fn classic_wakee_comm(ctx: &TracePointContext) -> [u8; 16] {
    let comm_offset = read_global(&WAKEUP_COMM);
    if comm_offset == u32::MAX {
        return [0; 16];
    }
    unsafe { ctx.read_at::<[u8; 16]>(comm_offset as usize) }.unwrap_or([0; 16])
}

#[inline(always)]
fn btf_task_comm(task: *const u8) -> [u8; 16] {
    unsafe { bpf_probe_read_kernel(task.wrapping_add(read_global(&TASK_COMM) as usize) as *const [u8; 16]) }
        .unwrap_or([0; 16])
}

#[inline(always)]
fn woken<C: EbpfContext>(ctx: &C, wakee: u32, new: bool, wakee_comm: impl FnOnce() -> [u8; 16]) {
    // A new task's entry starts here (below) whether or not its wakeup is chosen.
    let weight = choose();
    if wakee == 0 || !(new || weight != 0) {
        return;
    }
    let waker_tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    let task = match TASKS.get_ptr_mut(&wakee) {
        Some(t) => t,
        // A target's new thread or child process is a target too. Its entry starts here with the
        // creator's identity; the first switch-out puts in its own (state 0 marks "not yet").
        None if new && is_target(waker_tgid) => match task_entry(wakee, waker_tgid) {
            Some(t) => t,
            None => return,
        },
        None if !filtering() => match task_entry(wakee, 0) {
            Some(t) => t,
            None => return,
        },
        None => return,
    };
    let task = unsafe { &mut *task };
    if weight == 0 {
        return;
    }
    if enabled(events::RUNQ) {
        task.runq_since_ns = unsafe { bpf_ktime_get_ns() };
        task.runq_weight = weight as u32;
        mark_open(wakee, true);
    }
    if enabled(events::WAKEUP) {
        let wakee_comm = wakee_comm();
        let stacks = read_global(&WAKEUP_STACKS) != 0;
        if stacks {
            note_process(waker_tgid);
        }
        let key = WakeKey {
            waker_tgid,
            wakee_tgid: task.tgid,
            wakee_tid: if read_global(&PER_THREAD) != 0 { wakee } else { 0 },
            stacks: if stacks { crate::stacks::both(ctx) } else { StackRef::NONE },
            waker_comm: bpf_get_current_comm().unwrap_or([0; 16]),
            wakee_comm,
        };
        if !add_n(&WAKEUPS, &key, weight) {
            bump(counter::WAKEUP_LOST);
        }
    }
}

/// `sched:sched_migrate_task`: a task moves to another CPU.
#[tracepoint]
pub fn armtune_migrate(ctx: TracePointContext) -> u32 {
    migrated(read_pid(&ctx, &MIGRATE_PID));
    0
}

/// BTF-typed `sched_migrate_task(struct task_struct *p, int dest_cpu)`.
#[btf_tracepoint(function = "sched_migrate_task")]
pub fn armtune_migrate_btf(ctx: BtfTracePointContext) -> u32 {
    migrated(task_pid(unsafe { ctx.arg::<*const u8>(0) }));
    0
}

#[inline(always)]
fn migrated(tid: u32) {
    let weight = choose();
    if weight == 0 {
        return;
    }
    if let Some(task) = TASKS.get_ptr_mut(&tid) {
        atomic_add(unsafe { core::ptr::addr_of_mut!((*task).migrations) }, weight);
    }
}
