//! The errors the profiler reports, each worded as one line a user can act on.

use std::{fmt::Write as _, io, path::PathBuf};

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
    /// Loading, attaching or reading eBPF objects failed.
    #[error("{what}: {detail}")]
    Bpf {
        /// What armtune was doing.
        what: String,
        /// The error chain, flattened into one line.
        detail: String,
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
    /// Wraps an aya (or other) error with what armtune was doing, keeping its whole cause chain on
    /// one line: aya's top-level messages ("program not loaded") rarely say why on their own.
    pub fn bpf(what: impl Into<String>, err: impl std::error::Error) -> Error {
        let mut detail = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            let _ = write!(detail, ": {s}");
            source = s.source();
        }
        Error::Bpf { what: what.into(), detail }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}
