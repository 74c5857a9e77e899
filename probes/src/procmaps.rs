//! Executable mappings of processes, captured from `/proc/PID/maps` while the processes live, so
//! that samples of processes that exited before the end of a profile can still be symbolized.

use std::{collections::HashMap, path::PathBuf};

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

/// One executable mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Offset in the file of `start`.
    pub file_offset: u64,
    /// What is mapped.
    pub backing: Backing,
}

impl Mapping {
    /// The file offset that `addr` (inside this mapping) corresponds to.
    pub fn file_offset_of(&self, addr: u64) -> u64 {
        addr - self.start + self.file_offset
    }
}

/// The executable mappings of one process, sorted by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessMaps {
    mappings: Vec<Mapping>,
}

impl ProcessMaps {
    /// Reads `/proc/PID/maps`; `None` when the process is gone.
    pub fn read(pid: u32) -> Option<ProcessMaps> {
        std::fs::read_to_string(format!("/proc/{pid}/maps")).ok().map(|t| ProcessMaps::parse(&t))
    }

    /// Parses the text of a maps file, keeping executable mappings only.
    pub fn parse(text: &str) -> ProcessMaps {
        let mut mappings: Vec<Mapping> = text.lines().filter_map(parse_line).collect();
        mappings.sort_by_key(|m| m.start);
        ProcessMaps { mappings }
    }

    /// Builds maps from mappings (tests, and callers that know the layout).
    pub fn from_mappings(mut mappings: Vec<Mapping>) -> ProcessMaps {
        mappings.sort_by_key(|m| m.start);
        ProcessMaps { mappings }
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

    /// Adds the mappings of `newer` and keeps those of `self` that `newer` does not overlap, so a
    /// library that was unloaded between two reads still resolves samples taken before.
    pub fn merge(&mut self, newer: ProcessMaps) {
        let mut kept: Vec<Mapping> = self
            .mappings
            .drain(..)
            .filter(|old| !newer.mappings.iter().any(|n| n.start < old.end && old.start < n.end))
            .collect();
        kept.extend(newer.mappings);
        kept.sort_by_key(|m| m.start);
        self.mappings = kept;
    }
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
    let backing = if name == "[vdso]" {
        Backing::Vdso
    } else if name.starts_with('/') {
        // A replaced binary shows as "path (deleted)"; the old path is still the best guess.
        Backing::File(PathBuf::from(name.strip_suffix(" (deleted)").unwrap_or(name)))
    } else {
        Backing::Other(name.to_string())
    };
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        file_offset: u64::from_str_radix(offset, 16).ok()?,
        backing,
    })
}

/// Mappings of every process seen during a profile.
#[derive(Debug, Clone, Default)]
pub struct MapsStore {
    processes: HashMap<u32, ProcessMaps>,
}

impl MapsStore {
    /// An empty store.
    pub fn new() -> MapsStore {
        MapsStore::default()
    }

    /// Reads and merges the current mappings of `pid`; false when the process is already gone.
    pub fn capture(&mut self, pid: u32) -> bool {
        match ProcessMaps::read(pid) {
            Some(maps) => {
                self.insert(pid, maps);
                true
            }
            None => false,
        }
    }

    /// Replaces everything known of `pid` (after exec its old mappings mean nothing).
    pub fn replace(&mut self, pid: u32) -> bool {
        match ProcessMaps::read(pid) {
            Some(maps) => {
                self.processes.insert(pid, maps);
                true
            }
            None => false,
        }
    }

    /// Merges `maps` into what is known of `pid`.
    pub fn insert(&mut self, pid: u32, maps: ProcessMaps) {
        self.processes.entry(pid).or_default().merge(maps);
    }

    /// What is known of `pid`.
    pub fn get(&self, pid: u32) -> Option<&ProcessMaps> {
        self.processes.get(&pid)
    }

    /// Pids with captured mappings.
    pub fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.processes.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
