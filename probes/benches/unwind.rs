//! User-space cost of `--unwind dwarf` per sample: walking one copied stack through the CFI of
//! the files mapped (the unwinder warm, as for every sample after a process's first), and building
//! a process image's unwinder (once per image and each time it maps a library); and `--unwind
//! auto`'s judgement of one file (once per file a profile meets): Debian's libc.
//!
//! The sample is this benchmark's own thread, 24 calls deep in a function built without frame
//! pointers: registers and stack bytes as the kernel side sends them.
//!
//! Run: cargo bench -p armtune-probes --bench unwind

use armtune_common::UserRegs;
use armtune_probes::{
    procmaps::MapsStore,
    unwind::{sample_this_thread, StackUnwinder},
};
use criterion::{criterion_group, criterion_main, Criterion};

#[inline(never)]
fn deep(depth: u32) -> (UserRegs, Vec<u8>) {
    if depth == 0 {
        return sample_this_thread();
    }
    let r = deep(std::hint::black_box(depth - 1));
    std::hint::black_box(&r);
    r
}

fn unwind(c: &mut Criterion) {
    let (regs, stack) = deep(24);
    let mut maps = MapsStore::new();
    assert!(maps.capture(std::process::id()));
    let pid = std::process::id();
    let mut unwinder = StackUnwinder::new();
    let (frames, truncated) = unwinder.unwind(&maps, pid, &regs, &stack, 0);
    assert!(frames.len() > 24 && !truncated, "{} frames, truncated {truncated}", frames.len());
    eprintln!("sample: {} frames, {} bytes of stack from sp to the thread's stack top", frames.len(), stack.len());

    let mut group = c.benchmark_group("unwind");
    group.bench_function(format!("one sample, {} frames, warm", frames.len()), |b| {
        b.iter(|| unwinder.unwind(&maps, pid, &regs, &stack, 0))
    });
    group.bench_function("first sample of a process image (modules built)", |b| {
        b.iter(|| StackUnwinder::new().unwind(&maps, pid, &regs, &stack, 0))
    });
    group.finish();
}

fn judge(c: &mut Criterion) {
    // The libc this benchmark runs on, as Debian ships it.
    let maps = armtune_probes::procmaps::ProcessMaps::read(std::process::id()).expect("own maps");
    let libc = maps
        .mappings()
        .iter()
        .find_map(|m| match &m.backing {
            armtune_probes::procmaps::Backing::File(p) if p.to_string_lossy().contains("libc.so") => Some(p.clone()),
            _ => None,
        })
        .expect("libc mapped");
    let info = armtune_probes::unwind::ElfUnwindInfo::open(&libc).expect("libc readable");
    let coverage = armtune_probes::frame_pointers::coverage(&info);
    eprintln!("{}: {coverage:?}", libc.display());
    c.bench_function("auto: judge libc's frame pointers (once per file)", |b| {
        b.iter(|| armtune_probes::frame_pointers::keeps_frame_pointers(&info))
    });
    c.bench_function("auto: count all of libc's functions", |b| {
        b.iter(|| armtune_probes::frame_pointers::coverage(&info))
    });
}

criterion_group!(benches, unwind, judge);
criterion_main!(benches);
