//! Replays every input kept for the fuzz targets: the crashes they found (`regressions/NAME/`,
//! each fixed) and the seeds their runs start from (`seeds/NAME/`: files written by Go's
//! runtime/pprof, perf, armtune itself, the kernel's /proc and tracefs). A panic here is a
//! reader that fails on input armtune does not control.

use std::{collections::BTreeSet, fs, path::Path};

use armtune_fuzz::TARGETS;

fn kept(dir: &str) -> Vec<(String, std::path::PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files = Vec::new();
    for target in fs::read_dir(&root).unwrap() {
        let target = target.unwrap().path();
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        for file in fs::read_dir(&target).unwrap() {
            files.push((name.clone(), file.unwrap().path()));
        }
    }
    files.sort();
    files
}

fn replay(dir: &str) -> usize {
    let files = kept(dir);
    for (target, path) in &files {
        let run = TARGETS
            .iter()
            .find(|(name, _)| name == target)
            .unwrap_or_else(|| panic!("{dir}/{target}: no fuzz target of that name"))
            .1;
        eprintln!("{target}: {}", path.display());
        run(&fs::read(path).unwrap());
    }
    files.len()
}

#[test]
fn crashes_the_fuzzers_found_stay_fixed() {
    assert!(replay("regressions") > 0, "no regression inputs kept");
}

#[test]
fn seeds_run_clean() {
    let seeded: BTreeSet<String> = kept("seeds").into_iter().map(|(t, _)| t).collect();
    assert!(seeded.len() >= 8, "seeds for {seeded:?} only");
    replay("seeds");
}

/// Each entry point has its libFuzzer target, and `scripts/fuzz.sh` runs what `fuzz/` declares.
#[test]
fn every_target_is_declared_for_cargo_fuzz() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        let source = fs::read_to_string(root.join(format!("fuzz/fuzz_targets/{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{name}.rs: {e}"));
        assert!(source.contains(&format!("armtune_fuzz::{name}(data)")), "{name}.rs calls another entry point");
        assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml has no [[bin]] {name}");
    }
    let declared = manifest.matches("[[bin]]").count();
    assert_eq!(declared, TARGETS.len(), "fuzz/Cargo.toml declares targets armtune_fuzz::TARGETS lacks");
}
