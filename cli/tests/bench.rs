//! `armtune bench` for real: the cross build for a board, a run under qemu-user, a run over SSH
//! against a local sshd acting as the board (running the binaries through qemu-user, since this
//! host is not ARM), the CPU-feature refusal, unreachable and unauthorized boards, an interrupted
//! run, and `compare` on stored runs.

mod common;

use std::{
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use common::*;

/// Builds the board's benchmarks once per test binary (dev profile: this is a functional check).
fn built(board: &str) -> PathBuf {
    static BUILDS: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join(format!("armtune-bench-test-{board}"));
    let mut done = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    if !done.iter().any(|b| b == board) {
        let out = run(armtune()
            .current_dir(repo_root())
            .args(["bench", "build", "--board", board, "--profile", "dev", "--out"])
            .arg(&dir));
        assert!(out.status.success(), "bench build {board}: {}", stderr(&out));
        assert!(stderr(&out).contains("with Debian") || stderr(&out).contains("with Rustup"), "{}", stderr(&out));
        done.push(board.to_string());
    }
    dir
}

/// The stored run a `bench run` printed the path of.
fn stored(out: &std::process::Output) -> serde_json::Value {
    let text = stdout(out);
    let path = text.lines().last().and_then(|l| l.split(" stored in ").nth(1)).unwrap_or_else(|| panic!("{text}"));
    read_json(Path::new(path.trim()))
}

const QEMU_A72: &str =
    "qemu-aarch64-static -cpu cortex-a72 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib";

#[test]
fn build_run_under_qemu_and_compare() {
    let build = built("rpi4");
    for name in ["arm64_effects", "armtune_paths", "armtune-bench-probe"] {
        let head = std::fs::read(build.join(name)).unwrap();
        // ELF, 64-bit, e_machine 183 (AArch64).
        assert!(head.starts_with(b"\x7fELF\x02") && u16::from_le_bytes([head[18], head[19]]) == 183, "{name}");
    }
    let manifest = read_json(&build.join("manifest.json"));
    assert_eq!(manifest["rustc_flags"], serde_json::json!(["-C", "target-cpu=cortex-a72"]));
    let results = tempfile::tempdir().unwrap();
    let out = run(armtune()
        .current_dir(repo_root())
        .args(["bench", "run", "--board", "rpi4", "--qemu", "--filter", "struct_layout", "--build-dir"])
        .arg(&build)
        .arg("--results-dir")
        .arg(results.path()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("ran under emulation"), "{}", stderr(&out));
    let run_a = stored(&out);
    assert_eq!(
        (run_a["board"].as_str(), run_a["emulated"].as_bool(), run_a["complete"].as_bool()),
        (Some("rpi4"), Some(true), Some(true))
    );
    let ids: Vec<&str> = run_a["benches"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["struct_layout/hot_fields_one_line", "struct_layout/hot_fields_two_lines"]);
    assert!(run_a["cpu_features"].as_array().unwrap().iter().any(|f| f == "crc32"));

    // compare: the run against itself is all noise; against a run twice as fast, -50 %.
    let a_path = results.path().join("a.json");
    let b_path = results.path().join("b.json");
    std::fs::write(&a_path, run_a.to_string()).unwrap();
    let mut faster = run_a.clone();
    for b in faster["benches"].as_array_mut().unwrap() {
        for k in ["mean_ns", "mean_low_ns", "mean_high_ns", "median_ns"] {
            b[k] = serde_json::json!(b[k].as_f64().unwrap() / 2.0);
        }
    }
    std::fs::write(&b_path, faster.to_string()).unwrap();
    let same = run(armtune().args(["bench", "compare"]).arg(&a_path).arg(&a_path));
    assert!(stdout(&same).matches("+0.0 % (noise)").count() == 2, "{}", stdout(&same));
    let cmp = run(armtune().args(["bench", "compare"]).arg(&a_path).arg(&b_path));
    let table = stdout(&cmp);
    assert!(table.lines().nth(1).unwrap().starts_with("struct_layout/hot_fields_one_line"), "{table}");
    assert!(table.matches("-50.0 %").count() == 2 && !table.contains("(noise)"), "{table}");
    assert!(table.contains("warning: run A ran under emulation"), "{table}");
    let md = stdout(&run(armtune().args(["bench", "compare", "--format", "markdown"]).arg(&a_path).arg(&b_path)));
    assert!(md.starts_with("| benchmark |") && md.contains("| `struct_layout/hot_fields_two_lines` |"), "{md}");
}

#[test]
fn interrupted_run_keeps_partial_results() {
    let build = built("rpi4");
    let results = tempfile::tempdir().unwrap();
    let child = armtune()
        .current_dir(repo_root())
        .args([
            "bench",
            "run",
            "--board",
            "rpi4",
            "--qemu",
            "--filter",
            "strides",
            "--measurement-time",
            "0.4",
            "--build-dir",
        ])
        .arg(&build)
        .arg("--results-dir")
        .arg(results.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first benchmark has its estimates (criterion writes them as it goes).
    let suffix = format!("-{}", child.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    let first_done = || {
        std::fs::read_dir(&build).unwrap().flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("criterion-") && name.ends_with(&suffix) && has_estimates(&e.path())
        })
    };
    while !first_done() {
        assert!(Instant::now() < deadline, "no benchmark finished in 2 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let partial = stored(&out);
    assert_eq!((partial["interrupted"].as_bool(), partial["complete"].as_bool()), (Some(true), Some(false)));
    let n = partial["benches"].as_array().unwrap().len();
    assert!((1..12).contains(&n), "some of the 12 stride benchmarks: {n}");
    assert!(stdout(&out).contains("(interrupted: partial results)"), "{}", stdout(&out));
}

/// Whether criterion wrote any estimates under `dir`.
fn has_estimates(dir: &Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            has_estimates(&p)
        } else {
            p.ends_with("new/estimates.json")
        }
    })
}

/// A throwaway sshd on a loopback port, as root, standing in for a board.
struct Board {
    sshd: Child,
    port: u16,
    key: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}

fn sshd_or_skip(test: &str) -> Option<Board> {
    let required = std::env::var("ARMTUNE_REQUIRE_BPF").as_deref() == Ok("1");
    let why = if !Path::new("/usr/sbin/sshd").exists() {
        Some("no /usr/sbin/sshd (apt-get install openssh-server; ci/setup.sh does)")
    } else if unsafe { libc::geteuid() } != 0 {
        Some("a throwaway sshd needs root")
    } else {
        None
    };
    if let Some(why) = why {
        assert!(!required, "{test}: {why}");
        eprintln!("skipped {test}: {why}");
        return None;
    }
    static PORT: OnceLock<Mutex<u16>> = OnceLock::new();
    let port = {
        let mut p = PORT.get_or_init(|| Mutex::new(42_000 + (std::process::id() % 1000) as u16 * 3)).lock().unwrap();
        *p += 1;
        *p
    };
    let dir = tempfile::tempdir().unwrap();
    let keygen = |name: &str| {
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "armtune-bench-test", "-f"])
            .arg(dir.path().join(name))
            .status()
            .unwrap()
            .success();
        assert!(ok, "ssh-keygen");
    };
    keygen("host_key");
    keygen("client_key");
    keygen("stranger_key");
    std::fs::copy(dir.path().join("client_key.pub"), dir.path().join("authorized_keys")).unwrap();
    let config = dir.path().join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let sshd = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stderr(Stdio::null())
        .spawn()
        .expect("start sshd");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "sshd did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Board { sshd, port, key: dir.path().join("client_key"), dir })
}

fn over_ssh(
    board: &Board,
    key: &Path,
    build: &Path,
    results: &Path,
    runner: &str,
    profile: &str,
) -> std::process::Output {
    run(armtune()
        .current_dir(repo_root())
        .args([
            "bench",
            "run",
            "--board",
            profile,
            "--ssh",
            "root@127.0.0.1",
            "--port",
            &board.port.to_string(),
            "--identity",
        ])
        .arg(key)
        .args(["--ssh-option", "UserKnownHostsFile=/dev/null", "--ssh-option", "StrictHostKeyChecking=no"])
        .args(["--ssh-option", "LogLevel=ERROR", "--remote-runner", runner, "--filter", "struct_layout", "--quick"])
        .arg("--build-dir")
        .arg(build)
        .arg("--results-dir")
        .arg(results))
}

#[test]
fn ssh_board_copy_run_collect_and_refusals() {
    let Some(board) = sshd_or_skip("ssh_board_copy_run_collect_and_refusals") else { return };
    let results = tempfile::tempdir().unwrap();
    let rpi4 = built("rpi4");
    let out = over_ssh(&board, &board.key, &rpi4, results.path(), QEMU_A72, "rpi4");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = stored(&out);
    assert_eq!(r["location"], format!("ssh root@127.0.0.1:{} via {QEMU_A72}", board.port));
    assert_eq!((r["emulated"].as_bool(), r["complete"].as_bool()), (Some(true), Some(true)));
    assert_eq!(r["benches"].as_array().unwrap().len(), 2, "{r}");

    // An LSE build on a board without LSE (qemu emulating a Cortex-A72): refused, nothing run.
    let rpi5 = built("rpi5");
    let out = over_ssh(&board, &board.key, &rpi5, results.path(), QEMU_A72, "rpi5");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("the rpi5 build needs CPU features atomics") && err.contains("--board rpi4"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // A key the board does not know.
    let out = over_ssh(&board, &board.dir.path().join("stranger_key"), &rpi4, results.path(), QEMU_A72, "rpi4");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refused the login") && stderr(&out).contains("--identity"), "{}", stderr(&out));

    // Nobody listening.
    let closed = Board {
        sshd: Command::new("true").spawn().unwrap(),
        port: board.port + 500,
        key: board.key.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    let out = over_ssh(&closed, &board.key, &rpi4, results.path(), QEMU_A72, "rpi4");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot reach root@127.0.0.1 over ssh"), "{}", stderr(&out));
}

/// A stand-in board of a cluster: an sshd in its own network namespace, reached over a veth
/// pair, with its own /tmp (where `bench run` copies the binaries, as on a real board); or, with
/// no sshd, a board whose link is down: unreachable.
struct StandIn {
    netns: String,
    address: String,
    sshd: Option<Child>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(sshd) = &mut self.sshd {
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        // Deleting the namespace deletes its end of the veth pair, and with it the host's end.
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip (iproute2)");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

fn stand_in(index: u32, keys: &Path, reachable: bool) -> StandIn {
    let tag = std::process::id() % 100_000;
    let (netns, host_if, board_if) =
        (format!("armtune-{tag}-{index}"), format!("at{tag}h{index}"), format!("at{tag}b{index}"));
    let subnet = format!("10.231.{}", tag % 250);
    let (host_ip, address) = (format!("{subnet}.{}", index * 4 + 1), format!("{subnet}.{}", index * 4 + 2));
    ip(&["netns", "add", &netns]);
    let mut board = StandIn { netns: netns.clone(), address: address.clone(), sshd: None };
    ip(&["link", "add", &host_if, "type", "veth", "peer", "name", &board_if]);
    ip(&["link", "set", &board_if, "netns", &netns]);
    ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_if]);
    ip(&["link", "set", &host_if, "up"]);
    ip(&["-n", &netns, "addr", "add", &format!("{address}/30"), "dev", &board_if]);
    ip(&["-n", &netns, "link", "set", "lo", "up"]);
    if !reachable {
        return board;
    }
    ip(&["-n", &netns, "link", "set", &board_if, "up"]);
    let config = keys.join(format!("sshd_config_{index}"));
    std::fs::write(
        &config,
        format!(
            "Port 22\nListenAddress {address}\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile none\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\n",
            d = keys.display()
        ),
    )
    .unwrap();
    // `ip netns exec` gives the command its own mount namespace: the tmpfs is this board's /tmp.
    let log = keys.join(format!("sshd_{index}.log"));
    let sshd = Command::new("ip")
        .args([
            "netns",
            "exec",
            &netns,
            "sh",
            "-c",
            "mount -t tmpfs board-tmp /tmp && exec /usr/sbin/sshd -D -e -f \"$0\"",
        ])
        .arg(&config)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start sshd");
    board.sshd = Some(sshd);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((address.as_str(), 22)).is_err() {
        let why = || std::fs::read_to_string(&log).unwrap_or_default();
        assert!(Instant::now() < deadline, "sshd of {netns} did not listen on {address}:22: {}", why());
        std::thread::sleep(Duration::from_millis(50));
    }
    board
}

#[test]
fn a_cluster_from_an_ansible_inventory_runs_at_once_and_compares_as_a_matrix() {
    let test = "a_cluster_from_an_ansible_inventory_runs_at_once_and_compares_as_a_matrix";
    let Some(_loopback_board) = sshd_or_skip(test) else { return };
    // Keys and configuration outside /tmp (and outside the build tree, which a fresh clone may
    // have under /tmp): each board has its own /tmp, and sshd reads authorized_keys at each login.
    let keys = tempfile::tempdir_in("/run").unwrap();
    for name in ["host_key", "client_key"] {
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "armtune-cluster-test", "-f"])
            .arg(keys.path().join(name))
            .status()
            .unwrap()
            .success();
        assert!(ok, "ssh-keygen");
    }
    std::fs::copy(keys.path().join("client_key.pub"), keys.path().join("authorized_keys")).unwrap();
    let boards = [stand_in(1, keys.path(), true), stand_in(2, keys.path(), true), stand_in(3, keys.path(), false)];
    let inventory = keys.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "# The bench cluster, as kept for Ansible.\n[pi4]\nboard-1 ansible_host={}\nboard-2 ansible_host={}\n\n\
             [spares]\nboard-3 ansible_host={}\n\n[cluster:children]\npi4\nspares\n\n\
             [cluster:vars]\nansible_user=root\nansible_ssh_private_key_file={}\n",
            boards[0].address,
            boards[1].address,
            boards[2].address,
            keys.path().join("client_key").display()
        ),
    )
    .unwrap();
    let results = tempfile::tempdir().unwrap();
    let rpi4 = built("rpi4");
    let started = Instant::now();
    let out = run(armtune()
        .current_dir(repo_root())
        .args(["bench", "run", "--board", "rpi4", "--hosts"])
        .arg(&inventory)
        .args(["--limit", "cluster", "--parallel", "3"])
        .args(["--ssh-option", "UserKnownHostsFile=/dev/null", "--ssh-option", "StrictHostKeyChecking=no"])
        .args(["--ssh-option", "LogLevel=ERROR", "--remote-runner", QEMU_A72, "--filter", "struct_layout", "--quick"])
        .arg("--build-dir")
        .arg(&rpi4)
        .arg("--results-dir")
        .arg(results.path()));
    let (text, err) = (stdout(&out), stderr(&out));
    // One board unreachable, the others finished: findings, not an error.
    assert_eq!(out.status.code(), Some(1), "{text}\n{err}");
    for name in ["board-1", "board-2"] {
        assert!(text.contains(&format!("{name}: 2 benchmarks (complete) stored in")), "{text}\n{err}");
    }
    assert!(text.contains("board-3: failed: cannot reach root@"), "{text}\n{err}");
    assert!(text.contains("2 of 3 boards complete"), "{text}");
    eprintln!("three boards, one unreachable, in {:.1} s", started.elapsed().as_secs_f64());

    // Each board's run stored as a lone board's is, named by its host.
    let dir = results.path().join("rpi4");
    let revision = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let mut runs: Vec<serde_json::Value> =
        std::fs::read_dir(&revision).unwrap().map(|e| read_json(&e.unwrap().path())).collect();
    runs.sort_by_key(|r| r["host"].as_str().unwrap().to_string());
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0]["host"].as_str(), runs[1]["host"].as_str()), (Some("board-1"), Some("board-2")));
    assert!(runs[0]["location"].as_str().unwrap().contains(&boards[0].address), "{}", runs[0]);

    // The matrix of the cluster's runs, relative to board-2.
    let compare = |format: &str| {
        let out = run(armtune().args(["bench", "compare", "--baseline", "board-2", "--format", format]).arg(&revision));
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let table = compare("text");
    let header = table.lines().next().unwrap();
    assert!(header.contains("board-1") && header.contains("board-2 (baseline)"), "{table}");
    assert!(table.contains("struct_layout/") && table.contains("×"), "{table}");
    let m: serde_json::Value = serde_json::from_str(&compare("json")).unwrap();
    assert_eq!(m["baseline"], "board-2");
    assert_eq!(m["rows"].as_array().unwrap().len(), 2, "{m}");
    for row in m["rows"].as_array().unwrap() {
        assert_eq!(row["cells"][1]["ratio"], 1.0, "{row}");
        assert!(row["cells"][0]["ratio"].as_f64().unwrap() > 0.0, "{row}");
    }
    assert!(compare("markdown").starts_with("| benchmark | board-1 | board-2 (baseline) |"));
    // The same matrix as a page: a bar with its interval per benchmark and board (the browser
    // tests in report.rs open such pages; this one is kept beside their screenshots).
    let html = compare("html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("Benchmarks across 2 boards, relative to board-2"));
    assert_eq!(html.matches("<g class=\"interval\"").count(), 4, "two benchmarks on two boards");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/report");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::write(artifacts.join("bench-cluster.html"), html).unwrap();
    let out = run(armtune().args(["bench", "compare", "--baseline", "board-9"]).arg(&revision));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("board-1, board-2"), "{}", stderr(&out));
}
