//! How much DWARF the symbolizer may hold parsed at once.
//!
//! blazesym keeps a file's parsed DWARF (units, line tables, inlined-function trees) for as long
//! as it lives, at about three bytes of heap per byte of debug sections. One big file can then
//! outweigh everything else a long-running agent holds: pyenv's `libpython3.11.so` carries 16 MiB
//! of DWARF and cost 50 MB of caches, so an agent on a host starting python every second went over
//! its memory limit, dropped its caches, and parsed the same file again in every window. A budget
//! decides once per file, before it is parsed: a file whose DWARF fits in what is left is named
//! with it (inlined frames included); one that does not is named from its symbol table (its
//! functions, without the functions inlined into them).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

/// The DWARF sections blazesym loads to name addresses (all that gimli's `Dwarf::load` asks for:
/// call frames are not among them), by name without the leading `.debug_` or `.zdebug_`. A
/// compressed section is decompressed into the heap whole, location lists included.
const LOADED_SECTIONS: &[&str] = &[
    "info",
    "abbrev",
    "line",
    "line_str",
    "str",
    "str_offsets",
    "addr",
    "ranges",
    "rnglists",
    "aranges",
    "loc",
    "loclists",
    "types",
];

/// Which files may be named with their DWARF, within a limit of debug-section bytes.
#[derive(Debug, Clone)]
pub struct DwarfBudget {
    limit: u64,
    held: u64,
    /// Each file decided so far: its DWARF's size, and whether it is named with it.
    decided: HashMap<PathBuf, (u64, bool)>,
}

impl Default for DwarfBudget {
    fn default() -> Self {
        DwarfBudget::unlimited()
    }
}

impl DwarfBudget {
    /// Every file is named with its DWARF (`armtune profile`: one run, then the process exits).
    pub fn unlimited() -> DwarfBudget {
        DwarfBudget::new(u64::MAX)
    }

    /// Files are named with their DWARF while the DWARF of all of them stays within `limit` bytes.
    pub fn new(limit: u64) -> DwarfBudget {
        DwarfBudget { limit, held: 0, decided: HashMap::new() }
    }

    /// The limit, in bytes of debug sections.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether the file at `path` may be named with its DWARF. A file without DWARF costs
    /// nothing and is always admitted; the first answer for a path stays its answer.
    pub fn admits(&mut self, path: &Path) -> bool {
        if let Some(&(_, admitted)) = self.decided.get(path) {
            return admitted;
        }
        let size = if self.limit == u64::MAX { 0 } else { dwarf_size(path) };
        let admitted = self.held.saturating_add(size) <= self.limit;
        if admitted {
            self.held += size;
        }
        self.decided.insert(path.to_path_buf(), (size, admitted));
        admitted
    }

    /// The files named from their symbol tables because their DWARF did not fit, with its size.
    pub fn refused(&self) -> impl Iterator<Item = (&Path, u64)> + '_ {
        self.decided.iter().filter(|(_, &(_, admitted))| !admitted).map(|(path, &(size, _))| (path.as_path(), size))
    }

    /// Bytes of DWARF admitted so far.
    pub fn held(&self) -> u64 {
        self.held
    }
}

/// Bytes of the sections blazesym loads to name addresses in the ELF file at `path`,
/// uncompressed (0 when it has none, or cannot be read).
pub fn dwarf_size(path: &Path) -> u64 {
    use object::{Object, ObjectSection};
    // Headers only (and a compressed section's own small header): read as needed, as
    // `symbolize::load_segments` reads segments.
    let Ok(file) = std::fs::File::open(path) else { return 0 };
    let cache = object::ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else { return 0 };
    elf.sections()
        .filter(|s| {
            let name = s.name().unwrap_or("");
            let bare = name.strip_prefix(".debug_").or_else(|| name.strip_prefix(".zdebug_"));
            bare.is_some_and(|b| LOADED_SECTIONS.contains(&b))
        })
        .map(|s| s.compressed_file_range().map(|r| r.uncompressed_size).unwrap_or_else(|_| s.size()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_files_while_their_dwarf_fits_and_keeps_each_answer() {
        let exe = std::env::current_exe().unwrap();
        let size = dwarf_size(&exe);
        assert!(size > 0, "the test binary has DWARF");
        let mut budget = DwarfBudget::new(size + 10);
        assert!(budget.admits(&exe));
        assert_eq!(budget.held(), size);
        // Without DWARF: free. A file that cannot be read: nothing to parse, free too.
        let libc = crate::allocator::libc_of(std::process::id()).unwrap();
        if dwarf_size(&libc) == 0 {
            assert!(budget.admits(&libc));
        }
        assert!(budget.admits(Path::new("/nonexistent")));
        assert_eq!(budget.refused().count(), 0);

        let mut tight = DwarfBudget::new(size - 1);
        assert!(!tight.admits(&exe));
        assert!(!tight.admits(&exe), "decided once");
        assert_eq!(tight.refused().collect::<Vec<_>>(), [(exe.as_path(), size)]);
        assert_eq!(tight.held(), 0);
        assert!(DwarfBudget::unlimited().admits(&exe));
    }

    #[test]
    fn counts_the_sections_blazesym_reads() {
        use object::{Object, ObjectSection};
        let exe = std::env::current_exe().unwrap();
        let data = std::fs::read(&exe).unwrap();
        let elf = object::File::parse(&*data).unwrap();
        let info = elf.section_by_name(".debug_info").unwrap().compressed_file_range().unwrap().uncompressed_size;
        let frame = elf.section_by_name(".debug_frame").map(|s| s.size()).unwrap_or(0);
        let all_debug: u64 = elf
            .sections()
            .filter(|s| s.name().is_ok_and(|n| n.starts_with(".debug_")))
            .map(|s| s.compressed_file_range().unwrap().uncompressed_size)
            .sum();
        let size = dwarf_size(&exe);
        assert!(size >= info && size <= all_debug - frame, "{size} of {all_debug}, info {info}");
    }
}
