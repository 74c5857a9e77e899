//! `armtune bench run`: runs a build's benchmarks on a board over SSH (the system ssh and scp
//! clients), or locally under qemu-user as a functional check, and collects criterion's estimates.
//! Before anything runs, the board's CPU features are checked against the build's profile: an
//! LSE build is refused on a Raspberry Pi 4 instead of dying with SIGILL.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    boards::Board,
    cross_build::Manifest,
    features,
    results::{collect_listing, collect_local, RunResults},
    BenchError,
};

/// An SSH destination.
#[derive(Debug, Clone, Default)]
pub struct Ssh {
    /// `user@host`.
    pub destination: String,
    /// Port, when not 22.
    pub port: Option<u16>,
    /// Private key.
    pub identity: Option<PathBuf>,
    /// More `-o` options for ssh and scp (`UserKnownHostsFile=...`).
    pub options: Vec<String>,
    /// A command the binaries run under on the board (`taskset -c 3`, or a qemu-user for a
    /// non-ARM host standing in for a board).
    pub runner: Option<String>,
}

/// Where to run.
#[derive(Debug, Clone)]
pub enum Location {
    /// Here, under qemu-user emulating the board's CPU (timings are not meaningful).
    Qemu,
    /// On a board over SSH.
    Ssh(Ssh),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only benchmarks whose id matches this (criterion's filter: a regex).
    pub filter: Option<String>,
    /// Criterion warm-up time per benchmark, seconds.
    pub warm_up_secs: f64,
    /// Criterion measurement time per benchmark, seconds.
    pub measurement_secs: f64,
    /// Criterion samples per benchmark (10 at least).
    pub sample_size: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { filter: None, warm_up_secs: 1.0, measurement_secs: 3.0, sample_size: 50 }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Single-quotes `s` for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn qemu() -> Result<&'static str, BenchError> {
    ["qemu-aarch64-static", "qemu-aarch64"]
        .into_iter()
        .find(|q| Command::new(q).arg("--version").output().is_ok_and(|o| o.status.success()))
        .ok_or_else(|| BenchError::Toolchain("no qemu-aarch64: apt-get install qemu-user-static".into()))
}

/// `qemu` (from [`qemu`]) set up for `board`, with the cross libraries of Debian's aarch64
/// toolchain.
fn qemu_command(qemu: &str, board: &Board) -> Command {
    let mut cmd = Command::new(qemu);
    cmd.args(["-cpu", board.qemu_cpu]);
    // The cross loader with Debian's arm64 multiarch libc hangs threaded programs: use the cross
    // libraries only (DESIGN.md).
    if Path::new("/usr/aarch64-linux-gnu").is_dir() {
        cmd.args(["-L", "/usr/aarch64-linux-gnu", "-E", "LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib"]);
    }
    cmd
}

impl Ssh {
    fn common(&self, cmd: &mut Command, port_flag: &str) {
        cmd.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]);
        if let Some(p) = self.port {
            cmd.args([port_flag, &p.to_string()]);
        }
        if let Some(i) = &self.identity {
            cmd.arg("-i").arg(i);
        }
        for o in &self.options {
            cmd.args(["-o", o]);
        }
    }

    fn label(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let via = self.runner.as_ref().map(|r| format!(" via {r}")).unwrap_or_default();
        format!("ssh {}{port}{via}", self.destination)
    }

    /// Runs `script` on the board; its stdout.
    fn run(&self, script: &str) -> Result<String, BenchError> {
        let mut cmd = Command::new("ssh");
        self.common(&mut cmd, "-p");
        cmd.arg(&self.destination).arg("--").arg(script);
        let out = cmd.output().map_err(|e| BenchError::Ssh(format!("cannot run ssh ({e}): install openssh-client")))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Err(self.classify(out.status.code(), &String::from_utf8_lossy(&out.stderr), script))
    }

    fn classify(&self, code: Option<i32>, stderr: &str, what: &str) -> BenchError {
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        if code == Some(255) || code.is_none() {
            if stderr.contains("Permission denied") || stderr.contains("Too many authentication failures") {
                return BenchError::Auth(format!(
                    "ssh to {} refused the login ({last}): give the key with --identity, or add it to the \
                     board's ~/.ssh/authorized_keys",
                    self.destination
                ));
            }
            return BenchError::Unreachable(format!("cannot reach {} over ssh: {last}", self.destination));
        }
        BenchError::Ssh(format!("`{what}` failed on {} (exit {code:?}): {last}", self.destination))
    }

    /// Copies `files` into `dir` on the board.
    fn copy(&self, files: &[PathBuf], dir: &str) -> Result<(), BenchError> {
        let mut cmd = Command::new("scp");
        cmd.arg("-q");
        self.common(&mut cmd, "-P");
        cmd.args(files).arg(format!("{}:{dir}/", self.destination));
        let out = cmd.output().map_err(|e| BenchError::Ssh(format!("cannot run scp ({e}): install openssh-client")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(self.classify(out.status.code(), &String::from_utf8_lossy(&out.stderr), "scp"))
        }
    }

    fn prefix(&self) -> String {
        self.runner.clone().map(|r| r + " ").unwrap_or_default()
    }
}

/// Waits for `child`, killing it when `interrupted` is raised; its exit status.
fn wait(mut child: Child, interrupted: &AtomicBool) -> Result<Option<i32>, std::io::Error> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code());
        }
        if interrupted.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn criterion_args(opts: &RunOptions) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--bench".into(),
        "--noplot".into(),
        "--warm-up-time".into(),
        opts.warm_up_secs.to_string(),
        "--measurement-time".into(),
        opts.measurement_secs.to_string(),
        "--sample-size".into(),
        opts.sample_size.max(10).to_string(),
    ];
    args.extend(opts.filter.clone());
    args
}

/// Runs the build in `build_dir` at `location`.
pub fn run(
    build_dir: &Path,
    location: &Location,
    opts: &RunOptions,
    interrupted: &AtomicBool,
) -> Result<RunResults, BenchError> {
    let manifest_path = build_dir.join("manifest.json");
    let manifest: Manifest = serde_json::from_str(&std::fs::read_to_string(&manifest_path).map_err(|_| {
        BenchError::Usage(format!(
            "{} has no build (no manifest.json): run `armtune bench build --board BOARD` first",
            build_dir.display()
        ))
    })?)
    .map_err(|e| BenchError::Results(format!("{}: {e}", manifest_path.display())))?;
    let board = Board::named(&manifest.board).map_err(BenchError::Usage)?;
    let mut results = RunResults {
        board: board.name.into(),
        revision: manifest.revision.clone(),
        location: String::new(),
        host: String::new(),
        emulated: false,
        cpu_features: Vec::new(),
        filter: opts.filter.clone(),
        started: now(),
        finished: 0,
        complete: false,
        interrupted: false,
        failures: Vec::new(),
        benches: Vec::new(),
    };
    // Unique per run: two runs of one build may start in the same second, also at once on boards
    // that share a file system. (The process id stays last: the tests find a run's directory by it.)
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let home_name =
        format!("criterion-{}-{}-{}", results.started, RUNS.fetch_add(1, Ordering::Relaxed), std::process::id());
    let job = Job { build_dir, board, manifest: &manifest, home_name: &home_name, opts, interrupted };
    match location {
        Location::Qemu => run_qemu(&job, &mut results)?,
        Location::Ssh(ssh) => run_ssh(ssh, &job, &mut results)?,
    }
    results.interrupted = interrupted.load(Ordering::SeqCst);
    results.complete = !results.interrupted && results.failures.is_empty();
    results.finished = now();
    Ok(results)
}

/// Records how a benchmark executable ended.
fn note_exit(results: &mut RunResults, bench: &str, status: Result<Option<i32>, std::io::Error>) {
    match status {
        Ok(Some(0)) | Ok(None) => {}
        Ok(Some(code)) => results.failures.push(format!("{bench}: exit status {code}")),
        Err(e) => results.failures.push(format!("{bench}: {e}")),
    }
}

/// One run's inputs.
struct Job<'a> {
    build_dir: &'a Path,
    board: &'a Board,
    manifest: &'a Manifest,
    /// Directory name for criterion's output (`CRITERION_HOME`), unique to the run.
    home_name: &'a str,
    opts: &'a RunOptions,
    interrupted: &'a AtomicBool,
}

fn run_qemu(job: &Job, results: &mut RunResults) -> Result<(), BenchError> {
    let Job { build_dir, board, manifest, home_name, opts, interrupted } = *job;
    results.location = format!("qemu -cpu {}", board.qemu_cpu);
    results.emulated = true;
    let qemu = qemu()?;
    let probe = qemu_command(qemu, board)
        .arg(build_dir.join(&manifest.probe))
        .output()
        .map_err(|e| BenchError::Toolchain(format!("cannot run qemu: {e}")))?;
    results.cpu_features = probe_features(&String::from_utf8_lossy(&probe.stdout));
    refuse_if_missing(board, &results.cpu_features, &results.location)?;
    let home = build_dir.join(home_name);
    for bench in manifest.benches.iter().take_while(|_| !interrupted.load(Ordering::SeqCst)) {
        let child = qemu_command(qemu, board)
            .arg(build_dir.join(bench))
            .args(criterion_args(opts))
            .env("CRITERION_HOME", &home)
            .stdout(std::io::stderr())
            .spawn()
            .map_err(|e| BenchError::Toolchain(format!("cannot run qemu: {e}")))?;
        note_exit(results, bench, wait(child, interrupted));
    }
    results.benches = collect_local(&home);
    Ok(())
}

fn run_ssh(ssh: &Ssh, job: &Job, results: &mut RunResults) -> Result<(), BenchError> {
    let Job { build_dir, board, manifest, home_name, opts, interrupted } = *job;
    results.location = ssh.label();
    results.emulated = ssh.runner.as_deref().is_some_and(|r| r.contains("qemu"));
    let dir = format!("/tmp/armtune-bench-{}-{}", board.name, manifest.revision);
    let cpuinfo = ssh.run(&format!("mkdir -p {} && cat /proc/cpuinfo", sh_quote(&dir)))?;
    let files: Vec<PathBuf> =
        manifest.benches.iter().chain(std::iter::once(&manifest.probe)).map(|f| build_dir.join(f)).collect();
    // A board's own kernel says what its CPU has; with a runner (emulation), ask the probe.
    results.cpu_features = match (&ssh.runner, features::from_cpuinfo(&cpuinfo)) {
        (None, Some(f)) => f,
        _ => {
            ssh.copy(&files[files.len() - 1..], &dir)?;
            probe_features(&ssh.run(&format!("cd {} && {}./{}", sh_quote(&dir), ssh.prefix(), manifest.probe))?)
        }
    };
    refuse_if_missing(board, &results.cpu_features, &results.location)?;
    ssh.copy(&files, &dir)?;
    let home = format!("{dir}/{home_name}");
    let args: Vec<String> = criterion_args(opts).iter().map(|a| sh_quote(a)).collect();
    for bench in manifest.benches.iter().take_while(|_| !interrupted.load(Ordering::SeqCst)) {
        let script = format!(
            "cd {} && CRITERION_HOME={} {}./{bench} {}",
            sh_quote(&dir),
            sh_quote(&home),
            ssh.prefix(),
            args.join(" ")
        );
        let mut cmd = Command::new("ssh");
        ssh.common(&mut cmd, "-p");
        cmd.arg(&ssh.destination).arg("--").arg(&script).stdout(std::io::stderr()).stderr(Stdio::inherit());
        let child = cmd.spawn().map_err(|e| BenchError::Ssh(format!("cannot run ssh: {e}")))?;
        note_exit(results, bench, wait(child, interrupted));
    }
    let listing = ssh.run(&format!(
        "cd {} 2>/dev/null || exit 0; find . -path '*/new/benchmark.json' | while read -r f; do \
         d=${{f%/benchmark.json}}; echo \"==> $d\"; echo '--8<--'; cat \"$f\"; echo; echo '--8<--'; \
         cat \"$d/estimates.json\"; echo; done",
        sh_quote(&home)
    ))?;
    results.benches = collect_listing(&listing);
    Ok(())
}

fn probe_features(output: &str) -> Vec<String> {
    output
        .lines()
        .find_map(|l| l.split_once("features=").map(|(_, f)| f.to_string()))
        .map(|f| f.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

fn refuse_if_missing(board: &Board, features: &[String], location: &str) -> Result<(), BenchError> {
    let missing = board.missing(features);
    if missing.is_empty() {
        return Ok(());
    }
    let fits: Vec<&str> =
        crate::boards::BOARDS.iter().filter(|b| b.missing(features).is_empty()).map(|b| b.name).collect();
    Err(BenchError::Refused(format!(
        "the {} build needs CPU features {} that {location} lacks (it has: {}); build for a board it \
         can run: --board {}",
        board.name,
        missing.join(", "),
        if features.is_empty() { "none reported".into() } else { features.join(" ") },
        fits.join(" or --board ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_probe_output() {
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(probe_features("arch=aarch64 features=asimd,crc32,atomics\n"), ["asimd", "crc32", "atomics"]);
        assert!(probe_features("arch=aarch64 features=\n").is_empty());
    }

    #[test]
    fn refusal_names_what_is_missing_and_what_fits() {
        let rpi5 = Board::named("rpi5").unwrap();
        let pi4: Vec<String> = ["asimd", "crc32"].map(String::from).to_vec();
        let err = refuse_if_missing(rpi5, &pi4, "ssh pi@pi4").unwrap_err().to_string();
        assert!(err.contains("needs CPU features atomics, lrcpc, asimddp that ssh pi@pi4 lacks"), "{err}");
        assert!(err.contains("--board rpi4"), "{err}");
    }
}
