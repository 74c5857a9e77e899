//! Library frames of short-lived processes, for real: the kernel's mapping records name code in
//! shared libraries however soon a process exits (a library loaded at start, one opened with
//! dlopen just before exit, Debian's stripped xz, and every compiler process of a `make -j2`).
//!
//! Needs root; skips with a reason without it, fails under `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    collections::{HashMap, HashSet},
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use common::*;

/// `workloads/hotlib_main.c` linked with `libhot.so` (found beside it through its rpath), and
/// `libdlhot.so` for dlopen: all with frame pointers and symbols, built once.
fn hotlib() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hotlib");
        std::fs::create_dir_all(&dir).unwrap();
        let src = repo_root().join("workloads");
        let cc = |args: &[&OsStr]| common::cc(&["-O2", "-g", "-fno-omit-frame-pointer"], args);
        let lib = src.join("hotlib.c");
        let (libhot, libdlhot) = (dir.join("libhot.so"), dir.join("libdlhot.so"));
        cc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), libhot.as_os_str(), lib.as_os_str()]);
        cc(&[
            "-shared".as_ref(),
            "-fPIC".as_ref(),
            "-DHOT_FN=dl_hot_spin".as_ref(),
            "-o".as_ref(),
            libdlhot.as_os_str(),
            lib.as_os_str(),
        ]);
        let (main, main_src) = (dir.join("hotlib_main"), src.join("hotlib_main.c"));
        let dir_flag = format!("-L{}", dir.display());
        cc(&[
            "-o".as_ref(),
            main.as_os_str(),
            main_src.as_os_str(),
            dir_flag.as_ref(),
            "-lhot".as_ref(),
            "-Wl,-rpath,$ORIGIN".as_ref(),
            "-ldl".as_ref(),
        ]);
        dir
    })
}

/// A JSON profile of `command` at 999 Hz, its stacks as (frames as (name, kind), weight).
fn profile(command: &[&OsStr]) -> Vec<(Vec<(String, String)>, u64)> {
    json_frames(&ProfileRun::new().args(["-F", "999"]).json(command))
}

fn names(frames: &[(String, String)]) -> impl Iterator<Item = &str> {
    frames.iter().map(|(n, _)| n.as_str())
}

#[test]
fn library_function_of_a_50_ms_process_is_named_in_every_run() {
    let Some(_kernel) = kernel_test() else { return };
    let main = hotlib().join("hotlib_main");
    for run in 1..=20 {
        let stacks = profile(&[main.as_os_str(), "50".as_ref()]);
        let named: u64 = stacks.iter().filter(|(f, _)| names(f).any(|n| n == "lib_hot_spin")).map(|(_, w)| w).sum();
        let total: u64 = stacks.iter().map(|(_, w)| w).sum();
        // 50 ms at 999 Hz is about 50 samples (fewer on a busy machine), most of them in the library.
        assert!(named >= 5 && named * 2 >= total, "run {run}: lib_hot_spin has {named} of {total} samples: {stacks:?}");
        assert!(
            stacks.iter().all(|(f, _)| !names(f).any(|n| n == "[libhot.so]")),
            "run {run}: the library is known but its function not named: {stacks:?}"
        );
    }
}

#[test]
fn a_shell_that_execs_or_forks_the_program_still_names_its_library() {
    let Some(_kernel) = kernel_test() else {
        return;
    };
    let main = hotlib().join("hotlib_main");
    // exec after exec: the shell's process becomes the program; then a shell that forks it.
    for script in [format!("exec {} 50", main.display()), format!("{} 50; true", main.display())] {
        for run in 1..=5 {
            let stacks = profile(&["sh".as_ref(), "-c".as_ref(), script.as_ref()]);
            let named: u64 = stacks
                .iter()
                .filter(|(f, _)| f[0].0 == "hotlib_main" && names(f).any(|n| n == "lib_hot_spin"))
                .map(|(_, w)| w)
                .sum();
            assert!(named >= 5, "{script:?}, run {run}: lib_hot_spin has {named} samples: {stacks:?}");
        }
    }
}

#[test]
fn a_library_rebuilt_before_symbolization_is_not_named_from_the_new_file() {
    let Some(_kernel) = kernel_test() else { return };
    // The program and its library in a directory of their own: the test replaces the library.
    let dir = tempfile::tempdir().unwrap();
    let (main, lib, rebuilt) = (dir.path().join("hotlib_main"), dir.path().join("libhot.so"), dir.path().join("v2.so"));
    std::fs::copy(hotlib().join("hotlib_main"), &main).unwrap();
    std::fs::copy(hotlib().join("libhot.so"), &lib).unwrap();
    // The same source under another name: another build-id, and symbols that would misname it.
    let src = repo_root().join("workloads/hotlib.c");
    let status = Command::new("cc")
        .args(["-O2", "-g", "-fno-omit-frame-pointer", "-shared", "-fPIC", "-DHOT_FN=not_what_ran", "-o"])
        .arg(&rebuilt)
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    let stacks =
        profile(&[main.as_os_str(), "100".as_ref(), "--replace".as_ref(), rebuilt.as_os_str(), lib.as_os_str()]);
    let weight = |f: &str| -> u64 { stacks.iter().filter(|(s, _)| names(s).any(|n| n == f)).map(|(_, w)| w).sum() };
    assert_eq!(weight("not_what_ran"), 0, "named from the rebuilt file: {stacks:?}");
    assert!(weight("[libhot.so (changed on disk)]") >= 10, "{stacks:?}");
}

#[test]
fn library_opened_with_dlopen_10_ms_before_exit_is_named() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = hotlib();
    let (main, lib) = (dir.join("hotlib_main"), dir.join("libdlhot.so"));
    let stacks = profile(&[main.as_os_str(), "100".as_ref(), "--dlopen".as_ref(), lib.as_os_str(), "10".as_ref()]);
    let weight = |f: &str| -> u64 { stacks.iter().filter(|(s, _)| names(s).any(|n| n == f)).map(|(_, w)| w).sum() };
    assert!(weight("dl_hot_spin") >= 4, "dl_hot_spin: {stacks:?}");
    assert!(weight("main_spin") >= 50, "main_spin: {stacks:?}");
}

/// About 2 MB of base64-like text with no repeats: Debian's xz -6 takes most of a second on it.
fn xz_input(dir: &Path) -> PathBuf {
    let path = dir.join("input.txt");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut text = Vec::with_capacity(2 << 20);
    while text.len() < 2 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push(if text.len() % 77 == 76 { b'\n' } else { alphabet[(x >> 58) as usize] });
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn debian_xz_shows_its_liblzma_frames_never_unknown() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = xz_input(dir.path());
    let stacks =
        profile(&["xz".as_ref(), "-6".as_ref(), "-T1".as_ref(), "-c".as_ref(), "-k".as_ref(), input.as_os_str()]);
    let xz: Vec<_> = stacks.iter().filter(|(f, _)| f[0].0 == "xz").collect();
    let total: u64 = xz.iter().map(|(_, w)| w).sum();
    assert!(total >= 200, "xz ran too short to judge: {total} samples");
    // The innermost user frame is where the CPU was: it must never be unexplained.
    let leaf_unknown: u64 = xz
        .iter()
        .filter(|(f, _)| f.iter().rev().find(|(_, kind)| kind == "user").is_some_and(|(n, _)| n == "[unknown]"))
        .map(|(_, w)| w)
        .sum();
    assert_eq!(leaf_unknown, 0, "user frames of xz left [unknown] where the CPU was: {xz:?}");
    // Debian's liblzma is stripped to its exported symbols: its frames are lzma_* names, its
    // other functions by their start (liblzma.so.5.4.1+0x...), or the module.
    let in_lzma: u64 = xz
        .iter()
        .filter(|(f, _)| {
            names(f).any(|n| n.starts_with("[liblzma.so.5") || n.starts_with("liblzma.so.5") || n.starts_with("lzma_"))
        })
        .map(|(_, w)| w)
        .sum();
    assert!(in_lzma * 10 >= total * 8, "only {in_lzma} of {total} xz samples in liblzma: {xz:?}");
}

/// A small C project whose files take cc1 a few hundred milliseconds each: four files, `make -j2`.
fn c_project(dir: &Path) {
    for f in 0..4 {
        let mut src = String::new();
        for i in 0..600 {
            src += &format!(
                "int f{f}_{i}(int *a, int n) {{ int s = {i}; for (int k = 0; k < n; k++) s += a[k] * (k ^ {i}); \
                 return s > {i} ? s : f{f}_{j}(a, n - 1); }}\n",
                j = (i + 1) % 600
            );
        }
        std::fs::write(dir.join(format!("m{f}.c")), format!("int f{f}_0(int *a, int n);\n{src}")).unwrap();
    }
    std::fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    std::fs::write(
        dir.join("Makefile"),
        "prog: main.o m0.o m1.o m2.o m3.o\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O2 -c -o $@ $<\n",
    )
    .unwrap();
}

/// Per process name, the libc functions perf names in `perf record -g -- make -j2` of the project.
fn perf_libc_frames(project: &Path) -> HashMap<String, HashSet<String>> {
    let data = project.join("perf.data");
    let perf = perf_binary();
    let status = Command::new(&perf)
        .args(["record", "-q", "-F", "999", "-g", "-o"])
        .arg(&data)
        .args(["--", "make", "-s", "-j2", "-C"])
        .arg(project)
        .stdout(Stdio::null())
        .status()
        .expect("perf (linux-perf) is needed: run ci/setup.sh");
    assert!(status.success(), "perf record");
    let script = Command::new(&perf).args(["script", "-F", "comm,sym,dso", "-i"]).arg(&data).output().unwrap();
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    let mut comm = String::new();
    for line in String::from_utf8_lossy(&script.stdout).lines() {
        if !line.starts_with(char::is_whitespace) && !line.is_empty() {
            comm = line.trim().to_string();
        } else if let Some((sym, dso)) = line.trim().split_once(" (") {
            if dso.contains("libc.so.6") && sym != "[unknown]" {
                out.entry(comm.clone()).or_default().insert(sym.split('+').next().unwrap().to_string());
            }
        }
    }
    out
}

/// Debian's perf is a wrapper looking for perf_$(uname -r); the newest real binary works on any kernel.
fn perf_binary() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/bin")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("perf_")))
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from("perf"))
}

/// Names of libc's functions: its dynamic symbols, and the symbol table of its detached debug
/// file (libc6-dbg, found by build-id) where installed: what its frames can be called.
fn libc_symbols() -> HashSet<String> {
    let script = r#"lib=$(cc -print-file-name=libc.so.6); nm -D --defined-only "$lib"
        id=$(readelf -n "$lib" | sed -n 's/.*Build ID: //p')
        dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
        if [ -f "$dbg" ]; then nm --defined-only "$dbg"; fi"#;
    let out = Command::new("bash").args(["-c", script]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|n| n.split('@').next().unwrap().to_string())
        .collect()
}

#[test]
fn every_compiler_process_of_make_has_its_libc_frames() {
    let Some(_kernel) = kernel_test() else { return };
    let (ours, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    c_project(ours.path());
    c_project(theirs.path());
    let perf = perf_libc_frames(theirs.path());
    let stacks = profile(&["make".as_ref(), "-s".as_ref(), "-j2".as_ref(), "-C".as_ref(), ours.path().as_os_str()]);
    let libc = libc_symbols();
    assert!(libc.contains("malloc"), "libc's symbols: {}", libc.len());
    let mut ours_libc: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (frames, _) in &stacks {
        let comm = frames[0].0.as_str();
        for (name, kind) in &frames[1..] {
            if kind == "user" && (libc.contains(name) || name == "[libc.so.6]") {
                ours_libc.entry(comm).or_default().insert(name);
            }
        }
    }
    for comm in ["cc1", "as", "ld"] {
        eprintln!("{comm}: armtune's libc frames {:?}; perf's {:?}", ours_libc.get(comm), perf.get(comm));
        let named = ours_libc.get(comm).map_or(0, |s| s.iter().filter(|n| !n.starts_with('[')).count());
        assert!(
            ours_libc.contains_key(comm),
            "{comm}: no libc frame (perf named {:?}); processes seen: {:?}",
            perf.get(comm),
            stacks.iter().map(|(f, _)| &f[0].0).collect::<HashSet<_>>()
        );
        // Where perf names libc functions in this kind of process, so must we.
        if perf.get(comm).is_some_and(|s| !s.is_empty()) {
            assert!(named > 0, "{comm}: perf names {:?}, armtune only {:?}", perf[comm], ours_libc[comm]);
        }
    }
}
