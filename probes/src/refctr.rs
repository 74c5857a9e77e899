//! Uprobes with a reference counter: how an SDT probe guarded by a semaphore is enabled. While
//! such a uprobe is attached, the kernel raises the 16-bit semaphore in every process that maps
//! the file (those running now and those that map it later) and lowers it on detach, so code
//! like `if (provider_name_semaphore) DTRACE_PROBE(...)` reaches the probe site.
//!
//! aya 0.13 cannot pass a reference-counter offset, so these uprobes are opened here with
//! `perf_event_open` on the uprobe PMU (`config:32-63` holds the offset) and the loaded program
//! is attached with `PERF_EVENT_IOC_SET_BPF`; closing the returned descriptor detaches it.

use std::{
    ffi::CString,
    os::{
        fd::{AsFd, AsRawFd, FromRawFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    path::Path,
};

use crate::{Error, Result};

const PMU: &str = "/sys/bus/event_source/devices/uprobe";
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `_IOW('$', 8, __u32)`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;

/// The first fields of `struct perf_event_attr` (`PERF_ATTR_SIZE_VER1`, 72 bytes): the kernel
/// takes a shorter struct as if the rest were zero.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    /// uprobe: the file's path (a pointer to a C string).
    config1: u64,
    /// uprobe: the probe's offset in the file.
    config2: u64,
}

/// The uprobe PMU's type, when this kernel can take a reference-counter offset (Linux 4.20+).
pub fn pmu_type() -> Option<u32> {
    let format = std::fs::read_to_string(format!("{PMU}/format/ref_ctr_offset")).ok()?;
    if format.trim() != "config:32-63" {
        return None;
    }
    std::fs::read_to_string(format!("{PMU}/type")).ok()?.trim().parse().ok()
}

/// Attaches the loaded uprobe program `program` at `offset` in `file` with the semaphore at file
/// offset `ref_ctr_offset`, for process `pid` or for every process. Keep the descriptor: closing
/// it detaches the program and lowers the semaphore.
pub fn attach(
    program: impl AsFd,
    pmu: u32,
    file: &Path,
    offset: u64,
    ref_ctr_offset: u64,
    pid: Option<u32>,
) -> Result<OwnedFd> {
    let path = CString::new(file.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("{}: a path with a NUL byte", file.display())))?;
    let attr = PerfEventAttr {
        kind: pmu,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: ref_ctr_offset << 32,
        config1: path.as_ptr() as u64,
        config2: offset,
        ..PerfEventAttr::default()
    };
    // A uprobe for every process is opened on one CPU (it fires on all); one for a process on any.
    let (pid, cpu) = match pid {
        Some(pid) => (pid as libc::pid_t, -1),
        None => (-1, 0),
    };
    let failed = |what: &str| {
        let e = std::io::Error::last_os_error();
        Error::Invalid(format!("{what} at {offset:#x} in {} with its semaphore: {e}", file.display()))
    };
    // SAFETY: attr is a valid perf_event_attr prefix whose size field says how long it is, and
    // path outlives the call.
    let fd = unsafe {
        libc::syscall(libc::SYS_perf_event_open, &attr as *const PerfEventAttr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC)
    };
    if fd < 0 {
        return Err(failed("opening a uprobe"));
    }
    // SAFETY: the kernel just returned this descriptor, owned by nobody else.
    let event = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let program = program.as_fd().as_raw_fd();
    // SAFETY: both descriptors are open for the duration of the calls.
    if unsafe { libc::ioctl(event.as_raw_fd(), PERF_EVENT_IOC_SET_BPF as _, program) } != 0 {
        return Err(failed("attaching the SDT program to a uprobe"));
    }
    // SAFETY: as above.
    if unsafe { libc::ioctl(event.as_raw_fd(), PERF_EVENT_IOC_ENABLE as _, 0) } != 0 {
        return Err(failed("enabling a uprobe"));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attr_prefix_is_the_kernels_ver1_layout() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 72);
        assert_eq!(std::mem::offset_of!(PerfEventAttr, config1), 56);
        assert_eq!(std::mem::offset_of!(PerfEventAttr, config2), 64);
    }
}
