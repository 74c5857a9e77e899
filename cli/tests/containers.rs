//! Processes in containers, for real: programs in their own mount and pid namespaces, `chroot`ed
//! into a private tmpfs the host cannot see (what Docker, Podman and containerd do, made here with
//! `unshare` and `chroot`), and cgroups the test creates as targets.
//!
//! Needs root; skips with a reason without it, fails under `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use common::*;

/// Three builds of `workloads/hotlib.c` as `libhot.so`, each with its own hot function, and
/// `hotlib_main` linked against it: `host` (lib_hot_spin), `a` (ns_a_spin), `b` (ns_b_spin).
fn builds() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("containers");
        let src = repo_root().join("workloads");
        for (name, flags) in [
            ("host", vec![]),
            ("a", vec!["-DHOT_FN=ns_a_spin", "-DHOT_ALIAS"]),
            ("b", vec!["-DHOT_FN=ns_b_spin", "-DHOT_ALIAS"]),
        ] {
            let out = dir.join(name);
            std::fs::create_dir_all(&out).unwrap();
            let cc = |args: &[&std::ffi::OsStr]| common::cc(&["-O2", "-g", "-fno-omit-frame-pointer"], args);
            let lib = out.join("libhot.so");
            let mut args: Vec<&std::ffi::OsStr> =
                vec!["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), lib.as_os_str()];
            args.extend(flags.iter().map(std::ffi::OsStr::new));
            let hotlib = src.join("hotlib.c");
            args.push(hotlib.as_os_str());
            cc(&args);
            let (main, main_src) = (out.join("hotlib_main"), src.join("hotlib_main.c"));
            let lib_dir = format!("-L{}", out.display());
            cc(&[
                "-o".as_ref(),
                main.as_os_str(),
                main_src.as_os_str(),
                lib_dir.as_ref(),
                "-lhot".as_ref(),
                "-Wl,-rpath,$ORIGIN".as_ref(),
                "-ldl".as_ref(),
            ]);
        }
        dir
    })
}

/// The shared libraries `exe` loads, from ldd: what a root needs to run it.
fn libraries_of(exe: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(exe).output().expect("ldd");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')).map(PathBuf::from))
        .filter(|p| !p.starts_with(exe.parent().unwrap()))
        .collect()
}

/// What a root needs to run `files[0]`: each of `files` in `/app`, and the libraries it loads at
/// their paths, as (host file, path inside).
fn root_files(files: &[&Path]) -> Vec<(PathBuf, PathBuf)> {
    let app = files.iter().map(|f| (f.to_path_buf(), Path::new("/app").join(f.file_name().unwrap())));
    app.chain(libraries_of(files[0]).into_iter().map(|l| (l.clone(), l))).collect()
}

/// A program running in its own mount and pid namespaces, chrooted into a tmpfs mounted at
/// `mount` inside them (the host sees whatever is at `mount` on its side, not the tmpfs): the
/// tmpfs holds `build`'s `hotlib_main` and `libhot.so` in `/app` and the C library they load.
struct Contained {
    /// `unshare`, whose child runs the program.
    unshare: Child,
}

impl Contained {
    /// `build`'s hotlib_main and libhot.so, run for `ms` milliseconds.
    fn start(build: &str, mount: &Path, ms: u32) -> Contained {
        let from = builds().join(build);
        Contained::run(&[&from.join("hotlib_main"), &from.join("libhot.so")], mount, &ms.to_string())
    }

    /// `files` copied into `/app` (the first is run with `args`) with the C library they load.
    fn run(files: &[&Path], mount: &Path, args: &str) -> Contained {
        let mut script = format!("set -e\nmount -t tmpfs armtune-test {}\n", mount.display());
        for (from, inside) in root_files(files) {
            let to = mount.join(inside.strip_prefix("/").unwrap());
            script += &format!("mkdir -p {}\ncp {} {}\n", to.parent().unwrap().display(), from.display(), to.display());
        }
        let program = files[0].file_name().unwrap().to_string_lossy();
        // No /proc inside for the loader's $ORIGIN: the library path says where libhot.so is.
        script += &format!("LD_LIBRARY_PATH=/app exec chroot {} /app/{program} {args}\n", mount.display());
        let unshare = Command::new("unshare")
            .args(["--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::null())
            .spawn()
            .expect("unshare (util-linux) is needed");
        Contained { unshare }
    }

    /// The host pid of the program, once it runs in its root.
    fn program_pid(&self, mount: &Path) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let child = std::fs::read_to_string(format!("/proc/{}/task/{0}/children", self.unshare.id()))
                .ok()
                .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()));
            if let Some(pid) = child {
                let root = std::fs::read_link(format!("/proc/{pid}/root")).ok();
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
                if root.as_deref() == Some(mount) && exe.is_some_and(|e| e.parent().is_some_and(|d| d.ends_with("app")))
                {
                    return pid;
                }
            }
            assert!(Instant::now() < deadline, "the contained program did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Contained {
    fn drop(&mut self) {
        // Killing the namespace's first process ends every process in the pid namespace.
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// Leaf frame names by process frame pid, with their weights.
fn leaves_by_pid(report: &serde_json::Value) -> HashMap<u64, HashMap<String, u64>> {
    let mut out: HashMap<u64, HashMap<String, u64>> = HashMap::new();
    for stack in report["stacks"].as_array().unwrap() {
        let frames = stack["frames"].as_array().unwrap();
        let Some(pid) = frames[0]["pid"].as_u64() else { continue };
        let leaf = frames.iter().rev().find(|f| f["kind"] == "user").map_or("-", |f| f["name"].as_str().unwrap());
        *out.entry(pid).or_default().entry(leaf.to_string()).or_default() += stack["weight"].as_u64().unwrap();
    }
    out
}

/// The leaf that holds most of `pid`'s samples, and its share.
fn top_leaf(leaves: &HashMap<u64, HashMap<String, u64>>, pid: u32) -> (String, f64) {
    let of = leaves.get(&u64::from(pid)).unwrap_or_else(|| panic!("no samples of pid {pid}: {leaves:?}"));
    let total: u64 = of.values().sum();
    let (name, weight) = of.iter().max_by_key(|(_, w)| **w).unwrap();
    (name.clone(), *weight as f64 / total as f64)
}

#[test]
fn programs_in_private_roots_are_named_from_their_own_files() {
    let Some(_kernel) = kernel_test() else { return };
    // One host path: the host's directory holds the host build, and each namespace mounts its
    // own tmpfs over it with another build of the same files.
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("root");
    std::fs::create_dir_all(mount.join("app")).unwrap();
    for file in ["hotlib_main", "libhot.so"] {
        std::fs::copy(builds().join("host").join(file), mount.join("app").join(file)).unwrap();
    }
    let a = Contained::start("a", &mount, 30_000);
    let b = Contained::start("b", &mount, 30_000);
    let (pid_a, pid_b) = (a.program_pid(&mount), b.program_pid(&mount));
    let mut host = Command::new(mount.join("app/hotlib_main")).arg("30000").stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pids = format!("{pid_a},{pid_b},{}", host.id());
    for unwind in ["fp", "dwarf"] {
        let out_dir = tempfile::tempdir().unwrap();
        let json = out_dir.path().join("p.json");
        let out = run(armtune()
            .args(["profile", "-q", "-F", "499", "--duration", "1.5s", "--format", "json", "--unwind", unwind])
            .args(["--pid", &pids, "-o"])
            .arg(&json));
        assert!(out.status.success(), "{}", stderr(&out));
        let leaves = leaves_by_pid(&read_json(&json));
        for (pid, wanted) in [(pid_a, "ns_a_spin"), (pid_b, "ns_b_spin"), (host.id(), "lib_hot_spin")] {
            let (leaf, share) = top_leaf(&leaves, pid);
            assert!(
                leaf == wanted && share >= 0.8,
                "{unwind}: pid {pid} runs {wanted}, got {leaf} ({share:.2}): {leaves:?}"
            );
        }
    }
    let _ = host.kill();
    let _ = host.wait();
}

#[test]
fn a_contained_program_that_exits_before_the_profile_ends_keeps_its_names() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("root");
    std::fs::create_dir_all(&mount).unwrap();
    // The command is the container: its program runs 400 ms and its namespaces are gone long
    // before the profile is symbolized.
    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("p.json");
    let from = builds().join("a");
    let mut script = format!("set -e\nmount -t tmpfs armtune-test {}\n", mount.display());
    for (file, inside) in root_files(&[&from.join("hotlib_main"), &from.join("libhot.so")]) {
        let to = mount.join(inside.strip_prefix("/").unwrap());
        script += &format!("mkdir -p {}\ncp {} {}\n", to.parent().unwrap().display(), file.display(), to.display());
    }
    script += &format!("LD_LIBRARY_PATH=/app chroot {} /app/hotlib_main 400\nsleep 0.5\n", mount.display());
    let out = run(armtune().args(["profile", "-q", "-F", "999", "--format", "json", "-o"]).arg(&json).args([
        "--",
        "unshare",
        "--mount",
        "--pid",
        "--fork",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = json_frames(&read_json(&json));
    let program: Vec<_> = stacks.iter().filter(|(f, _)| f[0].0 == "hotlib_main").collect();
    let total: u64 = program.iter().map(|(_, w)| w).sum();
    let named: u64 = program.iter().filter(|(f, _)| f.iter().any(|(n, _)| n == "ns_a_spin")).map(|(_, w)| w).sum();
    assert!(total >= 50 && named as f64 >= 0.8 * total as f64, "ns_a_spin has {named} of {total}: {program:?}");
}

/// A cgroup the test makes under the cgroup2 mount, removed at the end (its processes killed).
struct TestCgroup {
    dir: PathBuf,
    children: Vec<Child>,
}

impl TestCgroup {
    fn new(name: &str) -> Option<TestCgroup> {
        let Ok((mount, _)) = armtune_probes::cgroups::mount() else {
            eprintln!("skipped: no cgroup2 file system is mounted");
            return None;
        };
        let dir = mount.join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Some(TestCgroup { dir, children: Vec::new() })
    }

    /// Starts `program args` inside the cgroup (a shell moves itself in, then execs it).
    fn spawn(&mut self, sub: &str, program: &Path, args: &str) -> u32 {
        let dir = self.dir.join(sub);
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!("echo $$ > {}/cgroup.procs && exec {} {args}", dir.display(), program.display());
        let child = Command::new("sh").args(["-c", &script]).stdout(Stdio::null()).spawn().unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut dirs: Vec<PathBuf> = walk(&self.dir);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&entry.path()));
        }
    }
    out
}

#[test]
fn a_cgroup_target_records_its_processes_and_its_childrens_only() {
    let Some(_kernel) = kernel_test() else { return };
    let Some(mut cgroup) = TestCgroup::new("armtune-test-cg") else { return };
    let build = builds().join("a").join("hotlib_main");
    let other = builds().join("b").join("hotlib_main");
    let inside = cgroup.spawn(".", &build, "20000");
    let nested = cgroup.spawn("child", &build, "20000");
    // Outside the cgroup: must not appear.
    let mut outside = Command::new(&other).arg("20000").stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let path = format!("/{}", cgroup.dir.file_name().unwrap().to_string_lossy());
    for events in ["cpu", "cpu,off-cpu"] {
        let out_dir = tempfile::tempdir().unwrap();
        let json = out_dir.path().join("p.json");
        let out = run(armtune()
            .args(["profile", "-q", "--duration", "1s", "--format", "json", "--event", events, "--cgroup", &path, "-o"])
            .arg(&json));
        assert!(out.status.success(), "{}", stderr(&out));
        let leaves = leaves_by_pid(&read_json(&json));
        let pids: Vec<u64> = leaves.keys().copied().collect();
        assert!(pids.contains(&u64::from(inside)) && pids.contains(&u64::from(nested)), "{events}: {leaves:?}");
        assert!(!pids.contains(&u64::from(outside.id())), "{events}: a process outside the cgroup: {leaves:?}");
        assert!(leaves.values().flat_map(|l| l.keys()).all(|n| n != "ns_b_spin"), "{events}: {leaves:?}");
    }
    // A process that enters the cgroup during the profile is recorded from then on.
    let late = {
        let mut child = Command::new(&other).arg("20000").stdout(Stdio::null()).spawn().unwrap();
        let pid = child.id();
        let cgroup_procs = cgroup.dir.join("cgroup.procs");
        let profile = std::thread::spawn(move || {
            let out_dir = tempfile::tempdir().unwrap();
            let json = out_dir.path().join("p.json");
            let out = run(armtune()
                .args(["profile", "-q", "--duration", "2s", "--format", "json", "--all", "--cgroup", &path, "-o"])
                .arg(&json));
            assert!(out.status.success(), "{}", stderr(&out));
            read_json(&json)
        });
        std::thread::sleep(Duration::from_millis(800));
        std::fs::write(cgroup_procs, pid.to_string()).unwrap();
        let report = profile.join().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        (pid, leaves_by_pid(&report))
    };
    let (pid, leaves) = late;
    assert_eq!(top_leaf(&leaves, pid).0, "ns_b_spin", "{leaves:?}");
    let _ = outside.kill();
    let _ = outside.wait();
}

#[test]
fn units_and_containers_are_found_by_their_cgroups() {
    let Some(_kernel) = kernel_test() else { return };
    // systemd does not run on the test machine: its naming is made by hand, as systemd and the
    // container runtimes make it, with a real process in each.
    let Some(mut cgroup) = TestCgroup::new("armtune-test-slice") else { return };
    let id = format!("{:08x}", std::process::id()).repeat(8);
    let service = format!("armtune-test-{}.service", std::process::id());
    let program = builds().join("a").join("hotlib_main");
    let in_service = cgroup.spawn(&service, &program, "20000");
    let in_container = cgroup.spawn(&format!("docker-{id}.scope"), &program, "20000");
    std::thread::sleep(Duration::from_millis(200));
    let bare_unit = service.trim_end_matches(".service").to_string();
    for (flag, value, pid, label) in [
        ("--unit", bare_unit.as_str(), in_service, format!("unit {service}")),
        ("--container", &id[..12], in_container, format!("container {}", &id[..12])),
    ] {
        let out = run(armtune().args(["profile", "--duration", "1s", "--folded", "/dev/null", flag, value]));
        assert!(out.status.success(), "{flag} {value}: {}", stderr(&out));
        assert!(stderr(&out).contains(&label), "{flag}: the title names the {label}: {}", stderr(&out));
        let out_dir = tempfile::tempdir().unwrap();
        let json = out_dir.path().join("p.json");
        let out = run(armtune()
            .args(["profile", "-q", "--duration", "1s", "--format", "json", flag, value, "-o"])
            .arg(&json));
        assert!(out.status.success(), "{}", stderr(&out));
        let leaves = leaves_by_pid(&read_json(&json));
        assert_eq!(leaves.keys().copied().collect::<Vec<_>>(), vec![u64::from(pid)], "{flag} {value}: {leaves:?}");
    }
    // Host-wide, each process frame says its group, and --per-container groups the graph by it.
    let out_dir = tempfile::tempdir().unwrap();
    let folded = out_dir.path().join("all.folded");
    let mut host = Command::new(builds().join("b/hotlib_main")).arg("3000").stdout(Stdio::null()).spawn().unwrap();
    let out =
        run(armtune().args(["profile", "-q", "--all", "--duration", "1s", "--per-container", "--folded"]).arg(&folded));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&folded).unwrap();
    for group in [format!("unit {service}"), format!("container {}", &id[..12])] {
        let prefix = format!("[{group}];hotlib_main [{group}];");
        assert!(text.lines().any(|l| l.starts_with(&prefix) && l.contains("ns_a_spin")), "no {prefix}: {text}");
    }
    let _ = host.kill();
    let _ = host.wait();
    assert!(text.lines().any(|l| l.starts_with("[host];hotlib_main;") && l.contains("ns_b_spin")), "{text}");
    assert!(text.lines().all(|l| l.starts_with('[')), "{text}");
    // What cannot be found says so, with exit code 2.
    for (flag, value, says) in [
        ("--unit", "armtune-no-such", "no cgroup for unit armtune-no-such.service"),
        ("--container", "ffffeeee0000", "no cgroup of container ffffeeee0000"),
        ("--cgroup", "/armtune-no-such", "armtune-no-such"),
    ] {
        let out = run(armtune().args(["profile", "--duration", "1s", flag, value]));
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&out).contains(says) && stderr(&out).lines().count() == 1, "{flag}: {}", stderr(&out));
    }
    let out = run(armtune().args(["profile", "--cgroup", "/", "--pid", "1"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn allocations_in_a_private_root_and_in_a_cgroup_are_counted() {
    let Some(_kernel) = kernel_test() else { return };
    // The container's C library is its own file: the probes go into it.
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("root");
    std::fs::create_dir_all(&mount).unwrap();
    let contained = Contained::run(&[allocs()], &mount, "1.5 1");
    let pid = contained.program_pid(&mount);
    let folded = dir.path().join("c.folded");
    let out = run(armtune()
        .args(["profile", "-q", "--event", "alloc", "--duration", "3s", "--folded"])
        .arg(&folded)
        .args(["--pid", &pid.to_string()]));
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = read_folded(&folded);
    assert_eq!(weight_under(&bytes, "main", "make_small"), 2400, "contained: {bytes:?}");
    drop(contained);
    // A cgroup's processes, started before the profile: their C library is found from them.
    let Some(mut cgroup) = TestCgroup::new("armtune-test-alloc") else { return };
    cgroup.spawn(".", allocs(), "1.5 1");
    std::thread::sleep(Duration::from_millis(200));
    let path = format!("/{}", cgroup.dir.file_name().unwrap().to_string_lossy());
    let out = run(armtune()
        .args(["profile", "-q", "--event", "alloc", "--duration", "3s", "--folded"])
        .arg(&folded)
        .args(["--cgroup", &path]));
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = read_folded(&folded);
    assert_eq!(weight_under(&bytes, "main", "make_small"), 2400, "cgroup: {bytes:?}");
    assert!(bytes.iter().all(|(f, _)| f[0] == "allocs"), "only the cgroup's process: {bytes:?}");
}

#[test]
fn the_agent_scoped_to_a_container_pushes_only_its_processes_with_their_label() {
    let Some(_kernel) = kernel_test() else { return };
    let Some(mut cgroup) = TestCgroup::new("armtune-test-agent") else { return };
    let id = format!("{:08x}", std::process::id() ^ 0x5a5a_5a5a).repeat(8);
    cgroup.spawn(&format!("libpod-{id}.scope"), &builds().join("a/hotlib_main"), "20000");
    let mut outside = Command::new(builds().join("b/hotlib_main")).arg("20000").stdout(Stdio::null()).spawn().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(armtune()
        .args(["agent", "--interval", "1", "--duration", "2.5", "--container", &id[..16], "--output-dir"])
        .arg(dir.path()));
    let _ = outside.kill();
    let _ = outside.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("container {}", &id[..12])), "{}", stderr(&out));
    let label = format!("hotlib_main [container {}]", &id[..12]);
    let mut stacks = Vec::new();
    let windows: Vec<PathBuf> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(windows.len() >= 2, "{windows:?}");
    for window in &windows {
        let folded = dir.path().join("w.folded");
        assert!(run(armtune().arg("flame").arg(window).arg("-o").arg(&folded)).status.success());
        stacks.extend(read_folded(&folded));
        std::fs::remove_file(&folded).unwrap();
        // Go's own reader sees the label.
        let tags = run(go().args(["tool", "pprof", "-tags"]).arg(window));
        assert!(stdout(&tags).contains(&id[..12]), "{window:?}: {}", stdout(&tags));
    }
    assert!(stacks.iter().all(|(f, _)| f[0] == label), "only the container's process: {stacks:?}");
    assert!(weight_under(&stacks, &label, "ns_a_spin") >= 100, "{stacks:?}");
}

/// Podman, or why the test is skipped (a failure under `ARMTUNE_REQUIRE_BPF=1`: ci/setup.sh
/// installs it).
fn podman_or_skip() -> bool {
    if Command::new("podman").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let why = "skipped: podman is not installed (ci/setup.sh installs it)";
    if std::env::var("ARMTUNE_REQUIRE_BPF").as_deref() == Ok("1") {
        panic!("{why}, and ARMTUNE_REQUIRE_BPF=1 requires the container tests to run");
    }
    eprintln!("{why}");
    false
}

/// Runs `podman ARGS`, failing the test with its error output when it fails; its output.
fn podman(args: &[&str]) -> String {
    let out = Command::new("podman").args(args).output().unwrap();
    assert!(out.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A Podman container and its image, removed at the end.
struct PodmanContainer {
    name: String,
    image: String,
}

impl Drop for PodmanContainer {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rm", "-f", "-t", "0", &self.name]).output();
        let _ = Command::new("podman").args(["rmi", "-f", &self.image]).output();
    }
}

#[test]
fn a_podman_container_is_profiled_by_its_name_its_id_and_its_pid() {
    let Some(_kernel) = kernel_test() else { return };
    if !podman_or_skip() {
        return;
    }
    // An image of one program and its libraries, imported as a root file system.
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    let from = builds().join("a");
    for (file, inside) in root_files(&[&from.join("hotlib_main"), &from.join("libhot.so")]) {
        let to = rootfs.join(inside.strip_prefix("/").unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(file, to).unwrap();
    }
    let tar = dir.path().join("rootfs.tar");
    assert!(Command::new("tar").arg("-C").arg(&rootfs).arg("-cf").arg(&tar).arg(".").status().unwrap().success());
    let name = format!("armtune-test-{}", std::process::id());
    let container = PodmanContainer { name: name.clone(), image: format!("localhost/{name}:latest") };
    podman(&["import", tar.to_str().unwrap(), &container.image]);
    // Podman's default open-file and process limits are above this machine's hard limits.
    let id = podman(&[
        "run",
        "-d",
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "--name",
        &name,
        &container.image,
        "/app/hotlib_main",
        "30000",
    ]);
    let pid = podman(&["inspect", "--format", "{{.State.Pid}}", &name]);
    std::thread::sleep(Duration::from_millis(300));
    let label = format!("hotlib_main [container {}]", &id[..12]);
    for (flag, value) in [("--container", name.as_str()), ("--container", &id[..12]), ("--pid", pid.as_str())] {
        for unwind in ["fp", "dwarf"] {
            let json = dir.path().join("p.json");
            let out = run(armtune()
                .args(["profile", "-q", "--duration", "1s", "--format", "json", "--unwind", unwind, flag, value, "-o"])
                .arg(&json));
            assert!(out.status.success(), "{flag} {value}: {}", stderr(&out));
            let stacks = json_frames(&read_json(&json));
            let total: u64 = stacks.iter().map(|(_, w)| w).sum();
            let named: u64 =
                stacks.iter().filter(|(f, _)| f.iter().any(|(n, _)| n == "ns_a_spin")).map(|(_, w)| w).sum();
            assert!(stacks.iter().all(|(f, _)| f[0].0 == label), "{flag} {value} {unwind}: {stacks:?}");
            assert!(total >= 50 && named * 10 >= total * 8, "{flag} {value} {unwind}: {named} of {total}: {stacks:?}");
        }
    }
}
