//! Helpers shared by the integration tests that load eBPF programs for real.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{Mutex, MutexGuard, OnceLock},
};

/// Tests take turns: each checks that no armtune program stays loaded, which a parallel run would
/// break, and the ratio test wants the CPUs to itself.
pub static KERNEL: Mutex<()> = Mutex::new(());

pub fn armtune() -> Command {
    Command::new(env!("CARGO_BIN_EXE_armtune"))
}

/// A test that loads eBPF programs: holds the kernel for the test, and when the test ends without
/// failing checks that it left no armtune program loaded.
pub struct KernelTest {
    _lock: MutexGuard<'static, ()>,
}

impl Drop for KernelTest {
    fn drop(&mut self) {
        // Runs before the lock is released, so no other test's programs are counted.
        if !std::thread::panicking() {
            assert_no_programs_left();
        }
    }
}

/// Starts a root eBPF test named after the running test (the test harness names each test's
/// thread after it), or says why it is skipped (fails under ARMTUNE_REQUIRE_BPF=1).
pub fn kernel_test() -> Option<KernelTest> {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed test");
    bpf_or_skip(name).map(|lock| KernelTest { _lock: lock })
}

/// Locks the kernel for this test, or explains why it is skipped (fails under ARMTUNE_REQUIRE_BPF=1).
pub fn bpf_or_skip(test: &str) -> Option<MutexGuard<'static, ()>> {
    let caps = armtune_probes::privileges::Capabilities::current();
    if let Some(missing) = caps.missing_for_profiling() {
        let why = format!("{test}: skipped: needs {missing} (run the tests as root)");
        if std::env::var("ARMTUNE_REQUIRE_BPF").as_deref() == Ok("1") {
            panic!("{why}, and ARMTUNE_REQUIRE_BPF=1 requires the eBPF tests to run");
        }
        eprintln!("{why}");
        return None;
    }
    Some(KERNEL.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Compiles `workloads/SOURCE` with frame pointers and DWARF into the test tmpdir.
pub fn build_workload(compiler: &str, source: &str, name: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads").join(source);
    let status = Command::new(compiler)
        .args(["-O2", "-g", "-fno-omit-frame-pointer", "-pthread", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("{compiler} is needed to build the test workloads ({e}): run ci/setup.sh"));
    assert!(status.success(), "building {}", src.display());
    out
}

/// Runs Debian's `cc` with `flags` (optimisation, frame pointers) and then `args`; fails the
/// test when it fails.
pub fn cc<S: AsRef<std::ffi::OsStr>>(flags: &[&str], args: &[S]) {
    let status = Command::new("cc")
        .args(flags)
        .args(args)
        .status()
        .expect("cc is needed to build the test workloads: run ci/setup.sh");
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
    assert!(status.success(), "cc {flags:?} {shown:?}");
}

/// The off-CPU workload (`workloads/blocker.c`), compiled once per test run.
pub fn blocker() -> &'static Path {
    static BLOCKER: OnceLock<PathBuf> = OnceLock::new();
    BLOCKER.get_or_init(|| build_workload("cc", "blocker.c", "blocker"))
}

/// The allocator workload (`workloads/allocs.c`), dynamically linked.
pub fn allocs() -> &'static Path {
    static ALLOCS: OnceLock<PathBuf> = OnceLock::new();
    ALLOCS.get_or_init(|| build_workload("cc", "allocs.c", "allocs"))
}

/// The allocator workload linked statically (its own malloc, no libc.so).
pub fn allocs_static() -> &'static Path {
    static ALLOCS: OnceLock<PathBuf> = OnceLock::new();
    ALLOCS.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("allocs-static");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/allocs.c");
        let status = Command::new("cc")
            .args(["-static", "-O2", "-g", "-fno-omit-frame-pointer", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("cc is needed to build the test workloads: run ci/setup.sh");
        assert!(status.success(), "building a static {}", src.display());
        out
    })
}

/// Debian's `go`, with its caches under the tests' scratch directory (no module mode: the
/// workloads are single files).
pub fn go() -> Command {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut cmd = Command::new("go");
    cmd.env("GOCACHE", tmp.join("gocache")).env("GOPATH", tmp.join("gopath")).env("GO111MODULE", "off");
    cmd
}

/// The Go workload, built once per test run with Debian's go (symbols kept).
pub fn gogc() -> &'static Path {
    static GOGC: OnceLock<PathBuf> = OnceLock::new();
    GOGC.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = tmp.join("gogc");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/gogc.go");
        let status = go()
            .args(["build", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("go (Debian's golang-go) is needed to build the GC workload: run ci/setup.sh");
        assert!(status.success(), "go build {}", src.display());
        out
    })
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The demo workload, compiled once per test run.
pub fn demo() -> &'static Path {
    static DEMO: OnceLock<PathBuf> = OnceLock::new();
    DEMO.get_or_init(|| build_workload("cc", "demo.c", "demo"))
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run armtune");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "armtune panicked:\n{stderr}");
    out
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The top of this source tree (scripts, templates and the benchmarks live there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Folded file as (frames, weight).
pub fn read_folded(path: &Path) -> Vec<(Vec<String>, u64)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let (stack, w) = l.rsplit_once(' ').unwrap();
            (stack.split(';').map(String::from).collect(), w.parse().unwrap())
        })
        .collect()
}

/// Weight of stacks where `function` appears below `caller`.
pub fn weight_under(stacks: &[(Vec<String>, u64)], caller: &str, function: &str) -> u64 {
    stacks
        .iter()
        .filter(|(frames, _)| {
            // `function` anywhere after the first `caller` (a process may share a function's name).
            frames.iter().position(|f| f == caller).is_some_and(|c| frames[c + 1..].iter().any(|f| f == function))
        })
        .map(|(_, w)| w)
        .sum()
}

/// No armtune program is loaded in the kernel. BTF-typed tracepoint programs are freed after an
/// RCU-tasks grace period once detached (the kernel defers it; seen taking over a second), so
/// this waits a bounded time for them.
pub fn assert_no_programs_left() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let left = armtune_probes::object::loaded_programs();
        if left.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "armtune programs still loaded after 15 s: {left:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Parses the SVG completely (panics when malformed) and returns its text.
pub fn svg_text(path: &Path) -> String {
    use quick_xml::{events::Event, Reader};
    let data = std::fs::read(path).unwrap();
    let mut reader = Reader::from_reader(data.as_slice());
    let mut buf = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event_into(&mut buf).expect("well-formed SVG") {
            Event::Text(t) => text.push_str(&t.unescape().unwrap()),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    text
}

/// The numbers `workloads/allocs.c` is built to produce, per function: (calls, bytes, live bytes).
pub const EXPECTED: &[(&str, u64, u64, u64)] = &[
    ("make_small", 100, 2400, 960),
    ("make_zeroed", 10, 1280, 1280),
    ("grow", 6, 6300, 0),
    ("make_aligned", 10, 5696, 5312),
    ("make_mapped", 2, 16384, 8192),
];

/// Stacks of a JSON profile section as (frame names, weight).
pub fn json_stacks(profile: &serde_json::Value) -> Vec<(Vec<String>, u64)> {
    profile["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let frames =
                s["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
            (frames, s["weight"].as_u64().unwrap())
        })
        .collect()
}

/// `armtune profile` of a command, read back as its JSON report: the shape most root tests share.
/// `ProfileRun::new().args(["-F", "999"]).json(&[program, arg])`.
#[derive(Default)]
pub struct ProfileRun {
    args: Vec<std::ffi::OsString>,
}

impl ProfileRun {
    /// A quiet profile with JSON output and nothing else set.
    pub fn new() -> ProfileRun {
        ProfileRun::default()
    }

    /// Adds options before `--`.
    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> ProfileRun {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Profiles `command` (its output discarded) in a scratch working directory, so files a
    /// program drops there (V8's isolate logs, say) go with it; asserts success and returns the
    /// JSON report.
    pub fn json<S: AsRef<std::ffi::OsStr>>(self, command: impl IntoIterator<Item = S>) -> serde_json::Value {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.json");
        let out = run(armtune()
            .args(["profile", "-q", "--format", "json", "-o"])
            .arg(&path)
            .args(&self.args)
            .arg("--")
            .args(command)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null()));
        assert!(out.status.success(), "armtune profile {:?}: {}", self.args, stderr(&out));
        read_json(&path)
    }
}

/// Stacks of a JSON report's main profile as (frames as (name, kind), weight).
pub fn json_frames(report: &serde_json::Value) -> Vec<(Vec<(String, String)>, u64)> {
    report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let frames = s["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["name"].as_str().unwrap().to_string(), f["kind"].as_str().unwrap().to_string()))
                .collect();
            (frames, s["weight"].as_u64().unwrap())
        })
        .collect()
}
