//! The CI gate behind `armtune gate`: per-function complexity (tree-sitter, gocyclo-compatible for
//! Go, cognitive complexity as SonarSource defines it) and committed secrets (keyword-prefiltered
//! rules), reported in the formats CI systems display.
//!
//! It reports; it does not rewrite code, remove secrets from history or revoke them, and it never
//! keeps a secret's value: findings carry a redacted form and a hash.

#![warn(missing_docs)]

pub mod allow;
#[cfg(feature = "cli")]
pub mod cli;
pub mod complexity;
pub mod config;
pub mod finding;
pub mod git;
pub mod lang;
pub mod output;
pub mod scan;
pub mod secrets;

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    time::Instant,
};

use config::Resolved;
use finding::Finding;
use scan::{FileScanner, WalkOptions};
use secrets::RuleSet;

/// Why the gate could not do its work (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A git operation failed.
    #[error("{0}")]
    Git(String),
    /// A secret rule option is wrong.
    #[error(transparent)]
    Rules(#[from] secrets::scan::RuleError),
    /// A baseline or ignore file is malformed.
    #[error("{0}")]
    Baseline(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), source }
    }
}

/// Which history a secret scan covers instead of the work tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// Lines added by each commit of HEAD's history, or since a revision.
    Commits {
        /// Only commits after this revision (`REV..HEAD`).
        since: Option<String>,
    },
    /// Lines added in the index (pre-commit).
    Staged,
}

/// What to run.
pub struct Options {
    /// Files and directories to scan.
    pub paths: Vec<PathBuf>,
    /// Paths in reports are relative to this (and git runs here).
    pub root: PathBuf,
    /// Measure complexity.
    pub complexity: bool,
    /// Scan for secrets.
    pub secrets: bool,
    /// Settings.
    pub config: Resolved,
    /// Walk settings.
    pub walk: WalkOptions,
    /// Files larger than this are skipped with an error.
    pub max_file_size: u64,
    /// Scan git history (secrets only) instead of the work tree.
    pub history: Option<History>,
    /// Only findings new since this revision gate.
    pub new_from_rev: Option<String>,
    /// A previous JSON report: its findings do not gate.
    pub baseline: Option<PathBuf>,
    /// Fingerprints to drop entirely (default `.armtune-gate-ignore` in the root, when present).
    pub ignore_file: Option<PathBuf>,
}

/// Everything a run found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Findings, sorted by path and line.
    pub findings: Vec<Finding>,
    /// Files or paths that could not be scanned (each makes the exit status 2).
    pub errors: Vec<String>,
    /// Notes (syntax errors, decoded encodings).
    pub notes: Vec<String>,
    /// Totals.
    pub stats: Stats,
}

/// Totals of a run.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    /// Files read.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Functions measured.
    pub functions: u64,
    /// Commits scanned (history scans).
    pub commits: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl Report {
    /// Findings that fail the gate.
    pub fn gating(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.gating)
    }

    /// 0 clean, 1 gating findings, 2 when something could not be scanned.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            2
        } else if self.gating().next().is_some() {
            1
        } else {
            0
        }
    }
}

/// Runs the gate.
pub fn run(options: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    let rules = if options.secrets {
        let s = &options.config.config.secrets;
        Some(RuleSet::new(&s.disable, &s.allow_regexes)?)
    } else {
        None
    };
    let scanner = FileScanner {
        config: &options.config,
        rules: rules.as_ref(),
        complexity: options.complexity && options.history.is_none(),
        max_file_size: options.max_file_size,
    };
    let mut report = Report::default();
    match &options.history {
        None => {
            for result in scan::walk(&options.paths, &options.root, &options.walk, &scanner) {
                report.stats.files += u64::from(result.bytes > 0 || !result.findings.is_empty());
                report.stats.bytes += result.bytes;
                report.stats.functions += result.functions;
                report.findings.extend(result.findings);
                report.notes.extend(result.notes);
                report.errors.extend(result.errors);
            }
        }
        Some(history) => scan_history(options, history, &scanner, &mut report)?,
    }
    apply_ignore_file(options, &mut report)?;
    if let Some(rev) = &options.new_from_rev {
        let top = git::toplevel(&options.root)?;
        let changed = git::changed_since(&top, rev)?;
        // Findings are relative to the scan root; git's paths to the top of the work tree.
        let root_in_repo = root_in_repo(&options.root, &top);
        for f in &mut report.findings {
            f.gating = match changed.get(&root_in_repo.join(&f.path)) {
                None => false,
                Some(None) => true,
                Some(Some(ranges)) => {
                    let (start, end) = (f.line, f.end_line.unwrap_or(f.line));
                    ranges.iter().any(|&(a, b)| a <= end && start <= b)
                }
            };
        }
    }
    if let Some(path) = &options.baseline {
        let known = baseline_fingerprints(path)?;
        for f in &mut report.findings {
            if known.contains(&f.fingerprint) {
                f.gating = false;
            }
        }
    }
    report.findings.sort_by(|a, b| (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule)));
    report.errors.sort();
    report.notes.sort();
    report.stats.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Where `root` is inside the work tree whose top is `top` (empty at the top).
fn root_in_repo(root: &Path, top: &Path) -> PathBuf {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canonical(root).strip_prefix(canonical(top)).map(Path::to_path_buf).unwrap_or_default()
}

fn scan_history(options: &Options, history: &History, scanner: &FileScanner, report: &mut Report) -> Result<(), Error> {
    let Some(rules) = scanner.rules else { return Ok(()) };
    let top = git::toplevel(&options.root)?;
    let added = match history {
        History::Commits { since } => git::history(&top, since.as_deref())?,
        History::Staged => git::staged(&top)?,
    };
    let mut commits = HashSet::new();
    for file in added {
        commits.insert(file.commit.hash.clone());
        let settings = options.config.for_path(&file.path);
        if !settings.secrets {
            continue;
        }
        let mut buffer = Vec::new();
        let mut starts = Vec::with_capacity(file.lines.len());
        for (_, text) in &file.lines {
            starts.push(buffer.len());
            buffer.extend_from_slice(text);
            buffer.push(b'\n');
        }
        report.stats.bytes += buffer.len() as u64;
        report.stats.files += 1;
        let mut result = scan::FileResult::default();
        for hit in rules.scan(&scan::file_name(&file.path), &buffer) {
            let index = starts.partition_point(|&s| s <= hit.start) - 1;
            let line = file.lines[index].0;
            let column = (hit.start - starts[index] + 1) as u32;
            scanner.secret_finding(&file.path, hit, line, column, None, &mut result);
        }
        for mut f in result.findings {
            f.commit = Some(file.commit.clone());
            report.findings.push(f);
        }
    }
    report.stats.commits = commits.len() as u64;
    Ok(())
}

/// Drops findings whose fingerprint the ignore file lists (one per line, `#` comments).
fn apply_ignore_file(options: &Options, report: &mut Report) -> Result<(), Error> {
    let default = options.root.join(".armtune-gate-ignore");
    let path = match &options.ignore_file {
        Some(p) => p.clone(),
        None if default.is_file() => default,
        None => return Ok(()),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let ignored: HashSet<&str> =
        text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).collect();
    report.findings.retain(|f| {
        !ignored.contains(f.fingerprint.as_str())
            && !f.commit.as_ref().is_some_and(|c| ignored.contains(format!("{}:{}", c.hash, f.fingerprint).as_str()))
    });
    Ok(())
}

/// Fingerprints in a previous `--format json` report.
fn baseline_fingerprints(path: &Path) -> Result<HashSet<String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::Baseline(format!("{}: not a JSON report of `armtune gate --format json`: {e}", path.display()))
    })?;
    let findings = doc["findings"].as_array().ok_or_else(|| {
        Error::Baseline(format!("{}: no `findings` array: write it with `armtune gate --format json`", path.display()))
    })?;
    Ok(findings.iter().filter_map(|f| f["fingerprint"].as_str().map(String::from)).collect())
}
