//! Allocator events from uprobes on the C library's allocation functions.
//!
//! Entry probes remember the request (size, realloc's old block, posix_memalign's out pointer) per
//! thread; the one return probe, attached to every allocation function, completes it with the
//! returned block. The allocating stack is taken at the return: there the frame-pointer chain starts
//! in the caller, while at the entry of a frameless libc function it would skip the caller.
//! Never attached to Go binaries (their stacks move under uretprobes).

use armtune_common::{
    alloc_fn, counter, events, maps, LiveBlock, LiveKey, PendingAlloc, SampleKey, SizeKey, StackRef, StackSample,
    Totals,
};
use aya_ebpf::{
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_prandom_u32, bpf_ktime_get_ns, bpf_probe_read_user,
    },
    macros::{map, uprobe, uretprobe},
    maps::{HashMap, PerCpuArray},
    programs::{ProbeContext, RetProbeContext},
};

use crate::{add_one, add_totals, bump, enabled, is_target, note_process, read_global, PER_THREAD};

/// Calls between entry and return, per thread (pid_tgid).
#[map]
static PENDING: HashMap<u64, PendingAlloc> = HashMap::with_max_entries(maps::PENDING.entries, 0);
/// Bytes and calls per allocating stack.
#[map]
static ALLOCS: HashMap<SampleKey, Totals> = HashMap::with_max_entries(maps::ALLOCS.entries, 0);
/// Blocks allocated during the run and not freed yet.
#[map]
static LIVE: HashMap<LiveKey, LiveBlock> = HashMap::with_max_entries(maps::LIVE.entries, 0);
/// Allocation sizes.
#[map]
static SIZES: HashMap<SizeKey, u64> = HashMap::with_max_entries(maps::SIZES.entries, 0);
/// Bytes left before the next sampled allocation, per CPU (`--alloc-sample`).
#[map]
static SAMPLE_LEFT: PerCpuArray<i64> = PerCpuArray::with_max_entries(1, 0);

/// Mean bytes between sampled allocations; 0 records every allocation.
#[no_mangle]
static ALLOC_SAMPLE_BYTES: u64 = 0;

/// -ln((i + 0.5) / 64) * 1024 for i in 0..64: exponential variates with mean 1024, drawn by index.
/// Exponential gaps between samples make the sampled bytes a Poisson process, as tcmalloc's
/// sampler does, so no allocation pattern can hide between fixed intervals.
const NEG_LN: [u16; 64] = [
    4968, 3844, 3320, 2976, 2719, 2513, 2342, 2195, 2067, 1953, 1851, 1758, 1672, 1594, 1520, 1452, 1388, 1328, 1271,
    1217, 1166, 1117, 1070, 1026, 983, 942, 903, 865, 828, 793, 759, 726, 694, 663, 633, 603, 575, 547, 520, 494, 469,
    444, 419, 395, 372, 349, 327, 305, 284, 263, 243, 223, 203, 184, 165, 146, 128, 110, 92, 75, 58, 41, 24, 8,
];

/// Whether this allocation of `size` bytes is recorded under sampling (always without it).
#[inline(always)]
fn sampled(size: u64) -> bool {
    let mean = read_global(&ALLOC_SAMPLE_BYTES);
    if mean == 0 {
        return true;
    }
    let Some(left) = SAMPLE_LEFT.get_ptr_mut(0) else { return true };
    unsafe {
        let remaining = *left - size as i64;
        if remaining > 0 {
            *left = remaining;
            return false;
        }
        let draw = NEG_LN[(bpf_get_prandom_u32() & 63) as usize] as u64;
        // 1018 is the mean of NEG_LN (the midpoint rule falls a little short of 1024).
        *left = (mean * draw / 1018) as i64;
    }
    true
}

#[inline(always)]
fn recording() -> Option<(u64, u32)> {
    if !enabled(events::ALLOC | events::LEAK) {
        return None;
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    is_target(tgid).then_some((pid_tgid, tgid))
}

#[inline(always)]
fn begin(function: u32, size: u64, addr: u64) -> u32 {
    if let Some((pid_tgid, _)) = recording() {
        bump(counter::ALLOC_CALLS);
        // realloc always goes on: its old block may be a sampled one that is being freed.
        if function != alloc_fn::REALLOC && !sampled(size) {
            return 0;
        }
        let _ = PENDING.insert(&pid_tgid, &PendingAlloc { size, addr, function, pad: 0 }, 0);
    }
    0
}

/// `malloc(size)` (also `valloc`, `pvalloc`).
#[uprobe]
pub fn armtune_malloc(ctx: ProbeContext) -> u32 {
    begin(alloc_fn::MALLOC, ctx.arg::<u64>(0).unwrap_or(0), 0)
}

/// `calloc(n, size)`.
#[uprobe]
pub fn armtune_calloc(ctx: ProbeContext) -> u32 {
    let n = ctx.arg::<u64>(0).unwrap_or(0);
    let size = ctx.arg::<u64>(1).unwrap_or(0);
    // No overflow-checked multiply: LLVM lowers it to a 128-bit multiply, which BPF lacks. Factors
    // below 2^32 cannot overflow; a calloc with a larger factor is recorded as its wrapped product.
    let bytes = if (n | size) >> 32 == 0 { n * size } else { n.wrapping_mul(size) };
    begin(alloc_fn::CALLOC, bytes, 0)
}

/// `realloc(ptr, size)`.
#[uprobe]
pub fn armtune_realloc(ctx: ProbeContext) -> u32 {
    begin(alloc_fn::REALLOC, ctx.arg::<u64>(1).unwrap_or(0), ctx.arg::<u64>(0).unwrap_or(0))
}

/// `posix_memalign(&ptr, align, size)`.
#[uprobe]
pub fn armtune_posix_memalign(ctx: ProbeContext) -> u32 {
    begin(alloc_fn::POSIX_MEMALIGN, ctx.arg::<u64>(2).unwrap_or(0), ctx.arg::<u64>(0).unwrap_or(0))
}

/// `aligned_alloc(align, size)`, `memalign(align, size)`.
#[uprobe]
pub fn armtune_aligned_alloc(ctx: ProbeContext) -> u32 {
    begin(alloc_fn::ALIGNED, ctx.arg::<u64>(1).unwrap_or(0), 0)
}

/// `MAP_ANONYMOUS`, the same on x86_64 and aarch64.
const MAP_ANONYMOUS: u64 = 0x20;

/// `mmap(addr, len, prot, flags, fd, off)`: anonymous mappings the program makes itself. Calls from
/// inside the allocator (malloc's large blocks) are skipped: the block is already counted.
#[uprobe]
pub fn armtune_mmap(ctx: ProbeContext) -> u32 {
    let flags = ctx.arg::<u64>(3).unwrap_or(0);
    if flags & MAP_ANONYMOUS == 0 || unsafe { PENDING.get(&bpf_get_current_pid_tgid()) }.is_some() {
        return 0;
    }
    begin(alloc_fn::MMAP, ctx.arg::<u64>(1).unwrap_or(0), 0)
}

/// `munmap(addr, len)`: a mapping made during the profile ends (partial unmaps count as whole).
#[uprobe]
pub fn armtune_munmap(ctx: ProbeContext) -> u32 {
    if let Some((_, tgid)) = recording() {
        released(tgid, ctx.arg::<u64>(0).unwrap_or(0));
    }
    0
}

/// Return of every allocation function: the block is known now.
#[uretprobe]
pub fn armtune_alloc_ret(ctx: RetProbeContext) -> u32 {
    let Some((pid_tgid, tgid)) = recording() else { return 0 };
    let Some(pending) = (unsafe { PENDING.get(&pid_tgid) }).copied() else { return 0 };
    let _ = PENDING.remove(&pid_tgid);
    let ret = ctx.ret::<u64>().unwrap_or(0);
    let block = match pending.function {
        alloc_fn::POSIX_MEMALIGN => {
            // Returns 0 on success and the block through the out pointer.
            if ret != 0 {
                return 0;
            }
            unsafe { bpf_probe_read_user(pending.addr as *const u64) }.unwrap_or(0)
        }
        alloc_fn::REALLOC => {
            // A NULL return keeps the old block, except for realloc(ptr, 0), which frees it.
            if ret != 0 || pending.size == 0 {
                released(tgid, pending.addr);
            }
            ret
        }
        // MAP_FAILED is (void *)-1.
        alloc_fn::MMAP if ret == u64::MAX => 0,
        _ => ret,
    };
    if block != 0 && (pending.function != alloc_fn::REALLOC || sampled(pending.size)) {
        allocated(&ctx, pid_tgid, tgid, block, pending.size);
    }
    0
}

/// `free(ptr)`.
#[uprobe]
pub fn armtune_free(ctx: ProbeContext) -> u32 {
    if let Some((_, tgid)) = recording() {
        released(tgid, ctx.arg::<u64>(0).unwrap_or(0));
    }
    0
}

#[inline(always)]
fn released(tgid: u32, addr: u64) {
    // Blocks from before the run are not in the map: their frees change nothing.
    if addr != 0 && enabled(events::LEAK) {
        let _ = LIVE.remove(&LiveKey { tgid, pad: 0, addr });
    }
}

#[inline(always)]
fn allocated(ctx: &RetProbeContext, pid_tgid: u64, tgid: u32, block: u64, size: u64) {
    note_process(tgid);
    let tid = if read_global(&PER_THREAD) != 0 { pid_tgid as u32 } else { 0 };
    let comm = bpf_get_current_comm().unwrap_or([0; 16]);
    // Copied for user space to unwind, or (not unwinding, or the ring buffer full) the
    // frame-pointer stack, aggregated here.
    let sent = if crate::stacks::unwinding(tgid) { send_allocation(ctx, tgid, tid, comm, block, size) } else { None };
    let unwinding = sent.is_some();
    let stacks = sent.unwrap_or_else(|| crate::stacks::user_only(ctx));
    if enabled(events::ALLOC) {
        if !unwinding {
            let key = SampleKey { tgid, tid, stacks, comm };
            if !add_totals(&ALLOCS, &key, size, 1) {
                bump(counter::ALLOC_LOST);
            }
        }
        let _ = add_one(&SIZES, &SizeKey { tgid, slot: crate::log2_slot(size) });
    }
    if enabled(events::LEAK) {
        let live = LiveBlock { size, since_ns: unsafe { bpf_ktime_get_ns() }, stacks, tid, pad: 0, comm };
        if LIVE.insert(&LiveKey { tgid, pad: 0, addr: block }, &live, 0).is_err() {
            bump(counter::LIVE_LOST);
        }
    }
}

/// `--unwind dwarf`: one record for both views, bytes and calls by stack (alloc) and the block's
/// stack (leak: user space keeps it by the block's address, the tag). The stack reference the
/// live-block map keeps then says "in user space". `None` when the ring buffer had no room.
#[inline(always)]
fn send_allocation(ctx: &RetProbeContext, tgid: u32, tid: u32, comm: [u8; 16], block: u64, size: u64) -> Option<StackRef> {
    let tag = if enabled(events::LEAK) { block } else { 0 };
    let header =
        StackSample { tgid, tid, family: events::ALLOC, kernel: -1, weight: size, tag, comm, ..StackSample::default() };
    crate::stacks::send_user_stack(ctx, crate::stacks::RegsAt::Context, false, &header)
        .then_some(StackRef { user: StackRef::UNWOUND, kernel: -1 })
}
