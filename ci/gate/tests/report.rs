//! A whole run over a small tree: findings, redaction in every format, SARIF against the 2.1.0
//! schema, GitLab Code Quality fields, JUnit well-formedness, GitHub annotation syntax, baselines,
//! the ignore file, and bad input (syntax errors, UTF-16, binary files, oversized files).

use std::path::Path;

use armtune_gate::{
    config::Config,
    output::{render, Format},
    Report,
};

mod common;

/// A token of GitHub's classic format, made up here.
fn token() -> String {
    common::github_token(42)
}

/// A Go function with cyclomatic complexity `n + 1`.
fn branchy_go(name: &str, n: usize) -> String {
    let mut s = format!("func {name}(x int) int {{\n");
    for i in 0..n {
        s += &format!("\tif x == {i} {{\n\t\treturn {i}\n\t}}\n");
    }
    s + "\treturn -1\n}\n"
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("svc")).unwrap();
    std::fs::write(
        p.join("svc/main.go"),
        format!("package svc\n\n{}\n{}", branchy_go("Big", 16), branchy_go("Small", 3)),
    )
    .unwrap();
    std::fs::write(p.join("svc/push.go"), format!("package svc\n\nconst auth = \"{}\"\n", token())).unwrap();
    std::fs::write(p.join(".env"), format!("GITHUB_TOKEN={}\n", token())).unwrap();
    dir
}

use common::options;

fn run(root: &Path) -> Report {
    armtune_gate::run(&options(root, Config::default())).unwrap()
}

fn rules(report: &Report) -> Vec<(String, String)> {
    report.findings.iter().map(|f| (f.path.display().to_string(), f.rule.clone())).collect()
}

#[test]
fn findings_and_exit_code() {
    let dir = tree();
    let report = run(dir.path());
    let mut found = rules(&report);
    found.sort();
    let expected: Vec<(String, String)> = [
        (".env", "github-pat"),
        ("svc/main.go", "cognitive"),
        ("svc/main.go", "cyclomatic"),
        ("svc/push.go", "github-pat"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(found, expected);
    let big = report.findings.iter().find(|f| f.rule == "cyclomatic").unwrap();
    assert_eq!((big.function.as_deref(), big.value, big.threshold, big.line), (Some("Big"), Some(17), Some(15), 3));
    assert_eq!(report.exit_code(), 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn no_format_shows_a_secret() {
    let dir = tree();
    let report = run(dir.path());
    let secret = token();
    for format in [Format::Text, Format::Json, Format::Sarif, Format::Gitlab, Format::Github, Format::Junit] {
        let out = render(&report, format);
        assert!(!out.contains(&secret[4..]), "{format:?} shows the secret:\n{out}");
        assert!(out.contains("ghp_"), "{format:?} shows nothing of the finding:\n{out}");
    }
}

#[test]
fn sarif_is_valid_2_1_0() {
    let dir = tree();
    let mut report = run(dir.path());
    // A binary-file finding (byte offset, no line) and a note-level one must validate too.
    let mut binary = report.findings[0].clone();
    binary.line = 0;
    binary.byte_offset = Some(4096);
    binary.gating = false;
    report.findings.push(binary);
    report.errors.push("x: cannot read: Permission denied".into());
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("data/sarif-2.1.0-rtm.5.json")).expect("schema parses");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let sarif: serde_json::Value = serde_json::from_str(&render(&report, Format::Sarif)).unwrap();
    let errors: Vec<String> = validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for r in results {
        let rule = &run["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"], "ruleIndex points at the rule");
        assert!(rule["help"]["text"].as_str().is_some_and(|t| t.len() > 40));
        assert!(r["partialFingerprints"]["armtune/v1"].is_string(), "stable fingerprint");
    }
    assert_eq!(results.last().unwrap()["level"], "note");
}

#[test]
fn gitlab_junit_and_github_formats() {
    let dir = tree();
    let report = run(dir.path());
    let gitlab: serde_json::Value = serde_json::from_str(&render(&report, Format::Gitlab)).unwrap();
    let issues = gitlab.as_array().unwrap();
    assert_eq!(issues.len(), 4);
    let mut fingerprints = std::collections::HashSet::new();
    for i in issues {
        for field in ["description", "check_name", "fingerprint", "severity"] {
            assert!(i[field].is_string(), "{field} in {i}");
        }
        assert!(i["location"]["path"].is_string() && i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&i["severity"].as_str().unwrap()));
        assert!(fingerprints.insert(i["fingerprint"].as_str().unwrap().to_string()), "unique fingerprints");
    }
    let junit = render(&report, Format::Junit);
    let mut reader = quick_xml::Reader::from_str(&junit);
    let mut failures = 0;
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"failure" => failures += 1,
            _ => {}
        }
    }
    assert_eq!(failures, 4);
    let github = render(&report, Format::Github);
    for line in github.lines() {
        assert!(line.starts_with("::error file="), "{line}");
        assert!(line.contains(",line=") && line.contains(",title=armtune gate%3A "), "{line}");
    }
}

#[test]
fn baseline_tolerates_moved_lines_and_ignore_file_drops() {
    let dir = tree();
    let report = run(dir.path());
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&baseline, render(&report, Format::Json)).unwrap();
    // Move everything down two lines: fingerprints do not include line numbers.
    for f in ["svc/main.go", "svc/push.go"] {
        let p = dir.path().join(f);
        let text = std::fs::read_to_string(&p).unwrap().replacen("package svc\n", "package svc\n\n// moved\n", 1);
        std::fs::write(&p, text).unwrap();
    }
    let mut opts = options(dir.path(), Config::default());
    opts.baseline = Some(baseline.clone());
    let again = armtune_gate::run(&opts).unwrap();
    assert_eq!(again.findings.len(), 4, "the redacted baseline itself holds no secret: {:?}", rules(&again));
    assert_eq!(again.gating().count(), 0, "all known: {:?}", again.findings);
    assert_eq!(again.exit_code(), 0);
    // A new secret still fails.
    std::fs::write(dir.path().join("svc/new.go"), format!("package svc\nvar k = \"{}x\"\n", &token()[..39])).unwrap();
    let with_new = armtune_gate::run(&opts).unwrap();
    assert_eq!(with_new.gating().count(), 1);
    // The ignore file drops by fingerprint.
    let fp = with_new.gating().next().unwrap().fingerprint.clone();
    std::fs::write(dir.path().join(".armtune-gate-ignore"), format!("# reviewed\n{fp}\n")).unwrap();
    assert_eq!(armtune_gate::run(&opts).unwrap().gating().count(), 0);
}

#[test]
fn bad_input_is_noted_and_the_scan_goes_on() {
    let dir = tree();
    let p = dir.path();
    std::fs::write(p.join("broken.py"), "def ok(a):\n    if a:\n        return 1\n\ndef broken(:\n").unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(format!("TOKEN={}\n", token()).encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(p.join("win.env"), utf16).unwrap();
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0];
    elf.extend_from_slice(format!("\x01\x02{}\x00\x00", token()).as_bytes());
    std::fs::write(p.join("tool.bin"), &elf).unwrap();
    std::fs::write(p.join("bad-utf8.go"), b"package svc\n// \xff\xfe\nfunc F() {}\n").unwrap();
    // Text in another format under a language's extension: capstone's assembler test vectors,
    // a Qt translation file. Not measured (said so), but still scanned for secrets.
    std::fs::write(
        p.join("ppc64.s.cs"),
        format!("# CS_ARCH_PPC, CS_MODE_BIG_ENDIAN, None\n0xc0,0x44,0x00,0x80 = lfs 2, 128(4)\n// {}\n", token()),
    )
    .unwrap();
    std::fs::write(
        p.join("app_de.ts"),
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE TS>\n<TS version=\"2.1\" language=\"de\"></TS>\n",
    )
    .unwrap();
    let huge = std::fs::File::create(p.join("huge.log")).unwrap();
    huge.set_len(3 << 20).unwrap();
    let mut opts = options(p, Config::default());
    opts.max_file_size = 1 << 20;
    let report = armtune_gate::run(&opts).unwrap();
    assert!(
        report.notes.iter().any(|n| n.starts_with("broken.py:5:") && n.contains("syntax error")),
        "{:?}",
        report.notes
    );
    assert!(report.notes.iter().any(|n| n.contains("win.env") && n.contains("UTF-16")), "{:?}", report.notes);
    for (file, lang) in [("ppc64.s.cs", "C#"), ("app_de.ts", "TypeScript")] {
        let note = format!("{file}: not measured: not {lang}: ");
        assert!(report.notes.iter().any(|n| n.starts_with(&note)), "{note}: {:?}", report.notes);
        assert!(!report.notes.iter().any(|n| n.starts_with(file) && n.contains("syntax error")), "{:?}", report.notes);
    }
    let found = rules(&report);
    assert!(found.contains(&("win.env".into(), "github-pat".into())), "{found:?}");
    assert!(found.contains(&("ppc64.s.cs".into(), "github-pat".into())), "{found:?}");
    let binary = report.findings.iter().find(|f| f.path == Path::new("tool.bin")).expect("text run in a binary");
    assert_eq!(binary.byte_offset, Some(12));
    assert!(
        report.errors.iter().any(|e| e.contains("huge.log") && e.contains("--max-file-size")),
        "{:?}",
        report.errors
    );
    assert_eq!(report.exit_code(), 2, "an unscanned file is an error");
}

#[test]
fn gitignore_is_honoured_unless_told_not_to() {
    let dir = tree();
    std::fs::write(dir.path().join(".gitignore"), "svc/push.go\n").unwrap();
    // Ignored: its secret is a warning that does not fail the gate (tests/ignored.rs has more).
    let report = run(dir.path());
    let push = report.findings.iter().find(|f| f.path == Path::new("svc/push.go")).expect("a warning");
    assert!(push.ignored_file && !push.gating, "{push:?}");
    let mut opts = options(dir.path(), Config::default());
    opts.walk.ignored_files = armtune_gate::scan::IgnoredFiles::Skip;
    assert!(!rules(&armtune_gate::run(&opts).unwrap()).iter().any(|(p, _)| p == "svc/push.go"));
    opts.walk.respect_ignore = false;
    let all = armtune_gate::run(&opts).unwrap();
    let push = all.findings.iter().find(|f| f.path == Path::new("svc/push.go")).expect("scanned as any file");
    assert!(push.gating && !push.ignored_file);
}
