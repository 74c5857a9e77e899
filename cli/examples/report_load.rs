//! How long a page takes to become usable in headless Chromium: prints, for each page given, its
//! size, the time to the load event, and (for an armtune report) the time until every flame graph
//! is set up and searchable. Used by scripts/bench/report-size.sh.
//!
//! Usage: cargo run --release --example report_load -- PAGE.html|GRAPH.svg...

#[path = "../tests/common/chromium.rs"]
mod chromium;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

fn main() {
    let pages: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if pages.is_empty() {
        eprintln!("usage: report_load PAGE...");
        std::process::exit(2);
    }
    let browser = chromium::launch(1280, 1000);
    for page in pages {
        let tab = browser.new_tab().expect("tab");
        tab.set_default_timeout(Duration::from_secs(120));
        let url = format!("file://{}", page.canonicalize().expect("page").display());
        tab.navigate_to(&url).and_then(|t| t.wait_until_navigated()).expect("load");
        let number = |js: &str| tab.evaluate(js, false).ok().and_then(|r| r.value).and_then(|v| v.as_f64());
        let load = number("performance.getEntriesByType('navigation')[0].loadEventEnd").unwrap_or(f64::NAN);
        let start = Instant::now();
        let mut ready = None;
        if is_report(&page) {
            while start.elapsed() < Duration::from_secs(120) {
                if let Some(at) = number("window.armtuneReadyAt === undefined ? null : window.armtuneReadyAt") {
                    ready = Some(at);
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let size = std::fs::metadata(&page).map(|m| m.len()).unwrap_or(0);
        let ready = ready.map_or_else(|| "-".to_string(), |ms| format!("{ms:.0}"));
        println!("{}\t{:.1} MB\tload {load:.0} ms\tready {ready} ms", page.display(), size as f64 / 1e6);
        let _ = tab.close(true);
    }
}

fn is_report(page: &Path) -> bool {
    page.extension().is_some_and(|e| e == "html")
}
