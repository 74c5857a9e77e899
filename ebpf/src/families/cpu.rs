//! CPU sampling on the software cpu-clock.

use armtune_common::{counter, events, SampleKey, StackSample};
use aya_ebpf::{
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid},
    macros::perf_event,
    programs::PerfEventContext,
};

use crate::{add_one, bump, enabled, is_target, note_process, read_global, stacks, COUNTS, PER_THREAD};

/// CPU sample: count (who, user stack, kernel stack).
#[perf_event]
pub fn armtune_cpu(ctx: PerfEventContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    // The idle task is not work; perf shows it as swapper, which only hides the real profile.
    if tid == 0 || !enabled(events::CPU) || !is_target(tgid) {
        return 0;
    }
    bump(counter::SAMPLES);
    note_process(tgid);
    let comm = bpf_get_current_comm().unwrap_or([0; 16]);
    let tid = if read_global(&PER_THREAD) != 0 { tid } else { 0 };
    if stacks::unwinding(tgid) {
        // Aggregated in user space once unwound. When the ring buffer is full the sample is
        // counted here instead, with its frame-pointer stack (the drop is counted too).
        let header = StackSample {
            tgid,
            tid,
            family: events::CPU,
            kernel: stacks::kernel_only(&ctx),
            weight: 1,
            comm,
            ..StackSample::default()
        };
        if stacks::send_user_stack(&ctx, stacks::RegsAt::Context, true, &header) {
            return 0;
        }
    }
    let key = SampleKey {
        tgid,
        tid,
        stacks: stacks::both(&ctx),
        comm,
    };
    if !add_one(&COUNTS, &key) {
        bump(counter::COUNT_MAP_FULL);
    }
    0
}
