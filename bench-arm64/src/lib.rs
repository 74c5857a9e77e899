//! Benchmarks of ARM64 effects that `armtune check` reports, built for ARM boards by `armtune bench`.
//!
//! Not written yet: this crate holds the place in the workspace. It exports nothing until the bench
//! issue fills it.
