//! Helpers the gate's integration tests share.
#![allow(dead_code)]

use std::path::Path;

use armtune_gate::{
    config::{Config, Resolved},
    scan::{IgnoredFiles, WalkOptions},
    Options,
};

/// A work-tree scan of `root` for both checks, as the CLI runs it by default, with `config`.
pub fn options(root: &Path, config: Config) -> Options {
    Options {
        paths: vec![root.to_path_buf()],
        root: root.to_path_buf(),
        complexity: true,
        secrets: true,
        config: Resolved::new(config).unwrap(),
        walk: WalkOptions {
            respect_ignore: true,
            ignored_files: IgnoredFiles::Warn,
            follow_symlinks: false,
            threads: 2,
        },
        max_file_size: 64 << 20,
        history: None,
        new_from_rev: None,
        baseline: None,
        ignore_file: None,
    }
}

/// A token of GitHub's classic format (`ghp_` and 36 letters and digits), made up from `seed`,
/// so no secret is written in the repository.
pub fn github_token(seed: u64) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed;
    let body: String = (0..36)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            alphabet[(x >> 33) as usize % alphabet.len()] as char
        })
        .collect();
    format!("ghp_{body}")
}
