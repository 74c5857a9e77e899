//! Instruction classification throughput: armtune's mask-and-compare classifier against capstone
//! (detail off) on the code of a real arm64 binary. The classifier is hand-written because it is
//! the inner loop of `armtune check`; this measures that the choice pays.
//!
//! Input: $ARMTUNE_BENCH_ELF, or the Debian arm64 busybox the tests cache
//! (`bash ci/debian-arm64.sh busybox-static` fetches it).

use std::path::PathBuf;

use armtune_layout::{insn::classify, Binary};
use capstone::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn input() -> Option<PathBuf> {
    std::env::var_os("ARMTUNE_BENCH_ELF").map(PathBuf::from).or_else(|| {
        let cached =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debian-arm64/busybox-static/bin/busybox");
        cached.exists().then_some(cached)
    })
}

fn bench(c: &mut Criterion) {
    let Some(path) = input() else {
        eprintln!("no input: set ARMTUNE_BENCH_ELF or run `bash ci/debian-arm64.sh busybox-static` first");
        return;
    };
    let binary = Binary::read(&path).expect("an AArch64 ELF");
    let text = binary.code.iter().max_by_key(|c| c.bytes.len()).unwrap();
    let words: Vec<u32> = text.bytes.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(words.len() as u64));
    group.sample_size(10);
    group.bench_function("armtune", |b| {
        b.iter(|| words.iter().filter(|&&w| classify(w).is_branch()).count());
    });
    let cs = Capstone::new().arm64().mode(arch::arm64::ArchMode::Arm).build().unwrap();
    group.bench_function("capstone", |b| {
        b.iter(|| {
            let mut branches = 0;
            for chunk in text.bytes.chunks_exact(4) {
                if let Ok(insns) = cs.disasm_count(chunk, 0, 1) {
                    branches += insns.iter().filter(|i| i.mnemonic().is_some_and(|m| m.starts_with('b'))).count();
                }
            }
            branches
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
