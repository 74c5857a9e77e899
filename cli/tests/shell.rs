//! `armtune completions` and `armtune man`, run through the shells' and man's own machinery
//! (bash's programmable completion, fish's `complete -C`, zsh's parser, man-db with groff), which
//! ci/setup.sh installs.

mod common;

use std::{path::Path, process::Command};

use common::*;

/// The completion script for `shell`, written to a file in `dir`.
fn script(dir: &Path, shell: &str) -> std::path::PathBuf {
    let out = run(armtune().args(["completions", shell]));
    assert!(out.status.success(), "{}", stderr(&out));
    let path = dir.join(format!("armtune.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// Runs `program` with `args` (a shell or man, from ci/setup.sh) and returns its stdout.
fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (ci/setup.sh installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What bash's completion function offers for the words of `line` (the last one being completed).
fn bash_complete(script: &Path, line: &[&str]) -> Vec<String> {
    let words = line.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" ");
    let program = format!(
        "source '{}'; COMP_WORDS=({words}); COMP_CWORD={}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; \
         _armtune armtune '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        line.len() - 1,
        line.join(" "),
        line[line.len() - 1],
        line[line.len() - 2],
    );
    tool("bash", &["-c", &program]).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_subcommands_and_their_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = script(dir.path(), "bash");
    assert_eq!(bash_complete(&script, &["armtune", "pro"]), ["profile"]);
    let all = bash_complete(&script, &["armtune", ""]);
    for sub in ["profile", "agent", "check", "gate", "bench", "flame", "report", "completions", "man"] {
        assert!(all.iter().any(|w| w == sub), "{sub} missing from {all:?}");
    }
    assert_eq!(bash_complete(&script, &["armtune", "profile", "--sched-s"]), ["--sched-sample"]);
    // An option's values: the shells clap knows.
    let shells = bash_complete(&script, &["armtune", "completions", ""]);
    assert!(shells.iter().any(|w| w == "fish") && shells.iter().any(|w| w == "zsh"), "{shells:?}");
}

#[test]
fn fish_completes_subcommands_and_their_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = script(dir.path(), "fish");
    let complete = |line: &str| {
        tool("fish", &["--no-config", "-c", &format!("source {}; complete -C '{line}'", script.display())])
    };
    let subs = complete("armtune ");
    assert!(subs.lines().any(|l| l.starts_with("profile\t")), "{subs}");
    // fish shows each option with its help line.
    let options = complete("armtune profile --sched-");
    assert!(options.lines().any(|l| l.starts_with("--sched-sample\t") && l.contains("Scheduler events")), "{options}");
}

#[test]
fn zsh_reads_its_completion_function() {
    let dir = tempfile::tempdir().unwrap();
    let script = script(dir.path(), "zsh");
    // zsh parses the script (-n: syntax only) and defines the completion function from it.
    tool("zsh", &["-n", script.to_str().unwrap()]);
    let defined =
        tool("zsh", &["-f", "-c", &format!("compdef() {{ :; }}; source {}; whence -w _armtune", script.display())]);
    assert!(defined.contains("_armtune: function"), "{defined}");
}

#[test]
fn man_pages_render_with_every_subcommand_and_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(armtune().args(["man", "--dir"]).arg(dir.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    for page in ["armtune.1", "armtune-profile.1", "armtune-agent.1", "armtune-gate-secrets.1", "armtune-bench-run.1"] {
        assert!(dir.path().join(page).is_file(), "{page} not written");
    }
    // man-db and groff format the page as a reader sees it.
    let page = dir.path().join("armtune-profile.1");
    let text = tool("man", &["-P", "cat", "-l", page.to_str().unwrap()]);
    assert!(text.contains("armtune-profile") && text.contains("--sched-sample"), "{text}");
    assert!(text.contains("OPTIONS"), "{text}");
    // Without --dir: armtune(1) on stdout, naming the subcommands.
    let out = run(armtune().arg("man"));
    let roff = stdout(&out);
    assert!(roff.starts_with(".ie") || roff.contains(".TH armtune 1"), "{roff}");
    assert!(roff.contains("profile") && roff.contains("completions"), "{roff}");
}

#[test]
fn bad_shell_is_one_line_and_exit_2() {
    let out = run(armtune().args(["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid value 'tcsh'"), "{}", stderr(&out));
}
