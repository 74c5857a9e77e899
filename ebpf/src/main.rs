//! armtune's eBPF programs, loaded by the `armtune-probes` crate.
//!
//! Everything aggregates in the kernel: CPU samples bump a count per (process, stack), off-CPU
//! intervals add nanoseconds per (process, stack, state), run-queue waits bump log2 histogram
//! slots. User space reads the maps once at the end, so the cost per event is a few map updates
//! and never a trip to user space. Only process life-cycle events (first sample of a process,
//! exec) cross the ring buffer, so the loader can capture `/proc/PID/maps` while processes live.
//!
//! Nothing here needs kprobes, and nothing needs BTF: perf_event, classic tracepoints (field offsets
//! come from the running kernel's format files, through globals the loader sets) and uprobes load on
//! kernels without it (Raspberry Pi OS kernels ship without BTF). Where the kernel has BTF, the
//! scheduler events use BTF-typed twins of their tracepoint programs, which cost less per event.
#![no_std]
#![no_main]
// Atomic add on map values: core has no AtomicU64::fetch_add for the bpf target; the intrinsic
// lowers to the BPF atomic add instruction.
#![allow(internal_features)]
#![feature(core_intrinsics)]

mod doctor;
mod process;
mod stacks;
/// The event families, one file each (`src/families/*.rs`, found by `build.rs`): cpu, sched
/// (off-cpu, runq, wakeup), alloc (alloc, leak), gc, sdt, proc. What they share is here.
mod families {
    include!(concat!(env!("OUT_DIR"), "/families.rs"));
}

use core::intrinsics::{atomic_xadd, AtomicOrdering};

use armtune_common::{counter, maps, ProcEvent, SampleKey, Totals};
use aya_ebpf::{
    bindings::BPF_NOEXIST,
    macros::map,
    maps::{HashMap, LruHashMap, PerCpuArray, RingBuf},
};

/// 1 when only processes in `TARGETS` are recorded; 0 records the whole host.
#[no_mangle]
static FILTER_TARGETS: u8 = 0;
/// With `FILTER_TARGETS`: a cgroup (v2) id whose tasks, and its descendants' tasks, are targets
/// too (`--cgroup`, `--unit`, `--container`); 0 for none.
#[no_mangle]
static FILTER_CGROUP: u64 = 0;
/// The level of `FILTER_CGROUP` below the root of the hierarchy (the root is 0).
#[no_mangle]
static FILTER_CGROUP_LEVEL: u32 = 0;
/// armtune's own process: never recorded (host-wide, its samples would be the profiler's own
/// work, and naming them means reading its own debug information).
#[no_mangle]
static SELF_TGID: u32 = 0;
/// 1 to key samples by thread id as well as process id.
#[no_mangle]
static PER_THREAD: u8 = 0;
/// Bits of `armtune_common::events`: which programs record (the others return at once).
#[no_mangle]
static EVENTS: u32 = 0;
/// Byte offset of `child_pid` in the `sched:sched_process_fork` record, read by the loader from the
/// tracepoint's format file because it differs between kernels.
#[no_mangle]
static FORK_CHILD_PID_OFFSET: u32 = 44;

/// CPU sample counts.
#[map]
static COUNTS: HashMap<SampleKey, u64> = HashMap::with_max_entries(maps::COUNTS.entries, 0);
/// Processes to record when `FILTER_TARGETS` is set; children of targets are added on fork.
#[map]
static TARGETS: HashMap<u32, u8> = HashMap::with_max_entries(maps::TARGETS.entries, 0);
/// Processes already announced to user space.
#[map]
static SEEN: LruHashMap<u32, u8> = LruHashMap::with_max_entries(maps::SEEN.entries, 0);
/// Per-CPU counters, indexed by `armtune_common::counter`.
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);
/// Process life-cycle events for the loader.
#[map]
static PROC_EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

/// Reads a global the loader may have rewritten: without the volatile read the compiler would
/// fold the compile-time value in.
#[inline(always)]
fn read_global<T: Copy>(global: &T) -> T {
    unsafe { core::ptr::read_volatile(global) }
}

#[inline(always)]
fn enabled(event: u32) -> bool {
    read_global(&EVENTS) & event != 0
}

#[inline(always)]
fn filtering() -> bool {
    read_global(&FILTER_TARGETS) != 0
}

#[inline(always)]
fn bump(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // Per-CPU slot: no other CPU writes it, and the program is not re-entered on this CPU.
        unsafe { *slot += 1 };
    }
}

/// Whether process `tgid`, which must be the current task's, is recorded.
#[inline(always)]
fn is_target(tgid: u32) -> bool {
    if tgid == read_global(&SELF_TGID) {
        return false;
    }
    !filtering() || unsafe { TARGETS.get(&tgid) }.is_some() || in_cgroup()
}

/// Whether the current task is in `FILTER_CGROUP` or below it. Asked of the task itself, each
/// time: a process that moves in (a container's first program, a service's new worker) is
/// recorded from then on, one that moves out is not.
#[inline(always)]
fn in_cgroup() -> bool {
    let id = read_global(&FILTER_CGROUP);
    id != 0
        && unsafe {
            aya_ebpf::helpers::gen::bpf_get_current_ancestor_cgroup_id(read_global(&FILTER_CGROUP_LEVEL) as i32)
        } == id
}

/// Announces a process the first time any program records it, so the loader captures its mappings.
#[inline(always)]
fn note_process(tgid: u32) {
    if unsafe { SEEN.get(&tgid) }.is_none() && SEEN.insert(&tgid, &1, BPF_NOEXIST as u64).is_ok() {
        announce(armtune_common::proc_event::FIRST_SAMPLE, tgid);
    }
}

#[inline(always)]
fn announce(kind: u32, tgid: u32) {
    if PROC_EVENTS.output(&ProcEvent { kind, tgid }, 0).is_err() {
        bump(counter::EVENTS_LOST);
    }
}

/// `-EEXIST` as map helpers return it: another CPU inserted the key first, or a stack's bucket
/// is taken.
pub(crate) const EEXIST: i64 = -17;
/// `-EFAULT` from `bpf_get_stackid`: the task has no such stack (a kernel thread's user stack).
pub(crate) const EFAULT: i64 = -14;

/// The log2 bucket of `value` (0 and 1 share bucket 0), bounded for the verifier.
#[inline(always)]
pub(crate) fn log2_slot(value: u64) -> u32 {
    let slot = if value == 0 { 0 } else { 63 - value.leading_zeros() };
    if slot >= armtune_common::HIST_SLOTS {
        armtune_common::HIST_SLOTS - 1
    } else {
        slot
    }
}

/// Adds to a map value that other CPUs may add to at the same time.
#[inline(always)]
fn atomic_add(value: *mut u64, delta: u64) {
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(value, delta) };
}

/// Adds one to `map[key]`, creating it; false when the map is full.
#[inline(always)]
fn add_one<K>(map: &HashMap<K, u64>, key: &K) -> bool {
    add_n(map, key, 1)
}

/// Adds `n` to `map[key]`, creating it; false when the map is full.
#[inline(always)]
fn add_n<K>(map: &HashMap<K, u64>, key: &K, n: u64) -> bool {
    if let Some(count) = map.get_ptr_mut(key) {
        atomic_add(count, n);
        return true;
    }
    match map.insert(key, &n, BPF_NOEXIST as u64) {
        Ok(()) => true,
        // Another CPU inserted it between our lookup and insert.
        Err(EEXIST) => {
            if let Some(count) = map.get_ptr_mut(key) {
                atomic_add(count, n);
            }
            true
        }
        Err(_) => false,
    }
}

/// Adds `amount` and `events` events to `map[key]`, creating it; false when the map is full.
/// Other CPUs may add to the same key at the same time.
#[inline(always)]
fn add_totals<K>(map: &HashMap<K, Totals>, key: &K, amount: u64, events: u64) -> bool {
    let add = |t: *mut Totals| unsafe {
        atomic_add(core::ptr::addr_of_mut!((*t).sum), amount);
        atomic_add(core::ptr::addr_of_mut!((*t).count), events);
    };
    if let Some(t) = map.get_ptr_mut(key) {
        add(t);
        return true;
    }
    match map.insert(key, &Totals { sum: amount, count: events }, BPF_NOEXIST as u64) {
        Ok(()) => true,
        // Another CPU inserted it between our lookup and insert.
        Err(EEXIST) => {
            if let Some(t) = map.get_ptr_mut(key) {
                add(t);
            }
            true
        }
        Err(_) => false,
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
