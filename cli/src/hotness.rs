//! Which functions a profile spends its samples in, for ranking `armtune check` findings. Reads
//! armtune's folded and JSON profiles, pprof profiles, other folded files, and `perf script`
//! output (collapsed with inferno).

use std::{collections::HashMap, path::Path};

use anyhow::{Context, Result};
use armtune_probes::profile::FrameKind;
use inferno::collapse::{perf::Folder, Collapse};

use crate::flame;

/// Function name -> share of all samples in stacks containing it (0..=1).
pub type Shares = HashMap<String, f64>;

/// Reads `path` and computes each function's total share.
pub fn function_shares(path: &Path) -> Result<Shares> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    shares_from_bytes(path, bytes)
}

/// [`function_shares`] of a file already read (`path` names it in errors).
pub fn shares_from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Shares> {
    if armtune_probes::pprof::looks_like_pprof(&bytes) {
        return Ok(shares_of(&flame::profile_from_bytes(path, bytes, flame::Pick::default())?));
    }
    let text = String::from_utf8(bytes).expect("looks_like_pprof takes what is not UTF-8");
    let looks_folded = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.rsplit_once(' ').is_some_and(|(_, n)| n.trim().parse::<u64>().is_ok()));
    let profile = if text.trim_start().starts_with('{') || looks_folded {
        flame::profile_from_bytes(path, text.into_bytes(), flame::Pick::default())?
    } else {
        // perf script output: collapse it as inferno-collapse-perf does, for the first sample's
        // event. Named here rather than by inferno, which asserts (panics) when the first line is
        // no sample line: any other text file would crash `check --profile`.
        let not_a_profile =
            || format!("{}: neither folded stacks, armtune JSON nor perf script output", path.display());
        let event = first_perf_event(&text).with_context(not_a_profile)?;
        let mut options = inferno::collapse::perf::Options::default();
        options.event_filter = Some(event.to_string());
        let mut folded = Vec::new();
        Folder::from(options).collapse(text.as_bytes(), &mut folded).with_context(not_a_profile)?;
        armtune_probes::Profile::read_folded(folded.as_slice(), armtune_probes::profile::Unit::samples())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    };
    Ok(shares_of(&profile))
}

/// The event of the first sample of `perf script` text (`comm pid [cpu] time: [period] event:`),
/// as inferno's collapser reads it; `None` when the first line is not a sample's.
fn first_perf_event(text: &str) -> Option<&str> {
    let line = text.lines().map(str::trim_end).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    // A thread's name can hold a colon (`kworker/0:1`): the timestamp is the first `SECONDS:`.
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    words.find(|w| w.strip_suffix(':').is_some_and(|t| t.parse::<f64>().is_ok()))?;
    words.find(|w| w.contains(':'))?.split(':').next().filter(|event| !event.is_empty())
}

/// Each user function's share of `profile`'s weight.
fn shares_of(profile: &armtune_probes::Profile) -> Shares {
    let total = profile.total().max(1) as f64;
    let mut shares = Shares::new();
    for (stack, &weight) in &profile.stacks {
        let mut seen = std::collections::HashSet::new();
        for frame in stack.iter().filter(|f| matches!(f.kind, FrameKind::User | FrameKind::OffCpu)) {
            if seen.insert(frame.name.as_str()) {
                *shares.entry(frame.name.clone()).or_default() += weight as f64 / total;
            }
        }
    }
    shares
}

/// The share of `symbol` (as named in the binary), matching demangled names too.
pub fn share(shares: &Shares, symbol: &str) -> f64 {
    if let Some(s) = shares.get(symbol) {
        return *s;
    }
    let demangled = format!("{:#}", rustc_demangle::demangle(symbol));
    shares.get(&demangled).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_samples_event_names_the_perf_script_text() {
        let text = "# header\n\nkworker/0:1    12 [000]  1234.567890:     250000 cpu-clock:pppH: \n\tffff x (y)\n";
        assert_eq!(first_perf_event(text), Some("cpu-clock"));
        let text = "demo 28635 12473.093116:    2004008 cycles:u:  401136 main+0x4a (/tmp/demo)\n";
        assert_eq!(first_perf_event(text), Some("cycles"));
        // Other text: an error, where inferno would assert.
        assert_eq!(first_perf_event("# armtune\n\nThe toolkit: profiles.\n"), None);
        assert_eq!(first_perf_event("\tffff x (y)\n"), None);
        assert!(shares_from_bytes(Path::new("README.md"), b"# armtune\n\nsee: here\n".to_vec()).is_err());
    }

    #[test]
    fn shares_from_folded_and_perf_script() {
        let dir = tempfile::tempdir().unwrap();
        let folded = dir.path().join("p.folded");
        std::fs::write(&folded, "app;main;hot_loop 75\napp;main;cold 25\n").unwrap();
        let s = function_shares(&folded).unwrap();
        assert_eq!(s["hot_loop"], 0.75);
        assert_eq!(s["main"], 1.0);
        assert_eq!(share(&s, "missing"), 0.0);

        let perf = dir.path().join("perf.txt");
        std::fs::write(
            &perf,
            "app 123 1.0: 1 cpu-clock:\n\t    aaaa hot_loop+0x10 (/app)\n\t    bbbb main+0x20 (/app)\n\n\
             app 123 2.0: 1 cpu-clock:\n\t    aaaa hot_loop+0x14 (/app)\n\t    bbbb main+0x20 (/app)\n\n",
        )
        .unwrap();
        let s = function_shares(&perf).unwrap();
        assert_eq!(s["hot_loop"], 1.0, "{s:?}");
    }
}
