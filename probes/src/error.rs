//! The errors the profiler reports, each worded as one line a user can act on.

use std::{fmt::Write as _, io, path::PathBuf};

/// A boxed error kept as the source of an [`Error::Bpf`].
type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, said so that the message alone tells the user what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The process lacks the capabilities to load eBPF programs or open perf events.
    #[error("needs {missing} to load eBPF programs and open perf events: run with sudo")]
    Privileges {
        /// The capabilities that are missing, e.g. "CAP_BPF and CAP_PERFMON".
        missing: String,
    },
    /// `--pid` named a process that does not exist.
    #[error("no process with pid {0}: check it with `ps -p {0}`")]
    NoSuchPid(u32),
    /// The command to profile was not found on PATH.
    #[error("command not found: {0} (not a path and not on PATH)")]
    CommandNotFound(String),
    /// The command exists but could not be started.
    #[error("cannot run {command}: {source}")]
    Exec {
        /// The command as given.
        command: String,
        /// Why exec failed.
        source: io::Error,
    },
    /// tracefs is needed (tracepoint ids and formats) and is not mounted.
    #[error("tracefs is not mounted ({0}): run `mount -t tracefs nodev /sys/kernel/tracing` as root")]
    Tracefs(String),
    /// A tracepoint's format file did not have a field the programs need.
    #[error(
        "tracepoint {tracepoint} has no field `{field}` in its format file: this kernel's layout is not supported"
    )]
    TracepointField {
        /// category:name
        tracepoint: String,
        /// The missing field.
        field: String,
    },
    /// Loading, attaching or reading eBPF objects failed. The cause is kept as the source (aya's
    /// error with its own chain); [`chain`] or `{:#}` through anyhow prints all of it on one line.
    #[error("{what}")]
    Bpf {
        /// What armtune was doing.
        what: String,
        /// What failed underneath.
        #[source]
        source: Source,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Ctrl-C arrived before the probes were attached.
    #[error("interrupted during start-up; nothing was profiled and no probe is left attached")]
    Interrupted,
    /// An option value that cannot work.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps an aya (or other) error with what armtune was doing, keeping it as the source: aya's
    /// top-level messages ("program not loaded") rarely say why on their own.
    pub fn bpf(what: impl Into<String>, err: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Bpf { what: what.into(), source: Box::new(err) }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

/// `err` and every error under it, on one line: "what: why: deeper why".
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let _ = write!(line, ": {s}");
        source = s.source();
    }
    line
}

/// Says what armtune was doing when a kernel-facing call failed, keeping the failure as the
/// source (in place of a `map_err` closure at every call).
pub trait Context<T> {
    /// The error, under `what`.
    fn context(self, what: impl Into<String>) -> Result<T>;
    /// The error, under what `what` returns (built only on failure).
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::bpf(what, e))
    }

    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::bpf(what(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_kept_as_the_source_and_chained_on_one_line() {
        let inner = io::Error::new(io::ErrorKind::PermissionDenied, "operation not permitted");
        let err: Result<()> = Err::<(), _>(inner).context("attaching to sched:sched_switch");
        let err = err.unwrap_err();
        assert_eq!(err.to_string(), "attaching to sched:sched_switch");
        assert!(std::error::Error::source(&err).is_some(), "the source is kept, not flattened");
        assert_eq!(chain(&err), "attaching to sched:sched_switch: operation not permitted");
        let lazy: Result<()> = Err::<(), _>(io::Error::other("x")).with_context(|| format!("map {}", 3));
        assert_eq!(chain(&lazy.unwrap_err()), "map 3: x");
    }
}
