//! `armtune check`: code-layout problems of an ARM64 binary for a target core.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::{bail, Result};
use armtune_layout::{
    analyze,
    checks::RULES,
    display::{symbol_offset, Lines},
    Binary, Finding, Severity, Target,
};
use clap::ValueEnum;

use crate::{hotness, sarif, Outcome};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: findings grouped by function, with hints.
    Text,
    /// For scripts.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab).
    Sarif,
}

/// Severity that fails the run (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Never fail on findings.
    Never,
    /// Fail on warnings and errors.
    Warning,
    /// Fail on errors.
    Error,
}

/// Arguments of `armtune check`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  armtune check ./my-service --target rpi4\n  \
    armtune check target/aarch64-unknown-linux-gnu/release/app --target rpi5 --format json\n  \
    armtune check libfoo.so --target ftc663 --fail-on warning\n\n\
    Targets: rpi4 (Cortex-A72), rpi5 (Cortex-A76), ftc662/ftc663/ftc664 (Phytium, A72 rules), generic.")]
pub struct Args {
    /// The AArch64 ELF file (executable, shared object or relocatable object).
    binary: PathBuf,
    /// The core to check for.
    #[arg(short, long, default_value = "generic")]
    target: String,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Check as if cache lines were this long (128 for false sharing on Apple- or ThunderX-style
    /// cores); default: the target's.
    #[arg(long, value_name = "BYTES")]
    line_size: Option<u64>,
    /// Lowest severity shown.
    #[arg(long, value_enum, default_value_t = MinSeverity::Info)]
    min_severity: MinSeverity,
    /// Exit 1 when findings of this severity or worse remain.
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    fail_on: FailOn,
    /// A profile of the program (armtune folded or JSON, or `perf script` output): findings are
    /// ranked by the share of samples in their function, and alignment notes on hot functions
    /// become warnings.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// With --profile: hide findings in functions with less than this share of samples (percent).
    #[arg(long, value_name = "PERCENT", default_value_t = 0.0)]
    min_share: f64,
    /// Text output: list every finding, grouped by function, instead of the summary (counts per
    /// rule, the functions with most findings, the top findings).
    #[arg(long)]
    all: bool,
    /// Report loop-alignment and loop-crosses-line as warnings in every function, not only in hot
    /// code (`.text.hot*` sections, or functions with 1 % or more of --profile's samples).
    #[arg(long)]
    warn_all_loops: bool,
}

/// Findings the text summary shows in full.
const TOP_FINDINGS: usize = 20;
/// Functions the text summary lists by number of findings.
const TOP_FUNCTIONS: usize = 10;

/// Lowest severity shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinSeverity {
    /// Everything.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

/// `armtune check`.
pub fn run(args: Args) -> Result<Outcome> {
    let mut target = Target::by_name(&args.target)?;
    if let Some(line) = args.line_size {
        if !line.is_power_of_two() || !(16..=4096).contains(&line) {
            bail!("--line-size {line}: expected a power of two between 16 and 4096");
        }
        target.cache_line = line;
    }
    let binary = Binary::read(&args.binary)?;
    let hot = Hotness(args.profile.as_deref().map(hotness::function_shares).transpose()?);
    let findings = findings(&args, &binary, &target, &hot);
    match args.format {
        Format::Sarif => {
            println!("{}", serde_json::to_string_pretty(&sarif::report(&args.binary, &binary, &target, &findings))?);
        }
        Format::Json => print_json(&args, &binary, &target, &findings, &hot)?,
        Format::Text => print_text(&args, &binary, &target, &findings, &hot),
    }
    let fails = match args.fail_on {
        FailOn::Never => false,
        FailOn::Warning => findings.iter().any(|f| f.severity >= Severity::Warning),
        FailOn::Error => findings.iter().any(|f| f.severity >= Severity::Error),
    };
    if fails {
        // Findings are a result, not an error: exit 1, the one code that means "found something".
        eprintln!("armtune: findings at or above --fail-on {:?}", args.fail_on);
        return Ok(Outcome(1));
    }
    Ok(Outcome(0))
}

/// Each function's share of a profile's samples, when `--profile` gave one.
struct Hotness(Option<hotness::Shares>);

impl Hotness {
    fn share(&self, function: &str) -> Option<f64> {
        self.0.as_ref().map(|s| hotness::share(s, function))
    }
}

/// The findings to report: at or above `--min-severity`, in functions with at least `--min-share`
/// of the samples; with a profile, entry alignment only where the function runs (where it is a
/// warning), hottest first.
fn findings(args: &Args, binary: &Binary, target: &Target, hot: &Hotness) -> Vec<Finding> {
    let min = match args.min_severity {
        MinSeverity::Info => Severity::Info,
        MinSeverity::Warning => Severity::Warning,
        MinSeverity::Error => Severity::Error,
    };
    // Entry alignment matters on the functions that run (1 % of samples or more).
    let runs = |f: &Finding| hot.share(&f.function).is_none_or(|s| s >= 0.01);
    // Alignment findings become warnings where the profile says the code runs; loop ones stay
    // notes elsewhere (the library makes them warnings only in code the binary marks hot).
    let promoted = |f: &Finding| match f.rule {
        "function-alignment" => hot.share(&f.function).is_some(),
        "loop-alignment" | "loop-crosses-line" => {
            args.warn_all_loops || hot.share(&f.function).is_some_and(|s| s >= 0.01)
        }
        _ => false,
    };
    let mut findings: Vec<_> = analyze(binary, target)
        .into_iter()
        .filter(|f| hot.share(&f.function).is_none_or(|share| share * 100.0 >= args.min_share))
        .filter(|f| f.rule != "function-alignment" || runs(f))
        .map(|mut f| {
            if promoted(&f) {
                f.severity = f.severity.max(Severity::Warning);
            }
            f
        })
        .filter(|f| f.severity >= min)
        .collect();
    if hot.0.is_some() {
        findings.sort_by(|a, b| {
            let (sa, sb) = (hot.share(&a.function).unwrap_or(0.0), hot.share(&b.function).unwrap_or(0.0));
            sb.total_cmp(&sa).then(b.severity.cmp(&a.severity)).then(a.address.cmp(&b.address))
        });
    }
    findings
}

fn print_json(args: &Args, binary: &Binary, target: &Target, findings: &[Finding], hot: &Hotness) -> Result<()> {
    let lines = Lines::open(&args.binary);
    let doc = serde_json::json!({
        "binary": args.binary.display().to_string(),
        "target": target,
        "functions": binary.functions.len(),
        "notes": binary.notes,
        "findings": findings.iter().map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            if let Some(share) = hot.share(&f.function) {
                v["share"] = serde_json::json!(share);
            }
            if let Some(place) = place_of(binary, &lines, f.address) {
                v["place"] = serde_json::json!(place);
            }
            // What the text report prints under each finding, for readers without a disassembler.
            v["excerpt"] = serde_json::json!(armtune_layout::display::excerpt(binary, f.address, target));
            v
        }).collect::<Vec<_>>(),
        "rules": RULES.iter().map(|(id, text)| serde_json::json!({"id": id, "explanation": text})).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// The text report: the headline, then the summary (or with `--all` every finding).
fn print_text(args: &Args, binary: &Binary, target: &Target, findings: &[Finding], hot: &Hotness) {
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    println!(
        "{}: {} functions for {}: {} errors, {} warnings, {} notes",
        args.binary.display(),
        binary.functions.len(),
        target.core,
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    for note in &binary.notes {
        println!("note: {note}");
    }
    let lines = Lines::open(&args.binary);
    if args.all || findings.len() <= TOP_FINDINGS {
        print_findings(binary, target, findings, hot, &lines);
        return;
    }
    print_rule_counts(findings);
    print_top_functions(binary, findings, hot);
    // The findings are ordered worst first (hottest first with a profile).
    println!(
        "\ntop {TOP_FINDINGS} of {} findings (--all lists every one; --format json or sarif has them all):",
        findings.len()
    );
    print_findings(binary, target, &findings[..TOP_FINDINGS], hot, &lines);
}

/// Findings per rule and severity, most first.
fn print_rule_counts(findings: &[Finding]) {
    let mut rules: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for f in findings {
        rules.entry(f.rule).or_default()[f.severity as usize] += 1;
    }
    let mut rows: Vec<_> = rules.into_iter().collect();
    rows.sort_by_key(|(rule, n)| (std::cmp::Reverse((n[2], n[1], n[0])), *rule));
    println!("\n{:<28} {:>7} {:>9} {:>7}", "rule", "errors", "warnings", "notes");
    for (rule, [notes, warnings, errors]) in rows {
        println!("{rule:<28} {errors:>7} {warnings:>9} {notes:>7}");
    }
}

/// The functions with the most findings (hottest first with a profile).
fn print_top_functions(binary: &Binary, findings: &[Finding], hot: &Hotness) {
    let mut per_function: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for f in findings {
        per_function.entry(f.function.as_str()).or_default()[f.severity as usize] += 1;
    }
    let mut rows: Vec<_> = per_function.into_iter().collect();
    let share = |name: &str| hot.share(name).unwrap_or(0.0);
    rows.sort_by(|(a, na), (b, nb)| {
        share(b).total_cmp(&share(a)).then((nb[2], nb[1], nb.iter().sum::<usize>()).cmp(&(
            na[2],
            na[1],
            na.iter().sum(),
        )))
    });
    println!("\nfunctions with the most findings:");
    for (name, [notes, warnings, errors]) in rows.into_iter().take(TOP_FUNCTIONS) {
        let start = binary.functions.iter().find(|x| x.name == name).map_or(0, |x| x.address);
        let samples = hot.share(name).map(|s| format!(", {:.1}% of samples", s * 100.0)).unwrap_or_default();
        println!("  {name} ({start:#x}{samples}): {errors} errors, {warnings} warnings, {notes} notes");
    }
}

/// Findings grouped by function: hottest first with a profile, by address without.
fn print_findings(binary: &Binary, target: &Target, findings: &[Finding], hot: &Hotness, lines: &Lines) {
    let mut by_function: BTreeMap<(i64, u64, &str), Vec<_>> = BTreeMap::new();
    for f in findings {
        let start = binary.functions.iter().find(|x| x.name == f.function).map_or(0, |x| x.address);
        let rank = -((hot.share(&f.function).unwrap_or(0.0) * 1e6) as i64);
        by_function.entry((rank, start, f.function.as_str())).or_default().push(f);
    }
    for ((_, start, name), list) in by_function {
        match hot.share(name) {
            Some(share) => println!("\n{name} ({start:#x}, {:.1}% of samples)", share * 100.0),
            None => println!("\n{name} ({start:#x})"),
        }
        for f in list {
            let severity = format!("{:?}", f.severity).to_lowercase();
            let place = place_of(binary, lines, f.address).unwrap_or_else(|| format!("{:#x}", f.address));
            println!("  {severity:<7} {:<20} {place}  {}", f.rule, f.message);
            println!("          fix: {}", f.hint);
            for line in armtune_layout::display::excerpt(binary, f.address, target) {
                println!("  {line}");
            }
        }
    }
}

/// Where an address is for people: `symbol+0xOFF`, with the source line when the binary has one.
fn place_of(binary: &Binary, lines: &Lines, address: u64) -> Option<String> {
    match (symbol_offset(binary, address), lines.location(address)) {
        (Some(sym), Some((file, line))) => Some(format!("{sym} ({file}:{line})")),
        (Some(sym), None) => Some(sym),
        _ => None,
    }
}
