//! USDT / SystemTap SDT probes: reading the `.note.stapsdt` notes of an ELF file, so uprobes can be
//! placed at the probe sites (glibc's `libc:memory_*`, HotSpot's `hotspot:gc__begin`, ...).
//!
//! Each note holds the probe's address, the link-time address of `.stapsdt.base` (to correct for
//! prelinking), its semaphore (0 when it has none), the provider, the name and the argument spec.

use std::path::Path;

use object::{Object, ObjectSection, ObjectSegment};

use crate::{Error, Result};

/// One probe site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdtProbe {
    /// Provider, e.g. `hotspot`.
    pub provider: String,
    /// Probe name, e.g. `gc__begin`.
    pub name: String,
    /// Virtual address of the probe site, adjusted by `.stapsdt.base`.
    pub address: u64,
    /// Offset of the probe site in the file: what a uprobe is placed at.
    pub file_offset: u64,
    /// Address of the is-enabled semaphore, 0 when the probe has none.
    pub semaphore: u64,
    /// Offset of the semaphore in the file (what the kernel's uprobe reference counter takes), 0
    /// when the probe has none.
    pub semaphore_offset: u64,
    /// Argument spec, e.g. `1@%dil 8@%rax`.
    pub arguments: String,
}

const NT_STAPSDT: u32 = 3;

/// Reads every SDT probe of the ELF file at `path`.
pub fn read(path: &Path) -> Result<Vec<SdtProbe>> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&data).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

/// Parses the SDT notes of an ELF image in memory.
pub fn parse(data: &[u8]) -> std::result::Result<Vec<SdtProbe>, String> {
    let file = object::File::parse(data).map_err(|e| format!("not an ELF file: {e}"))?;
    let Some(notes) = file.section_by_name(".note.stapsdt") else { return Ok(Vec::new()) };
    let notes = notes.data().map_err(|e| format!("reading .note.stapsdt: {e}"))?;
    let words = Words { little: file.is_little_endian(), size: if file.is_64() { 8 } else { 4 } };
    let base_actual = file.section_by_name(".stapsdt.base").map(|s| s.address());
    let mut probes = Vec::new();
    let mut at = 0;
    while at + 12 <= notes.len() {
        let (namesz, descsz) = (words.u32(&notes[at..]) as usize, words.u32(&notes[at + 4..]) as usize);
        let kind = words.u32(&notes[at + 8..]);
        let name_at = at + 12;
        let desc_at = name_at + align4(namesz);
        let next = desc_at + align4(descsz);
        if next > notes.len() || desc_at + descsz > notes.len() {
            return Err(format!("truncated SDT note at offset {at}"));
        }
        let owner = &notes[name_at..name_at + namesz];
        if kind == NT_STAPSDT && owner.strip_suffix(&[0]).unwrap_or(owner) == b"stapsdt" && descsz >= 3 * words.size {
            probes.push(probe(&file, words, &notes[desc_at..desc_at + descsz], base_actual)?);
        }
        at = next;
    }
    Ok(probes)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Reads the ELF file's words: its byte order and address size.
#[derive(Clone, Copy)]
struct Words {
    little: bool,
    size: usize,
}

impl Words {
    fn u32(self, b: &[u8]) -> u32 {
        let a: [u8; 4] = b[..4].try_into().unwrap();
        if self.little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }

    fn word(self, b: &[u8]) -> u64 {
        if self.size != 8 {
            return self.u32(b) as u64;
        }
        let a: [u8; 8] = b[..8].try_into().unwrap();
        if self.little {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        }
    }
}

/// One probe from its note's descriptor: pc, `.stapsdt.base` at link time, semaphore, then the
/// provider, name and argument strings.
fn probe(
    file: &object::File,
    words: Words,
    desc: &[u8],
    base_actual: Option<u64>,
) -> std::result::Result<SdtProbe, String> {
    let w = words.size;
    let (pc, base_link, semaphore) = (words.word(desc), words.word(&desc[w..]), words.word(&desc[2 * w..]));
    let mut strings = desc[3 * w..].split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned());
    let provider = strings.next().unwrap_or_default();
    let name = strings.next().unwrap_or_default();
    let arguments = strings.next().unwrap_or_default();
    // Prelinking moves .stapsdt.base; the probe moves with it.
    let address = match base_actual {
        Some(actual) if base_link != 0 => pc.wrapping_add(actual).wrapping_sub(base_link),
        _ => pc,
    };
    let file_offset = file
        .segments()
        .find(|s| address >= s.address() && address < s.address() + s.size())
        .map(|s| address - s.address() + s.file_range().0)
        .ok_or_else(|| format!("probe {provider}:{name} at {address:#x} is in no segment"))?;
    let semaphore_offset = semaphore_file_offset(file, semaphore)
        .ok_or_else(|| format!("the semaphore of {provider}:{name} at {semaphore:#x} is in no section"))?;
    Ok(SdtProbe { provider, name, address, file_offset, semaphore, semaphore_offset, arguments })
}

/// Where the semaphore at `address` is in the file (0 for none): it lives in `.probes`, a data
/// section with contents in the file.
fn semaphore_file_offset(file: &object::File, address: u64) -> Option<u64> {
    if address == 0 {
        return Some(0);
    }
    file.sections()
        .filter_map(|s| Some((s.address(), s.size(), s.file_range()?.0)))
        .find(|&(at, size, _)| address >= at && address < at + size)
        .map(|(at, _, offset)| address - at + offset)
}

/// The probes matching `provider` and a name pattern (`*` matches any run of characters).
pub fn select<'a>(probes: &'a [SdtProbe], provider: &str, pattern: &str) -> Vec<&'a SdtProbe> {
    probes.iter().filter(|p| p.provider == provider && glob(pattern, &p.name)).collect()
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .any(|i| text.is_char_boundary(head.len() + i) && glob(rest, &text[head.len() + i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars() {
        assert!(glob("memory_*", "memory_sbrk_more"));
        assert!(glob("*gc*", "mem__pool__gc__begin"));
        assert!(!glob("gc__begin", "gc__end"));
        assert!(glob("*", ""));
    }

    #[test]
    fn a_file_without_notes_has_no_probes() {
        let probes = read(&std::env::current_exe().unwrap()).unwrap();
        assert!(probes.is_empty());
        assert!(parse(b"not elf").unwrap_err().contains("not an ELF"));
    }
}
