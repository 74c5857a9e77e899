//! False sharing: two threads each incrementing their own counter, with the counters in one cache
//! line, or padded apart to 64 and to 128 bytes (Cortex-A76 and Neoverse cores prefetch line pairs,
//! so 64 bytes may not be enough there).

use std::sync::atomic::{AtomicU64, Ordering};

/// Two counters side by side: one line.
#[repr(C)]
#[derive(Default)]
pub struct Adjacent {
    /// First thread's counter.
    pub a: AtomicU64,
    /// Second thread's counter, 8 bytes later.
    pub b: AtomicU64,
}

/// A counter alone in 64 bytes.
#[repr(C, align(64))]
#[derive(Default)]
pub struct Line64(pub AtomicU64);

/// A counter alone in 128 bytes.
#[repr(C, align(128))]
#[derive(Default)]
pub struct Line128(pub AtomicU64);

/// Two counters 64 bytes apart.
#[derive(Default)]
pub struct Padded64 {
    /// First thread's counter.
    pub a: Line64,
    /// Second thread's counter.
    pub b: Line64,
}

/// Two counters 128 bytes apart.
#[derive(Default)]
pub struct Padded128 {
    /// First thread's counter.
    pub a: Line128,
    /// Second thread's counter.
    pub b: Line128,
}

/// Two threads, `n` relaxed increments each, one counter each.
pub fn hammer(a: &AtomicU64, b: &AtomicU64, n: u64) {
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..n {
                a.fetch_add(1, Ordering::Relaxed);
            }
        });
        for _ in 0..n {
            b.fetch_add(1, Ordering::Relaxed);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_what_they_claim() {
        let adjacent = Adjacent::default();
        let p64 = Padded64::default();
        let p128 = Padded128::default();
        let gap = |a: &AtomicU64, b: &AtomicU64| b as *const _ as usize - a as *const _ as usize;
        assert_eq!(gap(&adjacent.a, &adjacent.b), 8);
        assert_eq!(gap(&p64.a.0, &p64.b.0), 64);
        assert_eq!(gap(&p128.a.0, &p128.b.0), 128);
        hammer(&p64.a.0, &p64.b.0, 1000);
        assert_eq!((p64.a.0.load(Ordering::Relaxed), p64.b.0.load(Ordering::Relaxed)), (1000, 1000));
    }
}
