//! `armtune-gate`: the gate alone, for CI images that do not need armtune's profiler (the same
//! command line as `armtune gate`).

use std::process::ExitCode;

use clap::Parser;

/// Fail a CI job on function complexity and committed secrets.
#[derive(Parser)]
#[command(name = "armtune-gate", version)]
struct Cli {
    #[command(flatten)]
    args: armtune_gate::cli::Args,
}

fn main() -> ExitCode {
    match armtune_gate::cli::run(Cli::parse().args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("armtune-gate: {err}");
            ExitCode::from(2)
        }
    }
}
