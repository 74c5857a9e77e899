//! Git-aware scans on a repository built here: secrets per commit (`--git`, `--since`),
//! staged lines (`--staged`), and gating only what changed since a revision (`--new-from-rev`).

use std::{path::Path, process::Command};

use armtune_gate::{
    config::{Config, Resolved},
    scan::WalkOptions,
    History, Options, Report,
};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Dev")
        .env("GIT_AUTHOR_EMAIL", "ada@example.org")
        .env("GIT_COMMITTER_NAME", "Ada Dev")
        .env("GIT_COMMITTER_EMAIL", "ada@example.org")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A Slack bot token, made up here.
fn token() -> String {
    let digits = "4821937465019";
    format!("xoxb-{}-{}-Qm9vQmFyQmF6UXV4Q29yZ2VHcmF1", &digits[..12], digits)
}

fn branchy(name: &str, n: usize) -> String {
    let mut s = format!("def {name}(x):\n");
    for i in 0..n {
        s += &format!("    if x == {i}:\n        return {i}\n");
    }
    s + "    return -1\n"
}

fn options(root: &Path, history: Option<History>, new_from_rev: Option<String>) -> Options {
    Options {
        paths: vec![root.to_path_buf()],
        root: root.to_path_buf(),
        complexity: true,
        secrets: true,
        config: Resolved::new(Config::default()).unwrap(),
        walk: WalkOptions {
            respect_ignore: true,
            ignored_files: armtune_gate::scan::IgnoredFiles::Warn,
            follow_symlinks: false,
            threads: 2,
        },
        max_file_size: 64 << 20,
        history,
        new_from_rev,
        baseline: None,
        ignore_file: None,
    }
}

fn run(options: &Options) -> Report {
    armtune_gate::run(options).unwrap()
}

#[test]
fn history_staged_and_new_from_rev() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("app.py"), branchy("legacy", 16)).unwrap();
    let first = commit(repo, "first");
    std::fs::write(repo.join("bot.env"), format!("# bot\nSLACK_BOT={}\n", token())).unwrap();
    let leaked = commit(repo, "add bot settings");
    std::fs::remove_file(repo.join("bot.env")).unwrap();
    let removed = commit(repo, "remove bot settings");

    // The work tree is clean of secrets; history is not.
    let tree = run(&options(repo, None, None));
    assert!(tree.findings.iter().all(|f| f.rule == "cyclomatic" || f.rule == "cognitive"), "{:?}", tree.findings);
    let history = run(&options(repo, Some(History::Commits { since: None }), None));
    assert_eq!(history.findings.len(), 1, "{:?}", history.findings);
    let f = &history.findings[0];
    assert_eq!((f.rule.as_str(), f.path.to_str().unwrap(), f.line, f.column), ("slack-token", "bot.env", 2, 11));
    let c = f.commit.as_ref().unwrap();
    assert_eq!(
        (c.hash.as_str(), c.author.as_str(), c.summary.as_str()),
        (leaked.as_str(), "Ada Dev", "add bot settings")
    );
    assert_eq!(history.stats.commits, 2, "commits that added lines");
    assert!(history.findings.iter().all(|f| f.check == armtune_gate::finding::Check::Secrets));
    // Only commits after a revision.
    let since_first = run(&options(repo, Some(History::Commits { since: Some(first.clone()) }), None));
    assert_eq!(since_first.findings.len(), 1);
    let since_leak = run(&options(repo, Some(History::Commits { since: Some(leaked) }), None));
    assert!(since_leak.findings.is_empty(), "{removed} only removes lines");

    // Staged lines, as a pre-commit hook sees them.
    std::fs::write(repo.join("notify.sh"), format!("#!/bin/sh\ncurl -d 'token={}' x\n", token())).unwrap();
    git(repo, &["add", "notify.sh"]);
    let staged = run(&options(repo, Some(History::Staged), None));
    assert_eq!(staged.findings.len(), 1);
    assert_eq!(staged.findings[0].commit.as_ref().unwrap().hash, "staged");
    git(repo, &["rm", "-q", "--cached", "notify.sh"]);
    std::fs::remove_file(repo.join("notify.sh")).unwrap();

    // Diff-aware gating: the legacy function is reported, only the new one fails.
    let text = std::fs::read_to_string(repo.join("app.py")).unwrap();
    std::fs::write(repo.join("app.py"), format!("{text}\n\n{}", branchy("fresh", 20))).unwrap();
    let diff = run(&options(repo, None, Some(first)));
    let gating: Vec<&str> = diff.gating().map(|f| f.function.as_deref().unwrap()).collect();
    assert_eq!(gating, ["fresh", "fresh"], "{:?}", diff.findings);
    assert!(diff.findings.iter().any(|f| f.function.as_deref() == Some("legacy") && !f.gating));
    assert_eq!(diff.exit_code(), 1);
}

#[test]
fn git_options_outside_a_repository_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = armtune_gate::run(&options(dir.path(), Some(History::Staged), None)).unwrap_err();
    assert!(err.to_string().contains("not in a git repository"), "{err}");
}
