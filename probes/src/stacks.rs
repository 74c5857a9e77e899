//! The one place captured stacks become addresses: every event that records stacks keeps a
//! [`StackRef`] (taken in `ebpf/src/stacks.rs`), and [`StackReader`] turns it into the user and
//! kernel frames of a [`RawSample`]. With `--unwind dwarf` the user stacks come through a ring
//! buffer instead and are unwound as they arrive ([`crate::unwind`]); [`Unwound`] aggregates them
//! as the kernel aggregates the others. A new way of capturing stacks changes this module and its
//! kernel twin, not the families.

use std::collections::HashMap;

use armtune_common::{events, maps, StackBuf, StackRef, StackSample, TASK_COMM_LEN};
use aya::{
    maps::{HashMap as BpfHashMap, StackTraceMap},
    Ebpf,
};

use crate::{capture::RawSample, error::Context as _, Result};

/// Reads stacks by id, once each.
#[derive(Debug, Default)]
pub struct StackReader {
    stacks: HashMap<u32, Vec<u64>>,
}

impl StackReader {
    /// Reads every stack of the loaded object's stack map and overflow map.
    pub fn new(ebpf: &Ebpf) -> Result<StackReader> {
        let map = StackTraceMap::try_from(ebpf.map(maps::STACKS.name).unwrap()).context("opening the stack map")?;
        let mut stacks = HashMap::new();
        for entry in map.iter() {
            let (id, trace) = entry.context("reading the stack map")?;
            stacks.insert(id, trace.frames().iter().map(|f| f.ip).collect());
        }
        // Stacks that collided in the stack map, kept under ids with OVERFLOW_STACK_BIT.
        let overflow = BpfHashMap::<_, u32, StackBuf>::try_from(ebpf.map(maps::OVERFLOW_STACKS.name).unwrap())
            .context("opening the overflow stack map")?;
        for entry in overflow.iter() {
            let (id, buf) = entry.context("reading the overflow stack map")?;
            stacks.insert(id, buf.ips.iter().copied().take_while(|&ip| ip != 0).collect());
        }
        Ok(StackReader { stacks })
    }

    /// A reader that knows no stack (tests).
    pub fn empty() -> StackReader {
        StackReader::default()
    }

    /// A sample of user-space-unwound stacks: the user stack as unwound, the kernel stack by id.
    pub fn unwound(&self, key: &UnwoundKey) -> RawSample {
        let mut sample = self.sample(key.tgid, key.tid, &key.comm, StackRef { user: key.user_fp, kernel: key.kernel });
        if key.user_fp < 0 {
            sample.user = key.user.clone();
        }
        if key.truncated {
            // Said at the root, so a cut stack is not read as the whole story.
            sample.markers.push(TRUNCATED_MARKER.to_string());
        }
        sample
    }

    /// A sample with both stacks resolved; ids below zero are errors (-EFAULT: no such stack;
    /// others: lost), and -1 means stacks were not recorded.
    pub fn sample(&self, tgid: u32, tid: u32, comm: &[u8], stacks: StackRef) -> RawSample {
        let (user_id, kernel_id) = (stacks.user, stacks.kernel);
        let get = |id: i32| (id >= 0).then(|| self.stacks.get(&(id as u32)).cloned()).flatten();
        let lost = |id: i32, got: &Option<Vec<u64>>| got.is_none() && id != -libc::EFAULT && id != -1;
        let user = get(user_id);
        let kernel = get(kernel_id);
        RawSample {
            tgid,
            tid,
            comm: crate::capture::comm_text(comm),
            markers: Vec::new(),
            user_lost: lost(user_id, &user),
            kernel_lost: lost(kernel_id, &kernel),
            user: user.unwrap_or_default(),
            kernel: kernel.unwrap_or_default(),
            count: 0,
        }
    }
}

/// The marker frame above a user stack whose walk ended before its root.
pub const TRUNCATED_MARKER: &str = "[truncated stack]";

/// What a user-space-unwound event is aggregated by: as the kernel's keys, with the user stack
/// itself instead of its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnwoundKey {
    /// The `armtune_common::events` bit of the family that recorded it.
    pub family: u32,
    /// Process id.
    pub tgid: u32,
    /// Thread id, or 0.
    pub tid: u32,
    /// Thread name, NUL padded.
    pub comm: [u8; TASK_COMM_LEN],
    /// The family's own part of the key (off-CPU state, SDT site).
    pub tag: u64,
    /// Kernel stack id, or a negated errno.
    pub kernel: i32,
    /// The user stack, leaf first.
    pub user: Vec<u64>,
    /// Whether its walk ended before the root.
    pub truncated: bool,
    /// The frame-pointer stack taken instead where there were no registers to unwind from (an
    /// id in the stack map), or -1.
    pub user_fp: i32,
}

/// User-space-unwound events, summed by [`UnwoundKey`], with what the families look their
/// stacks up by: each live block's allocating stack (`leak`), each thread's stack while it is off
/// the CPU (`off-cpu`).
#[derive(Debug, Clone, Default)]
pub struct Unwound {
    index: HashMap<UnwoundKey, usize>,
    /// Each key with its summed weight and its events.
    entries: Vec<(UnwoundKey, u64, u64)>,
    /// (process, block address) -> entry of its allocating stack. A freed block's address is
    /// taken again by a later allocation, which replaces it: the table stays near the peak
    /// number of blocks.
    blocks: HashMap<(u32, u64), usize>,
    /// Thread -> its stack since it left the CPU, until a completion gives the time it was off.
    open: HashMap<u32, UnwoundKey>,
    /// Keep threads apart in off-CPU keys (`--per-thread`); their records always carry the tid.
    per_thread: bool,
}

impl Unwound {
    /// An empty table; `per_thread` as `--per-thread`.
    pub fn new(per_thread: bool) -> Unwound {
        Unwound { per_thread, ..Unwound::default() }
    }

    /// Adds one record: its header from the kernel and its unwound user stack (none for a
    /// completion, which closes its thread's open off-CPU interval).
    pub fn add(&mut self, header: &StackSample, user: Vec<u64>, truncated: bool) {
        if header.flags & armtune_common::stack_copy::COMPLETES != 0 {
            if let Some(key) = self.open.remove(&header.tid) {
                self.sum(key, header.weight);
            }
            return;
        }
        let key = UnwoundKey {
            family: header.family,
            tgid: header.tgid,
            tid: header.tid,
            comm: header.comm,
            tag: header.tag,
            kernel: header.kernel,
            user,
            truncated,
            user_fp: if header.flags & armtune_common::stack_copy::NO_REGS != 0 { header.user_fp } else { -1 },
        };
        match header.family {
            events::OFF_CPU => {
                let tid = header.tid;
                let key = UnwoundKey { tid: if self.per_thread { tid } else { 0 }, ..key };
                self.open.insert(tid, key);
            }
            events::ALLOC if header.tag != 0 => {
                let block = (header.tgid, header.tag);
                // The block's address is its own part of the record, not of the stack's key.
                let at = self.sum(UnwoundKey { tag: 0, ..key }, header.weight);
                self.blocks.insert(block, at);
            }
            _ => {
                self.sum(key, header.weight);
            }
        }
    }

    fn sum(&mut self, key: UnwoundKey, weight: u64) -> usize {
        let at = match self.index.get(&key) {
            Some(&at) => at,
            None => {
                self.entries.push((key.clone(), 0, 0));
                self.index.insert(key, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[at];
        entry.1 += weight;
        entry.2 += 1;
        at
    }

    /// The events `family` recorded: each key with its summed weight and its number of events.
    pub fn of(&self, family: u32) -> impl Iterator<Item = (&UnwoundKey, u64, u64)> + '_ {
        self.entries.iter().filter(move |e| e.0.family == family).map(|(k, w, n)| (k, *w, *n))
    }

    /// Takes the sums of `family` out of the table (a window of `armtune agent`), leaving the
    /// other families' as they were.
    pub fn take(&mut self, family: u32) -> Vec<(UnwoundKey, u64, u64)> {
        let (taken, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.entries).into_iter().enumerate().partition(|(_, e)| e.0.family == family);
        // Entries move: what points at them follows.
        let moved: HashMap<usize, usize> = kept.iter().enumerate().map(|(new, (old, _))| (*old, new)).collect();
        self.entries = kept.into_iter().map(|(_, e)| e).collect();
        self.index = self.entries.iter().enumerate().map(|(at, e)| (e.0.clone(), at)).collect();
        self.blocks = self.blocks.iter().filter_map(|(&block, at)| Some((block, *moved.get(at)?))).collect();
        taken.into_iter().map(|(_, e)| e).collect()
    }

    /// The allocating stack of block `addr` of process `tgid` (`leak`).
    pub fn block(&self, tgid: u32, addr: u64) -> Option<&UnwoundKey> {
        self.blocks.get(&(tgid, addr)).map(|&at| &self.entries[at].0)
    }

    /// The stack thread `tid` left the CPU with, while it has not come back (`off-cpu`).
    pub fn open(&self, tid: u32) -> Option<&UnwoundKey> {
        self.open.get(&tid)
    }

    /// Distinct stacks held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A record of the `USER_STACKS` ring buffer split into its header and the stack bytes it holds
/// (the header's `len`, or fewer when the record is shorter); `None` for a record too short to
/// hold a header.
pub fn split_record(item: &[u8]) -> Option<(StackSample, &[u8])> {
    let header_len = std::mem::size_of::<StackSample>();
    if item.len() < header_len {
        return None;
    }
    // SAFETY: at least a StackSample's bytes, which is plain data with no invalid bit patterns;
    // read_unaligned copes with any alignment.
    let header: StackSample = unsafe { std::ptr::read_unaligned(item.as_ptr().cast()) };
    let len = (header.len as usize).min(item.len() - header_len);
    Some((header, &item[header_len..header_len + len]))
}
