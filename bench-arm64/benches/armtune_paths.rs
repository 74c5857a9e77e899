//! armtune's own hot paths, so a regression shows on the boards armtune runs on: folding stacks
//! into flame-graph lines, looking addresses up in process mappings and in a binary's symbols,
//! classifying AArch64 instruction words, and scanning text for secrets.

use std::hint::black_box;

use armtune_gate::secrets::RuleSet;
use armtune_layout::{display::symbol_offset, insn::classify, Binary};
use armtune_probes::{
    procmaps::ProcessMaps,
    profile::{Frame, Meta, Profile, Unit},
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

// Set-up runs inside each benchmark's closure, which criterion calls only when the benchmark is
// selected: a filtered run under qemu does not pay for reading binaries or compiling rules.

fn fold_stacks(c: &mut Criterion) {
    let mut g = c.benchmark_group("armtune");
    g.throughput(Throughput::Elements(2000));
    g.bench_function("fold_2000_stacks", |b| {
        let mut profile = Profile::new(Unit::samples(), Meta::default());
        for i in 0..2000u64 {
            let mut stack = vec![Frame::process("svc")];
            stack.extend((0..(8 + i % 24)).map(|d| Frame::user(format!("module::function_{}", (i * 7 + d) % 300))));
            stack.push(Frame::kernel("do_syscall_64"));
            profile.add(stack, i % 17 + 1);
        }
        b.iter(|| black_box(&profile).folded_lines())
    });
    g.finish();
}

fn lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("armtune");
    g.bench_function("mapping_lookup", |b| {
        // Mappings of this very process: executable, libraries, heap, stack, vdso.
        let text = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
        let maps = ProcessMaps::parse(&text);
        let probe_addr = fold_stacks as *const () as usize as u64;
        b.iter(|| black_box(&maps).find(black_box(probe_addr)).is_some())
    });
    g.throughput(Throughput::Elements(1000));
    g.bench_function("symbol_lookup_1000", |b| {
        let binary = Binary::read(&std::env::current_exe().unwrap()).expect("read own executable");
        let addrs: Vec<u64> = binary.functions.iter().step_by(7).map(|f| f.address + f.size / 2).take(1000).collect();
        b.iter(|| addrs.iter().filter_map(|&a| symbol_offset(&binary, a)).count())
    });
    g.finish();
}

fn classify_words(c: &mut Criterion) {
    let mut g = c.benchmark_group("armtune");
    g.throughput(Throughput::Elements(65_536));
    g.bench_function("classify_64k_words", |b| {
        let words: Vec<u32> = (0..65_536u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        b.iter(|| black_box(&words).iter().filter(|&&w| classify(w).is_branch()).count())
    });
    g.finish();
}

fn secret_scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("armtune");
    g.throughput(Throughput::Bytes(20_000 * 60));
    g.bench_function("secret_scan_1MB", |b| {
        let rules = RuleSet::new(&[], &[]).expect("rules");
        let text: String =
            (0..20_000).map(|i| format!("let value_{i} = compute(config.timeout_{i}, \"label-{i}\");\n")).collect();
        b.iter(|| rules.scan("main.rs", black_box(text.as_bytes())).len())
    });
    g.finish();
}

criterion_group!(paths, fold_stacks, lookups, classify_words, secret_scan);
criterion_main!(paths);
