//! Stored runs: criterion's estimates of each benchmark, with where and how they were taken.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::BenchError;

/// One benchmark's estimates, from criterion's `estimates.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Criterion's id (`group/function[/parameter]`).
    pub id: String,
    /// Mean time per iteration, ns.
    pub mean_ns: f64,
    /// Lower end of the mean's 95 % confidence interval, ns.
    pub mean_low_ns: f64,
    /// Upper end of it, ns.
    pub mean_high_ns: f64,
    /// Median, ns.
    pub median_ns: f64,
    /// Standard deviation, ns.
    pub std_dev_ns: f64,
}

/// A stored run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResults {
    /// Board profile.
    pub board: String,
    /// Revision of the sources the benches were built from.
    pub revision: String,
    /// Where it ran: `qemu -cpu cortex-a72`, `ssh pi@raspberrypi`.
    pub location: String,
    /// The board's name among several run at once (its inventory name, or the `--ssh`
    /// destination); empty for a run on one board.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Ran under emulation: the timings say nothing about a board.
    pub emulated: bool,
    /// CPU features the board reported.
    pub cpu_features: Vec<String>,
    /// The benchmark filter, if any.
    pub filter: Option<String>,
    /// Unix time the run started.
    pub started: u64,
    /// Unix time it ended.
    pub finished: u64,
    /// Every benchmark ran to the end.
    pub complete: bool,
    /// Stopped by Ctrl-C: the estimates are those finished before.
    pub interrupted: bool,
    /// Benchmark executables that failed, with why.
    pub failures: Vec<String>,
    /// Estimates, by id.
    pub benches: Vec<Estimate>,
}

impl RunResults {
    /// Reads a stored run.
    pub fn load(path: &Path) -> Result<RunResults, BenchError> {
        let text = std::fs::read_to_string(path).map_err(|e| BenchError::io(path, e))?;
        RunResults::parse(&text, path)
    }

    /// [`RunResults::load`] of a file already read (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<RunResults, BenchError> {
        serde_json::from_str(text).map_err(|e| {
            BenchError::Results(format!("{}: not a run stored by `armtune bench run`: {e}", path.display()))
        })
    }

    /// Stores the run under `dir/BOARD/REVISION/run-STARTED.json` (`run-STARTED-HOST.json` for a
    /// run of several boards) and returns the path.
    pub fn store(&self, dir: &Path) -> Result<PathBuf, BenchError> {
        let sub = dir.join(&self.board).join(&self.revision);
        std::fs::create_dir_all(&sub).map_err(|e| BenchError::io(&sub, e))?;
        let host: String =
            self.host.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.@".contains(c) { c } else { '_' }).collect();
        let name = if host.is_empty() {
            format!("run-{}.json", self.started)
        } else {
            format!("run-{}-{host}.json", self.started)
        };
        let path = sub.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(self).unwrap_or_default())
            .map_err(|e| BenchError::io(&path, e))?;
        Ok(path)
    }
}

/// Reads criterion's `benchmark.json` + `estimates.json` pair of one benchmark.
pub fn estimate_from(benchmark_json: &str, estimates_json: &str) -> Option<Estimate> {
    let b: serde_json::Value = serde_json::from_str(benchmark_json).ok()?;
    let e: serde_json::Value = serde_json::from_str(estimates_json).ok()?;
    let point = |k: &str| e[k]["point_estimate"].as_f64();
    Some(Estimate {
        id: b["full_id"].as_str()?.to_string(),
        mean_ns: point("mean")?,
        mean_low_ns: e["mean"]["confidence_interval"]["lower_bound"].as_f64()?,
        mean_high_ns: e["mean"]["confidence_interval"]["upper_bound"].as_f64()?,
        median_ns: point("median")?,
        std_dev_ns: point("std_dev")?,
    })
}

/// Every benchmark criterion recorded under `home` (its `CRITERION_HOME`).
pub fn collect_local(home: &Path) -> Vec<Estimate> {
    let mut out = Vec::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            if path.file_name().is_some_and(|n| n == "new") {
                out.extend(read_pair(&path));
            } else {
                stack.push(path);
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The estimate in a criterion `new/` directory.
fn read_pair(dir: &Path) -> Option<Estimate> {
    let b = std::fs::read_to_string(dir.join("benchmark.json")).ok()?;
    let e = std::fs::read_to_string(dir.join("estimates.json")).ok()?;
    estimate_from(&b, &e)
}

/// Parses what the remote collection script prints: `==> DIR` headers, then the two files.
pub fn collect_listing(listing: &str) -> Vec<Estimate> {
    let mut out = Vec::new();
    for block in listing.split("==> ").skip(1) {
        let mut parts = block.splitn(3, "\n--8<--\n");
        let (_dir, b, e) = (parts.next(), parts.next(), parts.next());
        if let (Some(b), Some(e)) = (b, e) {
            out.extend(estimate_from(b, e));
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// A stored run made up by a test: `benches` as (id, mean, low, high) in ns.
#[cfg(test)]
pub(crate) fn made_up_run(host: &str, revision: &str, benches: &[(&str, f64, f64, f64)]) -> RunResults {
    RunResults {
        board: "rpi4".into(),
        revision: revision.into(),
        location: format!("ssh pi@{}", if host.is_empty() { "pi" } else { host }),
        host: host.into(),
        emulated: false,
        cpu_features: vec![],
        filter: None,
        started: 1,
        finished: 2,
        complete: true,
        interrupted: false,
        failures: vec![],
        benches: benches
            .iter()
            .map(|&(id, mean, lo, hi)| Estimate {
                id: id.into(),
                mean_ns: mean,
                mean_low_ns: lo,
                mean_high_ns: hi,
                median_ns: mean,
                std_dev_ns: 1.0,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCHMARK: &str = r#"{"group_id":"atomics","function_id":"lse","value_str":null,"throughput":null,"full_id":"atomics/lse","directory_name":"atomics/lse","title":"atomics/lse"}"#;
    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":130.9,"upper_bound":131.6},"point_estimate":131.3,"standard_error":0.2},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":130.0,"upper_bound":132.0},"point_estimate":131.0,"standard_error":0.3},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.1,"upper_bound":0.9},"point_estimate":0.5,"standard_error":0.1},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.2,"upper_bound":0.8},"point_estimate":0.6,"standard_error":0.1}}"#;

    #[test]
    fn criterion_files_and_listing() {
        let e = estimate_from(BENCHMARK, ESTIMATES).unwrap();
        assert_eq!((e.id.as_str(), e.mean_ns, e.mean_low_ns, e.mean_high_ns), ("atomics/lse", 131.3, 130.9, 131.6));
        let listing = format!("==> ./atomics/lse/new\n--8<--\n{BENCHMARK}\n--8<--\n{ESTIMATES}\n");
        assert_eq!(collect_listing(&listing), vec![e]);
    }
}
