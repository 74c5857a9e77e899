//! Windows of a profile that never stops (`armtune agent`): what the CPU sampler counted, the
//! off-CPU time that ended, and the allocations made, since the last window, while the kernel
//! goes on counting.
//!
//! The kernel's counts only grow, so a window is the difference from the counts the last window
//! saw: nothing is lost between reading a count and clearing it, because nothing is cleared while
//! it is counted. Keys that stayed the same for [`IDLE_WINDOWS`] windows (a process that exited,
//! a path no longer taken) are removed, with the stacks no other key refers to, so that a host
//! profiled for days keeps its maps from filling.

use std::{
    collections::{HashMap, HashSet},
    hash::Hash,
};

use armtune_common::{maps, OffCpuKey, SampleKey, StackRef, Totals};
use aya::{
    maps::{HashMap as BpfHashMap, MapData, StackTraceMap},
    Ebpf, Pod,
};

use crate::{capture::RawSample, error::Context as _, stacks::StackReader, Result};

/// Windows a count may stay unchanged before its key is removed from the kernel's map.
pub const IDLE_WINDOWS: u32 = 3;

/// What the last windows saw of the kernel's CPU sample counts, off-CPU and allocation totals.
#[derive(Debug, Default)]
pub struct CpuWindows {
    /// CPU sample counts.
    cpu: Deltas<SampleKey>,
    /// Off-CPU nanoseconds of finished blocks.
    off_cpu: Deltas<OffCpuKey>,
    /// Bytes allocated: they decide a key's windows and idleness.
    alloc: Deltas<SampleKey>,
    /// Allocator calls at the last window, for the keys `alloc` holds.
    alloc_calls: HashMap<SampleKey, u64>,
}

/// Which families a window takes besides CPU samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Windowed {
    /// Off-CPU time.
    pub off_cpu: bool,
    /// Allocations, with `--alloc-sample`'s mean (0: every call recorded).
    pub alloc: Option<u64>,
}

/// One window's samples, by family.
#[derive(Debug, Default)]
pub struct Window {
    /// CPU samples.
    pub cpu: Vec<RawSample>,
    /// Off-CPU time (blocks that ended in the window).
    pub off_cpu: Vec<RawSample>,
    /// Bytes allocated in the window (estimates under `--alloc-sample`).
    pub alloc_bytes: Vec<RawSample>,
    /// Allocator calls in the window, by the same stacks.
    pub alloc_calls: Vec<RawSample>,
}

/// Each key's total at the last window, and for how many windows it has not changed.
#[derive(Debug)]
struct Deltas<K> {
    last: HashMap<K, (u64, u32)>,
}

impl<K> Default for Deltas<K> {
    fn default() -> Self {
        Deltas { last: HashMap::new() }
    }
}

/// A key of a windowed map: it names stacks.
trait Keyed: Pod + Hash + Eq {
    fn stacks(&self) -> StackRef;
}

impl Keyed for SampleKey {
    fn stacks(&self) -> StackRef {
        self.stacks
    }
}

impl Keyed for OffCpuKey {
    fn stacks(&self) -> StackRef {
        self.stacks
    }
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
    /// What was counted since the last call, named by `stacks` (off-CPU time only when
    /// `off_cpu`); idle keys and the stacks only they used are removed from the kernel's maps.
    pub fn take(&mut self, ebpf: &mut Ebpf, stacks: &StackReader, families: Windowed) -> Result<(Window, Evicted)> {
        let off_cpu = families.off_cpu;
        let counts = read_map::<SampleKey, u64, u64>(ebpf, maps::COUNTS.name, |c| *c)?;
        let (cpu, idle_cpu) = self.cpu.advance(&counts);
        let mut window = Window {
            cpu: cpu
                .into_iter()
                .map(|(key, added)| {
                    let mut sample = stacks.sample(key.tgid, key.tid, &key.comm, key.stacks);
                    sample.count = added;
                    sample
                })
                .collect(),
            ..Window::default()
        };
        let mut idle_off = Vec::new();
        // Stacks a blocked thread took at its switch-out: its block, when it ends, will name
        // them, so they stay even if every key using them went idle (a thread that blocks for
        // longer than the idle windows, at the same place as last time).
        let mut blocked = Vec::new();
        if off_cpu {
            let tasks = crate::families::sched::tasks(ebpf)?;
            blocked.extend(tasks.iter().filter(|(_, t)| t.off_since_ns != 0).map(|(_, t)| t.stacks));
            let totals = read_map::<OffCpuKey, Totals, u64>(ebpf, maps::OFF_CPU.name, |t| t.sum)?;
            let (off, idle) = self.off_cpu.advance(&totals);
            window.off_cpu = off
                .into_iter()
                .map(|(key, ns)| crate::families::sched::off_cpu_sample(stacks, &key, ns, false))
                .collect();
            idle_off = idle;
        }
        let idle_alloc = match families.alloc {
            Some(mean) => self.take_allocs(ebpf, stacks, mean, &mut window)?,
            None => Vec::new(),
        };
        let mut evicted = remove_keys::<SampleKey, u64>(ebpf, maps::COUNTS.name, &idle_cpu)?;
        evicted.keys += remove_keys::<OffCpuKey, Totals>(ebpf, maps::OFF_CPU.name, &idle_off)?.keys;
        evicted.keys += remove_keys::<SampleKey, Totals>(ebpf, maps::ALLOCS.name, &idle_alloc)?.keys;
        let idle_stacks = idle_cpu
            .iter()
            .map(Keyed::stacks)
            .chain(idle_off.iter().map(Keyed::stacks))
            .chain(idle_alloc.iter().map(Keyed::stacks));
        let kept = self
            .cpu
            .last
            .keys()
            .map(Keyed::stacks)
            .chain(self.off_cpu.last.keys().map(Keyed::stacks))
            .chain(self.alloc.last.keys().map(Keyed::stacks))
            .chain(blocked);
        evicted.stacks = remove_stacks(ebpf, &orphans(idle_stacks, kept))?;
        Ok((window, evicted))
    }
}

impl CpuWindows {
    /// Puts the allocations made since the last window into `window` (scaled as `--alloc-sample
    /// mean` asks); returns the keys idle long enough to remove.
    fn take_allocs(
        &mut self,
        ebpf: &Ebpf,
        stacks: &StackReader,
        mean: u64,
        window: &mut Window,
    ) -> Result<Vec<SampleKey>> {
        // One read: bytes and calls of a key are of the same moment.
        let totals = read_map::<SampleKey, Totals, Totals>(ebpf, maps::ALLOCS.name, |t| *t)?;
        let bytes_now: Vec<(SampleKey, u64)> = totals.iter().map(|(k, t)| (*k, t.sum)).collect();
        let calls_now: HashMap<SampleKey, u64> = totals.iter().map(|(k, t)| (*k, t.count)).collect();
        let (added, idle) = self.alloc.advance(&bytes_now);
        for (key, bytes) in added {
            let now = calls_now.get(&key).copied().unwrap_or(0);
            let calls = now.saturating_sub(self.alloc_calls.insert(key, now).unwrap_or(0));
            let sample = stacks.sample(key.tgid, key.tid, &key.comm, key.stacks);
            let into = (&mut window.alloc_bytes, &mut window.alloc_calls);
            crate::families::alloc::push_weighed(sample, bytes, calls, mean, into);
        }
        for key in &idle {
            self.alloc_calls.remove(key);
        }
        Ok(idle)
    }
}

/// Every entry of the kernel's map `name`, its value as the total `total` takes from it.
fn read_map<K: Pod, V: Pod, T>(ebpf: &Ebpf, name: &str, total: impl Fn(&V) -> T) -> Result<Vec<(K, T)>> {
    let mut out = Vec::new();
    for entry in crate::families::hash_map::<K, V>(ebpf, name)?.iter() {
        let (key, value) = entry.with_context(|| format!("reading {name}"))?;
        out.push((key, total(&value)));
    }
    Ok(out)
}

impl<K: Keyed> Deltas<K> {
    /// Takes this window's totals: what each key added to the last window's, and the keys that
    /// have been idle long enough to remove (already forgotten here).
    fn advance(&mut self, now: &[(K, u64)]) -> (Vec<(K, u64)>, Vec<K>) {
        let mut added_up = Vec::new();
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
            added_up.push((key, added));
        }
        for key in &idle {
            self.last.remove(key);
        }
        (added_up, idle)
    }
}

/// Removes `idle` keys from the kernel's map `name`. Counting meanwhile on a removed key starts
/// it again from zero.
fn remove_keys<K: Pod, V: Pod>(ebpf: &mut Ebpf, name: &str, idle: &[K]) -> Result<Evicted> {
    let mut evicted = Evicted::default();
    if idle.is_empty() {
        return Ok(evicted);
    }
    let mut map = BpfHashMap::<&mut MapData, K, V>::try_from(ebpf.map_mut(name).unwrap())
        .with_context(|| format!("opening {name}"))?;
    for key in idle {
        // Gone already (the map is the kernel's): nothing to do.
        if map.remove(key).is_ok() {
            evicted.keys += 1;
        }
    }
    Ok(evicted)
}

/// Removes stacks `ids` from the stack map; a sample taken meanwhile on one stores it again.
fn remove_stacks(ebpf: &mut Ebpf, ids: &HashSet<u32>) -> Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut stack_map =
        StackTraceMap::try_from(ebpf.map_mut(maps::STACKS.name).unwrap()).context("opening the stack map")?;
    Ok(ids.iter().filter(|id| stack_map.remove(id).is_ok()).count())
}

/// The stacks of the idle keys that none of the kept keys refers to.
fn orphans(idle: impl Iterator<Item = StackRef>, kept: impl Iterator<Item = StackRef>) -> HashSet<u32> {
    let used: HashSet<u32> = kept.flat_map(ids).collect();
    idle.flat_map(ids).filter(|id| !used.contains(id)).collect()
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
        let mut w = Deltas::<SampleKey>::default();
        let counts = |w: &mut Deltas<SampleKey>, now: &[(SampleKey, u64)]| {
            let (added, idle) = w.advance(now);
            (added.iter().map(|(k, n)| (k.tgid, *n)).collect::<Vec<_>>(), idle.len())
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
        assert_eq!(orphans(idle.iter().map(|k| k.stacks), kept.iter().map(|k| k.stacks)), HashSet::from([7]));
    }
}
