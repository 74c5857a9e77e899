//! `armtune doctor`: can `profile` work on this machine, and if not, why.
//!
//! Each check reports what it found; the probe-family checks really load and attach a tiny program
//! of each kind, because a kernel config option being present does not mean the program type loads
//! (lockdown, seccomp and missing symbols all get in the way).

use crate::error::Context as _;
use std::path::Path;

use aya::{
    programs::{
        perf_event::{perf_sw_ids, PerfEventScope, PerfTypeId, SamplePolicy},
        BtfTracePoint, KProbe, PerfEvent, TracePoint, UProbe,
    },
    Btf, Ebpf, EbpfLoader,
};

use crate::{
    btf::{TaskOffsets, VMLINUX},
    object::EBPF_OBJECT,
    privileges, tracefs, Error,
};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Works.
    Ok,
    /// Works partly, or a feature other than `profile` will miss it.
    Warn,
    /// `profile` cannot work until this is fixed.
    Fail,
    /// Informational.
    Info,
}

/// One line of the doctor's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Outcome.
    pub status: Status,
    /// What was found, and what to do when it is not Ok.
    pub detail: String,
}

impl Check {
    fn new(name: &str, status: Status, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status, detail: detail.into() }
    }
}

/// All checks, in order. `profile` can work when none is [`Status::Fail`].
pub fn run() -> Vec<Check> {
    let mut checks = vec![kernel_version(), btf()];
    let mount = tracefs::ensure_mounted();
    let tracefs_root = mount.as_ref().ok().map(|m| m.path().to_path_buf());
    checks.push(match mount {
        Ok(tracefs::Mount::Present(p)) => Check::new("tracefs", Status::Ok, format!("mounted at {}", p.display())),
        Ok(tracefs::Mount::Mounted(p)) => {
            Check::new("tracefs", Status::Ok, format!("was not mounted; mounted it at {}", p.display()))
        }
        Err(e) => Check::new("tracefs", Status::Fail, crate::error::chain(&e)),
    });
    if let Some(root) = tracefs_root.as_deref() {
        checks.push(match (tracefs::SchedLayout::read(root), TaskOffsets::read(Path::new(VMLINUX))) {
            (Ok(_), Ok(offsets)) => Check::new(
                "sched tracepoints",
                Status::Ok,
                format!(
                    "scheduler events use BTF-typed tracepoints (task_struct pid at {}, comm at {}, from BTF); \
                     classic ones (format files) are the fallback",
                    offsets.pid, offsets.comm
                ),
            ),
            (Ok(_), Err(why)) => Check::new(
                "sched tracepoints",
                Status::Ok,
                format!("scheduler events use classic tracepoints, offsets from the format files ({why})"),
            ),
            (Err(e), _) => Check::new("sched tracepoints", Status::Fail, e.to_string()),
        });
    }
    checks.push(paranoid());
    checks.push(semaphores());
    let caps = privileges::Capabilities::current();
    let privileged = caps.missing_for_profiling().is_none();
    checks.push(match caps.missing_for_profiling() {
        None => Check::new("capabilities", Status::Ok, "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) held"),
        Some(missing) => Check::new("capabilities", Status::Fail, format!("missing {missing}: run with sudo")),
    });
    if privileged {
        checks.push(mapping_records());
        checks.extend(probe_families());
    } else {
        for family in FAMILIES {
            checks.push(Check::new(family, Status::Info, "not tried: needs the capabilities above"));
        }
    }
    checks
}

/// Whether `profile` can work given these checks.
pub fn profile_ready(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Fail)
}

const FAMILIES: [&str; 5] = ["perf_event", "tracepoint", "BTF tracepoint", "uprobe", "kprobe"];

/// The running kernel's release (`uname -r`) and its (major, minor) version.
pub(crate) fn kernel_release() -> (String, (u32, u32)) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let mut nums = release.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u32>().ok());
    let version = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    (release, version)
}

fn kernel_version() -> Check {
    let (release, version) = kernel_release();
    // The ring buffer that carries process events arrived in 5.8.
    if version >= (5, 8) {
        Check::new("kernel", Status::Ok, format!("{release} (5.8 or later needed)"))
    } else {
        Check::new("kernel", Status::Fail, format!("{release}: armtune needs Linux 5.8 or later (BPF ring buffer)"))
    }
}

fn btf() -> Check {
    if Path::new(VMLINUX).exists() {
        Check::new("BTF", Status::Ok, format!("{VMLINUX} present"))
    } else {
        Check::new(
            "BTF",
            Status::Warn,
            format!("no {VMLINUX}: CPU profiles work; BTF-typed programs will use their fallbacks"),
        )
    }
}

fn paranoid() -> Check {
    match std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid") {
        Ok(v) => Check::new(
            "perf_event_paranoid",
            Status::Info,
            format!("{} (does not limit CAP_PERFMON or root)", v.trim()),
        ),
        Err(_) => Check::new(
            "perf_event_paranoid",
            Status::Fail,
            "no /proc/sys/kernel/perf_event_paranoid: kernel built without perf events",
        ),
    }
}

fn semaphores() -> Check {
    match crate::refctr::pmu_type() {
        Some(_) => Check::new(
            "SDT semaphores",
            Status::Ok,
            "uprobes take reference counters: semaphore-guarded SDT probes are enabled while attached",
        ),
        None => Check::new(
            "SDT semaphores",
            Status::Warn,
            "no uprobe ref_ctr_offset (Linux 4.20+): semaphore-guarded SDT probes fire only when \
             something else enables them",
        ),
    }
}

/// Whether the kernel's mapping records can be opened: without them libraries of short-lived
/// processes can stay unnamed.
fn mapping_records() -> Check {
    match crate::mmap_records::MmapRecorder::open() {
        Ok(r) if r.build_ids => Check::new("mapping records", Status::Ok, "mmap2 records with build-ids, on every CPU"),
        Ok(_) => Check::new(
            "mapping records",
            Status::Ok,
            "mmap2 records on every CPU, without build-ids (Linux 5.12+ adds them)",
        ),
        Err(e) => Check::new(
            "mapping records",
            Status::Warn,
            format!("cannot open them ({e}): libraries are read from /proc, which a process living a few ms can miss"),
        ),
    }
}

fn probe_families() -> Vec<Check> {
    let mut ebpf = match EbpfLoader::new().load(EBPF_OBJECT) {
        Ok(e) => e,
        Err(e) => {
            let err = crate::error::chain(&Error::bpf("loading the eBPF object", e));
            return FAMILIES.iter().map(|f| Check::new(f, Status::Fail, err.clone())).collect();
        }
    };
    vec![
        family("perf_event", true, try_perf_event(&mut ebpf), "cpu-clock sampling: what `profile` uses"),
        family("tracepoint", true, try_tracepoint(&mut ebpf), "sched tracepoints: following forks and execs"),
        family("BTF tracepoint", false, try_btf_tracepoint(&mut ebpf), "scheduler events, when BTF is present"),
        family("uprobe", false, try_uprobe(&mut ebpf), "allocator events"),
        family("kprobe", false, try_kprobe(&mut ebpf), "not used by armtune; shown for comparison"),
    ]
}

fn family(name: &str, required: bool, result: Result<(), Error>, role: &str) -> Check {
    match result {
        Ok(()) => Check::new(name, Status::Ok, format!("loads and attaches ({role})")),
        Err(e) if required => Check::new(name, Status::Fail, format!("{} ({role})", crate::error::chain(&e))),
        Err(e) => Check::new(name, Status::Warn, format!("{} ({role})", crate::error::chain(&e))),
    }
}

fn try_perf_event(ebpf: &mut Ebpf) -> Result<(), Error> {
    let prog: &mut PerfEvent = ebpf.program_mut("armtune_cpu").unwrap().try_into().unwrap();
    prog.load().context("load")?;
    let link = prog
        .attach(
            PerfTypeId::Software,
            perf_sw_ids::PERF_COUNT_SW_CPU_CLOCK as u64,
            PerfEventScope::AllProcessesOneCpu { cpu: 0 },
            SamplePolicy::Frequency(1),
            false,
        )
        .context("attach to cpu-clock")?;
    prog.detach(link).context("detach")
}

fn try_tracepoint(ebpf: &mut Ebpf) -> Result<(), Error> {
    let prog: &mut TracePoint = ebpf.program_mut("armtune_exec").unwrap().try_into().unwrap();
    prog.load().context("load")?;
    let link = prog.attach("sched", "sched_process_exec").context("attach to sched:sched_process_exec")?;
    prog.detach(link).context("detach")
}

fn try_btf_tracepoint(ebpf: &mut Ebpf) -> Result<(), Error> {
    let btf = Btf::from_sys_fs().context("read the kernel's BTF")?;
    let prog: &mut BtfTracePoint = ebpf.program_mut("armtune_dr_btf").unwrap().try_into().unwrap();
    prog.load("sched_switch", &btf).context("load")?;
    let link = prog.attach().context("attach to tp_btf/sched_switch")?;
    prog.detach(link).context("detach")
}

fn try_uprobe(ebpf: &mut Ebpf) -> Result<(), Error> {
    let prog: &mut UProbe = ebpf.program_mut("armtune_dr_up").unwrap().try_into().unwrap();
    prog.load().context("load")?;
    let Some(libc) = crate::allocator::system_libc() else {
        return Err(Error::Invalid(
            "no shared C library (libc.so.6) in the default directories: allocation probes go into \
             static programs themselves, or give --alloc-lib"
                .into(),
        ));
    };
    let link = prog
        .attach(Some("getpid"), 0, &libc, None)
        .with_context(|| format!("attach to getpid in {}", libc.display()))?;
    prog.detach(link).context("detach")
}

fn try_kprobe(ebpf: &mut Ebpf) -> Result<(), Error> {
    let prog: &mut KProbe = ebpf.program_mut("armtune_dr_kp").unwrap().try_into().unwrap();
    prog.load().context("load")?;
    let link = prog.attach("vfs_read", 0).context("attach to vfs_read")?;
    prog.detach(link).context("detach")
}
