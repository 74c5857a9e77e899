//! The ARM64 effects `armtune check` reports, each as a bad and a fixed variant side by side.
//! Run on a board through `armtune bench run`; under qemu the numbers only show the code runs.

use std::{hint::black_box, sync::atomic::AtomicU64};

use armtune_bench_arm64::{data, sharing};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const INCREMENTS: u64 = 20_000;

fn false_sharing(c: &mut Criterion) {
    let mut g = c.benchmark_group("false_sharing");
    g.throughput(Throughput::Elements(2 * INCREMENTS));
    let adjacent = sharing::Adjacent::default();
    let p64 = sharing::Padded64::default();
    let p128 = sharing::Padded128::default();
    g.bench_function("same_line", |b| b.iter(|| sharing::hammer(&adjacent.a, &adjacent.b, INCREMENTS)));
    g.bench_function("padded_64", |b| b.iter(|| sharing::hammer(&p64.a.0, &p64.b.0, INCREMENTS)));
    g.bench_function("padded_128", |b| b.iter(|| sharing::hammer(&p128.a.0, &p128.b.0, INCREMENTS)));
    g.finish();
}

#[cfg(target_arch = "aarch64")]
fn atomics(c: &mut Criterion) {
    use armtune_bench_arm64::atomics::{add_llsc, add_lse, contended, has_lse};
    let mut g = c.benchmark_group("atomics");
    g.throughput(Throughput::Elements(INCREMENTS));
    let counter = AtomicU64::new(0);
    g.bench_function("llsc", |b| b.iter(|| add_llsc(&counter, INCREMENTS)));
    g.bench_function("llsc_contended", |b| b.iter(|| contended(&counter, INCREMENTS / 2, add_llsc)));
    if has_lse() {
        // SAFETY: the CPU has LSE (checked above).
        g.bench_function("lse", |b| b.iter(|| unsafe { add_lse(&counter, INCREMENTS) }));
        g.bench_function("lse_contended", |b| {
            b.iter(|| contended(&counter, INCREMENTS / 2, |c, n| unsafe { add_lse(c, n) }))
        });
    }
    g.finish();
}

#[cfg(not(target_arch = "aarch64"))]
fn atomics(c: &mut Criterion) {
    // Off AArch64 only the compiler's own atomics exist to time.
    let counter = AtomicU64::new(0);
    c.bench_function("atomics/compiler", |b| {
        b.iter(|| {
            for _ in 0..INCREMENTS {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    });
}

#[cfg(target_arch = "aarch64")]
fn code_layout(c: &mut Criterion) {
    use armtune_bench_arm64::code_layout::{dense_branches, loop_aligned, loop_straddle, sparse_branches};
    const ITERATIONS: u64 = 10_000;
    let mut g = c.benchmark_group("loop_alignment");
    g.throughput(Throughput::Elements(ITERATIONS));
    g.bench_function("aligned", |b| b.iter(|| loop_aligned(black_box(ITERATIONS))));
    g.bench_function("straddles_line", |b| b.iter(|| loop_straddle(black_box(ITERATIONS))));
    g.finish();
    let mut g = c.benchmark_group("branch_density");
    g.throughput(Throughput::Elements(ITERATIONS));
    g.bench_function("dense_taken", |b| b.iter(|| dense_branches(black_box(ITERATIONS))));
    g.bench_function("sparse", |b| b.iter(|| sparse_branches(black_box(ITERATIONS))));
    g.finish();
}

#[cfg(not(target_arch = "aarch64"))]
fn code_layout(_: &mut Criterion) {}

// Data is set up inside each benchmark's closure, which criterion calls only for selected
// benchmarks: a filtered run under qemu does not build the others' inputs.

const PREDICTED_BYTES: usize = 32 * 1024;

fn branch_predictability(c: &mut Criterion) {
    let mut g = c.benchmark_group("branch_predictability");
    g.throughput(Throughput::Bytes(PREDICTED_BYTES as u64));
    g.bench_function("random", |b| {
        let random = data::random_bytes(PREDICTED_BYTES);
        b.iter(|| data::sum_large(black_box(&random)))
    });
    g.bench_function("sorted", |b| {
        let mut sorted = data::random_bytes(PREDICTED_BYTES);
        sorted.sort_unstable();
        b.iter(|| data::sum_large(black_box(&sorted)))
    });
    g.finish();
}

/// 2 MiB of records: beyond a Pi's L1 and most of its L2.
const RECORDS: usize = 8192;

fn struct_layout(c: &mut Criterion) {
    let mut g = c.benchmark_group("struct_layout");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("hot_fields_one_line", |b| {
        let together = data::records(RECORDS, data::together);
        b.iter(|| data::sum_hot_together(black_box(&together)))
    });
    g.bench_function("hot_fields_two_lines", |b| {
        let spread = data::records(RECORDS, data::spread);
        b.iter(|| data::sum_hot_spread(black_box(&spread)))
    });
    g.finish();
}

fn strides(c: &mut Criterion) {
    const ACCESSES: usize = 1 << 16;
    let cached = vec![1u8; 16 * 1024];
    // Zeroed pages are mapped lazily: this costs nothing until a memory-bound benchmark runs.
    let memory = vec![0u8; 64 << 20];
    let mut g = c.benchmark_group("strides");
    g.throughput(Throughput::Elements(ACCESSES as u64));
    for stride in [8usize, 16, 32, 64, 128, 256] {
        g.bench_with_input(BenchmarkId::new("cache_resident", stride), &stride, |b, &s| {
            b.iter(|| data::strided(black_box(&cached), s, ACCESSES))
        });
        g.bench_with_input(BenchmarkId::new("memory_bound", stride), &stride, |b, &s| {
            b.iter(|| data::strided(black_box(&memory), s, ACCESSES))
        });
    }
    g.finish();
}

criterion_group!(effects, false_sharing, atomics, code_layout, branch_predictability, struct_layout, strides);
criterion_main!(effects);
