//! Debug files from a real debuginfod server: elfutils' `debuginfod` (Debian package debuginfod),
//! started on loopback by the test and serving a directory holding the unstripped build of the
//! unwinding workload; armtune profiles the stripped copy with `DEBUGINFOD_URLS` pointing at it and
//! must name the program's functions, say what it fetched, keep it in the cache, and say what no
//! server had.
//!
//! Needs root (the profile); skips with a reason without it or without the server, and fails then
//! under `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::*;

/// The server, killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The HTTP status of `GET path` on loopback `port`, or `None` when nothing answers.
fn status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).ok()?;
    String::from_utf8_lossy(&head[..n]).split_whitespace().nth(1)?.parse().ok()
}

fn build_id(path: &Path) -> String {
    let out = Command::new("readelf").arg("-n").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string))
        .expect("a build-id")
}

fn debuginfod_or_skip() -> bool {
    let found = Command::new("debuginfod").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        let why = "skipped: the debuginfod server is missing (apt-get install debuginfod; ci/setup.sh does)";
        assert!(std::env::var("ARMTUNE_REQUIRE_BPF").as_deref() != Ok("1"), "{why}");
        eprintln!("{why}");
    }
    found
}

#[test]
fn a_stripped_program_is_named_from_a_real_debuginfod_server() {
    let Some(_kernel) = kernel_test() else { return };
    if !debuginfod_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (served, bin, cache) = (dir.path().join("served"), dir.path().join("bin"), dir.path().join("cache"));
    for d in [&served, &bin] {
        std::fs::create_dir(d).unwrap();
    }
    // The program, built with -g; the server gets it whole, the profile a stripped copy.
    let src = repo_root().join("workloads");
    let cc = |args: &[&std::ffi::OsStr]| {
        let status = Command::new("cc").args(["-O2", "-g", "-fomit-frame-pointer"]).args(args).status().unwrap();
        assert!(status.success(), "cc {args:?}");
    };
    let lib = bin.join("libnofp.so");
    cc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), lib.as_os_str(), src.join("nofp_lib.c").as_os_str()]);
    let full = served.join("nofp_main");
    let dir_flag = format!("-L{}", bin.display());
    cc(&[
        "-o".as_ref(),
        full.as_os_str(),
        src.join("nofp_main.c").as_os_str(),
        dir_flag.as_ref(),
        "-lnofp".as_ref(),
        "-Wl,-rpath,$ORIGIN".as_ref(),
    ]);
    let stripped = bin.join("nofp_main");
    assert!(Command::new("strip").arg("--strip-all").arg("-o").arg(&stripped).arg(&full).status().unwrap().success());
    let id = build_id(&stripped);
    assert_eq!(id, build_id(&full));

    // The server, on a free loopback port, indexing `served`.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Command::new("debuginfod")
        .args(["-p", &port.to_string(), "-d"])
        .arg(dir.path().join("index.sqlite"))
        .arg("-F")
        .arg(&served)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("debuginfod");
    let _server = Server(server);
    let wanted = format!("/buildid/{id}/debuginfo");
    let deadline = Instant::now() + Duration::from_secs(60);
    while status(port, &wanted) != Some(200) {
        assert!(Instant::now() < deadline, "debuginfod did not serve {wanted} within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }

    let profile = |urls: &str| {
        let out_dir = tempfile::tempdir().unwrap();
        let json = out_dir.path().join("p.json");
        let out = run(armtune()
            .args(["profile", "-F", "999", "--unwind", "dwarf", "-o"])
            .arg(&json)
            .arg("--")
            .args([stripped.as_os_str(), "0.5".as_ref(), "qsort".as_ref()])
            .env("DEBUGINFOD_URLS", urls)
            .env("DEBUGINFOD_CACHE_PATH", &cache));
        assert!(out.status.success(), "{}", stderr(&out));
        (read_json(&json), stderr(&out))
    };
    let named = |report: &serde_json::Value| {
        let stacks = json_stacks(report);
        let total: u64 = stacks.iter().map(|(_, w)| w).sum();
        let under = weight_under(&stacks, "sort_rounds", "compare_slowly");
        (under, total)
    };

    // Without a server, the stripped program's own functions have no names.
    let (report, _) = profile("");
    assert_eq!(named(&report).0, 0, "named without a server?");

    let url = format!("http://127.0.0.1:{port}");
    let (report, summary) = profile(&url);
    let (under, total) = named(&report);
    assert!(under * 2 >= total && total >= 200, "compare_slowly under sort_rounds in {under} of {total}");
    let fetched = report["debuginfod"].as_array().expect("the report says what it asked");
    assert!(fetched.iter().any(|o| o["build_id"] == id.as_str() && o["result"] == "fetched"), "{fetched:?}");
    assert!(summary.contains("debuginfod: fetched nofp_main ("), "{summary}");
    assert!(cache.join(&id).join("debuginfo").is_file(), "kept in the cache");

    // Again: from the cache. And libnofp.so (stripped of nothing, but unserved) is not asked:
    // its symbol table names it.
    let (report, summary) = profile(&url);
    assert!(named(&report).0 * 2 >= named(&report).1, "named from the cache");
    assert!(summary.contains("debuginfod: cached nofp_main ("), "{summary}");

    // A program the server does not have (other code: another build-id) is said to be not found.
    let relinked = bin.join("nofp_other");
    cc(&[
        "-O1".as_ref(),
        "-o".as_ref(),
        relinked.as_os_str(),
        src.join("nofp_main.c").as_os_str(),
        dir_flag.as_ref(),
        "-lnofp".as_ref(),
        "-Wl,-rpath,$ORIGIN".as_ref(),
        "-s".as_ref(),
    ]);
    assert_ne!(build_id(&relinked), id);
    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("p.json");
    let out = run(armtune()
        .args(["profile", "-F", "999", "-o"])
        .arg(&json)
        .arg("--")
        .args([relinked.as_os_str(), "0.3".as_ref(), "qsort".as_ref()])
        .env("DEBUGINFOD_URLS", &url)
        .env("DEBUGINFOD_CACHE_PATH", &cache));
    assert!(out.status.success(), "{}", stderr(&out));
    // (Other files may be asked too: with CFI unwinding a sample can land in libc code no symbol
    // covers.)
    let said = stderr(&out);
    let line = said.lines().find(|l| l.starts_with("debuginfod: not found")).unwrap_or_default();
    assert!(line.contains(" nofp_other ("), "{said}");
}
