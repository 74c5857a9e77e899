//! The eBPF object, built by `build.rs` from `../ebpf` and embedded in the binary, so `armtune` is
//! one file to copy to a board.

/// The eBPF ELF object, aligned as aya's loader requires.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/armtune-ebpf.o"));

/// Name prefix of every program in the object: what `bpftool prog` shows, and what a test looks for
/// to prove nothing stayed loaded.
pub const PROGRAM_PREFIX: &str = "armtune_";

/// Names of the armtune programs loaded in the kernel right now (by any process). Empty after every
/// armtune run has ended: programs live only as long as the descriptors of the run that loaded them.
pub fn loaded_programs() -> Vec<String> {
    aya::programs::loaded_programs()
        .filter_map(|p| p.ok())
        .filter_map(|p| p.name_as_str().map(str::to_string))
        .filter(|name| name.starts_with(PROGRAM_PREFIX))
        .collect()
}
