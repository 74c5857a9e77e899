//! Git: lines added by each commit (history scans), by the index (`--staged`), and since a
//! revision (`--new-from-rev`). Runs the `git` command, as pre-commit hooks and CI jobs have it.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{finding::CommitInfo, Error};

/// Lines one commit added to one file.
#[derive(Debug, Clone)]
pub struct AddedLines {
    /// The commit (hash `staged` for the index).
    pub commit: CommitInfo,
    /// File, relative to the repository root.
    pub path: PathBuf,
    /// (line number in the new file, text without the newline).
    pub lines: Vec<(u32, Vec<u8>)>,
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>, Error> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| Error::Git(format!("cannot run git ({e}); install git or drop the git options")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or("").trim();
        return Err(Error::Git(format!("git {}: {first}", args.join(" "))));
    }
    Ok(out.stdout)
}

/// The top of the work tree containing `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, Error> {
    let out = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| Error::Git(format!("{} is not in a git repository", dir.display())))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim()))
}

const COMMIT_MARK: &[u8] = b"\x00commit\x00";

/// Lines added by each commit in `range` (`REV..HEAD`, or all of HEAD's history when `None`),
/// oldest commit last as git lists them.
pub fn history(root: &Path, since: Option<&str>) -> Result<Vec<AddedLines>, Error> {
    let range = since.map(|r| format!("{r}..HEAD"));
    let mut args = vec![
        "log",
        "-p",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--diff-filter=AM",
        "--format=%x00commit%x00%H%x00%an%x00%aI%x00%s",
    ];
    if let Some(r) = &range {
        args.push(r);
    }
    args.push("--");
    Ok(parse_patches(&git(root, &args)?, None))
}

/// Lines added in the index relative to HEAD (what `git commit` would record).
pub fn staged(root: &Path) -> Result<Vec<AddedLines>, Error> {
    let out =
        git(root, &["diff", "--cached", "-U0", "--no-color", "--no-ext-diff", "--no-renames", "--diff-filter=AM"])?;
    let commit =
        CommitInfo { hash: "staged".into(), author: String::new(), date: String::new(), summary: String::new() };
    Ok(parse_patches(&out, Some(commit)))
}

/// Per file, the inclusive new-side line ranges changed, or `None` when the whole file is new.
pub type Changes = HashMap<PathBuf, Option<Vec<(u32, u32)>>>;

/// For `--new-from-rev`: the new-side line ranges each file changed since `rev` (work tree
/// against `rev`), with untracked files wholly new.
pub fn changed_since(root: &Path, rev: &str) -> Result<Changes, Error> {
    let out = git(root, &["diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", rev, "--"])?;
    let mut changed: Changes = HashMap::new();
    let mut current: Option<PathBuf> = None;
    for line in out.split(|&b| b == b'\n') {
        if let Some(path) = line.strip_prefix(b"+++ b/") {
            let p = PathBuf::from(String::from_utf8_lossy(path).into_owned());
            changed.entry(p.clone()).or_insert_with(|| Some(Vec::new()));
            current = Some(p);
        } else if line.starts_with(b"+++ ") {
            current = None;
        } else if line.starts_with(b"@@") {
            if let (Some(p), Some((start, count))) = (&current, hunk_new_range(line)) {
                if count > 0 {
                    if let Some(Some(ranges)) = changed.get_mut(p) {
                        ranges.push((start, start + count - 1));
                    }
                }
            }
        }
    }
    let untracked = git(root, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    for p in untracked.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        changed.insert(PathBuf::from(String::from_utf8_lossy(p).into_owned()), None);
    }
    Ok(changed)
}

/// `@@ -a,b +c,d @@` → (c, d); d defaults to 1.
fn hunk_new_range(line: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(line).ok()?;
    let plus = text.split(' ').find(|w| w.starts_with('+'))?;
    let mut parts = plus[1..].split(',');
    let start = parts.next()?.parse().ok()?;
    let count = parts.next().map_or(Some(1), |c| c.parse().ok())?;
    Some((start, count))
}

fn parse_patches(out: &[u8], fixed: Option<CommitInfo>) -> Vec<AddedLines> {
    let mut result: Vec<AddedLines> = Vec::new();
    let mut commit = fixed.clone();
    let mut file: Option<usize> = None;
    let mut next_line = 0u32;
    for line in out.split(|&b| b == b'\n') {
        if let Some(header) = line.strip_prefix(COMMIT_MARK) {
            let fields: Vec<String> =
                header.split(|&b| b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
            commit = Some(CommitInfo {
                hash: fields.first().cloned().unwrap_or_default(),
                author: fields.get(1).cloned().unwrap_or_default(),
                date: fields.get(2).cloned().unwrap_or_default(),
                summary: fields.get(3).cloned().unwrap_or_default(),
            });
            file = None;
        } else if let Some(path) = line.strip_prefix(b"+++ b/") {
            let Some(c) = commit.clone() else { continue };
            result.push(AddedLines {
                commit: c,
                path: PathBuf::from(String::from_utf8_lossy(path).into_owned()),
                lines: Vec::new(),
            });
            file = Some(result.len() - 1);
        } else if line.starts_with(b"+++ ") || line.starts_with(b"diff --git") {
            file = None;
        } else if line.starts_with(b"@@") {
            next_line = hunk_new_range(line).map_or(0, |(s, _)| s);
        } else if let (Some(f), Some(added)) = (file, line.strip_prefix(b"+")) {
            result[f].lines.push((next_line, added.to_vec()));
            next_line += 1;
        }
    }
    result.retain(|a| !a.lines.is_empty());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers() {
        assert_eq!(hunk_new_range(b"@@ -3,0 +4,2 @@ fn x"), Some((4, 2)));
        assert_eq!(hunk_new_range(b"@@ -3 +4 @@"), Some((4, 1)));
        assert_eq!(hunk_new_range(b"@@ -3,2 +2,0 @@"), Some((2, 0)));
    }

    #[test]
    fn patches_give_added_lines_with_new_line_numbers() {
        let log = b"\x00commit\x00abc123\x00Dev\x002026-01-01T00:00:00+00:00\x00add config\n\
diff --git a/app.env b/app.env\nnew file mode 100644\n--- /dev/null\n+++ b/app.env\n@@ -0,0 +1,2 @@\n+A=1\n+B=2\n\
diff --git a/gone.txt b/gone.txt\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        let added = parse_patches(log, None);
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].commit.hash, "abc123");
        assert_eq!(added[0].path, PathBuf::from("app.env"));
        assert_eq!(added[0].lines, vec![(1, b"A=1".to_vec()), (2, b"B=2".to_vec())]);
    }
}
