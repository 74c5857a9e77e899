//! Do-nothing programs `armtune doctor` loads to learn which program types work here.

use aya_ebpf::{
    macros::{kprobe, raw_tracepoint, uprobe},
    programs::{ProbeContext, RawTracePointContext},
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
