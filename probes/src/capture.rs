//! What a profiling session hands over when it stops: raw addresses, counts and the mappings
//! needed to name them. Plain data, so symbolization and rendering are testable without a kernel.

use crate::{procmaps::MapsStore, profile::Meta};

/// One aggregated sample: a (process, thread name, user stack, kernel stack) and how often it was
/// seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSample {
    /// Process id.
    pub tgid: u32,
    /// Thread id, or 0 when the profile was per process.
    pub tid: u32,
    /// Thread name.
    pub comm: String,
    /// User stack, leaf first: the sampled pc, then return addresses.
    pub user: Vec<u64>,
    /// Kernel stack, leaf first.
    pub kernel: Vec<u64>,
    /// The user stack existed but was lost (collision or full stack map).
    pub user_lost: bool,
    /// The kernel stack existed but was lost.
    pub kernel_lost: bool,
    /// Number of samples (or other weight).
    pub count: u64,
}

/// Everything a session collected.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// Aggregated samples.
    pub samples: Vec<RawSample>,
    /// Mappings of the processes seen.
    pub maps: MapsStore,
    /// Facts about the run (target, duration, counters, losses).
    pub meta: Meta,
}
