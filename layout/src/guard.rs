//! LSE atomics that run only where the core has LSE, recognised by what the code does rather than
//! by what its symbol is called: a stripped binary names the outline-atomics helpers `sub_4afd60`.
//!
//! The shape (libgcc's `lse.S`, and code that tests HWCAP_ATOMICS itself):
//!
//! ```text
//!     adrp x16, __aarch64_have_lse_atomics
//!     ldrb w16, [x16, #:lo12:__aarch64_have_lse_atomics]   // a flag read from memory
//!     cbz  w16, 1f                                         // zero: no LSE
//!     cas  w0, w1, [x2]                                    // the LSE way
//!     ret
//! 1:  ldxr w0, [x2] ... stxr w17, w1, [x2] ...             // the LL/SC way
//! ```
//!
//! An LSE instruction is guarded when a conditional branch on a straight path before it (or one that
//! jumps to it) tests a register loaded from memory or returned by a call (`getauxval`), and the
//! branch's other way reaches a load-exclusive / store-exclusive pair.

use crate::insn::{BranchKind, Class};

/// Instructions searched back from an LSE atomic for the branch that guards it.
const GUARD_WINDOW: usize = 8;
/// Instructions searched back from the guarding branch for what set its register.
const FLAG_WINDOW: usize = 6;
/// Instructions searched on the other way for the LL/SC pair.
const LLSC_WINDOW: usize = 32;

/// Whether the LSE atomic `insns[i]` is reached only on the LSE side of a runtime test.
/// `words` are the raw instruction words, parallel to `insns`.
pub fn lse_is_guarded(insns: &[(u64, Class)], words: &[u32], i: usize) -> bool {
    if words.len() != insns.len() || i >= insns.len() {
        return false;
    }
    // The LSE path as the fall-through of the nearest conditional branch before it.
    for c in (i.saturating_sub(GUARD_WINDOW)..i).rev() {
        match insns[c].1 {
            Class::Branch { kind: BranchKind::Conditional, target: Some(offset) } => {
                let other = insns[c].0.wrapping_add_signed(offset);
                if tests_a_flag(insns, words, c) && llsc_from(insns, other) {
                    return true;
                }
                break;
            }
            Class::Branch { .. } => break,
            _ => {}
        }
    }
    // The LSE path as a branch's target (`cbnz w16, 1f; <LL/SC>; 1: cas ...`).
    let head = (i.saturating_sub(GUARD_WINDOW)..=i)
        .rev()
        .take_while(|&k| k == i || !insns[k].1.is_branch())
        .last()
        .unwrap_or(i);
    let (from, to) = (insns[head].0, insns[i].0);
    insns.iter().enumerate().any(|(c, &(at, class))| match class {
        Class::Branch { kind: BranchKind::Conditional, target: Some(offset) } => {
            let dest = at.wrapping_add_signed(offset);
            (from..=to).contains(&dest) && tests_a_flag(insns, words, c) && llsc_from(insns, at + 4)
        }
        _ => false,
    })
}

/// Whether the conditional branch `insns[c]` (CBZ/CBNZ/TBZ/TBNZ) tests a register that was just
/// loaded from memory or returned by a call.
fn tests_a_flag(insns: &[(u64, Class)], words: &[u32], c: usize) -> bool {
    let w = words[c];
    let compare_and_branch = w & 0x7E00_0000 == 0x3400_0000 || w & 0x7E00_0000 == 0x3600_0000;
    if !compare_and_branch {
        return false;
    }
    let reg = w & 31;
    for k in (c.saturating_sub(FLAG_WINDOW)..c).rev() {
        let w = words[k];
        match insns[k].1 {
            // A call's result is in x0 (getauxval(AT_HWCAP), say).
            Class::Branch { kind: BranchKind::Call | BranchKind::IndirectCall, .. } => return reg == 0,
            Class::Branch { .. } => return false,
            _ if is_load(w) && w & 31 == reg => return true,
            // Anything else that writes the register (stores and compares have other roles for
            // bits 0-4, but do not matter here: a false "no" only keeps the finding).
            _ if w & 31 == reg && !is_store(w) => return false,
            _ => {}
        }
    }
    false
}

/// LDR/LDRB/LDRH/LDRSx with an unsigned or unscaled immediate offset, or a register offset.
fn is_load(w: u32) -> bool {
    let opc = (w >> 22) & 3;
    let unsigned_offset = w & 0x3B00_0000 == 0x3900_0000;
    let unscaled_or_register = w & 0x3B20_0000 == 0x3800_0000 || w & 0x3B20_0C00 == 0x3820_0800;
    (unsigned_offset || unscaled_or_register) && opc != 0 && w & (1 << 26) == 0
}

fn is_store(w: u32) -> bool {
    let opc = (w >> 22) & 3;
    (w & 0x3B00_0000 == 0x3900_0000 || w & 0x3B20_0000 == 0x3800_0000) && opc == 0
}

/// Whether a load-exclusive followed by a store-exclusive starts within a few instructions of `addr`.
fn llsc_from(insns: &[(u64, Class)], addr: u64) -> bool {
    let Some(start) = insns.iter().position(|&(at, _)| at == addr) else { return false };
    let window = &insns[start..insns.len().min(start + LLSC_WINDOW)];
    window.iter().enumerate().any(|(k, &(_, class))| {
        class == Class::LoadExclusive && window[k + 1..].iter().take(16).any(|&(_, c)| c == Class::StoreExclusive)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::classify;

    fn at(words: &[u32]) -> Vec<(u64, Class)> {
        words.iter().enumerate().map(|(i, &w)| (0x4afd60 + 4 * i as u64, classify(w))).collect()
    }

    /// `__aarch64_cas4_relax` as Debian's busybox has it (stripped), word for word.
    const CAS4_RELAX: [u32; 13] = [
        0xd503245f, // bti c
        0xd0000950, // adrp x16, 0x5d9000
        0x39566210, // ldrb w16, [x16, #1432]
        0x34000070, // cbz w16, +12
        0x88a07c41, // cas w0, w1, [x2]
        0xd65f03c0, // ret
        0x2a0003f0, // mov w16, w0
        0x885f7c40, // ldxr w0, [x2]
        0x6b10001f, // cmp w0, w16
        0x54000061, // b.ne +12
        0x88117c41, // stxr w17, w1, [x2]
        0x35ffff91, // cbnz w17, -16
        0xd65f03c0, // ret
    ];

    #[test]
    fn the_outline_helper_is_guarded_whatever_its_name() {
        let insns = at(&CAS4_RELAX);
        assert_eq!(insns[4].1, Class::LseAtomic);
        assert!(lse_is_guarded(&insns, &CAS4_RELAX, 4));
    }

    #[test]
    fn no_flag_no_fallback_or_no_words_is_not_guarded() {
        // The branch tests a register nothing loaded (mov w16, w0 instead of ldrb).
        let mut words = CAS4_RELAX;
        words[2] = 0x2a0003f0;
        assert!(!lse_is_guarded(&at(&words), &words, 4));
        // No LL/SC on the other way: the stxr replaced by a nop.
        let mut words = CAS4_RELAX;
        words[10] = 0xd503201f;
        assert!(!lse_is_guarded(&at(&words), &words, 4));
        // A bare LSE instruction, as -march=armv8.1-a emits it.
        let words = [0xd503245f, 0x88a07c41, 0xd65f03c0];
        assert!(!lse_is_guarded(&at(&words), &words, 1));
        assert!(!lse_is_guarded(&at(&CAS4_RELAX), &[], 4), "without the words nothing is assumed");
    }

    #[test]
    fn an_hwcap_test_on_a_call_result_guards_the_lse_way_as_a_branch_target() {
        let words = [
            0x94000010, // bl getauxval
            0x37400060, // tbnz w0, #8, +12 (HWCAP_ATOMICS): to the LSE way
            0x885f7c40, // ldxr w0, [x2]
            0x88117c41, // stxr w17, w1, [x2]
            0xf8210042, // ldadd x1, x2, [x2]
            0xd65f03c0, // ret
        ];
        let insns = at(&words);
        assert_eq!(insns[4].1, Class::LseAtomic);
        assert!(lse_is_guarded(&insns, &words, 4));
    }
}
