//! Reading an AArch64 ELF: executable sections, functions from the symbol table, and the data
//! ranges that mapping symbols (`$d` ... `$x`) mark inside code (literal pools, jump tables), which
//! must not be read as instructions.

use std::path::Path;

use object::{Architecture, Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use serde::Serialize;

use crate::Error;

/// A function: a named, sized range of code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    /// Symbol name (mangled as in the file).
    pub name: String,
    /// Start address.
    pub address: u64,
    /// Size in bytes.
    pub size: u64,
}

/// A range of code bytes at an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// Section name.
    pub section: String,
    /// Address of the first byte.
    pub address: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What the checks need of a binary.
#[derive(Debug, Clone)]
pub struct Binary {
    /// Executable sections.
    pub code: Vec<Code>,
    /// Functions, by address.
    pub functions: Vec<Function>,
    /// Data ranges inside code (from `$d` mapping symbols), `[start, end)`.
    pub data_ranges: Vec<(u64, u64)>,
    /// Notes on what could not be read, for the report.
    pub notes: Vec<String>,
    /// Struct layouts from DWARF (empty without debug info).
    pub structs: Vec<crate::dwarf::StructLayout>,
    /// Writable data objects (`.data`, `.bss`, ...): name, address, size.
    pub globals: Vec<Function>,
    /// Address ranges of the PLT (`.plt`, `.iplt`): calls there go through the dynamic linker's
    /// indirection.
    pub plt: Vec<(u64, u64)>,
}

impl Binary {
    /// Address ranges of code the binary marks hot: sections named `.text.hot*` (relocatable
    /// objects, and executables linked with `-z keep-text-section-prefix`).
    pub fn hot_ranges(&self) -> Vec<(u64, u64)> {
        self.code
            .iter()
            .filter(|c| c.section.starts_with(".text.hot"))
            .map(|c| (c.address, c.address + c.bytes.len() as u64))
            .collect()
    }

    /// The instruction word at `address`, if it is in a code section.
    pub fn word_at(&self, address: u64) -> Option<u32> {
        let code = self.code.iter().find(|c| address >= c.address && address < c.address + c.bytes.len() as u64)?;
        let at = (address - code.address) as usize;
        let w = code.bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    }

    /// Reads the ELF file at `path`.
    pub fn read(path: &Path) -> Result<Binary, Error> {
        let shown = path.display().to_string();
        let data = std::fs::read(path).map_err(|source| Error::Io { path: shown.clone(), source })?;
        Binary::parse(&data, &shown)
    }

    /// Parses an ELF image in memory; `name` is used in messages.
    pub fn parse(data: &[u8], name: &str) -> Result<Binary, Error> {
        let file = object::File::parse(data).map_err(|e| Error::NotElf { path: name.into(), detail: e.to_string() })?;
        if file.format() != object::BinaryFormat::Elf {
            return Err(Error::NotElf { path: name.into(), detail: format!("{:?} format", file.format()) });
        }
        if file.architecture() != Architecture::Aarch64 {
            return Err(Error::WrongArch { path: name.into(), machine: machine_name(file.architecture()) });
        }
        let mut notes = Vec::new();
        let bases = section_bases(&file);
        let code = code_sections(&file, &bases, &mut notes);
        if file.kind() == object::ObjectKind::Relocatable {
            notes.push(
                "relocatable object: its code sections are laid out one after another at their alignment, \
                 so addresses are offsets in the object and alignment is known only up to each \
                 section's alignment"
                    .into(),
            );
        }
        let (functions, marks) = symbols(&file, &bases);
        let functions = functions_in_code(&file, functions, &code, &mut notes);
        let plt = file
            .sections()
            .filter(|s| matches!(s.name(), Ok(".plt" | ".iplt" | ".plt.sec")))
            .filter_map(|s| Some((s.address(), s.address().checked_add(s.size())?)))
            .collect();
        let structs = structs(&file, &mut notes);
        Ok(Binary { code, functions, data_ranges: data_ranges(marks), notes, structs, plt, globals: globals(&file) })
    }

    /// Whether `address` lies in a data range inside code.
    pub fn is_data(&self, address: u64) -> bool {
        self.data_ranges.iter().any(|&(s, e)| address >= s && address < e)
    }

    /// The instruction words of `function`, with their addresses, data ranges left out.
    pub fn instructions(&self, function: &Function) -> Vec<(u64, u32)> {
        let Some(code) = self
            .code
            .iter()
            .find(|c| function.address >= c.address && function.address < c.address + c.bytes.len() as u64)
        else {
            return Vec::new();
        };
        let start = (function.address - code.address) as usize;
        let end = (start + function.size as usize).min(code.bytes.len());
        code.bytes[start..end]
            .chunks_exact(4)
            .enumerate()
            .map(|(i, w)| (function.address + 4 * i as u64, u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
            .filter(|(a, _)| !self.is_data(*a))
            .collect()
    }
}

/// Function bounds from the `.eh_frame` FDEs (every function compilers emit unwind info for): what
/// a stripped binary still says about where functions start and end.
fn fde_functions(file: &object::File<'_>) -> Vec<Function> {
    use gimli::UnwindSection;
    let Some(section) = file.section_by_name(".eh_frame") else { return Vec::new() };
    let Ok(data) = section.data() else { return Vec::new() };
    let mut eh_frame = gimli::EhFrame::new(data, gimli::LittleEndian);
    eh_frame.set_address_size(8);
    let mut bases = gimli::BaseAddresses::default().set_eh_frame(section.address());
    if let Some(text) = file.section_by_name(".text") {
        bases = bases.set_text(text.address());
    }
    let mut out = Vec::new();
    let mut entries = eh_frame.entries(&bases);
    // A damaged entry ends the walk: what was read so far is still right.
    while let Ok(Some(entry)) = entries.next() {
        if let gimli::CieOrFde::Fde(partial) = entry {
            if let Ok(fde) = partial.parse(|s, b, o| s.cie_from_offset(b, o)) {
                if fde.len() > 0 {
                    let address = fde.initial_address();
                    out.push(Function { name: format!("sub_{address:x}"), address, size: fde.len() });
                }
            }
        }
    }
    out.sort_by_key(|f| f.address);
    out.dedup_by_key(|f| f.address);
    out
}

fn machine_name(arch: Architecture) -> String {
    match arch {
        Architecture::X86_64 => "x86-64".into(),
        Architecture::I386 => "i386".into(),
        Architecture::Arm => "32-bit ARM".into(),
        Architecture::Riscv64 => "RISC-V 64".into(),
        other => format!("{other:?}"),
    }
}

/// Where each code section's bytes are taken to start. In a linked file, its address. In a
/// relocatable object every section starts at 0, so they are laid out one after another (each at
/// its alignment, as a linker would) to keep their functions apart: otherwise the functions of
/// `.text.hot.f` and `.text` (or of `-ffunction-sections`) would share addresses.
fn section_bases(file: &object::File) -> std::collections::HashMap<object::SectionIndex, u64> {
    let relocatable = file.kind() == object::ObjectKind::Relocatable;
    let mut bases = std::collections::HashMap::new();
    let mut cursor = 0u64;
    for section in file.sections().filter(|s| s.kind() == SectionKind::Text) {
        let base = if relocatable {
            let align = section.align().max(1);
            let base = cursor.div_ceil(align).saturating_mul(align);
            cursor = base.saturating_add(section.size());
            base
        } else {
            section.address()
        };
        bases.insert(section.index(), base);
    }
    bases
}

/// The code sections' bytes; a section that cannot be read is noted and skipped.
fn code_sections(
    file: &object::File,
    bases: &std::collections::HashMap<object::SectionIndex, u64>,
    notes: &mut Vec<String>,
) -> Vec<Code> {
    let mut code = Vec::new();
    for section in file.sections().filter(|s| s.kind() == SectionKind::Text) {
        match section.data() {
            Ok(bytes) if !bytes.is_empty() => code.push(Code {
                section: section.name().unwrap_or("?").to_string(),
                address: bases.get(&section.index()).copied().unwrap_or(section.address()),
                bytes: bytes.to_vec(),
            }),
            Ok(_) => {}
            Err(e) => notes.push(format!("section {} skipped: {e}", section.name().unwrap_or("?"))),
        }
    }
    // A damaged file can claim ranges past the end of the address space; they are dropped here
    // so every later computation on addresses stays in range.
    code.retain(|c| c.address.checked_add(c.bytes.len() as u64).is_some());
    code
}

/// Sized data symbols in writable sections, by address (one per address).
fn globals(file: &object::File) -> Vec<Function> {
    let writable: Vec<(u64, u64)> = file
        .sections()
        .filter(|s| matches!(s.kind(), SectionKind::Data | SectionKind::UninitializedData))
        .filter_map(|s| Some((s.address(), s.address().checked_add(s.size())?)))
        .collect();
    let mut globals: Vec<Function> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Data && s.size() > 0)
        .filter(|s| writable.iter().any(|&(a, e)| s.address() >= a && s.address() < e))
        .filter(|s| s.address().checked_add(s.size()).is_some())
        .map(|s| Function { name: s.name().unwrap_or("?").to_string(), address: s.address(), size: s.size() })
        .collect();
    globals.sort_by_key(|g| g.address);
    globals.dedup_by_key(|g| g.address);
    globals
}

/// Sized code symbols, and the mapping symbols (`$d` data, `$x` code) as (address, is data).
fn symbols(
    file: &object::File,
    bases: &std::collections::HashMap<object::SectionIndex, u64>,
) -> (Vec<Function>, Vec<(u64, bool)>) {
    let relocatable = file.kind() == object::ObjectKind::Relocatable;
    let (mut functions, mut marks) = (Vec::new(), Vec::new());
    for sym in file.symbols().chain(file.dynamic_symbols()) {
        let name = sym.name().unwrap_or("");
        // In a relocatable object a symbol's value is an offset in its section: place it where
        // section_bases put the section (mapping symbols of data sections are not needed).
        let address = match (relocatable, sym.section_index()) {
            (true, Some(index)) => match bases.get(&index) {
                Some(base) => base.wrapping_add(sym.address()),
                None => continue,
            },
            _ => sym.address(),
        };
        match name {
            "$d" => marks.push((address, true)),
            "$x" => marks.push((address, false)),
            _ if name.starts_with("$d.") => marks.push((address, true)),
            _ if name.starts_with("$x.") => marks.push((address, false)),
            _ if sym.kind() == SymbolKind::Text && sym.size() > 0 && !name.is_empty() => {
                functions.push(Function { name: name.to_string(), address, size: sym.size() });
            }
            _ => {}
        }
    }
    (functions, marks)
}

/// The functions whose bytes are in `code`, by address, one per address and size; without symbols,
/// the `.eh_frame` entries, and without those each code section as one region (each noted).
fn functions_in_code(
    file: &object::File,
    mut functions: Vec<Function>,
    code: &[Code],
    notes: &mut Vec<String>,
) -> Vec<Function> {
    let before = functions.len();
    functions.retain(|f| {
        f.address
            .checked_add(f.size)
            .is_some_and(|end| code.iter().any(|c| f.address >= c.address && end <= c.address + c.bytes.len() as u64))
    });
    if functions.len() < before {
        notes.push(format!(
            "{} function symbols lie outside the code sections and were skipped",
            before - functions.len()
        ));
    }
    functions.sort_by(|a, b| a.address.cmp(&b.address).then(a.name.cmp(&b.name)));
    functions.dedup_by(|b, a| a.address == b.address && a.size == b.size);
    if functions.is_empty() {
        functions = fde_functions(file);
        if !functions.is_empty() {
            notes.push(format!(
                "no function symbols (stripped): {} functions from .eh_frame unwind entries, named by address",
                functions.len()
            ));
        }
    }
    if functions.is_empty() {
        notes.push("no function symbols and no .eh_frame: each code section is analysed as one region".into());
        functions = code
            .iter()
            .map(|c| Function { name: format!("[{}]", c.section), address: c.address, size: c.bytes.len() as u64 })
            .collect();
    }
    functions
}

/// Data ranges inside code: from each `$d` mapping symbol to the next `$x`.
fn data_ranges(mut marks: Vec<(u64, bool)>) -> Vec<(u64, u64)> {
    marks.sort();
    let mut ranges = Vec::new();
    for (i, &(at, is_data)) in marks.iter().enumerate() {
        if is_data {
            let end = marks[i + 1..].iter().find(|(_, d)| !d).map(|(a, _)| *a).unwrap_or(u64::MAX);
            ranges.push((at, end));
        }
    }
    ranges
}

/// Struct layouts from DWARF. In a relocatable object DWARF points into .debug_str through
/// relocations that are not applied here: names would be wrong, so struct layout waits for a
/// linked file.
fn structs(file: &object::File, notes: &mut Vec<String>) -> Vec<crate::dwarf::StructLayout> {
    if file.kind() != object::ObjectKind::Relocatable {
        return crate::dwarf::structs(file);
    }
    if file.section_by_name(".debug_info").is_some() {
        notes.push(
            "struct layout needs a linked executable or shared object (DWARF of .o files is relocated at link time)"
                .into(),
        );
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_or_refuses_this_test_binary_by_its_machine() {
        // On x86_64 this test binary is a foreign ELF; built for aarch64 (and run under qemu in CI)
        // it is a real Rust AArch64 executable to read.
        let exe = std::env::current_exe().unwrap();
        let result = Binary::read(&exe);
        if cfg!(target_arch = "aarch64") {
            let binary = result.expect("an AArch64 test binary must read");
            assert!(binary.functions.len() > 1000, "{} functions", binary.functions.len());
        } else {
            let err = result.expect_err("a foreign ELF must be refused").to_string();
            if cfg!(target_arch = "x86_64") {
                assert!(err.contains("not an AArch64 ELF: found x86-64"), "{err}");
            }
        }
    }

    #[test]
    fn rejects_non_elf_and_truncated_input() {
        let err = Binary::parse(b"#!/bin/sh\necho hi\n", "script.sh").unwrap_err().to_string();
        assert!(err.contains("script.sh: not a readable ELF file"), "{err}");
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        for cut in [4, 64, 1000] {
            assert!(Binary::parse(&exe[..cut], "cut").is_err());
        }
    }
}
