//! The one place events take their stacks: each family that records stacks stores the
//! [`StackRef`] that [`both`] or [`user_only`] return, and user space reads the maps here
//! (`probes/src/stacks.rs`). A new way of capturing stacks goes here, not into the families.

use armtune_common::{
    counter, maps, stack_copy, stack_kind, unwind, StackBuf, StackCopy, StackRef, StackSample, UserRegs,
    MAX_STACK_COPY, OVERFLOW_STACK_BIT, STACK_COPY_PAGE,
};
use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::gen::{
        bpf_get_current_task_btf, bpf_get_smp_processor_id, bpf_get_stack, bpf_ktime_get_ns, bpf_probe_read_kernel,
        bpf_probe_read_user, bpf_task_pt_regs,
    },
    macros::map,
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf, StackTrace},
    EbpfContext,
};

use crate::{bump, read_global, EEXIST, EFAULT};

/// The current task's user and kernel stacks, as `STACK_KINDS` asks.
#[inline(always)]
pub fn both<C: EbpfContext>(ctx: &C) -> StackRef {
    StackRef { user: user_stack(ctx), kernel: kernel_stack(ctx) }
}

/// The current task's user stack only (uprobes: the kernel stack is the probe's own).
#[inline(always)]
pub fn user_only<C: EbpfContext>(ctx: &C) -> StackRef {
    StackRef { user: user_stack(ctx), kernel: -1 }
}

/// Which stacks to record: bit 0 user, bit 1 kernel (`--stacks`, as bcc's -U / -K).
#[no_mangle]
pub(crate) static STACK_KINDS: u32 = 3;

/// User and kernel stacks, shared by every kind of event.
#[map]
static STACKS: StackTrace = StackTrace::with_max_entries(maps::STACKS.entries, 0);

/// Stacks that collided in `STACKS`, by their own hash (ids carry `OVERFLOW_STACK_BIT`).
#[map]
static OVERFLOW_STACKS: HashMap<u32, StackBuf> = HashMap::with_max_entries(maps::OVERFLOW_STACKS.entries, 0);

/// Scratch space to copy a colliding stack into (too big for the BPF stack).
#[map]
static STACK_SCRATCH: PerCpuArray<StackBuf> = PerCpuArray::with_max_entries(1, 0);

/// The user stack id of the current task, or -1 when user stacks are not recorded.
#[inline(always)]
fn user_stack<C: EbpfContext>(ctx: &C) -> i32 {
    if read_global(&STACK_KINDS) & stack_kind::USER == 0 {
        return -1;
    }
    stack_id(ctx, aya_ebpf::bindings::BPF_F_USER_STACK as u64, counter::USER_STACK_LOST)
}

/// The kernel stack id of the current task, or -1 when kernel stacks are not recorded.
#[inline(always)]
fn kernel_stack<C: EbpfContext>(ctx: &C) -> i32 {
    if read_global(&STACK_KINDS) & stack_kind::KERNEL == 0 {
        return -1;
    }
    stack_id(ctx, 0, counter::KERNEL_STACK_LOST)
}

/// Stack id of the current task, with losses (collision, full map) counted; "no such stack"
/// (-EFAULT: a kernel thread has no user stack, a user-mode sample no kernel stack) is not a loss.
#[inline(always)]
fn stack_id<C: EbpfContext>(ctx: &C, flags: u64, lost_counter: u32) -> i32 {
    match unsafe { STACKS.get_stackid(ctx, flags) } {
        Ok(id) => id as i32,
        // -EEXIST: another stack holds this stack's bucket. Keep it in the overflow map instead of
        // losing it (bpf_get_stackid has no chaining: collisions start long before the map fills).
        Err(EEXIST) => overflow_stack(ctx, flags).unwrap_or_else(|| {
            bump(lost_counter);
            EEXIST as i32
        }),
        Err(err) => {
            if err != EFAULT {
                bump(lost_counter);
            }
            err as i32
        }
    }
}

/// Copies the stack with `bpf_get_stack` and files it in `OVERFLOW_STACKS` under its own hash.
#[inline(always)]
fn overflow_stack<C: EbpfContext>(ctx: &C, flags: u64) -> Option<i32> {
    let buf = STACK_SCRATCH.get_ptr_mut(0)?;
    let size = core::mem::size_of::<StackBuf>() as u32;
    // The kernel zero-fills what the stack does not use, so equal stacks hash equal.
    let len = unsafe { bpf_get_stack(ctx.as_ptr(), buf.cast(), size, flags) };
    if len <= 0 {
        return None;
    }
    let mut hash: u32 = 2166136261;
    let ips = unsafe { &(*buf).ips };
    for ip in ips.iter() {
        if *ip == 0 {
            break;
        }
        hash = (hash ^ (*ip as u32)).wrapping_mul(16777619);
        hash = (hash ^ ((*ip >> 32) as u32)).wrapping_mul(16777619);
    }
    let id = (hash & (OVERFLOW_STACK_BIT - 1)) | OVERFLOW_STACK_BIT;
    if unsafe { OVERFLOW_STACKS.get(&id) }.is_none() {
        OVERFLOW_STACKS.insert(&id, unsafe { &*buf }, 0).ok()?;
    }
    Some(id as i32)
}

/// How user stacks are taken: `armtune_common::unwind` (`--unwind`).
#[no_mangle]
pub(crate) static UNWIND: u32 = unwind::FP;
/// Bytes of user stack to copy per event (`--stack-copy`), at most `MAX_STACK_COPY`.
#[no_mangle]
static STACK_COPY: u32 = 32 * 1024;
/// 1 where the kernel has BTF: an event taken in kernel mode finds the task's user registers with
/// `bpf_task_pt_regs`. 0 leaves that path out, so the verifier never sees the BTF helpers.
#[no_mangle]
static TASK_REGS: u8 = 0;
/// Bytes waiting in `USER_STACKS` above which user space is woken at once (it also reads on its
/// own every 100 ms): fewer wakeups than one per sample.
#[no_mangle]
static STACK_WAKEUP_BYTES: u64 = 1 << 20;

/// User registers and stack windows, for user space to unwind.
#[map]
static USER_STACKS: RingBuf = RingBuf::with_byte_size(maps::USER_STACKS.entries, 0);

/// Scratch to assemble a sample in, two per CPU: `[2 * cpu]` for the CPU sampler, which can
/// interrupt the other programs, `[2 * cpu + 1]` for those.
#[map]
static STACK_COPIES: Array<StackCopy> = Array::with_max_entries(maps::STACK_COPIES.entries, 0);

/// `--unwind auto`'s verdicts, by tgid: `VERDICT_FRAME_POINTERS` (the kernel walks the process's
/// stacks), `VERDICT_CFI`, or `VERDICT_PENDING` (its stacks came, user space is to judge it).
/// A process not in it has sent no stack yet. An exec takes a process out (its new image is judged
/// anew); LRU, so a host-wide run never fills it: a process that falls out is judged again.
#[map]
pub(crate) static FRAME_POINTERS: LruHashMap<u32, u8> = LruHashMap::with_max_entries(maps::FRAME_POINTERS.entries, 0);

/// Whether process `tgid`'s user stacks go to user space for unwinding (`--unwind dwarf`, or
/// `auto` for a process not known to keep frame pointers) instead of the stack map.
#[inline(always)]
pub fn unwinding(tgid: u32) -> bool {
    if read_global(&STACK_KINDS) & stack_kind::USER == 0 {
        return false;
    }
    match read_global(&UNWIND) {
        unwind::DWARF => true,
        unwind::AUTO => !matches!(unsafe { FRAME_POINTERS.get(&tgid) }, Some(&unwind::VERDICT_FRAME_POINTERS)),
        _ => false,
    }
}

/// Whether this is the first stack of `tgid` since it was last judged by `--unwind auto` (or since
/// its exec): it wakes user space, to judge it at once. Marked pending, so that only the first
/// does (a wakeup per stack would cost more than the stacks).
#[inline(always)]
fn first_unjudged(tgid: u32) -> bool {
    read_global(&UNWIND) == unwind::AUTO
        && unsafe { FRAME_POINTERS.get(&tgid) }.is_none()
        && FRAME_POINTERS.insert(&tgid, &unwind::VERDICT_PENDING, aya_ebpf::bindings::BPF_NOEXIST as u64).is_ok()
}

/// Whether events in the scheduler's tracepoints send `tgid`'s user stacks to user space: they
/// need the task's saved registers, which only BTF kernels give (elsewhere frame pointers serve).
#[inline(always)]
pub fn unwinding_tasks(tgid: u32) -> bool {
    read_global(&TASK_REGS) != 0 && unwinding(tgid)
}

/// Sends a record without a stack that completes its thread's open event (`COMPLETES`).
#[inline(always)]
pub fn send_completion(header: &StackSample) {
    let mut record = *header;
    record.flags = stack_copy::COMPLETES;
    record.len = 0;
    record.time_ns = unsafe { bpf_ktime_get_ns() };
    if USER_STACKS.output(&record, 0).is_err() {
        bump(counter::STACK_COPY_LOST);
    }
}

/// The kernel stack id alone (for events whose user stack goes through [`send_user_stack`]).
#[inline(always)]
pub fn kernel_only<C: EbpfContext>(ctx: &C) -> i32 {
    kernel_stack(ctx)
}

/// Where an event's user registers are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RegsAt {
    /// In the context, as registers at the event (perf events: user or kernel mode; uprobes:
    /// always user mode).
    Context,
    /// Saved at the top of the task's kernel stack (tracepoints: the task is in the kernel).
    Task,
}

/// Word indexes of the registers in the registers a perf event or uprobe hands over (x86_64
/// `struct pt_regs`; aarch64 `struct user_pt_regs`, which its `pt_regs` starts with): pc, sp,
/// frame pointer, link register (none: `usize::MAX`), and the word that tells user mode.
#[cfg(bpf_target_arch = "x86_64")]
const REG_WORDS: [usize; 5] = [16, 19, 4, usize::MAX, 17];
#[cfg(bpf_target_arch = "aarch64")]
const REG_WORDS: [usize; 5] = [32, 31, 29, 30, 33];
#[cfg(not(any(bpf_target_arch = "x86_64", bpf_target_arch = "aarch64")))]
const REG_WORDS: [usize; 5] = [usize::MAX; 5];

/// Whether the mode word says user mode: x86_64 `cs` with privilege level 3, aarch64 `pstate`
/// with mode EL0t.
#[inline(always)]
fn user_mode(mode: u64) -> bool {
    if cfg!(bpf_target_arch = "x86_64") {
        mode & 3 == 3
    } else if cfg!(bpf_target_arch = "aarch64") {
        mode & 0xf == 0
    } else {
        false
    }
}

/// Reads the registers at `base` (words), directly from the context or with
/// `bpf_probe_read_kernel` from the task's saved registers.
#[inline(always)]
fn read_regs(base: *const u64, from_context: bool) -> Option<(UserRegs, u64)> {
    if REG_WORDS[0] == usize::MAX {
        return None;
    }
    let word = |i: usize| -> u64 {
        if i == usize::MAX {
            return 0;
        }
        if from_context {
            unsafe { core::ptr::read(base.add(i)) }
        } else {
            let mut v = 0u64;
            let src = unsafe { base.add(i) };
            let rc = unsafe { bpf_probe_read_kernel((&mut v as *mut u64).cast(), 8, src.cast()) };
            if rc != 0 {
                0
            } else {
                v
            }
        }
    };
    let regs = UserRegs { pc: word(REG_WORDS[0]), sp: word(REG_WORDS[1]), fp: word(REG_WORDS[2]), lr: word(REG_WORDS[3]) };
    Some((regs, word(REG_WORDS[4])))
}

/// The current task's user registers: from the context when it was taken in user mode, else
/// from the task's saved user context (needs BTF).
#[inline(always)]
fn user_regs<C: EbpfContext>(ctx: &C, at: RegsAt) -> Option<UserRegs> {
    if at == RegsAt::Context {
        let (regs, mode) = read_regs(ctx.as_ptr() as *const u64, true)?;
        if user_mode(mode) {
            return Some(regs);
        }
    }
    if read_global(&TASK_REGS) == 0 {
        return None;
    }
    let task = unsafe { bpf_get_current_task_btf() };
    if task.is_null() {
        return None;
    }
    let saved = unsafe { bpf_task_pt_regs(task) } as *const u64;
    if saved.is_null() {
        return None;
    }
    let (regs, mode) = read_regs(saved, false)?;
    // A kernel thread has no user context: its saved registers are zero.
    (user_mode(mode) && regs.sp != 0).then_some(regs)
}

/// Sends `header` with the current task's user registers and a window of its user stack through
/// `USER_STACKS` (`--unwind dwarf`); `sampler` picks the CPU sampler's scratch. False when the
/// ring buffer was full (counted as `STACK_COPY_LOST`).
#[inline(always)]
pub fn send_user_stack<C: EbpfContext>(ctx: &C, at: RegsAt, sampler: bool, header: &StackSample) -> bool {
    let cpu = unsafe { bpf_get_smp_processor_id() };
    let slot = cpu * 2 + u32::from(!sampler);
    let Some(copy) = STACK_COPIES.get_ptr_mut(slot) else { return false };
    let copy = unsafe { &mut *copy };
    copy.header = *header;
    copy.header.user_fp = -1;
    copy.header.time_ns = unsafe { bpf_ktime_get_ns() };
    let mut len: usize = 0;
    match user_regs(ctx, at) {
        Some(regs) => {
            copy.header.regs = regs;
            let (copied, flags) = copy_stack(&mut copy.bytes, regs.sp);
            len = copied;
            copy.header.flags = flags;
        }
        None => {
            // No registers to start from (kernel mode without BTF): the kernel's own walk of the
            // user stack by frame pointers finds them itself.
            copy.header.flags = stack_copy::NO_REGS;
            copy.header.user_fp =
                stack_id(ctx, aya_ebpf::bindings::BPF_F_USER_STACK as u64, counter::USER_STACK_LOST);
        }
    }
    copy.header.len = len as u32;
    let total = core::mem::size_of::<StackSample>() + len;
    if total > core::mem::size_of::<StackCopy>() {
        return false;
    }
    let record = unsafe { core::slice::from_raw_parts((copy as *const StackCopy).cast::<u8>(), total) };
    let waiting = USER_STACKS.query(BPF_RB_AVAIL_DATA as u64);
    let wake = waiting >= read_global(&STACK_WAKEUP_BYTES) || first_unjudged(header.tgid);
    let flags = if wake { BPF_RB_FORCE_WAKEUP } else { BPF_RB_NO_WAKEUP };
    if USER_STACKS.output(record, flags as u64).is_err() {
        bump(counter::STACK_COPY_LOST);
        return false;
    }
    true
}

/// Copies up to `STACK_COPY` bytes of user stack from `sp` into `bytes`, page by page (a read
/// that crosses into an unmapped page fails whole): the first, partial page up to its end, then
/// whole pages until the window is covered or a page cannot be read. Returns the bytes copied and
/// the `stack_copy` flags.
#[inline(always)]
fn copy_stack(bytes: &mut [u8; MAX_STACK_COPY + STACK_COPY_PAGE], sp: u64) -> (usize, u32) {
    const PAGE: usize = STACK_COPY_PAGE;
    let window = read_global(&STACK_COPY) as usize;
    let mut off: usize = 0;
    let mut chunk = PAGE - (sp as usize & (PAGE - 1));
    for _ in 0..(MAX_STACK_COPY / PAGE + 1) {
        // Read back through memory so the compiler cannot turn `bytes + off` into a pointer it
        // steps by itself (whose range the verifier cannot follow): the bounds below are then
        // checked on the very values the read uses, keeping off + chunk inside `bytes`.
        let at = unsafe { core::ptr::read_volatile(&off) };
        let size = unsafe { core::ptr::read_volatile(&chunk) };
        if at >= window || at > MAX_STACK_COPY || size > PAGE {
            break;
        }
        let dst = unsafe { bytes.as_mut_ptr().add(at) };
        let src = (sp as usize).wrapping_add(at) as *const core::ffi::c_void;
        if unsafe { bpf_probe_read_user(dst.cast(), size as u32, src) } != 0 {
            return (at, stack_copy::UNREADABLE);
        }
        off = at + size;
        chunk = PAGE;
    }
    (off, 0)
}
