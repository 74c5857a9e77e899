//! Garbage-collector events of Go programs, from entry uprobes only: Go moves goroutine stacks,
//! and the return address a uretprobe plants would be copied to the wrong place.
//!
//! - `runtime.gcMarkTermination` runs once per completed cycle (it increments `MemStats.NumGC`);
//! - `runtime.stopTheWorldWithSema` and `runtime.startTheWorldWithSema` bracket every
//!   stop-the-world pause (two per cycle, and any other STW such as `runtime.ReadMemStats`);
//! - `runtime.gcAssistAlloc` runs when an allocating goroutine is in debt to the collector and
//!   must mark before its allocation proceeds: the user stack names who allocated too fast.

use armtune_common::{counter, events, GcStats, SdtKey, SizeKey, maps};
use aya_ebpf::{
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{map, uprobe},
    maps::HashMap,
    programs::ProbeContext,
};

use crate::{add_one, atomic_add, enabled, is_target, note_process};

/// Counters per process.
#[map]
static GC_STATS: HashMap<u32, GcStats> = HashMap::with_max_entries(maps::GC_STATS.entries, 0);
/// Stop-the-world pause lengths per process, log2 buckets of microseconds.
#[map]
static GC_PAUSES: HashMap<SizeKey, u64> = HashMap::with_max_entries(maps::GC_PAUSES.entries, 0);
/// Mark assists per (process, allocating stack); `ip` unused.
#[map]
static GC_ASSISTS: HashMap<SdtKey, u64> = HashMap::with_max_entries(maps::GC_ASSISTS.entries, 0);

#[inline(always)]
fn stats() -> Option<*mut GcStats> {
    if !enabled(events::GC) {
        return None;
    }
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !is_target(tgid) {
        return None;
    }
    if let Some(s) = GC_STATS.get_ptr_mut(&tgid) {
        return Some(s);
    }
    let _ = GC_STATS.insert(&tgid, &GcStats::default(), BPF_NOEXIST as u64);
    GC_STATS.get_ptr_mut(&tgid)
}

/// `runtime.gcMarkTermination`: a cycle completes.
#[uprobe]
pub fn armtune_gc_cycle(_ctx: ProbeContext) -> u32 {
    if let Some(s) = stats() {
        unsafe { (*s).cycles += 1 };
    }
    0
}

/// `runtime.stopTheWorldWithSema`: a pause begins (the runtime runs one at a time).
#[uprobe]
pub fn armtune_gc_stw_begin(_ctx: ProbeContext) -> u32 {
    if let Some(s) = stats() {
        unsafe { (*s).pause_since_ns = bpf_ktime_get_ns() };
    }
    0
}

/// `runtime.startTheWorldWithSema`: the pause ends.
#[uprobe]
pub fn armtune_gc_stw_end(_ctx: ProbeContext) -> u32 {
    let Some(s) = stats() else { return 0 };
    let s = unsafe { &mut *s };
    if s.pause_since_ns == 0 {
        return 0; // began before the probes were attached
    }
    let ns = unsafe { bpf_ktime_get_ns() }.saturating_sub(s.pause_since_ns);
    s.pause_since_ns = 0;
    s.pauses += 1;
    s.pause_total_ns += ns;
    if ns > s.pause_max_ns {
        s.pause_max_ns = ns;
    }
    let slot = crate::log2_slot(ns / 1000);
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    let _ = add_one(&GC_PAUSES, &SizeKey { tgid, slot });
    0
}

/// `runtime.gcAssistAlloc`: an allocation pays its debt to the collector by marking first.
#[uprobe]
pub fn armtune_gc_assist(ctx: ProbeContext) -> u32 {
    let Some(s) = stats() else { return 0 };
    // Unlike the cycle and pause probes, which the runtime runs one at a time, goroutines on
    // every CPU assist at once.
    atomic_add(unsafe { core::ptr::addr_of_mut!((*s).assists) }, 1);
    let pid_tgid = bpf_get_current_pid_tgid();
    note_process((pid_tgid >> 32) as u32);
    crate::families::sdt::count_hit(&ctx, &GC_ASSISTS, events::GC, pid_tgid, 0, counter::GC_ASSIST_LOST);
    0
}
