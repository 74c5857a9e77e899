//! What a finding looks like for a person: the instructions around it, disassembled by capstone,
//! with the target's fetch-block and cache-line boundaries drawn between them.

use std::path::Path;

use capstone::prelude::*;

use crate::{elf::Binary, targets::Target};

/// Source lines for addresses, from the binary's DWARF line tables (addr2line).
pub struct Lines {
    loader: Option<addr2line::Loader>,
}

impl Lines {
    /// Reads the line tables of the file at `path` (none when it has no DWARF).
    pub fn open(path: &Path) -> Lines {
        Lines { loader: addr2line::Loader::new(path).ok() }
    }

    /// `file:line` of `address`, when DWARF says.
    pub fn location(&self, address: u64) -> Option<(String, u32)> {
        let loc = self.loader.as_ref()?.find_location(address).ok()??;
        Some((loc.file?.to_string(), loc.line?))
    }
}

/// `symbol+0xOFFSET` for an address inside a function of `binary`.
pub fn symbol_offset(binary: &Binary, address: u64) -> Option<String> {
    let f = binary.functions.iter().find(|f| address >= f.address && address < f.address + f.size)?;
    Some(format!("{}+{:#x}", f.name, address - f.address))
}

/// Disassembly excerpt around `address` (a few instructions each side, within its function), with
/// a `>` on the instruction itself and a ruler line at each fetch-block and cache-line boundary.
/// Empty when the address is not in code (struct and global findings).
pub fn excerpt(binary: &Binary, address: u64, target: &Target) -> Vec<String> {
    let Some(function) = binary.functions.iter().find(|f| address >= f.address && address < f.address + f.size) else {
        return Vec::new();
    };
    let Ok(cs) = Capstone::new().arm64().mode(arch::arm64::ArchMode::Arm).build() else { return Vec::new() };
    let insns = binary.instructions(function);
    let Some(i) = insns.iter().position(|(a, _)| *a == address) else { return Vec::new() };
    let (from, to) = (i.saturating_sub(3), (i + 5).min(insns.len()));
    let mut out = Vec::new();
    for (k, &(at, word)) in insns[from..to].iter().enumerate() {
        if k > 0 || at % target.fetch_block == 0 {
            if at % target.cache_line == 0 {
                out.push(format!("      -------- {}-byte line {at:#x} --------", target.cache_line));
            } else if at % target.fetch_block == 0 {
                out.push(format!("      ........ {}-byte block {at:#x} ........", target.fetch_block));
            }
        }
        let text = cs
            .disasm_count(&word.to_le_bytes(), at, 1)
            .ok()
            .and_then(|insns| {
                insns.iter().next().map(|x| format!("{} {}", x.mnemonic().unwrap_or(""), x.op_str().unwrap_or("")))
            })
            .unwrap_or_else(|| ".word".to_string());
        let mark = if at == address { ">" } else { " " };
        out.push(format!("    {mark} {at:#x}  {word:08x}  {}", text.trim_end()));
    }
    out
}
