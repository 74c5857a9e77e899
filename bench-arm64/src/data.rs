//! Data-side effects: branch predictability (the same branch over sorted and shuffled bytes),
//! struct layout (two hot fields in one line or two), and strides through memory (per-access cost
//! steps up once the stride reaches the cache line, and again once the buffer leaves the caches).

use std::hint::black_box;

/// `len` bytes from a fixed-seed generator (the same data on every board).
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Sum of the bytes >= 128, with a real branch (the taken side stores, so the compiler cannot turn
/// it into a select).
pub fn sum_large(data: &[u8]) -> u64 {
    let mut sum = 0u64;
    for &x in data {
        if x >= 128 {
            sum = sum.wrapping_add(u64::from(x));
            black_box(&mut sum);
        }
    }
    sum
}

/// Hot fields in one line: the cold data after them.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HotTogether {
    /// Read on every visit.
    pub hot_a: u64,
    /// Read on every visit.
    pub hot_b: u64,
    /// Rarely read.
    pub cold: [u64; 30],
}

/// The same fields with the second hot one 128 bytes on: two lines per visit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HotSpread {
    /// Read on every visit.
    pub hot_a: u64,
    /// Rarely read.
    pub cold_1: [u64; 15],
    /// Read on every visit, two lines away.
    pub hot_b: u64,
    /// Rarely read.
    pub cold_2: [u64; 15],
}

/// Builds `n` records of either layout.
pub fn records<T: Copy>(n: usize, make: impl Fn(u64) -> T) -> Vec<T> {
    (0..n as u64).map(make).collect()
}

/// A record of each layout from a seed.
pub fn together(i: u64) -> HotTogether {
    HotTogether { hot_a: i, hot_b: i * 3, cold: [i; 30] }
}

/// See [`together`].
pub fn spread(i: u64) -> HotSpread {
    HotSpread { hot_a: i, cold_1: [i; 15], hot_b: i * 3, cold_2: [i; 15] }
}

/// Sum of the hot fields of every record.
pub fn sum_hot_together(records: &[HotTogether]) -> u64 {
    records.iter().fold(0, |s, r| s.wrapping_add(r.hot_a).wrapping_add(r.hot_b))
}

/// Sum of the hot fields of every record.
pub fn sum_hot_spread(records: &[HotSpread]) -> u64 {
    records.iter().fold(0, |s, r| s.wrapping_add(r.hot_a).wrapping_add(r.hot_b))
}

/// `accesses` byte reads `stride` bytes apart, wrapping around `buffer`.
pub fn strided(buffer: &[u8], stride: usize, accesses: usize) -> u64 {
    let mut sum = 0u64;
    let mut i = 0;
    for _ in 0..accesses {
        sum = sum.wrapping_add(u64::from(buffer[i]));
        i += stride;
        if i >= buffer.len() {
            i = (i + 1) % stride;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_compute_what_they_say() {
        let data = random_bytes(4096);
        let mut sorted = data.clone();
        sorted.sort_unstable();
        let expected: u64 = data.iter().filter(|&&x| x >= 128).map(|&x| u64::from(x)).sum();
        assert_eq!(sum_large(&data), expected);
        assert_eq!(sum_large(&sorted), expected);
        assert_eq!(std::mem::size_of::<HotTogether>(), 256);
        assert_eq!(std::mem::size_of::<HotSpread>(), 256);
        assert_eq!(std::mem::offset_of!(HotSpread, hot_b), 128);
        let (t, s) = (records(100, together), records(100, spread));
        assert_eq!(sum_hot_together(&t), sum_hot_spread(&s));
        let buf: Vec<u8> = (0..=255).collect();
        assert_eq!(strided(&buf, 64, 4), 64 + 128 + 192);
    }
}
