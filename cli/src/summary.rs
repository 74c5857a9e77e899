//! The short terminal summary printed after a profile: what was taken, what was lost, and the top
//! functions by self and total time.

use std::fmt::Write as _;

use armtune_probes::{histogram::Log2Histogram, report::Report, Profile};

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

/// How many rows the wakeup and thread tables list.
pub const TOP_ROWS: usize = 10;

/// The summary of a whole run: the main profile, then run-queue latency, wakeups and threads for
/// whichever were recorded.
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
    memory(&mut s, report);
    gc(&mut s, report);
    if let Some(off) = report.off_cpu.as_ref().filter(|_| report.cpu.is_some()) {
        let _ = writeln!(s, "off-CPU: {:.3} s blocked in total", off.total() as f64 / 1e6);
    }
    scheduler(&mut s, report);
    for section in armtune_probes::families::summaries(&report.sections) {
        s.push_str(&section);
    }
    s
}

/// Allocation and leak graphs beside the main one, and allocation sizes.
fn memory(s: &mut String, report: &Report) {
    if let Some(mean) = report.allocs().or(report.live.as_ref()).map(|p| p.meta.alloc_sample_bytes).filter(|&m| m > 0) {
        let _ = writeln!(s, "allocations sampled: about one per {mean} bytes; bytes and calls are estimates");
    }
    for extra in report.flame_graphs().iter().skip(1).filter(|g| matches!(g.name, "alloc" | "leak")) {
        let _ = writeln!(s, "{}: {} {}", extra.title, extra.profile.total(), extra.profile.unit.label);
        let (by_self, _) = extra.profile.top_functions(5);
        for row in by_self {
            let _ = writeln!(s, "  {:>10}  {}", row.self_weight, row.name);
        }
    }
    for h in &report.sizes {
        let _ = writeln!(s, "allocation sizes of {} ({}): {} allocations", h.comm, h.tgid, h.histogram.count());
        s.push_str(&h.histogram.render("bytes"));
    }
}

/// Collections per process with their pause histogram, and who paid the mark assists.
fn gc(s: &mut String, report: &Report) {
    for g in &report.gc {
        let h = &g.histogram;
        let p = |q: f64| h.percentile_us(q).map_or("-".to_string(), |v| format!("{v:.0}"));
        let _ = writeln!(
            s,
            "garbage collection in {} ({}): {} cycles, {} stop-the-world pauses, {:.3} ms paused in total, \
             p50 {} us, p99 {} us, max {:.0} us, {} mark assists",
            g.comm,
            g.tgid,
            g.cycles,
            g.pauses,
            g.pause_total_ns as f64 / 1e6,
            p(50.0),
            p(99.0),
            h.max_ns as f64 / 1000.0,
            g.assists
        );
        s.push_str(&h.render("pause usecs"));
    }
    if let Some(assists) = &report.gc_assists {
        let _ = writeln!(s, "mark assists by allocating function (innermost frame outside the Go runtime):");
        for (name, weight) in assists.top_user_leaves_outside(TOP_ROWS, "runtime.") {
            let _ = writeln!(s, "  {weight:>8}  {name}");
        }
    }
}

/// Run-queue latency, wakeups and per-thread switch counts.
fn scheduler(s: &mut String, report: &Report) {
    if !report.runq.is_empty() {
        let _ = writeln!(s, "run-queue latency (time from wakeup or preemption to running):");
        for h in report.runq_overall() {
            s.push_str(&runq_line("all targets", h.cpu, &h.histogram));
            s.push_str(&h.histogram.render("usecs"));
        }
        let per_process: Vec<_> = report.runq.iter().filter(|h| h.cpu.is_none()).collect();
        if per_process.len() > 1 {
            for h in per_process.into_iter().take(TOP_ROWS) {
                s.push_str(&runq_line(&format!("{} ({})", h.comm, h.tgid), None, &h.histogram));
            }
        }
    }
    if !report.wake_pairs.is_empty() {
        let _ = writeln!(s, "wakeups (waker -> woken):");
        for w in report.wake_pairs.iter().take(TOP_ROWS) {
            let _ = writeln!(
                s,
                "  {:>8}  {} ({}) -> {} ({})",
                w.count, w.waker_comm, w.waker_tgid, w.wakee_comm, w.wakee_tgid
            );
        }
    }
    if !report.threads.is_empty() {
        let _ = writeln!(s, "threads: {:>8} {:>10} {:>12} {:>10}", "tid", "voluntary", "involuntary", "migrations");
        for t in report.threads.iter().take(TOP_ROWS) {
            let _ = writeln!(
                s,
                "  {:<16} {:>6} {:>10} {:>12} {:>10}",
                t.comm, t.tid, t.voluntary, t.involuntary, t.migrations
            );
        }
    }
}

fn runq_line(who: &str, cpu: Option<u32>, h: &Log2Histogram) -> String {
    let p = |q: f64| h.percentile_us(q).map_or("-".to_string(), |v| format!("{v:.0}"));
    let cpu = cpu.map(|c| format!(" on CPU {c}")).unwrap_or_default();
    format!(
        "  {who}{cpu}: {} waits, p50 {} us, p90 {} us, p99 {} us, max {:.0} us\n",
        h.count(),
        p(50.0),
        p(90.0),
        p(99.0),
        h.max_ns as f64 / 1000.0
    )
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
        assert!(s.contains(" 75.00%        75  hot\n"), "{s}");
        assert!(s.contains("100.00%       100  main\n"), "{s}");
    }
}
