//! The one place captured stacks become addresses: every event that records stacks keeps a
//! [`StackRef`] (taken in `ebpf/src/stacks.rs`), and [`StackReader`] turns it into the user and
//! kernel frames of a [`RawSample`]. A new way of capturing stacks changes this module and its
//! kernel twin, not the families.

use std::collections::HashMap;

use armtune_common::{maps, StackBuf, StackRef};
use aya::{
    maps::{HashMap as BpfHashMap, StackTraceMap},
    Ebpf,
};

use crate::{capture::RawSample, error::Context as _, Result};

/// Reads stacks by id, once each.
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
