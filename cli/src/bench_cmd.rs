//! `armtune bench`: cross-build `bench-arm64` for a board, run it there (SSH) or under qemu, and
//! compare stored runs.

use std::{
    path::{Path, PathBuf},
    sync::{atomic::AtomicBool, Arc},
};

use anyhow::{Context, Result};
use armtune_bench_arm64::{
    boards::{Board, BOARDS},
    compare::{compare, human, render_markdown, render_text},
    cross_build::{self, Profile},
    results::RunResults,
    run::{self, Location, RunOptions, Ssh},
    BenchError,
};
use clap::{Subcommand, ValueEnum};

use crate::Outcome;

/// Arguments of `armtune bench`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Workflow for a Raspberry Pi 4:\n  \
    armtune bench build --board rpi4\n  \
    armtune bench run --board rpi4 --ssh pi@raspberrypi.local\n  \
    armtune bench compare bench-results/rpi4/<rev-a>/run-*.json bench-results/rpi4/<rev-b>/run-*.json\n\n\
    Boards: rpi4 (Cortex-A72), rpi5 (Cortex-A76), phytium (FTC66x), generic.")]
pub struct Args {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Cross-compile the benchmarks for a board.
    Build(BuildArgs),
    /// Run a board's build over SSH, or here under qemu (a functional check).
    Run(RunArgs),
    /// Compare two stored runs.
    Compare(CompareArgs),
    /// List the board profiles.
    Boards,
}

#[derive(clap::Args, Debug)]
struct BuildArgs {
    /// Board profile: rpi4, rpi5, phytium, generic.
    #[arg(long)]
    board: String,
    /// Build profile: release for timings, dev for a quick functional build.
    #[arg(long, value_enum, default_value_t = ProfileArg::Release)]
    profile: ProfileArg,
    /// Where the binaries go (default: target/armtune-bench/BOARD in the source tree).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ProfileArg {
    Release,
    Dev,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Board profile of the build to run.
    #[arg(long)]
    board: String,
    /// Run here under qemu-user, emulating the board's CPU (timings are not meaningful).
    #[arg(long, conflicts_with = "ssh", required_unless_present = "ssh")]
    qemu: bool,
    /// Run on this board: user@host.
    #[arg(long, value_name = "USER@HOST")]
    ssh: Option<String>,
    /// SSH port.
    #[arg(long, requires = "ssh")]
    port: Option<u16>,
    /// SSH private key.
    #[arg(long, value_name = "FILE", requires = "ssh")]
    identity: Option<PathBuf>,
    /// More ssh/scp options, as `-o` takes them (repeatable).
    #[arg(long, value_name = "OPTION", requires = "ssh")]
    ssh_option: Vec<String>,
    /// Run the binaries on the board under this command (`taskset -c 3`).
    #[arg(long, value_name = "COMMAND", requires = "ssh")]
    remote_runner: Option<String>,
    /// Only benchmarks whose id matches this regex (e.g. atomics, false_sharing/padded).
    #[arg(long)]
    filter: Option<String>,
    /// Short measurements (0.1 s warm-up, 0.2 s, 10 samples): a functional check. The default
    /// under --qemu.
    #[arg(long)]
    quick: bool,
    /// Criterion measurement time per benchmark, seconds.
    #[arg(long, value_name = "SECONDS")]
    measurement_time: Option<f64>,
    /// Where runs are stored (default: bench-results in the source tree).
    #[arg(long, value_name = "DIR")]
    results_dir: Option<PathBuf>,
    /// The build to run (default: target/armtune-bench/BOARD in the source tree).
    #[arg(long, value_name = "DIR")]
    build_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct CompareArgs {
    /// The earlier run (a JSON file `bench run` stored).
    run_a: PathBuf,
    /// The later run.
    run_b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    format: CompareFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CompareFormat {
    Text,
    Json,
    Markdown,
}

/// The armtune source tree the benchmarks are built from: the current directory or a parent.
fn source_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    cwd.ancestors().find(|d| d.join("bench-arm64/Cargo.toml").is_file()).map(Path::to_path_buf).ok_or_else(|| {
        BenchError::Usage(
            "run `armtune bench` inside an armtune source checkout: the benchmarks are built from its bench-arm64/"
                .into(),
        )
        .into()
    })
}

/// Runs `armtune bench`.
pub fn run(args: Args, interrupted: Arc<AtomicBool>) -> Result<Outcome> {
    match args.command {
        BenchCommand::Boards => {
            for b in BOARDS {
                println!("{:8} {} (-C target-cpu={})", b.name, b.description, b.target_cpu);
            }
            Ok(Outcome(0))
        }
        BenchCommand::Build(a) => {
            let board = Board::named(&a.board).map_err(BenchError::Usage)?;
            let root = source_root()?;
            let out = a.out.unwrap_or_else(|| root.join("target/armtune-bench").join(board.name));
            let profile = match a.profile {
                ProfileArg::Release => Profile::Release,
                ProfileArg::Dev => Profile::Dev,
            };
            let manifest = cross_build::build(&root, board, profile, &out)?;
            println!(
                "armtune bench: {} for {} ({:?} route, {}) in {}",
                manifest.benches.join(", "),
                board.name,
                manifest.route,
                manifest.rustc_flags.join(" "),
                out.display()
            );
            Ok(Outcome(0))
        }
        BenchCommand::Run(a) => run_benches(a, &interrupted),
        BenchCommand::Compare(a) => {
            let (ra, rb) = (RunResults::load(&a.run_a)?, RunResults::load(&a.run_b)?);
            let c = compare(&ra, &rb);
            match a.format {
                CompareFormat::Text => print!("{}", render_text(&c)),
                CompareFormat::Markdown => print!("{}", render_markdown(&c)),
                CompareFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
            }
            Ok(Outcome(0))
        }
    }
}

fn run_benches(a: RunArgs, interrupted: &AtomicBool) -> Result<Outcome> {
    let board = Board::named(&a.board).map_err(BenchError::Usage)?;
    let root = source_root()?;
    let build_dir = a.build_dir.unwrap_or_else(|| root.join("target/armtune-bench").join(board.name));
    let results_dir = a.results_dir.unwrap_or_else(|| root.join("bench-results"));
    let location = match a.ssh {
        Some(destination) => Location::Ssh(Ssh {
            destination,
            port: a.port,
            identity: a.identity,
            options: a.ssh_option,
            runner: a.remote_runner,
        }),
        None => Location::Qemu,
    };
    let mut opts = RunOptions { filter: a.filter, ..RunOptions::default() };
    if a.quick || matches!(location, Location::Qemu) {
        opts.warm_up_secs = 0.1;
        opts.measurement_secs = 0.2;
        opts.sample_size = 10;
    }
    if let Some(m) = a.measurement_time {
        opts.measurement_secs = m;
    }
    let results = run::run(&build_dir, &location, &opts, interrupted)?;
    let path = results.store(&results_dir).context("storing the run")?;
    for e in &results.benches {
        println!("{:44} {:>12}  [{} .. {}]", e.id, human(e.mean_ns), human(e.mean_low_ns), human(e.mean_high_ns));
    }
    for f in &results.failures {
        eprintln!("armtune bench: failed: {f}");
    }
    if results.emulated {
        eprintln!(
            "armtune bench: ran under emulation ({}): the timings show the code runs, not how fast",
            results.location
        );
    }
    let state = if results.interrupted {
        "interrupted: partial results"
    } else if results.complete {
        "complete"
    } else {
        "incomplete"
    };
    println!("armtune bench: {} benchmarks ({state}) stored in {}", results.benches.len(), path.display());
    Ok(Outcome(if results.interrupted {
        130
    } else if results.complete {
        0
    } else {
        1
    }))
}
