//! `armtune profile`: CPU and scheduler profiles of a command, some processes, or the host.

use std::{
    ffi::OsString,
    io::Write,
    path::{Path, PathBuf},
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use anyhow::{bail, Result};
use armtune_probes::{
    btf::SchedPath,
    events::EventSet,
    options::{SchedSample, Stacks, TaskStates, Unwind},
    report::{AllocWeight, Report},
    session::Ended,
    spawn::ExitStatus,
    symbolize::Symbolizer,
    Options, Profile, Session, Target,
};
use clap::ValueEnum;

use crate::{
    flame::{self, Labels},
    output::OutputFile,
    progress::Progress,
    summary, Outcome,
};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Interactive flame graph (inferno).
    Svg,
    /// Folded stacks, one `frame;frame;frame count` per line.
    Folded,
    /// Stacks with counts and run facts, for scripts.
    Json,
    /// pprof's profile.proto, gzipped (go tool pprof, Pyroscope, Parca, Grafana): one file per
    /// event family.
    Pprof,
    /// One HTML page with every flame graph, the histograms as charts and the tables (as
    /// `armtune report` draws a JSON report).
    Html,
}

/// The format an output path's name asks for: `.json`, `.folded`, `.pb.gz` / `.pb` / `.pprof`,
/// else SVG.
fn format_of(path: Option<&Path>) -> Format {
    let name = path.and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.ends_with(".json") {
        Format::Json
    } else if name.ends_with(".html") || name.ends_with(".htm") {
        Format::Html
    } else if name.ends_with(".folded") {
        Format::Folded
    } else if path.is_some_and(armtune_probes::pprof::is_pprof_name) {
        Format::Pprof
    } else {
        Format::Svg
    }
}

/// Where the pprof profile of family `name` goes beside the main one: `x.pb.gz` gives
/// `x.off-cpu.pb.gz`.
fn pprof_sibling(main: &Path, name: &str) -> PathBuf {
    let file = main.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let endings = armtune_probes::pprof::FILE_ENDINGS;
    let (stem, ext) = endings
        .iter()
        .find_map(|e| file.strip_suffix(e).map(|s| (s.to_string(), *e)))
        .unwrap_or((file.clone(), endings[0]));
    main.with_file_name(format!("{stem}.{name}{ext}"))
}

/// Examples, and the events `--event` takes as the parser knows them.
fn after_help() -> String {
    format!(
        "Examples:\n  \
         sudo armtune profile -- ./my-service --port 8080\n  \
         sudo armtune profile --pid 1234 --duration 30 -o service.svg\n  \
         sudo armtune profile --all --duration 10 --freq 999 --folded host.folded\n  \
         sudo armtune profile --format json -o profile.json -- make -j4\n  \
         sudo armtune profile -o cpu.pb.gz -- ./my-service   (pprof: go tool pprof, Pyroscope, Parca)\n  \
         sudo armtune profile --event off-cpu --min-block 1ms -o offcpu.svg --pid 1234\n  \
         sudo armtune profile --event alloc,leak -o mem.svg -- ./my-service\n\n\
         Events (--event, comma-separated; default cpu):\n{}\n\
         Needs root (or CAP_BPF + CAP_PERFMON). Ctrl-C stops early and still writes the output.",
        armtune_probes::events::help_table()
    )
}

/// Arguments of `armtune profile`.
#[derive(clap::Args, Debug)]
#[command(after_help = after_help())]
pub struct Args {
    /// Profile these running processes (repeat or comma-separate); processes they start are included.
    #[arg(short, long = "pid", value_name = "PID", value_delimiter = ',', conflicts_with = "all")]
    pids: Vec<u32>,
    /// Profile every process on the host (with --cgroup, --unit or --container: every process of
    /// that cgroup, which they say anyway).
    #[arg(short, long)]
    all: bool,
    #[command(flatten)]
    scope: crate::scope::Scope,
    /// Stop after this long (seconds, or with a unit: 500ms, 30s, 2m). Default: until the command or
    /// pids exit, or Ctrl-C.
    #[arg(short, long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// What to record, comma-separated (the list is below). cpu and off-cpu together draw one
    /// wall-time flame graph.
    #[arg(short, long, default_value = "cpu", value_name = "EVENTS")]
    event: String,
    /// Off-CPU: ignore blocks shorter than this (e.g. 100us, 1ms).
    #[arg(long, value_parser = parse_duration_or_zero, value_name = "DURATION", default_value = "0")]
    min_block: Duration,
    /// Scheduler events (off-cpu, runq, wakeup): N records one in N, chosen at random, and
    /// weighs each by N, so totals per stack stay unbiased estimates; R/s records about R per
    /// CPU-second, each weighed by the events it stands for, however fast the CPU switches
    /// (every event while it switches less); auto is 1000/s. Sampling cuts the cost of a
    /// context-switch storm; blocks that happen only a few times are then often missed.
    #[arg(long, value_name = "N|R/s|auto", default_value_t = SchedSample::Every(1))]
    sched_sample: SchedSample,
    /// Off-CPU: task states to record: S (sleeping), D (uninterruptible), R (preempted), all.
    #[arg(long, default_value = "S,D", value_name = "STATES")]
    off_cpu_state: String,
    /// Run-queue latency: a histogram per CPU as well.
    #[arg(long)]
    per_cpu: bool,
    /// Allocations: the library holding the allocator (default: the target's C library, or the
    /// program itself when it is static).
    #[arg(long, value_name = "PATH")]
    alloc_lib: Option<PathBuf>,
    /// Allocations: prefix of the allocator's symbols (je_ for a prefixed jemalloc).
    #[arg(long, default_value = "", value_name = "PREFIX")]
    alloc_prefix: String,
    /// SDT events: also look for probes in this file (repeatable); the target's program (and, for
    /// --pid, its mapped libraries) are searched anyway.
    #[arg(long, value_name = "PATH")]
    sdt_lib: Vec<PathBuf>,
    /// Allocations: record about one allocation per N bytes (a Poisson sample, as tcmalloc's) and
    /// scale the weights back; cuts armtune's work on allocation-heavy programs (not the uprobe traps).
    #[arg(long, value_name = "N", default_value_t = 0)]
    alloc_sample: u64,
    /// Allocations: weigh the allocation flame graph by bytes or by calls.
    #[arg(long, value_enum, default_value_t = AllocWeight::Bytes)]
    alloc_weight: AllocWeight,
    /// Stacks to record: both, user, kernel, or none (cheapest; off-CPU time then by process and
    /// state only).
    #[arg(long, value_enum, default_value_t = Stacks::Both)]
    stacks: Stacks,
    /// How user stacks are walked: fp (frame pointers, in the kernel; cheapest, but stops at code
    /// built without them, as most distribution libraries are), dwarf (copies registers and
    /// --stack-copy bytes of stack per event and unwinds them with the files' CFI, as
    /// `perf record --call-graph dwarf`), or auto (frame pointers for a process whose every file
    /// keeps them, dwarf for the others).
    #[arg(long, value_enum, default_value_t = Unwind::Auto, value_name = "HOW")]
    unwind: Unwind,
    /// With DEBUGINFOD_URLS set: how long, in all, fetching debug files for frames without names
    /// may take (0: ask no server).
    #[arg(long, value_parser = parse_duration_or_zero, default_value = "30s", value_name = "DURATION")]
    debuginfod_timeout: Duration,
    /// With --unwind dwarf or auto: the window of user stack copied per event, 8K to 128K (deeper stacks
    /// are truncated, and the summary counts them).
    #[arg(long, value_parser = parse_stack_copy, default_value = "32K", value_name = "SIZE")]
    stack_copy: u32,
    /// Scheduler events: BTF-typed tracepoints (cheaper per event; need the kernel's BTF), classic
    /// tracepoints (any kernel), or auto (BTF-typed when the kernel has BTF).
    #[arg(long, value_enum, default_value_t = SchedPath::Auto, value_name = "KIND")]
    tracepoints: SchedPath,
    /// Samples per second on each CPU (software cpu-clock). 99 avoids lockstep with periodic work.
    #[arg(short = 'F', long, default_value_t = 99)]
    freq: u64,
    /// Output file. Default: flame.svg for SVG; standard output for folded and JSON.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Output format. Default: from the output's extension (.json, .folded), else SVG.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Also write folded stacks here.
    #[arg(long, value_name = "PATH")]
    folded: Option<PathBuf>,
    /// Keep threads apart instead of merging a process's threads.
    #[arg(long)]
    per_thread: bool,
    /// Group the flame graphs by container or systemd unit: each stack starts with a frame
    /// naming the one its process ran in (`[container 3f2a9c1b7d8e]`, `[unit nginx.service]`),
    /// `[host]` for the rest.
    #[arg(long)]
    per_container: bool,
    /// Title of the flame graph.
    #[arg(long)]
    title: Option<String>,
    /// Do not print the summary.
    #[arg(short, long)]
    quiet: bool,
    /// Entries of the kernel stack map; raise it when stacks are reported lost.
    #[arg(long, default_value_t = armtune_probes::session::DEFAULT_STACK_ENTRIES, value_name = "N")]
    stack_map_size: u32,
    /// Entries of the kernel sample-count map; raise it when samples are reported lost.
    #[arg(long, default_value_t = armtune_probes::session::DEFAULT_COUNT_ENTRIES, value_name = "N")]
    count_map_size: u32,
    /// Entries of the kernel live-block map (leak view); raise it when live blocks are reported lost.
    #[arg(long, default_value_t = armtune_probes::session::DEFAULT_LIVE_ENTRIES, value_name = "N")]
    live_map_size: u32,
    /// The command to start and profile, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// Parses `1.5`, `500ms`, `30s`, `2m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = num.trim().parse().map_err(|_| format!("{s:?} is not a duration (examples: 10, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use ms, s, m or h")),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("duration must be positive, got {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `32K`, `32KiB`, `65536`: bytes, within `--stack-copy`'s 8 KiB to 128 KiB.
fn parse_stack_copy(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, scale) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => match t[i..].to_ascii_lowercase().as_str() {
            "k" | "kb" | "kib" => (&t[..i], 1024),
            other => return Err(format!("unknown unit {other:?} in {s:?}: give bytes or K (e.g. 64K)")),
        },
        None => (t, 1),
    };
    let value: u32 = num.trim().parse().map_err(|_| format!("{s:?} is not a size (examples: 16K, 65536)"))?;
    let bytes = value.checked_mul(scale).ok_or_else(|| format!("{s:?} is too large"))?;
    let (min, max) = (armtune_probes::options::MIN_STACK_COPY, armtune_probes::options::MAX_STACK_COPY);
    if !(min..=max).contains(&bytes) {
        return Err(format!("{s}: the stack copy must be between {}K and {}K", min / 1024, max / 1024));
    }
    // Whole words: the unwinder reads the stack eight bytes at a time.
    Ok(bytes & !7)
}

/// As [`parse_duration`], also accepting 0.
fn parse_duration_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse::<f64>() == Ok(0.0) {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

/// Why the profile stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Duration,
    Interrupted,
    Ended(Ended),
}

/// `armtune profile`.
pub fn run(args: Args) -> Result<Outcome> {
    let options = options_of(&args)?;
    let format = args.format.unwrap_or_else(|| format_of(args.output.as_deref()));
    // Open outputs before anything else, so a bad path costs nothing.
    let main_path = match (&args.output, format) {
        (Some(p), _) => Some(p.clone()),
        (None, Format::Svg) => Some(PathBuf::from("flame.svg")),
        // Binary: not for a terminal.
        (None, Format::Pprof) => Some(PathBuf::from("profile.pb.gz")),
        (None, Format::Html) => Some(PathBuf::from("profile.html")),
        (None, _) => None,
    };
    let main_out = main_path.as_deref().map(OutputFile::create).transpose()?;
    let folded_out = args.folded.as_deref().map(OutputFile::create).transpose()?;

    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second Ctrl-C while armtune is still writing quits at once (the kernel drops the
        // probes with the process); the first one stops the profile and writes the output.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&interrupted))?;
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let mut session = Session::start(options, &interrupted)?;
    let stop = record(&mut session, &args, &interrupted)?;
    let capture = session.stop()?;
    let exit = end_command(stop, &mut session);

    let mut symbolizer = Symbolizer::new();
    symbolizer.set_debuginfod_budget(args.debuginfod_timeout);
    let mut report = Report::build_with(&capture, &mut symbolizer, args.alloc_weight);
    if args.per_container {
        report.group_by_container();
    }
    for warning in &report.warnings {
        eprintln!("armtune: warning: {warning}");
    }
    write_outputs(&report, &args, format, main_out, folded_out)?;
    // Detach and unload everything now that the output is safe (dropping costs RCU grace periods).
    drop(session);
    if !args.quiet {
        eprint!("{}", summary::render_report(&report));
    }
    if report.main_profile().is_some_and(|p| p.total() == 0) {
        eprintln!("armtune: nothing was recorded: the target did not run (or block) while profiled");
    }
    Ok(Outcome(match (stop, exit) {
        (_, Some(status)) => status.shell_code().clamp(0, 255) as u8,
        _ => 0,
    }))
}

/// The session options the arguments ask for; a one-line error for what cannot work.
fn options_of(args: &Args) -> Result<Options> {
    let cgroup = args.scope.cgroup()?;
    if cgroup.is_some() && (!args.command.is_empty() || !args.pids.is_empty()) {
        bail!("--cgroup, --unit and --container choose the processes themselves: give no command or --pid with them");
    }
    if let Some(cgroup) = cgroup {
        return options_for(args, Target::Cgroup(cgroup));
    }
    let target = match (args.command.is_empty(), args.pids.is_empty(), args.all) {
        (false, true, false) => Target::Command(args.command.clone()),
        (true, false, false) => Target::Pids(args.pids.clone()),
        (true, true, true) => Target::All,
        (true, true, false) => {
            bail!("nothing to profile: give a command after `--`, --pid PID, or --all")
        }
        _ => bail!("give only one of: a command after `--`, --pid, --all"),
    };
    options_for(args, target)
}

/// The session options for `target` and the rest of the arguments.
fn options_for(args: &Args, target: Target) -> Result<Options> {
    if args.freq == 0 {
        bail!("--freq 0: the sampling frequency must be at least 1 Hz");
    }
    let (events, sdt) = EventSet::parse_with_sdt(&args.event)?;
    Ok(Options {
        target,
        frequency: args.freq,
        off_cpu_states: TaskStates::parse(&args.off_cpu_state)?,
        events,
        per_thread: args.per_thread,
        stack_entries: args.stack_map_size,
        count_entries: args.count_map_size,
        live_entries: args.live_map_size,
        min_block: args.min_block,
        sched_sample: args.sched_sample,
        runq_per_cpu: args.per_cpu,
        stacks: args.stacks,
        unwind: args.unwind,
        stack_copy: args.stack_copy,
        alloc_lib: args.alloc_lib.clone(),
        alloc_prefix: args.alloc_prefix.clone(),
        sdt,
        sdt_libs: args.sdt_lib.clone(),
        alloc_sample: args.alloc_sample,
        sched_path: args.tracepoints,
    })
}

/// Records until the target ends, `--duration` passes or Ctrl-C, showing progress meanwhile.
fn record(session: &mut Session, args: &Args, interrupted: &AtomicBool) -> Result<Stop> {
    let progress = Progress::new(args.duration);
    let stop = loop {
        if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            break Stop::Interrupted;
        }
        if args.duration.is_some_and(|d| session.elapsed() >= d) {
            break Stop::Duration;
        }
        let wait = args.duration.map_or(Duration::from_millis(100), |d| {
            d.saturating_sub(session.elapsed()).min(Duration::from_millis(100))
        });
        if let Some(ended) = session.poll(wait)? {
            break Stop::Ended(ended);
        }
        progress.update(session.elapsed(), args.duration, &session.counters()?);
    };
    progress.finish();
    Ok(stop)
}

/// Sampling has stopped; a command still running is told to stop and waited for. Returns its
/// exit status, if armtune started one.
fn end_command(stop: Stop, session: &mut Session) -> Option<ExitStatus> {
    match (stop, session.take_child()) {
        (Stop::Ended(Ended::CommandExited(status)), _) => Some(status),
        (_, Some(mut child)) => {
            child.signal(if stop == Stop::Interrupted { libc::SIGINT } else { libc::SIGTERM });
            let status = child.wait();
            // Ended by our own SIGTERM at the end of --duration: that is success, not the command's failure.
            Some(if stop == Stop::Duration && status == ExitStatus::Signal(libc::SIGTERM) {
                ExitStatus::Code(0)
            } else {
                status
            })
        }
        _ => None,
    }
}

fn write_outputs(
    report: &Report,
    args: &Args,
    format: Format,
    main_out: Option<OutputFile>,
    folded_out: Option<OutputFile>,
) -> Result<()> {
    let mut graphs = report.flame_graphs().into_iter();
    let (main_title, profile) = match graphs.next() {
        Some(g) => (g.title, g.profile),
        None => {
            if !matches!(format, Format::Json | Format::Html) {
                eprintln!("armtune: the chosen events draw no flame graph: the summary and --format json hold them");
            }
            if format == Format::Pprof && !report.runq.is_empty() {
                eprintln!("armtune: run-queue latency has no stacks, so pprof cannot hold it: it is left out (the summary and --format json have it)");
            }
            ("Flame Graph", Profile::new(armtune_probes::profile::Unit::samples(), Default::default()))
        }
    };
    let labels = Labels::of(&profile, args.title.clone().unwrap_or_else(|| main_title.into()));
    let svg = |p: &Profile, labels: &Labels, w: &mut dyn Write| match flame::render(p, labels, &mut *w) {
        // An empty profile still gets an SVG that says so.
        Err(e) if p.total() == 0 && e.kind() == std::io::ErrorKind::InvalidData => Ok(()),
        other => other,
    };
    let mut pprofs = match format {
        Format::Pprof => report.pprof_profiles(),
        _ => Vec::new(),
    }
    .into_iter();
    let main_pprof = pprofs.next().map(|(_, p)| p).unwrap_or_default();
    let write_main = |w: &mut dyn Write| match format {
        Format::Svg => svg(&profile, &labels, w),
        Format::Folded => profile.write_folded(w),
        Format::Json => serde_json::to_writer_pretty(&mut *w, &report.to_json()).map_err(std::io::Error::other),
        Format::Pprof => armtune_probes::pprof::write(&main_pprof, w),
        Format::Html => w.write_all(
            crate::report::page_of_run(report, args.title.as_deref().unwrap_or("armtune profile")).as_bytes(),
        ),
    };
    let main_path = main_out.as_ref().map(|o| o.path().to_path_buf());
    match main_out {
        Some(out) => {
            let path = out.path().display().to_string();
            out.write_with(write_main)?;
            eprintln!("armtune: wrote {path}");
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            write_main(&mut lock)?;
            lock.flush()?;
        }
    }
    if let Some(out) = folded_out {
        let path = out.path().display().to_string();
        out.write_with(|w| profile.write_folded(w))?;
        eprintln!("armtune: wrote {path}");
    }
    match (main_path, format) {
        // The other families get pprof files of their own: NAME.off-cpu.pb.gz, ...
        (Some(main_path), Format::Pprof) => {
            write_siblings(pprofs, |name| pprof_sibling(&main_path, name), |p, w| armtune_probes::pprof::write(p, w))
        }
        // The other flame graphs get files of their own beside an SVG main output: NAME.alloc.svg, ...
        (Some(main_path), Format::Svg) => write_siblings(
            graphs.map(|g| (g.name, g)),
            |name| main_path.with_extension(format!("{name}.svg")),
            |g, w| svg(&g.profile, &Labels::of(&g.profile, g.title.into()), w),
        ),
        _ => Ok(()),
    }
}

/// Writes each `(name, item)` to the file `path_of(name)` with `write`, saying so.
fn write_siblings<T>(
    items: impl Iterator<Item = (&'static str, T)>,
    path_of: impl Fn(&str) -> PathBuf,
    write: impl Fn(&T, &mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    for (name, item) in items {
        let path = path_of(name);
        OutputFile::create(&path)?.write_with(|w| write(&item, w))?;
        eprintln!("armtune: wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_pick_formats_and_pprof_siblings() {
        assert_eq!(format_of(Some(Path::new("p.pb.gz"))), Format::Pprof);
        assert_eq!(format_of(Some(Path::new("p.pprof"))), Format::Pprof);
        assert_eq!(format_of(Some(Path::new("p.json"))), Format::Json);
        assert_eq!(format_of(Some(Path::new("p.gz"))), Format::Svg);
        assert_eq!(format_of(None), Format::Svg);
        assert_eq!(pprof_sibling(Path::new("out/x.pb.gz"), "off-cpu"), Path::new("out/x.off-cpu.pb.gz"));
        assert_eq!(pprof_sibling(Path::new("x.pprof"), "leak"), Path::new("x.leak.pprof"));
        assert_eq!(pprof_sibling(Path::new("x"), "leak"), Path::new("x.leak.pb.gz"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("3d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("abc").is_err());
    }
}
