//! `armtune check`'s analysis on AArch64 fixtures built here with the GNU cross toolchain
//! (`gcc-aarch64-linux-gnu`, installed by ci/setup.sh): every defect is found at its address, the
//! clean functions stay silent, and the reader sees exactly the instructions objdump sees.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use armtune_layout::{analyze, Binary, Severity, Target};

fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| build("defects", &["-nostdlib", "-static"], "defects.S"))
}

fn symbols(binary: &Binary) -> HashMap<String, u64> {
    binary.functions.iter().map(|f| (f.name.clone(), f.address)).collect()
}

/// (rule, function, offset in the function) of every finding at or above `min`.
fn findings(target: &str, min: Severity) -> Vec<(String, String, u64)> {
    let binary = Binary::read(fixture()).unwrap();
    let at = symbols(&binary);
    let mut out: Vec<(String, String, u64)> = analyze(&binary, &Target::by_name(target).unwrap())
        .into_iter()
        .filter(|f| f.severity >= min)
        .map(|f| {
            let base = at[&f.function];
            (f.rule.to_string(), f.function.clone(), f.address - base)
        })
        .collect();
    out.sort();
    out
}

fn expect(list: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = list.iter().map(|(r, f, o)| (r.to_string(), f.to_string(), *o)).collect();
    v.sort();
    v
}

#[test]
fn cortex_a72_findings_are_exactly_the_planted_defects() {
    assert_eq!(
        findings("rpi4", Severity::Info),
        expect(&[
            ("loop-alignment", "misaligned_loop", 52),
            ("loop-crosses-line", "misaligned_loop", 52),
            ("branch-density", "dense_branches", 0),
            ("lse-on-non-lse-core", "lse_increment", 0),
            ("branch-to-next", "branch_to_next", 0),
            ("branch-chain", "branch_chain", 0),
        ])
    );
}

#[test]
fn cortex_a76_findings_follow_its_wider_window_and_lse() {
    assert_eq!(
        findings("rpi5", Severity::Info),
        expect(&[
            ("loop-alignment", "misaligned_loop", 52),
            ("loop-crosses-line", "misaligned_loop", 52),
            ("llsc-on-lse-core", "llsc_increment", 0),
            ("branch-to-next", "branch_to_next", 0),
            ("branch-chain", "branch_chain", 0),
        ])
    );
}

#[test]
fn clean_functions_and_literal_pools_stay_silent() {
    for target in ["rpi4", "rpi5", "ftc663", "generic"] {
        let noisy: Vec<_> =
            findings(target, Severity::Info).into_iter().filter(|(_, f, _)| f.starts_with("clean_")).collect();
        assert!(noisy.is_empty(), "{target}: {noisy:?}");
    }
    let binary = Binary::read(fixture()).unwrap();
    assert!(!binary.data_ranges.is_empty(), "the literal pool is marked as data");
}

#[test]
fn a_stripped_binary_keeps_its_functions_through_eh_frame() {
    let stripped = Path::new(env!("CARGO_TARGET_TMPDIR")).join("defects-stripped");
    let status = Command::new("aarch64-linux-gnu-strip").arg("-o").arg(&stripped).arg(fixture()).status().unwrap();
    assert!(status.success());
    let full = Binary::read(fixture()).unwrap();
    let bare = Binary::read(&stripped).unwrap();
    assert!(bare.notes.iter().any(|n| n.contains("from .eh_frame")), "{:?}", bare.notes);
    let bounds = |b: &Binary| b.functions.iter().map(|f| (f.address, f.size)).collect::<Vec<_>>();
    assert_eq!(bounds(&bare), bounds(&full), "the same function bounds, symbols or not");
    // The same findings at the same addresses (the literal pool's $d symbol is stripped too, so
    // the clean function with the pool is left out of the comparison).
    let target = Target::by_name("rpi4").unwrap();
    let pool = full.functions.iter().find(|f| f.name == "clean_loop").unwrap().address;
    let key = |b: &Binary| {
        analyze(b, &target)
            .into_iter()
            .filter(|f| f.address < pool || f.address >= pool + 64)
            .map(|f| (f.rule, f.address))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&bare), key(&full));
}

#[test]
fn instruction_counts_match_objdump() {
    let binary = Binary::read(fixture()).unwrap();
    let dump = Command::new("aarch64-linux-gnu-objdump").arg("-d").arg(fixture()).output().expect("objdump");
    let text = String::from_utf8_lossy(&dump.stdout);
    // Every "  addr:\tword \tmnemonic" line objdump prints, pool words (".word") apart.
    let listed: Vec<(u64, bool)> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let addr = u64::from_str_radix(fields.first()?.trim().strip_suffix(':')?, 16).ok()?;
            Some((addr, fields.get(2).is_some_and(|m| !m.starts_with(".word"))))
        })
        .collect();
    for f in &binary.functions {
        let range = f.address..f.address + f.size;
        let theirs = listed.iter().filter(|(a, insn)| *insn && range.contains(a)).count();
        let ours: Vec<u64> = binary.instructions(f).into_iter().map(|(a, _)| a).collect();
        assert_eq!(ours.len(), theirs, "{}: armtune reads {} instructions, objdump {theirs}", f.name, ours.len());
    }
    let clean = binary.functions.iter().find(|f| f.name == "clean_loop").unwrap();
    assert_eq!(binary.instructions(clean).len(), (clean.size / 4) as usize - 4, "four pool words skipped");
}

fn struct_fixture(kind: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("structs.{kind}"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/structs.c");
    let mut cmd = Command::new("aarch64-linux-gnu-gcc");
    cmd.args(["-g", "-O0"]);
    if kind == "so" {
        cmd.args(["-shared", "-nostdlib"]);
    } else {
        cmd.arg("-c");
    }
    let status = cmd.arg("-o").arg(&out).arg(&src).status().expect("aarch64-linux-gnu-gcc");
    assert!(status.success(), "compiling {}", src.display());
    out
}

#[test]
fn struct_layout_findings_from_dwarf() {
    let binary = Binary::read(&struct_fixture("so")).unwrap();
    let holey = binary.structs.iter().find(|s| s.name == "holey").expect("struct holey in DWARF");
    assert_eq!(holey.size, 24);
    assert_eq!(holey.holes(), [(1, 7), (17, 7)]);
    let mut found: Vec<(String, String, u64)> = analyze(&binary, &Target::by_name("rpi4").unwrap())
        .into_iter()
        .filter(|f| f.function.starts_with("struct "))
        .map(|f| (f.rule.to_string(), f.function, f.address))
        .collect();
    found.sort();
    let mut want: Vec<(String, String, u64)> = [
        ("atomics-share-line", "struct counters", 8),
        ("member-straddles-line", "struct straddle", 60),
        ("struct-hole", "struct holey", 1),
        ("struct-hole", "struct holey", 17),
        // alignas(64) padding is a hole too, as pahole shows it; it is the fix, not a defect.
        ("struct-hole", "struct padded_counters", 8),
        ("struct-hole", "struct padded_counters", 72),
    ]
    .iter()
    .map(|(r, f, a)| (r.to_string(), f.to_string(), *a))
    .collect();
    want.sort();
    assert_eq!(found, want, "clean_pair silent, padded_counters free of false sharing");
}

#[test]
fn struct_layout_of_an_unlinked_object_is_declined_with_a_note() {
    let binary = Binary::read(&struct_fixture("o")).unwrap();
    assert!(binary.structs.is_empty());
    assert!(binary.notes.iter().any(|n| n.contains("struct layout needs a linked")), "{:?}", binary.notes);
}

fn build(name: &str, args: &[&str], source: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(source);
    let status = Command::new("aarch64-linux-gnu-gcc")
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .expect("aarch64-linux-gnu-gcc");
    assert!(status.success(), "building {}", src.display());
    out
}

fn rules_at(path: &Path) -> Vec<(String, String, u64)> {
    let binary = Binary::read(path).unwrap();
    let at = symbols(&binary);
    analyze(&binary, &Target::by_name("rpi4").unwrap())
        .into_iter()
        .filter(|f| f.rule.ends_with("-in-loop"))
        .map(|f| (f.rule.to_string(), f.function.clone(), f.address - at[&f.function]))
        .collect()
}

#[test]
fn calls_through_the_plt_inside_a_loop() {
    // Dynamically linked against the cross glibc: atoi is called through the PLT.
    let found = rules_at(&build("plt", &["-O2"], "plt.c"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0.as_str(), found[0].1.as_str()), ("plt-call-in-loop", "parse_all"));
}

#[test]
fn calls_through_a_linker_veneer_inside_a_loop() {
    // far_func sits 256 MB away: the linker adds __far_func_veneer, and the loop calls through it.
    let path = build("veneer", &["-nostdlib", "-static", "-Wl,--section-start=.fartext=0x10400000"], "veneer.S");
    assert_eq!(rules_at(&path), [("veneer-call-in-loop".to_string(), "_start".to_string(), 4)]);
}

#[test]
fn globals_updated_atomically_next_to_written_globals() {
    let path =
        build("globals", &["-O2", "-mno-outline-atomics", "-nostdlib", "-static", "-Wl,-e,count_hit"], "globals.c");
    let binary = Binary::read(&path).unwrap();
    let addr = |name: &str| binary.globals.iter().find(|g| g.name == name).unwrap().address;
    let sharing = |target: &Target| {
        let mut v: Vec<(u64, String)> = analyze(&binary, target)
            .into_iter()
            .filter(|f| f.rule == "global-false-sharing")
            .map(|f| (f.address, f.message))
            .collect();
        v.sort();
        v
    };
    let on_64 = sharing(&Target::by_name("rpi4").unwrap());
    assert_eq!(on_64.len(), 1, "{on_64:?}");
    assert_eq!(on_64[0].0, addr("hits"));
    assert!(on_64[0].1.contains("misses"), "{on_64:?}");
    // Viewed with 128-byte lines (Apple, ThunderX-style cores), lonely's 64-byte padding is not enough.
    let wide = Target { cache_line: 128, ..Target::by_name("rpi4").unwrap() };
    let on_128 = sharing(&wide);
    assert!(on_128.iter().any(|(_, m)| m.contains("lonely")), "{on_128:?}");
}

#[test]
fn excerpt_draws_lines_and_blocks_around_the_finding() {
    let binary = Binary::read(fixture()).unwrap();
    let target = Target::by_name("rpi4").unwrap();
    let head = symbols(&binary)["misaligned_loop"] + 52;
    let lines = armtune_layout::display::excerpt(&binary, head, &target);
    let text = lines.join("\n");
    assert!(text.contains(&format!("> {head:#x}  91000442  add x2, x2, #1")), "{text}");
    // The loop crosses the line at +64 (four instructions after the head).
    assert!(text.contains(&format!("64-byte line {:#x}", head + 12)), "{text}");
    assert!(text.contains("16-byte block"), "{text}");
    assert!(armtune_layout::display::excerpt(&binary, 0x10, &target).is_empty());
}

/// (rule, severity, function) of the atomics findings for `target`.
fn atomics_findings(path: &Path, target: &str) -> Vec<(String, Severity, String)> {
    let binary = Binary::read(path).unwrap();
    let mut v: Vec<_> = analyze(&binary, &Target::by_name(target).unwrap())
        .into_iter()
        .filter(|f| f.rule.contains("lse") || f.rule.contains("atomics") || f.rule.contains("llsc"))
        .map(|f| (f.rule.to_string(), f.severity, f.function))
        .collect();
    v.sort();
    v
}

#[test]
fn outline_atomics_helpers_are_recognised_stripped_or_not() {
    let outline = build("atomics-outline", &["-O2", "-moutline-atomics"], "atomics.c");
    let stripped = Path::new(env!("CARGO_TARGET_TMPDIR")).join("atomics-outline-stripped");
    assert!(Command::new("aarch64-linux-gnu-strip").arg("-o").arg(&stripped).arg(&outline).status().unwrap().success());
    for path in [&outline, &stripped] {
        let found = atomics_findings(path, "rpi4");
        // fetch_add, exchange and compare-exchange: one libgcc helper each, their LSE way dead here.
        assert_eq!(found.len(), 3, "{path:?}: {found:?}");
        assert!(found.iter().all(|(r, s, _)| r == "outline-atomics-dead-path" && *s == Severity::Info), "{found:?}");
        // On the A76 the helpers' LL/SC loops are their fallback, not a finding.
        assert_eq!(atomics_findings(path, "rpi5"), [], "{path:?}");
    }
    let named: Vec<String> = atomics_findings(&outline, "rpi4").into_iter().map(|(_, _, f)| f).collect();
    assert!(named.iter().all(|f| f.starts_with("__aarch64_")), "{named:?}");
}

#[test]
fn inline_lse_atomics_are_errors_on_the_cortex_a72() {
    let lse = build("atomics-lse", &["-O2", "-march=armv8.1-a"], "atomics.c");
    let found = atomics_findings(&lse, "rpi4");
    let functions: Vec<&str> = found.iter().map(|(_, _, f)| f.as_str()).collect();
    assert_eq!(functions, ["bump", "claim", "swap_in"], "{found:?}");
    assert!(found.iter().all(|(r, s, _)| r == "lse-on-non-lse-core" && *s == Severity::Error));
    assert_eq!(atomics_findings(&lse, "rpi5"), [], "the A76 has LSE");
}

#[test]
fn plt_and_veneer_calls_are_found_in_stripped_binaries_too() {
    let strip = |path: &Path| {
        let out = PathBuf::from(format!("{}-stripped", path.display()));
        assert!(Command::new("aarch64-linux-gnu-strip").arg("-o").arg(&out).arg(path).status().unwrap().success());
        Binary::read(&out).unwrap()
    };
    let in_loops = |binary: &Binary| -> Vec<&'static str> {
        analyze(binary, &Target::by_name("rpi4").unwrap())
            .into_iter()
            .filter(|f| f.rule.ends_with("-in-loop"))
            .map(|f| f.rule)
            .collect()
    };
    // The PLT is known by its section, which stripping keeps.
    assert_eq!(in_loops(&strip(&build("plt-s", &["-O2"], "plt.c"))), ["plt-call-in-loop"]);
    // The veneer has no name left: it is known by its adrp/add/br x16 code.
    let veneer = build("veneer-s", &["-nostdlib", "-static", "-Wl,--section-start=.fartext=0x10400000"], "veneer.S");
    assert_eq!(in_loops(&strip(&veneer)), ["veneer-call-in-loop"]);
}
