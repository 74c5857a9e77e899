//! The CI gate behind `armtune gate`: per-function complexity (tree-sitter, gocyclo-compatible for
//! Go, cognitive complexity as SonarSource defines it) and committed secrets (keyword-prefiltered
//! rules), reported in the formats CI systems display.

pub mod complexity;
pub mod lang;
