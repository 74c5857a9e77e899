//! Windows written to a directory (`--output-dir`): one gzipped pprof file per window and
//! profile (`cpu-`, `off-cpu-`), named by when it ended (UTC, to the millisecond), the oldest
//! removed once there are more than `--keep` files or they take more than `--max-dir-size`.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use anyhow::{Context, Result};

/// The suffix of the files the agent writes; with a family's prefix
/// ([`super::push::Family::file_prefix`]) they are the only ones it removes.
const SUFFIX: &str = ".pb.gz";

/// Whether `name` is a window's file.
fn is_window(name: &str) -> bool {
    super::push::Family::ALL.iter().any(|f| name.starts_with(f.file_prefix())) && name.ends_with(SUFFIX)
}

/// A directory of windows.
pub struct Spool {
    dir: PathBuf,
    keep: usize,
    max_bytes: u64,
}

impl Spool {
    /// Creates `dir` if needed; fails with a one-line reason if it cannot be written.
    pub fn open(dir: &Path, keep: usize, max_bytes: u64) -> Result<Spool> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let probe = dir.join(".armtune-write-test");
        std::fs::write(&probe, b"").with_context(|| format!("cannot write in {}", dir.display()))?;
        let _ = std::fs::remove_file(probe);
        Ok(Spool { dir: dir.to_path_buf(), keep: keep.max(1), max_bytes })
    }

    /// Writes one window that ended at `until`, then removes the oldest files over the limits.
    /// Returns the file written.
    pub fn write(&self, prefix: &str, pprof: &[u8], until: SystemTime) -> Result<PathBuf> {
        debug_assert!(super::push::Family::ALL.iter().any(|f| f.file_prefix() == prefix));
        let mut path = self.dir.join(format!("{prefix}{}{SUFFIX}", utc_stamp(until)));
        // Two windows in one millisecond (a clock stepped back): keep both.
        let mut n = 1;
        while path.exists() {
            path = self.dir.join(format!("{prefix}{}-{n}{SUFFIX}", utc_stamp(until)));
            n += 1;
        }
        // Written under a temporary name, so a reader never sees half a file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, pprof).with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &path).with_context(|| format!("renaming {}", partial.display()))?;
        self.rotate()?;
        Ok(path)
    }

    /// Removes the oldest windows beyond `keep` files or `max_bytes` in all.
    fn rotate(&self) -> Result<()> {
        let mut files: Vec<(SystemTime, PathBuf, u64)> = std::fs::read_dir(&self.dir)
            .with_context(|| format!("reading {}", self.dir.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_str().is_some_and(is_window))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, e.path(), meta.len()))
            })
            .collect();
        // Oldest first: by when written, then by name (which is by time too).
        files.sort();
        let mut total: u64 = files.iter().map(|f| f.2).sum();
        let mut count = files.len();
        for (_, path, size) in files {
            if count <= self.keep && total <= self.max_bytes {
                break;
            }
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            count -= 1;
            total -= size;
        }
        Ok(())
    }
}

/// `20261202T211136.250Z`: a time as UTC to the millisecond, in a form that sorts as text.
pub fn utc_stamp(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let (secs, ms) = (since.as_secs(), since.subsec_millis());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{ms:03}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_dates() {
        let at = |s: u64| utc_stamp(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "19700101T000000.000Z");
        // `date -u -d @1796245896 +%Y%m%dT%H%M%SZ`
        assert_eq!(at(1_796_245_896), "20261202T211136.000Z");
        assert_eq!(at(951_782_400), "20000229T000000.000Z", "a leap day");
        let later = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_245_896_250);
        assert_eq!(utc_stamp(later), "20261202T211136.250Z");
    }

    #[test]
    fn the_oldest_windows_go_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not the agent's").unwrap();
        let spool = Spool::open(dir.path(), 2, u64::MAX).unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_245_896);
        for i in 0..4 {
            spool.write("cpu-", b"x", t0 + Duration::from_secs(i)).unwrap();
        }
        let mut names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["cpu-20261202T211138.000Z.pb.gz", "cpu-20261202T211139.000Z.pb.gz", "notes.txt"]);
        // By size: 3 bytes allowed; 1 + 1 + 2 is one too many, so the oldest goes.
        let small = Spool { max_bytes: 3, ..spool };
        small.write("off-cpu-", b"yy", t0 + Duration::from_secs(10)).unwrap();
        assert!(!dir.path().join("cpu-20261202T211138.000Z.pb.gz").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
