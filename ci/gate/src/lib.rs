//! The CI gate behind `armtune gate`: per-function complexity and committed secrets.
//!
//! Not written yet: this crate holds the place in the workspace so the gate lands where the design
//! says. It exports nothing until the `gate` issue fills it.
