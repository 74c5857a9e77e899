//! `armtune bench`: cross-build `bench-arm64` for a board, run it there (SSH) or under qemu, and
//! compare stored runs.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use anyhow::{Context, Result};
use armtune_bench_arm64::{
    boards::{Board, BOARDS},
    compare::{compare, human, render_markdown, render_text},
    cross_build::{self, Profile},
    inventory::Inventory,
    matrix,
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
    Run(Box<RunArgs>),
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
#[command(group(clap::ArgGroup::new("boards").args(["ssh", "hosts"]).multiple(true)))]
struct RunArgs {
    /// Board profile of the build to run.
    #[arg(long)]
    board: String,
    /// Run here under qemu-user, emulating the board's CPU (timings are not meaningful).
    #[arg(long, conflicts_with_all = ["ssh", "hosts"], required_unless_present_any = ["ssh", "hosts"])]
    qemu: bool,
    /// Run on this board: user@host. Repeat it to run on several boards at once.
    #[arg(long, value_name = "USER@HOST")]
    ssh: Vec<String>,
    /// Run on the boards of this Ansible INI inventory (groups, ansible_host, ansible_user,
    /// ansible_port, ansible_ssh_private_key_file), at once.
    #[arg(long, value_name = "FILE")]
    hosts: Option<PathBuf>,
    /// Only the inventory's hosts in these groups or of these names (comma-separated), as
    /// ansible's --limit.
    #[arg(long, value_name = "PATTERN", requires = "hosts")]
    limit: Option<String>,
    /// Boards run at the same time, at most.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
    /// SSH port (an inventory host's ansible_port wins).
    #[arg(long, requires = "boards")]
    port: Option<u16>,
    /// SSH private key (an inventory host's ansible_ssh_private_key_file wins).
    #[arg(long, value_name = "FILE", requires = "boards")]
    identity: Option<PathBuf>,
    /// More ssh/scp options, as `-o` takes them (repeatable).
    #[arg(long, value_name = "OPTION", requires = "boards")]
    ssh_option: Vec<String>,
    /// Run the binaries on the board under this command (`taskset -c 3`).
    #[arg(long, value_name = "COMMAND", requires = "boards")]
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
    /// Stored runs (JSON files `bench run` wrote, or directories of them). Two: the change from
    /// the first to the second. More, or with --baseline: a benchmark × board matrix.
    #[arg(required = true, value_name = "RUN")]
    runs: Vec<PathBuf>,
    /// The board the matrix is relative to (a run's host, or where it ran); default the first.
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    format: CompareFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CompareFormat {
    Text,
    Json,
    Markdown,
    /// One HTML page with the comparison charted (as `armtune report` draws it).
    Html,
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
        BenchCommand::Run(a) => run_benches(*a, &interrupted),
        BenchCommand::Compare(a) => compare_runs(a),
    }
}

/// `armtune bench compare`: two runs side by side, or a matrix of several.
fn compare_runs(a: CompareArgs) -> Result<Outcome> {
    let runs = load_runs(&a.runs)?;
    if runs.len() < 2 {
        return Err(BenchError::Usage("compare needs two runs or more (or a directory of them)".into()).into());
    }
    if runs.len() == 2 && a.baseline.is_none() {
        let c = compare(&runs[0], &runs[1]);
        match a.format {
            CompareFormat::Text => print!("{}", render_text(&c)),
            CompareFormat::Markdown => print!("{}", render_markdown(&c)),
            CompareFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
            CompareFormat::Html => print!("{}", crate::report::page_of_comparison(&runs[0], &runs[1])),
        }
        return Ok(Outcome(0));
    }
    let m = matrix::matrix(&runs, a.baseline.as_deref()).map_err(BenchError::Usage)?;
    match a.format {
        CompareFormat::Text => print!("{}", matrix::render_text(&m)),
        CompareFormat::Markdown => print!("{}", matrix::render_markdown(&m)),
        CompareFormat::Json => println!("{}", serde_json::to_string_pretty(&m)?),
        CompareFormat::Html => print!("{}", crate::report::page_of_matrix(&m)),
    }
    Ok(Outcome(0))
}

/// The stored runs `paths` name: files, and the `*.json` files of directories (in name order).
pub fn load_runs(paths: &[PathBuf]) -> Result<Vec<RunResults>> {
    Ok(run_files(paths)?.iter().map(|p| RunResults::load(p)).collect::<Result<Vec<_>, _>>()?)
}

/// [`load_runs`]' files.
fn run_files(runs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for p in runs {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            if found.is_empty() {
                return Err(BenchError::Usage(format!("{}: no stored runs (*.json) in it", p.display())).into());
            }
            found.sort();
            paths.extend(found);
        } else {
            paths.push(p.clone());
        }
    }
    Ok(paths)
}

/// The boards `--ssh` and `--hosts` name, each with what the stored run calls it (empty for a
/// lone `--ssh` board, whose runs are stored as before there were clusters).
fn boards_of(a: &RunArgs) -> Result<Vec<(String, Ssh)>> {
    let ssh = |destination: String, port: Option<u16>, identity: Option<PathBuf>| Ssh {
        destination,
        port: port.or(a.port),
        identity: identity.or_else(|| a.identity.clone()),
        options: a.ssh_option.clone(),
        runner: a.remote_runner.clone(),
    };
    let mut boards: Vec<(String, Ssh)> = a.ssh.iter().map(|d| (d.clone(), ssh(d.clone(), None, None))).collect();
    if let Some(file) = &a.hosts {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        let inventory = Inventory::parse(&text).map_err(|e| BenchError::Usage(format!("{}: {e}", file.display())))?;
        let hosts =
            inventory.select(a.limit.as_deref()).map_err(|e| BenchError::Usage(format!("{}: {e}", file.display())))?;
        if hosts.is_empty() {
            return Err(BenchError::Usage(format!("{}: no hosts to run on", file.display())).into());
        }
        boards.extend(hosts.into_iter().map(|h| (h.name.clone(), ssh(h.destination(), h.port, h.identity.clone()))));
    }
    if boards.len() == 1 && a.hosts.is_none() {
        boards[0].0.clear();
    }
    Ok(boards)
}

fn run_benches(a: RunArgs, interrupted: &AtomicBool) -> Result<Outcome> {
    let board = Board::named(&a.board).map_err(BenchError::Usage)?;
    let root = source_root()?;
    let build_dir = a.build_dir.clone().unwrap_or_else(|| root.join("target/armtune-bench").join(board.name));
    let results_dir = a.results_dir.clone().unwrap_or_else(|| root.join("bench-results"));
    let mut boards = boards_of(&a)?;
    let mut opts = RunOptions { filter: a.filter.clone(), ..RunOptions::default() };
    if a.quick || boards.is_empty() {
        opts.warm_up_secs = 0.1;
        opts.measurement_secs = 0.2;
        opts.sample_size = 10;
    }
    if let Some(m) = a.measurement_time {
        opts.measurement_secs = m;
    }
    if boards.len() > 1 || a.hosts.is_some() {
        let cluster = Cluster { build_dir: &build_dir, results_dir: &results_dir, opts: &opts, interrupted };
        return cluster.run(&boards, usize::from(a.parallel));
    }
    let location = match boards.pop() {
        Some((_, ssh)) => Location::Ssh(ssh),
        None => Location::Qemu,
    };
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
    println!("armtune bench: {} benchmarks ({}) stored in {}", results.benches.len(), state(&results), path.display());
    Ok(Outcome(if results.interrupted {
        130
    } else if results.complete {
        0
    } else {
        1
    }))
}

/// How a stored run ended, as the run's summary line says it.
fn state(r: &RunResults) -> &'static str {
    if r.interrupted {
        "interrupted: partial results"
    } else if r.complete {
        "complete"
    } else {
        "incomplete"
    }
}

/// One build run on several boards at once.
struct Cluster<'a> {
    build_dir: &'a Path,
    results_dir: &'a Path,
    opts: &'a RunOptions,
    interrupted: &'a AtomicBool,
}

impl Cluster<'_> {
    /// Runs on every board, `parallel` at a time; a board that fails (unreachable, refused) is
    /// reported and the others go on. Exit code 0 when every board completed, 1 when some did
    /// not, 2 when none ran.
    fn run(&self, boards: &[(String, Ssh)], parallel: usize) -> Result<Outcome> {
        let next = AtomicUsize::new(0);
        let ended: Vec<Mutex<Option<Result<RunResults, BenchError>>>> =
            boards.iter().map(|_| Mutex::new(None)).collect();
        eprintln!("armtune bench: {} boards, {} at a time", boards.len(), parallel.min(boards.len()));
        std::thread::scope(|s| {
            for _ in 0..parallel.min(boards.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= boards.len() || self.interrupted.load(Ordering::SeqCst) {
                        break;
                    }
                    let result = self.one(&boards[i]);
                    *ended[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                });
            }
        });
        let outcomes: Vec<Option<Result<RunResults, BenchError>>> =
            ended.into_iter().map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner())).collect();
        let (complete, ran) = self.report(boards, outcomes)?;
        println!(
            "armtune bench: {complete} of {} boards complete; compare them: armtune bench compare RUN... --baseline NAME",
            boards.len()
        );
        let interrupted = self.interrupted.load(Ordering::SeqCst);
        Ok(Outcome(match (interrupted, complete == boards.len(), ran > 0) {
            (true, _, _) => 130,
            (false, true, _) => 0,
            (false, false, true) => 1,
            (false, false, false) => 2,
        }))
    }

    /// Stores the runs that came back and prints a line per board; returns how many completed
    /// and how many ran at all.
    fn report(
        &self,
        boards: &[(String, Ssh)],
        outcomes: Vec<Option<Result<RunResults, BenchError>>>,
    ) -> Result<(usize, usize)> {
        let (mut complete, mut ran) = (0, 0);
        for ((name, _), outcome) in boards.iter().zip(outcomes) {
            let r = match outcome {
                None => {
                    println!("{name}: not run (interrupted)");
                    continue;
                }
                Some(Err(e)) => {
                    println!("{name}: failed: {e}");
                    continue;
                }
                Some(Ok(r)) => r,
            };
            ran += 1;
            complete += usize::from(r.complete);
            let path = r.store(self.results_dir).context("storing the run")?;
            println!("{name}: {} benchmarks ({}) stored in {}", r.benches.len(), state(&r), path.display());
            for f in &r.failures {
                println!("{name}: failed: {f}");
            }
        }
        Ok((complete, ran))
    }

    fn one(&self, (name, ssh): &(String, Ssh)) -> Result<RunResults, BenchError> {
        eprintln!("armtune bench: {name}: running");
        let result = run::run(self.build_dir, &Location::Ssh(ssh.clone()), self.opts, self.interrupted);
        match &result {
            Ok(r) => eprintln!("armtune bench: {name}: {} benchmarks done", r.benches.len()),
            Err(e) => eprintln!("armtune bench: {name}: failed: {e}"),
        }
        result.map(|r| RunResults { host: name.clone(), ..r })
    }
}
