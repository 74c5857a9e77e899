//! Scanning files: one file's complexity and secret findings, and the parallel walk over the
//! paths given (the `ignore` crate: .gitignore honoured, hidden files such as `.env` included).

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Mutex,
};

use crate::{
    complexity,
    config::{PathSettings, Resolved},
    finding::{Check, Finding},
    lang::Language,
    secrets::{self, RuleSet},
};

/// What scanning one file produced.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Things the user should know (syntax errors, encodings).
    pub notes: Vec<String>,
    /// Why the file could not be scanned (completely).
    pub errors: Vec<String>,
    /// Bytes read.
    pub bytes: u64,
    /// Functions measured.
    pub functions: u64,
}

/// What to look for in each file.
pub struct FileScanner<'a> {
    /// Settings per path.
    pub config: &'a Resolved,
    /// Secret rules, when secrets are scanned.
    pub rules: Option<&'a RuleSet>,
    /// Measure complexity.
    pub complexity: bool,
    /// Files larger than this are skipped with an error.
    pub max_file_size: u64,
}

/// Text, by content: UTF-16 (with a byte-order mark) decoded, NUL bytes in the first 8 KiB mean
/// binary.
enum Content {
    Text(Vec<u8>),
    Utf16(Vec<u8>),
    Binary(Vec<u8>),
}

fn classify(data: Vec<u8>) -> Content {
    let utf16 = |le: bool, body: &[u8]| {
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16_lossy(&units).into_bytes()
    };
    if data.starts_with(&[0xFF, 0xFE]) {
        return Content::Utf16(utf16(true, &data[2..]));
    }
    if data.starts_with(&[0xFE, 0xFF]) {
        return Content::Utf16(utf16(false, &data[2..]));
    }
    if memchr::memchr(0, &data[..data.len().min(8192)]).is_some() {
        return Content::Binary(data);
    }
    Content::Text(data)
}

/// Go's "Code generated ... DO NOT EDIT." and the `@generated` marker: no complexity findings.
fn is_generated(data: &[u8]) -> bool {
    let head = &data[..data.len().min(2048)];
    let has = |s: &[u8]| memchr::memmem::find(head, s).is_some();
    (has(b"Code generated") && has(b"DO NOT EDIT")) || has(b"@generated")
}

/// The file name of `path`, for rules that apply to some files only.
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Line and column (1-based, bytes) of offset `at`.
pub fn line_col(data: &[u8], at: usize) -> (u32, u32) {
    let before = &data[..at];
    let line = memchr::memchr_iter(b'\n', before).count() as u32 + 1;
    let col = at - memchr::memrchr(b'\n', before).map_or(0, |i| i + 1) + 1;
    (line, col as u32)
}

impl FileScanner<'_> {
    /// Scans the file at `path`, reported as `rel`.
    pub fn scan_path(&self, path: &Path, rel: &Path) -> FileResult {
        let mut result = FileResult::default();
        let settings = self.config.for_path(rel);
        let wanted = (settings.complexity && self.complexity) || (settings.secrets && self.rules.is_some());
        if !wanted {
            return result;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.len() > self.max_file_size => {
                result.errors.push(format!(
                    "{}: skipped: {} MiB is over --max-file-size {} MiB; raise it to scan this file",
                    rel.display(),
                    m.len() >> 20,
                    self.max_file_size >> 20
                ));
                return result;
            }
            Ok(_) => {}
            Err(e) => {
                result.errors.push(format!("{}: {e}", rel.display()));
                return result;
            }
        }
        match std::fs::read(path) {
            Ok(data) => self.scan_bytes(rel, data, settings, &mut result),
            Err(e) => result.errors.push(format!("{}: cannot read: {e}", rel.display())),
        }
        result
    }

    /// Scans `data`, the content of `rel`.
    pub fn scan_bytes(&self, rel: &Path, data: Vec<u8>, settings: PathSettings, result: &mut FileResult) {
        result.bytes += data.len() as u64;
        let content = classify(data);
        if let Content::Utf16(_) = content {
            result.notes.push(format!("{}: UTF-16 text, decoded before scanning", rel.display()));
        }
        match &content {
            Content::Text(text) | Content::Utf16(text) => {
                if settings.complexity && self.complexity {
                    self.complexity(rel, text, settings, result);
                }
                if settings.secrets {
                    if let Some(rules) = self.rules {
                        for hit in rules.scan(&file_name(rel), text) {
                            let (line, column) = line_col(text, hit.start);
                            self.secret_finding(rel, hit, line, column, None, result);
                        }
                    }
                }
            }
            Content::Binary(bytes) => {
                if let (true, Some(rules)) = (settings.secrets, self.rules) {
                    // Only the text runs of a binary file are scanned: everything else becomes a
                    // line break, so offsets stay those of the file.
                    let masked: Vec<u8> = bytes
                        .iter()
                        .map(|&b| if b == b'\t' || (0x20..0x7f).contains(&b) { b } else { b'\n' })
                        .collect();
                    for hit in rules.scan(&file_name(rel), &masked) {
                        let offset = hit.start as u64;
                        self.secret_finding(rel, hit, 0, 0, Some(offset), result);
                    }
                }
            }
        }
    }

    fn complexity(&self, rel: &Path, text: &[u8], settings: PathSettings, result: &mut FileResult) {
        let Some(lang) = Language::of(rel) else { return };
        if is_generated(text) {
            return;
        }
        if let Some(why) = lang.foreign(text) {
            result.notes.push(format!("{}: not measured: not {}: {why}", rel.display(), lang.name()));
            return;
        }
        let measured = complexity::analyze(lang, text);
        if measured.abandoned {
            result.notes.push(format!(
                "{}: not measured: its {} syntax errors made parsing take too long (is it {1}?)",
                rel.display(),
                lang.name()
            ));
        }
        if let Some((line, col)) = measured.syntax_errors.first() {
            result.notes.push(format!(
                "{}:{line}:{col}: {} syntax error; the functions that parse are measured",
                rel.display(),
                lang.name()
            ));
        }
        result.functions += measured.functions.len() as u64;
        for f in measured.functions {
            let s = &f.suppression;
            if s.any() && s.reason.is_none() && self.config.config.require_reason && !is_go_directive_only(s) {
                result.findings.push(Finding {
                    check: Check::Complexity,
                    rule: "suppression-without-reason".into(),
                    path: rel.to_path_buf(),
                    line: s.line,
                    column: 1,
                    end_line: None,
                    byte_offset: None,
                    message: format!("complexity suppression on {} gives no reason: add `-- why`", f.name),
                    function: Some(f.name.clone()),
                    value: None,
                    threshold: None,
                    redacted: None,
                    secret_hash: None,
                    commit: None,
                    fingerprint: format!("suppression-without-reason:{}:{}", rel.display(), f.name),
                    gating: true,
                    ignored_file: false,
                });
            }
            for (rule, value, max, suppressed) in [
                ("cyclomatic", f.cyclomatic, settings.max_cyclomatic, s.cyclomatic),
                ("cognitive", f.cognitive, settings.max_cognitive, s.cognitive),
            ] {
                if value > max && !suppressed {
                    result.findings.push(Finding {
                        check: Check::Complexity,
                        rule: rule.into(),
                        path: rel.to_path_buf(),
                        line: f.line,
                        column: f.column,
                        end_line: Some(f.end_line),
                        byte_offset: None,
                        message: format!("{} has {rule} complexity {value} (> {max})", f.name),
                        function: Some(f.name.clone()),
                        value: Some(value),
                        threshold: Some(max),
                        redacted: None,
                        secret_hash: None,
                        commit: None,
                        fingerprint: format!("{rule}:{}:{}", rel.display(), f.name),
                        gating: true,
                        ignored_file: false,
                    });
                }
            }
        }
    }

    /// The finding for a secret hit at `line`:`column` of `rel` (history scans use it too).
    pub fn secret_finding(
        &self,
        rel: &Path,
        hit: secrets::SecretHit,
        line: u32,
        column: u32,
        byte_offset: Option<u64>,
        result: &mut FileResult,
    ) {
        let hash = secrets::secret_hash(&hit.secret);
        let redacted = secrets::redact(&hit.secret);
        let (rule, message) = match &hit.allowed {
            Some(Some(_)) => return,
            Some(None) if !self.config.config.require_reason => return,
            Some(None) => (
                "suppression-without-reason".to_string(),
                format!("secret allowed by a comment that gives no reason ({}): add `-- why`", hit.rule),
            ),
            None => {
                let description = secrets::rules::RULES.iter().find(|r| r.id == hit.rule).map_or("", |r| r.description);
                (hit.rule.to_string(), format!("{description}: {redacted}"))
            }
        };
        result.findings.push(Finding {
            check: Check::Secrets,
            fingerprint: format!("{rule}:{}:{hash}", rel.display()),
            rule,
            path: rel.to_path_buf(),
            line,
            column,
            end_line: None,
            byte_offset,
            message,
            function: None,
            value: None,
            threshold: None,
            redacted: Some(redacted),
            secret_hash: Some(hash),
            commit: None,
            gating: true,
            ignored_file: false,
        });
    }
}

/// `//gocyclo:ignore` needs no reason (gocyclo's own directive has no place for one).
fn is_go_directive_only(s: &complexity::Suppression) -> bool {
    s.reason.is_none() && !(s.cyclomatic && s.cognitive)
}

/// What becomes of secrets in files `.gitignore` excludes (`--ignored-files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum IgnoredFiles {
    /// Scanned for secrets; what is found is a warning that does not fail the gate.
    #[default]
    Warn,
    /// Scanned for secrets; what is found fails the gate like any secret.
    Fail,
    /// Not scanned.
    Skip,
}

/// Directories whose ignored files are not scanned for secrets: dependencies and build outputs,
/// large and written by tools, not by people holding credentials.
const GENERATED_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "build",
    "dist",
    "out",
    "vendor",
    ".venv",
    "venv",
    "__pycache__",
    ".gradle",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".cache",
    "bin",
    "obj",
    ".next",
];

/// Walk options.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Honour .gitignore, .ignore and git's excludes.
    pub respect_ignore: bool,
    /// Whether files those exclude are scanned for secrets anyway, and how their findings count.
    pub ignored_files: IgnoredFiles,
    /// Follow symbolic links (loops are reported).
    pub follow_symlinks: bool,
    /// Worker threads.
    pub threads: usize,
}

/// Scans every file under `paths` in parallel; paths in results are relative to `root`. With
/// ignore files honoured, the files they exclude are then scanned for secrets as
/// `options.ignored_files` says ([`walk_ignored`]).
pub fn walk(paths: &[PathBuf], root: &Path, options: &WalkOptions, scanner: &FileScanner) -> Vec<FileResult> {
    let ignored_too = options.respect_ignore && options.ignored_files != IgnoredFiles::Skip && scanner.rules.is_some();
    let seen = ignored_too.then(|| Mutex::new(HashSet::new()));
    let record = |path: &Path| {
        if let Some(seen) = &seen {
            seen.lock().unwrap().insert(path.to_path_buf());
        }
        true
    };
    let mut results = walk_files(paths, root, options, false, &record, scanner);
    if let Some(seen) = seen {
        results.extend(walk_ignored(paths, root, options, &seen.into_inner().unwrap(), scanner));
    }
    results
}

/// Scans, for secrets only, the files under `paths` that the ignore files exclude (those not in
/// `seen`), outside dependency and build directories ([`GENERATED_DIRS`]). Their findings say
/// so, and gate only under [`IgnoredFiles::Fail`].
fn walk_ignored(
    paths: &[PathBuf],
    root: &Path,
    options: &WalkOptions,
    seen: &HashSet<PathBuf>,
    scanner: &FileScanner,
) -> Vec<FileResult> {
    let everything = WalkOptions { respect_ignore: false, ..options.clone() };
    let secrets_only = FileScanner { complexity: false, ..*scanner };
    let mut results = walk_files(paths, root, &everything, true, &|path: &Path| !seen.contains(path), &secrets_only);
    let gating = options.ignored_files == IgnoredFiles::Fail;
    for result in &mut results {
        // A file nobody meant to scan that cannot be read (a root-owned build product, a huge
        // data file) is worth a note, not a failed gate.
        let errors = std::mem::take(&mut result.errors);
        result.notes.extend(errors.into_iter().map(|e| format!("{e} (a file .gitignore excludes)")));
        for f in &mut result.findings {
            f.ignored_file = true;
            f.gating &= gating;
            f.message.push_str(" (in a file .gitignore excludes: not committed, but `git add -f` or a `docker build` of this directory takes it)");
        }
    }
    results
}

/// Scans the files under `paths` that `wanted` accepts, in parallel, leaving out
/// [`GENERATED_DIRS`] when `prune_generated`.
fn walk_files(
    paths: &[PathBuf],
    root: &Path,
    options: &WalkOptions,
    prune_generated: bool,
    wanted: &(dyn Fn(&Path) -> bool + Sync),
    scanner: &FileScanner,
) -> Vec<FileResult> {
    let results = Mutex::new(Vec::new());
    let Some(first) = paths.first() else { return Vec::new() };
    let mut builder = ignore::WalkBuilder::new(first);
    for p in &paths[1..] {
        builder.add(p);
    }
    builder
        .hidden(false)
        .git_ignore(options.respect_ignore)
        .git_global(options.respect_ignore)
        .git_exclude(options.respect_ignore)
        .ignore(options.respect_ignore)
        .parents(options.respect_ignore)
        .require_git(false)
        .follow_links(options.follow_symlinks)
        .threads(options.threads)
        .filter_entry(move |e| {
            let name = e.file_name();
            name != ".git" && !(prune_generated && e.depth() > 0 && GENERATED_DIRS.iter().any(|d| name == *d))
        });
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            let result = match entry {
                Err(e) => FileResult { errors: vec![e.to_string()], ..FileResult::default() },
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) && wanted(e.path()) => {
                    let path = e.path();
                    let rel = relative(path, root);
                    scanner.scan_path(path, &rel)
                }
                Ok(_) => return ignore::WalkState::Continue,
            };
            if !(result.findings.is_empty() && result.errors.is_empty() && result.notes.is_empty() && result.bytes == 0)
            {
                results.lock().unwrap().push(result);
            }
            ignore::WalkState::Continue
        })
    });
    results.into_inner().unwrap()
}

/// `path` relative to `root` when under it, without a leading `./`.
pub fn relative(path: &Path, root: &Path) -> PathBuf {
    let p = path.strip_prefix(root).unwrap_or(path);
    p.strip_prefix(".").unwrap_or(p).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let data = b"ab\ncde\nf";
        assert_eq!(line_col(data, 0), (1, 1));
        assert_eq!(line_col(data, 4), (2, 2));
        assert_eq!(line_col(data, 7), (3, 1));
    }

    #[test]
    fn content_kinds() {
        assert!(matches!(classify(b"plain".to_vec()), Content::Text(_)));
        assert!(matches!(classify(vec![0x7f, b'E', b'L', b'F', 0, 0]), Content::Binary(_)));
        let mut le = vec![0xFF, 0xFE];
        le.extend("k=v".encode_utf16().flat_map(u16::to_le_bytes));
        match classify(le) {
            Content::Utf16(t) => assert_eq!(t, b"k=v"),
            _ => panic!("not decoded"),
        }
        assert!(is_generated(b"// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x"));
        assert!(!is_generated(b"package x"));
    }
}
