//! The short terminal summary printed after a profile: what was taken, what was lost, and the top
//! functions by self and total time.

use std::fmt::Write as _;

use armtune_probes::Profile;

/// How many functions each table lists.
pub const TOP: usize = 10;

/// The summary text (several lines, ending with a newline).
pub fn render(profile: &Profile) -> String {
    let meta = &profile.meta;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {} of {} in {:.1} s at {} Hz",
        profile.total(),
        profile.unit.name,
        meta.target,
        meta.duration_secs,
        meta.frequency_hz
    );
    let lost = &meta.lost;
    if lost.any() {
        let _ = writeln!(
            s,
            "lost: {} user stacks, {} kernel stacks (stack map full or hash collisions: raise --stack-map-size), \
             {} samples (count map full: raise --count-map-size), {} process events (mappings may be missing)",
            lost.user_stacks, lost.kernel_stacks, lost.samples, lost.events
        );
    } else {
        let _ = writeln!(s, "lost: nothing");
    }
    let total = profile.total().max(1) as f64;
    let (by_self, by_total) = profile.top_functions(TOP);
    for (title, rows, self_col) in [("self", &by_self, true), ("total", &by_total, false)] {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "top functions by {title}:");
        for row in rows {
            let weight = if self_col {
                row.self_weight
            } else {
                row.total_weight
            };
            let _ = writeln!(
                s,
                "  {:6.2}%  {:>8}  {}",
                100.0 * weight as f64 / total,
                weight,
                row.name
            );
        }
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
            Meta {
                target: "./demo".into(),
                duration_secs: 2.0,
                frequency_hz: 99,
                ..Meta::default()
            },
        );
        p.add(
            vec![
                Frame::process("demo"),
                Frame::user("main"),
                Frame::user("hot"),
            ],
            75,
        );
        p.add(
            vec![
                Frame::process("demo"),
                Frame::user("main"),
                Frame::user("cold"),
            ],
            25,
        );
        p.meta.lost.user_stacks = 2;
        let s = render(&p);
        assert!(
            s.starts_with("100 samples of ./demo in 2.0 s at 99 Hz\n"),
            "{s}"
        );
        assert!(s.contains("lost: 2 user stacks"), "{s}");
        assert!(s.contains(" 75.00%        75  hot\n"), "{s}");
        assert!(s.contains("100.00%       100  main\n"), "{s}");
    }
}
