//! Executable mappings as the kernel creates them: one dummy software perf event per CPU, for the
//! whole system, asking for mmap2, comm (with exec), fork and exit records, as `perf record` does.
//!
//! Reading `/proc/PID/maps` races with the process: at exec the dynamic loader has not mapped the
//! libraries yet, and a process that exits before the next read keeps only its executable. These
//! records are written by the kernel while the mapping is made, carry the file, range, offset and
//! (Linux 5.12+) the build-id, and stay readable after the process is gone.
//!
//! Only records are read here; [`crate::procmaps::MapsStore::apply`] turns them into mappings.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    ptr::NonNull,
    sync::atomic::{fence, Ordering},
};

use perf_event_open_sys::bindings as sys;

/// One record, with the time it was written (CLOCK_MONOTONIC, the clock of `bpf_ktime_get_ns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When the kernel wrote it, in nanoseconds.
    pub time_ns: u64,
    /// What happened.
    pub kind: RecordKind,
}

/// What a record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKind {
    /// An executable mapping was created in process `pid`.
    Mmap {
        /// Process (tgid).
        pid: u32,
        /// First address.
        start: u64,
        /// Length in bytes.
        len: u64,
        /// Offset in the file of `start`.
        file_offset: u64,
        /// The mapped file, or a name such as `[vdso]` or `//anon`.
        filename: String,
        /// The file's GNU build-id, when the kernel sent one (5.12+).
        build_id: Option<Vec<u8>>,
    },
    /// Process `pid` called exec: everything mapped before is gone.
    Exec {
        /// Process (tgid).
        pid: u32,
    },
    /// Process `parent` started process `pid` (threads are left out: they share their process's
    /// mappings).
    Fork {
        /// The new process.
        pid: u32,
        /// Its parent process.
        parent: u32,
    },
    /// Process `pid` exited.
    Exit {
        /// Process (tgid).
        pid: u32,
    },
    /// The kernel dropped `count` records: the buffer was full.
    Lost {
        /// Records dropped.
        count: u64,
    },
}

/// Size of the `sample_id` trailer every record carries with `sample_id_all` and
/// `PERF_SAMPLE_TID | PERF_SAMPLE_TIME`: pid, tid, time.
const SAMPLE_ID_LEN: usize = 16;

/// Parses one record (header included); `None` for kinds not asked for or a damaged record.
pub fn parse(record: &[u8]) -> Option<Record> {
    let kind = u32::from_ne_bytes(record.get(0..4)?.try_into().ok()?);
    let misc = u16::from_ne_bytes(record.get(4..6)?.try_into().ok()?) as u32;
    let body = record.get(8..)?;
    let trailer = body.len().checked_sub(SAMPLE_ID_LEN)?;
    let time_ns = u64_at(body, trailer + 8)?;
    let kind = match kind {
        sys::PERF_RECORD_MMAP2 => {
            // pid, tid, addr, len, pgoff, then 24 bytes of either (maj, min, ino, ino_generation)
            // or (build_id_size, reserved, build_id[20]), then prot, flags and the file name.
            let build_id = (misc & sys::PERF_RECORD_MISC_MMAP_BUILD_ID != 0).then(|| {
                let size = (*body.get(32)? as usize).min(20);
                body.get(36..36 + size).map(<[u8]>::to_vec)
            });
            let name = body.get(64..trailer)?;
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            RecordKind::Mmap {
                pid: u32_at(body, 0)?,
                start: u64_at(body, 8)?,
                len: u64_at(body, 16)?,
                file_offset: u64_at(body, 24)?,
                filename: String::from_utf8_lossy(name).into_owned(),
                build_id: build_id.flatten().filter(|b| !b.is_empty()),
            }
        }
        sys::PERF_RECORD_COMM if misc & sys::PERF_RECORD_MISC_COMM_EXEC != 0 => {
            RecordKind::Exec { pid: u32_at(body, 0)? }
        }
        sys::PERF_RECORD_FORK => {
            let (pid, parent, tid) = (u32_at(body, 0)?, u32_at(body, 4)?, u32_at(body, 8)?);
            if pid == parent || pid != tid {
                return None;
            }
            RecordKind::Fork { pid, parent }
        }
        sys::PERF_RECORD_EXIT => {
            let (pid, tid) = (u32_at(body, 0)?, u32_at(body, 8)?);
            if pid != tid {
                return None;
            }
            RecordKind::Exit { pid }
        }
        sys::PERF_RECORD_LOST => RecordKind::Lost { count: u64_at(body, 8)? },
        _ => return None,
    };
    Some(Record { time_ns, kind })
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Data pages per CPU (a power of two): 512 KiB holds a few thousand mmap records, several hundred
/// process starts between two reads.
const DATA_PAGES: usize = 128;

/// The record stream of one CPU.
struct Ring {
    fd: OwnedFd,
    base: NonNull<u8>,
    len: usize,
    page: usize,
}

impl Ring {
    fn open(cpu: i32, build_id: bool) -> std::io::Result<Ring> {
        let mut attr = sys::perf_event_attr {
            type_: sys::PERF_TYPE_SOFTWARE,
            size: std::mem::size_of::<sys::perf_event_attr>() as u32,
            config: sys::PERF_COUNT_SW_DUMMY as u64,
            sample_type: (sys::PERF_SAMPLE_TID | sys::PERF_SAMPLE_TIME) as u64,
            clockid: libc::CLOCK_MONOTONIC,
            ..Default::default()
        };
        attr.set_mmap(1);
        attr.set_mmap2(1);
        attr.set_comm(1);
        attr.set_comm_exec(1);
        attr.set_task(1);
        attr.set_sample_id_all(1);
        attr.set_use_clockid(1);
        attr.set_build_id(build_id as u64);
        // Wake a poller once a quarter of the buffer is full, so a burst of process starts is read
        // before it overflows.
        attr.set_watermark(1);
        attr.__bindgen_anon_2.wakeup_watermark = (DATA_PAGES * page_size() / 4) as u32;
        // SAFETY: attr is a complete perf_event_attr whose size field says so.
        let fd =
            unsafe { perf_event_open_sys::perf_event_open(&mut attr, -1, cpu, -1, sys::PERF_FLAG_FD_CLOEXEC as _) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a descriptor the kernel just returned, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let page = page_size();
        let len = page * (1 + DATA_PAGES);
        // SAFETY: mapping a perf event's buffer: a metadata page and DATA_PAGES data pages.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(base.cast()).ok_or_else(std::io::Error::last_os_error)?;
        Ok(Ring { fd, base, len, page })
    }

    fn meta(&self) -> *mut sys::perf_event_mmap_page {
        self.base.as_ptr().cast()
    }

    /// Appends every complete record in the buffer to `out` and frees their space.
    fn drain(&mut self, out: &mut Vec<Record>) {
        let meta = self.meta();
        // SAFETY: the metadata page is mapped for the life of self; data_head is written by the
        // kernel, so it is read volatile and followed by an acquire fence (the kernel's contract).
        let head = unsafe { std::ptr::addr_of!((*meta).data_head).read_volatile() };
        fence(Ordering::Acquire);
        // SAFETY: as above; data_tail is ours.
        let mut tail = unsafe { std::ptr::addr_of!((*meta).data_tail).read_volatile() };
        let size = (DATA_PAGES * self.page) as u64;
        // SAFETY: the data pages follow the metadata page inside the mapping.
        let data = unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(self.page), size as usize) };
        let mut record = Vec::new();
        while tail + 8 <= head {
            let at = (tail % size) as usize;
            let byte = |i: usize| data[(at + i) % size as usize];
            let len = u16::from_ne_bytes([byte(6), byte(7)]) as usize;
            if len < 8 || tail + len as u64 > head {
                break;
            }
            record.clear();
            record.extend((0..len).map(byte));
            out.extend(parse(&record));
            tail += len as u64;
        }
        fence(Ordering::Release);
        // SAFETY: as above; the release fence orders our reads before the kernel reuses the space.
        unsafe { std::ptr::addr_of_mut!((*meta).data_tail).write_volatile(tail) };
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in open, unmapped once.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as usize
}

/// Records of every CPU, handed out in time order.
pub struct MmapRecorder {
    rings: Vec<Ring>,
    /// Read but not handed out yet: newer than what every CPU is known to have written.
    pending: Vec<Record>,
    /// Whether records carry build-ids (Linux 5.12+).
    pub build_ids: bool,
    /// Every record written up to this time (CLOCK_MONOTONIC, ns) has been handed out.
    horizon_ns: u64,
}

/// How far behind the present records are handed out, so that one written on another CPU a
/// moment before (a fork, say, whose child's mappings were already read) comes first.
const REORDER_WINDOW_NS: u64 = 5_000_000;

impl MmapRecorder {
    /// Opens the recorder on every online CPU. Needs CAP_PERFMON (or root); an error says why
    /// it could not be opened (the caller falls back to `/proc`).
    pub fn open() -> std::io::Result<MmapRecorder> {
        // The same list the CPU sampler opens its events on.
        let cpus = aya::util::online_cpus().map_err(|(_, e)| e)?;
        let open_all = |build_id: bool| cpus.iter().map(|&cpu| Ring::open(cpu as i32, build_id)).collect();
        // Kernels before 5.12 refuse the build_id bit: open without it.
        match open_all(true) {
            Ok(rings) => Ok(MmapRecorder { rings, pending: Vec::new(), build_ids: true, horizon_ns: 0 }),
            Err(_) => {
                Ok(MmapRecorder { rings: open_all(false)?, pending: Vec::new(), build_ids: false, horizon_ns: 0 })
            }
        }
    }

    /// Descriptors that become readable when a buffer fills past its watermark.
    pub fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.rings.iter().map(|r| r.fd.as_raw_fd())
    }

    /// Records written up to a few milliseconds ago, oldest first (all of them with `flush`).
    pub fn read(&mut self, flush: bool) -> Vec<Record> {
        let now = monotonic_ns();
        for ring in &mut self.rings {
            ring.drain(&mut self.pending);
        }
        self.pending.sort_by_key(|r| r.time_ns);
        let cut = if flush {
            self.horizon_ns = now;
            self.pending.len()
        } else {
            let horizon = now.saturating_sub(REORDER_WINDOW_NS);
            self.horizon_ns = self.horizon_ns.max(horizon);
            self.pending.partition_point(|r| r.time_ns <= horizon)
        };
        let rest = self.pending.split_off(cut);
        std::mem::replace(&mut self.pending, rest)
    }

    /// The time up to which every record has been handed out by [`MmapRecorder::read`]: an event
    /// taken later may need mappings still held back.
    pub fn horizon(&self) -> u64 {
        self.horizon_ns
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of `bpf_ktime_get_ns` and of these records.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the kernel lays it out: header, body, sample_id (pid, tid, time).
    fn record(kind: u32, misc: u16, body: &[u8], time: u64) -> Vec<u8> {
        let mut r = Vec::new();
        let len = 8 + body.len() + SAMPLE_ID_LEN;
        r.extend(kind.to_ne_bytes());
        r.extend(misc.to_ne_bytes());
        r.extend((len as u16).to_ne_bytes());
        r.extend(body);
        r.extend(7u32.to_ne_bytes());
        r.extend(7u32.to_ne_bytes());
        r.extend(time.to_ne_bytes());
        r
    }

    fn mmap2_body(build_id: Option<&[u8]>, name: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [42u32, 43] {
            b.extend(v.to_ne_bytes());
        }
        for v in [0x7f00_0000_1000u64, 0x2000, 0x1000] {
            b.extend(v.to_ne_bytes());
        }
        let mut ids = [0u8; 24];
        if let Some(id) = build_id {
            ids[0] = id.len() as u8;
            ids[4..4 + id.len()].copy_from_slice(id);
        }
        b.extend(ids);
        b.extend(5u32.to_ne_bytes()); // prot
        b.extend(2u32.to_ne_bytes()); // flags
        let mut name = name.as_bytes().to_vec();
        name.push(0);
        while name.len() % 8 != 0 {
            name.push(0);
        }
        b.extend(name);
        b
    }

    #[test]
    fn parses_mmap2_with_and_without_build_id() {
        let id: Vec<u8> = (1..=20).collect();
        let r = parse(&record(
            sys::PERF_RECORD_MMAP2,
            sys::PERF_RECORD_MISC_MMAP_BUILD_ID as u16,
            &mmap2_body(Some(&id), "/usr/lib/libhot.so"),
            99,
        ))
        .unwrap();
        assert_eq!(r.time_ns, 99);
        assert_eq!(
            r.kind,
            RecordKind::Mmap {
                pid: 42,
                start: 0x7f00_0000_1000,
                len: 0x2000,
                file_offset: 0x1000,
                filename: "/usr/lib/libhot.so".into(),
                build_id: Some(id),
            }
        );
        let r = parse(&record(sys::PERF_RECORD_MMAP2, 0, &mmap2_body(None, "//anon"), 1)).unwrap();
        assert!(matches!(r.kind, RecordKind::Mmap { build_id: None, ref filename, .. } if filename == "//anon"));
    }

    #[test]
    fn exec_fork_exit_and_lost() {
        let mut comm = Vec::new();
        comm.extend(9u32.to_ne_bytes());
        comm.extend(9u32.to_ne_bytes());
        comm.extend(b"xz\0\0\0\0\0\0");
        let exec = record(sys::PERF_RECORD_COMM, sys::PERF_RECORD_MISC_COMM_EXEC as u16, &comm, 5);
        assert_eq!(parse(&exec).unwrap().kind, RecordKind::Exec { pid: 9 });
        assert!(parse(&record(sys::PERF_RECORD_COMM, 0, &comm, 5)).is_none(), "a rename is no exec");

        let task = |pid: u32, ppid: u32, tid: u32| {
            let mut b = Vec::new();
            for v in [pid, ppid, tid, ppid] {
                b.extend(v.to_ne_bytes());
            }
            b.extend(1u64.to_ne_bytes());
            b
        };
        assert_eq!(
            parse(&record(sys::PERF_RECORD_FORK, 0, &task(10, 9, 10), 6)).unwrap().kind,
            RecordKind::Fork { pid: 10, parent: 9 }
        );
        assert!(parse(&record(sys::PERF_RECORD_FORK, 0, &task(9, 9, 11), 6)).is_none(), "a new thread");
        assert_eq!(
            parse(&record(sys::PERF_RECORD_EXIT, 0, &task(10, 9, 10), 7)).unwrap().kind,
            RecordKind::Exit { pid: 10 }
        );
        let mut lost = Vec::new();
        lost.extend(1u64.to_ne_bytes());
        lost.extend(12u64.to_ne_bytes());
        assert_eq!(parse(&record(sys::PERF_RECORD_LOST, 0, &lost, 8)).unwrap().kind, RecordKind::Lost { count: 12 });
    }

    #[test]
    fn damaged_records_are_refused_not_panicked_on() {
        let full = record(sys::PERF_RECORD_MMAP2, 0, &mmap2_body(None, "/bin/sh"), 1);
        for cut in 0..full.len() {
            let _ = parse(&full[..cut]);
        }
        assert!(parse(&full[..20]).is_none());
    }
}
