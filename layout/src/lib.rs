//! ARM64 code-layout analysis behind `armtune check`: reads an AArch64 ELF, classifies its
//! instructions from the raw 32-bit words, and reports layout problems for a target core (Cortex-A72
//! in the Raspberry Pi 4, Cortex-A76 in the Pi 5, Phytium FTC66x): misaligned functions and loop
//! heads, loops straddling cache lines, too many taken branches per fetch block, LL/SC atomics where
//! the core has LSE.
//!
//! Deliberately not here: disassembly for display (capstone, later), DWARF struct layout (gimli,
//! later), rewriting the binary (that is BOLT's job: this explains, it does not move code).
#![warn(missing_docs)]

pub mod checks;
pub mod display;
pub mod dwarf;
pub mod elf;
pub mod guard;
pub mod insn;
pub mod targets;

pub use checks::{analyze, Finding, Severity};
pub use elf::{Binary, Function};
pub use targets::Target;

/// What went wrong reading a binary, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not an ELF file, or a damaged one.
    #[error("{path}: not a readable ELF file ({detail})")]
    NotElf {
        /// The file.
        path: String,
        /// What the parser said.
        detail: String,
    },
    /// An ELF for another machine.
    #[error("{path}: not an AArch64 ELF: found {machine}; armtune check reads ARM64 binaries (build with aarch64-linux-gnu-gcc or --target aarch64-unknown-linux-gnu)")]
    WrongArch {
        /// The file.
        path: String,
        /// The machine it is for.
        machine: String,
    },
    /// An unknown target name.
    #[error("unknown target {0:?}: choose from rpi4, rpi5, ftc662, ftc663, ftc664, generic")]
    UnknownTarget(String),
}
