//! Secrets in files `.gitignore` excludes, in a real git work tree: a `.env`, a directory of
//! settings and a log are scanned and reported as warnings (or failures with
//! `--ignored-files fail`); dependency directories are left alone; nothing is reported twice.

use std::{path::Path, process::Command};

use armtune_gate::{
    config::Config,
    output::{render, Format},
    scan::IgnoredFiles,
    Report,
};

mod common;

use common::github_token as token;

/// A git work tree with one committed secret, and secrets in files its .gitignore excludes.
fn work_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let write = |rel: &str, text: String| {
        let path = p.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(".gitignore", ".env\nconfig/local/\n*.log\nnode_modules/\n".into());
    write("app.py", format!("TOKEN = \"{}\"\n", token(1)));
    write(".env", format!("GITHUB_TOKEN={}\n", token(2)));
    write("config/local/settings.yaml", format!("github:\n  token: {}\n", token(3)));
    write("deploy.log", format!("pushing with {}\n", token(4)));
    write("node_modules/left-pad/.env", format!("GITHUB_TOKEN={}\n", token(5)));
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(p).output().expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    dir
}

fn run(root: &Path, ignored_files: IgnoredFiles) -> Report {
    let mut options = common::options(root, Config::default());
    options.walk.ignored_files = ignored_files;
    armtune_gate::run(&options).unwrap()
}

/// (path, level) of each finding.
fn found(report: &Report) -> Vec<(String, &'static str)> {
    report.findings.iter().map(|f| (f.path.display().to_string(), f.level())).collect()
}

#[test]
fn secrets_in_ignored_files_are_warnings_that_do_not_fail_the_gate() {
    let tree = work_tree();
    // git agrees on what is ignored: only the committed file and .gitignore are staged.
    let staged = Command::new("git").args(["diff", "--cached", "--name-only"]).current_dir(tree.path()).output();
    assert_eq!(String::from_utf8_lossy(&staged.unwrap().stdout), ".gitignore\napp.py\n");

    let report = run(tree.path(), IgnoredFiles::Warn);
    assert_eq!(
        found(&report),
        [
            (".env".to_string(), "warning"),
            ("app.py".to_string(), "error"),
            ("config/local/settings.yaml".to_string(), "warning"),
            ("deploy.log".to_string(), "warning"),
        ],
        "node_modules is left out, app.py is reported once"
    );
    let env = &report.findings[0];
    assert!(env.ignored_file && !env.gating && env.message.contains(".gitignore excludes"), "{env:?}");
    assert_eq!(report.exit_code(), 1, "the committed secret fails the gate");

    // Each format says warning.
    let sarif: serde_json::Value = serde_json::from_str(&render(&report, Format::Sarif)).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["level"], "warning");
    assert!(result.get("baselineState").is_none(), "not a known finding: {result}");
    assert!(render(&report, Format::Github).lines().any(|l| l.starts_with("::warning file=.env,")));
    assert!(render(&report, Format::Text).contains(".env:1:14: warning: "));
}

#[test]
fn ignored_files_fail_the_gate_when_asked_and_are_not_read_when_skipped() {
    let tree = work_tree();
    std::fs::remove_file(tree.path().join("app.py")).unwrap();
    let warned = run(tree.path(), IgnoredFiles::Warn);
    assert_eq!((warned.findings.len(), warned.exit_code()), (3, 0), "{:?}", found(&warned));
    let failed = run(tree.path(), IgnoredFiles::Fail);
    assert_eq!(failed.exit_code(), 1);
    assert!(failed.findings.iter().all(|f| f.gating && f.ignored_file && f.level() == "error"));
    let skipped = run(tree.path(), IgnoredFiles::Skip);
    assert!(skipped.findings.is_empty(), "{:?}", found(&skipped));
    assert!(skipped.stats.bytes < warned.stats.bytes, "the ignored files were not read");
}
