//! Windows of a profile that never stops (`armtune agent`): what the CPU sampler counted since
//! the last window, while it goes on counting.
//!
//! The kernel's counts only grow, so a window is the difference from the counts the last window
//! saw: nothing is lost between reading a count and clearing it, because nothing is cleared while
//! it is counted. Keys that stayed the same for [`IDLE_WINDOWS`] windows (a process that exited,
//! a path no longer taken) are removed, with the stacks no other key refers to, so that a host
//! profiled for days keeps its maps from filling.

use std::collections::{HashMap, HashSet};

use armtune_common::{maps, SampleKey, StackRef};
use aya::{
    maps::{HashMap as BpfHashMap, MapData, StackTraceMap},
    Ebpf,
};

use crate::{capture::RawSample, error::Context as _, stacks::StackReader, Result};

/// Windows a count may stay unchanged before its key is removed from the kernel's map.
pub const IDLE_WINDOWS: u32 = 3;

/// What the last windows saw of the kernel's CPU sample counts.
#[derive(Debug, Default)]
pub struct CpuWindows {
    /// Each key's count at the last window, and for how many windows it has not changed.
    last: HashMap<SampleKey, (u64, u32)>,
}

/// What one window removed from the kernel's maps.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    /// Sample-count keys.
    pub keys: usize,
    /// Stacks no remaining key referred to.
    pub stacks: usize,
}

impl CpuWindows {
    /// The samples counted since the last call, named by `stacks`; idle keys and the stacks only
    /// they used are removed from the kernel's maps.
    pub fn take(&mut self, ebpf: &mut Ebpf, stacks: &StackReader) -> Result<(Vec<RawSample>, Evicted)> {
        let counts = BpfHashMap::<_, SampleKey, u64>::try_from(ebpf.map(maps::COUNTS.name).unwrap())
            .context("opening the sample counts")?;
        let mut now: Vec<(SampleKey, u64)> = Vec::new();
        for entry in counts.iter() {
            now.push(entry.context("reading the sample counts")?);
        }
        let (samples, idle) = self.advance(&now, stacks);
        let evicted = evict(ebpf, &idle, self.last.keys())?;
        Ok((samples, evicted))
    }

    /// Takes this window's counts: the samples they add to the last window's, and the keys that
    /// have been idle long enough to remove (already forgotten here).
    fn advance(&mut self, now: &[(SampleKey, u64)], stacks: &StackReader) -> (Vec<RawSample>, Vec<SampleKey>) {
        let mut samples = Vec::new();
        let mut idle = Vec::new();
        for &(key, count) in now {
            let (last, idle_windows) = self.last.entry(key).or_insert((0, 0));
            // A key removed and counted again starts from zero: never a negative window.
            let added = count.saturating_sub(*last);
            *last = count;
            if added == 0 {
                *idle_windows += 1;
                if *idle_windows >= IDLE_WINDOWS {
                    idle.push(key);
                }
                continue;
            }
            *idle_windows = 0;
            let mut sample = stacks.sample(key.tgid, key.tid, &key.comm, key.stacks);
            sample.count = added;
            samples.push(sample);
        }
        for key in &idle {
            self.last.remove(key);
        }
        (samples, idle)
    }
}

/// Removes `idle` keys from the count map, then the stacks none of the `kept` keys refers to. A
/// sample taken meanwhile on a removed stack stores it again.
fn evict<'a>(ebpf: &mut Ebpf, idle: &[SampleKey], kept: impl Iterator<Item = &'a SampleKey>) -> Result<Evicted> {
    if idle.is_empty() {
        return Ok(Evicted::default());
    }
    let mut counts = BpfHashMap::<&mut MapData, SampleKey, u64>::try_from(ebpf.map_mut(maps::COUNTS.name).unwrap())
        .context("opening the sample counts")?;
    let mut evicted = Evicted::default();
    for key in idle {
        // Gone already (the map is the kernel's): nothing to do.
        if counts.remove(key).is_ok() {
            evicted.keys += 1;
        }
    }
    let mut stack_map =
        StackTraceMap::try_from(ebpf.map_mut(maps::STACKS.name).unwrap()).context("opening the stack map")?;
    for id in orphans(idle, kept) {
        if stack_map.remove(&id).is_ok() {
            evicted.stacks += 1;
        }
    }
    Ok(evicted)
}

/// The stacks of the `idle` keys that none of the `kept` keys refers to.
fn orphans<'a>(idle: &[SampleKey], kept: impl Iterator<Item = &'a SampleKey>) -> HashSet<u32> {
    let used: HashSet<u32> = kept.flat_map(|k| ids(k.stacks)).collect();
    idle.iter().flat_map(|k| ids(k.stacks)).filter(|id| !used.contains(id)).collect()
}

/// The stack-map ids a key refers to (negative ids are errors, not stacks; overflow-map ids are
/// left alone, that map being small and rarely used).
fn ids(stacks: StackRef) -> impl Iterator<Item = u32> {
    [stacks.user, stacks.kernel]
        .into_iter()
        .filter(|&id| id >= 0 && (id as u32) & armtune_common::OVERFLOW_STACK_BIT == 0)
        .map(|id| id as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tgid: u32, user: i32) -> SampleKey {
        SampleKey { tgid, tid: 0, stacks: StackRef { user, kernel: -1 }, comm: [0; 16] }
    }

    #[test]
    fn windows_are_differences_and_idle_keys_go() {
        let stacks = StackReader::empty();
        let mut w = CpuWindows::default();
        let counts = |w: &mut CpuWindows, now: &[(SampleKey, u64)]| {
            let (samples, idle) = w.advance(now, &stacks);
            (samples.iter().map(|s| (s.tgid, s.count)).collect::<Vec<_>>(), idle.len())
        };
        assert_eq!(counts(&mut w, &[(key(1, 5), 10), (key(2, 6), 4)]), (vec![(1, 10), (2, 4)], 0));
        assert_eq!(counts(&mut w, &[(key(1, 5), 25), (key(2, 6), 4)]), (vec![(1, 15)], 0));
        assert_eq!(counts(&mut w, &[(key(1, 5), 26), (key(2, 6), 4)]), (vec![(1, 1)], 0));
        // The third window without a change removes process 2's key.
        assert_eq!(counts(&mut w, &[(key(1, 5), 27), (key(2, 6), 4)]), (vec![(1, 1)], 1));
        // Counted again after its removal: the kernel starts it from zero.
        assert_eq!(counts(&mut w, &[(key(1, 5), 27), (key(2, 6), 3)]), (vec![(2, 3)], 0));
    }

    #[test]
    fn only_stacks_no_kept_key_uses_are_orphans() {
        let kept = [key(1, 5)];
        let idle = [key(2, 5), key(3, 7), key(4, -14)];
        assert_eq!(orphans(&idle, kept.iter()), HashSet::from([7]));
    }
}
