//! `armtune-bench-probe`: prints the CPU features the benchmarks may need, one line, as
//! `/proc/cpuinfo` names them; `armtune bench run` runs it on the board (or under qemu) before the
//! benchmarks, to refuse a build the board cannot run.

fn main() {
    println!("arch={} features={}", std::env::consts::ARCH, armtune_bench_arm64::features::detected().join(","));
}
