//! `armtune agent`: continuous CPU profiling of the host (or some processes) in fixed windows that
//! never stop sampling between them, each window turned into pprof and pushed to Grafana
//! Pyroscope and/or written to a rotated directory.

pub mod grpc;
pub mod labels;
pub mod push;
pub mod spool;
pub mod tls;

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime},
};

use anyhow::{bail, Result};
use armtune_probes::{
    options::{EventSet, Options, SchedSample, Target},
    report::Report,
    session::Session,
    symbolize::Symbolizer,
};

use crate::{profile_cmd::parse_duration, Outcome};

/// `armtune agent` arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    sudo armtune agent --push http://pyroscope:4040 --label service=api\n  \
    sudo armtune agent --output-dir /var/lib/armtune --keep 8640 --interval 10s\n  \
    sudo armtune agent --pid 1234 --push http://pyroscope:4040 --token-file /etc/armtune/token")]
pub struct Args {
    /// Profile only these processes (and the processes they start); default: the whole host.
    #[arg(short, long = "pid", value_name = "PID", value_delimiter = ',')]
    pids: Vec<u32>,
    #[command(flatten)]
    scope: crate::scope::Scope,
    /// Samples per second on each CPU.
    #[arg(short = 'F', long, default_value_t = 99)]
    freq: u64,
    /// Also record off-CPU time (blocks in sleeps, locks, I/O; states S and D), as a second
    /// profile per window: a block comes in the window it ends.
    #[arg(long)]
    off_cpu: bool,
    /// With --off-cpu: which context switches are recorded, each weighed by the switches it
    /// stands for (see `armtune profile --sched-sample`): N (one in N), R/s (about R per
    /// CPU-second), or auto (1000/s: every switch on a quiet host, few enough in a context-switch
    /// storm); 1 records every one.
    #[arg(long, value_name = "N|R/s|auto", default_value_t = SchedSample::PerCpuSecond(SchedSample::AUTO_RATE))]
    sched_sample: SchedSample,
    /// Also record allocations (the C library's malloc family, as `armtune profile --event alloc`
    /// does), as a third profile per window: objects and bytes allocated in it, by stack.
    #[arg(long)]
    alloc: bool,
    /// With --alloc: record about one allocation per N bytes and scale the weights back (Go's
    /// runtime samples one per 512 KiB by default too); 0 records every call.
    #[arg(long, value_name = "N", default_value_t = 524_288)]
    alloc_sample: u64,
    /// Length of each window.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    interval: Duration,
    /// Stop after this long (default: until SIGTERM or Ctrl-C, which flush the last window).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    duration: Option<Duration>,
    /// Push each window to this server (`http://pyroscope:4040`, `http://parca:7070`).
    #[arg(long, value_name = "URL")]
    push: Option<String>,
    /// The kind of server --push names.
    #[arg(long, value_enum, default_value = "pyroscope", value_name = "KIND")]
    backend: push::Backend,
    /// The application name windows are pushed under (Pyroscope shows it as NAME.cpu; Parca as
    /// the `job` label).
    #[arg(long, default_value = "armtune", value_name = "NAME")]
    app: String,
    /// A label for every window (repeatable); host, arch, kernel and board are always added.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = labels::parse)]
    labels: Vec<(String, String)>,
    /// A file holding a bearer token for the server (or ARMTUNE_PUSH_TOKEN in the environment;
    /// never on the command line, where `ps` shows it).
    #[arg(long, value_name = "FILE", conflicts_with = "basic_auth_file")]
    token_file: Option<PathBuf>,
    /// A file holding `USER:PASSWORD` for HTTP basic auth (or ARMTUNE_PUSH_USER and
    /// ARMTUNE_PUSH_PASSWORD in the environment).
    #[arg(long, value_name = "FILE")]
    basic_auth_file: Option<PathBuf>,
    /// PEM certificates to trust for an https:// --push server besides the public roots (a
    /// private CA).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Tenant (X-Scope-OrgID) of a multi-tenant server.
    #[arg(long, value_name = "ID")]
    tenant: Option<String>,
    /// How long one push may take before it counts as failed.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    push_timeout: Duration,
    /// Windows waiting to be pushed at most; when another comes, the oldest is dropped (counted).
    #[arg(long, default_value_t = 6, value_name = "N")]
    queue: usize,
    /// Write each window to this directory as cpu-YYYYMMDDTHHMMSS.mmmZ.pb.gz.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Windows kept in --output-dir (the oldest are removed).
    #[arg(long, default_value_t = 360, value_name = "N")]
    keep: usize,
    /// MiB kept in --output-dir at most (the oldest windows are removed).
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    max_dir_size: u64,
    /// Soft limit on the agent's resident memory, MiB: when a window ends above it, the symbol
    /// caches are dropped (files are read again as samples need them). Naming a sample in a huge
    /// binary (a compiler, a browser) can take far more for a moment; this brings it back. Files
    /// are named with their DWARF (inlined functions) while all of it stays within a tenth of this;
    /// the others are named from their symbol tables.
    #[arg(long, default_value_t = 52, value_name = "MIB")]
    memory_limit: u64,
}

/// Addresses whose names the agent keeps between windows, at most (about 200 bytes each with
/// their names); a host running many programs reaches it in hours, then the caches start over.
const MAX_CACHED_ADDRESSES: usize = 200_000;

/// The DWARF files are named with is at most this fraction of `--memory-limit`: blazesym holds
/// about three bytes of caches per byte of it (pyenv's libpython3.11: 16 MiB of DWARF, 50 MiB
/// held), and the agent's own baseline (its code, the kernel's symbols, the maps of live
/// processes) is over half the default limit.
const DWARF_SHARE: u64 = 10;

/// Where the windows go.
struct Sinks {
    pusher: Option<push::Pusher>,
    spool: Option<spool::Spool>,
    /// Windows that could not be written to the directory.
    unwritten: u64,
}

/// `armtune agent`.
pub fn run(args: Args) -> Result<Outcome> {
    if args.push.is_none() && args.output_dir.is_none() {
        bail!("nowhere to send the windows: give --push URL (Pyroscope) and/or --output-dir DIR");
    }
    if args.freq == 0 {
        bail!("--freq 0: the sampling frequency must be at least 1 Hz");
    }
    let mut sinks = sinks(&args)?;
    let (target, scope) = target_of(&args)?;
    let mut events = vec!["cpu"];
    events.extend(args.off_cpu.then_some("off-cpu"));
    events.extend(args.alloc.then_some("alloc"));
    let options = Options {
        target,
        frequency: args.freq,
        events: EventSet::parse(&events.join(","))?,
        sched_sample: args.sched_sample,
        alloc_sample: if args.alloc { args.alloc_sample } else { 0 },
        ..Options::default()
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while the last window is flushed quits at once.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&interrupted))?;
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let mut session = Session::start(options, &interrupted)?;
    eprintln!(
        "armtune agent: profiling {} at {} Hz{} in {} s windows",
        scope,
        args.freq,
        families_told(&args),
        args.interval.as_secs_f64()
    );
    // Names are cached across windows: a long-running agent reads each file once.
    let mut symbolizer = Symbolizer::new();
    symbolizer.set_dwarf_limit((args.memory_limit << 20) / DWARF_SHARE);
    let mut told_refused = HashSet::new();
    let started = Instant::now();
    let mut window_from = SystemTime::now();
    let mut next = started + args.interval;
    for number in 1.. {
        let ended = wait_for_window(&mut session, next, &args, started, &interrupted)?;
        let (capture, evicted) = session.window()?;
        let until = SystemTime::now();
        let report = Report::build(&capture, &mut symbolizer);
        tell_refused(&symbolizer, &mut told_refused);
        let samples = capture.meta.samples;
        deliver(&report, (window_from, until), &mut sinks);
        drop((report, capture));
        bound_memory(&mut symbolizer, args.memory_limit);
        status(number, samples, evicted.keys, &sinks);
        window_from = until;
        next += args.interval;
        if ended {
            break;
        }
    }
    // Detach every probe before the last pushes, which may take the grace period.
    drop(session);
    if let Some(pusher) = sinks.pusher.take() {
        let tally = pusher.finish(args.push_timeout);
        let failing = tally.last_error.map(|e| format!(" (failing: {e})")).unwrap_or_default();
        eprintln!("armtune agent: stopped; pushed {}, dropped {}{failing}", tally.pushed, tally.dropped);
    }
    Ok(Outcome(0))
}

/// Logs, once each, the files named from their symbol tables because their DWARF was over
/// the budget.
fn tell_refused(symbolizer: &Symbolizer, told: &mut HashSet<PathBuf>) {
    for (path, size) in symbolizer.dwarf_refused() {
        if told.insert(path.clone()) {
            eprintln!(
                "armtune agent: {} has {} MiB of DWARF, over the agent's budget of a tenth of --memory-limit: \
                 its frames are named from its symbol table, without the functions inlined into them",
                armtune_probes::roots::shown(&path.to_string_lossy()),
                size.div_ceil(1 << 20)
            );
        }
    }
}

/// What the agent records besides CPU samples, for its first log line.
fn families_told(args: &Args) -> String {
    let mut told = String::new();
    if args.off_cpu {
        told += &match args.sched_sample {
            SchedSample::Every(n) => format!(", off-CPU time (one switch in {n})"),
            SchedSample::PerCpuSecond(r) => format!(", off-CPU time (about {r} switches a CPU-second)"),
        };
    }
    if args.alloc {
        told += &match args.alloc_sample {
            0 => ", every allocation".to_string(),
            n => format!(", allocations (one per {n} bytes)"),
        };
    }
    told
}

/// What the agent profiles, and how its log names it.
fn target_of(args: &Args) -> Result<(Target, String)> {
    let target = match args.scope.cgroup()? {
        Some(_) if !args.pids.is_empty() => {
            bail!("--cgroup, --unit and --container choose the processes themselves: give no --pid with them")
        }
        Some(cgroup) => Target::Cgroup(cgroup),
        None if args.pids.is_empty() => Target::All,
        None => Target::Pids(args.pids.clone()),
    };
    let scope = match &target {
        Target::All => "the host".to_string(),
        Target::Pids(pids) => format!("pids {pids:?}"),
        other => other.describe(),
    };
    Ok((target, scope))
}

/// Keeps the agent's memory bounded between windows: past [`MAX_CACHED_ADDRESSES`] names, or
/// above `limit_mib` resident, the symbol caches start over; freed heap goes back to the kernel.
fn bound_memory(symbolizer: &mut Symbolizer, limit_mib: u64) {
    if symbolizer.next_window(MAX_CACHED_ADDRESSES) {
        eprintln!("armtune agent: symbol caches dropped (over {MAX_CACHED_ADDRESSES} addresses)");
    }
    // SAFETY: malloc_trim only hands free pages of glibc's heap back to the kernel.
    unsafe { libc::malloc_trim(0) };
    let resident = resident_mib();
    if resident > limit_mib {
        symbolizer.drop_caches();
        // SAFETY: as above.
        unsafe { libc::malloc_trim(0) };
        eprintln!(
            "armtune agent: symbol caches dropped ({resident} MiB resident, over --memory-limit {limit_mib}; now {} MiB)",
            resident_mib()
        );
    }
}

/// This process's resident memory, MiB (0 when /proc cannot say).
fn resident_mib() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()))
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    (pages * page) >> 20
}

/// The pusher and the directory the arguments ask for.
fn sinks(args: &Args) -> Result<Sinks> {
    let spool = args
        .output_dir
        .as_deref()
        .map(|dir| spool::Spool::open(dir, args.keep, args.max_dir_size << 20))
        .transpose()?;
    let pusher = match &args.push {
        Some(url) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("--push {url}: give the server's http:// or https:// URL");
            }
            let mut labels = labels::host_labels();
            labels.extend(args.labels.iter().cloned());
            let target = push::Target {
                backend: args.backend,
                url: url.clone(),
                app: args.app.clone(),
                labels,
                authorization: labels::authorization(args.token_file.as_deref(), args.basic_auth_file.as_deref())?,
                tenant: args.tenant.clone(),
                tls: tls::client_config(args.ca_file.as_deref(), args.backend.alpn()).map_err(anyhow::Error::msg)?,
                sample_rate: args.freq,
                timeout: args.push_timeout,
                attempts: 4,
            };
            Some(push::Pusher::start(target, args.queue))
        }
        None => None,
    };
    Ok(Sinks { pusher, spool, unwritten: 0 })
}

/// Polls the session until the window's end; true when the agent should stop after this window
/// (signal, --duration, the --pid processes gone).
fn wait_for_window(
    session: &mut Session,
    until: Instant,
    args: &Args,
    started: Instant,
    interrupted: &AtomicBool,
) -> Result<bool> {
    let end = args.duration.map_or(until, |d| until.min(started + d));
    loop {
        if interrupted.load(Ordering::SeqCst) {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= end {
            return Ok(args.duration.is_some_and(|d| now >= started + d));
        }
        if session.poll((end - now).min(Duration::from_millis(100)))?.is_some() {
            return Ok(true);
        }
    }
}

/// Sends one window's profiles (CPU, and off-CPU when recorded) to the sinks; a profile without
/// samples is not sent.
fn deliver(report: &Report, (from, until): (SystemTime, SystemTime), sinks: &mut Sinks) {
    for (name, message) in report.pprof_profiles() {
        let Some(family) = push::Family::of(name) else { continue };
        if message.sample.is_empty() {
            continue;
        }
        let mut bytes = Vec::new();
        armtune_probes::pprof::write(&message, &mut bytes).expect("writing to memory");
        if let Some(spool) = &sinks.spool {
            if let Err(e) = spool.write(family.file_prefix(), &bytes, until) {
                sinks.unwritten += 1;
                eprintln!("armtune agent: {e:#}");
            }
        }
        if let Some(pusher) = &sinks.pusher {
            let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            pusher.push(push::Window { family, pprof: bytes, from: unix(from), until: unix(until) });
        }
    }
}

/// One status line per window, for the agent's log.
fn status(number: u64, samples: u64, evicted: usize, sinks: &Sinks) {
    let mut line = format!("armtune agent: window {number}: {samples} samples");
    if evicted > 0 {
        line += &format!(", {evicted} idle stacks released");
    }
    if let Some(pusher) = &sinks.pusher {
        let t = pusher.tally();
        line += &format!("; pushed {}, queued {}, dropped {}", t.pushed, t.queued, t.dropped);
        if let Some(e) = t.last_error {
            line += &format!(" (failing: {e})");
        }
    }
    if sinks.unwritten > 0 {
        line += &format!("; {} windows not written", sinks.unwritten);
    }
    eprintln!("{line}");
}
