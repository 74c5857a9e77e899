//! `--unwind auto`'s verdict on real files: Debian's own libraries and programs for x86_64 and
//! arm64 (as their packages ship them), and `workloads/nofp_lib.c` built here with and without
//! frame pointers by Debian's GCC for both. Needs no privileges.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use armtune_probes::{
    frame_pointers::{coverage, Verdicts},
    procmaps::{Backing, Mapping, ProcessMaps},
    unwind::{ElfUnwindInfo, StackUnwinder},
};

fn open(path: &Path) -> ElfUnwindInfo {
    ElfUnwindInfo::open(path).unwrap_or_else(|| panic!("{} is not a readable ELF file", path.display()))
}

/// `workloads/nofp_lib.c` as a shared library built by `compiler` with `flags`.
fn library(dir: &Path, compiler: &str, flags: &[&str]) -> PathBuf {
    let out = dir.join(format!("lib-{compiler}{}.so", flags.concat()));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/nofp_lib.c");
    let status = Command::new(compiler)
        .args(["-O2", "-shared", "-fPIC"])
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("{compiler} (run ci/setup.sh): {e}"));
    assert!(status.success(), "{compiler} {flags:?}");
    out
}

#[test]
fn libraries_built_with_and_without_frame_pointers_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    // As Ubuntu and Fedora build with frame pointers: leaves keep them too.
    const WITH: [&str; 2] = ["-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer"];
    for compiler in ["gcc", "aarch64-linux-gnu-gcc"] {
        let with = coverage(&open(&library(dir.path(), compiler, &WITH)));
        let without = coverage(&open(&library(dir.path(), compiler, &["-fomit-frame-pointer"])));
        // nofp_lib.c's seven functions (GCC's start-up helpers, crtstuff, are built without frame
        // pointers and add to the count on aarch64).
        assert_eq!(without.candidates, with.candidates, "{compiler}");
        assert!(with.framed >= 6 && without.framed <= 1, "{compiler}: {with:?} {without:?}");
        assert!(with.keeps_frame_pointers() && !without.keeps_frame_pointers(), "{compiler}");
    }
    // GCC's default for arm64 keeps frame records but not in leaf functions, whose callers a
    // frame-pointer walk would lose.
    let default = coverage(&open(&library(dir.path(), "aarch64-linux-gnu-gcc", &[])));
    assert!(!default.keeps_frame_pointers(), "{default:?}");
}

#[test]
fn debian_files_are_judged_as_their_builds_are() {
    let judged = |path: &str| {
        let c = coverage(&open(Path::new(path)));
        (c.keeps_frame_pointers(), c)
    };
    // x86_64: Debian builds C with GCC's default, which omits frame pointers.
    for path in ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/liblzma.so.5", "/usr/bin/xz"] {
        let (keeps, c) = judged(path);
        assert!(!keeps && c.candidates > 50 && c.framed * 4 < c.candidates, "{path}: {c:?}");
    }
    // node's build keeps them, but not in leaf functions: a third of its functions have none.
    let (keeps, c) = judged("/usr/bin/node");
    assert!(!keeps && c.framed * 2 > c.candidates && c.candidates > 10_000, "node: {c:?}");
    // arm64: GCC's default keeps frame records in all but leaf functions, as in Debian's libc.
    let (keeps, c) = judged("/usr/aarch64-linux-gnu/lib/libc.so.6");
    assert!(!keeps && c.framed * 3 > c.candidates * 2 && c.candidates > 1000, "arm64 libc: {c:?}");
}

#[test]
fn go_programs_without_cfi_are_walked_by_frame_pointers() {
    // Go keeps frame pointers and writes no .eh_frame; its own tools are Go programs.
    let out = Command::new("go").args(["env", "GOTOOLDIR"]).output().expect("go (run ci/setup.sh)");
    let tool = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("compile");
    let info = open(&tool);
    assert!(info.eh_frame().is_none(), "{} has .eh_frame", tool.display());
    assert!(coverage(&info).keeps_frame_pointers());
}

#[test]
fn a_process_keeps_frame_pointers_only_if_all_its_files_do() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = |path: PathBuf, start: u64| Mapping {
        start,
        end: start + 0x10_0000,
        file_offset: 0,
        backing: Backing::File(path),
        build_id: None,
    };
    let framed = library(dir.path(), "gcc", &["-fno-omit-frame-pointer"]);
    let mut unwinder = StackUnwinder::new();
    let mut verdicts = Verdicts::new();
    let vdso = Mapping { start: 0x7000_0000, end: 0x7000_2000, file_offset: 0, backing: Backing::Vdso, build_id: None };
    let alone = ProcessMaps::from_mappings(vec![mapping(framed.clone(), 0x40_0000), vdso.clone()]);
    assert_eq!(verdicts.process_keeps(&alone, &mut unwinder), Some(true));
    // Then Debian's libc is mapped (as the loader or dlopen maps it).
    let libc = PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6");
    let with_libc =
        ProcessMaps::from_mappings(vec![mapping(framed.clone(), 0x40_0000), vdso, mapping(libc, 0x100_0000)]);
    assert_eq!(verdicts.process_keeps(&with_libc, &mut unwinder), Some(false));
    // A file that cannot be read is not trusted to keep them.
    let gone =
        ProcessMaps::from_mappings(vec![mapping(framed, 0x40_0000), mapping(dir.path().join("gone.so"), 0x100_0000)]);
    assert_eq!(verdicts.process_keeps(&gone, &mut unwinder), Some(false));
    // A process whose image maps no file yet (its exec's records still on their way) is not judged.
    let anonymous = ProcessMaps::from_mappings(vec![Mapping {
        start: 0x7100_0000,
        end: 0x7100_1000,
        file_offset: 0,
        backing: Backing::Other(String::new()),
        build_id: None,
    }]);
    assert_eq!(verdicts.process_keeps(&anonymous, &mut unwinder), None);
}

#[test]
fn the_early_verdict_is_the_full_counts_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> =
        ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/xz", "/usr/aarch64-linux-gnu/lib/libc.so.6"]
            .map(PathBuf::from)
            .into();
    files.push(library(dir.path(), "gcc", &["-fno-omit-frame-pointer"]));
    for path in files {
        let info = open(&path);
        assert_eq!(
            armtune_probes::frame_pointers::keeps_frame_pointers(&info),
            coverage(&info).keeps_frame_pointers(),
            "{}",
            path.display()
        );
    }
}
