//! `armtune bench compare`: each benchmark's change between two stored runs, with the runs'
//! confidence intervals, flagged when the change is within noise.

use serde::{Deserialize, Serialize};

use crate::results::{Estimate, RunResults};

/// Changes smaller than this are noise even when the intervals do not overlap (criterion's own
/// default noise threshold).
pub const NOISE_THRESHOLD: f64 = 0.01;

/// One benchmark in the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Benchmark id.
    pub id: String,
    /// In the first run.
    pub a: Option<Estimate>,
    /// In the second run.
    pub b: Option<Estimate>,
    /// Relative change of the mean, (b − a) / a.
    pub change: Option<f64>,
    /// The change is within noise: the 95 % intervals overlap, or it is under 1 %.
    pub noise: bool,
}

/// The comparison of two runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// Rows, by id.
    pub rows: Vec<Row>,
    /// Things that make the numbers doubtful (emulation, different boards, incomplete runs).
    pub warnings: Vec<String>,
}

/// Compares run `a` with run `b`.
pub fn compare(a: &RunResults, b: &RunResults) -> Comparison {
    let mut ids: Vec<&str> = a.benches.iter().chain(&b.benches).map(|e| e.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    let find = |r: &RunResults, id: &str| r.benches.iter().find(|e| e.id == id).cloned();
    let rows = ids
        .into_iter()
        .map(|id| {
            let (ea, eb) = (find(a, id), find(b, id));
            let (change, noise) = match (&ea, &eb) {
                (Some(x), Some(y)) if x.mean_ns > 0.0 => {
                    let change = (y.mean_ns - x.mean_ns) / x.mean_ns;
                    let overlap = x.mean_low_ns <= y.mean_high_ns && y.mean_low_ns <= x.mean_high_ns;
                    (Some(change), overlap || change.abs() < NOISE_THRESHOLD)
                }
                _ => (None, false),
            };
            Row { id: id.to_string(), a: ea, b: eb, change, noise }
        })
        .collect();
    let mut warnings = Vec::new();
    for (name, r) in [("A", a), ("B", b)] {
        if r.emulated {
            warnings.push(format!(
                "run {name} ran under emulation ({}): its timings say nothing about a board",
                r.location
            ));
        }
        if !r.complete {
            warnings.push(format!("run {name} is incomplete{}", if r.interrupted { " (interrupted)" } else { "" }));
        }
    }
    if a.board != b.board {
        warnings.push(format!("the runs are of different boards: {} and {}", a.board, b.board));
    }
    Comparison { rows, warnings }
}

/// A time in ns, with a unit people read.
pub fn human(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.3} s", n / 1e9),
        n if n >= 1e6 => format!("{:.3} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.3} µs", n / 1e3),
        n => format!("{n:.2} ns"),
    }
}

fn cells(row: &Row) -> [String; 4] {
    let est = |e: &Option<Estimate>| match e {
        Some(e) => format!("{} [{}, {}]", human(e.mean_ns), human(e.mean_low_ns), human(e.mean_high_ns)),
        None => "—".into(),
    };
    let change = match row.change {
        Some(c) => format!("{:+.1} %{}", c * 100.0, if row.noise { " (noise)" } else { "" }),
        None => "—".into(),
    };
    [row.id.clone(), est(&row.a), est(&row.b), change]
}

/// A terminal table.
pub fn render_text(c: &Comparison) -> String {
    let header = ["benchmark", "A mean [95% CI]", "B mean [95% CI]", "change"].map(String::from).to_vec();
    let rows: Vec<Vec<String>> = std::iter::once(header).chain(c.rows.iter().map(|r| cells(r).to_vec())).collect();
    text_table(&rows, &c.warnings)
}

/// Rows (the header first) as aligned columns, then a line per warning: the terminal form of
/// both comparisons.
pub(crate) fn text_table(rows: &[Vec<String>], warnings: &[String]) -> String {
    let n = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..n).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = (0..n).map(|i| format!("{:w$}", r[i], w = widths[i])).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for w in warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

/// A Markdown table.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::from("| benchmark | A mean [95% CI] | B mean [95% CI] | change |\n|---|---|---|---|\n");
    for r in &c.rows {
        let [id, a, b, change] = cells(r);
        out.push_str(&format!("| `{id}` | {a} | {b} | {change} |\n"));
    }
    for w in &c.warnings {
        out.push_str(&format!("\n> warning: {w}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(board: &str, benches: &[(&str, f64, f64, f64)]) -> RunResults {
        RunResults { board: board.into(), ..crate::results::made_up_run("", "abc", benches) }
    }

    #[test]
    fn changes_noise_and_missing() {
        let a = run(
            "rpi4",
            &[("x/faster", 200.0, 195.0, 205.0), ("x/same", 100.0, 98.0, 102.0), ("x/gone", 5.0, 4.0, 6.0)],
        );
        let b =
            run("rpi4", &[("x/faster", 150.0, 148.0, 152.0), ("x/same", 101.0, 99.0, 103.0), ("x/new", 7.0, 6.0, 8.0)]);
        let c = compare(&a, &b);
        let by = |id: &str| c.rows.iter().find(|r| r.id == id).unwrap();
        assert_eq!(by("x/faster").change, Some(-0.25));
        assert!(!by("x/faster").noise);
        assert!(by("x/same").noise, "overlapping intervals");
        assert!(by("x/gone").b.is_none() && by("x/new").a.is_none());
        let text = render_text(&c);
        assert!(text.contains("x/faster") && text.contains("-25.0 %") && text.contains("+1.0 % (noise)"), "{text}");
        assert!(c.warnings.is_empty());
        assert!(render_markdown(&c).contains("| `x/faster` | 200.00 ns [195.00 ns, 205.00 ns] | 150.00 ns"));
    }

    #[test]
    fn doubtful_runs_are_flagged() {
        let mut a = run("rpi4", &[]);
        a.emulated = true;
        a.location = "qemu -cpu cortex-a72".into();
        let mut b = run("rpi5", &[]);
        b.complete = false;
        b.interrupted = true;
        let w = compare(&a, &b).warnings;
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("emulation") && w[1].contains("interrupted") && w[2].contains("different boards"));
    }
}
