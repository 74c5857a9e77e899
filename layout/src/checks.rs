//! The layout checks. Each has a stable rule id, a severity, and a fix hint; all work on the
//! classified instruction words of each function.

use serde::Serialize;

use crate::{
    elf::{Binary, Function},
    insn::{classify, BranchKind, Class},
    targets::Target,
};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; rarely worth changing.
    Info,
    /// Costs cycles on this target.
    Warning,
    /// Wrong on this target (the code would fault).
    Error,
}

/// One problem, at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id.
    pub rule: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// Function it is in.
    pub function: String,
    /// Address it is at.
    pub address: u64,
    /// What is wrong, with the numbers.
    pub message: String,
    /// What to do about it.
    pub hint: &'static str,
}

/// Every rule: id, one-paragraph explanation.
pub const RULES: &[(&str, &str)] = &[
    (
        "function-alignment",
        "The function starts below the target's preferred alignment, so its first fetch block is partly \
         wasted and its first instructions may share a block with the previous function's tail.",
    ),
    (
        "loop-alignment",
        "A loop head (the target of a backward branch) is not aligned to the target's preferred loop \
         alignment: every iteration starts mid-way through a fetch block.",
    ),
    (
        "loop-crosses-line",
        "A loop small enough to fit in one cache line straddles two, so every iteration needs two \
         instruction-cache lines (and two fetches) where an aligned placement would need one.",
    ),
    (
        "branch-density",
        "More branches share one aligned fetch block than the target's predictor handles per cycle \
         (Cortex-A72: two taken branches per 16-byte block); when they are taken the front end stalls.",
    ),
    ("branch-to-next", "An unconditional branch to the very next instruction: a taken branch that does nothing."),
    (
        "llsc-on-lse-core",
        "An LL/SC atomic (load-exclusive / store-exclusive retry loop) on a core with LSE, where one CAS \
         or LDADD does the same work without the retry loop and scales far better under contention.",
    ),
    (
        "lse-on-non-lse-core",
        "An LSE atomic instruction on a core without LSE, not behind a runtime test for LSE (the \
         outline-atomics helpers' flag or an HWCAP test, recognised by the code, not its name): it \
         raises an illegal-instruction fault there.",
    ),
    (
        "branch-chain",
        "An unconditional branch whose target is another unconditional branch: two taken branches where \
         one would do.",
    ),
    (
        "plt-call-in-loop",
        "A call through the PLT inside a loop: every iteration pays the PLT stub's indirect jump (and a \
         GOT load) on top of the call.",
    ),
    (
        "veneer-call-in-loop",
        "A call through a linker veneer inside a loop: the callee was out of BL range, so every iteration \
         takes an extra branch (and an ADRP/ADD pair) through the veneer.",
    ),
    (
        "global-false-sharing",
        "A global the code updates atomically shares a cache line with another global the code writes: \
         cores writing the two bounce the line between them although they never touch the same variable.",
    ),
    (
        "struct-hole",
        "Padding inside a struct (pahole's holes): bytes every instance carries and every cache line \
         holding one wastes; reordering members by size usually closes them.",
    ),
    (
        "member-straddles-line",
        "A struct member that fits in a cache line lies across two when the struct is line-aligned: \
         reading or writing it touches both lines.",
    ),
    (
        "atomics-share-line",
        "Two atomic members in one cache line: threads updating them on different cores make the line \
         bounce between the cores (false sharing) even though they never touch the same variable.",
    ),
    (
        "outline-atomics-dead-path",
        "An outline-atomics helper: its LSE path is chosen at run time and never runs on this core, so \
         every atomic pays the helper call for nothing; build for the core (-mcpu) instead.",
    ),
];

/// Runs every check on every function of `binary` for `target`.
pub fn analyze(binary: &Binary, target: &Target) -> Vec<Finding> {
    let mut findings = Vec::new();
    let hot = binary.hot_ranges();
    for function in &binary.functions {
        let raw = binary.instructions(function);
        let words: Vec<u32> = raw.iter().map(|&(_, w)| w).collect();
        let insns: Vec<(u64, Class)> = raw.into_iter().map(|(a, w)| (a, classify(w))).collect();
        let marked_hot = hot.iter().any(|&(s, e)| function.address >= s && function.address < e);
        let code = FunctionCode { function, insns: &insns, words: &words, hot: marked_hot };
        check_function(&code, target, &mut findings);
        check_calls_in_loops(binary, function, &insns, &mut findings);
    }
    for layout in &binary.structs {
        check_struct(layout, target, &mut findings);
    }
    check_global_sharing(binary, target, &mut findings);
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.address.cmp(&b.address)).then(a.rule.cmp(b.rule)));
    findings
}

/// Loops of a function as `[head, end)` ranges (backward branches to an address inside it).
fn loops(function: &Function, insns: &[(u64, Class)]) -> Vec<(u64, u64)> {
    let end = function.address + function.size;
    insns
        .iter()
        .filter_map(|&(at, class)| {
            let offset = class.target()?;
            let dest = at.wrapping_add_signed(offset);
            (offset <= 0 && dest >= function.address && dest < end).then_some((dest, at + 4))
        })
        .collect()
}

/// Branch chains, and calls through the PLT or a linker veneer from inside a loop.
fn check_calls_in_loops(binary: &Binary, function: &Function, insns: &[(u64, Class)], out: &mut Vec<Finding>) {
    let at_address: std::collections::HashMap<u64, Class> = insns.iter().copied().collect();
    let loops = loops(function, insns);
    // A veneer by its name, or in a stripped binary by its code.
    let veneer = |addr: u64| {
        binary
            .functions
            .iter()
            .find(|f| addr >= f.address && addr < f.address + f.size)
            .filter(|f| f.name.ends_with("_veneer"))
            .map(|f| f.name.clone())
            .or_else(|| is_veneer_code(binary, addr).then(|| format!("at {addr:#x}")))
    };
    for &(at, class) in insns {
        let Class::Branch { kind, target: Some(offset) } = class else { continue };
        let dest = at.wrapping_add_signed(offset);
        if kind == BranchKind::Unconditional
            && offset != 4
            && matches!(at_address.get(&dest), Some(Class::Branch { kind: BranchKind::Unconditional, .. }))
        {
            out.push(Finding {
                rule: "branch-chain",
                severity: Severity::Info,
                function: function.name.clone(),
                address: at,
                message: format!("b {dest:#x} lands on another unconditional branch"),
                hint: "branch straight to the final target",
            });
        }
        if kind != BranchKind::Call || !loops.iter().any(|&(h, e)| at >= h && at < e) {
            continue;
        }
        if binary.plt.iter().any(|&(s, e)| dest >= s && dest < e) {
            out.push(Finding {
                rule: "plt-call-in-loop",
                severity: Severity::Warning,
                function: function.name.clone(),
                address: at,
                message: format!("bl {dest:#x} inside a loop goes through the PLT"),
                hint: "call it directly: -fno-plt, hidden visibility, or static linking for hot loops",
            });
        } else if let Some(v) = veneer(dest) {
            out.push(Finding {
                rule: "veneer-call-in-loop",
                severity: Severity::Warning,
                function: function.name.clone(),
                address: at,
                message: format!("bl {dest:#x} inside a loop goes through the veneer {v}"),
                hint: "place caller and callee within 128 MB (section ordering, smaller text) or call indirectly once",
            });
        }
    }
}

/// The linker's long-branch veneers: `adrp x16, T; add x16, x16, :lo12:T; br x16` (or x17), and
/// the absolute form `ldr x16, .+8; br x16; .quad T`.
fn is_veneer_code(binary: &Binary, addr: u64) -> bool {
    let word = |i: u64| binary.word_at(addr + 4 * i);
    let (Some(w0), Some(w1)) = (word(0), word(1)) else { return false };
    let reg = w0 & 31;
    if !(reg == 16 || reg == 17) {
        return false;
    }
    let br = |w: u32| w & 0xFFFF_FC1F == 0xD61F_0000 && (w >> 5) & 31 == reg;
    let adrp = w0 & 0x9F00_0000 == 0x9000_0000;
    let add_same = w1 & 0xFF80_0000 == 0x9100_0000 && w1 & 31 == reg && (w1 >> 5) & 31 == reg;
    let ldr_literal_8 = w0 & 0xFF00_0000 == 0x5800_0000 && (w0 >> 5) & 0x7_FFFF == 2;
    (adrp && add_same && word(2).is_some_and(br)) || (ldr_literal_8 && br(w1))
}

/// Which globals the code writes, and which of those atomically, by following `ADRP` + `ADD`
/// address computations into stores and atomics (direct addressing: non-PIC code and local or
/// PIE globals; addresses loaded from the GOT are not followed).
/// A write to a global: the address written, and the function writing it.
type Write = (u64, String);

fn global_writes(binary: &Binary) -> (Vec<Write>, Vec<Write>) {
    let (mut atomic, mut plain) = (Vec::new(), Vec::new());
    for function in &binary.functions {
        let mut regs: [Option<u64>; 32] = [None; 32];
        for (at, w) in binary.instructions(function) {
            let rd = (w & 31) as usize;
            let rn = ((w >> 5) & 31) as usize;
            let class = classify(w);
            match class {
                Class::Adrp => {
                    let imm = (((w >> 29) & 3) | (((w >> 5) & 0x7_FFFF) << 2)) as i64;
                    let imm = (imm << 43) >> 43; // 21-bit signed page count
                    regs[rd] = Some((at & !0xFFF).wrapping_add_signed(imm << 12));
                }
                Class::LoadExclusive | Class::StoreExclusive | Class::LseAtomic => {
                    if let Some(addr) = regs[rn] {
                        atomic.push((addr, function.name.clone()));
                    }
                    if class == Class::StoreExclusive {
                        regs[((w >> 16) & 31) as usize] = None; // the status register
                    } else if class != Class::LseAtomic {
                        regs[rd] = None;
                    }
                }
                Class::Branch { .. } => regs = [None; 32], // calls and joins: forget everything
                _ if w & 0xFF80_0000 == 0x9100_0000 => {
                    // ADD (immediate, 64-bit), shift 0 or 12.
                    let imm = ((w >> 10) & 0xFFF) as u64;
                    let imm = if w & (1 << 22) != 0 { imm << 12 } else { imm };
                    regs[rd] = regs[rn].map(|base| base.wrapping_add(imm));
                }
                _ if w & 0x3FC0_0000 == 0x3900_0000 => {
                    // STR/STRB/STRH (unsigned offset): a plain write at base + imm12 << size.
                    if let Some(base) = regs[rn] {
                        let size = w >> 30;
                        plain.push((base.wrapping_add((((w >> 10) & 0xFFF) as u64) << size), function.name.clone()));
                    }
                }
                _ => regs[rd] = None,
            }
        }
    }
    (atomic, plain)
}

fn check_global_sharing(binary: &Binary, target: &Target, out: &mut Vec<Finding>) {
    if binary.globals.is_empty() {
        return;
    }
    let (atomic, plain) = global_writes(binary);
    let global_at = |addr: u64| binary.globals.iter().find(|g| addr >= g.address && addr < g.address + g.size);
    let line = target.cache_line;
    let lines = |g: &Function| (g.address / line, (g.address + g.size.max(1) - 1) / line);
    let mut reported = std::collections::HashSet::new();
    for (addr, writer) in &atomic {
        let Some(hot) = global_at(*addr) else { continue };
        let (first, last) = lines(hot);
        for (other_addr, other_writer) in atomic.iter().chain(&plain) {
            let Some(other) = global_at(*other_addr) else { continue };
            let (o_first, o_last) = lines(other);
            if other.address == hot.address || o_last < first || o_first > last {
                continue;
            }
            let key = (hot.address.min(other.address), hot.address.max(other.address));
            if !reported.insert(key) {
                continue;
            }
            out.push(Finding {
                rule: "global-false-sharing",
                severity: Severity::Warning,
                function: writer.clone(),
                address: hot.address,
                message: format!(
                    "{} ({:#x}, updated atomically in {writer}) shares a {line}-byte line with {} ({:#x}, written in {other_writer})",
                    hot.name, hot.address, other.name, other.address
                ),
                hint: "give each hot global its own line: alignas(64) (128 on cores with 128-byte lines) or a padded struct",
            });
        }
    }
}

/// Struct checks; findings name `struct NAME` and carry the member offset as their address.
fn check_struct(layout: &crate::dwarf::StructLayout, target: &Target, out: &mut Vec<Finding>) {
    let who = format!("struct {}", layout.name);
    let line = target.cache_line;
    for (offset, size) in layout.holes() {
        out.push(Finding {
            rule: "struct-hole",
            severity: Severity::Info,
            function: who.clone(),
            address: offset,
            message: format!("{size}-byte hole at offset {offset} of {} ({} bytes)", layout.name, layout.size),
            hint: "order members from largest to smallest alignment, or move small members into the hole",
        });
    }
    for m in &layout.members {
        if m.size > 0 && m.size <= line && m.offset / line != (m.offset + m.size - 1) / line {
            out.push(Finding {
                rule: "member-straddles-line",
                severity: Severity::Warning,
                function: who.clone(),
                address: m.offset,
                message: format!(
                    "{}.{} ({} bytes at offset {}) crosses the {}-byte line boundary at {}",
                    layout.name,
                    m.name,
                    m.size,
                    m.offset,
                    line,
                    (m.offset / line).saturating_add(1).saturating_mul(line)
                ),
                hint: "align the member (alignas) or reorder so it starts a line",
            });
        }
    }
    let atomics: Vec<_> = layout.members.iter().filter(|m| m.atomic).collect();
    for pair in atomics.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.offset / line == b.offset / line {
            out.push(Finding {
                rule: "atomics-share-line",
                severity: Severity::Warning,
                function: who.clone(),
                address: b.offset,
                message: format!(
                    "atomic members {}.{} (offset {}) and {} (offset {}) share a {}-byte line",
                    layout.name, a.name, a.offset, b.name, b.offset, line
                ),
                hint: "pad each hot atomic to its own line: alignas(64) (128 on cores with 128-byte lines)",
            });
        }
    }
}

/// One function's code as the checks see it.
struct FunctionCode<'a> {
    function: &'a Function,
    /// Classified instructions.
    insns: &'a [(u64, Class)],
    /// The raw words, parallel to `insns` (empty where only classes are known).
    words: &'a [u32],
    /// In a section the binary marks hot (`.text.hot*`).
    hot: bool,
}

fn check_function(code: &FunctionCode, target: &Target, out: &mut Vec<Finding>) {
    let mut checker =
        Checker { function: code.function, insns: code.insns, words: code.words, hot: code.hot, target, out };
    checker.entry_alignment();
    checker.branches_and_loops();
    checker.branch_density();
    checker.atomics();
}

/// The checks of one function, adding to `out`.
struct Checker<'a> {
    function: &'a Function,
    insns: &'a [(u64, Class)],
    words: &'a [u32],
    hot: bool,
    target: &'a Target,
    out: &'a mut Vec<Finding>,
}

impl Checker<'_> {
    fn push(&mut self, rule: &'static str, severity: Severity, address: u64, message: String, hint: &'static str) {
        let function = self.function.name.clone();
        self.out.push(Finding { rule, severity, function, address, message, hint });
    }

    fn entry_alignment(&mut self) {
        let (function, target) = (self.function, self.target);
        // Tiny functions (thunks, stubs) gain nothing from alignment.
        if function.size > target.fetch_block && function.address % target.function_align != 0 {
            self.push(
                "function-alignment",
                Severity::Info,
                function.address,
                format!(
                    "{} bytes long, starts at {:#x}: {} bytes past a {}-byte boundary",
                    function.size,
                    function.address,
                    function.address % target.function_align,
                    target.function_align
                ),
                "align hot functions: -falign-functions=32 (GCC/clang), or build with -mcpu for the core",
            );
        }
    }

    fn branches_and_loops(&mut self) {
        let end = self.function.address + self.function.size;
        let mut heads_seen = std::collections::HashSet::new();
        for &(at, class) in self.insns {
            let Some(offset) = class.target() else { continue };
            let dest = at.wrapping_add_signed(offset);
            if matches!(class, Class::Branch { kind: BranchKind::Unconditional, .. }) && offset == 4 {
                self.push(
                    "branch-to-next",
                    Severity::Info,
                    at,
                    format!("b {dest:#x} jumps to the next instruction"),
                    "usually left by a code generator or a hand-written stub; remove it",
                );
            }
            // A backward branch inside the function closes a loop whose head is its target.
            if offset <= 0 && dest >= self.function.address && dest < end && heads_seen.insert(dest) {
                self.a_loop(dest, at + 4);
            }
        }
    }

    /// The loop `head..end` (the instruction after its closing branch).
    fn a_loop(&mut self, head: u64, end: u64) {
        let target = self.target;
        let size = end - head;
        // Most loops of a binary built for generic ARMv8 are unaligned: a warning only where the
        // binary marks the code hot (a profile promotes the rest in `armtune check`).
        let severity = if self.hot { Severity::Warning } else { Severity::Info };
        if head % target.loop_align != 0 {
            self.push(
                "loop-alignment",
                severity,
                head,
                format!(
                    "loop of {size} bytes ({head:#x}..{end:#x}) starts {} bytes past a {}-byte boundary",
                    head % target.loop_align,
                    target.loop_align
                ),
                "align loops: -falign-loops=32 (GCC/clang), or .p2align before the loop in assembly",
            );
        }
        let line = target.cache_line;
        if size <= line && head / line != (end - 1) / line {
            self.push(
                "loop-crosses-line",
                severity,
                head,
                format!(
                    "loop of {size} bytes ({head:#x}..{end:#x}) spans cache lines {:#x} and {:#x}; aligned, it fits in one",
                    head / line * line,
                    (end - 1) / line * line
                ),
                "align the loop head to the cache line (or -falign-loops=64 for the hottest loops)",
            );
        }
    }

    /// Branches per aligned fetch block.
    fn branch_density(&mut self) {
        let target = self.target;
        let mut per_block: Vec<(u64, u32)> = Vec::new();
        for &(at, class) in self.insns {
            let block = at / target.fetch_block * target.fetch_block;
            if per_block.last().is_none_or(|&(b, _)| b != block) {
                per_block.push((block, 0));
            }
            if class.is_branch() {
                per_block.last_mut().unwrap().1 += 1;
            }
        }
        for (block, count) in per_block.into_iter().filter(|&(_, n)| n > target.max_taken_branches) {
            self.push(
                "branch-density",
                Severity::Warning,
                block,
                format!(
                    "{count} branches in the {}-byte fetch block at {block:#x}; {} predicts at most {} taken per block",
                    target.fetch_block, target.core, target.max_taken_branches
                ),
                "spread the branches out (reorder blocks, -freorder-blocks-and-partition) or make some \
                 branch-free (csel)",
            );
        }
    }

    fn atomics(&mut self) {
        let target = self.target;
        let dispatched = self.dispatched_lse();
        // Its LL/SC loop is a helper's fallback, not a finding.
        let helper = self.function.name.starts_with("__aarch64_") || dispatched.iter().any(|&d| d);
        let mut reported_helper = false;
        for (i, &(at, class)) in self.insns.iter().enumerate() {
            match class {
                Class::LoadExclusive if target.lse && !helper && self.completes_llsc(i) => self.llsc_on_lse_core(at),
                // Once per helper: its LSE path is dead code here, not a fault.
                Class::LseAtomic if !target.lse => self.lse_without_lse(at, dispatched[i], &mut reported_helper),
                _ => {}
            }
        }
    }

    /// Which instructions are LSE atomics chosen at run time: in an outline-atomics helper by name,
    /// or (stripped) by what the code does, an LSE instruction behind a runtime flag with an LL/SC
    /// way beside it.
    fn dispatched_lse(&self) -> Vec<bool> {
        let named = self.function.name.starts_with("__aarch64_");
        self.insns
            .iter()
            .enumerate()
            .map(|(i, &(_, c))| {
                c == Class::LseAtomic && (named || crate::guard::lse_is_guarded(self.insns, self.words, i))
            })
            .collect()
    }

    /// Whether the store-exclusive that completes the LL/SC sequence at `i` follows within a few words.
    fn completes_llsc(&self, i: usize) -> bool {
        self.insns[i + 1..].iter().take(16).any(|(_, c)| *c == Class::StoreExclusive)
    }

    /// An LSE instruction on a core without LSE: dead code in a helper (said once per helper), or
    /// a fault.
    fn lse_without_lse(&mut self, at: u64, dispatched: bool, reported_helper: &mut bool) {
        match (dispatched, *reported_helper) {
            (true, false) => {
                *reported_helper = true;
                self.dead_lse_path(at);
            }
            (true, true) => {}
            (false, _) => self.lse_on_non_lse_core(at),
        }
    }

    fn llsc_on_lse_core(&mut self, at: u64) {
        self.push(
            "llsc-on-lse-core",
            Severity::Warning,
            at,
            format!("load-exclusive / store-exclusive loop at {at:#x}; {} has LSE", self.target.core),
            "build with -mcpu=cortex-a76 (or -march=armv8.2-a) for LSE atomics, or at least -moutline-atomics",
        );
    }

    fn dead_lse_path(&mut self, at: u64) {
        self.push(
            "outline-atomics-dead-path",
            Severity::Info,
            at,
            format!("{} has no LSE: this helper's LSE path at {at:#x} never runs", self.target.core),
            "build with -mcpu=cortex-a72 (no outline atomics needed on an ARMv8.0 core)",
        );
    }

    fn lse_on_non_lse_core(&mut self, at: u64) {
        self.push(
            "lse-on-non-lse-core",
            Severity::Error,
            at,
            format!("LSE atomic at {at:#x}: {} has no LSE and faults on it", self.target.core),
            "build for the board: -mcpu=cortex-a72, or -moutline-atomics to choose at run time",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(name: &str, insns: &[Class], target: &str) -> Vec<&'static str> {
        let function = Function { name: name.into(), address: 0x1000, size: 4 * insns.len() as u64 };
        let insns: Vec<(u64, Class)> = insns.iter().enumerate().map(|(i, &c)| (0x1000 + 4 * i as u64, c)).collect();
        let mut out = Vec::new();
        let code = FunctionCode { function: &function, insns: &insns, words: &[], hot: false };
        check_function(&code, &Target::by_name(target).unwrap(), &mut out);
        out.into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn atomics_by_core_and_by_outline_helper() {
        use Class::*;
        // An ARMv8.0 core faults on LSE atomics, except in the outline helpers that test for LSE
        // first: there the LSE path is dead code, said once per helper.
        assert_eq!(rules("count", &[Other, LseAtomic, Other], "rpi4"), ["lse-on-non-lse-core"]);
        assert_eq!(
            rules("__aarch64_ldadd4_relax", &[LseAtomic, Other, LseAtomic], "rpi4"),
            ["outline-atomics-dead-path"]
        );
        assert!(rules("count", &[LseAtomic], "rpi5").is_empty(), "the Pi 5 has LSE");
        // LL/SC on a core with LSE: only a complete load/store-exclusive pair counts.
        assert_eq!(rules("count", &[LoadExclusive, Other, StoreExclusive], "rpi5"), ["llsc-on-lse-core"]);
        assert!(rules("count", &[LoadExclusive, Other], "rpi5").is_empty());
        assert!(rules("count", &[LoadExclusive, StoreExclusive], "rpi4").is_empty(), "no LSE to use on a Pi 4");
    }

    #[test]
    fn loops_and_branches() {
        let back = |bytes: i64| Class::Branch { kind: BranchKind::Conditional, target: Some(-bytes) };
        let next = Class::Branch { kind: BranchKind::Unconditional, target: Some(4) };
        // The function starts at 0x1000 (aligned); a loop closing back to 0x1004 is not.
        let found = rules("f", &[Class::Other, Class::Other, Class::Other, back(8)], "rpi4");
        assert_eq!(found, ["loop-alignment"]);
        assert_eq!(rules("f", &[next, Class::Other], "rpi4"), ["branch-to-next"]);
    }
}
