//! Where the allocator lives for a target, and placing the allocator uprobes there.
//!
//! The C library of a dynamically linked program, found in `/proc/PID/maps` for running processes
//! and from the program's own dependencies (`DT_NEEDED`, its run paths, the default library
//! directories) for a command about to start, falling back to `ld.so.cache` (which minimal systems
//! lack); the program itself when it is linked statically; or what `--alloc-lib` names (jemalloc,
//! tcmalloc, mimalloc, with `--alloc-prefix` for their prefixed symbols).

use crate::error::Context as _;
use std::path::{Path, PathBuf};

use aya::{programs::UProbe, Ebpf};

use crate::{Error, Result};

/// Entry probes: (program, function without prefix). Every one also gets the return probe.
pub const ALLOC_FUNCTIONS: &[(&str, &str)] = &[
    ("armtune_malloc", "malloc"),
    ("armtune_calloc", "calloc"),
    ("armtune_realloc", "realloc"),
    ("armtune_posix_memalign", "posix_memalign"),
    ("armtune_aligned_alloc", "aligned_alloc"),
    ("armtune_aligned_alloc", "memalign"),
    ("armtune_malloc", "valloc"),
    ("armtune_malloc", "pvalloc"),
    ("armtune_mmap", "mmap"),
];

/// Where to attach, for which processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocTarget {
    /// The library or executable holding the allocator (a path, or a name `ld.so.cache` resolves).
    pub library: PathBuf,
    /// Only these processes (uprobe pid filter); `None` for every process mapping the library
    /// (the eBPF side then keeps only targets, children included).
    pub pid: Option<u32>,
}

/// Whether the ELF file at `path` is linked statically (no `PT_INTERP` program header).
/// Non-ELF or unreadable files count as dynamic: the C library is then the best guess.
pub fn is_static(path: &Path) -> bool {
    let Ok(data) = std::fs::read(path) else { return false };
    elf_has_no_interp(&data).unwrap_or(false)
}

fn elf_has_no_interp(data: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if data.get(..4)? != b"\x7fELF" || *data.get(4)? != 2 || *data.get(5)? != 1 {
        return None; // not a 64-bit little-endian ELF
    }
    let u16_at = |o: usize| data.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u64_at = |o: usize| data.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()));
    let phoff = u64_at(0x20)? as usize;
    let phentsize = u16_at(0x36)? as usize;
    let phnum = u16_at(0x38)? as usize;
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?);
        if p_type == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

/// Whether the file at `path` is a Go program (it carries Go's build-info header). Go moves
/// goroutine stacks, so no return probe may ever be placed in one.
///
/// The header is looked for where Go's own `debug/buildinfo` looks: at the start of the
/// `.go.buildinfo` section, or (sections stripped) 16-byte aligned in a writable segment. A
/// search of the whole file would also find the magic in any program that looks for it (armtune
/// itself), as a constant in its read-only data.
pub fn is_go(path: &Path) -> bool {
    use object::{Object, ObjectSection, ObjectSegment, SegmentFlags};
    const MAGIC: &[u8] = b"\xff Go buildinf:";
    const ALIGN: usize = 16;
    // Only the headers and the data looked at are read, not the whole file.
    let Ok(file) = std::fs::File::open(path) else { return false };
    let cache = object::ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else { return false };
    if let Some(section) = elf.section_by_name(".go.buildinfo") {
        return section.data().is_ok_and(|d| d.starts_with(MAGIC));
    }
    let writable = |flags| matches!(flags, SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_W != 0);
    elf.segments()
        .filter(|seg| writable(seg.flags()))
        .filter_map(|seg| seg.data().ok())
        .any(|d| (0..d.len()).step_by(ALIGN).any(|at| d[at..].starts_with(MAGIC)))
}

/// The C library mapped by process `pid`, from its maps.
///
/// A process in another root (a container) maps its own C library, which the host may not have
/// at that path: it is named by the mapping itself (`/proc/PID/map_files/START-END`), which
/// opens the very file mapped.
pub fn libc_of(pid: u32) -> Option<PathBuf> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let (range, path) = maps.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let path = fields.nth(4)?;
        let name = Path::new(path).file_name()?.to_str()?;
        (name.starts_with("libc.so") || name.starts_with("libc-")).then_some((range, path))
    })?;
    if crate::roots::shares_our_root(pid) {
        Some(PathBuf::from(path))
    } else {
        Some(PathBuf::from(format!("/proc/{pid}/map_files/{range}")))
    }
}

/// The C library the dynamically linked program at `exe` will load: its `DT_NEEDED` entry named
/// `libc.so.*`, searched as the dynamic loader does (`DT_RPATH`, `LD_LIBRARY_PATH`, `DT_RUNPATH`,
/// then the default directories; `ld.so.cache` is left to aya when this finds nothing).
pub fn needed_libc(exe: &Path) -> Option<PathBuf> {
    use object::read::elf::{Dyn, FileHeader};
    let data = std::fs::read(exe).ok()?;
    let header = object::elf::FileHeader64::<object::Endianness>::parse(&*data).ok()?;
    let endian = header.endian().ok()?;
    let sections = header.sections(endian, &*data).ok()?;
    // `dynamic` returns the index of the string table the dynamic section links to.
    let (entries, strings_index) = sections.dynamic(endian, &*data).ok()??;
    let strings = sections.strings(endian, &*data, strings_index).ok()?;
    let (mut libc, mut rpath, mut runpath) = (None, Vec::new(), Vec::new());
    let origin = exe.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let paths = |value: &[u8]| -> Vec<PathBuf> {
        String::from_utf8_lossy(value).split(':').map(|p| PathBuf::from(p.replace("$ORIGIN", &origin))).collect()
    };
    for entry in entries {
        let Ok(value) = entry.string(endian, strings) else { continue };
        match entry.d_tag(endian) as u32 {
            object::elf::DT_NEEDED if value.starts_with(b"libc.so") => {
                libc = Some(String::from_utf8_lossy(value).into_owned())
            }
            object::elf::DT_RPATH => rpath = paths(value),
            object::elf::DT_RUNPATH => runpath = paths(value),
            _ => {}
        }
    }
    let libc = libc?;
    let triple = match header.e_machine(endian) {
        object::elf::EM_AARCH64 => "aarch64-linux-gnu",
        object::elf::EM_X86_64 => "x86_64-linux-gnu",
        _ => "",
    };
    // DT_RPATH only counts when there is no DT_RUNPATH.
    let rpath = if runpath.is_empty() { rpath } else { Vec::new() };
    let env: Vec<PathBuf> = std::env::var("LD_LIBRARY_PATH").map(|v| paths(v.as_bytes())).unwrap_or_default();
    rpath.into_iter().chain(env).chain(runpath).chain(default_dirs(triple)).map(|d| d.join(&libc)).find(|p| p.is_file())
}

/// The dynamic loader's default directories, multiarch ones first.
fn default_dirs(triple: &str) -> Vec<PathBuf> {
    ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
        .iter()
        .flat_map(|d| [Path::new(d).join(triple), PathBuf::from(d)])
        .collect()
}

/// This system's shared C library (`libc.so.6` in the default directories), if it has one.
pub fn system_libc() -> Option<PathBuf> {
    let triple = if cfg!(target_arch = "aarch64") { "aarch64-linux-gnu" } else { "x86_64-linux-gnu" };
    default_dirs(triple).into_iter().map(|d| d.join("libc.so.6")).find(|p| p.is_file())
}

/// Loads the allocator programs and attaches them at `target`; returns what could not be placed
/// (a function the library lacks), or an error when nothing could (no malloc).
pub fn attach(ebpf: &mut Ebpf, target: &AllocTarget, prefix: &str) -> Result<Vec<String>> {
    for program in [
        "armtune_malloc",
        "armtune_calloc",
        "armtune_realloc",
        "armtune_posix_memalign",
        "armtune_aligned_alloc",
        "armtune_alloc_ret",
        "armtune_free",
        "armtune_mmap",
        "armtune_munmap",
    ] {
        let p: &mut UProbe = ebpf.program_mut(program).unwrap().try_into().unwrap();
        if p.fd().is_err() {
            p.load().with_context(|| format!("loading {program}"))?;
        }
    }
    let pid = target.pid.map(|p| p as i32);
    let (mut missing, mut first_error) = (Vec::new(), None);
    for (program, function) in ALLOC_FUNCTIONS.iter().chain(&[("armtune_free", "free"), ("armtune_munmap", "munmap")]) {
        let symbol = format!("{prefix}{function}");
        let entry: &mut UProbe = ebpf.program_mut(program).unwrap().try_into().unwrap();
        if let Err(e) = entry.attach(Some(&symbol), 0, &target.library, pid) {
            first_error.get_or_insert_with(|| crate::error::chain(&Error::bpf(&symbol, e)));
            missing.push(symbol);
            continue;
        }
        if !matches!(*function, "free" | "munmap") {
            let ret: &mut UProbe = ebpf.program_mut("armtune_alloc_ret").unwrap().try_into().unwrap();
            ret.attach(Some(&symbol), 0, &target.library, pid)
                .with_context(|| format!("attaching the return probe of {symbol}"))?;
        }
    }
    let malloc = format!("{prefix}malloc");
    if missing.contains(&malloc) {
        return Err(Error::Invalid(format!(
            "cannot place allocator probes in {}: no {} ({}); a stripped or static binary without \
             symbols, or another allocator: try --alloc-lib and --alloc-prefix",
            target.library.display(),
            missing.join(", "),
            first_error.unwrap_or_default()
        )));
    }
    Ok(missing.into_iter().map(|m| format!("{m}: not found")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_static_from_dynamic() {
        // This test binary is dynamically linked.
        assert!(!is_static(&std::env::current_exe().unwrap()));
        assert_eq!(elf_has_no_interp(b"not an elf at all"), None);
        // A 64-bit ELF header with no program headers has no interpreter.
        let mut header = vec![0u8; 64];
        header[..6].copy_from_slice(b"\x7fELF\x02\x01");
        assert_eq!(elf_has_no_interp(&header), Some(true));
    }

    #[test]
    fn finds_the_libc_a_program_needs() {
        let exe = std::env::current_exe().unwrap();
        let libc = needed_libc(&exe).expect("this test binary needs libc.so.6");
        assert!(libc.is_file() && libc.file_name().unwrap() == "libc.so.6", "{}", libc.display());
        // The same file the running process mapped.
        let mapped = libc_of(std::process::id()).unwrap();
        assert_eq!(std::fs::canonicalize(libc).unwrap(), std::fs::canonicalize(mapped).unwrap());
        assert_eq!(needed_libc(Path::new("/nonexistent")), None);
    }

    #[test]
    fn knows_go_programs_by_their_build_info_not_by_the_magic_anywhere() {
        // armtune's tests carry the magic as a constant in read-only data: not Go.
        assert!(!is_go(&std::env::current_exe().unwrap()));
        assert!(!is_go(Path::new("/nonexistent")));
        // A C program with the magic 16-aligned in its writable data, in a section of another name,
        // looks like a stripped Go program to Go's own reader too; in read-only data it does not.
        let dir = tempfile::tempdir().unwrap();
        let build = |name: &str, qualifier: &str| {
            let c = dir.path().join(format!("{name}.c"));
            let source = format!(
                "{qualifier} char header[32] __attribute__((aligned(16), used)) = \"\\xff Go buildinf:\";\n\
                 int main(void) {{ return header[1]; }}\n"
            );
            std::fs::write(&c, source).unwrap();
            let exe = dir.path().join(name);
            let status = std::process::Command::new("cc").arg(&c).arg("-o").arg(&exe).status().unwrap();
            assert!(status.success());
            exe
        };
        assert!(!is_go(&build("readonly", "const")));
        assert!(is_go(&build("writable", "")));
    }

    #[test]
    fn finds_own_libc() {
        let libc = libc_of(std::process::id()).expect("this test links glibc");
        assert!(libc.file_name().unwrap().to_str().unwrap().starts_with("libc"));
    }
}
