//! Process life cycle: following forks of targets, noticing execs.

use armtune_common::{counter, proc_event};
use aya_ebpf::{
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid},
    macros::tracepoint,
    programs::TracePointContext,
};

use crate::{announce, bump, filtering, is_target, read_global, FORK_CHILD_PID_OFFSET, SEEN, TARGETS};

/// `sched:sched_process_fork`: a child of a target becomes a target, so `profile -- CMD` covers the
/// whole process tree the command starts.
#[tracepoint]
pub fn armtune_fork(ctx: TracePointContext) -> u32 {
    if !filtering() {
        return 0;
    }
    let parent = (bpf_get_current_pid_tgid() >> 32) as u32;
    if unsafe { TARGETS.get(&parent) }.is_none() {
        return 0;
    }
    let offset = read_global(&FORK_CHILD_PID_OFFSET) as usize;
    if let Ok(child) = unsafe { ctx.read_at::<i32>(offset) } {
        // Threads arrive here too (their pid is a tid); as keys they are harmless, and a thread's
        // events carry its process's tgid anyway.
        if TARGETS.insert(&(child as u32), &1, 0).is_ok() {
            bump(counter::CHILDREN_FOLLOWED);
        }
    }
    0
}

/// `sched:sched_process_exec`: a target replaced its image; the loader re-reads its mappings, and
/// the thread's recorded name becomes the new program's (a spawned command first blocks, as
/// armtune's child, under armtune's name).
#[tracepoint]
pub fn armtune_exec(_ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    // The new image's code is judged anew (`--unwind auto`).
    let _ = crate::stacks::FRAME_POINTERS.remove(&tgid);
    if let Some(task) = crate::families::sched::TASKS.get_ptr_mut(&(pid_tgid as u32)) {
        unsafe { (*task).comm = bpf_get_current_comm().unwrap_or([0; 16]) };
    }
    if is_target(tgid) && unsafe { SEEN.get(&tgid) }.is_some() {
        announce(proc_event::EXEC, tgid);
    }
    0
}
