//! `armtune check` as a user runs it: text and JSON reports, `--fail-on` exit codes, and one-line
//! errors for files it cannot read. Needs no privileges; needs the GNU AArch64 cross assembler.

use std::{path::Path, process::Command};

fn armtune() -> Command {
    Command::new(env!("CARGO_BIN_EXE_armtune"))
}

/// Built once per test run: tests run in parallel and must not rewrite the file under each other.
fn fixture() -> std::path::PathBuf {
    static FIXTURE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(build_fixture).clone()
}

fn build_fixture() -> std::path::PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-defects");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../layout/tests/fixtures/defects.S");
    let status = Command::new("aarch64-linux-gnu-gcc")
        .args(["-g", "-nostdlib", "-static", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("aarch64-linux-gnu-gcc is needed (gcc-aarch64-linux-gnu): run ci/setup.sh");
    assert!(status.success());
    out
}

#[test]
fn text_report_groups_findings_and_fail_on_sets_the_exit_code() {
    let bin = fixture();
    let out = armtune().arg("check").arg(&bin).args(["--target", "rpi4"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "findings alone do not fail without --fail-on");
    assert!(text.contains("Cortex-A72 (Raspberry Pi 4): 1 errors, 1 warnings, 4 notes"), "{text}");
    assert!(text.contains("\nmisaligned_loop (0x") && text.contains("loop-crosses-line"), "{text}");
    assert!(text.contains("fix: "), "every finding carries a hint");

    let out = armtune().arg("check").arg(&bin).args(["--target", "rpi4", "--fail-on", "error"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = armtune().arg("check").arg(&bin).args(["--target", "rpi5", "--fail-on", "error"]).output().unwrap();
    assert!(out.status.success(), "no errors for the A76: it has LSE");
    let out = armtune().arg("check").arg(&bin).args(["--target", "rpi5", "--fail-on", "warning"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn json_report_lists_findings_rules_and_target() {
    let out = armtune().arg("check").arg(fixture()).args(["--target", "rpi5", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["target"]["fetch_block"], 32);
    assert_eq!(v["target"]["lse"], true);
    let rules: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"llsc-on-lse-core") && !rules.contains(&"lse-on-non-lse-core"), "{rules:?}");
    assert!(v["rules"].as_array().unwrap().len() >= 8);
}

#[test]
fn unreadable_inputs_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("run.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let cases = [
        (script.clone(), "not a readable ELF file"),
        (dir.path().join("missing"), "cannot read"),
        (std::path::PathBuf::from(env!("CARGO_BIN_EXE_armtune")), "not an AArch64 ELF: found"),
    ];
    for (path, expected) in cases {
        let out = armtune().arg("check").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(expected), "{path:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"));
        // Bad input stays 2 with --fail-on, whose 1 means findings.
        let out = armtune().arg("check").arg(&path).args(["--fail-on", "warning"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{path:?} with --fail-on");
    }
}

#[test]
fn a_profile_ranks_findings_and_hides_cold_ones() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.folded");
    std::fs::write(&profile, "defects;_start;dense_branches 90\ndefects;_start;misaligned_loop 10\n").unwrap();
    let out = armtune()
        .arg("check")
        .arg(fixture())
        .args(["--target", "rpi4", "--min-share", "5", "--profile"])
        .arg(&profile)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let dense = text.find("dense_branches (").expect("hot function listed");
    let misaligned = text.find("misaligned_loop (").expect("warm function listed");
    assert!(dense < misaligned, "hottest first:\n{text}");
    assert!(text.contains("90.0% of samples"), "{text}");
    assert!(!text.contains("lse_increment"), "functions without samples are hidden by --min-share:\n{text}");
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let out = armtune().arg("check").arg(fixture()).args(["--target", "rpi4", "--format", "sarif"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rule_ids: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for result in run["results"].as_array().unwrap() {
        assert!(rule_ids.contains(&result["ruleId"].as_str().unwrap()), "every result names a declared rule");
        assert!(["note", "warning", "error"].contains(&result["level"].as_str().unwrap()));
        assert!(result["locations"][0]["physicalLocation"]["address"]["absoluteAddress"].as_u64().unwrap() >= 0x400000);
        assert_eq!(result["locations"][0]["logicalLocations"][0]["kind"], "function");
        let name = result["locations"][0]["logicalLocations"][0]["name"].as_str().unwrap();
        assert!(name.contains("+0x"), "located by symbol+offset: {name}");
    }
    let levels: Vec<&str> = run["results"].as_array().unwrap().iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert!(levels.contains(&"error"), "the LSE fault on the A72 is an error");
}

#[test]
fn findings_carry_source_lines_from_dwarf() {
    let out = armtune().arg("check").arg(fixture()).args(["--target", "rpi4", "--format", "sarif"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let located = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "branch-density")
        .expect("branch-density result");
    let physical = &located["locations"][0]["physicalLocation"];
    assert!(physical["artifactLocation"]["uri"].as_str().unwrap().ends_with("defects.S"), "{physical}");
    assert!(physical["region"]["startLine"].as_u64().unwrap() > 1, "{physical}");
    let text = armtune().arg("check").arg(fixture()).args(["--target", "rpi4"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("dense_branches+0x0 (") && text.contains("defects.S:"), "{text}");
    assert!(text.contains("-------- 64-byte line") || text.contains("16-byte block"), "excerpt with ruler: {text}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = armtune()
        .arg("check")
        .arg(fixture())
        .args(["--format", "sarif"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn a_profile_makes_loop_findings_warnings_in_the_code_that_runs() {
    let json = |extra: &[&std::ffi::OsStr]| -> serde_json::Value {
        let out = armtune()
            .arg("check")
            .arg(fixture())
            .args(["--target", "rpi4", "--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let severity = |v: &serde_json::Value, rule: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| f["severity"].as_str().unwrap().to_string())
            .collect()
    };
    let plain = json(&[]);
    assert_eq!(severity(&plain, "loop-alignment"), ["info"], "without a profile, a note");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.folded");
    std::fs::write(&profile, "defects;_start;misaligned_loop 10\ndefects;_start;dense_branches 90\n").unwrap();
    let hot = json(&["--profile".as_ref(), profile.as_os_str()]);
    assert_eq!(severity(&hot, "loop-alignment"), ["warning"], "in a function with samples");
    assert_eq!(severity(&hot, "loop-crosses-line"), ["warning"]);

    // The same profile as pprof (as `armtune profile --format pprof` writes it).
    use armtune_probes::{pprof, profile::Unit, Profile};
    let folded = std::fs::read(&profile).unwrap();
    let p = Profile::read_folded(folded.as_slice(), Unit::samples()).unwrap();
    let columns = [pprof::Column { profile: &p, kind: "samples", unit: "count", scale: 1 }];
    let pb = dir.path().join("p.pb.gz");
    pprof::write(&pprof::build(&columns, None, &p.meta), std::fs::File::create(&pb).unwrap()).unwrap();
    let hot = json(&["--profile".as_ref(), pb.as_os_str()]);
    assert_eq!(severity(&hot, "loop-alignment"), ["warning"], "pprof: in a function with samples");
}

#[test]
fn a_function_in_a_hot_section_gets_loop_warnings_without_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let object = dir.path().join("hot.o");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../layout/tests/fixtures/hot.S");
    assert!(Command::new("aarch64-linux-gnu-gcc")
        .arg("-c")
        .arg("-o")
        .arg(&object)
        .arg(&src)
        .status()
        .unwrap()
        .success());
    let out = armtune().arg("check").arg(&object).args(["--target", "rpi4", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "loop-alignment")
        .map(|f| (f["function"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
        .collect();
    found.sort();
    assert_eq!(found, [("cold_spin".to_string(), "info".to_string()), ("hot_spin".to_string(), "warning".to_string())]);
}

/// Debian's arm64 busybox (static, stripped), downloaded once by `ci/debian-arm64.sh`, which
/// locks: the tests here run in parallel and must not read a half-written download.
fn debian_busybox() -> std::path::PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/debian-arm64.sh");
    let out = Command::new("bash").arg(script).arg("busybox-static").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Path::new(String::from_utf8(out.stdout).unwrap().trim()).join("bin/busybox")
}

#[test]
fn debian_busybox_has_no_false_errors_and_the_summary_counts_what_json_lists() {
    let busybox = debian_busybox();
    let out = armtune().arg("check").arg(&busybox).args(["--target", "rpi4", "--fail-on", "error"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // Its outline-atomics helpers are stripped: their guarded LSE is recognised by the code.
    assert_eq!(out.status.code(), Some(0), "no errors on the Pi 4, where busybox runs:\n{text}");
    assert!(text.contains(": 0 errors,"), "{text}");
    assert!(text.contains("functions with the most findings:") && text.contains("top 20 of"), "a summary: {text}");
    assert!(text.lines().count() < 400, "the summary is short: {} lines", text.lines().count());

    let out = armtune().arg("check").arg(&busybox).args(["--target", "rpi4", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut from_json: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for f in v["findings"].as_array().unwrap() {
        *from_json.entry((f["rule"].as_str().unwrap().into(), f["severity"].as_str().unwrap().into())).or_default() +=
            1;
    }
    assert!(from_json.contains_key(&("outline-atomics-dead-path".into(), "info".into())), "{from_json:?}");
    // The summary's table: rule, errors, warnings, notes.
    let mut from_text: std::collections::BTreeMap<(String, String), usize> = Default::default();
    let table = text.split("\nrule ").nth(1).expect("the rule table").split("\n\n").next().unwrap();
    for row in table.lines().skip(1) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        for (severity, n) in ["error", "warning", "info"].iter().zip(&cols[1..4]) {
            let n: usize = n.parse().unwrap();
            if n > 0 {
                from_text.insert((cols[0].to_string(), severity.to_string()), n);
            }
        }
    }
    assert_eq!(from_text, from_json);
    let total: usize = from_json.values().sum();
    assert!(text.contains(&format!("top 20 of {total} findings")), "{text}");
}

#[test]
fn all_lists_every_finding() {
    let busybox = debian_busybox();
    let summary = armtune().arg("check").arg(&busybox).args(["--target", "rpi4"]).output().unwrap();
    let all = armtune().arg("check").arg(&busybox).args(["--target", "rpi4", "--all"]).output().unwrap();
    let count = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).matches("\n          fix: ").count();
    assert_eq!(count(&summary), 20);
    assert!(count(&all) > 5000, "{}", count(&all));
}

#[test]
fn warn_all_loops_brings_back_loop_warnings_everywhere() {
    let out = armtune().arg("check").arg(fixture()).args(["--target", "rpi4", "--warn-all-loops"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 errors, 3 warnings, 2 notes"), "{text}");
}
