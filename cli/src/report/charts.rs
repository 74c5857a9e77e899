//! Charts drawn as inline SVG when the report is written: histograms of log2 buckets with their
//! percentiles, bars with confidence intervals, and a heat list. Static markup, so they show
//! without the script and every bar is an element a test can count.

use std::fmt::Write as _;

use armtune_probes::histogram::Log2Histogram;

use super::page::esc;

/// What a histogram's buckets measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Microseconds (run-queue latency, GC pauses).
    Micros,
    /// Bytes (allocation sizes).
    Bytes,
}

impl Scale {
    /// A bucket bound or percentile as people read it.
    pub fn show(self, value: f64) -> String {
        match self {
            Scale::Micros if value >= 1e6 => format!("{:.1} s", value / 1e6),
            Scale::Micros if value >= 1e3 => format!("{:.1} ms", value / 1e3),
            Scale::Micros => format!("{value:.0} µs"),
            Scale::Bytes if value >= (1 << 30) as f64 => format!("{:.0} GiB", value / (1u64 << 30) as f64),
            Scale::Bytes if value >= (1 << 20) as f64 => format!("{:.0} MiB", value / (1 << 20) as f64),
            Scale::Bytes if value >= 1024.0 => format!("{:.0} KiB", value / 1024.0),
            Scale::Bytes => format!("{value:.0} B"),
        }
    }
}

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 210.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 22.0;

/// A bar per bucket from the first to the last non-empty one, with the given percentiles
/// (`(label, value)`, in the histogram's unit) marked as dashed lines at their place inside
/// their bucket. Empty string for an empty histogram.
pub fn histogram(h: &Log2Histogram, scale: Scale, percentiles: &[(&str, f64)]) -> String {
    let Some(first) = h.buckets.iter().position(|&c| c > 0) else { return String::new() };
    let last = h.buckets.iter().rposition(|&c| c > 0).unwrap_or(first);
    let peak = h.buckets[first..=last].iter().copied().max().unwrap_or(1).max(1) as f64;
    let n = (last - first + 1) as f64;
    let slot_w = (WIDTH - LEFT - 8.0) / n;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |slot: usize| LEFT + (slot - first) as f64 * slot_w;
    let mut svg = format!(
        "<svg class=\"chart histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">"
    );
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        WIDTH - 8.0,
        LEFT - 4.0,
        TOP + 4.0,
        peak as u64,
        LEFT - 4.0
    );
    let label_every = ((n / 12.0).ceil() as usize).max(1);
    for slot in first..=last {
        let count = h.buckets[slot];
        let (lo, hi) = Log2Histogram::bounds(slot);
        let bar_h = count as f64 / peak * plot_h;
        let x = x_of(slot);
        let _ = write!(
            svg,
            "<rect class=\"bar\" data-count=\"{count}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\">\
             <title>{} – {}: {count}</title></rect>",
            x + 1.0,
            base - bar_h,
            (slot_w - 2.0).max(1.0),
            esc(&scale.show(lo as f64)),
            esc(&scale.show(hi as f64)),
        );
        if (slot - first) % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot_w / 2.0,
                base + 14.0,
                esc(&scale.show(lo as f64))
            );
        }
    }
    for (i, (label, value)) in percentiles.iter().enumerate() {
        // Place the value inside its bucket linearly, as the percentile itself was interpolated.
        let slot = (first..=last)
            .find(|&s| {
                let (lo, hi) = Log2Histogram::bounds(s);
                *value >= lo as f64 && *value <= hi as f64
            })
            .unwrap_or(last);
        let (lo, hi) = Log2Histogram::bounds(slot);
        let x = x_of(slot) + ((value - lo as f64) / (hi - lo) as f64).clamp(0.0, 1.0) * slot_w;
        let _ = write!(
            svg,
            "<line class=\"pct\" data-label=\"{}\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{base}\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{} {}</text>",
            esc(label),
            // Alternate rows, so close percentiles do not print over each other.
            base + 26.0 + (i % 2) as f64 * 11.0,
            esc(label),
            esc(&scale.show(*value))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One bar of an interval chart: a mean with its confidence interval, relative to a reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// The series (run or board) it belongs to.
    pub series: usize,
    /// Mean, relative (1.0: as the reference).
    pub mean: f64,
    /// Lower end of the interval, relative.
    pub low: f64,
    /// Upper end of it.
    pub high: f64,
    /// Within noise of the reference.
    pub noise: bool,
    /// Tooltip.
    pub title: String,
}

/// Horizontal bars of relative times with their intervals as whiskers, grouped by row (a
/// benchmark), one colour per series (legend from `series`), a dashed line at 1.0.
pub fn intervals(series: &[String], rows: &[(String, Vec<Interval>)]) -> String {
    let label_w = 300.0;
    let plot_w = 460.0;
    let bar_h = 11.0;
    let per_row = |r: &Vec<Interval>| 8.0 + bar_h * r.len().max(1) as f64;
    let legend_h = 22.0;
    let height = legend_h + rows.iter().map(|(_, r)| per_row(r)).sum::<f64>() + 24.0;
    let max = rows.iter().flat_map(|(_, r)| r.iter().map(|i| i.high.max(i.mean))).fold(1.2f64, f64::max) * 1.05;
    let x = |v: f64| label_w + v.max(0.0) / max * plot_w;
    let width = label_w + plot_w + 20.0;
    let mut svg = format!(
        "<svg class=\"chart intervals\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width} {height:.0}\" role=\"img\">"
    );
    for (i, name) in series.iter().enumerate() {
        let lx = label_w + i as f64 * 120.0;
        let _ = write!(
            svg,
            "<rect class=\"bar s{}\" x=\"{lx}\" y=\"4\" width=\"10\" height=\"10\"/><text x=\"{}\" y=\"13\">{}</text>",
            i % 6,
            lx + 14.0,
            esc(name)
        );
    }
    let mut y = legend_h;
    for (label, bars) in rows {
        let h = per_row(bars);
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\"><title>{}</title>{}</text>",
            label_w - 6.0,
            y + h / 2.0 + 4.0,
            esc(label),
            esc(&shorten(label, 44))
        );
        for (k, bar) in bars.iter().enumerate() {
            let top = y + 4.0 + k as f64 * bar_h;
            let mid = top + bar_h / 2.0 - 0.5;
            let noise = if bar.noise { " noise" } else { "" };
            let _ = write!(
                svg,
                "<g class=\"interval\" data-series=\"{}\" data-mean=\"{:.4}\"><title>{}</title>\
                 <rect class=\"bar s{}{noise}\" x=\"{label_w}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>\
                 <line class=\"ci\" x1=\"{:.1}\" y1=\"{mid:.1}\" x2=\"{:.1}\" y2=\"{mid:.1}\"/>\
                 <line class=\"ci\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
                 <line class=\"ci\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/></g>",
                bar.series,
                bar.mean,
                esc(&bar.title),
                bar.series % 6,
                (x(bar.mean) - label_w).max(1.0),
                bar_h - 2.0,
                x(bar.low),
                x(bar.high),
                x(bar.low),
                top + 2.0,
                x(bar.low),
                top + bar_h - 3.0,
                x(bar.high),
                top + 2.0,
                x(bar.high),
                top + bar_h - 3.0,
            );
        }
        y += h;
    }
    let _ = write!(
        svg,
        "<line class=\"one\" x1=\"{0:.1}\" y1=\"{legend_h}\" x2=\"{0:.1}\" y2=\"{y:.1}\"/>\
         <line class=\"axis\" x1=\"{label_w}\" y1=\"{y:.1}\" x2=\"{1:.1}\" y2=\"{y:.1}\"/>\
         <text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">1.0×</text>\
         <text x=\"{1:.1}\" y=\"{2:.1}\" text-anchor=\"end\">{3:.2}×</text>",
        x(1.0),
        label_w + plot_w,
        y + 14.0,
        max
    );
    svg.push_str("</svg>");
    svg
}

/// One function of a heat list.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    /// The function.
    pub name: String,
    /// Its share of the profile's samples (0-1).
    pub share: f64,
    /// What to say after the bar.
    pub note: String,
}

/// The hottest functions as bars as long as their share, darker the hotter.
pub fn heat(rows: &[Heat]) -> String {
    let label_w = 280.0;
    let plot_w = 420.0;
    let row_h = 16.0;
    let width = label_w + plot_w + 260.0;
    let height = rows.len() as f64 * row_h + 6.0;
    let max = rows.iter().map(|r| r.share).fold(0.0f64, f64::max).max(1e-9);
    let mut svg = format!(
        "<svg class=\"chart heat\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 3.0 + i as f64 * row_h;
        let w = (r.share / max * plot_w).max(1.0);
        // Light orange for a little, deep red for the hottest.
        let lightness = 78.0 - 40.0 * (r.share / max);
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\"><title>{}</title>{}</text>\
             <rect class=\"bar heat\" data-share=\"{:.6}\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" \
             style=\"fill:hsl(14,85%,{lightness:.0}%)\"><title>{:.2}%</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\">{:.1}% · {}</text>",
            label_w - 6.0,
            y + row_h - 5.0,
            esc(&r.name),
            esc(&shorten(&r.name, 40)),
            r.share,
            row_h - 3.0,
            r.share * 100.0,
            label_w + w + 6.0,
            y + row_h - 5.0,
            r.share * 100.0,
            esc(&r.note)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `text` cut to `max` characters with an ellipsis (the whole text stays in the tooltip).
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(buckets: &[u64]) -> Log2Histogram {
        Log2Histogram { buckets: buckets.to_vec(), max_ns: 100_000 }
    }

    #[test]
    fn a_histogram_has_a_bar_per_bucket_between_the_first_and_last_used_ones() {
        let svg = histogram(&hist(&[0, 0, 3, 0, 9, 1]), Scale::Micros, &[("p50", 20.0), ("p99", 40.0)]);
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 4, "buckets 2 to 5, the empty one too");
        assert!(svg.contains("data-count=\"9\""));
        assert!(svg.contains("<title>16 µs – 32 µs: 9</title>"));
        assert_eq!(svg.matches("class=\"pct\"").count(), 2);
        assert!(histogram(&hist(&[0, 0]), Scale::Micros, &[]).is_empty());
    }

    #[test]
    fn a_percentile_line_sits_inside_its_bucket() {
        // Buckets 4 (16-32 us) and 5 (32-64 us): 24 us is half-way through the first bar.
        let svg = histogram(&hist(&[0, 0, 0, 0, 1, 1]), Scale::Micros, &[("p50", 24.0)]);
        let x: f64 = svg
            .split("class=\"pct\" data-label=\"p50\" x1=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let slot_w = (WIDTH - LEFT - 8.0) / 2.0;
        assert!((x - (LEFT + slot_w / 2.0)).abs() < 0.2, "{x}");
    }

    #[test]
    fn units_read_as_people_write_them() {
        assert_eq!(Scale::Micros.show(512.0), "512 µs");
        assert_eq!(Scale::Micros.show(2048.0), "2.0 ms");
        assert_eq!(Scale::Micros.show(3_500_000.0), "3.5 s");
        assert_eq!(Scale::Bytes.show(16.0), "16 B");
        assert_eq!(Scale::Bytes.show(4096.0), "4 KiB");
        assert_eq!(Scale::Bytes.show((3 << 20) as f64), "3 MiB");
    }

    #[test]
    fn interval_bars_carry_their_means_and_whiskers() {
        let bar = |series, mean, noise| Interval {
            series,
            mean,
            low: mean - 0.1,
            high: mean + 0.1,
            noise,
            title: "t".into(),
        };
        let svg = intervals(
            &["pi4".into(), "pi5".into()],
            &[("atomics/cas".into(), vec![bar(0, 1.0, true), bar(1, 0.5, false)])],
        );
        assert_eq!(svg.matches("<g class=\"interval\"").count(), 2);
        assert_eq!(svg.matches("class=\"ci\"").count(), 6);
        assert!(svg.contains("data-mean=\"0.5000\""));
        assert!(svg.contains("class=\"bar s0 noise\""));
    }

    #[test]
    fn heat_bars_scale_to_the_hottest() {
        let svg = heat(&[
            Heat { name: "hot".into(), share: 0.5, note: "3 findings".into() },
            Heat { name: "warm".into(), share: 0.25, note: "1 finding".into() },
        ]);
        assert!(svg.contains("data-share=\"0.500000\" x=\"280\" y=\"3.0\" width=\"420.0\""));
        assert!(svg.contains("width=\"210.0\""));
        assert!(svg.contains("50.0% · 3 findings"));
    }
}
