//! One entry point per fuzz target: each takes arbitrary bytes to a reader of input armtune does
//! not control and on through what armtune does next with what it read, and must return (an
//! error is fine; a panic, a hang or an abort is the bug). `fuzz/` wraps each in a libFuzzer
//! target; `tests/regressions.rs` replays the inputs kept under `regressions/` and `seeds/`.
//!
//! The readers are called as the commands call them, through the same public functions, so a
//! fix in a reader is a fix here.

use std::path::Path;

use armtune::{flame, hotness};
use armtune_bench_arm64::{compare, results};
use armtune_gate::{
    config::{Config, Resolved},
    scan::{FileResult, FileScanner},
    secrets::RuleSet,
};
use armtune_probes::{
    debug_files::DebugLinks,
    mmap_records,
    perf_map::PerfMap,
    pprof,
    privileges::Capabilities,
    procmaps::{MapsStore, ProcessMaps},
    profile::Profile,
    sdt, stacks,
    tracefs::Format,
    unwind::{ElfUnwindInfo, StackUnwinder},
};

/// A fuzz target's entry point: arbitrary bytes in, nothing out (only a panic or hang matters).
pub type Entry = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/NAME.rs` file and the `regressions/NAME` and
/// `seeds/NAME` directories) and its entry point.
pub const TARGETS: &[(&str, Entry)] = &[
    ("layout_elf", layout_elf),
    ("elf_notes", elf_notes),
    ("proc_text", proc_text),
    ("mmap_records", mmap_records),
    ("stack_records", stack_records),
    ("profile_input", profile_input),
    ("check_profile", check_profile),
    ("gate_config", gate_config),
    ("gate_file", gate_file),
    ("bench_results", bench_results),
];

/// The ELF reader, the DWARF struct reader and every check of `armtune check`.
pub fn layout_elf(data: &[u8]) {
    if let Ok(binary) = armtune_layout::Binary::parse(data, "fuzz-input") {
        for target in ["rpi4", "rpi5", "ftc663"] {
            if let Ok(target) = armtune_layout::Target::by_name(target) {
                let _ = armtune_layout::analyze(&binary, &target);
            }
        }
    }
}

/// What the profiler reads from the ELF files a profiled process maps: SDT notes, build-id and
/// debug link, and the unwinding sections (.eh_frame, .debug_frame) with lookups into them.
pub fn elf_notes(data: &[u8]) {
    if let Ok(probes) = sdt::parse(data) {
        let _ = sdt::select(&probes, "*", "*");
    }
    let _ = DebugLinks::parse(data);
    if let Some(info) = ElfUnwindInfo::from_bytes(data.to_vec()) {
        let _ = (info.has_cfi(), info.eh_frame(), info.debug_frame(), info.architecture());
        if let Some(text) = info.text_range() {
            for svma in [text.start, text.start.wrapping_add(text.end.wrapping_sub(text.start) / 2), text.end] {
                let _ = info.function_start(svma);
                let _ = info.code(svma, 64);
            }
        }
    }
}

/// Text read from /proc and tracefs: `/proc/PID/maps`, perf maps (`/tmp/perf-PID.map`, written by
/// JITs), `/proc/PID/status` capabilities, tracepoint format files.
pub fn proc_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let maps = ProcessMaps::parse(&text);
    for m in maps.mappings().iter().take(64) {
        let _ = maps.find(m.start);
        let _ = m.file_offset_of(m.start.wrapping_add(1));
    }
    let _ = maps.fingerprint();
    let perf_map = PerfMap::parse(&text);
    let _ = perf_map.lookup(u64::from(data.first().copied().unwrap_or(0)) << 12);
    let _ = Capabilities::parse_status(&text).missing_for_profiling();
    if let Some(format) = Format::parse(&text) {
        let _ = format.offset_of("sched", "sched_switch");
    }
}

/// The kernel's mmap2 / exec / fork / exit records, one after another as in the perf buffer (each
/// header's size says where the next starts), applied to a map store in order.
pub fn mmap_records(data: &[u8]) {
    let mut records = Vec::new();
    let mut rest = data;
    while rest.len() >= 8 {
        let size = usize::from(u16::from_ne_bytes([rest[6], rest[7]])).clamp(8, rest.len());
        records.extend(mmap_records::parse(&rest[..size]));
        rest = &rest[size..];
    }
    let mut store = MapsStore::new();
    store.apply(records);
    for pid in store.pids().collect::<Vec<_>>() {
        let _ = store.current_image(pid);
        let _ = store.image_for(pid, 0x1000);
    }
}

/// A user-stack record of the eBPF side's ring buffer (header, registers, copied stack), unwound
/// against this process's own mappings, as `--unwind dwarf` unwinds a record of a profiled
/// process. Twice: the input as a record, and a real record of this thread (its registers and
/// stack, copied once) with the input XORed over its first bytes (the header and the leaf's
/// frames), so the fuzzer explores damaged variants of a stack that unwinds.
pub fn stack_records(data: &[u8]) {
    use std::sync::{Mutex, OnceLock};
    struct State {
        maps: MapsStore,
        unwinder: StackUnwinder,
        real: Vec<u8>,
    }
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    let pid = std::process::id();
    let state = STATE.get_or_init(|| {
        let mut maps = MapsStore::new();
        maps.capture(pid);
        Mutex::new(State { maps, unwinder: StackUnwinder::new(), real: real_record(pid) })
    });
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let State { maps, unwinder, real } = &mut *state;
    let mut damaged = real.clone();
    for (i, &b) in data.iter().enumerate() {
        let at = i % damaged.len();
        damaged[at] ^= b;
    }
    for record in [data, &damaged] {
        let Some((mut header, stack)) = stacks::split_record(record) else { continue };
        // Any other pid ends the walk at once, in no mapping: this process's code and CFI are real.
        header.tgid = pid;
        let (frames, truncated) = unwinder.unwind(maps, pid, &header.regs, stack, header.flags);
        let mut unwound = stacks::Unwound::new(header.tid % 2 == 0);
        unwound.add(&header, frames, truncated);
    }
}

/// A record as the kernel side writes one for an event of this thread.
fn real_record(pid: u32) -> Vec<u8> {
    let (regs, stack) = armtune_probes::unwind::sample_this_thread();
    let header = armtune_common::StackSample {
        tgid: pid,
        tid: pid,
        family: armtune_common::events::CPU,
        kernel: -1,
        weight: 1,
        tag: 0,
        regs,
        len: stack.len() as u32,
        flags: 0,
        comm: [0; armtune_common::TASK_COMM_LEN],
        user_fp: -1,
        pad: 0,
        time_ns: 0,
    };
    // SAFETY: StackSample is repr(C) plain integers laid out without implicit padding (its own
    // `pad` field fills the one gap), so all of its bytes are initialised.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&header as *const armtune_common::StackSample).cast::<u8>(),
            std::mem::size_of_val(&header),
        )
    };
    [bytes, &stack].concat()
}

/// A profile handed to `armtune flame`: folded text, armtune JSON or pprof (by content), then
/// written back as folded text, JSON and pprof.
pub fn profile_input(data: &[u8]) {
    let path = Path::new("fuzz-input");
    let picks = [
        flame::Pick::default(),
        flame::Pick { graph: Some("cpu"), sample_type: None },
        flame::Pick { graph: None, sample_type: Some("cpu") },
    ];
    let pick = picks[data.first().map_or(0, |&b| b as usize % picks.len())];
    if let Ok(profile) = flame::profile_from_bytes(path, data.to_vec(), pick) {
        write_back(&profile);
    }
}

fn write_back(profile: &Profile) {
    let mut folded = Vec::new();
    let _ = profile.write_folded(&mut folded);
    let _ = serde_json::to_vec(profile);
    let (columns, period) = pprof::columns_of(profile);
    let encoded = pprof::build(&columns, period, &profile.meta);
    let _ = pprof::write(&encoded, std::io::sink());
}

/// A profile handed to `armtune check --profile`: also `perf script` text.
pub fn check_profile(data: &[u8]) {
    if let Ok(shares) = hotness::shares_from_bytes(Path::new("fuzz-input"), data.to_vec()) {
        let _ = hotness::share(&shares, "main");
        let _ = hotness::share(&shares, "_ZN4core3fmt5write17h0123456789abcdefE");
    }
}

/// `armtune.toml`'s `[gate]` table: parsed, its globs compiled and matched, its secret rules'
/// allow-regexes compiled.
pub fn gate_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::parse(text) else { return };
    let (disable, allow) = (config.secrets.disable.clone(), config.secrets.allow_regexes.clone());
    if let Ok(resolved) = Resolved::new(config) {
        for path in ["src/main.rs", "vendor/x/y.go", ".env", "a/b/c/d.py"] {
            let _ = resolved.for_path(Path::new(path));
        }
    }
    // The built-in set alone is what gate_file compiles once; compiling it costs tens of ms.
    if !disable.is_empty() || !allow.is_empty() {
        let _ = RuleSet::new(&disable, &allow);
    }
}

/// A file of the repository the gate walks, named by the first byte's pick of extension: the
/// complexity pass (tree-sitter) where the extension names a language, and the secret pass.
pub fn gate_file(data: &[u8]) {
    use std::sync::OnceLock;
    const NAMES: &[&str] = &[
        "f.go", "f.rs", "f.c", "f.cpp", "f.py", "f.js", "f.ts", "f.tsx", "f.java", "f.rb", ".env", "id_rsa", "f.json",
        "f.yaml", "f.bin", "f.h", "f.cs", "f.php", "f.lua", "f.sh", "f.kt", "f.swift", "f.scala",
    ];
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    static CONFIG: OnceLock<Resolved> = OnceLock::new();
    let Some((&pick, body)) = data.split_first() else { return };
    let rules = RULES.get_or_init(|| RuleSet::new(&[], &[]).expect("the built-in rules compile"));
    let config = CONFIG.get_or_init(|| Resolved::new(Config::default()).expect("the default config compiles"));
    let scanner = FileScanner { config, rules: Some(rules), complexity: true, max_file_size: u64::MAX };
    let rel = Path::new(NAMES[pick as usize % NAMES.len()]);
    let mut result = FileResult::default();
    scanner.scan_bytes(rel, body.to_vec(), config.for_path(rel), &mut result);
}

/// What `armtune bench` reads: stored runs (two, split at the first NUL, compared and rendered),
/// criterion's estimate files and the remote collection listing, /proc/cpuinfo.
pub fn bench_results(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (first, second) = text.split_once('\0').unwrap_or((&text, ""));
    let path = Path::new("fuzz-input");
    if let (Ok(a), Ok(b)) = (results::RunResults::parse(first, path), results::RunResults::parse(second, path)) {
        let c = compare::compare(&a, &b);
        let _ = (compare::render_text(&c), compare::render_markdown(&c));
    }
    let _ = results::estimate_from(first, second);
    let _ = results::collect_listing(&text);
    let _ = armtune_bench_arm64::features::from_cpuinfo(&text);
}
