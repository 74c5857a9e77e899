//! `armtune doctor`: prints the probe library's checks as a table.

use anyhow::Result;
use armtune_probes::doctor::{self, Status};

use crate::Outcome;

/// Arguments of `armtune doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints the table; exits 0 only when `profile` can work.
pub fn run(_args: Args) -> Result<Outcome> {
    let checks = doctor::run();
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &checks {
        let status = match c.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Info => "info",
        };
        println!("{:<width$}  {:<4}  {}", c.name, status, c.detail);
    }
    if doctor::profile_ready(&checks) {
        println!("\n`armtune profile` can work here.");
        Ok(Outcome(0))
    } else {
        println!("\n`armtune profile` cannot work here until the FAIL lines are fixed.");
        Ok(Outcome(1))
    }
}
