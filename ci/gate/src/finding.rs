//! What the gate reports.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which check found something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// Function complexity.
    Complexity,
    /// Committed secrets.
    Secrets,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The check.
    pub check: Check,
    /// Rule id: `cyclomatic`, `cognitive`, `suppression-without-reason`, or a secret rule's id.
    pub rule: String,
    /// File, relative to the scan root when under it.
    pub path: PathBuf,
    /// 1-based line (0 in a binary file).
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Last line of the function, for complexity findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    /// Byte offset, for secrets in binary files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    /// One-line description.
    pub message: String,
    /// The function, for complexity findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Measured complexity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u32>,
    /// The threshold it exceeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// The secret, redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redacted: Option<String>,
    /// SHA-256 prefix of the secret (identifies it without showing it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    /// The commit that introduced it (history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    /// Stable identity across runs and line shifts: rule, file, and the function or secret hash.
    pub fingerprint: String,
    /// Whether it fails the gate; false for findings older than `--new-from-rev` or matched by
    /// the baseline, and for secrets in files `.gitignore` excludes unless `--ignored-files fail`.
    pub gating: bool,
    /// In a file `.gitignore` excludes: never committed, but one `git add -f`, or one `docker
    /// build` of the directory, away from leaking.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored_file: bool,
}

/// A commit, for findings from history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Full hash (`staged` for the index).
    pub hash: String,
    /// Author name.
    pub author: String,
    /// Author date, ISO 8601.
    pub date: String,
    /// First line of the message.
    pub summary: String,
}

impl Finding {
    /// How reports rank it: `error` (fails the gate), `warning` (a secret in an ignored file that
    /// does not fail it), `note` (known: baseline, `--new-from-rev`).
    pub fn level(&self) -> &'static str {
        match (self.gating, self.ignored_file) {
            (true, _) => "error",
            (false, true) => "warning",
            (false, false) => "note",
        }
    }

    /// `path:line:col`, clickable in terminals and editors.
    pub fn location(&self) -> String {
        match self.byte_offset {
            Some(offset) => format!("{} (binary, byte {offset})", self.path.display()),
            None => format!("{}:{}:{}", self.path.display(), self.line, self.column),
        }
    }
}
