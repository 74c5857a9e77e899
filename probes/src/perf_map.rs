//! Names of JIT-compiled code, from the `/tmp/perf-PID.map` files runtimes write for profilers:
//! Node's `--perf-basic-prof`, the JVM's `-XX:+DumpPerfMapAtExit` / `jcmd PID Compiler.perfmap`,
//! Python 3.12's `-X perf`. Each line is `START SIZE NAME` (hex, with or without `0x`); the code
//! lives in anonymous memory no file describes, so this is the only name it has.

use std::path::{Path, PathBuf};

/// One process's map: code ranges and their names, sorted by start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerfMap {
    entries: Vec<(u64, u64, String)>,
}

impl PerfMap {
    /// Where process `pid` writes its map.
    pub fn path_of(pid: u32) -> PathBuf {
        PathBuf::from(format!("/tmp/perf-{pid}.map"))
    }

    /// The map of process `pid`, if it wrote one.
    /// A process in a container writes it in its own `/tmp` under the pid it sees there: that
    /// map is read through its root while it lives.
    pub fn read(pid: u32) -> Option<PerfMap> {
        PerfMap::read_file(&PerfMap::path_of(pid)).or_else(|| {
            let inner = namespace_pid(pid).filter(|&inner| inner != pid)?;
            PerfMap::read_file(&Path::new(&format!("/proc/{pid}/root")).join(format!("tmp/perf-{inner}.map")))
        })
    }

    /// The map in `path`; `None` when it cannot be read. Lines that do not parse are skipped.
    pub fn read_file(path: &Path) -> Option<PerfMap> {
        let bytes = std::fs::read(path).ok()?;
        Some(PerfMap::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// Parses map text. Later lines win over earlier ones for the same start: a runtime that
    /// moves or recompiles code appends the new entry.
    pub fn parse(text: &str) -> PerfMap {
        let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x").trim_start_matches("0X"), 16).ok();
        let mut entries: Vec<(u64, u64, String)> = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.trim().splitn(3, char::is_whitespace);
                let start = hex(parts.next()?)?;
                let size = hex(parts.next()?.trim())?;
                let name = parts.next()?.trim();
                (size > 0 && !name.is_empty()).then(|| (start, start.saturating_add(size), name.to_string()))
            })
            .collect();
        // Stable sort, then keep the last entry of each start.
        entries.sort_by_key(|e| e.0);
        let mut kept: Vec<(u64, u64, String)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match kept.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => kept.push(entry),
            }
        }
        PerfMap { entries: kept }
    }

    /// The name of the code holding `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        let i = self.entries.partition_point(|e| e.0 <= addr);
        // The nearest start at or below; entries may nest (stubs inside a region), so look back a
        // little for one that really holds the address.
        self.entries[..i].iter().rev().take(8).find(|e| addr < e.1).map(|e| e.2.as_str())
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it names nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The pid process `pid` has in its own pid namespace (the last `NSpid` of its status).
fn namespace_pid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_and_jvm_lines_and_looks_addresses_up() {
        let map = PerfMap::parse(
            "3ee1f9d0a0c0 40 JS:~hotJsFunction file:///tmp/hot.js:1:1\n\
             0x7f3c8d0f1a00 0x1c0 LHotJava;::spin\n\
             garbage line\n\
             7f3c8d0f2000 0 zero-sized\n",
        );
        assert_eq!(map.len(), 2);
        assert_eq!(map.lookup(0x3ee1f9d0a0c0), Some("JS:~hotJsFunction file:///tmp/hot.js:1:1"));
        assert_eq!(map.lookup(0x3ee1f9d0a0ff), Some("JS:~hotJsFunction file:///tmp/hot.js:1:1"));
        assert_eq!(map.lookup(0x3ee1f9d0a100), None, "one past the end");
        assert_eq!(map.lookup(0x7f3c8d0f1a10), Some("LHotJava;::spin"));
        assert_eq!(map.lookup(0x10), None);
    }

    #[test]
    fn a_later_entry_for_the_same_start_wins() {
        let map = PerfMap::parse("1000 100 old\n1000 80 new\n");
        assert_eq!(map.lookup(0x1010), Some("new"));
        assert_eq!(map.lookup(0x1090), None);
    }

    #[test]
    fn a_missing_map_is_none() {
        assert_eq!(PerfMap::read(u32::MAX), None);
    }
}
