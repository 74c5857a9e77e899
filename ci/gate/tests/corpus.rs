//! The labelled corpus of `scripts/bench/secrets_corpus.py` (a realistic application tree with
//! made-up credentials of every family, and as many look-alikes), scanned as a user would scan
//! it: every labelled secret found, nothing else. `scripts/bench/secrets-recall.sh` puts the
//! same corpus before detect-secrets and CredSweeper.

use std::{collections::BTreeSet, path::Path, process::Command};

mod common;

use armtune_gate::config::Config;

#[test]
fn every_labelled_secret_is_found_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench/secrets_corpus.py");
    let made = Command::new("python3").arg(&script).arg("make").arg(&corpus).output().expect("python3");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let labels: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("labels.json")).unwrap()).unwrap();
    let options = common::options(&corpus, Config::default());
    let report = armtune_gate::run(&options).unwrap();
    let found: BTreeSet<(String, u32)> =
        report.findings.iter().map(|f| (f.path.display().to_string(), f.line)).collect();
    let (mut wanted, mut neutral) = (BTreeSet::new(), BTreeSet::new());
    for label in labels.as_array().unwrap() {
        let key = (label["file"].as_str().unwrap().to_string(), label["line"].as_u64().unwrap() as u32);
        if label["family"] == "neutral" {
            neutral.insert(key);
        } else {
            wanted.insert(key);
        }
    }
    let missed: Vec<_> = wanted.difference(&found).collect();
    let extra: Vec<_> = found.difference(&wanted).filter(|k| !neutral.contains(*k)).collect();
    assert!(missed.is_empty() && extra.is_empty(), "missed {missed:?}, false alarms {extra:?}");
    // The .env is gitignored: found, as a warning.
    let env = report.findings.iter().find(|f| f.path == Path::new(".env")).unwrap();
    assert!(env.ignored_file && !env.gating);
}
