//! `armtune flame` as a user runs it: folded and JSON in, SVG out, differential graphs, bad input.
//! Needs no privileges.

use std::{path::Path, process::Command};

fn armtune() -> Command {
    Command::new(env!("CARGO_BIN_EXE_armtune"))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn renders_folded_and_diff() {
    let dir = tempfile::tempdir().unwrap();
    let before = write(dir.path(), "before.folded", "svc;main;parse 60\nsvc;main;render 40\n");
    let after = write(dir.path(), "after.folded", "svc;main;parse 20\nsvc;main;render 80\nsvc;main;write_[k] 5\n");
    let svg = dir.path().join("one.svg");
    let out = armtune().arg("flame").arg(&after).arg("-o").arg(&svg).args(["--title", "After"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("After") && text.contains("render") && text.contains("parse"));

    let diff = dir.path().join("diff.svg");
    let out = armtune().args(["flame", "--diff"]).arg(&before).arg(&after).arg("-o").arg(&diff).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&diff).unwrap();
    assert!(text.contains("Differential flame graph"));
    // inferno's differential tooltips carry the change in percentage points.
    assert!(text.contains("render (80 samples, ") && text.contains("%)"), "{text}");
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.folded", "svc;main 10\nsvc;main;x ten\n");
    let empty = write(dir.path(), "empty.folded", "");
    let missing = dir.path().join("missing.folded");
    for (input, expected) in [(&bad, "line 2"), (&empty, "no stacks"), (&missing, "cannot read")] {
        let out = armtune().arg("flame").arg(input).arg("-o").arg(dir.path().join("x.svg")).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(expected), "expected {expected:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let out = armtune().args(["flame", "-o"]).arg(dir.path().join("x.svg")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage error from clap");
}
