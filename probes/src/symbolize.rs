//! Addresses to function names, with blazesym: ELF symbols and DWARF (inlined functions included)
//! for user code, kallsyms for the kernel, Rust and C++ names demangled.
//!
//! User addresses are turned into (file, file offset) through the mappings captured while each
//! process lived, so a process that exited long before the end of the profile still resolves. Every
//! distinct (file, offset) and kernel address is symbolized once, in one batch per file.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    rc::Rc,
};

use blazesym::symbolize::{
    source::{Elf, Kernel, Source},
    Input, Symbolized, Symbolizer as Blaze,
};

use crate::{
    capture::{Capture, RawSample},
    debug_files::{hex, DebugFiles, DebugLinks},
    debuginfod::{Debuginfod, Outcome as DebuginfodOutcome},
    dwarf_budget::DwarfBudget,
    perf_map::PerfMap,
    procmaps::{Backing, Mapping, MapsStore, ProcessMaps},
    profile::{CodeLocation, Frame, Meta, Profile, Unit},
    unwind::ElfUnwindInfo,
};

/// What one address resolved to, shared by every stack it is in.
type Names = Rc<Resolved>;

/// The names of one address, outermost first (a function, then the functions inlined into it),
/// and where the function starts when it is code of a file.
#[derive(Debug)]
struct Resolved {
    names: Box<[String]>,
    location: Option<CodeLocation>,
}

impl std::ops::Deref for Resolved {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.names
    }
}

/// A function blazesym found in a file: its names (see [`Resolved`]), its start (an address of
/// the file) and how far into it the address asked for is.
#[derive(Debug, Clone)]
struct Symbol {
    names: Box<[String]>,
    start: u64,
    into: u64,
}

/// Turns captures into profiles, caching what it resolved.
pub struct Symbolizer {
    blaze: Blaze,
    files: HashMap<(PathBuf, u64), Names>,
    /// The GNU build-id of each file as it is on disk now (`None`: none, or unreadable).
    disk_ids: HashMap<PathBuf, Option<Vec<u8>>>,
    kernel: HashMap<u64, Names>,
    kernel_source: Kernel,
    debug_files: DebugFiles,
    /// Files without symbols for some code, opened for their CFI's function starts.
    cfi: HashMap<PathBuf, Option<ElfUnwindInfo>>,
    /// Each process's perf map, read once (`None`: it wrote none).
    perf_maps: HashMap<u32, Option<PerfMap>>,
    /// The debuginfod client `DEBUGINFOD_URLS` asks for.
    debuginfod: Option<Debuginfod>,
    /// Which files are named with their DWARF (see [`DwarfBudget`]).
    dwarf: DwarfBudget,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Symbolizer::new()
    }
}

impl Symbolizer {
    /// A symbolizer for the running kernel's kallsyms.
    pub fn new() -> Symbolizer {
        // kallsyms alone: a vmlinux with DWARF would be found by blazesym too, but parsing it costs
        // seconds per run for names kallsyms already has.
        let kernel_source = Kernel { vmlinux: blazesym::MaybeDefault::None, ..Kernel::default() };
        Symbolizer::with_kernel(kernel_source)
    }

    /// A symbolizer using `kernel` for kernel addresses (a saved kallsyms, say).
    pub fn with_kernel(kernel_source: Kernel) -> Symbolizer {
        // No debug directories: `DebugFiles` finds detached debug files (in more places than
        // blazesym looks), and blazesym following a file's debug link itself would load that file's
        // DWARF a second time, outside the DWARF budget.
        let blaze = Blaze::builder()
            .enable_inlined_fns(true)
            .enable_code_info(true)
            .enable_demangling(true)
            .set_debug_dirs(Some::<[&Path; 0]>([]))
            .build();
        Symbolizer {
            blaze,
            files: HashMap::new(),
            disk_ids: HashMap::new(),
            kernel: HashMap::new(),
            kernel_source,
            debug_files: DebugFiles::default(),
            cfi: HashMap::new(),
            perf_maps: HashMap::new(),
            debuginfod: Debuginfod::from_env(crate::debuginfod::DEFAULT_BUDGET),
            dwarf: DwarfBudget::unlimited(),
        }
    }

    /// Names every CPU sample of `capture`: the on-CPU profile.
    pub fn profile(&mut self, capture: &Capture) -> Profile {
        self.stacks(&capture.samples, &capture.maps, Unit::samples(), capture.meta.clone(), 1.0)
    }

    /// Names `samples` (whose user stacks belong to processes in `maps`) into a profile in `unit`,
    /// each weight multiplied by `scale` (nanoseconds to microseconds: 0.001).
    pub fn stacks(&mut self, samples: &[RawSample], maps: &MapsStore, unit: Unit, meta: Meta, scale: f64) -> Profile {
        self.prefetch(samples, maps);
        let mut profile = Profile::new(unit, meta);
        let empty = ProcessMaps::default();
        for sample in samples {
            let process_maps = maps.for_stack(sample.tgid, &sample.user).unwrap_or(&empty);
            let weight = if scale == 1.0 { sample.count } else { (sample.count as f64 * scale).round() as u64 };
            profile.add(self.stack(sample, process_maps, maps.group_of(sample.tgid)), weight);
        }
        profile
    }

    /// The frames of one sample, root first; `group` is the container or unit its process ran
    /// in, which the process frame names after it.
    fn stack(&mut self, sample: &RawSample, maps: &ProcessMaps, group: Option<&str>) -> Vec<Frame> {
        let mut frames = vec![root_frame(sample, group)];
        frames.extend(sample.markers.iter().map(|m| Frame::marker(m.clone())));
        let bare = frames.len();
        let kernel: Vec<Names> = sample
            .kernel
            .iter()
            .enumerate()
            .map(|(i, &addr)| self.kernel.get(&lookup_addr(addr, i)).cloned().unwrap_or_else(|| names_of("[kernel]")))
            .collect();
        // Inside execve past the point of no return the task has its new, empty address space but
        // still the old program's user registers: its user stack belongs to no image there is.
        let mid_exec = kernel.iter().any(|names| names.iter().any(|n| is_exec_path(n)))
            && sample.user.first().is_some_and(|&pc| maps.find(pc).is_none());
        if sample.user_lost {
            frames.push(Frame::marker("[user stack lost]"));
        }
        if mid_exec {
            frames.push(Frame::marker("[exec]"));
        }
        for (i, &addr) in sample.user.iter().enumerate().rev().filter(|_| !mid_exec) {
            let resolved = self.user_names(sample.tgid, maps, lookup_addr(addr, i));
            for (j, name) in resolved.iter().enumerate() {
                let mut frame = Frame::user(name.clone());
                if j == 0 {
                    frame.location = resolved.location.clone().map(Box::new);
                }
                frame.inlined = j > 0;
                frames.push(frame);
            }
        }
        if sample.kernel_lost {
            frames.push(Frame::marker("[kernel stack lost]"));
        }
        // A stack taken by a BTF-typed or raw tracepoint program starts inside the program and the
        // kernel's trampoline into it: not where the task was.
        let probe_frames = kernel.iter().take_while(|names| names.iter().any(|n| is_probe_machinery(n))).count();
        for names in kernel[probe_frames..].iter().rev() {
            frames.extend(names.iter().map(|n| Frame::kernel(n.clone())));
        }
        if frames.len() == bare {
            frames.push(Frame::marker("[no stack]"));
        }
        frames
    }

    fn user_names(&mut self, tgid: u32, maps: &ProcessMaps, addr: u64) -> Names {
        let Some(mapping) = maps.find(addr) else {
            return self.jit_name(tgid, addr).unwrap_or_else(|| names_of("[unknown]"));
        };
        if self.changed_since(mapping) {
            return changed_name(mapping);
        }
        match &mapping.backing {
            Backing::File(path) => {
                let key = (path.clone(), mapping.file_offset_of(addr));
                self.files.get(&key).cloned().unwrap_or_else(|| module_name(path))
            }
            Backing::Vdso => names_of("[vdso]"),
            Backing::Other(name) => match self.jit_name(tgid, addr) {
                Some(jit) => jit,
                None => other_name(name),
            },
        }
    }

    /// The name process `tgid`'s perf map (`/tmp/perf-PID.map`) gives JIT code at `addr`.
    fn jit_name(&mut self, tgid: u32, addr: u64) -> Option<Names> {
        let map = self.perf_maps.entry(tgid).or_insert_with(|| PerfMap::read(tgid)).as_ref()?;
        map.lookup(addr).map(names_of)
    }
}

/// The process frame of `sample`: its name, thread id (`--per-thread`: same-named threads still
/// need telling apart), and the container or unit it ran in.
fn root_frame(sample: &RawSample, group: Option<&str>) -> Frame {
    let comm = if sample.comm.is_empty() { "[unknown]" } else { &sample.comm };
    let mut root = match sample.tid {
        0 => comm.to_string(),
        tid => format!("{comm} [{tid}]"),
    };
    if let Some(group) = group {
        root = format!("{root} [{group}]");
    }
    Frame { pid: (sample.tgid != 0).then_some(sample.tgid), ..Frame::process(root) }
}

/// The name of code in memory no file backs and no perf map names.
fn other_name(name: &str) -> Names {
    match name {
        "" => names_of("[unknown]"),
        name if name.starts_with('[') => names_of(name),
        name => names_of(&format!("[{name}]")),
    }
}

impl Symbolizer {
    /// Symbolizes every address the capture needs that is not cached yet, one batch per file.
    fn prefetch(&mut self, samples: &[RawSample], maps: &MapsStore) {
        let empty = ProcessMaps::default();
        let mut per_file: HashMap<PathBuf, HashSet<u64>> = HashMap::new();
        let mut build_ids: HashMap<PathBuf, Vec<u8>> = HashMap::new();
        let mut kernel: HashSet<u64> = HashSet::new();
        for sample in samples {
            let process_maps = maps.for_stack(sample.tgid, &sample.user).unwrap_or(&empty);
            for (i, &addr) in sample.user.iter().enumerate() {
                let addr = lookup_addr(addr, i);
                if let Some(m) = process_maps.find(addr).filter(|m| !self.changed_since(m)) {
                    if let Backing::File(path) = &m.backing {
                        let off = m.file_offset_of(addr);
                        if !self.files.contains_key(&(path.clone(), off)) {
                            per_file.entry(path.clone()).or_default().insert(off);
                            if let Some(id) = &m.build_id {
                                build_ids.entry(path.clone()).or_insert_with(|| id.clone());
                            }
                        }
                    }
                }
            }
            kernel.extend(
                sample
                    .kernel
                    .iter()
                    .enumerate()
                    .map(|(i, &a)| lookup_addr(a, i))
                    .filter(|a| !self.kernel.contains_key(a)),
            );
        }
        for (path, offsets) in per_file {
            let offsets: Vec<u64> = offsets.into_iter().collect();
            let segments = load_segments(&path);
            let build_id = build_ids.remove(&path).or_else(|| self.disk_id(&path));
            let file = crate::roots::shown(&path.to_string_lossy()).to_string();
            let hex_id = build_id.as_deref().map(hex);
            for (&off, symbol) in offsets.iter().zip(self.symbolize_file(&path, &segments, &offsets)) {
                let names = match symbol {
                    Some(Symbol { names, start, into }) => {
                        let offset = off.saturating_sub(into);
                        let location =
                            CodeLocation { file: file.clone(), build_id: hex_id.clone(), address: start, offset };
                        Rc::new(Resolved { names, location: Some(location) })
                    }
                    None => self
                        .function_without_symbol(&path, &segments, off, hex_id.as_deref())
                        .unwrap_or_else(|| module_name(&path)),
                };
                self.files.insert((path.clone(), off), names);
            }
        }
        if !kernel.is_empty() {
            let addrs: Vec<u64> = kernel.into_iter().collect();
            let source = Source::Kernel(self.kernel_source.clone());
            let results = self.blaze.symbolize(&source, Input::AbsAddr(&addrs)).ok();
            for (i, addr) in addrs.iter().enumerate() {
                let names = results
                    .as_ref()
                    .and_then(|r| symbol_of(&r[i]))
                    .map(|s| Rc::new(Resolved { names: s.names, location: None }))
                    .unwrap_or_else(|| names_of("[kernel]"));
                self.kernel.insert(*addr, names);
            }
        }
    }
}

impl Symbolizer {
    /// Whether the file of `mapping` is no longer the one that ran: the kernel recorded its
    /// build-id when it was mapped, and the file on disk now has another (rebuilt, reinstalled).
    /// Its symbols would name the wrong functions.
    fn changed_since(&mut self, mapping: &Mapping) -> bool {
        let (Backing::File(path), Some(recorded)) = (&mapping.backing, &mapping.build_id) else { return false };
        let now = self.disk_ids.entry(path.clone()).or_insert_with(|| build_id_of(path));
        now.as_ref().is_some_and(|now| now != recorded)
    }

    /// The build-id of the file at `path` as it is on disk now.
    fn disk_id(&mut self, path: &Path) -> Option<Vec<u8>> {
        self.disk_ids.entry(path.to_path_buf()).or_insert_with(|| build_id_of(path)).clone()
    }

    /// `libfoo.so+0x16940` for code no symbol covers: the function is known by where it starts,
    /// from the file's CFI, so its samples add up under one frame, and the frame's
    /// [`CodeLocation`] (file, build-id in hex, address, offset) lets it be named later.
    fn function_without_symbol(
        &mut self,
        path: &Path,
        segments: &[Segment],
        offset: u64,
        build_id: Option<&str>,
    ) -> Option<Names> {
        let svma = address_of_offset(segments, offset)?;
        let info = self.cfi.entry(path.to_path_buf()).or_insert_with(|| ElfUnwindInfo::open(path)).as_ref()?;
        let start = info.function_start(svma)?;
        let base = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let name = format!("{base}+{start:#x}");
        let location = CodeLocation {
            file: crate::roots::shown(&path.to_string_lossy()).to_string(),
            build_id: build_id.map(str::to_string),
            address: start,
            offset: offset - (svma - start),
        };
        Some(Rc::new(Resolved { names: Box::new([name]), location: Some(location) }))
    }

    /// Names of `offsets` in the ELF file `path`, one entry per offset: from its detached debug
    /// file where one is installed ([`DebugFiles`]: by build-id or debug link), then from the file
    /// itself (its own DWARF and symbols, or its dynamic symbols when stripped).
    /// `segments` are the file's own ([`load_segments`]), read once by the caller.
    fn symbolize_file(&mut self, path: &Path, segments: &[Segment], offsets: &[u64]) -> Vec<Option<Symbol>> {
        let mut names: Vec<Option<Symbol>> = vec![None; offsets.len()];
        if let Some(debug) = self.debug_files.find(path) {
            self.resolve_by_address(&debug, segments, offsets, &mut names);
        }
        let missing: Vec<u64> = offsets.iter().zip(&names).filter(|(_, n)| n.is_none()).map(|(&o, _)| o).collect();
        if missing.is_empty() {
            return names;
        }
        let mut resolved = self.resolve(path, Input::FileOffset(&missing)).into_iter();
        for slot in names.iter_mut().filter(|n| n.is_none()) {
            *slot = resolved.next().flatten();
        }
        // Still unnamed, and the file has no symbols of its own: a debuginfod server may have them.
        if names.iter().any(Option::is_none) {
            if let Some(fetched) = self.fetch_debuginfo(path) {
                self.resolve_by_address(&fetched, segments, offsets, &mut names);
            }
        }
        names
    }

    /// Fills the unnamed entries of `names` from `debug`, the detached debug file of `path`: it
    /// keeps the program's addresses but not its file layout, so offsets go by address.
    fn resolve_by_address(
        &mut self,
        debug: &Path,
        segments: &[Segment],
        offsets: &[u64],
        names: &mut [Option<Symbol>],
    ) {
        let addrs: Vec<Option<u64>> = offsets
            .iter()
            .zip(names.iter())
            .map(|(&off, name)| if name.is_some() { None } else { address_of_offset(segments, off) })
            .collect();
        let known: Vec<u64> = addrs.iter().flatten().copied().collect();
        if known.is_empty() {
            return;
        }
        let mut resolved = self.resolve(debug, Input::VirtOffset(&known)).into_iter();
        for (slot, addr) in names.iter_mut().zip(&addrs) {
            if addr.is_some() {
                *slot = resolved.next().flatten();
            }
        }
    }

    /// The debug file of `path` from debuginfod, when `DEBUGINFOD_URLS` names servers and the file
    /// has a build-id but no symbol table or DWARF of its own.
    fn fetch_debuginfo(&mut self, path: &Path) -> Option<PathBuf> {
        let client = self.debuginfod.as_mut()?;
        let links = DebugLinks::read(path)?;
        if links.has_own_symbols {
            return None;
        }
        client.debuginfo(links.build_id.as_deref()?, path)
    }

    /// Readies the symbolizer for the next window of a profile that goes on (`armtune agent`):
    /// perf maps are read again (JIT code keeps being added, and processes exit), and once more
    /// than `max_addresses` addresses are cached, every cache is dropped, parsed files included,
    /// so that memory stays bounded however long the agent runs (files are parsed again as
    /// samples need them). Returns whether the caches were dropped.
    pub fn next_window(&mut self, max_addresses: usize) -> bool {
        self.perf_maps.clear();
        if self.files.len() + self.kernel.len() <= max_addresses {
            return false;
        }
        self.drop_caches();
        true
    }

    /// Drops every cache, parsed (and mapped) files included; names are found again as they are
    /// asked for. The kernel's symbol source and debuginfod's state are kept.
    pub fn drop_caches(&mut self) {
        let kernel_source = self.kernel_source.clone();
        let debuginfod = self.debuginfod.take();
        let limit = self.dwarf.limit();
        *self = Symbolizer::with_kernel(kernel_source);
        self.debuginfod = debuginfod;
        self.dwarf = DwarfBudget::new(limit);
    }

    /// Names files with their DWARF only while the DWARF of all of them stays within `limit`
    /// bytes; the others are named from their symbol tables. Starts afresh with every
    /// [`Symbolizer::drop_caches`], when the parsed files are let go.
    pub fn set_dwarf_limit(&mut self, limit: u64) {
        self.dwarf = DwarfBudget::new(limit);
    }

    /// The files named from their symbol tables because their DWARF did not fit, with its size.
    pub fn dwarf_refused(&self) -> Vec<(PathBuf, u64)> {
        self.dwarf.refused().map(|(path, size)| (path.to_path_buf(), size)).collect()
    }

    /// How many addresses have cached names.
    pub fn cached_addresses(&self) -> usize {
        self.files.len() + self.kernel.len()
    }

    /// Sets how long debuginfod requests may take in all (from `DEBUGINFOD_URLS`); zero asks
    /// no server.
    pub fn set_debuginfod_budget(&mut self, budget: std::time::Duration) {
        self.debuginfod = if budget.is_zero() { None } else { Debuginfod::from_env(budget) };
    }

    /// What debuginfod was asked, and what came of it.
    pub fn debuginfod_outcomes(&self) -> Vec<DebuginfodOutcome> {
        self.debuginfod.as_ref().map(|d| d.outcomes.clone()).unwrap_or_default()
    }

    /// Names of `input`'s addresses in the ELF file `path`, one entry per address.
    ///
    /// blazesym fails a whole batch when DWARF it cannot read is hit for one address, so a failed
    /// batch is retried address by address, and a failed address once more with ELF symbols
    /// only: a name without inlining beats no name. A file whose DWARF is over the budget is named
    /// from its ELF symbols alone.
    fn resolve(&mut self, path: &Path, input: Input<&[u64]>) -> Vec<Option<Symbol>> {
        let mut elf_only = Elf::new(path);
        elf_only.debug_syms = false;
        let elf_only = Source::Elf(elf_only);
        let with_debug = if self.dwarf.admits(path) { Source::Elf(Elf::new(path)) } else { elf_only.clone() };
        if let Ok(results) = self.blaze.symbolize(&with_debug, input) {
            return results.iter().map(symbol_of).collect();
        }
        let (addrs, single): (&[u64], OneInput) = match input {
            Input::FileOffset(a) => (a, Input::FileOffset),
            Input::VirtOffset(a) => (a, Input::VirtOffset),
            Input::AbsAddr(a) => (a, Input::AbsAddr),
        };
        addrs
            .iter()
            .map(|&addr| {
                self.blaze
                    .symbolize_single(&with_debug, single(addr))
                    .or_else(|_| self.blaze.symbolize_single(&elf_only, single(addr)))
                    .ok()
                    .and_then(|r| symbol_of(&r))
            })
            .collect()
    }
}

/// A loadable segment: (address, file offset, file size, executable).
type Segment = (u64, u64, u64, bool);

/// How one address of an [`Input`] batch is asked for on its own.
type OneInput = fn(u64) -> Input<u64>;

/// (address, file offset, file size) of the loadable segments of the ELF file at `path`,
/// executable ones first (a page-aligned offset can also fall in the segment before).
fn load_segments(path: &Path) -> Vec<Segment> {
    use object::{Object, ObjectSegment};
    let Ok(file) = std::fs::File::open(path) else { return Vec::new() };
    let cache = object::ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else { return Vec::new() };
    let mut segments: Vec<Segment> = elf
        .segments()
        .map(|seg| {
            let (off, size) = seg.file_range();
            let exec = matches!(seg.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0);
            (seg.address(), off, size, exec)
        })
        .collect();
    segments.sort_by_key(|s| !s.3);
    segments
}

/// The address a file offset is loaded at, through `segments` (from [`load_segments`]).
fn address_of_offset(segments: &[Segment], offset: u64) -> Option<u64> {
    segments
        .iter()
        .find(|&&(_, off, size, _)| offset >= off && offset < off + size)
        .map(|&(addr, off, _, _)| addr + (offset - off))
}

/// The GNU build-id of the ELF file at `path`, read through its notes only (not the whole file).
pub fn build_id_of(path: &Path) -> Option<Vec<u8>> {
    use object::Object;
    let file = std::fs::File::open(path).ok()?;
    let cache = object::ReadCache::new(file);
    let elf = object::File::parse(&cache).ok()?;
    elf.build_id().ok().flatten().map(<[u8]>::to_vec)
}

/// `[libfoo.so (changed on disk)]`: the module is known, but not the code that ran.
fn changed_name(mapping: &Mapping) -> Names {
    let Backing::File(path) = &mapping.backing else { return names_of("[unknown]") };
    let base = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    names_of(&format!("[{base} (changed on disk)]"))
}

/// Kernel functions of execve from where the new address space replaces the old one.
fn is_exec_path(name: &str) -> bool {
    matches!(name, "bprm_execve" | "load_elf_binary" | "begin_new_exec" | "setup_new_exec")
}

/// Kernel functions that run a BPF program from a tracepoint, and the program itself.
fn is_probe_machinery(name: &str) -> bool {
    name.starts_with("bpf_prog_")
        || name.starts_with("bpf_trace_run")
        || name.starts_with("__bpf_trace_")
        || name.starts_with("__traceiter_")
}

/// Frames above the leaf hold return addresses, which point after the call and, when the call was
/// a function's last instruction, into the next function: look up the call itself.
fn lookup_addr(addr: u64, depth: usize) -> u64 {
    if depth == 0 {
        addr
    } else {
        addr.saturating_sub(1)
    }
}

fn names_of(name: &str) -> Names {
    Rc::new(Resolved { names: Box::new([name.to_string()]), location: None })
}

/// `[libfoo.so]` for code in a file whose symbols do not cover the address: the module is known,
/// the function is not.
fn module_name(path: &Path) -> Names {
    let base = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    names_of(&format!("[{base}]"))
}

fn symbol_of(result: &Symbolized<'_>) -> Option<Symbol> {
    let sym = result.as_sym()?;
    let mut names = Vec::with_capacity(1 + sym.inlined.len());
    names.push(sym.name.to_string());
    names.extend(sym.inlined.iter().map(|f| f.name.to_string()));
    Some(Symbol { names: names.into(), start: sym.addr, into: sym.offset as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::FrameKind;

    #[inline(never)]
    #[no_mangle]
    extern "C" fn armtune_symbolize_test_marker() -> u64 {
        std::hint::black_box(42)
    }

    fn capture_of_self(user: Vec<u64>, kernel: Vec<u64>) -> Capture {
        let mut maps = MapsStore::new();
        assert!(maps.capture(std::process::id()));
        Capture {
            samples: vec![RawSample {
                tgid: std::process::id(),
                tid: 0,
                comm: "selftest".into(),
                user,
                kernel,
                user_lost: false,
                kernel_lost: false,
                count: 3,
                markers: Vec::new(),
            }],
            maps,
            ..Capture::default()
        }
    }

    #[test]
    fn names_own_function_from_captured_maps() {
        let addr = armtune_symbolize_test_marker as *const () as usize as u64 + 1;
        let profile = Symbolizer::new().profile(&capture_of_self(vec![addr], vec![]));
        let (stack, weight) = profile.stacks.iter().next().unwrap();
        assert_eq!(*weight, 3);
        assert_eq!(stack[0], Frame { pid: Some(std::process::id()), ..Frame::process("selftest") });
        assert_eq!(stack[1].name, "armtune_symbolize_test_marker");
        assert_eq!(stack[1].kind, FrameKind::User);
        // Where the function starts, as the test binary's own symbol table has it.
        use object::{Object, ObjectSymbol};
        let exe = std::env::current_exe().unwrap();
        let data = std::fs::read(&exe).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let symbol = file.symbols().find(|s| s.name() == Ok("armtune_symbolize_test_marker")).unwrap();
        let location = stack[1].location.as_deref().expect("a named frame's location");
        assert_eq!((location.file.as_str(), location.address), (exe.to_str().unwrap(), symbol.address()));
        let segments = load_segments(&exe);
        assert_eq!(address_of_offset(&segments, location.offset), Some(symbol.address()), "{location:?}");
    }

    #[test]
    fn a_file_rebuilt_since_it_ran_is_not_symbolized_with_its_new_symbols() {
        let exe = std::env::current_exe().unwrap();
        let Some(real) = build_id_of(&exe) else { return }; // a test binary linked without a build-id
        let addr = armtune_symbolize_test_marker as *const () as usize as u64 + 1;
        let with_id = |id: Vec<u8>| {
            let mut c = capture_of_self(vec![addr], vec![]);
            let own = c.maps.get(std::process::id()).unwrap().find(addr).unwrap().clone();
            let mut maps = MapsStore::new();
            maps.insert(std::process::id(), ProcessMaps::from_mappings(vec![Mapping { build_id: Some(id), ..own }]));
            c.maps = maps;
            let profile = Symbolizer::new().profile(&c);
            profile.stacks.keys().next().unwrap()[1].name.clone()
        };
        assert_eq!(with_id(real), "armtune_symbolize_test_marker", "the same file: named");
        let name = exe.file_name().unwrap().to_string_lossy();
        assert_eq!(with_id(vec![0xde, 0xad]), format!("[{name} (changed on disk)]"));
    }

    #[test]
    fn caches_are_kept_between_windows_until_they_grow_too_large() {
        let addr = armtune_symbolize_test_marker as *const () as usize as u64 + 1;
        let mut symbolizer = Symbolizer::new();
        let first = symbolizer.profile(&capture_of_self(vec![addr], vec![]));
        assert!(symbolizer.cached_addresses() >= 1);
        assert!(!symbolizer.next_window(1000), "under the bound: kept");
        assert!(symbolizer.cached_addresses() >= 1);
        assert!(symbolizer.next_window(0), "over the bound: dropped");
        assert_eq!(symbolizer.cached_addresses(), 0);
        // And named as before from scratch.
        assert_eq!(symbolizer.profile(&capture_of_self(vec![addr], vec![])).folded_lines(), first.folded_lines());
    }

    #[test]
    fn a_file_over_the_dwarf_limit_is_named_from_its_symbols_without_inlined_frames() {
        use object::{Object, ObjectSymbol};
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("inlined.c");
        std::fs::write(
            &source,
            "static inline __attribute__((always_inline)) int inner(int x) {\n\
               int s = 0; for (int i = 0; i < x; i++) s += i * x; return s;\n}\n\
             __attribute__((noinline)) int outer(int x) { return inner(x) + 1; }\n\
             int main(int argc, char **argv) { (void)argv; return outer(argc); }\n",
        )
        .unwrap();
        let exe = dir.path().join("inlined");
        let built = std::process::Command::new("cc").args(["-O2", "-g", "-o"]).arg(&exe).arg(&source).status();
        assert!(built.unwrap().success());
        let data = std::fs::read(&exe).unwrap();
        let elf = object::File::parse(&*data).unwrap();
        let outer = elf.symbols().find(|s| s.name() == Ok("outer")).unwrap();
        // A process that maps the program's code 1 MiB above its link addresses.
        let (seg_addr, seg_offset, seg_size, _) = load_segments(&exe)[0];
        let base = 0x10_0000;
        let mapping = Mapping {
            start: base + seg_addr,
            end: base + seg_addr + seg_size,
            file_offset: seg_offset,
            backing: Backing::File(exe.clone()),
            build_id: None,
        };
        let mut capture = capture_of_self(vec![], vec![]);
        capture.maps = MapsStore::new();
        capture.maps.insert(capture.samples[0].tgid, ProcessMaps::from_mappings(vec![mapping]));
        let mut names_at = |symbolizer: &mut Symbolizer, addr: u64| {
            capture.samples[0].user = vec![addr];
            let profile = symbolizer.profile(&capture);
            let stack = profile.stacks.keys().next().unwrap().clone();
            stack[1..].iter().map(|f| f.name.clone()).collect::<Vec<_>>()
        };
        let inside = (outer.address()..outer.address() + outer.size())
            .map(|a| base + a)
            .find(|&addr| names_at(&mut Symbolizer::new(), addr) == ["outer", "inner"])
            .expect("an address of outer where inner was inlined");
        let mut symbolizer = Symbolizer::new();
        symbolizer.set_dwarf_limit(0);
        assert_eq!(names_at(&mut symbolizer, inside), ["outer"], "from the symbol table");
        let refused = symbolizer.dwarf_refused();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].0, exe);
        assert!(refused[0].1 > 0);
        // The limit outlives dropped caches.
        symbolizer.drop_caches();
        assert_eq!(names_at(&mut symbolizer, inside), ["outer"]);
    }

    #[test]
    fn demangles_rust_names() {
        let addr = capture_of_self as *const () as usize as u64;
        let profile = Symbolizer::new().profile(&capture_of_self(vec![addr], vec![]));
        let stack = profile.stacks.keys().next().unwrap();
        assert!(stack[1].name.ends_with("capture_of_self"), "{}", stack[1].name);
        assert!(!stack[1].name.starts_with("_ZN"));
    }

    #[test]
    fn unknown_and_unmapped_addresses_are_marked_not_dropped() {
        let profile = Symbolizer::new().profile(&capture_of_self(vec![0x10, 0x20], vec![]));
        let stack = profile.stacks.keys().next().unwrap();
        assert_eq!(stack.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["selftest", "[unknown]", "[unknown]"]);
    }

    #[test]
    fn markers_follow_the_root_and_scale_applies() {
        let mut c = capture_of_self(vec![0x10], vec![]);
        c.samples[0].markers = vec!["[sleeping]".into()];
        c.samples[0].count = 2_500;
        let profile = Symbolizer::new().stacks(&c.samples, &c.maps, Unit::off_cpu_us(), Meta::default(), 0.001);
        let (stack, w) = profile.stacks.iter().next().unwrap();
        assert_eq!(*w, 3, "2,500 ns is 2.5 us, rounded");
        assert_eq!(stack[1], Frame::marker("[sleeping]"));
        assert_eq!(stack[2].name, "[unknown]");
    }

    #[test]
    fn lost_stacks_get_markers() {
        let mut c = capture_of_self(vec![], vec![]);
        c.samples[0].user_lost = true;
        let profile = Symbolizer::new().profile(&c);
        let stack = profile.stacks.keys().next().unwrap();
        assert_eq!(stack[1], Frame::marker("[user stack lost]"));
    }

    #[test]
    fn tracepoint_program_frames_are_dropped_from_the_leaf_only() {
        // Leaf first, as the kernel stores them: the program, its trampoline, then where the task was.
        let kernel = vec![0xffff_0000_0000_1000, 0xffff_0000_0000_2000, 0xffff_0000_0000_3000, 0xffff_0000_0000_4000];
        let mut symbolizer = Symbolizer::with_kernel(Kernel {
            kallsyms: blazesym::MaybeDefault::None,
            vmlinux: blazesym::MaybeDefault::None,
            ..Kernel::default()
        });
        for (i, name) in ["bpf_prog_6bf984e44ed69c84_armtune_switch_", "bpf_trace_run4", "__schedule", "bpf_trace_run4"]
            .iter()
            .enumerate()
        {
            symbolizer.kernel.insert(lookup_addr(kernel[i], i), names_of(name));
        }
        let profile = symbolizer.profile(&capture_of_self(vec![], kernel));
        let stack = profile.stacks.keys().next().unwrap();
        let names: Vec<&str> = stack.iter().skip(1).map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["bpf_trace_run4", "__schedule"], "only the leaf-side run is machinery");
    }

    #[test]
    fn stack_order_is_root_first_user_then_kernel() {
        let leaf = armtune_symbolize_test_marker as *const () as usize as u64;
        let caller = capture_of_self as *const () as usize as u64 + 1;
        let profile = Symbolizer::with_kernel(Kernel {
            kallsyms: blazesym::MaybeDefault::None,
            vmlinux: blazesym::MaybeDefault::None,
            ..Kernel::default()
        })
        .profile(&capture_of_self(vec![leaf, caller], vec![0xffff_ffff_8100_0000]));
        let stack = profile.stacks.keys().next().unwrap();
        assert!(stack[1].name.ends_with("capture_of_self"));
        assert_eq!(stack[2].name, "armtune_symbolize_test_marker");
        assert_eq!(stack[3], Frame::kernel("[kernel]"));
    }

    /// Builds a program whose `static` function `armtune_local_fn` only a symbol table names, and
    /// returns it with that function's address (ELF virtual address).
    fn program_with_local_function(dir: &Path) -> (PathBuf, u64) {
        use object::{Object, ObjectSymbol};
        let src = dir.join("p.c");
        std::fs::write(
            &src,
            "__attribute__((noinline)) static int armtune_local_fn(int x) { return x * 3 + 1; }\n\
             int main(int c, char **v) { return armtune_local_fn(c); }\n",
        )
        .unwrap();
        let prog = dir.join("prog");
        let cc = std::process::Command::new("cc").args(["-g", "-O1", "-o"]).arg(&prog).arg(&src).status().unwrap();
        assert!(cc.success());
        let data = std::fs::read(&prog).unwrap();
        let elf = object::File::parse(&*data).unwrap();
        let addr = elf.symbols().find(|s| s.name() == Ok("armtune_local_fn")).unwrap().address();
        (prog, addr)
    }

    /// The name a one-frame sample at ELF address `addr` of `prog` gets, the file mapped as the
    /// loader maps it (a mapping per loadable segment, at bias 0x5500_0000_0000).
    fn name_in(prog: &Path, addr: u64) -> String {
        let bias = 0x5500_0000_0000u64;
        let mappings = load_segments(prog)
            .into_iter()
            .filter(|s| s.3)
            .map(|(vaddr, off, size, _)| Mapping {
                start: bias + (vaddr & !0xfff),
                end: bias + vaddr + size,
                file_offset: off & !0xfff,
                backing: Backing::File(prog.to_path_buf()),
                build_id: None,
            })
            .collect();
        let mut maps = MapsStore::new();
        maps.insert(7, ProcessMaps::from_mappings(mappings));
        let capture = Capture {
            samples: vec![RawSample {
                tgid: 7,
                comm: "prog".into(),
                user: vec![bias + addr],
                count: 1,
                ..RawSample::default()
            }],
            maps,
            ..Capture::default()
        };
        let profile = Symbolizer::new().profile(&capture);
        let stack = profile.stacks.keys().next().unwrap();
        stack[1].name.clone()
    }

    fn tool(program: &str, args: &[&std::ffi::OsStr]) {
        let status = std::process::Command::new(program).args(args).status().unwrap();
        assert!(status.success(), "{program} {args:?}");
    }

    #[test]
    fn a_stripped_programs_local_function_is_named_from_its_debug_file() {
        let dir = tempfile::tempdir().unwrap();
        let (prog, addr) = program_with_local_function(dir.path());
        assert_eq!(name_in(&prog, addr), "armtune_local_fn", "unstripped");
        let debug = dir.path().join(".debug/prog.debug");
        std::fs::create_dir(debug.parent().unwrap()).unwrap();
        tool("objcopy", &["--only-keep-debug".as_ref(), prog.as_os_str(), debug.as_os_str()]);
        tool("objcopy", &["--strip-all".as_ref(), prog.as_os_str()]);
        // Stripped, no debug link: only the CFI says where the function starts.
        assert_eq!(name_in(&prog, addr), format!("prog+{addr:#x}"));
        // gdb's `.debug/` directory beside the program, which blazesym alone does not look in.
        let link = format!("--add-gnu-debuglink={}", debug.display());
        tool("objcopy", &[link.as_ref(), prog.as_os_str()]);
        assert_eq!(name_in(&prog, addr), "armtune_local_fn", "through .debug/prog.debug");
    }

    #[test]
    fn minidebuginfo_names_a_stripped_programs_local_function() {
        // What Fedora ships: the symbol table of the functions, xz-compressed in .gnu_debugdata.
        let dir = tempfile::tempdir().unwrap();
        let (prog, addr) = program_with_local_function(dir.path());
        let mini = dir.path().join("mini");
        tool("objcopy", &["--only-keep-debug".as_ref(), prog.as_os_str(), mini.as_os_str()]);
        tool(
            "objcopy",
            &[
                "-S".as_ref(),
                "--keep-symbol=armtune_local_fn".as_ref(),
                "--remove-section=.comment".as_ref(),
                mini.as_os_str(),
            ],
        );
        tool("xz", &["-f".as_ref(), mini.as_os_str()]);
        tool("objcopy", &["--strip-all".as_ref(), prog.as_os_str()]);
        assert_eq!(name_in(&prog, addr), format!("prog+{addr:#x}"));
        let section = format!(".gnu_debugdata={}.xz", mini.display());
        tool("objcopy", &["--add-section".as_ref(), section.as_ref(), prog.as_os_str()]);
        assert_eq!(name_in(&prog, addr), "armtune_local_fn");
    }

    #[test]
    fn a_sample_in_the_middle_of_exec_has_no_user_frames_from_the_old_program() {
        // Leaf first: the kernel's exec path; the user pc is the old program's, mapped nowhere now.
        let kernel = vec![0xffff_0000_0000_1000, 0xffff_0000_0000_2000];
        let mut symbolizer = Symbolizer::with_kernel(Kernel {
            kallsyms: blazesym::MaybeDefault::None,
            vmlinux: blazesym::MaybeDefault::None,
            ..Kernel::default()
        });
        for (i, name) in ["commit_creds", "begin_new_exec"].iter().enumerate() {
            symbolizer.kernel.insert(lookup_addr(kernel[i], i), names_of(name));
        }
        let profile = symbolizer.profile(&capture_of_self(vec![0x10, 0x20], kernel.clone()));
        let names: Vec<String> = profile.stacks.keys().next().unwrap().iter().skip(1).map(|f| f.name.clone()).collect();
        assert_eq!(names, ["[exec]", "begin_new_exec", "commit_creds"]);
        // Elsewhere an unmapped pc is still shown as unknown.
        let profile = symbolizer.profile(&capture_of_self(vec![0x10], vec![kernel[0]]));
        assert_eq!(profile.stacks.keys().next().unwrap()[1].name, "[unknown]");
    }
}
