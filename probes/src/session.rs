//! A running profile: the eBPF object loaded and attached for a target, polled until it stops, then
//! drained into a [`Capture`].

use crate::error::Context as _;
use std::{
    collections::{HashMap, HashSet},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use armtune_common::{counter, proc_event, ProcEvent, StackSample};
use aya::{
    maps::{HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf},
    Ebpf,
};

use crate::{
    attach,
    btf::VMLINUX,
    capture::{Capture, RawSample},
    families::{self, Attach, Drain, FamilyState, Setup},
    mmap_records::{monotonic_ns, MmapRecorder},
    privileges::Capabilities,
    procmaps::MapsStore,
    profile::{Losses, Meta},
    spawn::{self, Child, ExitStatus},
    stacks::{StackReader, Unwound},
    tracefs,
    unwind::StackUnwinder,
    Error, Result,
};

pub use crate::options::{Options, Target, DEFAULT_COUNT_ENTRIES, DEFAULT_LIVE_ENTRIES, DEFAULT_STACK_ENTRIES};

/// Live counters, for the progress line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Samples counted.
    pub samples: u64,
    /// Losses so far.
    pub lost: Losses,
    /// Child processes the fork tracepoint added to the target.
    pub children: u64,
}

/// Why polling says the profile should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The spawned command exited.
    CommandExited(ExitStatus),
    /// Every `--pid` process is gone.
    PidsExited,
}

/// How often the mappings of live processes are read again (to catch dlopen) where the kernel's
/// mapping records cannot be had.
const MAPS_REFRESH: Duration = Duration::from_secs(2);

/// Unwinds one user-stack record (or completes an off-CPU interval) into `unwound`.
fn unwind_record(
    item: &[u8],
    maps: &mut MapsStore,
    recorder: Option<&mut MmapRecorder>,
    unwinder: &mut StackUnwinder,
    unwound: &mut Unwound,
) {
    let Some((header, stack)) = crate::stacks::split_record(item) else { return };
    let header = &header;
    if header.flags & armtune_common::stack_copy::COMPLETES != 0 {
        unwound.add(header, Vec::new(), false);
        return;
    }
    // A pc in no mapping known: a process first seen now (its /proc maps were read on its first
    // event) can still have records in the kernel's buffers.
    if let Some(recorder) = recorder {
        if maps.image_for(header.tgid, header.regs.pc).is_none() && header.regs.pc != 0 {
            maps.apply(recorder.read(false));
        }
    }
    let (user, truncated) = unwinder.unwind(maps, header.tgid, &header.regs, stack, header.flags);
    unwound.add(header, user, truncated);
}

/// The header of a user-stack record; `None` for a record too short to hold one.
fn stack_header(item: &[u8]) -> Option<StackSample> {
    crate::stacks::split_record(item).map(|(header, _)| header)
}

/// `--unwind auto`'s verdict on one process image.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    /// [`crate::procmaps::ProcessMaps::fingerprint`] of the image when judged: another means new code to judge.
    fingerprint: u64,
    /// Whether all of its files keep frame pointers.
    frame_pointers: bool,
}

/// A loaded, attached profiler.
pub struct Session {
    ebpf: Ebpf,
    events: RingBuf<MapData>,
    maps: MapsStore,
    /// The kernel's mapping records; `None` where they cannot be opened (then `/proc` is read at
    /// exec, at a process's first sample and every [`MAPS_REFRESH`]).
    recorder: Option<MmapRecorder>,
    live: HashSet<u32>,
    child: Option<Child>,
    pids: Vec<u32>,
    /// What could not be placed or done, for the report.
    warnings: Vec<String>,
    /// Pid of the spawned command, kept after the child is handed to the caller.
    spawned_pid: Option<u32>,
    /// pidfds of the command or the `--pid` processes: readable when they exit, so polling wakes
    /// at once instead of on the next tick.
    exit_fds: Vec<OwnedFd>,
    options: Options,
    /// Where tracefs is mounted, for the families' [`Setup`].
    tracing_root: PathBuf,
    /// When the probes were in place (ns, CLOCK_MONOTONIC), for the families' [`Setup`].
    started_ns: u64,
    /// What the registered families left when attaching, for their drains.
    family_state: FamilyState,
    /// User registers and stack windows to unwind (`--unwind dwarf`).
    user_stacks: Option<RingBuf<MapData>>,
    unwinder: StackUnwinder,
    /// The stacks unwound so far, summed.
    unwound: Unwound,
    /// User-stack records taken after the mapping records read so far, in order (copied out of
    /// the ring buffer: a few milliseconds' worth).
    waiting: std::collections::VecDeque<Vec<u8>>,
    /// `--unwind auto`: each process's verdict, on its image as it was then.
    judged: HashMap<u32, Verdict>,
    /// `--unwind auto`: each file's verdict.
    verdicts: crate::frame_pointers::Verdicts,
    started: Instant,
    last_refresh: Instant,
    /// `armtune agent`: the CPU counts the last window saw, when the last window ended, and the
    /// processes found gone then (forgotten at the next window, when no sample of theirs can
    /// still be on its way).
    windows: crate::window::CpuWindows,
    window_started: Instant,
    gone: Vec<u32>,
}

impl Session {
    /// Loads and attaches the CPU profiler for `options.target`. A spawned command is started only
    /// after every probe is attached; `interrupted` set meanwhile aborts with nothing left behind.
    pub fn start(mut options: Options, interrupted: &AtomicBool) -> Result<Session> {
        if options.unwind == crate::options::Unwind::Auto && !crate::unwind::SUPPORTED {
            // Nothing here unwinds this architecture's CFI: frame pointers are all there is.
            options.unwind = crate::options::Unwind::Fp;
        }
        check(&options)?;
        let pids = match &options.target {
            Target::Pids(pids) => pids.iter().map(|&p| process_of(p)).collect::<Result<Vec<u32>>>()?,
            _ => Vec::new(),
        };
        let tracing = tracefs::ensure_mounted()?;
        let layout = tracefs::SchedLayout::read(tracing.path())?;
        attach::raise_memlock_limit();
        let tracing_root = tracing.path().to_path_buf();
        let setup =
            Setup { options: &options, tracing: &tracing_root, btf: Path::new(VMLINUX), started_ns: 0, stopped_ns: 0 };
        let mut ebpf = attach::load(&options, &layout, &setup)?;

        let mut warnings = Vec::new();
        // Opened before the command exists, so the records of its exec and every library it maps
        // are in the buffer, however soon it exits.
        let recorder = MmapRecorder::open()
            .map_err(|e| warnings.push(format!("mapping records unavailable ({e}): libraries are read from /proc, which a short-lived process can miss")))
            .ok();
        let pending = match &options.target {
            Target::Command(argv) => Some(spawn::spawn_gated(argv)?),
            _ => None,
        };
        let maps = initial_maps(&options.target, &pids, pending.as_ref().map(|p| p.pid()), recorder.is_some());
        attach::targets(&mut ebpf, pids.iter().copied().chain(pending.as_ref().map(|p| p.pid())))?;

        attach::tracepoints(&mut ebpf)?;

        let exe = match &options.target {
            Target::Command(argv) => Some(spawn::attachable(spawn::resolve(&argv[0])?)),
            _ => None,
        };
        // The programs whose runtime or allocator is probed: the command, or each pid's executable.
        let programs: Vec<(PathBuf, Option<u32>)> = match &options.target {
            Target::Command(_) => exe.iter().map(|e| (e.clone(), None)).collect(),
            Target::Pids(_) => pids.iter().map(|&p| (PathBuf::from(format!("/proc/{p}/exe")), Some(p))).collect(),
            Target::All => Vec::new(),
            // Each program running in the cgroup once, for every process of it (the kernel
            // keeps to the cgroup).
            Target::Cgroup(cgroup) => crate::cgroups::distinct_files(
                cgroup.pids().into_iter().map(|p| PathBuf::from(format!("/proc/{p}/exe"))),
            )
            .into_iter()
            .map(|exe| (exe, None))
            .collect(),
        };
        let mut family_state = FamilyState::default();
        let mut ctx = Attach {
            setup,
            pids: &pids,
            exe: exe.as_deref(),
            programs: &programs,
            warnings: &mut warnings,
            state: &mut family_state,
        };
        for family in families::enabled(options.events.bits()) {
            family.attach(&mut ebpf, &mut ctx)?;
        }
        let events =
            RingBuf::try_from(ebpf.take_map("PROC_EVENTS").unwrap()).context("opening the event ring buffer")?;
        let user_stacks = match options.unwind.copies_stacks() {
            true => Some(
                RingBuf::try_from(ebpf.take_map(armtune_common::maps::USER_STACKS.name).unwrap())
                    .context("opening the user-stack ring buffer")?,
            ),
            false => None,
        };

        if interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        let child = pending.map(|p| p.release()).transpose()?;
        let spawned_pid = child.as_ref().map(Child::pid);
        let exit_fds =
            child.as_ref().map(Child::pid).into_iter().chain(pids.iter().copied()).filter_map(pidfd).collect();
        let now = Instant::now();
        let started_ns = monotonic_ns();
        let per_thread = options.per_thread;
        Ok(Session {
            ebpf,
            events,
            maps,
            recorder,
            live: HashSet::new(),
            child,
            pids,
            warnings,
            spawned_pid,
            exit_fds,
            options,
            tracing_root,
            started_ns,
            family_state,
            user_stacks,
            unwinder: StackUnwinder::new(),
            unwound: Unwound::new(per_thread),
            waiting: Default::default(),
            judged: HashMap::new(),
            verdicts: Default::default(),
            started: now,
            last_refresh: now,
            windows: Default::default(),
            window_started: now,
            gone: Vec::new(),
        })
    }

    /// Pid of the spawned command, if any.
    pub fn child_pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::pid)
    }

    /// Time since the probes were attached.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits up to `timeout` for process events, captures mappings of new processes, and says
    /// whether the target has ended.
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<Ended>> {
        let mut fds: Vec<libc::pollfd> = std::iter::once(self.events.as_raw_fd())
            .chain(self.user_stacks.as_ref().map(AsRawFd::as_raw_fd))
            .chain(self.exit_fds.iter().map(AsRawFd::as_raw_fd))
            .chain(self.recorder.iter().flat_map(MmapRecorder::fds))
            .map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 })
            .collect();
        let timeout_ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: valid pollfds for the length given; EINTR (Ctrl-C) just returns early.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        // The records first: a new process's fork record gives it its parent's mappings, so its
        // first event finds it known and /proc is not read for it (a host starting dozens of
        // processes a second spent a fifth of the agent's time there).
        match &mut self.recorder {
            Some(recorder) => self.maps.apply(recorder.read(false)),
            None if self.last_refresh.elapsed() >= MAPS_REFRESH => self.refresh_maps(),
            None => {}
        }
        self.read_process_events();
        let seen = self.unwind_user_stacks();
        if self.options.unwind == crate::options::Unwind::Auto {
            self.judge_frame_pointers(seen);
        }
        if let Some(child) = &mut self.child {
            return Ok(child.try_wait().map(Ended::CommandExited));
        }
        if !self.pids.is_empty() && self.pids.iter().all(|&p| !process_exists(p)) {
            return Ok(Some(Ended::PidsExited));
        }
        Ok(None)
    }

    /// Reads the process events (first events, execs): mappings of processes the kernel's records
    /// do not cover are read from /proc, and an exec's old verdict (`--unwind auto`) is dropped,
    /// as the kernel dropped it.
    fn read_process_events(&mut self) {
        while let Some(item) = self.events.next() {
            if item.len() < std::mem::size_of::<ProcEvent>() {
                continue;
            }
            // SAFETY: the kernel side writes exactly a ProcEvent; read_unaligned copes with any alignment.
            let event: ProcEvent = unsafe { std::ptr::read_unaligned(item.as_ptr().cast()) };
            match (event.kind, &self.recorder) {
                // The records say what an exec mapped; /proc is for a process they did not cover.
                (proc_event::EXEC, Some(_)) => {}
                (_, Some(_)) if self.maps.knows(event.tgid) => {}
                (proc_event::EXEC, None) => {
                    self.maps.replace(event.tgid);
                }
                _ => {
                    self.maps.capture(event.tgid);
                }
            }
            if event.kind == proc_event::EXEC {
                // The kernel forgot the old image's verdict too.
                self.judged.remove(&event.tgid);
            }
            self.live.insert(event.tgid);
        }
    }

    /// Unwinds the user stacks in their ring buffer, each once the mapping records up to its
    /// time are in: a library mapped a moment before a sample is known when it is unwound. Those
    /// taken later wait, copied, in `waiting` (in order: an off-CPU completion must follow its
    /// stack); without the records (`/proc` instead) nothing waits. Returns the processes whose
    /// stacks came.
    fn unwind_user_stacks(&mut self) -> HashSet<u32> {
        let mut seen = HashSet::new();
        let Session { user_stacks, maps, recorder, unwinder, unwound, waiting, .. } = self;
        let Some(ring) = user_stacks else { return seen };
        let horizon = recorder.as_ref().map_or(u64::MAX, MmapRecorder::horizon);
        let mut unwind = |item: &[u8]| unwind_record(item, maps, recorder.as_mut(), unwinder, unwound);
        while let Some(header) = waiting.front().and_then(|item| stack_header(item)) {
            if header.time_ns > horizon {
                break;
            }
            let item = waiting.pop_front().expect("looked at above");
            unwind(&item);
        }
        while let Some(item) = ring.next() {
            let Some(header) = stack_header(&item) else { continue };
            seen.insert(header.tgid);
            if !waiting.is_empty() || header.time_ns > horizon {
                waiting.push_back(item.to_vec());
            } else {
                unwind(&item);
            }
        }
        seen
    }

    /// `--unwind auto`: judges the processes whose stacks just came (the kernel wakes armtune for
    /// a process not judged yet), and again those whose mappings changed since (a library without
    /// frame pointers can come with dlopen). The verdict goes into `FRAME_POINTERS`: the kernel
    /// walks a process that keeps frame pointers throughout from then on.
    fn judge_frame_pointers(&mut self, seen: HashSet<u32>) {
        let recheck = self.judged.iter().filter(|(_, v)| v.frame_pointers).map(|(&tgid, _)| tgid);
        let tgids: Vec<u32> = seen.into_iter().chain(recheck).collect();
        for tgid in tgids {
            let Some((_, image)) = self.maps.current_image(tgid) else { continue };
            let fingerprint = image.fingerprint();
            let before = self.judged.get(&tgid).copied();
            if before.is_some_and(|v| v.fingerprint == fingerprint) {
                continue;
            }
            let Some(frame_pointers) = self.verdicts.process_keeps(image, &mut self.unwinder) else { continue };
            self.judged.insert(tgid, Verdict { fingerprint, frame_pointers });
            let stats = &mut self.unwinder.stats;
            match before.map(|v| v.frame_pointers) {
                None if frame_pointers => stats.frame_pointer_processes += 1,
                None => stats.cfi_processes += 1,
                Some(true) if !frame_pointers => {
                    stats.frame_pointer_processes -= 1;
                    stats.cfi_processes += 1;
                }
                Some(false) if frame_pointers => {
                    stats.cfi_processes -= 1;
                    stats.frame_pointer_processes += 1;
                }
                _ => {}
            }
            if before.map(|v| v.frame_pointers) == Some(frame_pointers) {
                continue;
            }
            if let Err(e) = self.set_frame_pointers(tgid, frame_pointers) {
                // The process stays as it was: unwound with CFI, or (a library mapped since
                // without frame pointers) walked by them, as `--unwind fp` would.
                self.warnings.push(format!("--unwind auto: {e}"));
            }
        }
    }

    /// Tells the kernel whether process `tgid` is walked by frame pointers or unwound with CFI.
    fn set_frame_pointers(&mut self, tgid: u32, keep: bool) -> Result<()> {
        let name = armtune_common::maps::FRAME_POINTERS.name;
        let mut map: BpfHashMap<_, u32, u8> =
            BpfHashMap::try_from(self.ebpf.map_mut(name).unwrap()).context("opening the frame-pointer map")?;
        let verdict =
            if keep { armtune_common::unwind::VERDICT_FRAME_POINTERS } else { armtune_common::unwind::VERDICT_CFI };
        map.insert(tgid, verdict, 0).with_context(|| format!("recording pid {tgid}'s unwinding verdict"))?;
        Ok(())
    }

    /// Re-reads the mappings of processes still alive (libraries loaded since).
    fn refresh_maps(&mut self) {
        let maps = &mut self.maps;
        self.live.retain(|&pid| maps.capture(pid));
        self.last_refresh = Instant::now();
    }

    /// Current counters.
    pub fn counters(&self) -> Result<Counters> {
        let array: PerCpuArray<_, u64> =
            PerCpuArray::try_from(self.ebpf.map("COUNTERS").unwrap()).context("opening the counters")?;
        let read = |index: u32| -> u64 { array.get(&index, 0).map(|v| v.iter().sum()).unwrap_or(0) };
        Ok(Counters {
            samples: read(counter::SAMPLES),
            lost: Losses {
                user_stacks: read(counter::USER_STACK_LOST),
                kernel_stacks: read(counter::KERNEL_STACK_LOST),
                samples: read(counter::COUNT_MAP_FULL),
                events: read(counter::EVENTS_LOST),
                off_cpu: read(counter::OFF_CPU_LOST),
                runq: read(counter::RUNQ_LOST),
                wakeups: read(counter::WAKEUP_LOST),
                allocs: read(counter::ALLOC_LOST),
                live_blocks: read(counter::LIVE_LOST),
                sdt_hits: read(counter::SDT_LOST),
                gc_assists: read(counter::GC_ASSIST_LOST),
                mappings: 0,
                stack_copies: read(counter::STACK_COPY_LOST),
                families: families::enabled(self.options.events.bits())
                    .flat_map(|f| f.losses())
                    .map(|l| (l.key.to_string(), read(l.counter)))
                    .collect(),
                family_phrases: families::enabled(self.options.events.bits())
                    .flat_map(|f| f.losses())
                    .map(|l| (l.key.to_string(), (l.what.to_string(), l.remedy.to_string())))
                    .collect(),
            },
            children: read(counter::CHILDREN_FOLLOWED),
        })
    }

    /// Signals the spawned command (used when `--duration` ends before it does).
    pub fn signal_child(&mut self, signal: i32) {
        if let Some(child) = &mut self.child {
            child.signal(signal);
        }
    }

    /// What the CPU sampler counted, the off-CPU blocks that ended and the allocations made,
    /// since the last window (or the start), while the kernel goes on counting: `armtune
    /// agent`'s windows. Only `cpu`, `off-cpu` and `alloc` are windowed; a block still going on
    /// comes in the window it ends. The capture holds a copy of the mappings known now.
    /// Processes that had exited by the previous window are forgotten, so that memory stays flat
    /// on a host where processes come and go.
    pub fn window(&mut self) -> Result<(Capture, crate::window::Evicted)> {
        self.poll(Duration::ZERO)?;
        let stacks = StackReader::new(&self.ebpf)?;
        let off_cpu = self.options.events.off_cpu;
        let alloc = self.options.events.bits() & armtune_common::events::ALLOC != 0;
        let families = crate::window::Windowed { off_cpu, alloc: alloc.then_some(self.options.alloc_sample) };
        let (window, evicted) = self.windows.take(&mut self.ebpf, &stacks, families)?;
        let (mut samples, mut off_samples) = (window.cpu, window.off_cpu);
        let (mut alloc_bytes, mut alloc_calls) = (window.alloc_bytes, window.alloc_calls);
        if alloc {
            for (key, bytes, calls) in self.unwound.take(armtune_common::events::ALLOC) {
                let sample = stacks.unwound(&key);
                let into = (&mut alloc_bytes, &mut alloc_calls);
                crate::families::alloc::push_weighed(sample, bytes, calls, self.options.alloc_sample, into);
            }
        }
        for (key, count, _) in self.unwound.take(armtune_common::events::CPU) {
            let mut sample = stacks.unwound(&key);
            sample.count = count;
            samples.push(sample);
        }
        if off_cpu {
            for (key, ns, _) in self.unwound.take(armtune_common::events::OFF_CPU) {
                off_samples.push(crate::families::sched::unwound_off_cpu_sample(&stacks, &key, ns, false));
            }
        }
        let duration = std::mem::replace(&mut self.window_started, Instant::now()).elapsed();
        let mut meta = self.meta(duration, self.counters()?);
        meta.frequency_hz = self.options.frequency;
        meta.samples = samples.iter().map(|s| s.count).sum();
        let named: HashSet<u32> =
            samples.iter().chain(&off_samples).chain(&alloc_bytes).chain(&alloc_calls).map(|s| s.tgid).collect();
        let capture = Capture {
            events: self.options.events,
            samples,
            off_cpu: off_samples,
            allocs: alloc_bytes,
            alloc_calls,
            maps: self.maps.for_pids(&named),
            meta,
            warnings: self.warnings.clone(),
            ..Capture::default()
        };
        // The capture carries the roots closed since the last window to the symbolizer.
        self.maps.clear_retired_roots();
        for pid in std::mem::take(&mut self.gone) {
            self.maps.forget(pid);
            self.unwinder.forget(pid);
            self.live.remove(&pid);
            self.judged.remove(&pid);
        }
        self.gone = self.maps.pids().filter(|&p| !process_exists(p)).collect();
        Ok((capture, evicted))
    }

    /// The facts of a capture of `duration`, with the kernel's `counters`.
    fn meta(&self, duration: Duration, mut counters: Counters) -> Meta {
        counters.lost.mappings = self.maps.lost_records;
        Meta {
            target: self.options.target.describe(),
            duration_secs: duration.as_secs_f64(),
            frequency_hz: 0,
            samples: counters.samples,
            lost: counters.lost,
            events: self.options.events.names().into_iter().map(String::from).collect(),
            switches: 0,
            alloc_sample_bytes: self.options.alloc_sample,
            sched_sample: self.options.sched_sample.every(),
            sched_rate: self.options.sched_sample.per_cpu_second(),
            sched_tracepoints: String::new(),
            unwinding: self.user_stacks.is_some().then(|| self.unwinder.stats.clone()),
        }
    }

    /// Stops sampling and reads everything the kernel aggregated. The tracepoints stay attached
    /// until the session is dropped: tearing the object down costs the kernel a few RCU grace
    /// periods (over 100 ms), which is better spent after the output is on disk.
    pub fn stop(&mut self) -> Result<Capture> {
        let duration = self.started.elapsed();
        self.stop_sampling()?;
        let stacks = StackReader::new(&self.ebpf)?;
        let mut capture =
            Capture { events: self.options.events, meta: self.meta(duration, self.counters()?), ..Capture::default() };
        let events = self.options.events;
        let before_exec = self.spawned_before_exec();
        capture.warnings = self.warnings.clone();
        let setup = Setup {
            options: &self.options,
            tracing: &self.tracing_root,
            btf: Path::new(VMLINUX),
            started_ns: self.started_ns,
            stopped_ns: monotonic_ns(),
        };
        let process_name = |tgid| self.process_name(tgid);
        let ctx = Drain {
            setup,
            stacks: &stacks,
            unwound: &self.unwound,
            maps: &self.maps,
            state: &self.family_state,
            process_name: &process_name,
            before_exec: &before_exec,
        };
        for family in families::enabled(events.bits()) {
            family.drain(&self.ebpf, &ctx, &mut capture)?;
        }
        capture.maps = std::mem::take(&mut self.maps);
        Ok(capture)
    }

    /// Detaches the CPU sampler, then takes the last process events and mapping records (or a
    /// last read of every live process's mappings), before the maps are drained.
    fn stop_sampling(&mut self) -> Result<()> {
        for family in families::enabled(self.options.events.bits()) {
            family.stop(&mut self.ebpf, &mut self.family_state);
        }
        self.poll(Duration::ZERO)?;
        match &mut self.recorder {
            Some(recorder) => self.maps.apply(recorder.read(true)),
            None => self.refresh_maps(),
        }
        // The stacks that waited for the records just flushed.
        self.unwind_user_stacks();
        Ok(())
    }

    /// Hands the spawned command (if any) to the caller, to wait for after [`Session::stop`].
    pub fn take_child(&mut self) -> Option<Child> {
        self.child.take()
    }

    /// Recognises what the spawned command's process did before it exec'd: it was armtune's own
    /// child then, waiting at the gate under armtune's name, and that time is not the command's.
    fn spawned_before_exec(&self) -> impl Fn(&RawSample) -> bool {
        let child = self.spawned_pid;
        let own_name = std::fs::read_to_string("/proc/self/comm").unwrap_or_default().trim().to_string();
        move |s: &RawSample| Some(s.tgid) == child && s.comm == own_name
    }

    /// A process's name for the tables: its current one, or for the spawned command gone by drain
    /// time its program's file name; empty when neither is known (the caller may know better).
    fn process_name(&self, tgid: u32) -> String {
        let current = std::fs::read_to_string(format!("/proc/{tgid}/comm")).map(|c| c.trim().to_string());
        current.ok().filter(|c| !c.is_empty()).unwrap_or_else(|| match &self.options.target {
            Target::Command(argv) if Some(tgid) == self.spawned_pid => {
                std::path::Path::new(&argv[0]).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            }
            _ => String::new(),
        })
    }
}

/// What can be refused before anything is loaded: a bad frequency, missing privileges, a command
/// that does not exist (a typo should not cost a probe load first).
fn check(options: &Options) -> Result<()> {
    if options.frequency == 0 {
        return Err(Error::Invalid("--freq must be at least 1 (samples per second per CPU)".into()));
    }
    if let Target::Cgroup(cgroup) = &options.target {
        // Tracing programs may ask for a task's ancestor cgroups from 5.14 on; on older kernels the
        // call is dead code (its guard is a read-only global) and the rest loads as before.
        let (release, version) = crate::doctor::kernel_release();
        if version < (5, 14) {
            return Err(Error::Invalid(format!(
                "{}: profiling a cgroup needs Linux 5.14 or later (this is {release}); give its processes with --pid",
                cgroup.label
            )));
        }
    }
    if let Some(max) = attach::max_sample_rate().filter(|&max| options.frequency > max) {
        return Err(Error::Invalid(format!(
            "--freq {} is above this kernel's limit of {max} Hz (kernel.perf_event_max_sample_rate)",
            options.frequency
        )));
    }
    if options.unwind.copies_stacks() {
        if !crate::unwind::SUPPORTED {
            return Err(Error::Invalid(format!(
                "--unwind dwarf is not available on {}: only x86_64 and aarch64 (use --unwind fp)",
                std::env::consts::ARCH
            )));
        }
        let (min, max) = (crate::options::MIN_STACK_COPY, crate::options::MAX_STACK_COPY);
        if options.stack_copy < min || options.stack_copy > max {
            return Err(Error::Invalid(format!(
                "--stack-copy {} is outside {}..{} KiB",
                options.stack_copy,
                min / 1024,
                max / 1024
            )));
        }
    }
    if let Some(missing) = Capabilities::current().missing_for_profiling() {
        return Err(Error::Privileges { missing });
    }
    if let Target::Command(argv) = &options.target {
        spawn::resolve(argv.first().ok_or_else(|| Error::Invalid("no command given after `--`".into()))?)?;
    }
    Ok(())
}

/// What is known of the targets' mappings before the first record: with the kernel's records,
/// `/proc` of the processes already running (the command is not running yet: its exec is
/// recorded); without them, nothing until their first events.
fn initial_maps(target: &Target, pids: &[u32], command: Option<u32>, recorded: bool) -> MapsStore {
    if !recorded {
        return MapsStore::new();
    }
    let mut maps = match target {
        Target::Command(_) => MapsStore::following(command),
        Target::Pids(_) => MapsStore::following(pids.iter().copied()),
        // Processes may enter a cgroup at any time.
        Target::All | Target::Cgroup(_) => MapsStore::new(),
    };
    let running: Vec<u32> = match target {
        Target::Command(_) => Vec::new(),
        Target::Pids(_) => pids.to_vec(),
        Target::All => all_pids(),
        Target::Cgroup(cgroup) => cgroup.pids(),
    };
    for pid in running {
        maps.capture(pid);
    }
    maps
}

/// Every process on the host, from `/proc`.
fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// A pidfd for `pid` (Linux 5.3+), or `None` where the kernel has none: polling then falls back to
/// its timeout.
fn pidfd(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a non-negative return is a descriptor we own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The process (tgid) of `pid`, which may name a thread; an error when it does not exist.
fn process_of(pid: u32) -> Result<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|_| Error::NoSuchPid(pid))?;
    Ok(status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok()).unwrap_or(pid))
}

fn process_exists(pid: u32) -> bool {
    // A zombie still has /proc/PID; its stat state 'Z' means it is gone for profiling purposes.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_exists_and_thread_maps_to_process() {
        assert!(process_exists(std::process::id()));
        assert_eq!(process_of(std::process::id()).unwrap(), std::process::id());
        assert!(matches!(process_of(u32::MAX - 1), Err(Error::NoSuchPid(_))));
    }
}
