//! log2 latency histograms as the kernel fills them, with the percentiles and the runqlat-style
//! text rendering the summary prints.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// A log2 histogram of microseconds: bucket k counts values in [2^k, 2^(k+1)) us (bucket 0 also 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log2Histogram {
    /// Counts per bucket; trailing empty buckets are trimmed.
    pub buckets: Vec<u64>,
    /// The largest value seen, in nanoseconds (exact, not bucketed).
    pub max_ns: u64,
}

impl Log2Histogram {
    /// Adds `count` to bucket `slot`.
    pub fn add(&mut self, slot: usize, count: u64) {
        if self.buckets.len() <= slot {
            self.buckets.resize(slot + 1, 0);
        }
        self.buckets[slot] += count;
    }

    /// Merges another histogram into this one.
    pub fn merge(&mut self, other: &Log2Histogram) {
        for (slot, &c) in other.buckets.iter().enumerate() {
            self.add(slot, c);
        }
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Lower and upper bound (us) of bucket `slot`.
    pub fn bounds(slot: usize) -> (u64, u64) {
        if slot == 0 {
            (0, 1)
        } else {
            (1 << slot, 1 << (slot + 1))
        }
    }

    /// The `p`-th percentile (0-100) in microseconds, interpolated linearly inside its bucket and
    /// capped by the exact maximum; `None` for an empty histogram. With log2 buckets the result is
    /// within a factor of two of the true value, and usually much closer.
    pub fn percentile_us(&self, p: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (p / 100.0 * total as f64).clamp(0.0, total as f64);
        let mut below = 0u64;
        for (slot, &c) in self.buckets.iter().enumerate() {
            if c > 0 && (below + c) as f64 >= rank {
                let (lo, hi) = Self::bounds(slot);
                let within = ((rank - below as f64) / c as f64).clamp(0.0, 1.0);
                let value = lo as f64 + within * (hi - lo) as f64;
                return Some(value.min(self.max_ns as f64 / 1000.0).max(lo as f64).min(hi as f64));
            }
            below += c;
        }
        Some(self.max_ns as f64 / 1000.0)
    }

    /// runqlat-style text: one line per bucket from the first to the last non-empty one.
    pub fn render(&self, unit: &str) -> String {
        let mut out = String::new();
        let Some(first) = self.buckets.iter().position(|&c| c > 0) else {
            return out;
        };
        let last = self.buckets.iter().rposition(|&c| c > 0).unwrap();
        let peak = *self.buckets.iter().max().unwrap();
        let _ = writeln!(out, "{:>24} : {:<8} distribution", unit, "count");
        for slot in first..=last {
            let (lo, hi) = Self::bounds(slot);
            let c = self.buckets[slot];
            let stars = ((c as f64 / peak as f64) * 40.0).round() as usize;
            let _ = writeln!(out, "{:>10} -> {:<10} : {:<8} |{:<40}|", lo, hi - 1, c, "*".repeat(stars));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(pairs: &[(usize, u64)], max_ns: u64) -> Log2Histogram {
        let mut h = Log2Histogram { max_ns, ..Default::default() };
        for &(s, c) in pairs {
            h.add(s, c);
        }
        h
    }

    #[test]
    fn percentiles_interpolate_within_buckets() {
        // 100 values in [4, 8) us, 100 in [1024, 2048) us.
        let h = hist(&[(2, 100), (10, 100)], 2_000_000);
        assert_eq!(h.count(), 200);
        let p50 = h.percentile_us(50.0).unwrap();
        assert!((4.0..=8.0).contains(&p50), "{p50}");
        let p90 = h.percentile_us(90.0).unwrap();
        assert!((1024.0..=2048.0).contains(&p90), "{p90}");
        assert!((p90 - (1024.0 + 0.8 * 1024.0)).abs() < 1e-9);
        assert_eq!(h.percentile_us(100.0).unwrap(), 2000.0, "capped by the exact max");
    }

    #[test]
    fn empty_and_zero_bucket() {
        assert_eq!(Log2Histogram::default().percentile_us(50.0), None);
        let h = hist(&[(0, 10)], 300);
        assert!(h.percentile_us(99.0).unwrap() <= 0.3 + 1e-9);
        assert_eq!(Log2Histogram::bounds(0), (0, 1));
        assert_eq!(Log2Histogram::bounds(3), (8, 16));
    }

    #[test]
    fn merge_adds_counts_and_keeps_max() {
        let mut a = hist(&[(1, 3)], 3000);
        a.merge(&hist(&[(1, 2), (5, 1)], 40_000));
        assert_eq!(a.buckets, vec![0, 5, 0, 0, 0, 1]);
        assert_eq!(a.max_ns, 40_000);
    }

    #[test]
    fn renders_like_runqlat() {
        let text = hist(&[(1, 10), (2, 5)], 7000).render("usecs");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains("2 -> 3") && lines[1].contains(&"*".repeat(40)), "{text}");
        assert!(
            lines[2].contains("4 -> 7") && lines[2].contains(&format!("|{}{}|", "*".repeat(20), " ".repeat(20))),
            "{text}"
        );
    }
}
