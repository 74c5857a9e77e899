//! The command line of the gate, shared by `armtune gate` and the standalone `armtune-gate`
//! binary (which CI images can install without armtune's eBPF toolchain).

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use crate::{
    config::{Config, Resolved},
    output::{self, Format},
    scan::{IgnoredFiles, WalkOptions},
    secrets::rules::RULES,
    Error, History, Options,
};

/// Arguments of `armtune gate`.
#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  \
    armtune gate                                  # complexity and secrets under .\n  \
    armtune gate complexity --max-cyclomatic 10 src\n  \
    armtune gate secrets --git --since origin/main   # lines added since main, per commit\n  \
    armtune gate secrets --staged                 # pre-commit\n  \
    armtune gate --new-from-rev origin/main --format sarif -o gate.sarif\n\n\
    Exit status: 0 clean, 1 findings, 2 usage or I/O error (a file could not be scanned).\n\
    Settings: the [gate] table of armtune.toml (see the README)."
)]
pub struct Args {
    #[command(subcommand)]
    check: Option<Only>,
    #[command(flatten)]
    common: Common,
}

/// Run one check alone.
#[derive(Subcommand, Debug)]
enum Only {
    /// Only function complexity.
    Complexity(Common),
    /// Only committed secrets.
    Secrets(Common),
}

/// Options of every form of `armtune gate`.
#[derive(clap::Args, Debug, Default)]
struct Common {
    /// Files and directories to scan (default: the current directory).
    paths: Vec<PathBuf>,
    /// Settings file (default: armtune.toml in the current directory, when present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Cyclomatic complexity above this fails (default 15, or the config's).
    #[arg(long, value_name = "N")]
    max_cyclomatic: Option<u32>,
    /// Cognitive complexity above this fails (default 15, or the config's).
    #[arg(long, value_name = "N")]
    max_cognitive: Option<u32>,
    /// Suppression comments must say why (`-- reason`).
    #[arg(long)]
    require_reason: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the report in another format to a file (repeatable): `sarif:gate.sarif`,
    /// `gitlab:gl-code-quality-report.json`, `junit:gate.xml`.
    #[arg(long, value_name = "FORMAT:FILE", value_parser = parse_report)]
    report: Vec<(Format, PathBuf)>,
    /// Scan everything: do not honour .gitignore and .ignore files.
    #[arg(long)]
    no_ignore: bool,
    /// Secrets in files .gitignore excludes (a `.env`, a key file; dependency and build
    /// directories left out): `warn` reports them without failing, `fail` fails the gate on them,
    /// `skip` does not look.
    #[arg(long, value_enum, value_name = "WHAT", default_value = "warn")]
    ignored_files: IgnoredFiles,
    /// Follow symbolic links (loops are reported).
    #[arg(long)]
    follow_symlinks: bool,
    /// Files larger than this many MiB are not scanned (an error says so).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_file_size: u64,
    /// Secrets: scan the lines each commit added (HEAD's history) instead of the work tree.
    #[arg(long)]
    git: bool,
    /// With --git: only commits after this revision.
    #[arg(long, value_name = "REV", requires = "git")]
    since: Option<String>,
    /// Secrets: scan the lines staged for the next commit (pre-commit hooks).
    #[arg(long, conflicts_with = "git")]
    staged: bool,
    /// Fail only on functions changed and secrets added since this revision (the rest is reported
    /// as notes).
    #[arg(long, value_name = "REV")]
    new_from_rev: Option<String>,
    /// A previous `--format json` report: its findings are tolerated (matched by rule, file and
    /// function or secret hash, so moved lines still match).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Fingerprints to ignore, one per line (default: .armtune-gate-ignore, when present).
    #[arg(long, value_name = "FILE")]
    ignore_file: Option<PathBuf>,
    /// Worker threads (default: one per CPU).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// List the secret rules and exit.
    #[arg(long)]
    list_rules: bool,
}

fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = s.split_once(':').ok_or("expected FORMAT:FILE, e.g. sarif:gate.sarif")?;
    let format = Format::from_str(format, true).map_err(|_| format!("unknown format {format:?}"))?;
    Ok((format, PathBuf::from(path)))
}

/// Runs the gate; the exit status: 0 clean, 1 findings, 2 when something could not be scanned.
pub fn run(args: Args) -> Result<u8, Error> {
    let (common, complexity, secrets) = match args.check {
        None => (args.common, true, true),
        Some(Only::Complexity(c)) => (c, true, false),
        Some(Only::Secrets(c)) => (c, false, true),
    };
    if common.list_rules {
        for r in RULES {
            println!("{:32} {}", r.id, r.description);
        }
        return Ok(0);
    }
    let root = std::env::current_dir().map_err(|e| Error::io(std::path::Path::new("."), e))?;
    let mut config = match &common.config {
        Some(path) => Config::load(path)?,
        None if root.join("armtune.toml").is_file() => Config::load(&root.join("armtune.toml"))?,
        None => Config::default(),
    };
    if let Some(n) = common.max_cyclomatic {
        config.max_cyclomatic = n;
    }
    if let Some(n) = common.max_cognitive {
        config.max_cognitive = n;
    }
    config.require_reason |= common.require_reason;
    let history = match (common.git, common.staged) {
        (true, _) => Some(History::Commits { since: common.since.clone() }),
        (_, true) => Some(History::Staged),
        _ => None,
    };
    let options = Options {
        paths: if common.paths.is_empty() { vec![PathBuf::from(".")] } else { common.paths.clone() },
        root,
        complexity: complexity && history.is_none(),
        secrets,
        config: Resolved::new(config)?,
        walk: WalkOptions {
            respect_ignore: !common.no_ignore,
            ignored_files: common.ignored_files,
            follow_symlinks: common.follow_symlinks,
            threads: common.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        },
        max_file_size: common.max_file_size.saturating_mul(1 << 20),
        history,
        new_from_rev: common.new_from_rev.clone(),
        baseline: common.baseline.clone(),
        ignore_file: common.ignore_file.clone(),
    };
    let report = crate::run(&options)?;
    for (format, path) in &common.report {
        std::fs::write(path, output::render(&report, *format)).map_err(|e| Error::io(path, e))?;
    }
    let rendered = output::render(&report, common.format);
    match &common.output {
        Some(path) => {
            std::fs::write(path, &rendered).map_err(|e| Error::io(path, e))?;
            // The summary still reaches the log when the report goes to a file.
            eprintln!("{}", output::summary(&report));
        }
        None => print!("{rendered}"),
    }
    Ok(report.exit_code())
}
