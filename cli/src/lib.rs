//! `armtune`: the command-line front of the armtune libraries. Thin by design: each subcommand parses
//! its options, calls a library, and prints; [`run`] ends every subcommand with an [`Outcome`] or
//! an error, and [`exit_code_of`] is the one place that turns errors into exit codes (0 ok, 1
//! findings, 2 bad input or I/O error).
//!
//! A library as well as the binary so that the fuzz targets (`fuzzing/`) and tests reach the
//! readers of files armtune does not control (profiles handed to `flame` and `check --profile`).

pub mod agent;
pub mod bench_cmd;
pub mod check_cmd;
pub mod doctor_cmd;
pub mod flame;
pub mod hotness;
pub mod output;
pub mod profile_cmd;
pub mod progress;
pub mod report;
pub mod sarif;
pub mod scope;
pub mod shell;
pub mod summary;

use clap::{CommandFactory, Parser, Subcommand};

/// ARM64 performance-tuning toolkit.
#[derive(Parser, Debug)]
#[command(name = "armtune", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Profile a command, some processes or the whole host with eBPF: CPU, off-CPU, run-queue,
    /// wakeups, allocations and leaks, GC, SDT probes, process lifetimes; flame graphs, histograms,
    /// JSON.
    Profile(profile_cmd::Args),
    /// Profile the host (or some processes) continuously in windows, pushed to Grafana Pyroscope
    /// and/or written to a rotated directory as pprof.
    Agent(agent::Args),
    /// Render a folded-stack file as a flame graph, or two of them as a differential one.
    Flame(flame::Args),
    /// One self-contained HTML page from profile, check and bench reports: flame graphs,
    /// histograms, findings, benchmark charts.
    Report(report::Args),
    /// Check whether profiling can work here, and why not.
    Doctor(doctor_cmd::Args),
    /// Report code-layout problems of an ARM64 binary for a target core.
    Check(check_cmd::Args),
    /// Fail a CI job on function complexity and committed secrets.
    Gate(armtune_gate::cli::Args),
    /// Cross-compile the ARM64 benchmarks for a board, run them there or under qemu, compare runs.
    Bench(bench_cmd::Args),
    /// Print the completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(shell::CompletionsArgs),
    /// Print the manual page, or write every page (one per subcommand) into a directory.
    Man(shell::ManArgs),
}

/// How a subcommand ended: the code to exit with.
pub struct Outcome(pub u8);

/// Runs the subcommand `cli` parsed.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Profile(args) => profile_cmd::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Flame(args) => flame::run(args),
        Command::Report(args) => report::run(args),
        Command::Doctor(args) => doctor_cmd::run(args),
        Command::Check(args) => check_cmd::run(args),
        Command::Gate(args) => armtune_gate::cli::run(args).map(Outcome).map_err(Into::into),
        Command::Bench(args) => {
            // Ctrl-C stops the run after the benchmark in progress; the partial results are kept.
            let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, std::sync::Arc::clone(&interrupted));
            bench_cmd::run(args, interrupted)
        }
        Command::Completions(args) => shell::completions(args, Cli::command()),
        Command::Man(args) => shell::man(args, Cli::command()),
    }
}

/// Every subcommand keeps one contract: 0 done and clean, 1 findings (returned as an [`Outcome`],
/// never as an error: `check --fail-on`, `gate`, `doctor`), 2 when the work could not be done (bad
/// input or options, I/O, missing privileges; clap's usage errors are 2 as well), and 130 for a
/// start-up interrupted with Ctrl-C, as a shell reports it.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<armtune_probes::Error>() {
        Some(armtune_probes::Error::Interrupted) => 130,
        _ => 2,
    }
}
