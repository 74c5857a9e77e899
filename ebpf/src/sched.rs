//! Scheduler events from classic tracepoints: off-CPU time, run-queue latency, wakeups,
//! context-switch and migration counts.
//!
//! Classic tracepoints carry only the *previous* task's identity through `current`; the next and
//! the woken task arrive as thread ids. `TASKS` holds one entry per target thread (its process,
//! counters and open intervals), so the next/woken side is filtered and keyed by process without
//! BTF, and a context switch costs one map lookup per side. Field offsets come from the format
//! files, through the globals below.

use armtune_common::{
    counter, events, task_state, HistKey, OffCpuKey, TaskInfo, Totals, WakeKey, ALL_CPUS, HIST_SLOTS,
};
use aya_ebpf::{
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_smp_processor_id, bpf_ktime_get_ns},
    macros::{map, tracepoint},
    maps::{HashMap, LruHashMap},
    programs::TracePointContext,
};

use crate::{
    add_one, add_totals, atomic_add, bump, enabled, filtering, is_target, kernel_stack, note_process, read_global,
    user_stack, PER_THREAD,
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

/// Every target thread seen: process, counters, open off-CPU and run-queue intervals. LRU so a
/// run over a churning thread pool cannot fill it; lookups only set a reference bit.
#[map]
pub(crate) static TASKS: LruHashMap<u32, TaskInfo> = LruHashMap::with_max_entries(65536, 0);
/// Off-CPU time per key.
#[map]
static OFF_CPU: HashMap<OffCpuKey, Totals> = HashMap::with_max_entries(65536, 0);
/// Run-queue latency histograms.
#[map]
static RUNQ_HIST: HashMap<HistKey, u64> = HashMap::with_max_entries(16384, 0);
/// Wakeup counts per (waker, wakee, waker stack).
#[map]
static WAKEUPS: HashMap<WakeKey, u64> = HashMap::with_max_entries(65536, 0);

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
        if let Some(task) = TASKS.get_ptr_mut(&next) {
            switched_in(next, unsafe { &mut *task }, now);
        }
    }
    0
}

#[inline(always)]
fn switched_out(ctx: &TracePointContext, tid: u32, now: u64) {
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
    let state = unsafe {
        if read_global(&SWITCH_PREV_STATE_SIZE) == 8 {
            ctx.read_at::<u64>(read_global(&SWITCH_PREV_STATE) as usize).unwrap_or(0)
        } else {
            ctx.read_at::<u32>(read_global(&SWITCH_PREV_STATE) as usize).unwrap_or(0) as u64
        }
    };
    let class = task_state::classify(state);
    if task.state == 0 {
        // Created by a wakeup, on behalf of the waker: now it is current, take its own names.
        task.tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        task.comm = bpf_get_current_comm().unwrap_or([0; 16]);
    }
    task.state = class;
    // Only this CPU switches this task out: plain adds suffice.
    if class == task_state::RUNNABLE {
        task.involuntary += 1;
    } else {
        task.voluntary += 1;
    }
    if enabled(events::OFF_CPU) && read_global(&OFF_CPU_STATES) & class != 0 {
        task.user_stack_id = user_stack(ctx);
        task.kernel_stack_id = kernel_stack(ctx);
        task.off_since_ns = now;
    }
    if enabled(events::RUNQ) {
        // Preempted while runnable: it waits in the run queue from now on. Asleep: any start a
        // wakeup left while the task was still on its CPU is void.
        task.runq_since_ns = if class == task_state::RUNNABLE { now } else { 0 };
    }
}

#[inline(always)]
fn switched_in(tid: u32, task: &mut TaskInfo, now: u64) {
    if task.off_since_ns != 0 {
        let delta = now.saturating_sub(task.off_since_ns);
        task.off_since_ns = 0;
        if delta >= read_global(&MIN_BLOCK_NS) {
            let key = OffCpuKey {
                tgid: task.tgid,
                tid: if read_global(&PER_THREAD) != 0 { tid } else { 0 },
                user_stack_id: task.user_stack_id,
                kernel_stack_id: task.kernel_stack_id,
                state: task.state,
                comm: task.comm,
            };
            if !add_totals(&OFF_CPU, &key, delta) {
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
        record_runq(task.tgid, delta);
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
    if enabled(events::RUNQ) {
        task.runq_since_ns = unsafe { bpf_ktime_get_ns() };
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
            wakee_tgid: task.tgid,
            wakee_tid: if read_global(&PER_THREAD) != 0 { wakee } else { 0 },
            user_stack_id: if stacks { user_stack(ctx) } else { -1 },
            kernel_stack_id: if stacks { kernel_stack(ctx) } else { -1 },
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
    if let Some(task) = TASKS.get_ptr_mut(&tid) {
        atomic_add(unsafe { core::ptr::addr_of_mut!((*task).migrations) }, 1);
    }
    0
}
