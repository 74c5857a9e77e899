//! The live progress line on stderr while profiling; drawn only when stderr is a terminal.

use std::{io::IsTerminal, time::Duration};

use armtune_probes::session::Counters;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A one-line status: elapsed / planned time, samples, losses.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress line for a run of `duration` (or until stopped when `None`).
    pub fn new(duration: Option<Duration>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = match duration {
            Some(d) => {
                let bar = ProgressBar::with_draw_target(Some(d.as_millis() as u64), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} [{bar:20}] {msg}").unwrap().progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap());
                bar
            }
        };
        Progress { bar: Some(bar) }
    }

    /// Updates the line.
    pub fn update(&self, elapsed: Duration, planned: Option<Duration>, counters: &Counters) {
        let Some(bar) = &self.bar else { return };
        let time = match planned {
            Some(p) => format!("{:.1}s / {:.1}s", elapsed.as_secs_f64(), p.as_secs_f64()),
            None => format!("{:.1}s (Ctrl-C to stop)", elapsed.as_secs_f64()),
        };
        let lost = counters.lost.user_stacks + counters.lost.kernel_stacks + counters.lost.samples;
        bar.set_position(elapsed.as_millis() as u64);
        bar.set_message(format!("{time}  {} samples  {lost} lost", counters.samples));
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
