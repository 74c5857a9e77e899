//! User stacks without frame pointers (`--unwind dwarf`): the kernel side sends each event's user
//! registers and a window of its stack (`ebpf/src/stacks.rs`, `send_user_stack`); here they are
//! walked with framehop through the CFI of the files the process had mapped (`.eh_frame` with its
//! `.eh_frame_hdr` index, `.debug_frame`), falling back to frame pointers in code without CFI.
//!
//! Each file's sections are mapped once (memory-mapped, so only the pages the unwinder touches are
//! read) and shared by every process that maps it; each process image gets a framehop unwinder of
//! its modules, rebuilt when the image's mappings change. The stack bytes are only read here, while
//! one sample is unwound, and never stored: they can hold anything the program had on its stack.

use std::{
    collections::HashMap,
    ops::{Deref, Range},
    path::{Path, PathBuf},
    sync::Arc,
};

use armtune_common::{stack_copy, UserRegs, MAX_STACK_DEPTH};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, MayAllocateDuringUnwind, Module, Unwinder as _};
use object::{Object, ObjectSection, ObjectSegment};

pub use crate::meta::UnwindStats;
use crate::procmaps::{Backing, Mapping, MapsStore, ProcessMaps};

#[cfg(target_arch = "aarch64")]
use framehop::aarch64::{CacheAarch64 as Cache, UnwindRegsAarch64 as Regs, UnwinderAarch64 as ArchUnwinder};
#[cfg(target_arch = "x86_64")]
use framehop::x86_64::{CacheX86_64 as Cache, UnwindRegsX86_64 as Regs, UnwinderX86_64 as ArchUnwinder};

/// Whether this build can unwind with CFI (framehop knows x86_64 and aarch64).
pub const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Bytes of a file the unwinder reads: a range of a memory-mapped file, or of a copy.
#[derive(Clone)]
pub struct Bytes {
    data: Arc<Data>,
    range: Range<usize>,
}

enum Data {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data[self.range.clone()]
    }
}

/// What the unwinder needs of one ELF file: its unwind sections and where its segments load.
pub struct ElfUnwindInfo {
    data: Arc<Data>,
    /// (address, file offset, file size) of each executable loadable segment.
    segments: Vec<(u64, u64, u64)>,
    build_id: Option<Vec<u8>>,
    sections: SectionRanges,
    architecture: object::Architecture,
}

#[derive(Default, Clone)]
struct SectionRanges {
    text: Option<(Range<u64>, Range<usize>)>,
    eh_frame: Option<(Range<u64>, Range<usize>)>,
    eh_frame_hdr: Option<(Range<u64>, Range<usize>)>,
    debug_frame: Option<Range<usize>>,
    got: Option<Range<u64>>,
}

impl ElfUnwindInfo {
    /// Maps the ELF file at `path` and finds its unwind sections; `None` when it is not a
    /// readable ELF file.
    pub fn open(path: &Path) -> Option<ElfUnwindInfo> {
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: the map is read-only; a file truncated under us would fault, as it would for
        // any reader of a mapped binary (perf, gdb) — the files are the running programs' own.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        ElfUnwindInfo::parse(Data::Mapped(map))
    }

    /// The unwind information of an ELF image held in memory (the vDSO).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<ElfUnwindInfo> {
        ElfUnwindInfo::parse(Data::Owned(bytes))
    }

    fn parse(data: Data) -> Option<ElfUnwindInfo> {
        let data = Arc::new(data);
        let elf = object::File::parse(&**data).ok()?;
        // Damaged headers (a range past the end of the address space) leave their section out.
        let file_range = |s: &object::Section| -> Option<Range<usize>> {
            let (off, size) = s.file_range()?;
            Some(usize::try_from(off).ok()?..usize::try_from(off.checked_add(size)?).ok()?)
        };
        let mut sections = SectionRanges::default();
        for s in elf.sections() {
            let Some(end) = s.address().checked_add(s.size()) else { continue };
            let svma = s.address()..end;
            match s.name().unwrap_or("") {
                ".text" => sections.text = file_range(&s).map(|r| (svma, r)),
                ".eh_frame" => sections.eh_frame = file_range(&s).map(|r| (svma, r)),
                ".eh_frame_hdr" => sections.eh_frame_hdr = file_range(&s).map(|r| (svma, r)),
                ".debug_frame" => sections.debug_frame = file_range(&s),
                ".got" => sections.got = Some(svma),
                _ => {}
            }
        }
        let segments = elf
            .segments()
            .filter(
                |seg| matches!(seg.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0),
            )
            .map(|seg| {
                let (off, size) = seg.file_range();
                (seg.address(), off, size)
            })
            .collect();
        let build_id = elf.build_id().ok().flatten().map(<[u8]>::to_vec);
        let architecture = elf.architecture();
        Some(ElfUnwindInfo { data, segments, build_id, sections, architecture })
    }

    /// The file's architecture.
    pub fn architecture(&self) -> object::Architecture {
        self.architecture
    }

    /// `.eh_frame`: its address and bytes.
    pub fn eh_frame(&self) -> Option<(u64, &[u8])> {
        let (svma, range) = self.sections.eh_frame.as_ref()?;
        Some((svma.start, self.data.get(range.clone())?))
    }

    /// `.debug_frame`'s bytes.
    pub fn debug_frame(&self) -> Option<&[u8]> {
        self.data.get(self.sections.debug_frame.clone()?)
    }

    /// Address of `.text`.
    pub fn text_svma(&self) -> Option<u64> {
        self.sections.text.as_ref().map(|(svma, _)| svma.start)
    }

    /// Addresses `.text` covers.
    pub fn text_range(&self) -> Option<Range<u64>> {
        self.sections.text.as_ref().map(|(svma, _)| svma.clone())
    }

    /// Up to `len` bytes of code at ELF address `svma`, from the executable segment holding it.
    pub fn code(&self, svma: u64, len: usize) -> Option<&[u8]> {
        let &(addr, off, size) = self.segments.iter().find(|&&(addr, _, size)| svma >= addr && svma - addr < size)?;
        let start = off.checked_add(svma - addr)?;
        let end = off.saturating_add(size).min(start.saturating_add(len as u64));
        self.data.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    /// The start (ELF address) of the function holding the ELF address `svma`, from the CFI's own
    /// index (`.eh_frame_hdr`): how code of a file without symbols is still grouped by function.
    /// `None` where no unwind entry covers it.
    pub fn function_start(&self, svma: u64) -> Option<u64> {
        use gimli::{BaseAddresses, EhFrame, EhFrameHdr, LittleEndian, UnwindSection};
        let (hdr_svma, hdr_range) = self.sections.eh_frame_hdr.as_ref()?;
        let (eh_svma, eh_range) = self.sections.eh_frame.as_ref()?;
        let hdr_bytes = self.data.get(hdr_range.clone())?;
        let eh_bytes = self.data.get(eh_range.clone())?;
        let mut bases = BaseAddresses::default().set_eh_frame_hdr(hdr_svma.start).set_eh_frame(eh_svma.start);
        if let Some((text, _)) = &self.sections.text {
            bases = bases.set_text(text.start);
        }
        let hdr = EhFrameHdr::new(hdr_bytes, LittleEndian).parse(&bases, 8).ok()?;
        let mut eh_frame = EhFrame::new(eh_bytes, LittleEndian);
        eh_frame.set_address_size(8);
        // gimli's `fde_for_address`, with the offset subtraction checked: gimli's own underflows
        // (a panic in builds with overflow checks) on a damaged table pointing before .eh_frame.
        let fde_pointer = hdr.table()?.lookup(svma, &bases).ok()?.direct().ok()?;
        let offset = fde_pointer.checked_sub(hdr.eh_frame_ptr().direct().ok()?)?;
        let offset = gimli::EhFrameOffset(usize::try_from(offset).ok()?);
        let fde = eh_frame.fde_from_offset(&bases, offset, EhFrame::cie_from_offset).ok()?;
        fde.contains(svma).then(|| fde.initial_address())
    }

    /// Whether the file has any CFI at all.
    pub fn has_cfi(&self) -> bool {
        self.sections.eh_frame.is_some() || self.sections.debug_frame.is_some()
    }

    /// The load bias of the file when its bytes from `file_offset` on are mapped at `start` for
    /// `len` bytes: through the executable segment that mapping holds. (The mapping starts at a
    /// page boundary, which may lie in the segment before: its address is not the one to go by.)
    fn bias(&self, start: u64, file_offset: u64, len: u64) -> Option<u64> {
        let end = file_offset.saturating_add(len);
        self.segments
            .iter()
            .find(|&&(_, off, size)| off < end && off.saturating_add(size) > file_offset)
            .map(|&(addr, off, _)| start.wrapping_add(off).wrapping_sub(file_offset).wrapping_sub(addr))
    }

    fn bytes(&self, range: &Range<usize>) -> Option<Bytes> {
        (range.end <= self.data.len()).then(|| Bytes { data: self.data.clone(), range: range.clone() })
    }

    /// A framehop module for the file loaded at `base_avma` (its load bias), covering `avma`.
    fn module(&self, name: String, avma: Range<u64>, base_avma: u64) -> Module<Bytes> {
        let s = &self.sections;
        let info = ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma: s.text.as_ref().map(|(svma, _)| svma.clone()),
            text: s.text.as_ref().and_then(|(_, r)| self.bytes(r)),
            got_svma: s.got.clone(),
            eh_frame_svma: s.eh_frame.as_ref().map(|(svma, _)| svma.clone()),
            eh_frame: s.eh_frame.as_ref().and_then(|(_, r)| self.bytes(r)),
            eh_frame_hdr_svma: s.eh_frame_hdr.as_ref().map(|(svma, _)| svma.clone()),
            eh_frame_hdr: s.eh_frame_hdr.as_ref().and_then(|(_, r)| self.bytes(r)),
            debug_frame: s.debug_frame.as_ref().and_then(|r| self.bytes(r)),
            stubs_svma: None,
            stub_helper_svma: None,
            unwind_info: None,
            text_segment_svma: None,
            text_segment: None,
        };
        Module::new(name, avma, base_avma, info)
    }
}

/// One process image's unwinder.
struct ImageUnwinder {
    /// [`ProcessMaps::fingerprint`] of the image when it was built: another means new
    /// libraries (or another image in the same slot), so it is built again.
    fingerprint: u64,
    unwinder: ArchUnwinder<Bytes, MayAllocateDuringUnwind>,
}

/// Unwinds copied user stacks, caching files and per-image unwinders.
#[derive(Default)]
pub struct StackUnwinder {
    files: HashMap<PathBuf, Option<Arc<ElfUnwindInfo>>>,
    vdso: Option<Option<Arc<ElfUnwindInfo>>>,
    images: HashMap<(u32, usize), ImageUnwinder>,
    /// framehop's rule cache, one for every image: its entries carry a generation no other
    /// unwinder shares, and one per image (tens of KiB each) grew with every process a busy host
    /// started in a window.
    cache: Cache<MayAllocateDuringUnwind>,
    /// What happened to the stacks unwound so far.
    pub stats: UnwindStats,
}

impl StackUnwinder {
    /// An unwinder with nothing cached.
    pub fn new() -> StackUnwinder {
        StackUnwinder::default()
    }

    /// The user stack of one event of process `tgid`, leaf first (the pc, then return addresses),
    /// from its registers and `stack` (bytes from `regs.sp` up); `flags` are the copy's
    /// `stack_copy` flags. The process's mappings must be in `maps`. Also says whether the walk
    /// ended before the root (counted in [`StackUnwinder::stats`] by reason).
    pub fn unwind(
        &mut self,
        maps: &MapsStore,
        tgid: u32,
        regs: &UserRegs,
        stack: &[u8],
        flags: u32,
    ) -> (Vec<u64>, bool) {
        self.stats.stacks += 1;
        self.stats.stack_bytes += stack.len() as u64;
        if flags & stack_copy::NO_REGS != 0 || regs.pc == 0 {
            self.stats.no_registers += 1;
            return (Vec::new(), false);
        }
        // Code in no file mapping (JIT code in anonymous memory) is walked in the process's current
        // image: framehop goes by frame pointers where no module covers the pc, as JITs keep them.
        let found = maps.image_for(tgid, regs.pc).or_else(|| maps.current_image(tgid));
        let Some((index, image)) = found else {
            // A process armtune knows nothing of: the pc alone still says where the sample was.
            return (vec![regs.pc], false);
        };
        let key = (tgid, index);
        let stale = self.images.get(&key).is_none_or(|u| u.fingerprint != image.fingerprint());
        if stale {
            let built = self.build(image);
            self.images.insert(key, built);
        }
        let image_unwinder = self.images.get(&key).expect("built above");
        let (frames, end) = walk(image_unwinder, &mut self.cache, regs, stack);
        match end {
            End::Complete => {}
            End::BeyondWindow if flags & stack_copy::UNREADABLE != 0 => self.stats.truncated_unreadable += 1,
            End::BeyondWindow => self.stats.truncated_window += 1,
            End::Unreadable => self.stats.truncated_unreadable += 1,
            End::Lost => self.stats.truncated_no_cfi += 1,
            End::DepthLimit => self.stats.truncated_depth += 1,
        }
        (frames, end != End::Complete)
    }

    /// Drops the unwinders of process `tgid`'s images (it exited).
    pub fn forget(&mut self, tgid: u32) {
        self.images.retain(|&(pid, _), _| pid != tgid);
    }

    /// A framehop unwinder with a module for each file (and the vDSO) mapped in `image`.
    fn build(&mut self, image: &ProcessMaps) -> ImageUnwinder {
        let mut unwinder = ArchUnwinder::new();
        let mut by_file: Vec<(&Mapping, Range<u64>)> = Vec::new();
        for m in image.mappings() {
            match by_file.iter_mut().find(|(first, _)| first.backing == m.backing) {
                Some((_, range)) => *range = range.start.min(m.start)..range.end.max(m.end),
                None => by_file.push((m, m.start..m.end)),
            }
        }
        for (mapping, avma) in by_file {
            let (info, name) = match &mapping.backing {
                Backing::File(path) => (self.file(path), path.to_string_lossy().into_owned()),
                Backing::Vdso => (self.vdso(), "[vdso]".to_string()),
                Backing::Other(_) => continue,
            };
            let Some(info) = info else { continue };
            // A file replaced since it was mapped has other code at the same offsets.
            if let (Some(recorded), Some(now)) = (&mapping.build_id, &info.build_id) {
                if recorded != now {
                    continue;
                }
            }
            let Some(bias) = info.bias(mapping.start, mapping.file_offset, mapping.end - mapping.start) else {
                continue;
            };
            unwinder.add_module(info.module(name, avma, bias));
        }
        ImageUnwinder { fingerprint: image.fingerprint(), unwinder }
    }

    /// The unwind information of the file at `path`, opened once and shared.
    pub fn file(&mut self, path: &Path) -> Option<Arc<ElfUnwindInfo>> {
        self.files.entry(path.to_path_buf()).or_insert_with(|| ElfUnwindInfo::open(path).map(Arc::new)).clone()
    }

    /// The vDSO is the same image in every process of this kernel: armtune's own copy serves.
    fn vdso(&mut self) -> Option<Arc<ElfUnwindInfo>> {
        self.vdso.get_or_insert_with(|| own_vdso().and_then(ElfUnwindInfo::from_bytes).map(Arc::new)).clone()
    }
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// At the root of the stack.
    Complete,
    /// The unwinder needed stack above the copied window.
    BeyondWindow,
    /// It needed stack below the stack pointer, or memory never copied.
    Unreadable,
    /// It lost its way (frame pointers that went backwards or nowhere).
    Lost,
    /// It reached the deepest stack kept.
    DepthLimit,
}

/// Walks one stack: the frames (leaf first, raw return addresses) and how the walk ended.
fn walk(
    image: &ImageUnwinder,
    cache: &mut Cache<MayAllocateDuringUnwind>,
    regs: &UserRegs,
    stack: &[u8],
) -> (Vec<u64>, End) {
    let sp = regs.sp;
    let top = sp.saturating_add(stack.len() as u64);
    let mut read_stack = |addr: u64| -> Result<u64, ()> {
        if addr < sp || addr.checked_add(8).is_none_or(|end| end > top) {
            return Err(());
        }
        let at = (addr - sp) as usize;
        Ok(u64::from_le_bytes(stack[at..at + 8].try_into().expect("eight bytes")))
    };
    let unwind_regs = start_regs(&image.unwinder, regs);
    let mut iter = image.unwinder.iter_frames(regs.pc, unwind_regs, cache, &mut read_stack);
    let mut frames = Vec::new();
    let end = loop {
        if frames.len() >= MAX_STACK_DEPTH {
            break End::DepthLimit;
        }
        match iter.next() {
            Ok(Some(frame)) => frames.push(raw_address(frame)),
            Ok(None) => break End::Complete,
            Err(framehop::Error::CouldNotReadStack(addr)) if addr >= top => break End::BeyondWindow,
            Err(framehop::Error::CouldNotReadStack(_)) => break End::Unreadable,
            Err(_) => break End::Lost,
        }
    };
    (frames, end)
}

/// The address as the kernel's stacks give it (return addresses as they are, not minus one):
/// the symbolizer adjusts return addresses itself.
fn raw_address(frame: FrameAddress) -> u64 {
    frame.address()
}

#[cfg(target_arch = "x86_64")]
fn start_regs(_unwinder: &ArchUnwinder<Bytes, MayAllocateDuringUnwind>, regs: &UserRegs) -> Regs {
    Regs::new(regs.pc, regs.sp, regs.fp)
}

/// aarch64: pointer authentication puts a signature in the unused top bits of return addresses;
/// everything above the highest code address known is signature.
#[cfg(target_arch = "aarch64")]
fn start_regs(unwinder: &ArchUnwinder<Bytes, MayAllocateDuringUnwind>, regs: &UserRegs) -> Regs {
    let mask = framehop::aarch64::PtrAuthMask::from_max_known_address(unwinder.max_known_code_address());
    Regs::new_with_ptr_auth_mask(mask, regs.lr, regs.sp, regs.fp)
}

/// This thread's registers and stack (from its stack pointer to the end of the stack's mapping, at
/// most 64 KiB), taken inside this function: what the kernel side copies for an event, for tests
/// and benchmarks of the unwinder. Its own frame is the leaf.
#[inline(never)]
pub fn sample_this_thread() -> (UserRegs, Vec<u8>) {
    let (pc, sp, fp, lr): (u64, u64, u64, u64);
    // SAFETY: reads registers into outputs; touches no memory.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("lea {pc}, [rip]", "mov {sp}, rsp", "mov {fp}, rbp", pc = out(reg) pc, sp = out(reg) sp, fp = out(reg) fp);
        lr = 0;
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("adr {pc}, .", "mov {sp}, sp", "mov {fp}, x29", "mov {lr}, x30", pc = out(reg) pc, sp = out(reg) sp, fp = out(reg) fp, lr = out(reg) lr);
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let end = maps
        .lines()
        .filter_map(|l| {
            let (s, e) = l.split_whitespace().next()?.split_once('-')?;
            Some((u64::from_str_radix(s, 16).ok()?, u64::from_str_radix(e, 16).ok()?))
        })
        .find(|&(s, e)| s <= sp && sp < e)
        .map_or(sp, |(_, e)| e);
    let len = (end - sp).min(64 * 1024) as usize;
    // SAFETY: the bytes from sp to the end of its mapping are this thread's mapped stack.
    let stack = unsafe { std::slice::from_raw_parts(sp as *const u8, len) }.to_vec();
    (UserRegs { pc, sp, fp, lr }, stack)
}

/// A copy of armtune's own vDSO image (it is mapped whole, readable, at `AT_SYSINFO_EHDR`).
fn own_vdso() -> Option<Vec<u8>> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let range = line.split_whitespace().next()?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?);
    // SAFETY: the kernel maps the vDSO readable for the life of the process, at this range.
    let bytes = unsafe { std::slice::from_raw_parts(start as *const u8, (end - start) as usize) };
    Some(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{capture::RawSample, symbolize::Symbolizer};

    #[inline(never)]
    fn unwind_level_3(depth: u32) -> (UserRegs, Vec<u8>) {
        let captured = sample_this_thread();
        std::hint::black_box(depth);
        captured
    }

    #[inline(never)]
    fn unwind_level_2(depth: u32) -> (UserRegs, Vec<u8>) {
        let r = unwind_level_3(std::hint::black_box(depth + 1));
        std::hint::black_box(&r);
        r
    }

    #[inline(never)]
    fn unwind_level_1(depth: u32) -> (UserRegs, Vec<u8>) {
        let r = unwind_level_2(std::hint::black_box(depth + 1));
        std::hint::black_box(&r);
        r
    }

    fn names(frames: Vec<u64>) -> Vec<String> {
        let mut maps = MapsStore::new();
        assert!(maps.capture(std::process::id()));
        let capture = crate::Capture {
            samples: vec![RawSample { tgid: std::process::id(), user: frames, count: 1, ..RawSample::default() }],
            maps,
            ..crate::Capture::default()
        };
        let profile = Symbolizer::new().profile(&capture);
        profile.stacks.keys().next().unwrap().iter().skip(1).map(|f| f.name.clone()).collect()
    }

    fn own_maps() -> MapsStore {
        let mut maps = MapsStore::new();
        assert!(maps.capture(std::process::id()));
        maps
    }

    #[test]
    fn walks_its_own_stack_through_cfi() {
        let (regs, stack) = unwind_level_1(0);
        let mut unwinder = StackUnwinder::new();
        let (frames, truncated) = unwinder.unwind(&own_maps(), std::process::id(), &regs, &stack, 0);
        assert!(!truncated, "{:?}", unwinder.stats);
        let names = names(frames);
        let position =
            |f: &str| names.iter().position(|n| n.ends_with(f)).unwrap_or_else(|| panic!("{f} in {names:?}"));
        // Root first: the test calls level 1, which calls 2, which calls 3.
        let test = position("walks_its_own_stack_through_cfi");
        assert!(test < position("unwind_level_1"));
        assert_eq!(position("unwind_level_1") + 1, position("unwind_level_2"), "{names:?}");
        assert_eq!(position("unwind_level_2") + 1, position("unwind_level_3"), "{names:?}");
        assert!(names.len() > test + 3, "the test harness's frames sit below the test: {names:?}");
        assert_eq!(unwinder.stats.stacks, 1);
    }

    #[test]
    fn a_window_too_small_is_counted_as_such() {
        let (regs, stack) = unwind_level_1(0);
        let mut unwinder = StackUnwinder::new();
        let maps = own_maps();
        let (frames, truncated) = unwinder.unwind(&maps, std::process::id(), &regs, &stack[..16], 0);
        assert!(!frames.is_empty() && truncated, "the pc at least");
        assert_eq!(unwinder.stats.truncated_window, 1, "{:?}", unwinder.stats);
        // The same cut, when the copy itself stopped at unreadable memory, is not the window's fault.
        unwinder.unwind(&maps, std::process::id(), &regs, &stack[..16], stack_copy::UNREADABLE);
        assert_eq!(unwinder.stats.truncated_unreadable, 1);
        assert!(unwinder.stats.describe().unwrap().starts_with("2 of 2 user stacks truncated"));
    }

    #[test]
    fn no_registers_means_no_user_stack() {
        let mut unwinder = StackUnwinder::new();
        let (frames, _) = unwinder.unwind(&own_maps(), 1, &UserRegs::default(), &[], stack_copy::NO_REGS);
        assert!(frames.is_empty());
        assert_eq!(unwinder.stats.no_registers, 1);
    }

    #[test]
    fn reads_the_unwind_sections_of_a_distribution_library() {
        let libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
            .expect("libc");
        let info = ElfUnwindInfo::open(libc).unwrap();
        assert!(info.has_cfi() && info.sections.eh_frame_hdr.is_some());
        assert!(info.build_id.is_some());
        assert!(ElfUnwindInfo::open(Path::new("/etc/hostname")).is_none());
        // The kernel's vDSO has CFI; qemu-user (the aarch64 build's tests) maps none at all.
        if let Some(vdso) = own_vdso() {
            assert!(ElfUnwindInfo::from_bytes(vdso).is_some_and(|v| v.has_cfi()));
        }
    }
}
