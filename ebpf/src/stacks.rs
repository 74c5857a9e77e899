//! The one place events take their stacks: each family that records stacks stores the
//! [`StackRef`] that [`both`] or [`user_only`] return, and user space reads the maps here
//! (`probes/src/stacks.rs`). A new way of capturing stacks goes here, not into the families.

use armtune_common::{counter, maps, stack_kind, StackBuf, StackRef, OVERFLOW_STACK_BIT};
use aya_ebpf::{
    helpers::gen::bpf_get_stack,
    macros::map,
    maps::{HashMap, PerCpuArray, StackTrace},
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
