//! Debian's Chromium, headless, as the HTML report's tests and `examples/report_load.rs` start it.

use std::{ffi::OsStr, path::PathBuf, time::Duration};

use headless_chrome::{Browser, LaunchOptions};

/// Where Debian's chromium package puts the browser (ci/setup.sh installs it).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Starts a headless Chromium with a `width` × `height` window. No sandbox, as the tests run as
/// root; the other flags keep it off the (closed) network, where it would otherwise try to reach
/// Google's services at every start.
pub fn launch(width: u32, height: u32) -> Browser {
    let args: Vec<&OsStr> = [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .into_iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions::default_builder()
        .path(Some(PathBuf::from(CHROMIUM)))
        .sandbox(false)
        .window_size(Some((width, height)))
        .idle_browser_timeout(Duration::from_secs(300))
        .args(args)
        .build()
        .expect("launch options");
    Browser::new(options).expect("start /usr/bin/chromium")
}
