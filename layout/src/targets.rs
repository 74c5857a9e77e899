//! What each target core fetches, predicts and prefers. Values and sources:
//!
//! - Cortex-A72 (Raspberry Pi 4): 64-byte cache lines; instruction fetch in aligned 16-byte
//!   quadwords, and the A72 software optimization guide advises at most two taken branches per
//!   aligned 16-byte block. GCC's `cortexa72_tunings` (gcc/config/aarch64/aarch64.cc) align
//!   functions to 16 and loops / jumps to 8 ("16:12", "8"); no LSE (ARMv8.0).
//! - Cortex-A76 (Raspberry Pi 5): 64-byte lines; a 32-byte prediction window with up to six
//!   branches per aligned 32-byte region (A76 optimization guide); GCC's `cortexa76_tunings` use
//!   the neoverse-n1 values: functions aligned 32 ("32:16"), loops 32; LSE (ARMv8.2).
//! - Phytium FTC662 / FTC663 / FTC664: ARMv8.0-class cores that Phytium documents as A72-like:
//!   the A72 rules, no LSE.
//! - generic: 64-byte lines, 16-byte fetch, functions and loops aligned 16; LSE not assumed.
//!
//! LLVM's AArch64Subtarget.cpp sets the same preferred function / loop alignments (A72: 16/8,
//! A76: 16/32 in recent releases), which is what clang emits with `-mcpu=`.

use serde::Serialize;

use crate::Error;

/// A target core's layout-relevant parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Name used on the command line.
    pub name: &'static str,
    /// What the core is.
    pub core: &'static str,
    /// L1 cache line, bytes.
    pub cache_line: u64,
    /// Aligned block the front end fetches / predicts at once, bytes.
    pub fetch_block: u64,
    /// Taken branches the predictor handles per fetch block.
    pub max_taken_branches: u32,
    /// Preferred function entry alignment, bytes.
    pub function_align: u64,
    /// Preferred loop head alignment, bytes.
    pub loop_align: u64,
    /// Whether the core has the ARMv8.1 LSE atomics (CAS, LDADD, SWP, ...).
    pub lse: bool,
}

const A72: Target = Target {
    name: "rpi4",
    core: "Cortex-A72 (Raspberry Pi 4)",
    cache_line: 64,
    fetch_block: 16,
    max_taken_branches: 2,
    function_align: 16,
    loop_align: 8,
    lse: false,
};

/// Every known target.
pub const TARGETS: &[Target] = &[
    A72,
    Target {
        name: "rpi5",
        core: "Cortex-A76 (Raspberry Pi 5)",
        cache_line: 64,
        fetch_block: 32,
        max_taken_branches: 6,
        function_align: 32,
        loop_align: 32,
        lse: true,
    },
    Target { name: "ftc662", core: "Phytium FTC662 (A72 rules)", ..A72 },
    Target { name: "ftc663", core: "Phytium FTC663 (A72 rules)", ..A72 },
    Target { name: "ftc664", core: "Phytium FTC664 (A72 rules)", ..A72 },
    Target { name: "generic", core: "generic ARMv8.0", function_align: 16, loop_align: 16, ..A72 },
];

impl Target {
    /// The target called `name`.
    pub fn by_name(name: &str) -> Result<Target, Error> {
        TARGETS.iter().find(|t| t.name == name).cloned().ok_or_else(|| Error::UnknownTarget(name.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_name() {
        assert_eq!(Target::by_name("rpi4").unwrap().max_taken_branches, 2);
        assert!(Target::by_name("rpi5").unwrap().lse);
        assert!(!Target::by_name("ftc663").unwrap().lse);
        assert!(Target::by_name("m1").unwrap_err().to_string().contains("rpi4"));
    }
}
