//! `bench-arm64`: criterion benchmarks of the ARM64 effects `armtune check` reports (each a "bad"
//! and a "fixed" variant) and of armtune's own hot paths, plus what `armtune bench` does with them:
//! board profiles, the cross build, running on a board over SSH or under qemu, and comparing runs.
//!
//! The kernels (`atomics`, `code_layout`, `data`, `sharing`) are what the benchmarks time;
//! code-placement and atomics kernels are hand-written AArch64 assembly, since the compiler would
//! otherwise choose the layout and the instructions. Off AArch64 those are left out. This crate
//! does not judge results: `compare` reports changes and noise, people decide.

#![warn(missing_docs)]

pub mod atomics;
pub mod boards;
pub mod code_layout;
pub mod compare;
pub mod cross_build;
pub mod data;
pub mod features;
pub mod inventory;
pub mod matrix;
pub mod results;
pub mod run;
pub mod sharing;

use std::path::{Path, PathBuf};

/// Why `armtune bench` could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No way to build or run for aarch64 here.
    #[error("{0}")]
    Toolchain(String),
    /// The cross build failed.
    #[error("{0}")]
    Build(String),
    /// The board cannot be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The board refused the login.
    #[error("{0}")]
    Auth(String),
    /// A command on the board failed.
    #[error("{0}")]
    Ssh(String),
    /// The board lacks CPU features the build needs.
    #[error("{0}")]
    Refused(String),
    /// A stored run is unreadable.
    #[error("{0}")]
    Results(String),
    /// Wrong arguments.
    #[error("{0}")]
    Usage(String),
}

impl BenchError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> BenchError {
        BenchError::Io { path: path.to_path_buf(), source }
    }
}
