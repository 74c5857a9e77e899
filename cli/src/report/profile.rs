//! A profile's part of the report: its flame graphs (inferno's own interactive SVG, each in a
//! frame of its own), run-queue, GC-pause and allocation-size histograms as charts with their
//! percentiles, and the wakeup, thread and per-process tables.

use std::fmt::Write as _;

use armtune_probes::{histogram::Log2Histogram, report::Report, Profile};

use super::{
    charts::{self, Scale},
    page::{self, cell, esc, num, sortable_table, warning_list, Page},
};
use crate::flame::{self, Labels, View};

/// Allocation-size charts drawn (the processes with most allocations); the table has them all.
const SIZE_CHARTS: usize = 6;
/// GC-pause charts drawn.
const GC_CHARTS: usize = 6;
/// Rows of a per-process or per-thread table: the busiest, so a host-wide run's page stays quick
/// to open (thousands of threads); the JSON report has every row.
const TABLE_ROWS: usize = 500;

/// The `TABLE_ROWS` rows of `all` with the largest `weight`, busiest first, and a heading that
/// says when rows were left out.
fn busiest<'a, T>(heading: &str, all: &'a [T], weight: impl Fn(&T) -> u64) -> (String, Vec<&'a T>) {
    let mut rows: Vec<&T> = all.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(weight(r)));
    rows.truncate(TABLE_ROWS);
    let heading = if rows.len() < all.len() {
        format!(
            "<h3>{} (the busiest {} of {}; the JSON report has every one)</h3>",
            esc(heading),
            rows.len(),
            all.len()
        )
    } else {
        format!("<h3>{}</h3>", esc(heading))
    };
    (heading, rows)
}

/// Adds the section of one run's `report`; `source` says where it came from.
pub fn add(page: &mut Page, report: &Report, source: &str, icicle: bool) {
    let meta = &report.meta;
    let mut body = format!("<h2>Profile: {}</h2>", esc(&meta.target));
    body.push_str(&facts(report, source));
    body.push_str(&warning_list(&report.warnings));
    let graphs = report.flame_graphs();
    if graphs.is_empty() {
        body.push_str("<p class=\"muted\">The recorded events draw no flame graph.</p>");
    }
    for g in &graphs {
        let views: &[View] = if icicle { &[View::Flame, View::Icicle] } else { &[View::Flame] };
        body.push_str(&graph_block(page, g.title, &g.profile, views));
    }
    body.push_str(&runq(report));
    body.push_str(&gc(report));
    body.push_str(&sizes(report));
    body.push_str(&tables(report));
    for (key, value) in &report.sections {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        let _ = write!(
            body,
            "<details class=\"family\"><summary>{}</summary><pre>{}</pre></details>",
            esc(key),
            esc(&text)
        );
    }
    page.add("profile", &format!("Profile: {}", meta.target), body);
}

/// The run's facts in one line: duration, events, samples, losses.
fn facts(report: &Report, source: &str) -> String {
    let meta = &report.meta;
    let duration = if meta.duration_secs < 1.0 {
        format!("{:.0} ms", meta.duration_secs * 1000.0)
    } else {
        format!("{:.1} s", meta.duration_secs)
    };
    let mut list = vec![("from", source.to_string()), ("duration", duration), ("events", meta.events.join(", "))];
    if meta.frequency_hz > 0 {
        list.push(("sampling", format!("{} Hz, {} samples", meta.frequency_hz, meta.samples)));
    }
    if meta.switches > 0 {
        list.push(("context switches", meta.switches.to_string()));
    }
    if let Some(recorded) = meta.sched_sampling().recorded() {
        list.push(("scheduler events", recorded));
    }
    let lost: Vec<String> = serde_json::to_value(&meta.lost)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, n)| n.as_u64().unwrap_or(0) > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if !lost.is_empty() {
        list.push(("lost", lost.join(", ")));
    }
    page::facts(&list)
}

/// A flame graph block: the search box, the view switch, and one frame per view.
pub fn graph_block(page: &mut Page, title: &str, profile: &Profile, views: &[View]) -> String {
    let labels = Labels::of(profile, title.to_string());
    let mut frames = String::new();
    for (i, view) in views.iter().enumerate() {
        let mut svg = Vec::new();
        if flame::render_view(profile, &labels, *view, &mut svg).is_err() || profile.total() == 0 {
            return format!(
                "<div class=\"graph empty\"><h3>{}</h3><p class=\"muted\">No samples.</p></div>",
                esc(title)
            );
        }
        frames.push_str(&frame(&String::from_utf8_lossy(&svg), *view, i > 0, title));
    }
    svg_block(page, title, &frames, views.len() > 1)
}

/// A block around ready frames (`frames`), with a view switch when there are several.
pub fn svg_block(page: &mut Page, title: &str, frames: &str, switch: bool) -> String {
    let id = page.next_id("graph");
    let tabs = if switch {
        "<span class=\"tabs\"><button data-view=\"flame\" aria-pressed=\"true\">Flame graph</button>\
         <button data-view=\"icicle\" aria-pressed=\"false\">Icicle (by leaf function)</button></span>"
    } else {
        ""
    };
    format!(
        "<div class=\"graph\" id=\"{id}\"><h3>{}</h3><div class=\"flame-tools\">\
         <input type=\"search\" placeholder=\"Search functions (regular expression)\" aria-label=\"search {}\">\
         <button class=\"reset\">Reset</button><span class=\"matched\"></span>{tabs}</div>{frames}</div>",
        esc(title),
        esc(title)
    )
}

/// An inferno SVG as a frame. A frame of its own keeps inferno's script and element ids apart
/// from the other graphs'; `srcdoc` keeps it in the file and lets the page's script reach in.
pub fn frame(svg: &str, view: View, hidden: bool, title: &str) -> String {
    // A srcdoc document cannot rewrite its address, which inferno's search and zoom do to be
    // bookmarkable: let that fail quietly instead of stopping the search half-way.
    const QUIET_HISTORY: &str = "<script><![CDATA[(function(){var r=history.replaceState.bind(history);\
        history.replaceState=function(a,b,c){try{r(a,b,c)}catch(e){}};})();]]></script>";
    // In an HTML document an SVG without a width is 300 pixels wide; inferno drops its width
    // to follow its window's, so the frame's page says what that is.
    const FULL_WIDTH: &str =
        "<style>html,body{margin:0;padding:0;overflow:hidden}body>svg{display:block;width:100%}</style>";
    let svg = match svg.find("<svg").and_then(|start| svg[start..].find('>').map(|end| start + end + 1)) {
        Some(at) => format!("{FULL_WIDTH}{}{QUIET_HISTORY}{}", &svg[..at], &svg[at..]),
        None => svg.to_string(),
    };
    let view_name = match view {
        View::Flame => "flame",
        View::Icicle => "icicle",
    };
    format!(
        "<iframe class=\"flame\" data-view=\"{view_name}\" title=\"{}\"{} srcdoc=\"{}\"></iframe>",
        esc(title),
        if hidden { " hidden" } else { "" },
        esc(&svg)
    )
}

/// A histogram's percentiles in microseconds, as the summary computes them.
fn percentiles(h: &Log2Histogram) -> Vec<(&'static str, f64)> {
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)]
        .into_iter()
        .filter_map(|(l, p)| h.percentile_us(p).map(|v| (l, v)))
        .collect()
}

/// A measured value's cell (a percentile, a maximum), "–" when there is none.
fn measured(value: Option<f64>, scale: Scale) -> String {
    value.map_or_else(|| num(0.0, "–"), |v| num(v, &scale.show(v)))
}

fn chart(caption: &str, svg: String) -> String {
    if svg.is_empty() {
        return String::new();
    }
    format!("<figure class=\"chart\"><figcaption>{}</figcaption>{svg}</figure>", esc(caption))
}

/// Run-queue latency: the whole run (per CPU with `--per-cpu`) as charts, each process in a table.
fn runq(report: &Report) -> String {
    if report.runq.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h3>Run-queue latency</h3><div class=\"charts\">");
    for h in report.runq_overall() {
        let caption = match h.cpu {
            Some(cpu) => format!("CPU {cpu}: {} waits", h.histogram.count()),
            None => format!("all processes: {} waits", h.histogram.count()),
        };
        out.push_str(&chart(&caption, charts::histogram(&h.histogram, Scale::Micros, &percentiles(&h.histogram))));
    }
    out.push_str("</div>");
    let us = |v: Option<f64>| measured(v, Scale::Micros);
    let (heading, busiest) = busiest("Run-queue latency per process", &report.runq, |h| h.histogram.count());
    out.push_str(&heading);
    let rows: Vec<Vec<String>> = busiest
        .into_iter()
        .map(|h| {
            let hist = &h.histogram;
            vec![
                cell(&h.comm),
                num(h.tgid.into(), &h.tgid.to_string()),
                h.cpu.map_or_else(|| cell("all"), |c| num(c.into(), &c.to_string())),
                num(hist.count() as f64, &hist.count().to_string()),
                us(hist.percentile_us(50.0)),
                us(hist.percentile_us(90.0)),
                us(hist.percentile_us(99.0)),
                us(Some(hist.max_ns as f64 / 1000.0)),
            ]
        })
        .collect();
    out.push_str(&sortable_table(
        "runq",
        &["process", "#pid", "#CPU", "#waits", "#p50", "#p90", "#p99", "#max"],
        &rows,
    ));
    out
}

/// GC pauses per process: charts of the pause lengths, and a table of cycles and pauses.
fn gc(report: &Report) -> String {
    if report.gc.is_empty() {
        return String::new();
    }
    let (heading, busiest) = busiest("Collections per process", &report.gc, |g| g.pauses);
    let mut out = String::from("<h3>Garbage collection pauses</h3><div class=\"charts\">");
    for g in busiest.iter().take(GC_CHARTS) {
        let caption = format!("{} ({}): {} pauses", g.comm, g.tgid, g.pauses);
        out.push_str(&chart(&caption, charts::histogram(&g.histogram, Scale::Micros, &percentiles(&g.histogram))));
    }
    out.push_str("</div>");
    out.push_str(&heading);
    let rows: Vec<Vec<String>> = busiest
        .into_iter()
        .map(|g| {
            let total_ms = g.pause_total_ns as f64 / 1e6;
            let p = |q| measured(g.histogram.percentile_us(q), Scale::Micros);
            vec![
                cell(&g.comm),
                num(g.tgid.into(), &g.tgid.to_string()),
                num(g.cycles as f64, &g.cycles.to_string()),
                num(g.pauses as f64, &g.pauses.to_string()),
                num(total_ms, &format!("{total_ms:.2} ms")),
                p(50.0),
                p(99.0),
                measured(Some(g.histogram.max_ns as f64 / 1000.0), Scale::Micros),
                num(g.assists as f64, &g.assists.to_string()),
            ]
        })
        .collect();
    out.push_str(&sortable_table(
        "gc",
        &["process", "#pid", "#cycles", "#pauses", "#paused", "#p50", "#p99", "#max", "#assists"],
        &rows,
    ));
    out
}

/// A size histogram's percentile in bytes (sizes have no exact maximum to cap it by).
fn size_percentile(h: &Log2Histogram, p: f64) -> Option<f64> {
    Log2Histogram { buckets: h.buckets.clone(), max_ns: u64::MAX }.percentile_us(p)
}

/// Allocation sizes: charts of the processes with most allocations, a table of all.
fn sizes(report: &Report) -> String {
    if report.sizes.is_empty() {
        return String::new();
    }
    let (heading, busiest) = busiest("Allocation sizes per process", &report.sizes, |s| s.histogram.count());
    let mut out = String::from("<h3>Allocation sizes</h3><div class=\"charts\">");
    for s in busiest.iter().take(SIZE_CHARTS) {
        let marks: Vec<_> = [("p50", 50.0), ("p99", 99.0)]
            .into_iter()
            .filter_map(|(l, p)| size_percentile(&s.histogram, p).map(|v| (l, v)))
            .collect();
        let caption = format!("{} ({}): {} allocations", s.comm, s.tgid, s.histogram.count());
        out.push_str(&chart(&caption, charts::histogram(&s.histogram, Scale::Bytes, &marks)));
    }
    out.push_str("</div>");
    let bytes = |v: Option<f64>| measured(v, Scale::Bytes);
    out.push_str(&heading);
    let rows: Vec<Vec<String>> = busiest
        .into_iter()
        .map(|s| {
            vec![
                cell(&s.comm),
                num(s.tgid.into(), &s.tgid.to_string()),
                num(s.histogram.count() as f64, &s.histogram.count().to_string()),
                bytes(size_percentile(&s.histogram, 50.0)),
                bytes(size_percentile(&s.histogram, 99.0)),
            ]
        })
        .collect();
    out.push_str(&sortable_table("sizes", &["process", "#pid", "#allocations", "#p50", "#p99"], &rows));
    out
}

/// Who woke whom, and each thread's switches and migrations.
fn tables(report: &Report) -> String {
    let mut out = String::new();
    if !report.wake_pairs.is_empty() {
        let (heading, busiest) = busiest("Wakeups", &report.wake_pairs, |w| w.count);
        let rows: Vec<Vec<String>> = busiest
            .into_iter()
            .map(|w| {
                vec![
                    cell(&w.waker_comm),
                    num(w.waker_tgid.into(), &w.waker_tgid.to_string()),
                    cell(&w.wakee_comm),
                    num(w.wakee_tgid.into(), &w.wakee_tgid.to_string()),
                    num(w.count as f64, &w.count.to_string()),
                ]
            })
            .collect();
        out.push_str(&heading);
        out.push_str(&sortable_table("wakeups", &["waker", "#pid", "woken", "#pid", "#wakeups"], &rows));
    }
    if !report.threads.is_empty() {
        let (heading, busiest) = busiest("Threads", &report.threads, |t| t.voluntary + t.involuntary + t.migrations);
        let rows: Vec<Vec<String>> = busiest
            .into_iter()
            .map(|t| {
                vec![
                    cell(&t.comm),
                    num(t.tid.into(), &t.tid.to_string()),
                    num(t.tgid.into(), &t.tgid.to_string()),
                    num(t.voluntary as f64, &t.voluntary.to_string()),
                    num(t.involuntary as f64, &t.involuntary.to_string()),
                    num(t.migrations as f64, &t.migrations.to_string()),
                ]
            })
            .collect();
        out.push_str(&heading);
        out.push_str(&sortable_table(
            "threads",
            &["thread", "#tid", "#pid", "#voluntary switches", "#involuntary switches", "#migrations"],
            &rows,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use armtune_probes::{
        capture::{GcReport, RunqHistogram, SizeHistogram, ThreadRow, WakePair},
        profile::{Frame, Unit},
    };

    fn report() -> Report {
        let mut cpu = Profile::new(Unit::samples(), Default::default());
        cpu.meta.target = "./demo".into();
        cpu.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("work_major")], 3);
        cpu.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("work_minor")], 1);
        let mut h = Log2Histogram { max_ns: 700_000, ..Default::default() };
        h.add(3, 5);
        h.add(9, 1);
        Report {
            cpu: Some(cpu),
            runq: vec![RunqHistogram { tgid: 7, comm: "demo".into(), cpu: None, histogram: h.clone() }],
            gc: vec![GcReport {
                tgid: 7,
                comm: "demo".into(),
                cycles: 2,
                pauses: 4,
                pause_total_ns: 3_000_000,
                assists: 0,
                histogram: h.clone(),
            }],
            sizes: vec![SizeHistogram { tgid: 7, comm: "demo".into(), histogram: h }],
            wake_pairs: vec![WakePair {
                waker_tgid: 1,
                waker_comm: "a".into(),
                wakee_tgid: 7,
                wakee_comm: "demo".into(),
                count: 9,
            }],
            threads: vec![ThreadRow {
                tid: 7,
                tgid: 7,
                comm: "demo".into(),
                voluntary: 1,
                involuntary: 2,
                migrations: 3,
            }],
            warnings: vec!["a <warning>".into()],
            ..Report::default()
        }
    }

    #[test]
    fn a_run_draws_its_graph_charts_and_tables() {
        let mut page = Page::new("t");
        add(&mut page, &report(), "p.json", true);
        let html = page.render();
        assert_eq!(html.matches("<iframe class=\"flame\"").count(), 2, "flame and icicle");
        assert!(html.contains("data-view=\"icicle\" title=\"CPU Flame Graph\" hidden"));
        assert_eq!(html.matches("<figure class=\"chart\">").count(), 3, "run queue, GC pauses, sizes");
        for table in ["runq", "gc", "sizes", "wakeups", "threads"] {
            assert!(html.contains(&format!("<table class=\"sortable {table}\">")), "{table}");
        }
        assert!(html.contains("<li>a &lt;warning&gt;</li>"));
        // The SVG is inside the attribute, escaped, with the history patch after its root tag.
        let srcdoc = html.split("srcdoc=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(srcdoc.contains("work_major") && srcdoc.contains("history.replaceState=function"));
        assert!(!srcdoc.contains('<'));
    }

    #[test]
    fn a_run_without_stacks_says_so() {
        let mut r = report();
        r.cpu = None;
        let mut page = Page::new("t");
        add(&mut page, &r, "p.json", false);
        let html = page.render();
        assert!(html.contains("draw no flame graph") && !html.contains("<iframe"));
    }

    #[test]
    fn a_host_wide_run_lists_its_busiest_threads() {
        let mut r = report();
        r.threads = (0..TABLE_ROWS as u32 + 20)
            .map(|tid| ThreadRow {
                tid,
                tgid: 1,
                comm: "t".into(),
                voluntary: tid.into(),
                involuntary: 0,
                migrations: 0,
            })
            .collect();
        let mut page = Page::new("t");
        add(&mut page, &r, "p.json", false);
        let html = page.render();
        assert!(html.contains("<h3>Threads (the busiest 500 of 520; the JSON report has every one)</h3>"));
        let table = html.split("<table class=\"sortable threads\">").nth(1).unwrap();
        assert_eq!(table.split("</table>").next().unwrap().matches("<tr>").count(), 1 + TABLE_ROWS);
        assert!(table.contains("data-v=\"519\"") && !table.contains("data-v=\"19\">19</td><td"));
    }

    #[test]
    fn size_percentiles_are_not_capped_by_a_time_maximum() {
        let mut h = Log2Histogram::default();
        h.add(10, 4);
        assert_eq!(size_percentile(&h, 50.0), Some(1536.0));
    }
}
