//! `armtune agent`: continuous CPU profiling of the host (or some processes) in fixed windows that
//! never stop sampling between them, each window turned into pprof and pushed to Grafana
//! Pyroscope and/or written to a rotated directory.

pub mod labels;
pub mod push;
pub mod spool;

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime},
};

use anyhow::{bail, Result};
use armtune_probes::{
    options::{EventSet, Options, Target},
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
    /// Samples per second on each CPU.
    #[arg(short = 'F', long, default_value_t = 99)]
    freq: u64,
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
}

/// Addresses whose names the agent keeps between windows, at most (about 200 bytes each with
/// their names); a host running many programs reaches it in hours, then the caches start over.
const MAX_CACHED_ADDRESSES: usize = 200_000;

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
    let target = if args.pids.is_empty() { Target::All } else { Target::Pids(args.pids.clone()) };
    let options = Options { target, frequency: args.freq, events: EventSet::default(), ..Options::default() };
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while the last window is flushed quits at once.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&interrupted))?;
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let mut session = Session::start(options, &interrupted)?;
    eprintln!(
        "armtune agent: profiling {} at {} Hz in {} s windows",
        if args.pids.is_empty() { "the host".to_string() } else { format!("pids {:?}", args.pids) },
        args.freq,
        args.interval.as_secs_f64()
    );
    // Names are cached across windows: a long-running agent reads each file once.
    let mut symbolizer = Symbolizer::new();
    let started = Instant::now();
    let mut window_from = SystemTime::now();
    let mut next = started + args.interval;
    for number in 1.. {
        let ended = wait_for_window(&mut session, next, &args, started, &interrupted)?;
        let (capture, evicted) = session.window()?;
        let until = SystemTime::now();
        let report = Report::build(&capture, &mut symbolizer);
        // Bounded: past this many cached addresses the symbolizer starts over.
        if symbolizer.next_window(MAX_CACHED_ADDRESSES) {
            eprintln!("armtune agent: symbol caches dropped (over {MAX_CACHED_ADDRESSES} addresses)");
        }
        let samples = capture.meta.samples;
        deliver(&report, (window_from, until), &mut sinks);
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

/// Sends one window's CPU profile to the sinks (nothing for a window without samples).
fn deliver(report: &Report, (from, until): (SystemTime, SystemTime), sinks: &mut Sinks) {
    let Some((_, message)) = report.pprof_profiles().into_iter().find(|(name, _)| *name == "cpu") else { return };
    if message.sample.is_empty() {
        return;
    }
    let mut bytes = Vec::new();
    armtune_probes::pprof::write(&message, &mut bytes).expect("writing to memory");
    if let Some(spool) = &sinks.spool {
        if let Err(e) = spool.write(&bytes, until) {
            sinks.unwritten += 1;
            eprintln!("armtune agent: {e:#}");
        }
    }
    if let Some(pusher) = &sinks.pusher {
        let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        pusher.push(push::Window { pprof: bytes, from: unix(from), until: unix(until) });
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
