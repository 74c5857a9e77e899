//! ARM64 code-layout analysis behind `armtune check`: cache-line alignment and branch layout of
//! functions in AArch64 ELF files, per target core (Cortex-A72, Cortex-A76, Phytium FTC66x).
//!
//! Not written yet: this crate holds the place in the workspace so the layout work lands where the
//! design says. It exports nothing until the `check` issue fills it.
