//! Hits of SDT (USDT) probes with the user stack of each hit. One program serves every probe site:
//! the site is told apart by the instruction pointer, which user space maps back to the probe.

use armtune_common::{counter, events, maps, SdtKey, StackSample};
use aya_ebpf::{
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid},
    macros::{map, uprobe},
    maps::HashMap,
    programs::ProbeContext,
};

use crate::{add_one, bump, enabled, is_target, note_process, read_global, PER_THREAD};

/// Hits per (process, probe site, stack).
#[map]
static SDT_HITS: HashMap<SdtKey, u64> = HashMap::with_max_entries(maps::SDT_HITS.entries, 0);

/// Any SDT probe site.
#[uprobe]
pub fn armtune_sdt(ctx: ProbeContext) -> u32 {
    if !enabled(events::SDT) {
        return 0;
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_target(tgid) {
        return 0;
    }
    note_process(tgid);
    // The uprobe fires with the pc on the probe's nop.
    #[cfg(bpf_target_arch = "aarch64")]
    let ip = unsafe { (*ctx.regs).pc };
    #[cfg(bpf_target_arch = "x86_64")]
    let ip = unsafe { (*ctx.regs).rip };
    // Other architectures: probe sites cannot be told apart (all hits land on address 0).
    #[cfg(not(any(bpf_target_arch = "x86_64", bpf_target_arch = "aarch64")))]
    let ip = 0u64;
    count_hit(&ctx, &SDT_HITS, events::SDT, pid_tgid, ip, counter::SDT_LOST);
    0
}

/// Counts a hit at `ip` (0 where one site is all there is) with the current user stack in `map`,
/// keyed per process (per thread with `--per-thread`); a full map bumps counter `lost`. With
/// `--unwind dwarf` the hit goes to user space instead, as `family`'s, with `ip` for its tag.
#[inline(always)]
pub(crate) fn count_hit(
    ctx: &ProbeContext,
    map: &HashMap<SdtKey, u64>,
    family: u32,
    pid_tgid: u64,
    ip: u64,
    lost: u32,
) {
    let tgid = (pid_tgid >> 32) as u32;
    let tid = if read_global(&PER_THREAD) != 0 { pid_tgid as u32 } else { 0 };
    let comm = bpf_get_current_comm().unwrap_or([0; 16]);
    if crate::stacks::unwinding(tgid) {
        let header = StackSample { tgid, tid, family, kernel: -1, weight: 1, tag: ip, comm, ..StackSample::default() };
        // A full ring buffer: counted below with the frame-pointer stack instead.
        if crate::stacks::send_user_stack(ctx, crate::stacks::RegsAt::Context, false, &header) {
            return;
        }
    }
    let key = SdtKey { tgid, tid, ip, stacks: crate::stacks::user_only(ctx), comm };
    if !add_one(map, &key) {
        bump(lost);
    }
}
