//! `armtune bench`'s part of the report: two runs compared, or a benchmark × board matrix, as
//! bars of relative time with their 95 % confidence intervals, and the numbers in a table.

use std::fmt::Write as _;

use armtune_bench_arm64::{
    compare::{compare, human, Comparison},
    matrix::Matrix,
    results::RunResults,
};

use super::{
    charts::{self, Interval},
    page::{cell, esc, facts, num, sortable_table, warning_list, Page},
};

/// What a run is called on the page: its host (or where it ran), board and revision.
pub fn run_name(r: &RunResults) -> String {
    let place = if r.host.is_empty() { &r.location } else { &r.host };
    format!("{place} ({}, {})", r.board, r.revision.chars().take(12).collect::<String>())
}

/// An estimate as its tooltip says it: `NAME: MEAN [LOW – HIGH]`.
fn estimate_text(name: &str, mean: f64, low: f64, high: f64) -> String {
    format!("{name}: {} [{} – {}]", human(mean), human(low), human(high))
}

/// Adds runs `a` and `b` compared, named by where they ran.
pub fn add_two_runs(page: &mut Page, a: &RunResults, b: &RunResults, source: &str) {
    let names = [run_name(a), run_name(b)];
    add_comparison(page, &compare(a, b), [&names[0], &names[1]], source);
}

/// Adds two runs compared: run A's intervals around 1.0, run B's relative to A's mean.
pub fn add_comparison(page: &mut Page, c: &Comparison, names: [&str; 2], source: &str) {
    let mut body = format!("<h2>Benchmarks: {} → {}</h2>", esc(names[0]), esc(names[1]));
    body.push_str(&facts(&[("from", source.to_string()), ("benchmarks", c.rows.len().to_string())]));
    body.push_str(&warning_list(&c.warnings));
    let rows: Vec<(String, Vec<Interval>)> = c
        .rows
        .iter()
        .filter_map(|r| {
            let (a, b) = (r.a.as_ref()?, r.b.as_ref()?);
            if a.mean_ns <= 0.0 {
                return None;
            }
            let rel = |v: f64| v / a.mean_ns;
            Some((
                r.id.clone(),
                vec![
                    Interval {
                        series: 0,
                        mean: 1.0,
                        low: rel(a.mean_low_ns),
                        high: rel(a.mean_high_ns),
                        noise: false,
                        title: estimate_text(names[0], a.mean_ns, a.mean_low_ns, a.mean_high_ns),
                    },
                    Interval {
                        series: 1,
                        mean: rel(b.mean_ns),
                        low: rel(b.mean_low_ns),
                        high: rel(b.mean_high_ns),
                        noise: r.noise,
                        title: format!(
                            "{}, {:+.1}%{}",
                            estimate_text(names[1], b.mean_ns, b.mean_low_ns, b.mean_high_ns),
                            r.change.unwrap_or(0.0) * 100.0,
                            if r.noise { " (noise)" } else { "" }
                        ),
                    },
                ],
            ))
        })
        .collect();
    if !rows.is_empty() {
        let _ = write!(
            body,
            "<h3>Time per iteration relative to {}</h3><p class=\"muted\">Bars: means; whiskers: 95 % confidence intervals; pale: the change is within noise.</p>{}",
            esc(names[0]),
            charts::intervals(&[names[0].to_string(), names[1].to_string()], &rows)
        );
    }
    let mean = |e: Option<&armtune_bench_arm64::results::Estimate>| {
        e.map_or_else(|| num(f64::NAN, "–"), |e| num(e.mean_ns, &human(e.mean_ns)))
    };
    let table: Vec<Vec<String>> = c
        .rows
        .iter()
        .map(|r| {
            let change = match r.change {
                Some(ch) => {
                    let class = if r.noise {
                        ""
                    } else if ch > 0.0 {
                        "slower"
                    } else {
                        "faster"
                    };
                    format!("<td class=\"n {class}\" data-v=\"{ch}\">{:+.1}%</td>", ch * 100.0)
                }
                None => num(f64::NAN, "–"),
            };
            vec![cell(&r.id), mean(r.a.as_ref()), mean(r.b.as_ref()), change, cell(if r.noise { "noise" } else { "" })]
        })
        .collect();
    body.push_str(&sortable_table("bench-compare", &["benchmark", "#A", "#B", "#change", "within noise"], &table));
    page.add("bench", "Benchmarks", body);
}

/// Adds a benchmark × board matrix: each board's mean relative to the baseline board's.
pub fn add_matrix(page: &mut Page, m: &Matrix, source: &str) {
    let mut body = format!("<h2>Benchmarks across {} boards, relative to {}</h2>", m.columns.len(), esc(&m.baseline));
    body.push_str(&facts(&[("from", source.to_string()), ("benchmarks", m.rows.len().to_string())]));
    body.push_str(&warning_list(&m.warnings));
    let base = m.columns.iter().position(|c| c.name == m.baseline).unwrap_or(0);
    let names: Vec<String> = m.columns.iter().map(|c| c.name.clone()).collect();
    let rows: Vec<(String, Vec<Interval>)> = m
        .rows
        .iter()
        .filter_map(|row| {
            let reference = row.cells.get(base)?.as_ref()?.mean_ns;
            if reference <= 0.0 {
                return None;
            }
            let bars = row
                .cells
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let c = c.as_ref()?;
                    Some(Interval {
                        series: i,
                        mean: c.mean_ns / reference,
                        low: c.mean_low_ns / reference,
                        high: c.mean_high_ns / reference,
                        noise: c.noise && i != base,
                        title: format!(
                            "{}, {:.2}× {}",
                            estimate_text(&names[i], c.mean_ns, c.mean_low_ns, c.mean_high_ns),
                            c.mean_ns / reference,
                            m.baseline
                        ),
                    })
                })
                .collect();
            Some((row.id.clone(), bars))
        })
        .collect();
    if !rows.is_empty() {
        let _ = write!(
            body,
            "<h3>Time per iteration relative to {}</h3><p class=\"muted\">Bars: means; whiskers: 95 % confidence intervals; pale: within noise of the baseline.</p>{}",
            esc(&m.baseline),
            charts::intervals(&names, &rows)
        );
    }
    let mut head: Vec<String> = vec!["benchmark".into()];
    head.extend(m.columns.iter().map(|c| format!("#{}", c.name)));
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let table: Vec<Vec<String>> = m
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![cell(&row.id)];
            cells.extend(row.cells.iter().map(|c| match c {
                Some(c) => {
                    let ratio = c.ratio.map(|r| format!(" ({r:.2}×)")).unwrap_or_default();
                    num(c.mean_ns, &format!("{}{ratio}", human(c.mean_ns)))
                }
                None => num(f64::NAN, "–"),
            }));
            cells
        })
        .collect();
    body.push_str(&sortable_table("bench-matrix", &head, &table));
    page.add("bench", "Benchmarks", body);
}

/// Adds one run on its own: its estimates in a table.
pub fn add_run(page: &mut Page, r: &RunResults, source: &str) {
    let name = run_name(r);
    let mut body = format!("<h2>Benchmarks: {}</h2>", esc(&name));
    body.push_str(&facts(&[
        ("from", source.to_string()),
        ("where", r.location.clone()),
        ("CPU features", r.cpu_features.join(" ")),
    ]));
    let mut notes = r.failures.clone();
    if r.emulated {
        notes.push(format!("ran under emulation ({}): the timings say nothing about a board", r.location));
    }
    body.push_str(&warning_list(&notes));
    let rows: Vec<Vec<String>> = r
        .benches
        .iter()
        .map(|e| {
            vec![
                cell(&e.id),
                num(e.mean_ns, &human(e.mean_ns)),
                num(e.mean_low_ns, &human(e.mean_low_ns)),
                num(e.mean_high_ns, &human(e.mean_high_ns)),
                num(e.median_ns, &human(e.median_ns)),
            ]
        })
        .collect();
    body.push_str(&sortable_table("bench-run", &["benchmark", "#mean", "#95 % low", "#95 % high", "#median"], &rows));
    page.add("bench", "Benchmarks", body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use armtune_bench_arm64::{matrix::matrix, results::Estimate};

    fn run(host: &str, scale: f64) -> RunResults {
        let est = |id: &str, mean: f64| Estimate {
            id: id.into(),
            mean_ns: mean * scale,
            mean_low_ns: mean * scale * 0.98,
            mean_high_ns: mean * scale * 1.02,
            median_ns: mean * scale,
            std_dev_ns: 1.0,
        };
        RunResults {
            board: "rpi4".into(),
            revision: "abc".into(),
            location: format!("ssh {host}"),
            host: host.into(),
            emulated: false,
            cpu_features: vec![],
            filter: None,
            started: 0,
            finished: 1,
            complete: true,
            interrupted: false,
            failures: vec![],
            benches: vec![est("atomics/cas", 10.0), est("layout/loop", 100.0)],
        }
    }

    #[test]
    fn a_comparison_draws_both_runs_per_benchmark() {
        let (a, b) = (run("pi-a", 1.0), run("pi-b", 2.0));
        let mut page = Page::new("t");
        add_comparison(&mut page, &compare(&a, &b), [&run_name(&a), &run_name(&b)], "a.json b.json");
        let html = page.render();
        assert_eq!(html.matches("<g class=\"interval\"").count(), 4);
        assert!(html.contains("data-series=\"1\" data-mean=\"2.0000\""));
        assert!(html.contains("class=\"n slower\" data-v=\"1\">+100.0%"));
    }

    #[test]
    fn a_matrix_draws_every_board_relative_to_the_baseline() {
        let runs = [run("pi-a", 1.0), run("pi-b", 0.5), run("pi-c", 1.5)];
        let m = matrix(&runs, Some("pi-b")).unwrap();
        let mut page = Page::new("t");
        add_matrix(&mut page, &m, "runs/");
        let html = page.render();
        assert_eq!(html.matches("<g class=\"interval\"").count(), 6);
        assert!(html.contains("data-series=\"0\" data-mean=\"2.0000\""));
        assert!(html.contains("data-series=\"2\" data-mean=\"3.0000\""));
        assert!(html.contains("<th class=\"n\">pi-c</th>"));
    }
}
