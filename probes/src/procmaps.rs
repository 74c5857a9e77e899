//! Executable mappings of processes, kept after the processes are gone so that their samples can
//! be symbolized at the end of a profile. They come from the kernel's mmap records as mappings are
//! made ([`crate::mmap_records`]), and from `/proc/PID/maps` for processes that were already
//! running when the profile started (or where the records cannot be had).
//!
//! A process that calls exec gets a new image; the old one is kept, because the samples it took
//! before are aggregated with the rest and are only told apart by which image explains them.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
};

/// What backs a mapping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Backing {
    /// A file on disk (ELF executable or shared object).
    File(PathBuf),
    /// The vDSO.
    Vdso,
    /// Anonymous or special memory (JIT code, `[vsyscall]`), by its maps name (may be empty).
    Other(String),
}

impl Backing {
    /// What a mapping's name says backs it, as `/proc/PID/maps` and the kernel's mmap records
    /// both name it: a path, `[vdso]`, or anything else (`[vsyscall]`, `//anon` for anonymous
    /// memory in records, empty in maps).
    pub fn from_name(name: &str) -> Backing {
        if name == "[vdso]" {
            Backing::Vdso
        } else if name.starts_with('/') && !name.starts_with("//") {
            // A replaced binary shows as "path (deleted)"; the old path is still the best guess.
            Backing::File(PathBuf::from(name.strip_suffix(" (deleted)").unwrap_or(name)))
        } else {
            Backing::Other(name.to_string())
        }
    }
}

/// One executable mapping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Offset in the file of `start`.
    pub file_offset: u64,
    /// What is mapped.
    pub backing: Backing,
    /// The file's GNU build-id, where the kernel's record carried it.
    pub build_id: Option<Vec<u8>>,
}

impl Mapping {
    /// The file offset that `addr` (inside this mapping) corresponds to.
    pub fn file_offset_of(&self, addr: u64) -> u64 {
        // Wrapping: a damaged record's offset near 2^64 gives a wrong offset (no file is that
        // long, so nothing resolves there), never a panic.
        addr.wrapping_sub(self.start).wrapping_add(self.file_offset)
    }
}

/// The executable mappings of one process, sorted by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessMaps {
    mappings: Vec<Mapping>,
    /// [`ProcessMaps::fingerprint`], kept up to date by every change: it is asked for each
    /// unwound stack, and the mappings change far less often.
    fingerprint: u64,
}

impl ProcessMaps {
    /// Reads `/proc/PID/maps`; `None` when the process is gone.
    pub fn read(pid: u32) -> Option<ProcessMaps> {
        std::fs::read_to_string(format!("/proc/{pid}/maps")).ok().map(|t| ProcessMaps::parse(&t))
    }

    /// Parses the text of a maps file, keeping executable mappings only.
    pub fn parse(text: &str) -> ProcessMaps {
        ProcessMaps::from_mappings(text.lines().filter_map(parse_line).collect())
    }

    /// Builds maps from mappings (tests, and callers that know the layout).
    pub fn from_mappings(mut mappings: Vec<Mapping>) -> ProcessMaps {
        mappings.sort_by_key(|m| m.start);
        ProcessMaps { fingerprint: fingerprint_of(&mappings), mappings }
    }

    /// The mapping that contains `addr`.
    pub fn find(&self, addr: u64) -> Option<&Mapping> {
        let i = self.mappings.partition_point(|m| m.start <= addr);
        let m = self.mappings.get(i.checked_sub(1)?)?;
        (addr < m.end).then_some(m)
    }

    /// All mappings.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// A hash of the mappings: what is built from an image is rebuilt when it changes (another
    /// image after an exec can have as many mappings).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Adds the mappings of `newer` over those of `self`, as [`ProcessMaps::insert`] does.
    pub fn merge(&mut self, newer: ProcessMaps) {
        for m in newer.mappings {
            self.insert(m);
        }
    }

    /// Adds a mapping made after those known: where it overlaps older ones it replaces them (the
    /// parts of them it does not cover stay, as in the kernel's own map). Nothing is removed
    /// otherwise, so a library unloaded since still resolves samples taken before.
    pub fn insert(&mut self, new: Mapping) {
        let mut kept = Vec::with_capacity(self.mappings.len() + 2);
        for old in self.mappings.drain(..) {
            if old.end <= new.start || new.end <= old.start {
                kept.push(old);
                continue;
            }
            if old.start < new.start {
                kept.push(Mapping { end: new.start, ..old.clone() });
            }
            if new.end < old.end {
                let file_offset = old.file_offset_of(new.end);
                kept.push(Mapping { start: new.end, file_offset, ..old });
            }
        }
        kept.push(new);
        kept.sort_by_key(|m| m.start);
        self.fingerprint = fingerprint_of(&kept);
        self.mappings = kept;
    }

    /// How many of `addrs` fall in a mapping of a file or the vDSO: how well this image explains
    /// a stack.
    fn explains(&self, addrs: &[u64]) -> usize {
        addrs.iter().filter(|&&a| self.find(a).is_some_and(|m| !matches!(m.backing, Backing::Other(_)))).count()
    }
}

/// A hash of `mappings`, 0 for none (as a default `ProcessMaps` has).
fn fingerprint_of(mappings: &[Mapping]) -> u64 {
    use std::hash::{Hash, Hasher};
    if mappings.is_empty() {
        return 0;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    mappings.hash(&mut hasher);
    hasher.finish()
}

/// `start-end perms offset dev inode [path]`
fn parse_line(line: &str) -> Option<Mapping> {
    let mut parts = line.splitn(6, ' ');
    let range = parts.next()?;
    let perms = parts.next()?;
    let offset = parts.next()?;
    let _dev = parts.next()?;
    let _inode = parts.next()?;
    let name = parts.next().unwrap_or("").trim();
    if !perms.contains('x') {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let backing = Backing::from_name(name);
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        file_offset: u64::from_str_radix(offset, 16).ok()?,
        backing,
        build_id: None,
    })
}

/// Mappings of every process seen during a profile: one image per exec, oldest first.
#[derive(Debug, Clone, Default)]
pub struct MapsStore {
    processes: HashMap<u32, Vec<ProcessMaps>>,
    /// Processes whose records are kept (`None`: every process), grown by their forks.
    followed: Option<HashSet<u32>>,
    /// Records the kernel dropped (its buffer was full).
    pub lost_records: u64,
    /// The roots of processes that see another root than armtune (containers, chroots): their
    /// files are read through them.
    roots: crate::roots::Roots,
    /// The container or systemd unit of each process looked at (`container 3f2a9c1b7d8e`,
    /// `unit nginx.service`), from its cgroup; `None` for the rest of the host.
    groups: HashMap<u32, Option<String>>,
}

impl MapsStore {
    /// An empty store that keeps the records of every process.
    pub fn new() -> MapsStore {
        MapsStore::default()
    }

    /// An empty store that keeps the records of `pids` and the processes they start.
    pub fn following(pids: impl IntoIterator<Item = u32>) -> MapsStore {
        MapsStore { followed: Some(pids.into_iter().collect()), ..MapsStore::default() }
    }

    /// Reads and merges the current mappings of `pid`; false when the process is already gone.
    pub fn capture(&mut self, pid: u32) -> bool {
        match self.read(pid) {
            Some(maps) => {
                self.insert(pid, maps);
                true
            }
            None => false,
        }
    }

    /// Starts a new image of `pid` from `/proc` (after an exec its old mappings mean nothing).
    pub fn replace(&mut self, pid: u32) -> bool {
        // An exec may come with a new root (a container's first program).
        self.learn(pid);
        match self.read(pid) {
            Some(maps) => {
                self.processes.entry(pid).or_default().push(maps);
                true
            }
            None => false,
        }
    }

    /// `/proc/PID/maps` of `pid`, with the files of a process in another root named where
    /// armtune reads them ([`crate::roots`]).
    fn read(&mut self, pid: u32) -> Option<ProcessMaps> {
        if !self.roots.knows(pid) {
            self.learn(pid);
        }
        let maps = ProcessMaps::read(pid)?;
        if self.roots.of(pid).is_none() {
            return Some(maps);
        }
        let roots = &self.roots;
        let mappings = maps
            .mappings
            .into_iter()
            .map(|mut m| {
                if let Backing::File(path) = m.backing {
                    m.backing = Backing::File(roots.maps_path(pid, path));
                }
                m
            })
            .collect();
        Some(ProcessMaps::from_mappings(mappings))
    }

    /// Merges `maps` into the current image of `pid`.
    pub fn insert(&mut self, pid: u32, maps: ProcessMaps) {
        self.current(pid).merge(maps);
    }

    fn current(&mut self, pid: u32) -> &mut ProcessMaps {
        let images = self.processes.entry(pid).or_default();
        if images.is_empty() {
            images.push(ProcessMaps::default());
        }
        images.last_mut().expect("one image at least")
    }

    /// Whether anything is known of `pid`.
    pub fn knows(&self, pid: u32) -> bool {
        self.processes.contains_key(&pid)
    }

    /// Applies the kernel's records, oldest first: mappings go into their process's current
    /// image, an exec starts a new image, a fork gives the child a copy of its parent's.
    pub fn apply(&mut self, records: impl IntoIterator<Item = crate::mmap_records::Record>) {
        use crate::mmap_records::RecordKind;
        for record in records {
            match record.kind {
                RecordKind::Fork { pid, parent } => {
                    if let Some(followed) = &mut self.followed {
                        if !followed.contains(&parent) {
                            continue;
                        }
                        followed.insert(pid);
                    }
                    let image = self.processes.get(&parent).and_then(|i| i.last()).cloned().unwrap_or_default();
                    self.processes.insert(pid, vec![image]);
                    self.roots.inherit(pid, parent);
                    if let Some(group) = self.groups.get(&parent).cloned() {
                        self.groups.insert(pid, group);
                    }
                }
                RecordKind::Exec { pid } if self.follows(pid) => {
                    self.processes.entry(pid).or_default().push(ProcessMaps::default());
                    // A program started in a new root (`chroot`, a container's runtime) execs there.
                    self.learn(pid);
                }
                RecordKind::Mmap { pid, start, len, file_offset, filename, build_id } if self.follows(pid) => {
                    let backing = self.recorded_backing(pid, &filename);
                    let end = start.saturating_add(len);
                    self.current(pid).insert(Mapping { start, end, file_offset, backing, build_id });
                }
                RecordKind::Lost { count } => self.lost_records = self.lost_records.saturating_add(count),
                _ => {}
            }
        }
    }

    /// What a mapping record of `pid` names: a file of a process in another root is read
    /// through that root.
    fn recorded_backing(&mut self, pid: u32, filename: &str) -> Backing {
        if !self.roots.knows(pid) {
            self.learn(pid);
        }
        match Backing::from_name(filename) {
            Backing::File(path) => Backing::File(self.roots.record_path(pid, path)),
            other => other,
        }
    }

    /// Looks at a live process's root and cgroup (one that is gone keeps what was known, its
    /// parent's).
    fn learn(&mut self, pid: u32) {
        self.roots.learn(pid);
        if let Some(path) = crate::cgroups::cgroup_of(pid) {
            self.groups.insert(pid, crate::cgroups::label_of(&path));
        }
    }

    /// The container or systemd unit process `pid` ran in, where it was in one.
    pub fn group_of(&self, pid: u32) -> Option<&str> {
        self.groups.get(&pid)?.as_deref()
    }

    fn follows(&self, pid: u32) -> bool {
        self.followed.as_ref().is_none_or(|f| f.contains(&pid))
    }

    /// The current image of `pid`.
    pub fn get(&self, pid: u32) -> Option<&ProcessMaps> {
        self.processes.get(&pid)?.last()
    }

    /// The image of `pid` that explains the user stack `addrs` best: samples are aggregated without
    /// their time, so a stack taken before an exec is told apart by which image its addresses fall
    /// in. The newest image wins a tie.
    pub fn for_stack(&self, pid: u32, addrs: &[u64]) -> Option<&ProcessMaps> {
        let images = self.processes.get(&pid)?;
        if images.len() == 1 || addrs.is_empty() {
            return images.last();
        }
        let best = images.iter().map(|m| m.explains(addrs)).max()?;
        images.iter().rev().find(|m| m.explains(addrs) == best)
    }

    /// The image of `pid` whose mappings hold `addr` (the newest such), with its index: where a
    /// user stack taken at `addr` is unwound.
    pub fn image_for(&self, pid: u32, addr: u64) -> Option<(usize, &ProcessMaps)> {
        let images = self.processes.get(&pid)?;
        images.iter().enumerate().rev().find(|(_, m)| m.find(addr).is_some())
    }

    /// The current (newest) image of `pid`, with its index.
    pub fn current_image(&self, pid: u32) -> Option<(usize, &ProcessMaps)> {
        let images = self.processes.get(&pid)?;
        images.last().map(|m| (images.len() - 1, m))
    }

    /// Forgets process `pid` (it exited long enough ago that no sample of it is still to come).
    pub fn forget(&mut self, pid: u32) {
        self.processes.remove(&pid);
        self.roots.forget(pid);
        self.groups.remove(&pid);
    }

    /// Prefixes of the roots closed since [`MapsStore::clear_retired_roots`]: names cached under
    /// them must be dropped before their descriptor numbers come back.
    pub fn retired_roots(&self) -> &[PathBuf] {
        self.roots.retired()
    }

    /// Starts a new list of closed roots (a window's capture took the last one).
    pub fn clear_retired_roots(&mut self) {
        self.roots.take_retired();
    }

    /// Pids with captured mappings.
    pub fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.processes.keys().copied()
    }

    /// A copy holding only the processes `pids` names (with the roots and the closed-root list):
    /// what a window's samples need to be named, instead of every process a host-wide agent
    /// knows of.
    pub fn for_pids(&self, pids: &HashSet<u32>) -> MapsStore {
        MapsStore {
            processes: self.processes.iter().filter(|(p, _)| pids.contains(p)).map(|(p, m)| (*p, m.clone())).collect(),
            followed: None,
            lost_records: self.lost_records,
            roots: self.roots.clone(),
            groups: self.groups.iter().filter(|(p, _)| pids.contains(p)).map(|(p, g)| (*p, g.clone())).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_for_some_pids_holds_only_theirs() {
        let mut store = MapsStore::new();
        for pid in [10, 20, 30] {
            store.insert(pid, ProcessMaps::parse(MAPS));
        }
        store.lost_records = 4;
        let copy = store.for_pids(&HashSet::from([20, 99]));
        assert_eq!(copy.pids().collect::<Vec<_>>(), [20]);
        assert_eq!(copy.lost_records, 4);
        assert_eq!(copy.processes[&20], store.processes[&20]);
    }

    const MAPS: &str = "\
55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1234 /usr/bin/demo
55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1234 /usr/bin/demo
7f11aa000000-7f11aa028000 r--p 00000000 fe:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
7f11aa028000-7f11aa19d000 r-xp 00028000 fe:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
7f11ab000000-7f11ab001000 rwxp 00000000 00:00 0 
7ffd1e3f0000-7ffd1e3f2000 r-xp 00000000 00:00 0                          [vdso]
7ffd1e400000-7ffd1e401000 r-xp 00000000 fe:01 77 /opt/old/libgone.so (deleted)
";

    #[test]
    fn keeps_executable_mappings_only() {
        let maps = ProcessMaps::parse(MAPS);
        assert_eq!(maps.mappings().len(), 5);
        assert!(maps.mappings().windows(2).all(|w| w[0].start < w[1].start));
    }

    #[test]
    fn the_fingerprint_follows_the_mappings_through_every_change() {
        let parsed = ProcessMaps::parse(MAPS);
        assert_eq!(ProcessMaps::default().fingerprint(), ProcessMaps::parse("").fingerprint());
        let mut built = ProcessMaps::default();
        for m in parsed.mappings().iter().rev() {
            built.insert(m.clone());
        }
        assert_eq!(built, parsed);
        assert_eq!(built.fingerprint(), parsed.fingerprint(), "the same mappings, however they came");
        let first = parsed.mappings()[0].clone();
        built.insert(Mapping { backing: Backing::File("/opt/new.so".into()), ..first });
        assert_ne!(built.fingerprint(), parsed.fingerprint(), "a library mapped over code");
    }

    #[test]
    fn finds_mapping_and_file_offset() {
        let maps = ProcessMaps::parse(MAPS);
        let m = maps.find(0x7f11aa028010).unwrap();
        assert_eq!(m.backing, Backing::File("/usr/lib/x86_64-linux-gnu/libc.so.6".into()));
        assert_eq!(m.file_offset_of(0x7f11aa028010), 0x28010);
        assert_eq!(maps.find(0x7ffd1e3f0100).unwrap().backing, Backing::Vdso);
        assert_eq!(maps.find(0x7f11ab000010).unwrap().backing, Backing::Other(String::new()));
        assert_eq!(maps.find(0x7ffd1e400000).unwrap().backing, Backing::File("/opt/old/libgone.so".into()));
        // Non-executable and unmapped addresses resolve to nothing.
        assert!(maps.find(0x55d0c0a00010).is_none());
        assert!(maps.find(0x10).is_none());
        assert!(maps.find(0x7f11aa19d000).is_none());
    }

    #[test]
    fn merge_keeps_unloaded_libraries_and_prefers_new_layout() {
        let mut old = ProcessMaps::parse(MAPS);
        let newer = ProcessMaps::parse("7f11aa028000-7f11aa030000 r-xp 00000000 fe:01 5 /usr/lib/libnew.so\n");
        old.merge(newer);
        let m = old.find(0x7f11aa028010).unwrap();
        assert_eq!(m.backing, Backing::File("/usr/lib/libnew.so".into()));
        assert!(old.find(0x55d0c0a01010).is_some(), "non-overlapping old mapping kept");
    }

    #[test]
    fn captures_own_process() {
        let mut store = MapsStore::new();
        assert!(store.capture(std::process::id()));
        let here = captures_own_process as *const () as usize as u64;
        let m = store.get(std::process::id()).unwrap().find(here).unwrap();
        assert!(matches!(&m.backing, Backing::File(p) if p == &std::env::current_exe().unwrap()));
        assert!(!store.capture(u32::MAX - 1), "no such process");
    }

    fn rec(time_ns: u64, kind: crate::mmap_records::RecordKind) -> crate::mmap_records::Record {
        crate::mmap_records::Record { time_ns, kind }
    }

    fn mmap(pid: u32, start: u64, len: u64, file: &str) -> crate::mmap_records::RecordKind {
        crate::mmap_records::RecordKind::Mmap {
            pid,
            start,
            len,
            file_offset: 0x1000,
            filename: file.into(),
            build_id: None,
        }
    }

    fn file_at(store: &MapsStore, pid: u32, stack: &[u64]) -> Option<PathBuf> {
        let m = store.for_stack(pid, stack)?.find(stack[0])?;
        match &m.backing {
            Backing::File(p) => Some(p.clone()),
            _ => None,
        }
    }

    #[test]
    fn records_follow_forks_and_execs_of_followed_processes_only() {
        use crate::mmap_records::RecordKind::*;
        let mut store = MapsStore::following([10]);
        store.apply([
            rec(1, mmap(10, 0x1000, 0x1000, "/bin/sh")),
            rec(2, Fork { pid: 11, parent: 10 }),
            rec(3, Fork { pid: 99, parent: 50 }),
            rec(4, mmap(99, 0x1000, 0x1000, "/usr/bin/unrelated")),
            rec(5, Exec { pid: 11 }),
            rec(6, mmap(11, 0x5000, 0x1000, "/usr/bin/xz")),
            rec(7, mmap(11, 0x9000, 0x1000, "/usr/lib/liblzma.so.5")),
        ]);
        assert!(!store.knows(99), "not started by a target");
        assert_eq!(file_at(&store, 10, &[0x1800]), Some("/bin/sh".into()));
        // The child's stack before exec ran the shell's code, after exec xz's.
        assert_eq!(file_at(&store, 11, &[0x1800]), Some("/bin/sh".into()));
        assert_eq!(file_at(&store, 11, &[0x9800, 0x5800]), Some("/usr/lib/liblzma.so.5".into()));
        assert_eq!(store.get(11).unwrap().mappings().len(), 2, "the current image is xz's");
    }

    #[test]
    fn image_choice_prefers_the_one_explaining_more_frames_then_the_newest() {
        use crate::mmap_records::RecordKind::*;
        let mut store = MapsStore::new();
        store.apply([
            rec(1, mmap(7, 0x1000, 0x1000, "/bin/sh")),
            rec(2, mmap(7, 0x3000, 0x1000, "/lib/libc.so.6")),
            rec(3, Exec { pid: 7 }),
            rec(4, mmap(7, 0x1000, 0x1000, "/usr/bin/prog")),
            rec(5, mmap(7, 0x8000, 0x1000, "/lib/libc.so.6")),
        ]);
        assert_eq!(file_at(&store, 7, &[0x1800, 0x3800]), Some("/bin/sh".into()), "two frames to one");
        assert_eq!(file_at(&store, 7, &[0x1800]), Some("/usr/bin/prog".into()), "a tie goes to the newest");
    }

    #[test]
    fn a_mapping_replaced_at_the_same_address_resolves_to_the_new_file() {
        use crate::mmap_records::RecordKind::*;
        let mut store = MapsStore::new();
        store.apply([
            rec(1, mmap(5, 0x10000, 0x4000, "/opt/liba.so")),
            rec(2, mmap(5, 0x11000, 0x1000, "/opt/libb.so")),
            rec(3, Lost { count: 4 }),
        ]);
        assert_eq!(file_at(&store, 5, &[0x11800]), Some("/opt/libb.so".into()));
        // The old mapping keeps the parts the new one does not cover, with their file offsets.
        let maps = store.get(5).unwrap();
        let after = maps.find(0x12800).unwrap();
        assert_eq!(after.backing, Backing::File("/opt/liba.so".into()));
        assert_eq!(after.file_offset_of(0x12800), 0x1000 + 0x2800);
        assert_eq!(maps.find(0x10800).unwrap().backing, Backing::File("/opt/liba.so".into()));
        assert_eq!(maps.mappings().len(), 3);
        assert_eq!(store.lost_records, 4);
    }

    #[test]
    fn names_from_maps_and_records() {
        assert_eq!(Backing::from_name("/usr/bin/xz"), Backing::File("/usr/bin/xz".into()));
        assert_eq!(Backing::from_name("/tmp/a.out (deleted)"), Backing::File("/tmp/a.out".into()));
        assert_eq!(Backing::from_name("[vdso]"), Backing::Vdso);
        assert_eq!(Backing::from_name("//anon"), Backing::Other("//anon".into()));
    }
}
