//! Detached debug information, found the way gdb and perf find it: by GNU build-id under each
//! debug directory (`/usr/lib/debug/.build-id/ab/cdef….debug`), then by the `.gnu_debuglink`
//! name next to the file, in its `.debug/` directory, and under each debug directory by the
//! file's own directory (`/usr/lib/debug/usr/bin/prog.debug`). A candidate counts only when it
//! is the file's: the same build-id, or (without one) the CRC32 the link records.
//!
//! Distributions ship their symbols this way (Debian's `-dbg` / `-dbgsym` packages, Fedora's
//! `debuginfo`), so a stripped library's local functions are named only through these files.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use object::Object;

/// Where distributions install debug files (gdb's and blazesym's defaults).
pub const DEFAULT_DEBUG_DIRS: [&str; 2] = ["/usr/lib/debug", "/lib/debug"];

/// What a file says about its debug information.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebugLinks {
    /// Its GNU build-id.
    pub build_id: Option<Vec<u8>>,
    /// The `.gnu_debuglink` file name and the CRC32 of the debug file it names.
    pub debuglink: Option<(String, u32)>,
    /// Whether the file has its own DWARF (`.debug_info`) or symbol table (`.symtab`).
    pub has_own_symbols: bool,
}

impl DebugLinks {
    /// Reads the build-id, debug link and symbol sections of the ELF file at `path`.
    pub fn read(path: &Path) -> Option<DebugLinks> {
        let file = std::fs::File::open(path).ok()?;
        let cache = object::ReadCache::new(file);
        DebugLinks::of(&object::File::parse(&cache).ok()?)
    }

    /// [`DebugLinks::read`] of an ELF file's bytes; `None` when they are not one.
    pub fn parse(data: &[u8]) -> Option<DebugLinks> {
        DebugLinks::of(&object::File::parse(data).ok()?)
    }

    fn of<'data, R: object::ReadRef<'data>>(elf: &object::File<'data, R>) -> Option<DebugLinks> {
        let build_id = elf.build_id().ok().flatten().map(<[u8]>::to_vec);
        let debuglink = elf
            .gnu_debuglink()
            .ok()
            .flatten()
            .and_then(|(name, crc)| std::str::from_utf8(name).ok().map(|n| (n.to_string(), crc)));
        let has_own_symbols = elf.section_by_name(".debug_info").is_some() || elf.symbol_table().is_some();
        Some(DebugLinks { build_id, debuglink, has_own_symbols })
    }
}

/// Finds debug files, remembering what it found per file.
#[derive(Debug, Clone)]
pub struct DebugFiles {
    dirs: Vec<PathBuf>,
    found: HashMap<PathBuf, Option<PathBuf>>,
}

impl Default for DebugFiles {
    fn default() -> Self {
        DebugFiles::new(DEFAULT_DEBUG_DIRS.iter().map(PathBuf::from).collect())
    }
}

impl DebugFiles {
    /// A finder that looks in `dirs` (in order) besides the file's own directory.
    pub fn new(dirs: Vec<PathBuf>) -> DebugFiles {
        DebugFiles { dirs, found: HashMap::new() }
    }

    /// The debug file of the ELF file at `path`, if one is installed.
    pub fn find(&mut self, path: &Path) -> Option<PathBuf> {
        if let Some(found) = self.found.get(path) {
            return found.clone();
        }
        let found = DebugLinks::read(path).and_then(|links| self.search(path, &links));
        self.found.insert(path.to_path_buf(), found.clone());
        found
    }

    fn search(&self, path: &Path, links: &DebugLinks) -> Option<PathBuf> {
        self.candidates(path, links).into_iter().find(|c| c.as_path() != path && belongs(c, links))
    }

    /// Every place a debug file of `path` may be, in the order gdb tries them.
    /// A file read through a process's own root ([`crate::roots`]) has its debug files looked
    /// for inside that root first, then on the host.
    pub fn candidates(&self, path: &Path, links: &DebugLinks) -> Vec<PathBuf> {
        let root = crate::roots::root_prefix(path);
        let inside = |dir: &Path| dir.strip_prefix("/").unwrap_or(dir).to_path_buf();
        let dirs: Vec<PathBuf> = root
            .into_iter()
            .flat_map(|r| self.dirs.iter().map(move |d| r.join(inside(d))))
            .chain(self.dirs.clone())
            .collect();
        let mut out = Vec::new();
        if let Some(id) = links.build_id.as_deref().filter(|id| id.len() >= 2) {
            let hex = hex(id);
            for dir in &dirs {
                out.push(dir.join(".build-id").join(&hex[..2]).join(format!("{}.debug", &hex[2..])));
            }
        }
        if let Some((name, _)) = &links.debuglink {
            // Canonical through a kept root would leave it (the link resolves to the host's view).
            let real = match root {
                Some(_) => path.to_path_buf(),
                None => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            };
            let dir = real.parent().unwrap_or(Path::new("/"));
            out.push(dir.join(name));
            out.push(dir.join(".debug").join(name));
            // The file's directory as its process sees it, under each debug directory.
            let seen = match root {
                Some(r) => Path::new("/").join(dir.strip_prefix(r).unwrap_or(dir)),
                None => dir.to_path_buf(),
            };
            for debug_dir in &dirs {
                out.push(debug_dir.join(inside(&seen)).join(name));
            }
        }
        out
    }
}

/// Whether the file at `candidate` holds the debug information `links` asks for: the same
/// build-id when both have one, else the CRC32 the debug link records.
fn belongs(candidate: &Path, links: &DebugLinks) -> bool {
    if !candidate.is_file() {
        return false;
    }
    let Some(theirs) = DebugLinks::read(candidate) else { return false };
    match (&links.build_id, &theirs.build_id) {
        (Some(ours), Some(theirs)) => ours == theirs,
        _ => match &links.debuglink {
            Some((_, crc)) => std::fs::read(candidate).is_ok_and(|bytes| crc32fast::hash(&bytes) == *crc),
            None => false,
        },
    }
}

/// Bytes (a build-id) as lowercase hex, as build-id paths, debuginfod and pprof spell them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn libc() -> &'static Path {
        ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
            .expect("libc")
    }

    #[test]
    fn finds_debians_libc_debug_file_by_build_id() {
        // ci/setup.sh installs libc6-dbg for exactly this.
        let links = DebugLinks::read(libc()).unwrap();
        assert!(links.build_id.is_some() && links.debuglink.is_some(), "{links:?}");
        let found = DebugFiles::default().find(libc()).expect("libc6-dbg's debug file");
        assert!(found.starts_with("/usr/lib/debug/.build-id/"), "{}", found.display());
    }

    /// A program with a static function, its debug part in `debug`, stripped with a debug link.
    fn split_program(dir: &Path, keep_build_id: bool) -> (PathBuf, PathBuf) {
        let src = dir.join("p.c");
        std::fs::write(
            &src,
            "static int helper(int x) { return x * 3; }\nint main(int c, char **v) { return helper(c); }\n",
        )
        .unwrap();
        let prog = dir.join("prog");
        let id = if keep_build_id { "-Wl,--build-id" } else { "-Wl,--build-id=none" };
        assert!(Command::new("cc").args(["-g", "-O0", id, "-o"]).arg(&prog).arg(&src).status().unwrap().success());
        let debug = dir.join("prog.debug");
        let objcopy =
            |args: &[&std::ffi::OsStr]| assert!(Command::new("objcopy").args(args).status().unwrap().success());
        objcopy(&["--only-keep-debug".as_ref(), prog.as_os_str(), debug.as_os_str()]);
        objcopy(&["--strip-all".as_ref(), prog.as_os_str()]);
        let link = format!("--add-gnu-debuglink={}", debug.display());
        objcopy(&[link.as_ref(), prog.as_os_str()]);
        (prog, debug)
    }

    #[test]
    fn follows_a_debug_link_next_to_the_file_and_in_its_debug_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (prog, debug) = split_program(dir.path(), true);
        assert_eq!(DebugFiles::new(Vec::new()).find(&prog), Some(std::fs::canonicalize(&debug).unwrap()));
        std::fs::create_dir(dir.path().join(".debug")).unwrap();
        let moved = dir.path().join(".debug/prog.debug");
        std::fs::rename(&debug, &moved).unwrap();
        let found = DebugFiles::new(Vec::new()).find(&prog).unwrap();
        assert_eq!(found, std::fs::canonicalize(&moved).unwrap());
    }

    #[test]
    fn without_a_build_id_the_link_crc_decides() {
        let dir = tempfile::tempdir().unwrap();
        let (prog, debug) = split_program(dir.path(), false);
        assert!(DebugLinks::read(&prog).unwrap().build_id.is_none());
        assert!(DebugFiles::new(Vec::new()).find(&prog).is_some());
        // Another file under the same name is not this program's debug information.
        std::fs::write(&debug, b"\x7fELF not the one").unwrap();
        assert_eq!(DebugFiles::new(Vec::new()).find(&prog), None);
    }

    #[test]
    fn a_file_read_through_a_root_finds_its_debug_file_inside_that_root() {
        use std::os::{fd::AsRawFd, unix::fs::OpenOptionsExt};
        // A root directory, as a container's is read: through a descriptor, `/proc/self/fd/N/...`.
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("app")).unwrap();
        let (prog, debug) = split_program(&root.path().join("app"), true);
        let hex = hex(&DebugLinks::read(&prog).unwrap().build_id.unwrap());
        let by_id = root.path().join("usr/lib/debug/.build-id").join(&hex[..2]).join(format!("{}.debug", &hex[2..]));
        std::fs::create_dir_all(by_id.parent().unwrap()).unwrap();
        std::fs::rename(&debug, &by_id).unwrap();
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(root.path())
            .unwrap();
        let prefix = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
        let through = prefix.join("app/prog");
        let found = DebugFiles::default().find(&through).expect("the debug file inside the root");
        assert_eq!(found, prefix.join(by_id.strip_prefix(root.path()).unwrap()));
        // And one mirrored under the root's debug directory by the file's path there (`/app`).
        let mirrored = root.path().join("usr/lib/debug/app/prog.debug");
        std::fs::create_dir_all(mirrored.parent().unwrap()).unwrap();
        std::fs::rename(&by_id, &mirrored).unwrap();
        let found = DebugFiles::default().find(&through).expect("the mirrored debug file inside the root");
        assert_eq!(found, prefix.join("usr/lib/debug/app/prog.debug"));
    }

    #[test]
    fn a_debug_directory_mirrors_the_files_path() {
        let dir = tempfile::tempdir().unwrap();
        let (prog, debug) = split_program(dir.path(), true);
        let debug_root = tempfile::tempdir().unwrap();
        let real_dir = std::fs::canonicalize(dir.path()).unwrap();
        let mirrored = debug_root.path().join(real_dir.strip_prefix("/").unwrap()).join("prog.debug");
        std::fs::create_dir_all(mirrored.parent().unwrap()).unwrap();
        std::fs::rename(&debug, &mirrored).unwrap();
        let found = DebugFiles::new(vec![debug_root.path().to_path_buf()]).find(&prog);
        assert_eq!(found, Some(mirrored));
    }
}
