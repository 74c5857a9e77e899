//! Pushing windows, from a bounded queue on a thread of its own (a backend that is down or slow
//! delays pushes, never sampling), to Grafana Pyroscope's HTTP ingest API (`POST /ingest`,
//! `format=pprof`, the profile and its sample-type configuration as `multipart/form-data` form
//! files, as its API reference describes) or to Parca's `ProfileStoreService.WriteRaw` through the
//! HTTP mapping its proto declares (`POST /profiles/writeraw`, the request as JSON).

use std::{
    collections::VecDeque,
    sync::{Arc, Condvar, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// Which server takes the windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Grafana Pyroscope (`POST /ingest`).
    Pyroscope,
    /// Parca (`POST /profiles/writeraw`, WriteRaw's HTTP mapping).
    Parca,
    /// Parca's gRPC API (`ProfileStoreService.WriteRaw`), as parca-agent sends to it.
    ParcaGrpc,
}

impl Backend {
    /// The protocols offered in TLS's ALPN: gRPC needs HTTP/2; ureq speaks HTTP/1.1 alone.
    pub fn alpn(self) -> &'static [&'static [u8]] {
        match self {
            Backend::ParcaGrpc => &[b"h2"],
            Backend::Pyroscope | Backend::Parca => &[b"http/1.1"],
        }
    }
}

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct Target {
    /// The kind of server.
    pub backend: Backend,
    /// The server (`http://pyroscope:4040`); the API's path is added.
    pub url: String,
    /// The application name: Pyroscope's `name` prefix, Parca's `job` label.
    pub app: String,
    /// The labels of every window (host, arch, ..., the user's).
    pub labels: Vec<(String, String)>,
    /// `Authorization` header value (`Bearer ...`, `Basic ...`), from a file or the environment.
    pub authorization: Option<String>,
    /// `X-Scope-OrgID`, for a multi-tenant server.
    pub tenant: Option<String>,
    /// Whom an `https://` server must prove to be ([`super::tls::client_config`]).
    pub tls: Arc<tokio_rustls::rustls::ClientConfig>,
    /// Sampling frequency, for `sampleRate`.
    pub sample_rate: u64,
    /// How long one request may take.
    pub timeout: Duration,
    /// Attempts per window before it is dropped.
    pub attempts: u32,
}

/// The profile a window holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// CPU samples (`samples/count`, `cpu/nanoseconds`).
    Cpu,
    /// Off-CPU time of blocks that ended in the window (`off_cpu/nanoseconds`).
    OffCpu,
    /// Allocations made in the window (`alloc_objects/count`, `alloc_space/bytes`).
    Alloc,
}

impl Family {
    /// Every family, in the order a window's profiles come.
    pub const ALL: [Family; 3] = [Family::Cpu, Family::OffCpu, Family::Alloc];

    /// The family of a profile `Report::pprof_profiles` names, if the agent sends it.
    pub fn of(name: &str) -> Option<Family> {
        match name {
            "cpu" => Some(Family::Cpu),
            "off-cpu" => Some(Family::OffCpu),
            "alloc" => Some(Family::Alloc),
            _ => None,
        }
    }

    /// How its files in `--output-dir` begin.
    pub fn file_prefix(self) -> &'static str {
        match self {
            Family::Cpu => "cpu-",
            Family::OffCpu => "off-cpu-",
            Family::Alloc => "alloc-",
        }
    }

    /// Pyroscope's sample-type configuration for it, as the API reference describes it: CPU
    /// samples summed with the sampling rate applied; off-CPU nanoseconds summed as they are;
    /// allocations as Pyroscope takes Go's allocation profiles (objects and bytes, summed: under
    /// `--alloc-sample` armtune has already scaled them to estimates).
    fn sample_type_config(self) -> &'static str {
        match self {
            Family::Cpu => r#"{"cpu":{"units":"samples","aggregation":"sum","display-name":"cpu","sampled":true}}"#,
            Family::OffCpu => {
                r#"{"off_cpu":{"units":"nanoseconds","aggregation":"sum","display-name":"off_cpu","sampled":false}}"#
            }
            Family::Alloc => concat!(
                r#"{"alloc_objects":{"units":"objects","aggregation":"sum","display-name":"alloc_objects","sampled":false},"#,
                r#""alloc_space":{"units":"bytes","aggregation":"sum","display-name":"alloc_space","sampled":false}}"#
            ),
        }
    }

    /// Parca's `__name__` for it: `process_cpu` as Parca names CPU profiles it scrapes from Go's
    /// pprof endpoints; `off_cpu` for time blocked; `memory` for allocations, as Parca names
    /// Go's allocation and heap profiles.
    fn parca_name(self) -> &'static str {
        match self {
            Family::Cpu => "process_cpu",
            Family::OffCpu => "off_cpu",
            Family::Alloc => "memory",
        }
    }
}

/// One window to push: gzipped pprof and the UNIX seconds it covers.
#[derive(Debug, Clone)]
pub struct Window {
    /// Which profile it is.
    pub family: Family,
    /// The profile.
    pub pprof: Vec<u8>,
    /// When it started.
    pub from: u64,
    /// When it ended.
    pub until: u64,
}

/// What the pusher has done so far.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Windows the server took.
    pub pushed: u64,
    /// Windows given up on: pushed out of a full queue, refused, or failing every attempt.
    pub dropped: u64,
    /// Windows waiting.
    pub queued: usize,
    /// The last failure since the last push that went through, for the status line.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Window>,
    tally: Tally,
    closing: bool,
}

/// The queue and the thread that empties it.
pub struct Pusher {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    capacity: usize,
    thread: Option<JoinHandle<()>>,
}

impl Pusher {
    /// Starts the pushing thread; at most `capacity` windows wait (the oldest goes first when
    /// another comes: recent profiles matter more).
    pub fn start(target: Target, capacity: usize) -> Pusher {
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("armtune-push".into())
            .spawn(move || run(&target, &worker))
            .expect("spawning the push thread");
        Pusher { shared, capacity: capacity.max(1), thread: Some(thread) }
    }

    /// Queues a window.
    pub fn push(&self, window: Window) {
        let (lock, wake) = &*self.shared;
        let mut shared = lock.lock().unwrap();
        if shared.queue.len() >= self.capacity {
            shared.queue.pop_front();
            shared.tally.dropped += 1;
            shared.tally.last_error = Some("the queue was full: the server is slower than the windows".into());
        }
        shared.queue.push_back(window);
        shared.tally.queued = shared.queue.len();
        wake.notify_one();
    }

    /// What has happened so far.
    pub fn tally(&self) -> Tally {
        self.shared.0.lock().unwrap().tally.clone()
    }

    /// Pushes what is queued, trying each window once more, for at most `grace`; what is left
    /// then is dropped. Returns the final tally.
    pub fn finish(mut self, grace: Duration) -> Tally {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap().closing = true;
        wake.notify_all();
        let deadline = Instant::now() + grace;
        if let Some(thread) = self.thread.take() {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            // A request still hanging past the grace is abandoned with the process.
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
        let mut shared = lock.lock().unwrap();
        let left = shared.queue.len() as u64;
        shared.tally.dropped += left;
        shared.queue.clear();
        shared.tally.queued = 0;
        shared.tally.clone()
    }
}

/// The push thread: each window in turn, retried with doubling pauses.
fn run(target: &Target, shared: &(Mutex<Shared>, Condvar)) {
    let agent = ureq::AgentBuilder::new().timeout(target.timeout).tls_config(target.tls.clone()).build();
    while let Some((window, closing)) = next_window(shared) {
        // Closing: one attempt each, the grace is short.
        let attempts = if closing { 1 } else { target.attempts.max(1) };
        let result = send_with_retries(&agent, target, &window, attempts, &shared.0);
        let mut s = shared.0.lock().unwrap();
        match result {
            Ok(()) => {
                s.tally.pushed += 1;
                s.tally.last_error = None;
            }
            Err(e) => {
                s.tally.dropped += 1;
                s.tally.last_error = Some(e);
            }
        }
    }
}

/// The next window to push (and whether the agent is closing), waiting for one; `None` once the
/// agent is closing and the queue is empty.
fn next_window((lock, wake): &(Mutex<Shared>, Condvar)) -> Option<(Window, bool)> {
    let mut s = lock.lock().unwrap();
    while s.queue.is_empty() && !s.closing {
        s = wake.wait(s).unwrap();
    }
    let window = s.queue.pop_front()?;
    s.tally.queued = s.queue.len();
    Some((window, s.closing))
}

/// Pushes `window`, up to `attempts` times with doubling pauses (fewer once the agent closes).
fn send_with_retries(
    agent: &ureq::Agent,
    target: &Target,
    window: &Window,
    attempts: u32,
    lock: &Mutex<Shared>,
) -> Result<(), String> {
    let mut result = Err(String::new());
    for attempt in 0..attempts {
        result = send(agent, target, window);
        let Err(e) = &result else { break };
        let closing = {
            let mut s = lock.lock().unwrap();
            // Said at once, not after the last retry: the log shows a server down while it is.
            s.tally.last_error = Some(e.clone());
            s.closing
        };
        if closing || attempt + 1 == attempts {
            break;
        }
        std::thread::sleep(Duration::from_millis(500 << attempt.min(4)));
    }
    result
}

/// One push of `window`, as the backend takes it.
fn send(agent: &ureq::Agent, target: &Target, window: &Window) -> Result<(), String> {
    let (url, request, body) = match target.backend {
        Backend::Pyroscope => pyroscope_request(agent, target, window),
        Backend::Parca => parca_request(agent, target, window),
        Backend::ParcaGrpc => {
            let call = super::grpc::Call {
                url: &target.url,
                authorization: target.authorization.as_deref(),
                tenant: target.tenant.as_deref(),
                timeout: target.timeout,
                tls: &target.tls,
            };
            return super::grpc::call(
                &call,
                super::grpc::write_raw_message(&parca_labels(target, window), &window.pprof),
            );
        }
    };
    let mut request = request;
    if let Some(auth) = &target.authorization {
        request = request.set("Authorization", auth);
    }
    if let Some(tenant) = &target.tenant {
        request = request.set("X-Scope-OrgID", tenant);
    }
    match request.send_bytes(&body) {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, response)) => {
            let text = response.into_string().unwrap_or_default();
            Err(format!("{url}: HTTP {code}: {}", text.lines().next().unwrap_or("").trim()))
        }
        Err(e) => Err(format!("{url}: {e}")),
    }
}

/// Pyroscope's `POST /ingest`: the profile and its sample-type configuration as form files.
fn pyroscope_request(agent: &ureq::Agent, target: &Target, window: &Window) -> (String, ureq::Request, Vec<u8>) {
    let boundary = format!("armtune-{:016x}", window.from ^ (window.pprof.len() as u64).rotate_left(32));
    let body = multipart(
        &boundary,
        &[
            ("profile", "profile.pb.gz", &window.pprof),
            ("sample_type_config", "config.json", window.family.sample_type_config().as_bytes()),
        ],
    );
    let url = format!("{}/ingest", target.url.trim_end_matches('/'));
    let request = agent
        .post(&url)
        .query("name", &crate::agent::labels::application_name(&target.app, &target.labels))
        .query("from", &window.from.to_string())
        .query("until", &window.until.to_string())
        .query("format", "pprof")
        .query("sampleRate", &target.sample_rate.to_string())
        .query("spyName", "armtune")
        .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"));
    (url, request, body)
}

/// Parca's WriteRaw as JSON (`POST /profiles/writeraw`): one series whose labels are the window's
/// (`__name__` as [`Family::parca_name`] says, and `job` the application), holding the profile
/// (bytes as base64, as protobuf's JSON mapping writes them).
fn parca_request(agent: &ureq::Agent, target: &Target, window: &Window) -> (String, ureq::Request, Vec<u8>) {
    use base64::Engine;
    let labels: Vec<serde_json::Value> = parca_labels(target, window)
        .iter()
        .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
        .collect();
    let raw = base64::engine::general_purpose::STANDARD.encode(&window.pprof);
    let body = serde_json::json!({
        "series": [{"labels": {"labels": labels}, "samples": [{"rawProfile": raw}]}],
        "normalized": true,
    });
    let url = format!("{}/profiles/writeraw", target.url.trim_end_matches('/'));
    let request = agent.post(&url).set("Content-Type", "application/json");
    (url, request, body.to_string().into_bytes())
}

/// The labels of a window's series in Parca: `__name__` as [`Family::parca_name`] says, `job`
/// the application, then the agent's labels.
fn parca_labels(target: &Target, window: &Window) -> Vec<(String, String)> {
    let mut labels =
        vec![("__name__".to_string(), window.family.parca_name().to_string()), ("job".to_string(), target.app.clone())];
    labels.extend(target.labels.iter().cloned());
    labels
}

/// A `multipart/form-data` body of form files: (field, file name, content).
pub fn multipart(boundary: &str, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_its_oldest_window() {
        // Nothing listens on port 9 of this host's loopback (discard is not run): every push fails.
        let target = Target {
            backend: Backend::Pyroscope,
            url: "http://127.0.0.1:9".into(),
            app: "t".into(),
            labels: Vec::new(),
            authorization: None,
            tenant: None,
            tls: super::super::tls::client_config(None, Backend::Pyroscope.alpn()).unwrap(),
            sample_rate: 99,
            timeout: Duration::from_secs(1),
            attempts: 1,
        };
        let pusher = Pusher::start(target, 2);
        for from in 0..5 {
            pusher.push(Window { family: Family::Cpu, pprof: vec![1, 2, 3], from, until: from + 1 });
        }
        let tally = pusher.finish(Duration::from_secs(5));
        assert_eq!((tally.pushed, tally.dropped, tally.queued), (0, 5, 0), "{tally:?}");
        assert!(tally.last_error.is_some());
    }

    #[test]
    fn multipart_bodies_frame_each_file() {
        let body = multipart("B", &[("profile", "p.pb.gz", b"\x1f\x8b"), ("x", "c.json", b"{}")]);
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with("--B\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"p.pb.gz\"\r\n"));
        assert!(text.ends_with("{}\r\n--B--\r\n"));
    }
}
