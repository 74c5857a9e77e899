//! LL/SC (`ldxr`/`stxr` retry loops, all ARMv8.0 has) against LSE (`ldadd`, ARMv8.1), on one
//! counter, alone and contended by two threads. Both are written out in assembly so one binary
//! holds both; the LSE one runs only where the CPU has LSE (checked at run time).

use std::sync::atomic::AtomicU64;

/// `n` increments of `counter` with an exclusive-load / store-exclusive loop.
#[cfg(target_arch = "aarch64")]
pub fn add_llsc(counter: &AtomicU64, n: u64) {
    let p = counter.as_ptr();
    for _ in 0..n {
        // SAFETY: `p` points at a live, aligned u64 that is only accessed atomically.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldxr {t}, [{p}]",
                "add {t}, {t}, #1",
                "stxr {s:w}, {t}, [{p}]",
                "cbnz {s:w}, 2b",
                p = in(reg) p,
                t = out(reg) _,
                s = out(reg) _,
                options(nostack),
            );
        }
    }
}

/// `n` increments of `counter` with LSE's atomic add. Only call where [`has_lse`] is true.
///
/// # Safety
/// The CPU must implement LSE (ARMv8.1 atomics); elsewhere `ldadd` is an undefined instruction.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "lse")]
pub unsafe fn add_lse(counter: &AtomicU64, n: u64) {
    let p = counter.as_ptr();
    for _ in 0..n {
        // SAFETY: as in `add_llsc`; the caller guarantees LSE.
        unsafe {
            core::arch::asm!(
                "ldadd {one}, {old}, [{p}]",
                p = in(reg) p,
                one = in(reg) 1u64,
                old = out(reg) _,
                options(nostack),
            );
        }
    }
}

/// Whether this CPU has LSE atomics.
pub fn has_lse() -> bool {
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("lse")
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        false
    }
}

/// Two threads running `add` on the same counter, `n` times each.
pub fn contended(counter: &AtomicU64, n: u64, add: impl Fn(&AtomicU64, u64) + Sync) {
    std::thread::scope(|s| {
        s.spawn(|| add(counter, n));
        add(counter, n);
    });
}

#[cfg(all(test, target_arch = "aarch64"))]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn both_forms_count_exactly() {
        let c = AtomicU64::new(0);
        contended(&c, 5000, add_llsc);
        assert_eq!(c.load(Ordering::Relaxed), 10_000);
        if has_lse() {
            // SAFETY: checked just above.
            contended(&c, 5000, |c, n| unsafe { add_lse(c, n) });
            assert_eq!(c.load(Ordering::Relaxed), 20_000);
        }
    }
}
