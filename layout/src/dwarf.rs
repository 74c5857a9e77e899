//! Struct layouts from DWARF (gimli), pahole-style: members with offsets and sizes, the holes
//! between them, members that straddle a cache line, and atomic members that share one.

use gimli::{AttributeValue, DebuggingInformationEntry, Dwarf, EndianSlice, LittleEndian, Unit, UnitOffset};
use object::{Object, ObjectSection};
use serde::Serialize;

/// One member of a struct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Member name (empty for anonymous members).
    pub name: String,
    /// Byte offset in the struct.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Whether its type is atomic (C11 `_Atomic`, or a type named `atomic*` / `std::atomic<...>`).
    pub atomic: bool,
}

/// A struct's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StructLayout {
    /// Struct name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Members in offset order (bit-fields left out).
    pub members: Vec<Member>,
}

impl StructLayout {
    /// Holes: `(offset, size)` of padding between members and at the end.
    pub fn holes(&self) -> Vec<(u64, u64)> {
        let mut holes = Vec::new();
        let mut end = 0;
        for m in &self.members {
            if m.offset > end {
                holes.push((end, m.offset - end));
            }
            end = end.max(m.offset + m.size);
        }
        if self.size > end && !self.members.is_empty() {
            holes.push((end, self.size - end));
        }
        holes
    }
}

type R<'a> = EndianSlice<'a, LittleEndian>;

/// Every named struct with members in the file's DWARF, once per (name, size).
pub fn structs(file: &object::File<'_>) -> Vec<StructLayout> {
    let load = |id: gimli::SectionId| -> Result<R<'_>, gimli::Error> {
        let data = file.section_by_name(id.name()).and_then(|s| s.data().ok()).unwrap_or(&[]);
        Ok(EndianSlice::new(data, LittleEndian))
    };
    let Ok(dwarf) = Dwarf::load(load) else { return Vec::new() };
    let mut out: Vec<StructLayout> = Vec::new();
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else { continue };
        let mut entries = unit.entries();
        while let Ok(Some(entry)) = entries.next_dfs() {
            if entry.tag() != gimli::DW_TAG_structure_type && entry.tag() != gimli::DW_TAG_class_type {
                continue;
            }
            if let Some(layout) = read_struct(&dwarf, &unit, entry) {
                if !out.iter().any(|s| s.name == layout.name && s.size == layout.size) {
                    out.push(layout);
                }
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn name_of<'a>(dwarf: &Dwarf<R<'a>>, unit: &Unit<R<'a>>, entry: &DebuggingInformationEntry<R<'a>>) -> Option<String> {
    let attr = entry.attr_value(gimli::DW_AT_name)?;
    let s = dwarf.attr_string(unit, attr).ok()?;
    Some(s.to_string_lossy().into_owned())
}

fn read_struct<'a>(
    dwarf: &Dwarf<R<'a>>,
    unit: &Unit<R<'a>>,
    entry: &DebuggingInformationEntry<R<'a>>,
) -> Option<StructLayout> {
    let name = name_of(dwarf, unit, entry)?;
    let size = entry.attr_value(gimli::DW_AT_byte_size)?.udata_value()?;
    let mut tree = unit.entries_tree(Some(entry.offset())).ok()?;
    let root = tree.root().ok()?;
    let mut children = root.children();
    let mut members = Vec::new();
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        if e.tag() != gimli::DW_TAG_member || e.attr(gimli::DW_AT_bit_size).is_some() {
            continue;
        }
        let Some(offset) = e.attr_value(gimli::DW_AT_data_member_location).and_then(|v| v.udata_value()) else {
            continue;
        };
        let (msize, atomic) = match e.attr_value(gimli::DW_AT_type) {
            Some(AttributeValue::UnitRef(t)) => type_info(dwarf, unit, t, 0),
            _ => (0, false),
        };
        // Damaged DWARF can claim members past the end of the address space: skip those.
        if offset.checked_add(msize).is_some() {
            members.push(Member { name: name_of(dwarf, unit, e).unwrap_or_default(), offset, size: msize, atomic });
        }
    }
    if members.is_empty() {
        return None;
    }
    members.sort_by_key(|m| m.offset);
    Some(StructLayout { name, size, members })
}

/// Size and atomicity of the type at `offset`, following typedefs, qualifiers and arrays.
fn type_info<'a>(dwarf: &Dwarf<R<'a>>, unit: &Unit<R<'a>>, offset: UnitOffset, depth: u32) -> (u64, bool) {
    if depth > 16 {
        return (0, false);
    }
    let Ok(entry) = unit.entry(offset) else { return (0, false) };
    let named_atomic = name_of(dwarf, unit, &entry)
        .is_some_and(|n| n.starts_with("atomic") || n.starts_with("std::atomic") || n.starts_with("Atomic"));
    let next = entry.attr_value(gimli::DW_AT_type).and_then(|v| match v {
        AttributeValue::UnitRef(t) => Some(t),
        _ => None,
    });
    let own_size = entry.attr_value(gimli::DW_AT_byte_size).and_then(|v| v.udata_value());
    match entry.tag() {
        gimli::DW_TAG_atomic_type => (next.map_or(0, |t| type_info(dwarf, unit, t, depth + 1).0), true),
        gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type => (own_size.unwrap_or(8), false),
        gimli::DW_TAG_array_type => {
            let (elem, atomic) = next.map_or((0, false), |t| type_info(dwarf, unit, t, depth + 1));
            let count = array_count(unit, &entry).unwrap_or(0);
            (own_size.unwrap_or(elem.saturating_mul(count)), atomic)
        }
        _ => match (own_size, next) {
            (Some(s), _) => (s, named_atomic),
            (None, Some(t)) => {
                let (s, a) = type_info(dwarf, unit, t, depth + 1);
                (s, a || named_atomic)
            }
            (None, None) => (0, named_atomic),
        },
    }
}

fn array_count<'a>(unit: &Unit<R<'a>>, array: &DebuggingInformationEntry<R<'a>>) -> Option<u64> {
    let mut tree = unit.entries_tree(Some(array.offset())).ok()?;
    let root = tree.root().ok()?;
    let mut children = root.children();
    let mut total = 1u64;
    let mut any = false;
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        if e.tag() == gimli::DW_TAG_subrange_type {
            any = true;
            let n = match e.attr_value(gimli::DW_AT_count).and_then(|v| v.udata_value()) {
                Some(n) => n,
                None => e.attr_value(gimli::DW_AT_upper_bound).and_then(|v| v.udata_value())?.saturating_add(1),
            };
            total = total.saturating_mul(n);
        }
    }
    any.then_some(total)
}
