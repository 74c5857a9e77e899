//! Do-nothing programs `armtune doctor` loads to learn which program types work here.

use aya_ebpf::{
    macros::{btf_tracepoint, kprobe, tracepoint, uprobe, uretprobe},
    programs::{BtfTracePointContext, ProbeContext, RetProbeContext, TracePointContext},
};

/// BTF-typed tracepoints.
#[btf_tracepoint(function = "sched_switch")]
pub fn armtune_dr_btf(_ctx: BtfTracePointContext) -> i32 {
    0
}

/// The benchmarks' empty-probe floor for scheduler events: `sched_wakeup`, BTF-typed.
#[btf_tracepoint(function = "sched_wakeup")]
pub fn armtune_dr_btf_wakeup(_ctx: BtfTracePointContext) -> i32 {
    0
}

/// The same floor with classic tracepoints (attached to both events).
#[tracepoint]
pub fn armtune_dr_tp(_ctx: TracePointContext) -> u32 {
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
