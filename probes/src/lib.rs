//! User side of `armtune profile`: load the embedded eBPF object, attach it for a command, some pids
//! or the whole host, drain what the kernel aggregated, and turn addresses into named stacks.
//!
//! The kernel-facing part is [`session`]; everything after [`session::Session::stop`] works on plain
//! data ([`capture::Capture`], [`profile::Profile`]) so it can be tested without a kernel. Each
//! event family ([`families`]) owns everything about itself, its summary text included; SVG,
//! the main profile's tables and progress lines belong to the `armtune` binary.
//!
//! Deliberately absent: kprobes (off on many locked-down kernels, and on this project's CI kernel),
//! perf.data files, and any dependency on BTF for the CPU profiler.

#![warn(missing_docs)]

pub mod allocator;
mod attach;
pub mod btf;
pub mod capture;
pub mod cgroups;
pub mod debug_files;
pub mod debuginfod;
pub mod doctor;
pub mod dwarf_budget;
pub mod error;
pub mod events;
pub mod families;
pub mod frame_pointers;
pub mod gc;
pub mod histogram;
pub mod meta;
pub mod mmap_records;
pub mod object;
pub mod options;
pub mod perf_map;
pub mod pprof;
pub mod privileges;
pub mod procmaps;
pub mod profile;
pub mod refctr;
pub mod report;
pub mod roots;
pub mod sdt;
pub mod session;
pub mod spawn;
pub mod stacks;
pub mod symbolize;
pub mod tracefs;
pub mod unwind;
pub mod window;

pub use capture::{Capture, RawSample};
pub use error::{Error, Result};
pub use options::{Options, Target};
pub use profile::{Frame, FrameKind, Profile};
pub use session::Session;
