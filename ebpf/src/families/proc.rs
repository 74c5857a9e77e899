//! `proc`: process lifetimes. Each target's exec and exit lands in `PROC_LIVES`, one entry per
//! process, read by the loader at the end; nothing crosses to user space while the profile runs.
//!
//! The exit code and the process's start time live in `task_struct`, whose offsets come from the
//! kernel's BTF through globals; without BTF they stay unknown and the start is the exec's time.

use armtune_common::{counter, events, proc_life, ProcLife, maps};
use aya_ebpf::{
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns},
    macros::{map, tracepoint},
    maps::HashMap,
    programs::TracePointContext,
};

use crate::{bump, enabled, is_target, read_global, EEXIST};

/// Byte offset of `task_struct.exit_code`; `u32::MAX` when the kernel's BTF did not say.
#[no_mangle]
static PROC_TASK_EXIT_CODE: u32 = u32::MAX;
/// Byte offset of `task_struct.start_time`; `u32::MAX` when unknown.
#[no_mangle]
static PROC_TASK_START_TIME: u32 = u32::MAX;
/// Byte offsets of `task_struct.real_parent` and `task_struct.tgid`; `u32::MAX` when unknown.
#[no_mangle]
static PROC_TASK_REAL_PARENT: u32 = u32::MAX;
#[no_mangle]
static PROC_TASK_TGID: u32 = u32::MAX;
/// Byte offset of `group_dead` in the `sched:sched_process_exit` record (Linux 6.14+); `u32::MAX`
/// on kernels without it, where the main thread's exit stands for the process's.
#[no_mangle]
static PROC_EXIT_GROUP_DEAD: u32 = u32::MAX;

/// Process lives by process id.
#[map]
static PROC_LIVES: HashMap<u32, ProcLife> = HashMap::with_max_entries(maps::PROC_LIVES.entries, 0);

/// `sched:sched_process_exec`: a target started a new program.
#[tracepoint]
pub fn armtune_proc_exec(_ctx: TracePointContext) -> u32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !enabled(events::PROC) || !is_target(tgid) {
        return 0;
    }
    if let Some(life) = life_of(tgid) {
        let now = unsafe { bpf_ktime_get_ns() };
        unsafe {
            // The first exec: a fork's moments before it belong to the parent's program.
            if (*life).exec_ns == 0 {
                (*life).exec_ns = now;
            }
            (*life).execs += 1;
            (*life).comm = bpf_get_current_comm().unwrap_or([0; 16]);
        }
    }
    0
}

/// `sched:sched_process_exit`: a target's thread exited; the process's end when it was the last
/// (or, on kernels that do not say, the main thread).
#[tracepoint]
pub fn armtune_proc_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let (tgid, tid) = ((pid_tgid >> 32) as u32, pid_tgid as u32);
    if !enabled(events::PROC) || !is_target(tgid) {
        return 0;
    }
    let group_dead = read_global(&PROC_EXIT_GROUP_DEAD);
    let last = if group_dead == u32::MAX {
        tid == tgid
    } else {
        unsafe { ctx.read_at::<u8>(group_dead as usize) }.unwrap_or(0) != 0
    };
    if !last {
        return 0;
    }
    if let Some(life) = life_of(tgid) {
        let now = unsafe { bpf_ktime_get_ns() };
        let code = task_field::<u32>(read_global(&PROC_TASK_EXIT_CODE)).unwrap_or(proc_life::NO_EXIT_CODE);
        unsafe {
            (*life).exit_ns = now;
            (*life).exit_code = code;
            (*life).flags |= proc_life::EXITED;
            (*life).comm = bpf_get_current_comm().unwrap_or([0; 16]);
        }
    }
    0
}

/// The entry of process `tgid`, made (with what `task_struct` says of its start and parent) when
/// it is new; `None` when the map is full, which is counted.
#[inline(always)]
fn life_of(tgid: u32) -> Option<*mut ProcLife> {
    if let Some(life) = PROC_LIVES.get_ptr_mut(&tgid) {
        return Some(life);
    }
    let parent = task_field::<usize>(read_global(&PROC_TASK_REAL_PARENT)).unwrap_or(0);
    let tgid_offset = read_global(&PROC_TASK_TGID);
    let ppid = if parent == 0 || tgid_offset == u32::MAX {
        0
    } else {
        unsafe { aya_ebpf::helpers::bpf_probe_read_kernel((parent + tgid_offset as usize) as *const u32) }.unwrap_or(0)
    };
    let fresh = ProcLife {
        start_ns: task_field::<u64>(read_global(&PROC_TASK_START_TIME)).unwrap_or(0),
        ppid,
        exit_code: proc_life::NO_EXIT_CODE,
        ..ProcLife::default()
    };
    // -EEXIST: another CPU made it first, which is as good.
    if let Err(e) = PROC_LIVES.insert(&tgid, &fresh, BPF_NOEXIST as u64) {
        if e != EEXIST {
            bump(counter::PROC_LOST);
            return None;
        }
    }
    PROC_LIVES.get_ptr_mut(&tgid)
}

/// A field of the current task at `offset` (`u32::MAX`: unknown).
#[inline(always)]
fn task_field<T>(offset: u32) -> Option<T> {
    if offset == u32::MAX {
        return None;
    }
    let task = unsafe { bpf_get_current_task() } as usize;
    unsafe { aya_ebpf::helpers::bpf_probe_read_kernel((task + offset as usize) as *const T) }.ok()
}
