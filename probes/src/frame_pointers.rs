//! Whether a file's code keeps frame pointers, for `--unwind auto`: a process whose every mapped
//! file does is walked by the kernel (nothing copied, nothing unwound here); any other process
//! has its stacks copied and unwound with CFI.
//!
//! The judgement reads the file's own CFI, which stripped distribution files keep: each function's
//! entry (FDE) says whether it makes the frame pointer the base of its frame. Every function
//! counts, leaves too: a frame-pointer walk from a function that sets up no frame loses its caller
//! (on aarch64 the caller's return address is only in x30; on x86_64 it sits at the stack pointer),
//! which is why GCC's default for arm64 (frame records in all but leaf functions) does not pass.
//! On aarch64 GCC describes the frame from the stack pointer even when it sets up x29, so the
//! prologue itself is read for `add x29, sp, #n`.

use gimli::{
    BaseAddresses, CfaRule, CieOrFde, DebugFrame, EhFrame, LittleEndian, Register, RegisterRule, UnwindContext,
    UnwindSection,
};

use crate::{
    procmaps::{Backing, ProcessMaps},
    unwind::{ElfUnwindInfo, StackUnwinder},
};

/// Verdicts on files, each judged once per profile.
#[derive(Default)]
pub struct Verdicts {
    by_file: std::collections::HashMap<std::path::PathBuf, bool>,
}

impl Verdicts {
    /// No file judged yet.
    pub fn new() -> Verdicts {
        Verdicts::default()
    }

    /// Whether every file mapped in `image` keeps frame pointers; `None` while the image maps no
    /// file yet (nothing to judge). The vDSO and code in no file (JIT) are left out; a file that
    /// cannot be read counts as not keeping them. Files are opened through `unwinder`, which keeps
    /// them for unwinding.
    pub fn process_keeps(&mut self, image: &ProcessMaps, unwinder: &mut StackUnwinder) -> Option<bool> {
        let files: Vec<&std::path::PathBuf> = image
            .mappings()
            .iter()
            .filter_map(|m| match &m.backing {
                Backing::File(path) => Some(path),
                Backing::Vdso | Backing::Other(_) => None,
            })
            .collect();
        if files.is_empty() {
            return None;
        }
        // The first file without frame pointers settles it: the others need not be read.
        Some(files.into_iter().all(|path| {
            *self
                .by_file
                .entry(path.clone())
                .or_insert_with(|| unwinder.file(path).is_some_and(|info| keeps_frame_pointers(&info)))
        }))
    }
}

/// A file's functions, and how many of them point the frame pointer at their frame.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Functions in `.text` with a CFI entry, roots of the stack (`_start`) left out.
    pub candidates: u32,
    /// Of those, the ones that set up a frame pointer.
    pub framed: u32,
}

impl Coverage {
    /// Whether frame pointers walk the file's code as CFI would: nine in ten of its functions set
    /// up a frame pointer (hand-written assembly in a library built with them may not), or all
    /// but three (the start-up helpers GCC links into every aarch64 program, built without them,
    /// are that many). A leaf
    /// that sets up none counts against: a frame-pointer walk from it loses its caller. A file
    /// without CFI has nothing a CFI walk could do better.
    pub fn keeps_frame_pointers(&self) -> bool {
        u64::from(self.framed) * 10 >= u64::from(self.candidates) * 9 || self.candidates - self.framed <= 3
    }
}

/// What marks a frame on one architecture.
struct Arch {
    /// DWARF number of the frame pointer register.
    frame_pointer: u16,
    /// DWARF number of the return-address column.
    return_address: u16,
    /// Whether the prologue is read for the frame-pointer set-up (aarch64).
    read_prologue: bool,
}

const X86_64: Arch = Arch { frame_pointer: 6, return_address: 16, read_prologue: false };
const AARCH64: Arch = Arch { frame_pointer: 29, return_address: 30, read_prologue: true };

/// Instructions of a function's start searched for the frame-pointer set-up (GCC puts it right
/// after saving the frame record; stack protector and BTI/PAC instructions come before).
const PROLOGUE_WORDS: usize = 16;

/// The frame-pointer coverage of `info`'s code, from `.eh_frame` (or `.debug_frame` where there is
/// none). An architecture other than x86_64 and aarch64 counts as no CFI.
pub fn coverage(info: &ElfUnwindInfo) -> Coverage {
    measure(info, false)
}

/// [`Coverage::keeps_frame_pointers`] of `info`, stopping as soon as too many functions lack frame
/// pointers for the rest to matter (a tenth of Debian's libc is read, not all of it): the
/// judgement runs while stacks wait to be unwound.
pub fn keeps_frame_pointers(info: &ElfUnwindInfo) -> bool {
    measure(info, true).keeps_frame_pointers()
}

fn measure(info: &ElfUnwindInfo, stop_early: bool) -> Coverage {
    let arch = match info.architecture() {
        object::Architecture::X86_64 => X86_64,
        object::Architecture::Aarch64 => AARCH64,
        _ => return Coverage::default(),
    };
    if let Some((svma, bytes)) = info.eh_frame() {
        let mut section = EhFrame::new(bytes, LittleEndian);
        section.set_address_size(8);
        let bases = BaseAddresses::default().set_eh_frame(svma).set_text(info.text_svma().unwrap_or(0));
        return count(&section, &bases, info, &arch, stop_early);
    }
    if let Some(bytes) = info.debug_frame() {
        let mut section = DebugFrame::new(bytes, LittleEndian);
        section.set_address_size(8);
        return count(&section, &BaseAddresses::default(), info, &arch, stop_early);
    }
    Coverage::default()
}

/// Counts the functions of `section` and those that keep frame pointers; with `stop_early`, only
/// until more lack them than a "keeps" verdict allows. A malformed entry ends the count: what came
/// before still stands.
fn count<'a, S>(section: &S, bases: &BaseAddresses, info: &ElfUnwindInfo, arch: &Arch, stop_early: bool) -> Coverage
where
    S: UnwindSection<gimli::EndianSlice<'a, LittleEndian>>,
{
    // Entries are cheap to list; their rows are what costs. More functions without frame pointers
    // than a tenth of all entries, plus three, and no count of the rest gives "keeps".
    let limit = if stop_early {
        let mut entries = section.entries(bases);
        let mut total = 0u32;
        while let Ok(Some(entry)) = entries.next() {
            total += u32::from(matches!(entry, CieOrFde::Fde(_)));
        }
        total / 10 + 3
    } else {
        u32::MAX
    };
    let mut coverage = Coverage::default();
    // Linker stubs (.plt, .plt.sec) and start-up glue (.init, .fini) lie outside .text.
    let text = info.text_range().unwrap_or(0..u64::MAX);
    let mut ctx = Box::new(UnwindContext::new());
    let mut entries = section.entries(bases);
    while let Ok(Some(entry)) = entries.next() {
        let CieOrFde::Fde(partial) = entry else { continue };
        let Ok(fde) = partial.parse(S::cie_from_offset) else { continue };
        let Ok(mut rows) = fde.rows(section, bases, &mut ctx) else { continue };
        let mut frame = Frame::default();
        while let Ok(Some(row)) = rows.next_row() {
            frame.note(row, arch);
        }
        if frame.cfa_expression || frame.outermost || !text.contains(&fde.initial_address()) {
            continue;
        }
        coverage.candidates += 1;
        let sets_up = frame.cfa_on_frame_pointer
            || (arch.read_prologue && info.code(fde.initial_address(), PROLOGUE_WORDS * 4).is_some_and(sets_up_x29));
        coverage.framed += u32::from(sets_up);
        if coverage.candidates - coverage.framed > limit {
            break;
        }
    }
    coverage
}

/// What the rows of one function's CFI say.
#[derive(Default)]
struct Frame {
    cfa_on_frame_pointer: bool,
    /// The frame address is computed (x86_64 PLT entries): linker stubs, not functions.
    cfa_expression: bool,
    /// The return address is undefined: the root of every stack (`_start`, a thread's start), which
    /// has no caller to lose.
    outermost: bool,
}

impl Frame {
    fn note<S: gimli::UnwindContextStorage<usize>>(&mut self, row: &gimli::UnwindTableRow<usize, S>, arch: &Arch) {
        if matches!(row.register(Register(arch.return_address)), Some(RegisterRule::Undefined)) {
            self.outermost = true;
        }
        match row.cfa() {
            CfaRule::RegisterAndOffset { register, .. } if *register == Register(arch.frame_pointer) => {
                self.cfa_on_frame_pointer = true;
            }
            CfaRule::RegisterAndOffset { .. } => {}
            CfaRule::Expression(_) => self.cfa_expression = true,
        }
    }
}

/// Whether aarch64 `code` holds `add x29, sp, #imm` (`mov x29, sp` is its `#0` form).
fn sets_up_x29(code: &[u8]) -> bool {
    code.chunks_exact(4).any(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) & 0xff80_03ff == 0x9100_03fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_the_aarch64_frame_pointer_set_up() {
        // mov x29, sp; add x29, sp, #16; add x29, sp, #1, lsl #12
        for word in [0x9100_03fdu32, 0x9100_43fd, 0x9140_07fd] {
            assert!(sets_up_x29(&word.to_le_bytes()), "{word:#x}");
        }
        // mov x29, x0; add x28, sp, #16; sub x29, sp, #16; add w29, wsp, #0
        for word in [0xaa00_03fdu32, 0x9100_43fc, 0xd100_43fd, 0x1100_03fd] {
            assert!(!sets_up_x29(&word.to_le_bytes()), "{word:#x}");
        }
    }

    #[test]
    fn nine_in_ten_functions_or_all_but_three_keep_frame_pointers() {
        assert!(Coverage { candidates: 100, framed: 90 }.keeps_frame_pointers());
        assert!(!Coverage { candidates: 100, framed: 89 }.keeps_frame_pointers());
        assert!(Coverage { candidates: 7, framed: 4 }.keeps_frame_pointers());
        assert!(!Coverage { candidates: 7, framed: 3 }.keeps_frame_pointers());
        assert!(Coverage::default().keeps_frame_pointers());
    }
}
