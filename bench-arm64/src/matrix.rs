//! `armtune bench compare` across boards: a benchmark × board matrix of several stored runs (one
//! per board of a cluster, say), each board's mean relative to a baseline board's, with the
//! confidence intervals, and a flag where a board's interval overlaps the baseline's.

use serde::{Deserialize, Serialize};

use crate::{compare::human, results::RunResults};

/// One board (run) of the matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Column {
    /// What the matrix calls it: the run's host, else where it ran.
    pub name: String,
    /// Board profile of the build.
    pub board: String,
    /// Where it ran.
    pub location: String,
    /// Ran under emulation.
    pub emulated: bool,
    /// Every benchmark ran to the end.
    pub complete: bool,
}

/// One benchmark on one board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Mean time per iteration, ns.
    pub mean_ns: f64,
    /// The mean's 95 % confidence interval, ns.
    pub mean_low_ns: f64,
    /// Upper end of it.
    pub mean_high_ns: f64,
    /// Mean over the baseline board's mean (2.0: takes twice as long); `None` where the
    /// baseline lacks the benchmark.
    pub ratio: Option<f64>,
    /// The interval overlaps the baseline's: no difference shown.
    pub noise: bool,
}

/// One benchmark across the boards.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixRow {
    /// Benchmark id.
    pub id: String,
    /// Per column, `None` where that board has no result.
    pub cells: Vec<Option<Cell>>,
}

/// The matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matrix {
    /// Name of the baseline column.
    pub baseline: String,
    /// The boards, in the order given.
    pub columns: Vec<Column>,
    /// Benchmarks, by id.
    pub rows: Vec<MatrixRow>,
    /// Things that make the numbers doubtful.
    pub warnings: Vec<String>,
}

/// The matrix of `runs` relative to the run named `baseline` (a column name; the first run when
/// `None`). An error names the columns when `baseline` is none of them.
pub fn matrix(runs: &[RunResults], baseline: Option<&str>) -> Result<Matrix, String> {
    let mut columns: Vec<Column> = Vec::new();
    for r in runs {
        let base = if r.host.is_empty() { r.location.clone() } else { r.host.clone() };
        let taken = |n: &str| columns.iter().any(|c| c.name == n);
        let name = (1..).map(|i| if i == 1 { base.clone() } else { format!("{base} #{i}") }).find(|n| !taken(n));
        columns.push(Column {
            name: name.expect("an unused name"),
            board: r.board.clone(),
            location: r.location.clone(),
            emulated: r.emulated,
            complete: r.complete,
        });
    }
    let base = match baseline {
        None => 0,
        Some(b) => columns.iter().position(|c| c.name == b).ok_or_else(|| {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            format!("--baseline {b}: no such board among the runs ({})", names.join(", "))
        })?,
    };
    let mut ids: Vec<&str> = runs.iter().flat_map(|r| r.benches.iter().map(|e| e.id.as_str())).collect();
    ids.sort();
    ids.dedup();
    let rows = ids
        .into_iter()
        .map(|id| {
            let find = |r: &RunResults| r.benches.iter().find(|e| e.id == id).cloned();
            let reference = runs.get(base).and_then(find);
            let cells = runs
                .iter()
                .map(|r| {
                    let e = find(r)?;
                    let (ratio, noise) = match &reference {
                        Some(b) if b.mean_ns > 0.0 => (
                            Some(e.mean_ns / b.mean_ns),
                            e.mean_low_ns <= b.mean_high_ns && b.mean_low_ns <= e.mean_high_ns,
                        ),
                        _ => (None, false),
                    };
                    Some(Cell {
                        mean_ns: e.mean_ns,
                        mean_low_ns: e.mean_low_ns,
                        mean_high_ns: e.mean_high_ns,
                        ratio,
                        noise,
                    })
                })
                .collect();
            MatrixRow { id: id.to_string(), cells }
        })
        .collect();
    Ok(Matrix {
        baseline: columns.get(base).map(|c| c.name.clone()).unwrap_or_default(),
        rows,
        warnings: warnings(runs, &columns),
        columns,
    })
}

fn warnings(runs: &[RunResults], columns: &[Column]) -> Vec<String> {
    let mut warnings = Vec::new();
    for c in columns {
        if c.emulated {
            warnings.push(format!(
                "{} ran under emulation ({}): its timings say nothing about a board",
                c.name, c.location
            ));
        }
        if !c.complete {
            warnings.push(format!("{}'s run is incomplete", c.name));
        }
    }
    let mut revisions: Vec<&str> = runs.iter().map(|r| r.revision.as_str()).collect();
    revisions.sort();
    revisions.dedup();
    if revisions.len() > 1 {
        warnings.push(format!("the runs are of different sources: revisions {}", revisions.join(", ")));
    }
    warnings
}

fn cell_text(cell: &Option<Cell>, is_baseline: bool) -> String {
    match cell {
        None => "—".into(),
        Some(c) => {
            let ratio = match c.ratio {
                _ if is_baseline => String::new(),
                Some(r) => format!(" ({r:.2}×{})", if c.noise { ", noise" } else { "" }),
                None => String::new(),
            };
            format!("{} ±{}{ratio}", human(c.mean_ns), human((c.mean_high_ns - c.mean_low_ns) / 2.0))
        }
    }
}

fn table(m: &Matrix) -> Vec<Vec<String>> {
    let base = m.columns.iter().position(|c| c.name == m.baseline);
    let header = std::iter::once("benchmark".to_string())
        .chain(m.columns.iter().map(|c| {
            if c.name == m.baseline {
                format!("{} (baseline)", c.name)
            } else {
                c.name.clone()
            }
        }))
        .collect();
    std::iter::once(header)
        .chain(m.rows.iter().map(|r| {
            std::iter::once(r.id.clone())
                .chain(r.cells.iter().enumerate().map(|(i, c)| cell_text(c, Some(i) == base)))
                .collect()
        }))
        .collect()
}

/// A terminal table: a row per benchmark, a column per board, means ± half their 95 % interval,
/// with the ratio to the baseline board.
pub fn render_text(m: &Matrix) -> String {
    crate::compare::text_table(&table(m), &m.warnings)
}

/// A Markdown table of the same.
pub fn render_markdown(m: &Matrix) -> String {
    let rows = table(m);
    let mut out = format!("| {} |\n|{}\n", rows[0].join(" | "), "---|".repeat(rows[0].len()));
    for r in &rows[1..] {
        out.push_str(&format!("| `{}` | {} |\n", r[0], r[1..].join(" | ")));
    }
    for w in &m.warnings {
        out.push_str(&format!("\n> warning: {w}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(host: &str, revision: &str, benches: &[(&str, f64, f64, f64)]) -> RunResults {
        crate::results::made_up_run(host, revision, benches)
    }

    fn cluster() -> Vec<RunResults> {
        vec![
            run("pi-a", "r1", &[("atomics/ldadd", 10.0, 9.5, 10.5), ("data/aos", 100.0, 98.0, 102.0)]),
            run("pi-b", "r1", &[("atomics/ldadd", 20.0, 19.0, 21.0), ("data/aos", 101.0, 99.0, 103.0)]),
            run("pi-c", "r1", &[("atomics/ldadd", 5.0, 4.9, 5.1)]),
        ]
    }

    #[test]
    fn ratios_to_the_baseline_board_with_noise_and_gaps() {
        let m = matrix(&cluster(), Some("pi-b")).unwrap();
        assert_eq!(m.baseline, "pi-b");
        let names: Vec<&str> = m.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["pi-a", "pi-b", "pi-c"]);
        let ldadd = &m.rows[0];
        assert_eq!(ldadd.id, "atomics/ldadd");
        let ratios: Vec<Option<f64>> = ldadd.cells.iter().map(|c| c.as_ref().unwrap().ratio).collect();
        assert_eq!(ratios, [Some(0.5), Some(1.0), Some(0.25)]);
        assert!(!ldadd.cells[0].as_ref().unwrap().noise);
        let aos = &m.rows[1];
        assert!(aos.cells[0].as_ref().unwrap().noise, "overlapping intervals");
        assert!(aos.cells[2].is_none(), "pi-c has no data/aos");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);

        let text = render_text(&m);
        assert!(text.lines().next().unwrap().contains("pi-b (baseline)"), "{text}");
        assert!(text.contains("10.00 ns ±0.50 ns (0.50×)") && text.contains("(0.99×, noise)"), "{text}");
        let md = render_markdown(&m);
        assert!(md.starts_with("| benchmark | pi-a | pi-b (baseline) | pi-c |\n|---|---|---|---|\n"), "{md}");
        assert!(md.contains("| `data/aos` |") && md.contains("| — |"), "{md}");
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["rows"][0]["cells"][2]["ratio"], 0.25);
    }

    #[test]
    fn the_first_run_is_the_default_baseline_and_a_wrong_one_is_named() {
        let m = matrix(&cluster(), None).unwrap();
        assert_eq!(m.baseline, "pi-a");
        assert_eq!(m.rows[0].cells[1].as_ref().unwrap().ratio, Some(2.0));
        let err = matrix(&cluster(), Some("pi-z")).unwrap_err();
        assert!(err.contains("pi-z") && err.contains("pi-a, pi-b, pi-c"), "{err}");
    }

    #[test]
    fn doubtful_runs_are_warned_of() {
        let mut runs = cluster();
        runs[1].emulated = true;
        runs[2].complete = false;
        runs[2].revision = "r2".into();
        runs.push(run("pi-a", "r1", &[]));
        let m = matrix(&runs, None).unwrap();
        assert_eq!(m.columns[3].name, "pi-a #2");
        let w = m.warnings.join("\n");
        assert!(w.contains("pi-b ran under emulation") && w.contains("pi-c's run is incomplete"), "{w}");
        assert!(w.contains("different sources: revisions r1, r2"), "{w}");
    }
}
