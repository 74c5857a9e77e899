//! The classifier against capstone, and the reader against objdump, on a real Debian arm64
//! binary: busybox-static, fetched by `ci/debian-arm64.sh` (the arm64 package architecture is
//! added by ci/setup.sh) and cached in the target directory.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use armtune_layout::{
    insn::{classify, BranchKind, Class},
    Binary,
};
use capstone::prelude::*;

/// Debian's arm64 busybox, downloaded and unpacked once by `ci/debian-arm64.sh` (which the CLI
/// tests and the ARM64 guest share; it locks, so parallel callers wait for one download).
fn busybox() -> &'static Path {
    static BUSYBOX: OnceLock<PathBuf> = OnceLock::new();
    BUSYBOX.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/debian-arm64.sh");
        let out = Command::new("bash").arg(script).arg("busybox-static").output().expect("bash");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("bin/busybox")
    })
}

/// What capstone's mnemonic says the class is, for the classes the classifier claims.
fn expected(mnemonic: &str, op_str: &str) -> Option<Class> {
    use BranchKind::*;
    let m = mnemonic;
    let branch = |kind| Some(Class::Branch { kind, target: None });
    Some(match m {
        "b" => return branch(Unconditional),
        "bl" => return branch(Call),
        "cbz" | "cbnz" | "tbz" | "tbnz" => return branch(Conditional),
        "br" | "braa" | "brab" | "braaz" | "brabz" => return branch(Indirect),
        "blr" | "blraa" | "blrab" | "blraaz" | "blrabz" => return branch(IndirectCall),
        "ret" | "retaa" | "retab" => return branch(Return),
        "adrp" => Class::Adrp,
        _ if m.starts_with("b.") || m.starts_with("bc.") => return branch(Conditional),
        _ if ["ldxr", "ldaxr", "ldxp", "ldaxp"].iter().any(|p| m.starts_with(p)) => Class::LoadExclusive,
        _ if ["stxr", "stlxr", "stxp", "stlxp"].iter().any(|p| m.starts_with(p)) => Class::StoreExclusive,
        _ if [
            "cas", "swp", "ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin", "stadd", "stclr",
            "steor", "stset", "stsmax", "stsmin", "stumax", "stumin",
        ]
        .iter()
        .any(|p| m.starts_with(p)) =>
        {
            Class::LseAtomic
        }
        "ldr" | "ldrsw" | "prfm" if !op_str.contains('[') => Class::LoadLiteral,
        _ => return None,
    })
}

fn same_class(a: &Class, b: &Class) -> bool {
    match (a, b) {
        (Class::Branch { kind: x, .. }, Class::Branch { kind: y, .. }) => x == y,
        _ => a == b,
    }
}

#[test]
fn classifier_agrees_with_capstone_on_a_whole_debian_binary() {
    let binary = Binary::read(busybox()).unwrap();
    let cs = Capstone::new().arm64().mode(arch::arm64::ArchMode::Arm).build().unwrap();
    let (mut checked, mut disagreements) = (0usize, Vec::new());
    for code in &binary.code {
        for (i, word) in code.bytes.chunks_exact(4).enumerate() {
            let address = code.address + 4 * i as u64;
            let Ok(insns) = cs.disasm_count(word, address, 1) else { continue };
            let Some(insn) = insns.iter().next() else { continue }; // not an instruction (data)
            let w = u32::from_le_bytes(word.try_into().unwrap());
            let ours = classify(w);
            let theirs = expected(insn.mnemonic().unwrap_or(""), insn.op_str().unwrap_or(""));
            checked += 1;
            let agree = match (&theirs, &ours) {
                (Some(t), o) => same_class(t, o),
                // Classes we claim that capstone's mnemonic does not name must be hints.
                (None, Class::Hint) => true,
                (None, Class::Other) => true,
                (None, _) => false,
            };
            if !agree && disagreements.len() < 20 {
                disagreements.push(format!(
                    "{address:#x} {w:08x} {} {} -> {ours:?}",
                    insn.mnemonic().unwrap_or(""),
                    insn.op_str().unwrap_or("")
                ));
            }
        }
    }
    assert!(checked > 100_000, "a whole binary: {checked} instructions");
    assert!(disagreements.is_empty(), "{} disagreements, first: {disagreements:#?}", disagreements.len());
}

#[test]
fn reader_counts_the_instructions_objdump_counts() {
    let binary = Binary::read(busybox()).unwrap();
    // -z: show runs of zero words too (objdump folds them into "..." otherwise).
    let out =
        Command::new("aarch64-linux-gnu-objdump").args(["-d", "-z", "-j", ".text"]).arg(busybox()).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            f.len() >= 2
                && f[0].trim().ends_with(':')
                && u64::from_str_radix(f[0].trim().trim_end_matches(':'), 16).is_ok()
        })
        .count();
    let text = binary.code.iter().find(|c| c.section == ".text").unwrap();
    assert_eq!(text.bytes.len() / 4, listed, "one line per 4-byte word in .text");
    // Every FDE function lies inside code and none overlaps the next.
    for pair in binary.functions.windows(2) {
        assert!(pair[0].address + pair[0].size <= pair[1].address, "{:?} overlaps {:?}", pair[0], pair[1]);
    }
}

#[test]
fn no_errors_on_the_pi_4_for_a_binary_that_runs_there() {
    // busybox-static runs on a Pi 4: its LSE instructions are all in stripped outline-atomics
    // helpers, behind the runtime flag.
    let binary = Binary::read(busybox()).unwrap();
    let findings = armtune_layout::analyze(&binary, &armtune_layout::Target::by_name("rpi4").unwrap());
    let errors: Vec<_> = findings.iter().filter(|f| f.severity == armtune_layout::Severity::Error).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let helpers = findings.iter().filter(|f| f.rule == "outline-atomics-dead-path").count();
    assert!(helpers >= 10, "the helpers are recognised: {helpers}");
}
