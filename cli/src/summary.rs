//! The short terminal summary printed after a profile: what was taken, what was lost, and the top
//! functions by self and total time.

use std::fmt::Write as _;

use armtune_probes::{report::Report, Profile};

/// How many functions each table lists.
pub const TOP: usize = 10;

/// The summary text (several lines, ending with a newline).
pub fn render(profile: &Profile) -> String {
    let meta = &profile.meta;
    let mut s = String::new();
    let rate = if meta.frequency_hz > 0 { format!(" at {} Hz", meta.frequency_hz) } else { String::new() };
    let _ = writeln!(
        s,
        "{} {} of {} in {:.1} s{rate}",
        profile.total(),
        profile.unit.name,
        meta.target,
        meta.duration_secs,
    );
    let lost = meta.lost.describe();
    if lost.is_empty() {
        let _ = writeln!(s, "lost: nothing");
    } else {
        let _ = writeln!(s, "lost: {}", lost.join("; "));
    }
    if let Some(truncated) = meta.unwinding.as_ref().and_then(|u| u.describe()) {
        let _ = writeln!(s, "notes: {truncated}");
    }
    let total = profile.total().max(1) as f64;
    // Off-CPU time all ends in the scheduler: name the program's own blocking call sites first.
    if profile.unit.includes_off_cpu() {
        let leaves = profile.top_user_leaves(TOP);
        if !leaves.is_empty() {
            let _ = writeln!(s, "top blocking call sites (innermost program frame):");
            for (name, weight) in leaves {
                let _ = writeln!(s, "  {:6.2}%  {:>8}  {}", 100.0 * weight as f64 / total, weight, name);
            }
        }
    }
    let (by_self, by_total) = profile.top_functions(TOP);
    for (title, rows, self_col) in [("self", &by_self, true), ("total", &by_total, false)] {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "top functions by {title}:");
        for row in rows {
            let weight = if self_col { row.self_weight } else { row.total_weight };
            let _ = writeln!(s, "  {:6.2}%  {:>8}  {}", 100.0 * weight as f64 / total, weight, row.name);
        }
    }
    s
}

/// The summary of a whole run: the main profile, then the sections of the families recorded.
pub fn render_report(report: &Report) -> String {
    let mut s = String::new();
    match report.main_profile() {
        Some(main) => s.push_str(&render(&main)),
        // No flame graph (`--event runq`, `--event proc`): the run and its losses still get a line.
        None => {
            let lost = report.meta.lost.describe();
            let lost = if lost.is_empty() { "nothing".to_string() } else { lost.join("; ") };
            let _ = writeln!(s, "{} for {:.1} s; lost: {lost}", report.meta.target, report.meta.duration_secs);
        }
    }
    if let Some(line) = armtune_probes::debuginfod::Debuginfod::describe(&report.debuginfod) {
        let _ = writeln!(s, "{line}");
    }
    // Then each recorded family's own section (run-queue histograms, wakeups, threads,
    // allocation sizes, collections, processes), in the registry's order.
    for section in armtune_probes::families::summaries(report) {
        s.push_str(&section);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use armtune_probes::{
        profile::{Meta, Unit},
        Frame,
    };

    #[test]
    fn lists_top_functions_with_shares_and_losses() {
        let mut p = Profile::new(
            Unit::samples(),
            Meta { target: "./demo".into(), duration_secs: 2.0, frequency_hz: 99, ..Meta::default() },
        );
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("hot")], 75);
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("cold")], 25);
        p.meta.lost.user_stacks = 2;
        let s = render(&p);
        assert!(s.starts_with("100 samples of ./demo in 2.0 s at 99 Hz\n"), "{s}");
        assert!(s.contains("lost: 2 user stacks"), "{s}");
        assert!(!s.contains("notes:"), "frame pointers: nothing to say of unwinding");
        p.meta.unwinding =
            Some(armtune_probes::meta::UnwindStats { stacks: 10, truncated_window: 3, ..Default::default() });
        let s = render(&p);
        assert!(s.contains("notes: 3 of 10 user stacks truncated (3 window too small: raise --stack-copy)"), "{s}");
        assert!(s.contains(" 75.00%        75  hot\n"), "{s}");
        assert!(s.contains("100.00%       100  main\n"), "{s}");
    }
}
