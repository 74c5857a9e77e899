//! A classifier over raw AArch64 instruction words: just the classes the layout checks need,
//! decided with a mask and a compare each (no full decode), so a 40 MB library classifies in
//! well under a second. Encodings from the Arm ARM (DDI 0487), sections C4.1 (branches,
//! exception generation and system instructions; loads and stores).

use serde::Serialize;

/// What kind of branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchKind {
    /// `B label`: always taken.
    Unconditional,
    /// `BL label`: a call.
    Call,
    /// `B.cond`, `CBZ`/`CBNZ`, `TBZ`/`TBNZ`.
    Conditional,
    /// `BR Xn`: indirect jump.
    Indirect,
    /// `BLR Xn`: indirect call.
    IndirectCall,
    /// `RET`.
    Return,
}

/// The classes the checks care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "class")]
pub enum Class {
    /// A branch; `target` is the offset from this instruction for direct branches.
    Branch {
        /// Which kind.
        kind: BranchKind,
        /// Byte offset of the target from this instruction (direct branches).
        target: Option<i64>,
    },
    /// A load-exclusive (`LDXR`, `LDAXR`, `LDXP`, ...): the first half of an LL/SC atomic.
    LoadExclusive,
    /// A store-exclusive (`STXR`, `STLXR`, `STXP`, ...).
    StoreExclusive,
    /// An ARMv8.1 LSE atomic (`CAS*`, `LDADD*`, `LDCLR*`, `LDSET*`, `SWP*`, ...).
    LseAtomic,
    /// `ADRP`.
    Adrp,
    /// `LDR (literal)`: reads a literal pool nearby.
    LoadLiteral,
    /// `NOP` and the other hints (`YIELD`, `BTI`, `PACIASP`, ...).
    Hint,
    /// Anything else.
    Other,
}

fn sign_extend(value: u32, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value as i64) << shift) >> shift
}

/// Classifies one instruction word.
pub fn classify(w: u32) -> Class {
    use BranchKind::*;
    let branch = |kind, target| Class::Branch { kind, target };
    // B / BL: imm26, in words.
    if w & 0x7C00_0000 == 0x1400_0000 {
        let kind = if w & 0x8000_0000 != 0 { Call } else { Unconditional };
        return branch(kind, Some(sign_extend(w & 0x03FF_FFFF, 26) * 4));
    }
    // B.cond (and BC.cond): imm19 at bit 5.
    if w & 0xFF00_0000 == 0x5400_0000 {
        return branch(Conditional, Some(sign_extend((w >> 5) & 0x7_FFFF, 19) * 4));
    }
    // CBZ / CBNZ (32 and 64 bit): imm19.
    if w & 0x7E00_0000 == 0x3400_0000 {
        return branch(Conditional, Some(sign_extend((w >> 5) & 0x7_FFFF, 19) * 4));
    }
    // TBZ / TBNZ: imm14.
    if w & 0x7E00_0000 == 0x3600_0000 {
        return branch(Conditional, Some(sign_extend((w >> 5) & 0x3FFF, 14) * 4));
    }
    // Unconditional branch (register): BR, BLR, RET and their pointer-authenticated forms.
    if w & 0xFE00_0000 == 0xD600_0000 {
        return match (w >> 21) & 0xF {
            // BR and BRAAZ/BRABZ; BRAA/BRAB (pointer authentication with a modifier).
            0b0000 | 0b1000 => branch(Indirect, None),
            0b0001 | 0b1001 => branch(IndirectCall, None),
            // RET, RETAA, RETAB.
            0b0010 => branch(Return, None),
            _ => Class::Other, // ERET, ERETAA, DRPS
        };
    }
    // Hints: NOP, YIELD, WFE, WFI, SEV, BTI, PAC*, ... (HINT #imm).
    if w & 0xFFFF_F01F == 0xD503_201F {
        return Class::Hint;
    }
    // Load/store exclusive: size:001000:o2:L:o1:Rs:o0:Rt2:Rn:Rt with o2 = 0 (o2 = 1 is LDAR/STLR).
    if w & 0x3F80_0000 == 0x0800_0000 {
        return if w & (1 << 22) != 0 { Class::LoadExclusive } else { Class::StoreExclusive };
    }
    // LSE: CAS/CASA/CASL/CASAL (size:0010001:L:1:Rs:o0:11111), CASP (0:sz:0010000:L:1 ...).
    if w & 0x3FA0_7C00 == 0x08A0_7C00 || w & 0xBFA0_7C00 == 0x0820_7C00 {
        return Class::LseAtomic;
    }
    // LSE: atomic memory operations (size:111:V=0:00:A:R:1:Rs:o3:opc:00:Rn:Rt): LDADD, LDCLR,
    // LDEOR, LDSET, LD{S,U}{MAX,MIN}, SWP.
    if w & 0x3F20_0C00 == 0x3820_0000 {
        return Class::LseAtomic;
    }
    // ADRP.
    if w & 0x9F00_0000 == 0x9000_0000 {
        return Class::Adrp;
    }
    // LDR (literal), general and SIMD&FP: opc:011:V:00:imm19:Rt; also LDRSW and PRFM literal.
    if w & 0x3B00_0000 == 0x1800_0000 {
        return Class::LoadLiteral;
    }
    Class::Other
}

impl Class {
    /// Whether this can transfer control elsewhere (what occupies a branch-predictor slot).
    pub fn is_branch(&self) -> bool {
        matches!(self, Class::Branch { .. })
    }

    /// Direct branch target offset, if any.
    pub fn target(&self) -> Option<i64> {
        match self {
            Class::Branch { target, .. } => *target,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BranchKind::*;

    #[test]
    fn branches_and_their_targets() {
        assert_eq!(classify(0x1400_0002), Class::Branch { kind: Unconditional, target: Some(8) });
        assert_eq!(classify(0x17FF_FFFF), Class::Branch { kind: Unconditional, target: Some(-4) });
        assert_eq!(classify(0x9400_0002), Class::Branch { kind: Call, target: Some(8) });
        assert_eq!(classify(0x5400_0041), Class::Branch { kind: Conditional, target: Some(8) }); // b.ne .+8
        assert_eq!(classify(0xB400_0040), Class::Branch { kind: Conditional, target: Some(8) }); // cbz x0
        assert_eq!(classify(0x3618_0040), Class::Branch { kind: Conditional, target: Some(8) }); // tbz w0,#3
        assert_eq!(classify(0xD61F_0200), Class::Branch { kind: Indirect, target: None }); // br x16
        assert_eq!(classify(0xD63F_0020), Class::Branch { kind: IndirectCall, target: None }); // blr x1
        assert_eq!(classify(0xD65F_03C0), Class::Branch { kind: Return, target: None });
        // ret
    }

    #[test]
    fn atomics_and_the_rest() {
        assert_eq!(classify(0xC85F_7C01), Class::LoadExclusive); // ldxr x1, [x0]
        assert_eq!(classify(0x885F_FC01), Class::LoadExclusive); // ldaxr w1, [x0]
        assert_eq!(classify(0xC802_7C01), Class::StoreExclusive); // stxr w2, x1, [x0]
        assert_eq!(classify(0xC8DF_FC01), Class::Other); // ldar x1, [x0]: ordered, not exclusive
        assert_eq!(classify(0xF821_0002), Class::LseAtomic); // ldadd x1, x2, [x0]
        assert_eq!(classify(0xC8A1_7C02), Class::LseAtomic); // cas x1, x2, [x0]
        assert_eq!(classify(0xF821_8002), Class::LseAtomic); // swp x1, x2, [x0]
        assert_eq!(classify(0xD503_201F), Class::Hint); // nop
        assert_eq!(classify(0x9000_0000), Class::Adrp);
        assert_eq!(classify(0x5800_0040), Class::LoadLiteral); // ldr x0, .+8
        assert_eq!(classify(0x8B02_0020), Class::Other); // add x0, x1, x2
    }
}
