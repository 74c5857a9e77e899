//! armtune's eBPF programs, loaded by the `armtune-probes` crate.
//!
//! CPU sampling aggregates in the kernel: each sample bumps a count keyed by (process, thread name,
//! user stack id, kernel stack id), so user space reads one map at the end instead of one event per
//! sample. Only process life-cycle events (first sample of a process, exec) cross the ring buffer,
//! so the loader can capture `/proc/PID/maps` while the process still lives.
//!
//! Nothing here needs BTF or kprobes: perf_event, classic tracepoints, raw tracepoints and uprobes
//! load on kernels without either (Raspberry Pi OS kernels ship without BTF).
#![no_std]
#![no_main]
// Atomic add on map values: core has no AtomicU64::fetch_add for the bpf target, the intrinsic
// lowers to the BPF atomic add instruction.
#![allow(internal_features)]
#![feature(core_intrinsics)]

use core::intrinsics::{atomic_xadd, AtomicOrdering};

use armtune_common::{counter, proc_event, ProcEvent, SampleKey, DEFAULT_COUNT_ENTRIES, DEFAULT_STACK_ENTRIES};
use aya_ebpf::{
    bindings::{BPF_F_USER_STACK, BPF_NOEXIST},
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid},
    macros::{kprobe, map, perf_event, raw_tracepoint, tracepoint, uprobe},
    maps::{HashMap, LruHashMap, PerCpuArray, RingBuf, StackTrace},
    programs::{PerfEventContext, ProbeContext, RawTracePointContext, TracePointContext},
};

/// 1 when only processes in `TARGETS` are sampled; 0 samples the whole host.
#[no_mangle]
static FILTER_TARGETS: u8 = 0;
/// 1 to key samples by thread id as well as process id.
#[no_mangle]
static PER_THREAD: u8 = 0;
/// Byte offset of `child_pid` in the `sched:sched_process_fork` record, read by the loader from the
/// tracepoint's format file because it differs between kernels.
#[no_mangle]
static FORK_CHILD_PID_OFFSET: u32 = 44;

/// Sample counts, aggregated in the kernel.
#[map]
static COUNTS: HashMap<SampleKey, u64> = HashMap::with_max_entries(DEFAULT_COUNT_ENTRIES, 0);
/// User and kernel stacks, shared by all samples.
#[map]
static STACKS: StackTrace = StackTrace::with_max_entries(DEFAULT_STACK_ENTRIES, 0);
/// Processes to sample when `FILTER_TARGETS` is set; children of targets are added on fork.
#[map]
static TARGETS: HashMap<u32, u8> = HashMap::with_max_entries(8192, 0);
/// Processes already announced to user space.
#[map]
static SEEN: LruHashMap<u32, u8> = LruHashMap::with_max_entries(16384, 0);
/// Per-CPU counters, indexed by `armtune_common::counter`.
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);
/// Process life-cycle events for the loader.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

#[inline(always)]
fn bump(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // Per-CPU slot: no other CPU writes it, and the program is not re-entered on this CPU.
        unsafe { *slot += 1 };
    }
}

#[inline(always)]
fn is_target(tgid: u32) -> bool {
    if unsafe { core::ptr::read_volatile(&FILTER_TARGETS) } == 0 {
        return true;
    }
    unsafe { TARGETS.get(&tgid) }.is_some()
}

#[inline(always)]
fn announce(kind: u32, tgid: u32) {
    if EVENTS.output(&ProcEvent { kind, tgid }, 0).is_err() {
        bump(counter::EVENTS_LOST);
    }
}

/// Stack id, with losses (collision, full map) counted; "no such stack" is not a loss.
#[inline(always)]
fn stack_id(ctx: &PerfEventContext, flags: u64, lost_counter: u32) -> i32 {
    match unsafe { STACKS.get_stackid(ctx, flags) } {
        Ok(id) => id as i32,
        Err(err) => {
            // -EFAULT: the task has no stack of this kind (kernel thread, sample in user mode).
            if err != -14 {
                bump(lost_counter);
            }
            err as i32
        }
    }
}

/// CPU sample on the software cpu-clock: count (who, user stack, kernel stack).
#[perf_event]
pub fn armtune_cpu(ctx: PerfEventContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    // The idle task is not work; perf shows it as swapper, which only hides the real profile.
    if tid == 0 || !is_target(tgid) {
        return 0;
    }
    bump(counter::SAMPLES);
    if unsafe { SEEN.get(&tgid) }.is_none() && SEEN.insert(&tgid, &1, BPF_NOEXIST as u64).is_ok() {
        announce(proc_event::FIRST_SAMPLE, tgid);
    }
    let key = SampleKey {
        tgid,
        tid: if unsafe { core::ptr::read_volatile(&PER_THREAD) } != 0 { tid } else { 0 },
        user_stack_id: stack_id(&ctx, BPF_F_USER_STACK as u64, counter::USER_STACK_LOST),
        kernel_stack_id: stack_id(&ctx, 0, counter::KERNEL_STACK_LOST),
        comm: bpf_get_current_comm().unwrap_or([0; 16]),
    };
    add_count(&key);
    0
}

/// Adds one to a map value that other CPUs may bump at the same time.
#[inline(always)]
fn atomic_add(value: *mut u64) {
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(value, 1) };
}

#[inline(always)]
fn add_count(key: &SampleKey) {
    if let Some(count) = COUNTS.get_ptr_mut(key) {
        // Another CPU may bump the same key at the same time: add atomically.
        atomic_add(count);
        return;
    }
    match COUNTS.insert(key, &1, BPF_NOEXIST as u64) {
        Ok(()) => {}
        // -EEXIST: another CPU inserted it between our lookup and insert.
        Err(-17) => {
            if let Some(count) = COUNTS.get_ptr_mut(key) {
                atomic_add(count);
            }
        }
        Err(_) => bump(counter::COUNT_MAP_FULL),
    }
}

/// `sched:sched_process_fork`: a child of a target becomes a target, so `profile -- CMD` covers the
/// whole process tree the command starts.
#[tracepoint]
pub fn armtune_fork(ctx: TracePointContext) -> u32 {
    if unsafe { core::ptr::read_volatile(&FILTER_TARGETS) } == 0 {
        return 0;
    }
    let parent = (bpf_get_current_pid_tgid() >> 32) as u32;
    if unsafe { TARGETS.get(&parent) }.is_none() {
        return 0;
    }
    let offset = unsafe { core::ptr::read_volatile(&FORK_CHILD_PID_OFFSET) } as usize;
    if let Ok(child) = unsafe { ctx.read_at::<i32>(offset) } {
        // Threads arrive here too (their pid is a tid); as keys they are harmless, and a thread's
        // samples carry its process's tgid anyway.
        if TARGETS.insert(&(child as u32), &1, 0).is_ok() {
            bump(counter::CHILDREN_FOLLOWED);
        }
    }
    0
}

/// `sched:sched_process_exec`: a target replaced its image; the loader re-reads its mappings.
#[tracepoint]
pub fn armtune_exec(_ctx: TracePointContext) -> u32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if is_target(tgid) && unsafe { SEEN.get(&tgid) }.is_some() {
        announce(proc_event::EXEC, tgid);
    }
    0
}

/// `armtune doctor` loads this to learn whether raw tracepoints work here.
#[raw_tracepoint]
pub fn armtune_dr_raw(_ctx: RawTracePointContext) -> i32 {
    0
}

/// `armtune doctor` loads this to learn whether uprobes work here.
#[uprobe]
pub fn armtune_dr_up(_ctx: ProbeContext) -> u32 {
    0
}

/// `armtune doctor` loads this to learn whether kprobes work here.
#[kprobe]
pub fn armtune_dr_kp(_ctx: ProbeContext) -> u32 {
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
