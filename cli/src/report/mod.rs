//! `armtune report`: one self-contained HTML page from armtune's JSON reports (profile, check,
//! bench runs and comparisons), folded stacks and pprof profiles. The flame graphs are inferno's
//! interactive SVG, the histograms and benchmark comparisons charts drawn as SVG here, the tables
//! sortable; styles and script are inline, so the file opens anywhere without a network.

mod bench;
mod charts;
mod check;
mod page;
mod profile;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use armtune_bench_arm64::{
    compare::Comparison,
    matrix::{self, Matrix},
    results::RunResults,
};
use armtune_probes::{report::Report, Profile};
use serde_json::Value;

pub use page::Page;

use crate::{
    flame::{self, Labels, Pick, View},
    output::OutputFile,
    Outcome,
};

/// Arguments of `armtune report`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    sudo armtune profile --event cpu,off-cpu,runq -o run.json -- ./my-service\n  \
    armtune report run.json -o run.html\n  \
    armtune check ./my-service --target rpi4 --profile run.json --format json > check.json\n  \
    armtune report run.json check.json -o tuning.html\n  \
    armtune report bench-results/rpi4/ bench-results/rpi5/ --baseline pi4 -o boards.html\n  \
    armtune report --diff before.json after.json -o diff.html\n  \
    sudo armtune profile --format html -o run.html -- ./my-service   (the same page, straight away)")]
pub struct Args {
    /// Reports to draw: `armtune profile --format json` runs, `armtune check --format json`
    /// reports, stored bench runs (files or directories of them) and `bench compare --format json`
    /// output; folded stacks and pprof profiles are drawn as flame graphs.
    #[arg(value_name = "INPUT", required_unless_present = "diff")]
    inputs: Vec<PathBuf>,
    /// The page to write.
    #[arg(short, long, default_value = "report.html")]
    output: PathBuf,
    /// Title of the page.
    #[arg(long, default_value = "armtune report")]
    title: String,
    /// Also draw each flame graph as an icicle by leaf function (a switch above the graph).
    #[arg(long)]
    icicle: bool,
    /// Add a differential flame graph: AFTER coloured by its change from BEFORE (any input
    /// `armtune flame` reads).
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"])]
    diff: Option<Vec<PathBuf>>,
    /// Stored bench runs: the board the matrix is relative to (default: two runs are compared,
    /// more make a matrix relative to the first).
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
}

/// What one input file holds.
enum Input {
    Run(Box<Report>),
    Stacks(Box<Profile>),
    Check(check::CheckDoc),
    BenchRuns(Vec<RunResults>),
    Comparison(Comparison),
    Matrix(Matrix),
}

/// `armtune report`.
pub fn run(args: Args) -> Result<Outcome> {
    // A bad output path fails before anything is read.
    let out = OutputFile::create(&args.output)?;
    let mut page = Page::new(&args.title);
    let mut runs: Vec<(RunResults, String)> = Vec::new();
    for path in &args.inputs {
        let source = path.display().to_string();
        match read_input(path)? {
            Input::Run(report) => profile::add(&mut page, &report, &source, args.icicle),
            Input::Stacks(p) => add_stacks(&mut page, &p, &source, args.icicle),
            Input::Check(doc) => check::add(&mut page, &doc, &source),
            Input::BenchRuns(list) => runs.extend(list.into_iter().map(|r| (r, source.clone()))),
            Input::Comparison(c) => bench::add_comparison(&mut page, &c, ["A", "B"], &source),
            Input::Matrix(m) => bench::add_matrix(&mut page, &m, &source),
        }
    }
    add_runs(&mut page, runs, args.baseline.as_deref())?;
    if let Some(diff) = &args.diff {
        add_diff(&mut page, &diff[0], &diff[1])?;
    }
    let html = page.render();
    out.write_with(|w| w.write_all(html.as_bytes()))?;
    eprintln!("armtune: wrote {} ({} sections, {} KiB)", args.output.display(), page.len(), html.len() / 1024);
    Ok(Outcome(0))
}

/// The page `armtune profile --format html` writes: the run's own section.
pub fn page_of_run(report: &Report, title: &str) -> String {
    let mut page = Page::new(title);
    profile::add(&mut page, report, "this run", false);
    page.render()
}

/// The page `armtune bench compare --format html` writes for two runs.
pub fn page_of_comparison(a: &RunResults, b: &RunResults) -> String {
    let mut page = Page::new("armtune bench compare");
    bench::add_two_runs(&mut page, a, b, "bench compare");
    page.render()
}

/// The page `armtune bench compare --format html` writes for a board matrix.
pub fn page_of_matrix(m: &Matrix) -> String {
    let mut page = Page::new("armtune bench compare");
    bench::add_matrix(&mut page, m, "bench compare");
    page.render()
}

/// Reads one input and tells what it is by its content, not its name.
fn read_input(path: &Path) -> Result<Input> {
    if path.is_dir() {
        return Ok(Input::BenchRuns(crate::bench_cmd::load_runs(&[path.to_path_buf()])?));
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !is_json {
        // Folded stacks or pprof: `armtune flame`'s readers say what is wrong with other text.
        let profile = flame::profile_from_bytes(path, bytes, Pick::default())?;
        return Ok(Input::Stacks(Box::new(profile)));
    }
    let doc: Value = serde_json::from_slice(&bytes).with_context(|| format!("{}: not valid JSON", path.display()))?;
    let has = |key: &str| doc.get(key).is_some();
    let what = |kind: &str| format!("{}: not a valid armtune {kind} report", path.display());
    if has("findings") && has("target") {
        return Ok(Input::Check(serde_json::from_value(doc).with_context(|| what("check"))?));
    }
    if has("benches") && has("board") {
        return Ok(Input::BenchRuns(vec![serde_json::from_value(doc).with_context(|| what("bench run"))?]));
    }
    if has("rows") && has("columns") && has("baseline") {
        return Ok(Input::Matrix(serde_json::from_value(doc).with_context(|| what("bench compare"))?));
    }
    if has("rows") && has("warnings") {
        return Ok(Input::Comparison(serde_json::from_value(doc).with_context(|| what("bench compare"))?));
    }
    if has("stacks") || has("profiles") {
        return Ok(Input::Run(Box::new(Report::from_json(&doc).with_context(|| what("profile"))?)));
    }
    bail!(
        "{}: not an armtune report: give `armtune profile`, `check` or `bench` JSON, folded stacks or a pprof profile",
        path.display()
    )
}

/// Stored bench runs, gathered from every input: one run alone, two compared, more (or with a
/// baseline) as a matrix, as `armtune bench compare` does.
fn add_runs(page: &mut Page, runs: Vec<(RunResults, String)>, baseline: Option<&str>) -> Result<()> {
    let (runs, mut sources): (Vec<RunResults>, Vec<String>) = runs.into_iter().unzip();
    sources.dedup();
    let source = sources.join(", ");
    match (runs.as_slice(), baseline) {
        ([], _) => {}
        ([run], None) => bench::add_run(page, run, &source),
        ([a, b], None) => bench::add_two_runs(page, a, b, &source),
        _ => {
            let m = matrix::matrix(&runs, baseline).map_err(anyhow::Error::msg)?;
            bench::add_matrix(page, &m, &source);
        }
    }
    Ok(())
}

/// A profile that is only stacks (folded text, pprof): its flame graph.
fn add_stacks(page: &mut Page, p: &Profile, source: &str, icicle: bool) {
    let views: &[View] = if icicle { &[View::Flame, View::Icicle] } else { &[View::Flame] };
    let title = format!("Flame Graph ({})", p.unit.label);
    // Folded text knows neither what was profiled nor for how long: say where it came from.
    let mut named;
    let p = if p.meta.target.is_empty() {
        named = p.clone();
        named.meta.target = source.to_string();
        &named
    } else {
        p
    };
    let block = profile::graph_block(page, &title, p, views);
    page.add("profile", &format!("Stacks: {source}"), format!("<h2>Stacks: {}</h2>{block}", page::esc(source)));
}

/// The differential flame graph of two inputs.
fn add_diff(page: &mut Page, before: &Path, after: &Path) -> Result<()> {
    let (pa, pb) = (flame::read_profile(before, Pick::default())?, flame::read_profile(after, Pick::default())?);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    pa.write_folded(&mut a)?;
    pb.write_folded(&mut b)?;
    let labels = Labels {
        title: "Differential Flame Graph (red grew, blue shrank)".into(),
        subtitle: Some(format!("{} → {}", before.display(), after.display())),
        count_name: pb.unit.label.clone(),
    };
    let mut svg = Vec::new();
    flame::render_diff(a.as_slice(), b.as_slice(), &labels, &mut svg)
        .with_context(|| format!("cannot draw the difference of {} and {}", before.display(), after.display()))?;
    let frame = profile::frame(&String::from_utf8_lossy(&svg), View::Flame, false, &labels.title);
    let block = profile::svg_block(page, &labels.title, &frame, false);
    let heading = format!("Difference: {} → {}", before.display(), after.display());
    page.add("diff", &heading, format!("<h2>{}</h2>{block}", page::esc(&heading)));
    Ok(())
}
