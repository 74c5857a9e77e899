//! Scheduler events from classic tracepoints: off-CPU time, run-queue latency, wakeups,
//! context-switch and migration counts.
//!
//! Classic tracepoints carry only the *previous* task's identity through `current`; the next and
//! the woken task arrive as thread ids. `TIDS` maps the thread ids of targets to their process, so
//! the next/woken side can be filtered and keyed by process without BTF. Field offsets come from the
//! format files, through the globals below.

use armtune_common::{
    counter, events, task_state, HistKey, OffCpuKey, OffCpuStart, ThreadStats, Totals, WakeKey, ALL_CPUS,
    HIST_SLOTS,
};
use aya_ebpf::{
    bindings::{BPF_F_USER_STACK, BPF_NOEXIST},
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_smp_processor_id, bpf_ktime_get_ns},
    macros::{map, tracepoint},
    maps::{HashMap, LruHashMap},
    programs::TracePointContext,
};

use crate::{
    add_one, atomic_add, bump, enabled, filtering, is_target, note_process, read_global, stack_id, PER_THREAD,
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

/// Thread id -> process id of every target thread seen.
#[map]
static TIDS: LruHashMap<u32, u32> = LruHashMap::with_max_entries(65536, 0);
/// Threads off the CPU now: since when, and under which key their time will be added.
#[map]
static OFF_START: LruHashMap<u32, OffCpuStart> = LruHashMap::with_max_entries(65536, 0);
/// Off-CPU time per key.
#[map]
static OFF_CPU: HashMap<OffCpuKey, Totals> = HashMap::with_max_entries(65536, 0);
/// Threads waiting in a run queue: since when.
#[map]
static RUNQ_START: LruHashMap<u32, u64> = LruHashMap::with_max_entries(65536, 0);
/// Run-queue latency histograms.
#[map]
static RUNQ_HIST: HashMap<HistKey, u64> = HashMap::with_max_entries(16384, 0);
/// Longest run-queue wait per process, nanoseconds.
#[map]
static RUNQ_MAX: HashMap<u32, u64> = HashMap::with_max_entries(8192, 0);
/// Wakeup counts per (waker, wakee, waker stack).
#[map]
static WAKEUPS: HashMap<WakeKey, u64> = HashMap::with_max_entries(65536, 0);
/// Per-thread switch and migration counts.
#[map]
static THREADS: LruHashMap<u32, ThreadStats> = LruHashMap::with_max_entries(65536, 0);

#[inline(always)]
fn read_pid(ctx: &TracePointContext, offset: &u32) -> u32 {
    unsafe { ctx.read_at::<i32>(read_global(offset) as usize) }.unwrap_or(0) as u32
}

/// The process of thread `tid` when it is a target (or of anyone when not filtering; 0 = unknown).
#[inline(always)]
fn target_process(tid: u32) -> Option<u32> {
    match unsafe { TIDS.get(&tid) } {
        Some(tgid) => Some(*tgid),
        None if !filtering() => Some(0),
        None => None,
    }
}

#[inline(always)]
fn thread_stats(tid: u32, tgid: u32, comm: &[u8; 16]) -> Option<*mut ThreadStats> {
    if let Some(s) = THREADS.get_ptr_mut(&tid) {
        return Some(s);
    }
    let fresh = ThreadStats { tgid, comm: *comm, ..ThreadStats::default() };
    let _ = THREADS.insert(&tid, &fresh, BPF_NOEXIST as u64);
    THREADS.get_ptr_mut(&tid)
}

/// `sched:sched_switch`: the previous task (current) leaves the CPU, the next one arrives.
#[tracepoint]
pub fn armtune_switch(ctx: TracePointContext) -> u32 {
    let now = unsafe { bpf_ktime_get_ns() };
    let prev = read_pid(&ctx, &SWITCH_PREV_PID);
    let next = read_pid(&ctx, &SWITCH_NEXT_PID);
    if prev != 0 {
        switched_out(&ctx, prev, now);
    }
    if next != 0 {
        switched_in(next, now);
    }
    0
}

#[inline(always)]
fn switched_out(ctx: &TracePointContext, tid: u32, now: u64) {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !is_target(tgid) {
        return;
    }
    let _ = TIDS.insert(&tid, &tgid, 0);
    note_process(tgid);
    bump(counter::SWITCHES);
    let state = unsafe {
        if read_global(&SWITCH_PREV_STATE_SIZE) == 8 {
            ctx.read_at::<u64>(read_global(&SWITCH_PREV_STATE) as usize).unwrap_or(0)
        } else {
            ctx.read_at::<u32>(read_global(&SWITCH_PREV_STATE) as usize).unwrap_or(0) as u64
        }
    };
    let class = task_state::classify(state);
    let comm = bpf_get_current_comm().unwrap_or([0; 16]);
    if let Some(stats) = thread_stats(tid, tgid, &comm) {
        // Threads rename themselves (pthread_setname_np): keep the latest name.
        unsafe { (*stats).comm = comm };
        let field = if class == task_state::RUNNABLE {
            unsafe { core::ptr::addr_of_mut!((*stats).involuntary) }
        } else {
            unsafe { core::ptr::addr_of_mut!((*stats).voluntary) }
        };
        atomic_add(field, 1);
    }
    if enabled(events::OFF_CPU) && read_global(&OFF_CPU_STATES) & class != 0 {
        let start = OffCpuStart {
            since_ns: now,
            key: OffCpuKey {
                tgid,
                tid: if read_global(&PER_THREAD) != 0 { tid } else { 0 },
                user_stack_id: stack_id(ctx, BPF_F_USER_STACK as u64, counter::USER_STACK_LOST),
                kernel_stack_id: stack_id(ctx, 0, counter::KERNEL_STACK_LOST),
                state: class,
                comm,
            },
        };
        if OFF_START.insert(&tid, &start, 0).is_err() {
            bump(counter::OFF_CPU_LOST);
        }
    }
    if enabled(events::RUNQ) {
        if class == task_state::RUNNABLE {
            // Preempted while runnable: it waits in the run queue from now on.
            if RUNQ_START.insert(&tid, &now, 0).is_err() {
                bump(counter::RUNQ_LOST);
            }
        } else {
            // A wakeup that found the task still on its CPU leaves a start behind; it is asleep now.
            let _ = RUNQ_START.remove(&tid);
        }
    }
}

#[inline(always)]
fn switched_in(tid: u32, now: u64) {
    if enabled(events::OFF_CPU) {
        if let Some(start) = unsafe { OFF_START.get(&tid) } {
            let start = *start;
            let _ = OFF_START.remove(&tid);
            let delta = now.saturating_sub(start.since_ns);
            if delta >= read_global(&MIN_BLOCK_NS) && !add_totals(&start.key, delta) {
                bump(counter::OFF_CPU_LOST);
            }
        }
    }
    if enabled(events::RUNQ) {
        if let Some(since) = unsafe { RUNQ_START.get(&tid) } {
            let delta = now.saturating_sub(*since);
            let _ = RUNQ_START.remove(&tid);
            let tgid = unsafe { TIDS.get(&tid) }.copied().unwrap_or(0);
            record_runq(tgid, delta);
        }
    }
}

#[inline(always)]
fn add_totals(key: &OffCpuKey, ns: u64) -> bool {
    if let Some(t) = OFF_CPU.get_ptr_mut(key) {
        unsafe {
            atomic_add(core::ptr::addr_of_mut!((*t).ns), ns);
            atomic_add(core::ptr::addr_of_mut!((*t).count), 1);
        }
        return true;
    }
    let fresh = Totals { ns, count: 1 };
    match OFF_CPU.insert(key, &fresh, BPF_NOEXIST as u64) {
        Ok(()) => true,
        Err(-17) => {
            if let Some(t) = OFF_CPU.get_ptr_mut(key) {
                unsafe {
                    atomic_add(core::ptr::addr_of_mut!((*t).ns), ns);
                    atomic_add(core::ptr::addr_of_mut!((*t).count), 1);
                }
            }
            true
        }
        Err(_) => false,
    }
}

/// log2 of the latency in microseconds, bounded for the verifier.
#[inline(always)]
fn log2_slot(us: u64) -> u32 {
    let slot = if us == 0 { 0 } else { 63 - us.leading_zeros() };
    if slot >= HIST_SLOTS {
        HIST_SLOTS - 1
    } else {
        slot
    }
}

#[inline(always)]
fn record_runq(tgid: u32, delta_ns: u64) {
    let cpu = if read_global(&RUNQ_PER_CPU) != 0 { unsafe { bpf_get_smp_processor_id() } } else { ALL_CPUS };
    let key = HistKey { tgid, cpu, slot: log2_slot(delta_ns / 1000) };
    if !add_one(&RUNQ_HIST, &key) {
        bump(counter::RUNQ_LOST);
    }
    match RUNQ_MAX.get_ptr_mut(&tgid) {
        // Racy max: two CPUs may both read a smaller value; the larger write can lose. Rare, and
        // only ever under-reports a maximum that the histogram still shows.
        Some(max) => unsafe {
            if delta_ns > *max {
                *max = delta_ns;
            }
        },
        None => {
            let _ = RUNQ_MAX.insert(&tgid, &delta_ns, BPF_NOEXIST as u64);
        }
    }
}

/// `sched:sched_wakeup`: a task becomes runnable.
#[tracepoint]
pub fn armtune_wakeup(ctx: TracePointContext) -> u32 {
    woken(&ctx, false);
    0
}

/// `sched:sched_wakeup_new`: a new task (thread or process) becomes runnable for the first time.
#[tracepoint]
pub fn armtune_wakeup_new(ctx: TracePointContext) -> u32 {
    woken(&ctx, true);
    0
}

#[inline(always)]
fn woken(ctx: &TracePointContext, new: bool) {
    let wakee = read_pid(ctx, &WAKEUP_PID);
    if wakee == 0 {
        return;
    }
    let waker_tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if new && filtering() && unsafe { crate::TARGETS.get(&waker_tgid) }.is_some() {
        // A target's new thread or child process: a target too.
        let _ = TIDS.insert(&wakee, &waker_tgid, 0);
    }
    let Some(wakee_tgid) = target_process(wakee) else { return };
    let now = unsafe { bpf_ktime_get_ns() };
    if enabled(events::RUNQ) && RUNQ_START.insert(&wakee, &now, 0).is_err() {
        bump(counter::RUNQ_LOST);
    }
    if enabled(events::WAKEUP) {
        let mut wakee_comm = [0u8; 16];
        let comm_offset = read_global(&WAKEUP_COMM);
        if comm_offset != u32::MAX {
            wakee_comm = unsafe { ctx.read_at::<[u8; 16]>(comm_offset as usize) }.unwrap_or([0; 16]);
        }
        let stacks = read_global(&WAKEUP_STACKS) != 0;
        if stacks {
            note_process(waker_tgid);
        }
        let key = WakeKey {
            waker_tgid,
            wakee_tgid,
            wakee_tid: if read_global(&PER_THREAD) != 0 { wakee } else { 0 },
            user_stack_id: if stacks { stack_id(ctx, BPF_F_USER_STACK as u64, counter::USER_STACK_LOST) } else { -1 },
            kernel_stack_id: if stacks { stack_id(ctx, 0, counter::KERNEL_STACK_LOST) } else { -1 },
            waker_comm: bpf_get_current_comm().unwrap_or([0; 16]),
            wakee_comm,
        };
        if !add_one(&WAKEUPS, &key) {
            bump(counter::WAKEUP_LOST);
        }
    }
}

/// `sched:sched_migrate_task`: a task moves to another CPU.
#[tracepoint]
pub fn armtune_migrate(ctx: TracePointContext) -> u32 {
    let tid = read_pid(&ctx, &MIGRATE_PID);
    if tid == 0 {
        return 0;
    }
    let Some(tgid) = target_process(tid) else { return 0 };
    let comm = [0u8; 16];
    if let Some(stats) = thread_stats(tid, tgid, &comm) {
        atomic_add(unsafe { core::ptr::addr_of_mut!((*stats).migrations) }, 1);
    }
    0
}
