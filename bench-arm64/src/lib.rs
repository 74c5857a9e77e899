//! The kernels `bench-arm64`'s criterion benchmarks time: each isolates one ARM64 effect that
//! `armtune check` reports, in a "bad" and a "fixed" variant. Code-placement and atomics kernels are
//! hand-written AArch64 assembly (the compiler would otherwise choose the layout and the atomic
//! instructions); on other architectures those benchmarks are left out and the rest run as Rust.

pub mod atomics;
pub mod code_layout;
pub mod data;
pub mod features;
pub mod sharing;
