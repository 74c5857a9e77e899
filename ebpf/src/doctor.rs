//! Do-nothing programs `armtune doctor` loads to learn which program types work here.

use aya_ebpf::{
    macros::{kprobe, raw_tracepoint, uprobe, uretprobe},
    programs::{ProbeContext, RawTracePointContext, RetProbeContext},
};

/// Raw tracepoints.
#[raw_tracepoint]
pub fn armtune_dr_raw(_ctx: RawTracePointContext) -> i32 {
    0
}

/// Uprobes.
#[uprobe]
pub fn armtune_dr_up(_ctx: ProbeContext) -> u32 {
    0
}

/// Kprobes (not used by armtune; shown for comparison).
#[kprobe]
pub fn armtune_dr_kp(_ctx: ProbeContext) -> u32 {
    0
}

/// Uretprobes (also the return half of the benchmarks' empty-probe floor).
#[uretprobe]
pub fn armtune_dr_uret(_ctx: RetProbeContext) -> u32 {
    0
}
