//! Flame graph rendering with inferno, and `armtune flame`: re-render a folded, armtune JSON or
//! pprof profile, or draw the difference of two.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use armtune_probes::{
    profile::{Unit, OFF_CPU_SUFFIX},
    Profile,
};
use inferno::flamegraph::{
    self,
    color::{Color, MultiPalette, Palette, PaletteMap},
};
use serde::Deserialize;

use crate::{output::OutputFile, Outcome};

/// Arguments of `armtune flame`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  armtune flame profile.folded -o flame.svg\n  \
    armtune flame mem.json --graph leak -o leak.svg\n  \
    armtune flame heap.pb.gz --sample-type alloc_space -o alloc.svg\n  \
    armtune flame run.json -o run.pb.gz   (any input as pprof)\n  \
    armtune flame --diff before.folded after.folded -o diff.svg")]
pub struct Args {
    /// Folded stacks (`frame;frame count` lines), an armtune JSON profile, or a pprof profile
    /// (`profile.proto`, gzipped or not: Go's runtime/pprof, armtune's `--format pprof`).
    #[arg(required_unless_present = "diff", conflicts_with = "diff")]
    input: Option<PathBuf>,
    /// Draw AFTER coloured by its change from BEFORE (red grew, blue shrank).
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"])]
    diff: Option<Vec<PathBuf>>,
    /// The SVG to write (a name ending in `.folded` writes the input's stacks as folded text, one
    /// ending in `.pb.gz`, `.pb` or `.pprof` as a gzipped pprof profile).
    #[arg(short, long, default_value = "flame.svg")]
    output: PathBuf,
    /// Title of the graph.
    #[arg(long)]
    title: Option<String>,
    /// What one count means, shown in tooltips (default: the profile's unit, or "samples").
    #[arg(long)]
    count_name: Option<String>,
    /// Which graph of an armtune JSON report to draw; default: its main one.
    #[arg(long, value_name = "NAME", long_help = graph_help())]
    graph: Option<String>,
    /// Which sample type of a pprof profile to draw (`alloc_space`, or `alloc_space/bytes`);
    /// default: the profile's default, else its last, as pprof picks.
    #[arg(long, value_name = "TYPE")]
    sample_type: Option<String>,
}

/// What to read of an input that holds several graphs: `--graph` (armtune JSON) or
/// `--sample-type` (pprof).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pick<'a> {
    /// A graph of an armtune JSON report.
    pub graph: Option<&'a str>,
    /// A sample type of a pprof profile.
    pub sample_type: Option<&'a str>,
}

/// `--graph`'s help: the graphs a JSON report holds, from the report's own list.
fn graph_help() -> String {
    let names: Vec<String> =
        armtune_probes::families::graph_names().iter().map(|(name, what)| format!("  {name}: {what}")).collect();
    format!("Which graph of an armtune JSON report to draw; default: its main one.\n{}", names.join("\n"))
}

/// What a rendered flame graph says about itself.
#[derive(Debug, Clone)]
pub struct Labels {
    /// Title at the top.
    pub title: String,
    /// Line under the title (command, duration, samples).
    pub subtitle: Option<String>,
    /// What one count is, e.g. "samples".
    pub count_name: String,
}

impl Labels {
    /// A profile's labels: its title, then what was profiled, for how long, how often.
    pub fn of(profile: &Profile, title: String) -> Labels {
        let meta = &profile.meta;
        let rate = if meta.frequency_hz > 0 {
            format!(", {} Hz, {} samples", meta.frequency_hz, meta.samples)
        } else {
            String::new()
        };
        let subtitle = if meta.duration_secs > 0.0 {
            format!("{} — {:.1} s{rate}", meta.target, meta.duration_secs)
        } else {
            meta.target.clone()
        };
        Labels { title, subtitle: Some(subtitle), count_name: profile.unit.label.clone() }
    }
}

fn inferno_options(labels: &Labels) -> flamegraph::Options<'static> {
    let mut opts = flamegraph::Options::default();
    opts.title = labels.title.clone();
    opts.subtitle = labels.subtitle.clone();
    opts.count_name = labels.count_name.clone();
    // Kernel frames (suffix _[k]) orange, C++/Rust paths yellow, other user code red.
    opts.colors = Palette::Multi(MultiPalette::Perl);
    opts.hash = true;
    opts
}

/// Which way a graph is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// A flame graph: roots at the bottom, callees above their callers.
    #[default]
    Flame,
    /// An icicle of leaves: each stack reversed and drawn top down, so a leaf function's time
    /// from every caller is one box at the top with its callers below it.
    Icicle,
}

/// Renders `profile` as an interactive SVG (search, zoom, tooltips). A profile without samples still
/// produces an SVG that says so, and an error.
pub fn render(profile: &Profile, labels: &Labels, out: impl Write) -> io::Result<()> {
    render_view(profile, labels, View::Flame, out)
}

/// [`render`], drawn as `view` says.
pub fn render_view(profile: &Profile, labels: &Labels, view: View, out: impl Write) -> io::Result<()> {
    let lines: Vec<String> = profile.folded_lines().into_iter().map(|(s, w)| format!("{s} {w}")).collect();
    render_lines(&lines, labels, view, out)
}

/// Renders folded lines. Frames marked off-CPU (`_[w]`, from a combined on/off-CPU view) are drawn
/// in blues, so wall time spent waiting stands apart from the warm colours of CPU time.
fn render_lines(lines: &[String], labels: &Labels, view: View, out: impl Write) -> io::Result<()> {
    let mut opts = inferno_options(labels);
    if view == View::Icicle {
        opts.direction = flamegraph::Direction::Inverted;
        opts.reverse_stack_order = true;
    }
    let mut blues = off_cpu_palette(lines);
    if let Some(map) = blues.as_mut() {
        opts.palette_map = Some(map);
    }
    flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
}

/// A palette map giving every off-CPU frame a blue, varied by name so neighbours stay apart.
fn off_cpu_palette(lines: &[String]) -> Option<PaletteMap> {
    let mut map = PaletteMap::default();
    let mut any = false;
    for line in lines {
        let stack = line.rsplit_once(' ').map_or(line.as_str(), |(s, _)| s);
        for frame in stack.split(';').filter(|f| f.ends_with(OFF_CPU_SUFFIX)) {
            if map.get(frame).is_none() {
                let h = frame.bytes().fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
                let color = Color { r: (h % 60) as u8, g: 90 + ((h >> 8) % 90) as u8, b: 200 + ((h >> 16) % 55) as u8 };
                map.insert(frame, color);
                any = true;
            }
        }
    }
    any.then_some(map)
}

/// Renders the differential flame graph of two folded inputs: the shape of `after`, coloured by
/// the change of each frame since `before`.
pub fn render_diff(before: impl BufRead, after: impl BufRead, labels: &Labels, out: impl Write) -> io::Result<()> {
    let mut folded = Vec::new();
    inferno::differential::from_readers(inferno::differential::Options::default(), before, after, &mut folded)?;
    let mut opts = inferno_options(labels);
    flamegraph::from_reader(&mut opts, folded.as_slice(), out)
}

/// Reads folded text, armtune JSON or pprof, by content: of a JSON report, the graph `pick.graph`
/// names (a key of its `profiles`), or its main one; of a pprof profile, `pick.sample_type`.
pub fn read_profile(path: &Path, pick: Pick) -> Result<Profile> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .with_context(|| format!("cannot read {}", path.display()))?;
    profile_from_bytes(path, bytes, pick)
}

/// [`read_profile`] of a file already read (`path` names it in errors).
pub fn profile_from_bytes(path: &Path, bytes: Vec<u8>, pick: Pick) -> Result<Profile> {
    if armtune_probes::pprof::looks_like_pprof(&bytes) {
        return read_pprof(path, &bytes, pick);
    }
    let text = String::from_utf8(bytes).expect("looks_like_pprof takes what is not UTF-8");
    if pick.sample_type.is_some() {
        bail!("{}: --sample-type picks a sample type of a pprof profile; this is text", path.display());
    }
    let graph = pick.graph;
    if !text.trim_start().starts_with('{') {
        if graph.is_some() {
            bail!("{}: --graph picks a graph of an armtune JSON report; this is folded text", path.display());
        }
        return Profile::read_folded(text.as_bytes(), Unit::samples())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    let not_armtune = || format!("{}: not an armtune JSON profile", path.display());
    let Some(name) = graph else { return serde_json::from_str(&text).with_context(not_armtune) };
    let report: serde_json::Value = serde_json::from_str(&text).with_context(not_armtune)?;
    match report["profiles"].get(name) {
        Some(p) => Profile::deserialize(p).with_context(not_armtune),
        None => {
            let names: Vec<&str> =
                report["profiles"].as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
            bail!(
                "{}: no {name} graph (it has: {})",
                path.display(),
                if names.is_empty() { "none".into() } else { names.join(", ") }
            )
        }
    }
}

/// A pprof profile's sample type `pick.sample_type`, as an armtune profile.
fn read_pprof(path: &Path, bytes: &[u8], pick: Pick) -> Result<Profile> {
    if pick.graph.is_some() {
        bail!(
            "{}: --graph picks a graph of an armtune JSON report; of a pprof profile, pick --sample-type",
            path.display()
        );
    }
    let mut profile = armtune_probes::pprof::decode(bytes, pick.sample_type)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if profile.meta.target.is_empty() {
        profile.meta.target = path.display().to_string();
    }
    Ok(profile)
}

/// As folded text, whatever the input format, for the differential collapser.
fn folded_text(path: &Path, pick: Pick) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    read_profile(path, pick)?.write_folded(&mut out)?;
    Ok(out)
}

/// `armtune flame`.
pub fn run(args: Args) -> Result<Outcome> {
    let folded = args.output.extension().is_some_and(|e| e == "folded");
    let pprof = armtune_probes::pprof::is_pprof_name(&args.output);
    if (folded || pprof) && args.diff.is_some() {
        bail!("--diff draws an SVG: give -o NAME.svg");
    }
    let output = OutputFile::create(&args.output)?;
    if let Some(diff) = &args.diff {
        let pick = Pick { graph: args.graph.as_deref(), sample_type: args.sample_type.as_deref() };
        let (before, after) = (folded_text(&diff[0], pick)?, folded_text(&diff[1], pick)?);
        if after.is_empty() {
            bail!("{}: no stacks to draw", diff[1].display());
        }
        let labels = Labels {
            title: args.title.clone().unwrap_or_else(|| "Differential flame graph".into()),
            subtitle: Some(format!("{} → {} (red grew, blue shrank)", diff[0].display(), diff[1].display())),
            count_name: args.count_name.clone().unwrap_or_else(|| "samples".into()),
        };
        output.write_with(|w| {
            render_diff(BufReader::new(before.as_slice()), BufReader::new(after.as_slice()), &labels, w)
        })?;
    } else {
        let input = args.input.as_ref().expect("clap requires input without --diff");
        let pick = Pick { graph: args.graph.as_deref(), sample_type: args.sample_type.as_deref() };
        let profile = read_profile(input, pick)?;
        if profile.total() == 0 {
            bail!("{}: no stacks to draw", input.display());
        }
        if pprof {
            // Any input as pprof, for pprof's tools and the continuous-profiling backends.
            let (columns, period) = armtune_probes::pprof::columns_of(&profile);
            let message = armtune_probes::pprof::build(&columns, period, &profile.meta);
            output.write_with(|w| armtune_probes::pprof::write(&message, w))?;
        } else if folded {
            // Any input as folded stacks, for other flame graph tools and for diffing.
            output.write_with(|w| profile.write_folded(w))?;
        } else {
            let labels = Labels {
                title: args.title.clone().unwrap_or_else(|| "Flame Graph".into()),
                subtitle: (!profile.meta.target.is_empty()).then(|| profile.meta.target.clone()),
                count_name: args.count_name.clone().unwrap_or_else(|| profile.unit.label.clone()),
            };
            output.write_with(|w| render(&profile, &labels, w))?;
        }
    }
    eprintln!("armtune: wrote {}", args.output.display());
    Ok(Outcome(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use armtune_probes::{profile::Meta, Frame};
    use quick_xml::{events::Event, Reader};

    /// Parses the whole document (fails on malformed XML) and returns its text content.
    fn svg_text(svg: &[u8]) -> String {
        let mut reader = Reader::from_reader(svg);
        let mut buf = Vec::new();
        let mut text = String::new();
        let mut depth = 0i32;
        loop {
            match reader.read_event_into(&mut buf).expect("well-formed SVG") {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth -= 1,
                Event::Text(t) => text.push_str(&t.unescape().unwrap()),
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        assert_eq!(depth, 0, "unbalanced elements");
        text
    }

    fn labels() -> Labels {
        Labels { title: "T".into(), subtitle: Some("./demo, 2.0 s".into()), count_name: "samples".into() }
    }

    #[test]
    fn svg_is_well_formed_and_names_frames() {
        let mut p = Profile::new(Unit::samples(), Meta::default());
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("hot<T>&")], 70);
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::kernel("do_syscall_64")], 30);
        let mut svg = Vec::new();
        render(&p, &labels(), &mut svg).unwrap();
        let text = svg_text(&svg);
        assert!(text.contains("hot<T>&"), "escaped names survive");
        // The _[k] suffix picks the colour; inferno shows the bare name.
        assert!(text.contains("do_syscall_64 ("));
        assert!(text.contains("./demo, 2.0 s"), "subtitle");
        let raw = String::from_utf8(svg).unwrap();
        assert!(raw.contains("search"), "interactive search script");
    }

    #[test]
    fn off_cpu_frames_are_blue_and_on_cpu_frames_are_not() {
        let mut p = Profile::new(Unit::wall_us(), Meta::default());
        p.add(vec![Frame::process("svc"), Frame::marker("[on-CPU]"), Frame::user("crunch")], 600);
        let off = armtune_probes::profile::FrameKind::OffCpu;
        p.add(vec![Frame::process("svc"), Frame::marker("[off-CPU]"), Frame::new("wait_io", off)], 400);
        let mut svg = Vec::new();
        render(&p, &labels(), &mut svg).unwrap();
        let raw = String::from_utf8(svg).unwrap();
        // Each frame is a <g> with a <title>, then a <rect fill=...>.
        let fill_of = |name: &str| {
            let at = raw.find(&format!("<title>{name} (")).unwrap();
            let rest = &raw[at..];
            let fill = &rest[rest.find("fill=\"rgb(").unwrap() + 10..];
            let rgb: Vec<u32> = fill[..fill.find(')').unwrap()].split(',').map(|n| n.trim().parse().unwrap()).collect();
            rgb
        };
        let wait = fill_of("wait_io");
        assert!(wait[2] >= 200 && wait[0] < 60, "off-CPU frame is blue: {wait:?}");
        let crunch = fill_of("crunch");
        assert!(crunch[0] > crunch[2], "on-CPU frame is warm: {crunch:?}");
        assert!(svg_text(raw.as_bytes()).contains("wait_io"), "suffix hidden in the label");
    }

    #[test]
    fn empty_profile_is_an_error_with_an_svg_saying_so() {
        let p = Profile::new(Unit::samples(), Meta::default());
        let mut svg = Vec::new();
        assert!(render(&p, &labels(), &mut svg).is_err());
        assert!(svg_text(&svg).contains("No valid input"));
    }

    #[test]
    fn diff_colours_growth() {
        let before = b"demo;main;a 50\ndemo;main;b 50\n";
        let after = b"demo;main;a 90\ndemo;main;b 10\n";
        let mut svg = Vec::new();
        render_diff(&before[..], &after[..], &labels(), &mut svg).unwrap();
        let text = svg_text(&svg);
        assert!(text.contains("main"));
        // inferno writes the change into each frame's tooltip.
        assert!(text.contains('+') || text.contains('-'), "{text}");
    }

    #[test]
    fn reads_json_and_folded_alike() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Profile::new(Unit::samples(), Meta::default());
        p.add(vec![Frame::process("x"), Frame::user("f")], 4);
        let json = dir.path().join("p.json");
        p.write_json(File::create(&json).unwrap()).unwrap();
        let folded = dir.path().join("p.folded");
        p.write_folded(File::create(&folded).unwrap()).unwrap();
        assert_eq!(read_profile(&json, Pick::default()).unwrap().stacks, p.stacks);
        assert_eq!(read_profile(&folded, Pick::default()).unwrap().stacks, p.stacks);
        let err = read_profile(&dir.path().join("missing"), Pick::default()).unwrap_err();
        assert!(format!("{err:#}").contains("cannot read"));
    }

    #[test]
    fn picks_a_graph_of_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let (mut alloc, mut leak) =
            (Profile::new(Unit::bytes_allocated(), Meta::default()), Profile::new(Unit::bytes_live(), Meta::default()));
        alloc.add(vec![Frame::process("x"), Frame::user("make")], 100);
        leak.add(vec![Frame::process("x"), Frame::user("keep")], 40);
        // The shape `profile --format json` writes: the main graph at the top, every graph under profiles.
        let mut report = serde_json::to_value(&alloc).unwrap();
        report["profiles"] = serde_json::json!({ "alloc": &alloc, "leak": &leak });
        let json = dir.path().join("mem.json");
        std::fs::write(&json, report.to_string()).unwrap();
        assert_eq!(read_profile(&json, Pick::default()).unwrap().stacks, alloc.stacks, "the main graph by default");
        assert_eq!(read_profile(&json, Pick { graph: Some("leak"), ..Pick::default() }).unwrap().stacks, leak.stacks);
        let err = format!("{:#}", read_profile(&json, Pick { graph: Some("cpu"), ..Pick::default() }).unwrap_err());
        assert!(err.contains("no cpu graph (it has: alloc, leak)"), "{err}");
        let folded = dir.path().join("p.folded");
        leak.write_folded(File::create(&folded).unwrap()).unwrap();
        assert!(format!("{:#}", read_profile(&folded, Pick { graph: Some("leak"), ..Pick::default() }).unwrap_err())
            .contains("folded text"));
    }
}
