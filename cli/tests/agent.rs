//! `armtune agent` against receivers on loopback: one that takes Pyroscope's `POST /ingest` as
//! the API reference describes it and keeps what it got (read back by `armtune flame` and Debian's
//! `go tool pprof`), one that refuses connections and one that never answers; the directory
//! mode's rotation; SIGTERM mid-window; a gRPC server behind a private CA. Pyroscope and Parca
//! servers cannot be installed here.
//!
//! The tests need root; they skip with a reason without it, and fail under
//! `ARMTUNE_REQUIRE_BPF=1`.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::*;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
struct Request {
    /// `/ingest?name=...`.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded.
    fn query(&self, name: &str) -> Option<String> {
        let (_, query) = self.target.split_once('?')?;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| percent_decode(v))
        })
    }

    /// The form files of a `multipart/form-data` body, by field name.
    fn form_file(&self, field: &str) -> Option<Vec<u8>> {
        let boundary = self.header("content-type")?.split("boundary=").nth(1)?.trim().to_string();
        let delimiter = format!("--{boundary}");
        let body = &self.body;
        let mut at = 0;
        let mut starts = Vec::new();
        while let Some(i) = find(&body[at..], delimiter.as_bytes()) {
            starts.push(at + i);
            at += i + delimiter.len();
        }
        starts.windows(2).find_map(|w| {
            let part = &body[w[0] + delimiter.len()..w[1]];
            let split = find(part, b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&part[..split]);
            head.contains(&format!("name=\"{field}\"")).then(|| part[split + 4..part.len() - 2].to_vec())
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A server on loopback whose every connection goes to `serve`, with what it keeps.
fn server<T: Send + 'static>(serve: impl Fn(TcpStream) -> Option<T> + Send + 'static) -> (u16, Arc<Mutex<Vec<T>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Some(kept) = serve(stream) {
                keep.lock().unwrap().push(kept);
            }
        }
    });
    (port, got)
}

/// A server on loopback that answers every request with 200 and keeps it.
fn receiver() -> (u16, Arc<Mutex<Vec<Request>>>) {
    server(|mut stream| {
        let request = read_request(&stream);
        let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        request
    })
}

fn read_request(stream: impl Read) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let length: usize = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length"))?.1.parse().ok()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { target, headers, body })
}

/// The CPU-bound demo, running for `seconds` in the background; stopped when dropped.
struct Busy(std::process::Child);

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn busy(seconds: &str) -> Busy {
    Busy(Command::new(demo()).arg(seconds).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap())
}

#[test]
fn windows_are_pushed_as_pyroscope_takes_them_and_read_by_go_tool_pprof() {
    let Some(_kernel) = kernel_test() else { return };
    let (port, got) = receiver();
    let demo = busy("4");
    let out = run(armtune()
        .args(["agent", "--interval", "1", "--duration", "3", "--app", "armtest", "--label", "service=demo"])
        .arg("--push")
        .arg(format!("http://127.0.0.1:{port}"))
        .env("ARMTUNE_PUSH_TOKEN", "t0ken"));
    drop(demo);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("window 3: "), "three windows: {text}");
    let requests = got.lock().unwrap().clone();
    assert!(requests.len() >= 3, "a push per window: {} requests\n{text}", requests.len());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let mut until_before: Option<u64> = None;
    let dir = tempfile::tempdir().unwrap();
    let mut folded_all = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        assert!(r.target.starts_with("/ingest?"), "{}", r.target);
        let name = r.query("name").unwrap();
        assert!(
            name.starts_with("armtest{") && name.contains("service=demo") && name.contains(&format!("host={host}")),
            "{name}"
        );
        assert_eq!(r.query("format").as_deref(), Some("pprof"));
        let (from, until): (u64, u64) =
            (r.query("from").unwrap().parse().unwrap(), r.query("until").unwrap().parse().unwrap());
        assert!(from <= until && until - from <= 2, "a 1 s window: {from}..{until}");
        if let Some(before) = until_before {
            assert_eq!(from, before, "windows follow each other without a gap");
        }
        until_before = Some(until);
        assert_eq!(r.header("authorization"), Some("Bearer t0ken"));
        let config = String::from_utf8(r.form_file("sample_type_config").expect("a sample type config")).unwrap();
        assert!(config.contains("\"cpu\""), "{config}");
        let profile = r.form_file("profile").expect("a profile form file");
        let path = dir.path().join(format!("w{i}.pb.gz"));
        std::fs::write(&path, &profile).unwrap();
        let folded = dir.path().join(format!("w{i}.folded"));
        let drawn = run(armtune().arg("flame").arg(&path).arg("-o").arg(&folded));
        assert!(drawn.status.success(), "window {i}: {}", stderr(&drawn));
        folded_all.extend(read_folded(&folded));
        let top = run(go().args(["tool", "pprof", "-top", "-symbolize=none"]).arg(&path));
        assert!(top.status.success(), "go tool pprof on window {i}: {}", stderr(&top));
    }
    assert!(weight_under(&folded_all, "main", "work_major") > 0, "the demo's functions, named: {folded_all:?}");
}

#[test]
fn windows_are_pushed_to_parca_as_its_writeraw_http_mapping_takes_them() {
    use base64::Engine;
    let Some(_kernel) = kernel_test() else { return };
    let (port, got) = receiver();
    let demo = busy("3");
    let out = run(armtune()
        .args(["agent", "--backend", "parca", "--interval", "1", "--duration", "2", "--app", "armtest", "--push"])
        .arg(format!("http://127.0.0.1:{port}/")));
    drop(demo);
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = got.lock().unwrap().clone();
    assert!(requests.len() >= 2, "{} requests: {}", requests.len(), stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    for r in &requests {
        assert_eq!(r.target, "/profiles/writeraw");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let series = &body["series"][0];
        let labels: Vec<(String, String)> = series["labels"]["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["name"].as_str().unwrap().to_string(), l["value"].as_str().unwrap().to_string()))
            .collect();
        for expected in [("__name__", "process_cpu"), ("job", "armtest"), ("arch", std::env::consts::ARCH)] {
            assert!(labels.iter().any(|(k, v)| k == expected.0 && v == expected.1), "{expected:?} in {labels:?}");
        }
        let raw = series["samples"][0]["rawProfile"].as_str().unwrap();
        let profile = base64::engine::general_purpose::STANDARD.decode(raw).unwrap();
        let path = dir.path().join("w.pb.gz");
        std::fs::write(&path, profile).unwrap();
        let top = run(go().args(["tool", "pprof", "-top", "-symbolize=none"]).arg(&path));
        assert!(top.status.success(), "{}", stderr(&top));
    }
}

/// `workloads/parca_receiver.go` (grpc-go from Debian's golang-google-grpc-dev), built once.
fn parca_receiver() -> &'static std::path::Path {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = tmp.join("parca_receiver");
        let gopath = format!("{}:/usr/share/gocode", tmp.join("gopath").display());
        let status = go()
            .env("GOPATH", gopath)
            .args(["build", "-o"])
            .arg(&out)
            .arg(repo_root().join("workloads/parca_receiver.go"))
            .status()
            .unwrap();
        assert!(status.success(), "building the gRPC receiver (ci/setup.sh installs golang-google-grpc-dev)");
        out
    })
}

/// Starts the gRPC receiver writing into `dir`, with `env` set: the running server and its port.
fn start_parca_receiver(dir: &Path, env: &[(&str, &std::ffi::OsStr)]) -> (std::process::Child, String) {
    let mut server =
        Command::new(parca_receiver()).arg(dir).envs(env.iter().copied()).stdout(Stdio::piped()).spawn().unwrap();
    let mut port = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut port).unwrap();
    (server, port.trim().to_string())
}

/// A CA made here, and a server certificate it signed for `localhost` and 127.0.0.1, with the
/// server's key.
fn certificates() -> (rcgen::Certificate, rcgen::Certificate, rcgen::KeyPair) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "armtune test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = server.signed_by(&key, &ca_cert, &ca_key).unwrap();
    (ca_cert, cert, key)
}

/// A private CA's certificate, and a server certificate it signed for `localhost` and 127.0.0.1
/// (with the server's key), as PEM files in `dir`: (ca, cert, key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca_cert, cert, key) = certificates();
    let paths = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

/// The agent's last log line: what it pushed and dropped in all.
fn stopped_line(log: &str) -> &str {
    log.lines().find(|l| l.contains("stopped;")).unwrap_or("")
}

/// [`receiver`] over HTTPS, with a server certificate for 127.0.0.1 from a CA made here: the
/// port, the requests, and the CA's certificate as a PEM file in `dir`.
fn tls_receiver(dir: &Path) -> (u16, Arc<Mutex<Vec<Request>>>, PathBuf) {
    use tokio_rustls::rustls::{
        self,
        pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
    };
    let (ca_cert, cert, key) = certificates();
    let ca_path = dir.join("pyroscope-ca.pem");
    std::fs::write(&ca_path, ca_cert.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
        .unwrap();
    let config = Arc::new(config);
    let (port, got) = server(move |tcp| {
        let connection = rustls::ServerConnection::new(Arc::clone(&config)).ok()?;
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        // A client that refuses the certificate ends the handshake here: nothing is kept.
        let request = read_request(&mut tls);
        let _ = write!(tls, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        tls.conn.send_close_notify();
        let _ = tls.flush();
        request
    });
    (port, got, ca_path)
}

#[test]
fn pyroscope_over_https_behind_a_private_ca_takes_the_windows_with_ca_file() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (port, got, ca) = tls_receiver(dir.path());
    let url = format!("https://127.0.0.1:{port}");
    // Busy through both runs, so every window of the second has samples to push.
    let demo = busy("8");
    let agent = |extra: &[&std::ffi::OsStr]| {
        run(armtune()
            .args(["agent", "--interval", "1", "--duration", "2", "--app", "armtest", "--push", &url])
            .args(extra))
    };
    // Without the CA the certificate is unknown: nothing reaches the server, the drops say why.
    let refused = agent(&[]);
    let text = stderr(&refused);
    assert!(refused.status.success(), "{text}");
    assert!(stopped_line(&text).contains("pushed 0") && text.contains("UnknownIssuer"), "{text}");
    assert!(got.lock().unwrap().is_empty());
    // With it, every window arrives as Pyroscope's ingest takes it, and go tool pprof reads it.
    let trusted = agent(&["--ca-file".as_ref(), ca.as_os_str()]);
    drop(demo);
    let text = stderr(&trusted);
    assert!(trusted.status.success() && stopped_line(&text).contains("dropped 0"), "{text}");
    let requests = got.lock().unwrap().clone();
    assert!(requests.len() >= 2, "{} requests: {text}", requests.len());
    for (i, r) in requests.iter().enumerate() {
        assert!(r.target.starts_with("/ingest?") && r.query("name").unwrap().starts_with("armtest{"), "{}", r.target);
        let path = dir.path().join(format!("w{i}.pb.gz"));
        std::fs::write(&path, r.form_file("profile").expect("a profile form file")).unwrap();
        let top = run(go().args(["tool", "pprof", "-top", "-symbolize=none"]).arg(&path));
        assert!(top.status.success(), "go tool pprof on window {i}: {}", stderr(&top));
    }
}

#[test]
fn a_server_behind_a_private_ca_is_trusted_with_ca_file_and_refused_without() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let received = dir.path().join("received");
    std::fs::create_dir(&received).unwrap();
    let (ca, cert, key) = private_ca(dir.path());
    let (mut server, port) =
        start_parca_receiver(&received, &[("TLS_CERT", cert.as_os_str()), ("TLS_KEY", key.as_os_str())]);
    let url = format!("https://localhost:{port}");
    // Busy through both runs: a window without samples pushes nothing (a CI-like run once found
    // no file after the demo had ended during the first run).
    let demo = busy("8");
    let agent = |extra: &[&std::ffi::OsStr]| {
        run(armtune()
            .args(["agent", "--backend", "parca-grpc", "--interval", "1", "--duration", "2", "--push", &url])
            .args(extra))
    };
    // Without the CA, the server's certificate is unknown: every window is dropped, and the log
    // says why.
    let refused = agent(&[]);
    let text = stderr(&refused);
    assert!(refused.status.success(), "{text}");
    let last = stopped_line(&text);
    assert!(last.contains("pushed 0") && !last.contains("dropped 0") && last.contains("UnknownIssuer"), "{text}");
    assert_eq!(std::fs::read_dir(&received).unwrap().count(), 0);
    // With it, the windows arrive over TLS and hold profiles go tool pprof reads.
    let trusted = agent(&["--ca-file".as_ref(), ca.as_os_str()]);
    drop(demo);
    let _ = server.kill();
    let _ = server.wait();
    let text = stderr(&trusted);
    let last = stopped_line(&text);
    assert!(trusted.status.success() && last.contains("dropped 0") && !last.contains("pushed 0"), "{text}");
    let top = run(go().args(["tool", "pprof", "-top", "-symbolize=none"]).arg(received.join("1-1.pb.gz")));
    assert!(top.status.success(), "{}", stderr(&top));
    // A CA file that holds no certificate is a one-line error before anything starts.
    let wrong = agent(&["--ca-file".as_ref(), key.as_os_str()]);
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("no `BEGIN CERTIFICATE` block"), "{}", stderr(&wrong));
}

#[test]
fn windows_are_pushed_to_parca_over_grpc_and_a_restarting_server_is_retried() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The receiver answers its first call UNAVAILABLE: that window must be sent again.
    let (mut server, port) = start_parca_receiver(dir.path(), &[("FAIL_FIRST", "1".as_ref())]);
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let demo = busy("4");
    let out = run(armtune()
        .args(["agent", "--backend", "parca-grpc", "--interval", "1", "--duration", "3", "--app", "armtest"])
        .args(["--label", "service=api", "--token-file"])
        .arg(&token)
        .arg("--push")
        .arg(format!("http://127.0.0.1:{port}")));
    drop(demo);
    let _ = server.kill();
    let _ = server.wait();
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("dropped 0"), "the refused window was sent again: {text}");
    let calls: Vec<u32> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".labels")?.parse().ok())
        .collect();
    assert!(calls.len() >= 2, "{calls:?}: {text}");
    for n in calls {
        let read = |ext: &str| std::fs::read_to_string(dir.path().join(format!("{n}.{ext}"))).unwrap();
        assert_eq!(read("method"), "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw");
        assert_eq!(read("auth"), "Bearer s3cret");
        let labels = read("labels");
        for expected in ["__name__=process_cpu", "job=armtest", "service=api"] {
            assert!(labels.lines().any(|l| l == expected), "{expected} in {labels}");
        }
        let top =
            run(go().args(["tool", "pprof", "-top", "-symbolize=none"]).arg(dir.path().join(format!("{n}-1.pb.gz"))));
        assert!(top.status.success(), "{}", stderr(&top));
    }
}

#[test]
fn a_refusing_backend_drops_windows_and_the_directory_keeps_the_newest() {
    let Some(_kernel) = kernel_test() else { return };
    // A port nothing listens on: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let demo = busy("5");
    let mut agent = armtune()
        .args(["agent", "--interval", "0.5", "--push-timeout", "1s", "--keep", "2", "--output-dir"])
        .arg(dir.path())
        .arg("--push")
        .arg(format!("http://127.0.0.1:{port}"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2600));
    // SIGTERM mid-window: the partial window is written, every probe detached.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let mut text = String::new();
    agent.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    let status = agent.wait().unwrap();
    drop(demo);
    assert!(status.success(), "{status:?}: {text}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped promptly: {text}");
    let last = text.lines().rev().find(|l| l.contains("stopped")).unwrap_or_else(|| panic!("{text}"));
    assert!(last.contains("pushed 0, dropped") && !last.contains("dropped 0"), "{last}");
    assert!(last.contains("(failing: http://127.0.0.1"), "the reason is in the log: {text}");
    let mut files: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "--keep 2: {files:?}\n{text}");
    assert!(files.iter().all(|f| f.starts_with("cpu-") && f.ends_with("Z.pb.gz")), "{files:?}");
    let folded = dir.path().join("last.folded");
    let newest = dir.path().join(&files[1]);
    assert!(run(armtune().arg("flame").arg(&newest).arg("-o").arg(&folded)).status.success());
}

#[test]
fn a_backend_that_never_answers_does_not_hold_the_agent() {
    let Some(_kernel) = kernel_test() else { return };
    // Accepts connections and reads nothing: every push times out.
    let (port, _held) = server(Some);
    let demo = busy("4");
    let started = Instant::now();
    let out = run(armtune()
        .args(["agent", "--interval", "0.5", "--duration", "2", "--push-timeout", "1s", "--queue", "1", "--push"])
        .arg(format!("http://127.0.0.1:{port}")));
    let took = started.elapsed();
    drop(demo);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("window 4: "), "sampling went on, window after window: {text}");
    // Two seconds of windows, then at most one push timeout of grace.
    assert!(took < Duration::from_secs(6), "{took:?}: {text}");
    let last = text.lines().rev().find(|l| l.contains("stopped")).unwrap();
    assert!(last.contains("pushed 0") && !last.contains("dropped 0"), "{last}");
}

#[test]
fn short_lived_processes_keep_their_names_in_the_windows() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Twenty demos of 0.1 s, one after another: each has exited by the time its window ends.
    let script = format!("for i in $(seq 20); do {} 0.1 >/dev/null; done", demo().display());
    let mut processes = Command::new("sh").args(["-c", &script]).spawn().unwrap();
    let out = run(armtune().args(["agent", "--interval", "1", "--duration", "3", "--output-dir"]).arg(dir.path()));
    let _ = processes.kill();
    let _ = processes.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    let stacks = windows_folded(dir.path());
    let demo_weight: u64 = stacks.iter().filter(|(f, _)| f.first().is_some_and(|r| r == "demo")).map(|(_, w)| w).sum();
    let named = weight_under(&stacks, "main", "work_major") + weight_under(&stacks, "main", "work_minor");
    assert!(demo_weight >= 50, "the demos were sampled: {demo_weight}");
    assert!(named * 10 >= demo_weight * 8, "at least 80 % of the demos' samples named: {named} of {demo_weight}");
}

/// The folded stacks of every window the agent wrote to `dir`.
fn windows_folded(dir: &Path) -> Vec<(Vec<String>, u64)> {
    let mut stacks = Vec::new();
    let scratch = tempfile::tempdir().unwrap();
    let folded = scratch.path().join("window.folded");
    for entry in std::fs::read_dir(dir).unwrap() {
        assert!(run(armtune().arg("flame").arg(entry.unwrap().path()).arg("-o").arg(&folded)).status.success());
        stacks.extend(read_folded(&folded));
    }
    stacks
}

#[test]
fn a_program_whose_dwarf_is_over_the_budget_is_named_from_its_symbol_table() {
    let Some(_kernel) = kernel_test() else { return };
    let running = busy("6");
    let pid = running.0.id().to_string();
    let windows = |limit: &str| {
        let dir = tempfile::tempdir().unwrap();
        let args = ["agent", "--pid", &pid, "--interval", "1", "--duration", "2", "--memory-limit", limit];
        let out = run(armtune().args(args).arg("--output-dir").arg(dir.path()));
        assert!(out.status.success(), "{}", stderr(&out));
        (windows_folded(dir.path()), stderr(&out))
    };
    let inlined = |stacks: &[(Vec<String>, u64)]| weight_under(stacks, "work_major", "lcg_step");
    let demo_path = demo().to_string_lossy().into_owned();
    let told =
        |log: &str| log.lines().filter(|l| l.contains("named from its symbol table") && l.contains(&demo_path)).count();
    // The default budget holds the demo's DWARF: the helper inlined into work_major is a frame.
    // (Other files may be over it: libc's detached debug file, where libc6-dbg is installed.)
    let (stacks, log) = windows("64");
    assert_eq!(told(&log), 0, "{log}");
    assert!(inlined(&stacks) > 0, "{stacks:?}");
    // A budget of nothing: the demo's functions are named from its symbol table, said once.
    let (stacks, log) = windows("0");
    assert_eq!(told(&log), 1, "{log}");
    assert!(weight_under(&stacks, "main", "work_major") >= 50, "{stacks:?}");
    assert_eq!(inlined(&stacks), 0, "no inlined frames without DWARF");
}

#[test]
fn off_cpu_windows_go_to_the_directory_and_to_pyroscope_as_their_own_profile() {
    let Some(_kernel) = kernel_test() else { return };
    let (port, got) = receiver();
    let dir = tempfile::tempdir().unwrap();
    // blocker sleeps 10 x 100 ms in sleep_in_nanosleep, then waits 600 ms for a lock, again and
    // again: every window has blocks that end in it.
    let script = format!("while :; do {} 2 >/dev/null; done", blocker().display());
    let mut blocking = Command::new("sh").args(["-c", &script]).spawn().unwrap();
    let out = run(armtune()
        .args(["agent", "--off-cpu", "--sched-sample", "1", "--interval", "1", "--duration", "4", "--output-dir"])
        .arg(dir.path())
        .arg("--push")
        .arg(format!("http://127.0.0.1:{port}")));
    let _ = blocking.kill();
    let _ = blocking.wait();
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("off-CPU time (one switch in 1)"), "{text}");
    let mut off_cpu = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with("off-cpu-") {
            assert!(name.starts_with("cpu-"), "{name}");
            continue;
        }
        files += 1;
        let folded = dir.path().join("w.folded");
        assert!(run(armtune().arg("flame").arg(&path).arg("-o").arg(&folded)).status.success());
        off_cpu.extend(read_folded(&folded));
        let top = run(go().args(["tool", "pprof", "-sample_index=off_cpu", "-top", "-symbolize=none"]).arg(&path));
        assert!(top.status.success(), "go tool pprof on {name}: {}", stderr(&top));
    }
    assert!(files >= 3, "an off-CPU file per window: {files}\n{text}");
    let slept = weight_under(&off_cpu, "main", "sleep_in_nanosleep");
    let waited = weight_under(&off_cpu, "main", "wait_for_lock");
    assert!(slept > 500_000 && waited > 300_000, "blocking functions in the windows (us): {slept}, {waited}");
    let requests = got.lock().unwrap().clone();
    let configs: Vec<String> = requests
        .iter()
        .map(|r| String::from_utf8(r.form_file("sample_type_config").expect("a sample type config")).unwrap())
        .collect();
    assert!(configs.iter().any(|c| c.contains("\"off_cpu\"") && c.contains("nanoseconds")), "{configs:?}");
    assert!(configs.iter().any(|c| c.contains("\"cpu\"")), "{configs:?}");
}

#[test]
fn allocation_windows_add_up_to_the_workloads_exact_allocations() {
    let Some(_kernel) = kernel_test() else { return };
    let (port, got) = receiver();
    let dir = tempfile::tempdir().unwrap();
    // allocs makes 5 x 1000 bytes, pauses 1.2 s, makes the rest and stays 1 s: its allocations
    // fall into two windows (at least), which must add up to the exact totals.
    let mut workload = Command::new("sh")
        .args(["-c", &format!("sleep 0.5; exec {} 1.2 1", allocs().display())])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let out = run(armtune()
        .args(["agent", "--alloc", "--alloc-sample", "0", "--interval", "1", "--duration", "4", "--output-dir"])
        .arg(dir.path())
        .arg("--push")
        .arg(format!("http://127.0.0.1:{port}")));
    let _ = workload.wait();
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("every allocation"), "{text}");
    let (mut bytes, mut objects, mut windows) = (Vec::new(), Vec::new(), 0);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_str().unwrap().starts_with("alloc-") {
            continue;
        }
        let folded = dir.path().join("w.folded");
        for (sample_type, into) in [("alloc_space", &mut bytes), ("alloc_objects", &mut objects)] {
            let out = run(armtune().arg("flame").arg(&path).args(["--sample-type", sample_type, "-o"]).arg(&folded));
            assert!(out.status.success(), "{}", stderr(&out));
            let stacks = read_folded(&folded);
            let made = stacks.iter().any(|(f, _)| f.iter().any(|n| n.starts_with("make_")));
            windows += usize::from(sample_type == "alloc_space" && made);
            into.extend(stacks);
        }
        let top = run(go().args(["tool", "pprof", "-sample_index=alloc_space", "-top", "-symbolize=none"]).arg(&path));
        assert!(top.status.success(), "go tool pprof: {}", stderr(&top));
    }
    assert!(windows >= 2, "the allocations came in two windows at least: {windows}\n{text}");
    assert_eq!(weight_under(&bytes, "main", "make_early"), 5000, "{bytes:?}");
    assert_eq!(weight_under(&bytes, "main", "make_small"), 2400, "{bytes:?}");
    assert_eq!(weight_under(&bytes, "main", "grow"), 6300, "{bytes:?}");
    assert_eq!(weight_under(&objects, "main", "make_small"), 100, "{objects:?}");
    assert_eq!(weight_under(&objects, "main", "grow"), 6, "{objects:?}");
    let configs: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.form_file("sample_type_config").expect("a sample type config")).unwrap())
        .collect();
    assert!(configs.iter().any(|c| c.contains("\"alloc_space\"") && c.contains("\"alloc_objects\"")), "{configs:?}");
}

#[test]
fn the_agent_says_what_is_missing() {
    let out = run(armtune().args(["agent", "--duration", "1"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nowhere to send the windows"), "{}", stderr(&out));
    let out = run(armtune().args(["agent", "--push", "pyroscope:4040"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("http://"), "{}", stderr(&out));
}

#[test]
fn the_systemd_unit_is_one_systemd_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(repo_root().join("dist/armtune-agent.service")).unwrap();
    let env = dir.path().join("agent.env");
    std::fs::copy(repo_root().join("dist/agent.env.example"), &env).unwrap();
    let armtune = env!("CARGO_BIN_EXE_armtune");
    let unit = unit.replace("/usr/local/bin/armtune", armtune).replace("/etc/armtune/agent.env", env.to_str().unwrap());
    let path = dir.path().join("armtune-agent.service");
    std::fs::write(&path, unit).unwrap();
    let out = run(Command::new("systemd-analyze").arg("verify").arg(&path));
    assert!(out.status.success() && stderr(&out).trim().is_empty(), "{}", stderr(&out));
}
