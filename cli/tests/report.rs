//! `armtune report` and `armtune profile --format html` as people use them: the page opened in a
//! real browser (Debian's Chromium, headless, driven over the DevTools protocol), its rendered
//! DOM checked (charts have their bars, a flame graph's search finds a function, zoom, the icicle
//! switch, sortable tables), and a screenshot of each kind saved under
//! `target/artifacts/report/`. Profiles are real eBPF runs of the test workloads; the check report
//! is of Debian's arm64 busybox.

#[path = "common/chromium.rs"]
mod chromium;
mod common;

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use chromium::CHROMIUM;
use common::{allocs, armtune, blocker, demo, gogc, json_stacks, kernel_test, run, stderr, ProfileRun};
use headless_chrome::{protocol::cdp::Page as Cdp, Browser, Tab};
use serde_json::Value;

/// A page open in headless Chromium.
struct Opened {
    _browser: Browser,
    tab: Arc<Tab>,
}

/// Opens `page` in a fresh headless Chromium, or says why the test is skipped (a failure under
/// ARMTUNE_REQUIRE_BPF=1, which CI sets: there every test must run).
fn open(page: &Path) -> Option<Opened> {
    open_at(page, "")
}

/// [`open`] with `fragment` (`#search=...`) after the page's address.
fn open_at(page: &Path, fragment: &str) -> Option<Opened> {
    if !Path::new(CHROMIUM).exists() {
        let why = format!("skipped: {CHROMIUM} is missing (ci/setup.sh installs Debian's chromium)");
        assert!(std::env::var("ARMTUNE_REQUIRE_BPF").as_deref() != Ok("1"), "{why}, and CI requires every test to run");
        eprintln!("{why}");
        return None;
    }
    let browser = chromium::launch(1280, 2000);
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(30));
    let url = format!("file://{}{fragment}", page.canonicalize().unwrap().display());
    tab.navigate_to(&url).unwrap().wait_until_navigated().unwrap();
    Some(Opened { _browser: browser, tab })
}

impl Opened {
    /// The value of a JavaScript expression, through JSON.
    fn eval(&self, expression: &str) -> Value {
        let js = format!("JSON.stringify((function () {{ return {expression}; }})())");
        let result = self.tab.evaluate(&js, false).unwrap_or_else(|e| panic!("{expression}: {e}"));
        match result.value {
            Some(Value::String(text)) => serde_json::from_str(&text).unwrap(),
            other => panic!("{expression}: {other:?}"),
        }
    }

    /// Waits until a JavaScript condition holds.
    fn wait_for(&self, condition: &str) {
        let start = Instant::now();
        while self.eval(condition) != Value::Bool(true) {
            assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {condition}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every flame graph frame has loaded and been set up.
    fn wait_for_graphs(&self, expected: usize) {
        self.wait_for(&format!("document.querySelectorAll('.graph[data-ready]').length === {expected}"));
    }

    /// Every flame graph the page has is set up (window.armtuneReadyAt is set then).
    fn wait_for_all_graphs(&self) {
        self.wait_for("window.armtuneReadyAt !== undefined");
    }

    /// Types `term` into the (emptied) search box of graph number `graph` (0-based) as a person
    /// would, and returns what the page says matched.
    fn search(&self, graph: usize, term: &str) -> String {
        self.eval(&format!("(document.querySelectorAll('.graph input[type=search]')[{graph}].value = '') === ''"));
        let input = self.tab.find_elements(".graph input[type=search]").unwrap().into_iter().nth(graph).unwrap();
        input.click().unwrap();
        self.tab.type_str(term).unwrap();
        self.eval(&format!("document.querySelectorAll('.graph .matched')[{graph}].textContent"))
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A real mouse click on the first element `selector` finds.
    fn click(&self, selector: &str) {
        self.tab.find_element(selector).unwrap_or_else(|e| panic!("{selector}: {e}")).click().unwrap();
    }

    /// Saves a screenshot of the page as a CI artifact.
    fn screenshot(&self, name: &str) {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/report");
        std::fs::create_dir_all(&dir).unwrap();
        self.eval("window.scrollTo(0, 0) || true");
        let png = self.tab.capture_screenshot(Cdp::CaptureScreenshotFormatOption::Png, None, None, true).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}

/// "Matched: 45.3%" as 45.3.
fn matched_percent(text: &str) -> f64 {
    text.trim()
        .strip_prefix("Matched: ")
        .and_then(|t| t.strip_suffix('%'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not a match: {text:?}"))
}

/// Share (%) of a JSON profile's weight in stacks through `function`.
fn share_through(profile: &Value, function: &str) -> f64 {
    let stacks = json_stacks(profile);
    let through: u64 = stacks.iter().filter(|(frames, _)| frames.iter().any(|f| f == function)).map(|(_, w)| w).sum();
    100.0 * through as f64 / stacks.iter().map(|(_, w)| w).sum::<u64>() as f64
}

/// `armtune profile` of `command` with `options`, its JSON report kept as `path` (for `armtune
/// report`) and returned.
fn profile_json<S: AsRef<OsStr>>(path: &Path, options: &[&str], command: impl IntoIterator<Item = S>) -> Value {
    let doc = ProfileRun::new().args(options).json(command);
    std::fs::write(path, doc.to_string()).unwrap();
    doc
}

fn report(args: &[&OsStr], output: &Path) {
    let out = run(armtune().arg("report").args(args).arg("-o").arg(output));
    assert!(out.status.success(), "armtune report: {}", stderr(&out));
}

#[test]
fn a_scheduler_profile_reads_in_a_browser() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let doc = profile_json(&json, &["--event", "cpu,off-cpu,runq,wakeup"], [blocker()]);
    let page = dir.path().join("run.html");
    report(&[json.as_os_str(), OsStr::new("--icicle")], &page);
    drop(_kernel);
    let Some(b) = open(&page) else { return };
    let graphs = doc["profiles"].as_object().unwrap().keys().filter(|k| *k == "wakeup").count() + 1;
    b.wait_for_graphs(graphs);

    // The wall-time graph's search finds the function that sleeps, with its share of the run.
    let shown = matched_percent(&b.search(0, "sleep_in_nanosleep"));
    let expected = share_through(&doc, "sleep_in_nanosleep");
    assert!((shown - expected).abs() < 0.2, "shown {shown}%, the JSON says {expected:.2}%");
    let highlighted = b.eval(
        "Array.from(document.querySelector('.graph iframe.flame').contentDocument.querySelectorAll('#frames rect'))\
         .filter(r => r.getAttribute('fill') === 'rgb(230,0,230)').length",
    );
    assert!(highlighted.as_u64().unwrap() >= 1, "inferno highlights the matches");
    // A click on a frame zooms to it: inferno shows its "Reset Zoom" button.
    b.eval(
        "(function () { var d = document.querySelector('.graph iframe.flame').contentDocument; \
         var g = Array.from(d.querySelectorAll('#frames g')).find(g => g.querySelector('title').textContent.startsWith('sleep_in_nanosleep')); \
         g.dispatchEvent(new MouseEvent('click', {bubbles: true})); return true; })()",
    );
    assert_eq!(b.eval("document.querySelector('.graph iframe.flame').contentDocument.getElementById('unzoom').classList.contains('hide')"), false);
    // The icicle switch shows the other drawing, where the search carries over.
    b.click(".graph .tabs button[data-view=icicle]");
    assert_eq!(b.eval("document.querySelector('.graph iframe[data-view=icicle]').hidden"), false);
    assert_eq!(b.eval("document.querySelector('.graph iframe[data-view=flame]').hidden"), true);
    let icicle = matched_percent(b.eval("document.querySelector('.graph .matched').textContent").as_str().unwrap());
    assert!((icicle - expected).abs() < 0.2, "icicle {icicle}% vs {expected:.2}%");
    b.click(".graph .tabs button[data-view=flame]");

    // Run-queue latency: one bar per bucket, the bars' counts are the waits, three percentiles.
    let waits: u64 = doc["runq"].as_array().unwrap().iter().map(|h| h["count"].as_u64().unwrap()).sum();
    assert!(waits >= 10, "blocker wakes at least ten times: {waits}");
    let bars = b.eval("Array.from(document.querySelectorAll('svg.histogram rect.bar')).map(r => +r.dataset.count)");
    let bars: Vec<u64> = bars.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(bars.len() >= 2 && bars.iter().sum::<u64>() == waits, "{bars:?} vs {waits}");
    assert!(
        b.eval("document.querySelector('svg.histogram rect.bar').getBoundingClientRect().height").as_f64().unwrap()
            > 0.0
    );
    assert_eq!(b.eval("document.querySelectorAll('svg.histogram line.pct').length"), 3);

    // The thread table sorts on a click on its heading, then the other way.
    let column = "Array.from(document.querySelectorAll('table.threads tbody tr')).map(r => +r.cells[3].dataset.v)";
    b.click("table.threads th:nth-child(4)");
    let down: Vec<f64> = serde_json::from_value(b.eval(column)).unwrap();
    assert!(down.len() >= 2 && down.windows(2).all(|w| w[0] >= w[1]), "{down:?}");
    b.click("table.threads th:nth-child(4)");
    let up: Vec<f64> = serde_json::from_value(b.eval(column)).unwrap();
    assert!(up.windows(2).all(|w| w[0] <= w[1]), "{up:?}");
    b.screenshot("profile-scheduler");
}

#[test]
fn profile_format_html_writes_the_page_directly() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("cpu.html");
    let out = run(armtune().args(["profile", "-q", "-o"]).arg(&page).arg("--").arg(demo()));
    assert!(out.status.success(), "{}", stderr(&out));
    drop(_kernel);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script src") && !html.contains("<link"));
    let Some(b) = open(&page) else { return };
    b.wait_for_graphs(1);
    // The demo splits its work 3:1 between work_major and work_minor.
    let major = matched_percent(&b.search(0, "work_major"));
    assert!((60.0..90.0).contains(&major), "work_major {major}%");
    assert_eq!(b.search(0, "no_such_function"), "no match");
    assert_eq!(b.search(0, "work_(major"), "not a regular expression");
    b.screenshot("profile-cpu");
}

/// The bars' counts of every histogram chart whose caption starts with `caption`.
fn chart_counts(b: &Opened, caption: &str) -> Vec<u64> {
    serde_json::from_value(b.eval(&format!(
        "Array.from(document.querySelectorAll('figure.chart')).filter(f => f.querySelector('figcaption').textContent.startsWith('{caption}'))\
         .flatMap(f => Array.from(f.querySelectorAll('rect.bar')).map(r => +r.dataset.count))"
    )))
    .unwrap()
}

#[test]
fn allocation_sizes_and_gc_pauses_are_charts_with_their_totals() {
    let Some(_kernel) = kernel_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (alloc, gc) = (dir.path().join("alloc.json"), dir.path().join("gc.json"));
    let alloc_doc = profile_json(&alloc, &["--event", "alloc,leak"], [allocs()]);
    let gc_doc = profile_json(&gc, &["--event", "gc"], [gogc().as_os_str(), OsStr::new("25")]);
    drop(_kernel);
    let page = dir.path().join("memory.html");
    report(&[alloc.as_os_str(), gc.as_os_str()], &page);
    let Some(b) = open(&page) else { return };
    b.wait_for_all_graphs();
    assert!(b.eval("document.querySelectorAll('.graph[data-ready]').length").as_u64().unwrap() >= 2, "alloc and leak");
    // The allocation-size chart of the workload counts every allocation the JSON counts.
    let sizes =
        &alloc_doc["alloc_sizes"].as_array().unwrap().iter().find(|h| h["comm"] == "allocs").expect("allocs' sizes")
            ["histogram"];
    let allocations: u64 = sizes["buckets"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum();
    assert_eq!(chart_counts(&b, "allocs (").iter().sum::<u64>(), allocations);
    // The GC chart counts every pause, with the percentiles marked.
    let pauses = gc_doc["gc"][0]["pauses"].as_u64().unwrap();
    assert!(pauses >= 50, "25 forced collections pause twice each: {pauses}");
    assert_eq!(chart_counts(&b, "gogc (").iter().sum::<u64>(), pauses);
    let marks = b.eval("Array.from(document.querySelectorAll('figure.chart')).filter(f => f.textContent.includes('pauses')).map(f => f.querySelectorAll('line.pct').length)");
    assert_eq!(marks, serde_json::json!([3]));
    assert_eq!(b.eval("document.querySelector('table.gc tbody tr').cells[3].dataset.v"), pauses.to_string());
    b.screenshot("profile-memory");
}

/// Debian's arm64 busybox (static, stripped), fetched once by `ci/debian-arm64.sh`.
fn debian_busybox() -> PathBuf {
    let script = common::repo_root().join("ci/debian-arm64.sh");
    let out = Command::new("bash").arg(script).arg("busybox-static").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Path::new(String::from_utf8(out.stdout).unwrap().trim()).join("bin/busybox")
}

#[test]
fn a_check_report_ranks_findings_by_a_profile_and_shows_their_disassembly() {
    let dir = tempfile::tempdir().unwrap();
    let busybox = debian_busybox();
    let plain = Command::new(env!("CARGO_BIN_EXE_armtune"))
        .arg("check")
        .arg(&busybox)
        .args(["--target", "rpi4", "--format", "json"])
        .output()
        .unwrap();
    assert!(plain.status.success());
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    // A profile in which three functions with warnings run, 60/30/10.
    let mut warned: Vec<String> = plain["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "warning")
        .map(|f| f["function"].as_str().unwrap().to_string())
        .collect();
    warned.dedup();
    let hot = &warned[..3];
    let folded = dir.path().join("busybox.folded");
    std::fs::write(&folded, format!("busybox;{} 60\nbusybox;{} 30\nbusybox;{} 10\n", hot[0], hot[1], hot[2])).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_armtune"))
        .arg("check")
        .arg(&busybox)
        .args(["--target", "rpi4", "--format", "json", "--profile"])
        .arg(&folded)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json = dir.path().join("check.json");
    std::fs::write(&json, &out.stdout).unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &doc["findings"][0];
    assert_eq!(first["function"], hot[0].as_str());
    assert!(first["excerpt"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains(" > 0x")), "{first}");

    let page = dir.path().join("check.html");
    report(&[json.as_os_str()], &page);
    let Some(b) = open(&page) else { return };
    // The heat view: the three functions, hottest first, as long as their shares.
    let heat: Vec<f64> = serde_json::from_value(
        b.eval("Array.from(document.querySelectorAll('svg.heat rect.bar')).map(r => +r.dataset.share)"),
    )
    .unwrap();
    assert_eq!(heat, [0.6, 0.3, 0.1]);
    let widths: Vec<f64> = serde_json::from_value(
        b.eval("Array.from(document.querySelectorAll('svg.heat rect.bar')).map(r => r.getBoundingClientRect().width)"),
    )
    .unwrap();
    assert!((widths[0] / widths[1] - 2.0).abs() < 0.05, "{widths:?}");
    // Findings: hottest first; one unfolds into its disassembly with the instruction marked.
    assert_eq!(b.eval("document.querySelector('table.findings tbody tr').cells[2].textContent"), hot[0].as_str());
    b.click("table.findings tbody tr details summary");
    let asm = b.eval("document.querySelector('table.findings tbody tr details pre.asm').innerText");
    assert!(asm.as_str().unwrap().lines().any(|l| l.trim_start().starts_with("> 0x")), "{asm}");
    assert!(
        b.eval("document.querySelector('table.findings tbody tr details pre.asm').getBoundingClientRect().height")
            .as_f64()
            .unwrap()
            > 20.0
    );
    // Sorting by samples puts the coldest first on the second click.
    b.click("table.findings th:nth-child(4)");
    b.click("table.findings th:nth-child(4)");
    assert_eq!(b.eval("+document.querySelector('table.findings tbody tr').cells[3].dataset.v"), 0);
    b.screenshot("check");
}

/// A stored run of three benchmarks on `host`, `scale` times as slow as the reference.
fn bench_run(host: &str, scale: f64) -> Value {
    let est = |id: &str, ns: f64| {
        let mean = ns * scale;
        serde_json::json!({"id": id, "mean_ns": mean, "mean_low_ns": mean * 0.97, "mean_high_ns": mean * 1.03,
            "median_ns": mean, "std_dev_ns": mean * 0.05})
    };
    serde_json::json!({"board": "rpi4", "revision": "0123456789abcdef", "location": format!("ssh pi@{host}"), "host": host,
        "emulated": false, "cpu_features": ["fp", "asimd", "crc32"], "filter": null, "started": 1, "finished": 2,
        "complete": true, "interrupted": false, "failures": [],
        "benches": [est("atomics/ldadd", 12.0), est("false_sharing/padded", 40.0), est("loop_alignment/aligned", 900.0)]})
}

#[test]
fn bench_runs_of_a_cluster_draw_bars_with_their_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    for (host, scale) in [("pi-a", 1.0), ("pi-b", 2.0), ("pi-c", 0.5)] {
        std::fs::write(runs.join(format!("run-{host}.json")), bench_run(host, scale).to_string()).unwrap();
    }
    let page = dir.path().join("bench.html");
    report(&[runs.as_os_str(), OsStr::new("--baseline"), OsStr::new("pi-a")], &page);
    let Some(b) = open(&page) else { return };
    let means: Vec<(u64, f64)> = serde_json::from_value(b.eval(
        "Array.from(document.querySelectorAll('svg.intervals g.interval')).map(g => [+g.dataset.series, +g.dataset.mean])",
    ))
    .unwrap();
    assert_eq!(means.len(), 9, "three benchmarks on three boards");
    assert_eq!(&means[..3], [(0, 1.0), (1, 2.0), (2, 0.5)]);
    // Each bar is as long as its mean and carries its interval as a whisker.
    let geometry: Vec<(f64, f64)> = serde_json::from_value(b.eval(
        "Array.from(document.querySelectorAll('svg.intervals g.interval')).slice(0, 2).map(g => \
         [g.querySelector('rect').getBoundingClientRect().width, g.querySelector('line.ci').getBoundingClientRect().width])",
    ))
    .unwrap();
    assert!((geometry[1].0 / geometry[0].0 - 2.0).abs() < 0.05, "{geometry:?}");
    assert!(
        geometry[0].1 > 0.0 && (geometry[1].1 / geometry[0].1 - 2.0).abs() < 0.1,
        "whiskers scale too: {geometry:?}"
    );
    assert_eq!(b.eval("document.querySelectorAll('table.bench-matrix tbody tr').length"), 3);
    b.screenshot("bench-matrix");

    // Two runs: a comparison, the second run's change from the first.
    let two = dir.path().join("two.html");
    let (a, c) = (runs.join("run-pi-a.json"), runs.join("run-pi-c.json"));
    report(&[a.as_os_str(), c.as_os_str()], &two);
    let Some(b) = open(&two) else { return };
    let changes = b
        .eval("Array.from(document.querySelectorAll('table.bench-compare tbody tr')).map(r => r.cells[3].textContent)");
    assert_eq!(changes, serde_json::json!(["-50.0%", "-50.0%", "-50.0%"]));
    assert_eq!(b.eval("document.querySelectorAll('table.bench-compare td.faster').length"), 3);
    b.screenshot("bench-compare");
}

#[test]
fn inputs_it_cannot_draw_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let cases = [
        (write("other.json", b"{\"name\": \"not ours\"}"), "not an armtune report"),
        (write("broken.json", b"{\"stacks\": [1, 2"), "not valid JSON"),
        (write("bad-check.json", b"{\"findings\": 3, \"target\": {}}"), "not a valid armtune check report"),
        (Path::new("/usr/bin/xz").to_path_buf(), "xz"),
        (dir.path().join("missing.json"), "cannot read"),
    ];
    for (input, expected) in cases {
        let out = run(armtune().arg("report").arg(&input).arg("-o").arg(dir.path().join("x.html")));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", input.display());
        assert!(err.contains(expected), "{}: expected {expected:?}: {err}", input.display());
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let out = run(armtune().arg("report").arg(write("x.folded", b"a;b 1\n")).arg("-o").arg("/nonexistent/dir/x.html"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot write /nonexistent/dir/x.html"), "{}", stderr(&out));
    // Folded stacks and pprof need no report around them.
    let page = dir.path().join("folded.html");
    let out = run(armtune()
        .arg("report")
        .arg(write("y.folded", b"svc;main;parse 3\nsvc;main;render 1\n"))
        .arg("-o")
        .arg(&page));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&page).unwrap().contains("render"));
}

#[test]
fn folded_stacks_and_a_difference_are_drawn_and_an_address_can_search_them() {
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.folded");
    let after = dir.path().join("after.folded");
    std::fs::write(&before, "svc;main;parse 60\nsvc;main;render 40\n").unwrap();
    std::fs::write(&after, "svc;main;parse 20\nsvc;main;render 80\n").unwrap();
    let page = dir.path().join("diff.html");
    report(&[after.as_os_str(), OsStr::new("--diff"), before.as_os_str(), after.as_os_str()], &page);
    // The address searches every graph as it opens: render is 80 of 100 in both.
    let Some(b) = open_at(&page, "#search=render") else { return };
    b.wait_for_graphs(2);
    let said: Vec<String> = serde_json::from_value(
        b.eval("Array.from(document.querySelectorAll('.graph .matched')).map(m => m.textContent)"),
    )
    .unwrap();
    assert_eq!(said, ["Matched: 80.0%", "Matched: 80.0%"]);
    // With the search cleared, the differential graph colours render (grew) red and parse
    // (shrank) blue.
    b.eval("window.armtuneSearch('') || true");
    let colour = |name: &str| -> (u8, u8, u8) {
        let text = b.eval(&format!(
            "Array.from(document.querySelectorAll('.graph iframe.flame')[1].contentDocument.querySelectorAll('#frames g'))\
             .find(g => g.querySelector('title').textContent.startsWith('{name} ')).querySelector('rect').getAttribute('fill')"
        ));
        let t = text.as_str().unwrap().trim_start_matches("rgb(").trim_end_matches(')').to_string();
        let v: Vec<u8> = t.split(',').map(|x| x.trim().parse().unwrap()).collect();
        (v[0], v[1], v[2])
    };
    let (r, _, bl) = colour("render");
    assert!(r > bl, "render grew: red {r} over blue {bl}");
    let (r, _, bl) = colour("parse");
    assert!(bl > r, "parse shrank: blue {bl} over red {r}");
    b.screenshot("diff");
}
