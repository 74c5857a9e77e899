//! Debug files fetched by build-id from debuginfod servers, as gdb, perf and elfutils do: the
//! servers in `DEBUGINFOD_URLS` (space-separated), asked `GET URL/buildid/HEX/debuginfo` in turn;
//! files kept in the cache elfutils' client uses (`$DEBUGINFOD_CACHE_PATH`, else
//! `$XDG_CACHE_HOME/debuginfod_client`, else `~/.cache/debuginfod_client`, as
//! `HEX/debuginfo`), so a build-id fetched once is not fetched again, by armtune or by gdb.
//!
//! Only files whose frames have no names are asked for, and a run spends at most a time budget
//! on the network (`--debuginfod-timeout`): a slow or unreachable server costs the profile that
//! much, no more. What happened to each build-id is kept for the summary and the JSON report.

use std::{
    io::Read,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// Default time a run may spend asking servers.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// Largest debug file accepted (a server answering with something else must not fill the disk).
const MAX_FILE: u64 = 2 << 30;

/// What became of one build-id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The build-id, in hex.
    pub build_id: String,
    /// The file it was asked for (the first that needed it).
    pub file: String,
    /// `cached` (already in the cache), `fetched`, `not found` (no server had it), `failed` (an
    /// error: `detail` says which), `out of time` (the budget was spent before it was asked).
    pub result: String,
    /// The server that gave it, or what went wrong.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A debuginfod client for one run.
#[derive(Debug, Clone)]
pub struct Debuginfod {
    urls: Vec<String>,
    cache: PathBuf,
    budget: Duration,
    /// When the first request was made: the budget counts from there.
    started: Option<Instant>,
    /// Every build-id asked for, in order.
    pub outcomes: Vec<Outcome>,
}

impl Debuginfod {
    /// The client `DEBUGINFOD_URLS` asks for, with `budget` to spend; `None` when it names no
    /// server.
    pub fn from_env(budget: Duration) -> Option<Debuginfod> {
        let urls = std::env::var("DEBUGINFOD_URLS").ok()?;
        Debuginfod::new(urls.split_whitespace().map(String::from).collect(), default_cache()?, budget)
    }

    /// A client of `urls` with its cache in `cache`; `None` without servers.
    pub fn new(urls: Vec<String>, cache: PathBuf, budget: Duration) -> Option<Debuginfod> {
        let urls: Vec<String> = urls.into_iter().map(|u| u.trim_end_matches('/').to_string()).collect();
        (!urls.is_empty()).then_some(Debuginfod { urls, cache, budget, started: None, outcomes: Vec::new() })
    }

    /// The debug file of `build_id` (needed for `file`): from the cache, else from the first
    /// server that has it. `None` when none has it, on errors, or once the budget is spent.
    pub fn debuginfo(&mut self, build_id: &[u8], file: &Path) -> Option<PathBuf> {
        let hex = crate::debug_files::hex(build_id);
        if let Some(done) = self.outcomes.iter().find(|o| o.build_id == hex) {
            return matches!(done.result.as_str(), "cached" | "fetched").then(|| self.cached_path(&hex));
        }
        let path = self.cached_path(&hex);
        let (result, detail) = if path.is_file() {
            ("cached", String::new())
        } else {
            match self.fetch(&hex, &path) {
                Ok(server) => ("fetched", server),
                Err(Failure::NotFound) => ("not found", String::new()),
                Err(Failure::OutOfTime) => ("out of time", String::new()),
                Err(Failure::Error(e)) => ("failed", e),
            }
        };
        self.outcomes.push(Outcome {
            build_id: hex,
            file: file.to_string_lossy().into_owned(),
            result: result.to_string(),
            detail,
        });
        matches!(result, "cached" | "fetched").then_some(path)
    }

    fn cached_path(&self, hex: &str) -> PathBuf {
        self.cache.join(hex).join("debuginfo")
    }

    /// Asks each server in turn; the name of the one that had it.
    fn fetch(&mut self, hex: &str, path: &Path) -> Result<String, Failure> {
        let started = *self.started.get_or_insert_with(Instant::now);
        let mut last_error = None;
        for url in &self.urls {
            let left = self.budget.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(Failure::OutOfTime);
            }
            match get(&format!("{url}/buildid/{hex}/debuginfo"), left, path) {
                Ok(()) => return Ok(url.clone()),
                Err(Failure::NotFound) => {}
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or(Failure::NotFound))
    }

    /// One line for the summary: what was fetched, found in the cache, or not found.
    pub fn describe(outcomes: &[Outcome]) -> Option<String> {
        if outcomes.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        for result in ["fetched", "cached", "not found", "out of time", "failed"] {
            let ids: Vec<String> = outcomes
                .iter()
                .filter(|o| o.result == result)
                .map(|o| {
                    let name = Path::new(&o.file).file_name().map(|n| n.to_string_lossy().into_owned());
                    let mut s = format!("{} ({})", name.unwrap_or_default(), &o.build_id[..o.build_id.len().min(12)]);
                    if !o.detail.is_empty() && result == "failed" {
                        s += &format!(": {}", o.detail);
                    }
                    s
                })
                .collect();
            if !ids.is_empty() {
                parts.push(format!("{result} {}", ids.join(", ")));
            }
        }
        Some(format!("debuginfod: {}", parts.join("; ")))
    }
}

enum Failure {
    NotFound,
    OutOfTime,
    Error(String),
}

/// Downloads `url` into `path` (through a temporary file beside it, renamed when whole).
fn get(url: &str, timeout: Duration, path: &Path) -> Result<(), Failure> {
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let response = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(404, _)) => return Err(Failure::NotFound),
        Err(ureq::Error::Status(code, _)) => return Err(Failure::Error(format!("{url}: HTTP {code}"))),
        Err(ureq::Error::Transport(t)) if t.kind() == ureq::ErrorKind::Io && timeout < Duration::from_secs(1) => {
            return Err(Failure::OutOfTime)
        }
        Err(e) => return Err(Failure::Error(format!("{url}: {e}"))),
    };
    let dir = path.parent().expect("a cache path has a directory");
    std::fs::create_dir_all(dir).map_err(|e| Failure::Error(format!("{}: {e}", dir.display())))?;
    let partial = dir.join(format!(".debuginfo.{}", std::process::id()));
    let written = (|| -> std::io::Result<u64> {
        let mut out = std::fs::File::create(&partial)?;
        let n = std::io::copy(&mut response.into_reader().take(MAX_FILE), &mut out)?;
        out.sync_all()?;
        Ok(n)
    })();
    match written {
        Ok(n) if n > 0 => {
            std::fs::rename(&partial, path).map_err(|e| Failure::Error(format!("{}: {e}", path.display())))
        }
        Ok(_) => {
            let _ = std::fs::remove_file(&partial);
            Err(Failure::Error(format!("{url}: empty answer")))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(Failure::Error(format!("{url}: {e}")))
        }
    }
}

/// elfutils' client cache: `$DEBUGINFOD_CACHE_PATH`, `$XDG_CACHE_HOME/debuginfod_client`, or
/// `~/.cache/debuginfod_client`.
fn default_cache() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("DEBUGINFOD_CACHE_PATH")
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("debuginfod_client")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/debuginfod_client")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_servers_no_client() {
        assert!(Debuginfod::new(Vec::new(), PathBuf::from("/tmp"), DEFAULT_BUDGET).is_none());
    }

    #[test]
    fn a_cached_file_is_used_without_asking_and_a_refused_connection_is_a_failure() {
        let cache = tempfile::tempdir().unwrap();
        // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        let mut client =
            Debuginfod::new(vec!["http://127.0.0.1:9/".into()], cache.path().to_path_buf(), DEFAULT_BUDGET).unwrap();
        std::fs::create_dir_all(cache.path().join("abcd")).unwrap();
        std::fs::write(cache.path().join("abcd/debuginfo"), b"x").unwrap();
        assert_eq!(
            client.debuginfo(&[0xab, 0xcd], Path::new("/usr/lib/libx.so")),
            Some(cache.path().join("abcd/debuginfo"))
        );
        assert_eq!(client.debuginfo(&[0x12, 0x34], Path::new("/usr/lib/liby.so")), None);
        let results: Vec<&str> = client.outcomes.iter().map(|o| o.result.as_str()).collect();
        assert_eq!(results, ["cached", "failed"]);
        let line = Debuginfod::describe(&client.outcomes).unwrap();
        assert!(
            line.starts_with("debuginfod: cached libx.so (abcd); failed liby.so (1234): http://127.0.0.1:9"),
            "{line}"
        );
    }

    #[test]
    fn a_spent_budget_asks_no_more() {
        let cache = tempfile::tempdir().unwrap();
        let mut client =
            Debuginfod::new(vec!["http://127.0.0.1:9".into()], cache.path().to_path_buf(), Duration::ZERO).unwrap();
        assert_eq!(client.debuginfo(&[1, 2, 3], Path::new("a")), None);
        assert_eq!(client.outcomes[0].result, "out of time");
    }
}
