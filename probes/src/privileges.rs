//! Which capabilities this process holds, read from `/proc/self/status`.

/// `CAP_SYS_ADMIN`: before Linux 5.8 the only way to load eBPF programs; still implies the others.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_PERFMON` (Linux 5.8+): open perf events and attach tracing programs.
pub const CAP_PERFMON: u32 = 38;
/// `CAP_BPF` (Linux 5.8+): load programs and create maps.
pub const CAP_BPF: u32 = 39;

/// The effective capability set of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities(pub u64);

impl Capabilities {
    /// Reads the effective set of the calling process.
    pub fn current() -> Capabilities {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Capabilities::parse_status(&status)
    }

    /// Parses the `CapEff:` line of a `/proc/PID/status` text; no line means no capabilities.
    pub fn parse_status(status: &str) -> Capabilities {
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .map(Capabilities)
            .unwrap_or(Capabilities(0))
    }

    /// Whether capability number `cap` is held.
    pub fn has(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    /// The capabilities profiling still needs, or `None` when it has them all.
    pub fn missing_for_profiling(self) -> Option<String> {
        if self.has(CAP_SYS_ADMIN) || (self.has(CAP_BPF) && self.has(CAP_PERFMON)) {
            return None;
        }
        let missing: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
            .into_iter()
            .filter(|(cap, _)| !self.has(*cap))
            .map(|(_, name)| name)
            .collect();
        Some(missing.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_everything() {
        let caps = Capabilities::parse_status("Name:\tx\nCapEff:\t000001ffffffffff\n");
        assert!(caps.has(CAP_BPF) && caps.has(CAP_PERFMON) && caps.has(CAP_SYS_ADMIN));
        assert_eq!(caps.missing_for_profiling(), None);
    }

    #[test]
    fn unprivileged_misses_both() {
        let caps = Capabilities::parse_status("CapEff:\t0000000000000000\n");
        assert_eq!(caps.missing_for_profiling().as_deref(), Some("CAP_BPF and CAP_PERFMON"));
    }

    #[test]
    fn bpf_alone_is_not_enough() {
        let caps = Capabilities(1 << CAP_BPF);
        assert_eq!(caps.missing_for_profiling().as_deref(), Some("CAP_PERFMON"));
        assert_eq!(Capabilities(1 << CAP_SYS_ADMIN).missing_for_profiling(), None);
    }
}
