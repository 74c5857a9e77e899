//! `armtune gate` from the command line: exit codes (0 clean, 1 findings, 2 usage or I/O error),
//! the clang-style text lines, one check alone, output files, and paths that cannot be scanned.

mod common;

use std::{path::Path, process::Command};

use common::*;

fn gate(dir: &Path) -> Command {
    let mut cmd = armtune();
    cmd.current_dir(dir).arg("gate");
    cmd
}

/// A C function with cyclomatic complexity `n + 1`.
fn branchy_c(name: &str, n: usize) -> String {
    let mut s = format!("int {name}(int x)\n{{\n");
    for i in 0..n {
        s += &format!("    if (x == {i}) return {i};\n");
    }
    s + "    return -1;\n}\n"
}

/// An npm token, made up here.
fn token() -> String {
    format!("npm_{}", "Zq8w3Kp0Lm5Rt7Yv2Xc4Bn6Hj1Gf9Ds0Aa8P")
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("parse.c"), branchy_c("parse", 20) + &branchy_c("tiny", 2)).unwrap();
    std::fs::write(dir.path().join(".npmrc"), format!("//registry.npmjs.org/:_authToken={}\n", token())).unwrap();
    dir
}

#[test]
fn findings_exit_1_with_clickable_lines() {
    let dir = tree();
    let out = run(&mut gate(dir.path()));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("parse.c:1:1: error: parse has cyclomatic complexity 21 (> 15) [cyclomatic]"), "{text}");
    assert!(text.contains(".npmrc:1:34: error: npm access token: npm_…[redacted, 40 chars] [npm-token]"), "{text}");
    assert!(!text.contains(&token()[4..]), "secret shown: {text}");
    assert!(text.lines().last().unwrap().starts_with("armtune gate: 3 findings (3 failing), 0 errors"), "{text}");
}

#[test]
fn one_check_alone_thresholds_and_clean_exit() {
    let dir = tree();
    let out = run(gate(dir.path()).arg("secrets"));
    assert_eq!(out.status.code(), Some(1));
    assert!(!stdout(&out).contains("complexity"), "{}", stdout(&out));
    let out = run(gate(dir.path()).args(["complexity", "--max-cyclomatic", "30", "--max-cognitive", "30"]));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // The same threshold from armtune.toml, and its errors named.
    std::fs::write(dir.path().join("armtune.toml"), "[gate]\nmax-cyclomatic = 30\nmax-cognitive = 30\n").unwrap();
    assert_eq!(run(gate(dir.path()).arg("complexity")).status.code(), Some(0));
    std::fs::write(dir.path().join("armtune.toml"), "[gate]\nmax-cyclomatik = 30\n").unwrap();
    let out = run(gate(dir.path()).arg("complexity"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("armtune.toml") && stderr(&out).contains("max-cyclomatik"), "{}", stderr(&out));
}

#[test]
fn report_file_and_formats() {
    let dir = tree();
    let sarif = dir.path().join("gate.sarif");
    let out = run(gate(dir.path()).args(["--format", "sarif", "-o"]).arg(&sarif));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).starts_with("armtune gate: 3 findings"), "{}", stderr(&out));
    let doc = read_json(&sarif);
    assert_eq!(doc["version"], "2.1.0");
    let out = run(gate(dir.path()).args(["--format", "github"]));
    assert!(stdout(&out).lines().all(|l| l.starts_with("::error file=")), "{}", stdout(&out));
    let out = run(gate(dir.path()).arg("--list-rules"));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).lines().count() > 50 && stdout(&out).contains("slack-webhook"));
}

#[test]
fn usage_and_io_errors_exit_2_and_the_rest_is_scanned() {
    let dir = tree();
    let out = run(gate(dir.path()).arg("--no-such-flag"));
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    // A missing path: named, and the other path is still scanned.
    let out = run(gate(dir.path()).args(["no/such/dir", "parse.c"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("error: no/such/dir") && stdout(&out).contains("No such file"), "{}", stdout(&out));
    assert!(stdout(&out).contains("parse.c:1:1: error"), "{}", stdout(&out));
    // A symlink loop, followed.
    std::fs::create_dir(dir.path().join("loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("loop/up")).unwrap();
    let out = run(gate(dir.path()).arg("--follow-symlinks"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).to_lowercase().contains("loop"), "{}", stdout(&out));
    assert!(stdout(&out).contains("parse.c:1:1"), "{}", stdout(&out));
    // --since without --git is a usage error.
    assert_eq!(run(gate(dir.path()).args(["--since", "HEAD"])).status.code(), Some(2));
}

#[test]
fn unreadable_file_is_named() {
    let dir = tree();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root reads anything: drop to nobody for the run.
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(env!("CARGO_BIN_EXE_armtune"));
        c
    } else {
        armtune()
    };
    let out = run(cmd.current_dir(dir.path()).args(["gate", "secrets", "--no-ignore"]));
    if stderr(&out).contains("Permission denied") && !stdout(&out).contains("secret.txt") {
        eprintln!("skipped: nobody cannot run the test binary here: {}", stderr(&out));
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("error: secret.txt: cannot read: Permission denied"), "{}", stdout(&out));
    assert!(stdout(&out).contains(".npmrc:1:34"), "the rest is scanned: {}", stdout(&out));
}

/// The `entry:` commands of the pre-commit hooks and the commands the GitHub and GitLab templates
/// run, executed here as those systems would.
#[test]
fn ci_templates_run_what_they_say() {
    let repo_root = repo_root();
    let hooks = std::fs::read_to_string(repo_root.join(".pre-commit-hooks.yaml")).unwrap();
    let entries: Vec<&str> = hooks.lines().filter_map(|l| l.trim().strip_prefix("entry: ")).collect();
    assert_eq!(entries.len(), 4, "{entries:?}");
    let dir = tree();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .current_dir(dir.path())
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", ".npmrc", "parse.c"]);
    let standalone = Path::new(env!("CARGO_BIN_EXE_armtune")).with_file_name("armtune-gate");
    for entry in entries {
        let mut words = entry.split_whitespace();
        let program = words.next().unwrap();
        let mut cmd = if program == "armtune" { armtune() } else { Command::new(&standalone) };
        if program == "armtune-gate" && !standalone.exists() {
            eprintln!(
                "skipped {entry:?}: build the standalone binary with `cargo build -p armtune-gate --features cli`"
            );
            continue;
        }
        cmd.current_dir(dir.path()).args(words);
        // pre-commit passes the changed files to hooks with pass_filenames (the default).
        if !hooks.contains(&format!("entry: {entry}\n  language: system\n  pass_filenames: false")) {
            cmd.arg("parse.c");
        }
        let out = run(&mut cmd);
        assert_eq!(out.status.code(), Some(1), "{entry}: {}{}", stdout(&out), stderr(&out));
    }

    // GitHub: annotations on stdout, SARIF to a file.
    let action = std::fs::read_to_string(repo_root.join("ci/github/action.yml")).unwrap();
    assert!(action.contains("$ARMTUNE_GATE --format github --report \"sarif:${{ inputs.sarif }}\""));
    let out = run(gate(dir.path()).args(["--format", "github", "--report", "sarif:gate.sarif", "."]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("::error file="), "{}", stdout(&out));
    assert_eq!(read_json(&dir.path().join("gate.sarif"))["version"], "2.1.0");

    // GitLab: Code Quality and JUnit files.
    let gitlab = std::fs::read_to_string(repo_root.join("ci/gitlab/armtune-gate.yml")).unwrap();
    assert!(gitlab.contains("--report gitlab:gl-code-quality-report.json") && gitlab.contains("codequality:"));
    let out = run(gate(dir.path()).args([
        "--report",
        "gitlab:gl-code-quality-report.json",
        "--report",
        "junit:armtune-gate-junit.xml",
        ".",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(read_json(&dir.path().join("gl-code-quality-report.json")).as_array().is_some_and(|a| a.len() == 3));
    assert!(std::fs::read_to_string(dir.path().join("armtune-gate-junit.xml")).unwrap().contains("<testsuites"));
}
