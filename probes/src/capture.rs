//! What a profiling session hands over when it stops: raw addresses, counts, histograms and the
//! mappings needed to name them. Plain data, so symbolization and rendering are testable without
//! a kernel.

use serde::{Deserialize, Serialize};

use crate::{histogram::Log2Histogram, meta::Meta, options::EventSet, procmaps::MapsStore};

/// A NUL-padded kernel `comm` as text.
pub fn comm_text(comm: &[u8]) -> String {
    let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
    String::from_utf8_lossy(&comm[..end]).into_owned()
}

/// One aggregated stack: a (process, thread name, user stack, kernel stack) and its weight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSample {
    /// Process whose mappings name the user stack.
    pub tgid: u32,
    /// Thread id, or 0 when aggregated per process.
    pub tid: u32,
    /// Name of the root frame (thread name).
    pub comm: String,
    /// Marker frames between the root and the stack (task state, "woken by ...").
    pub markers: Vec<String>,
    /// User stack, leaf first: the pc, then return addresses.
    pub user: Vec<u64>,
    /// Kernel stack, leaf first.
    pub kernel: Vec<u64>,
    /// The user stack existed but was lost (collision or full stack map).
    pub user_lost: bool,
    /// The kernel stack existed but was lost.
    pub kernel_lost: bool,
    /// Weight: samples, nanoseconds or events, by kind of capture.
    pub count: u64,
}

/// Who woke whom, how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WakePair {
    /// Waker process.
    pub waker_tgid: u32,
    /// Waker thread name.
    pub waker_comm: String,
    /// Woken process (0 when unknown).
    pub wakee_tgid: u32,
    /// Woken thread name.
    pub wakee_comm: String,
    /// Wakeups.
    pub count: u64,
}

/// Scheduler counters of one thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRow {
    /// Thread id.
    pub tid: u32,
    /// Process id.
    pub tgid: u32,
    /// Thread name.
    pub comm: String,
    /// Switches out while blocking.
    pub voluntary: u64,
    /// Switches out while runnable (preempted).
    pub involuntary: u64,
    /// Moves between CPUs.
    pub migrations: u64,
}

/// Run-queue latency of one process (and CPU, with `--per-cpu`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunqHistogram {
    /// Process id (0: tasks armtune never saw switch out, e.g. before the run started).
    pub tgid: u32,
    /// Process name, when known.
    pub comm: String,
    /// CPU, or `None` for all CPUs together.
    pub cpu: Option<u32>,
    /// The histogram, in microseconds.
    pub histogram: Log2Histogram,
}

/// Allocation sizes of one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeHistogram {
    /// Process id.
    pub tgid: u32,
    /// Process name, when known.
    pub comm: String,
    /// Bucket k counts allocations of [2^k, 2^(k+1)) bytes (bucket 0 also 0 bytes).
    pub histogram: Log2Histogram,
}

/// Garbage collection in one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Process id.
    pub tgid: u32,
    /// Process name, when known.
    pub comm: String,
    /// Completed collection cycles.
    pub cycles: u64,
    /// Stop-the-world pauses.
    pub pauses: u64,
    /// Total pause time, ns.
    pub pause_total_ns: u64,
    /// Go mark assists: allocations that had to help the collector first.
    #[serde(default)]
    pub assists: u64,
    /// Pause lengths (log2 buckets of microseconds; max in `max_ns`).
    pub histogram: Log2Histogram,
}

/// Everything a session collected.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// The events recorded (CPU samples by default).
    pub events: EventSet,
    /// CPU samples (weight: samples).
    pub samples: Vec<RawSample>,
    /// Off-CPU intervals (weight: nanoseconds); blocks still open at the end carry a marker.
    pub off_cpu: Vec<RawSample>,
    /// Wakeups of targets with the waker's stack (weight: wakeups).
    pub wakeups: Vec<RawSample>,
    /// Wakeup counts by waker and woken.
    pub wake_pairs: Vec<WakePair>,
    /// Run-queue latency histograms.
    pub runq: Vec<RunqHistogram>,
    /// Per-thread scheduler counters.
    pub threads: Vec<ThreadRow>,
    /// Allocations by stack (weight: bytes requested).
    pub allocs: Vec<RawSample>,
    /// The same stacks weighted by calls.
    pub alloc_calls: Vec<RawSample>,
    /// Blocks allocated during the run and still live at its end (weight: bytes), with an age
    /// marker.
    pub live: Vec<RawSample>,
    /// The same groups weighted by blocks.
    pub live_blocks: Vec<RawSample>,
    /// Allocation sizes per process (log2 buckets of bytes).
    pub sizes: Vec<SizeHistogram>,
    /// What could not be done (probes not placed), to tell the user.
    pub warnings: Vec<String>,
    /// Garbage collection per process.
    pub gc: Vec<GcReport>,
    /// SDT probe hits (weight: hits), under a `[sdt provider:name]` marker.
    pub sdt: Vec<RawSample>,
    /// Go mark assists by allocating stack (weight: assists), under a `[gc assist]` marker.
    pub gc_assists: Vec<RawSample>,
    /// The JSON sections of the registered families that recorded ([`crate::families`]), by
    /// section key: plain data each family made of its maps and renders itself.
    pub sections: std::collections::BTreeMap<String, serde_json::Value>,
    /// Mappings of the processes seen.
    pub maps: MapsStore,
    /// Facts about the run (target, duration, counters, losses).
    pub meta: Meta,
}
