//! The eBPF object, built by `build.rs` from `../ebpf` and embedded in the binary, so `armtune` is
//! one file to copy to a board.

/// The eBPF ELF object, aligned as aya's loader requires.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/armtune-ebpf.o"));

/// Name prefix of every program in the object: what `bpftool prog` shows, and what a test looks for
/// to prove nothing stayed loaded.
pub const PROGRAM_PREFIX: &str = "armtune_";

/// Names of the armtune programs loaded in the kernel right now (by any process). Empty after every
/// armtune run has ended: programs live only as long as the descriptors of the run that loaded them.
pub fn loaded_programs() -> Vec<String> {
    aya::programs::loaded_programs()
        .filter_map(|p| p.ok())
        .filter_map(|p| p.name_as_str().map(str::to_string))
        .filter(|name| name.starts_with(PROGRAM_PREFIX))
        .collect()
}

#[cfg(test)]
mod tests {
    use object::{Object, ObjectSection, ObjectSymbol};

    use super::EBPF_OBJECT;

    /// The maps the loader opens or resizes by `armtune_common::maps`, as the object declares
    /// them: each there by that name, with that many entries (`bpf_map_def.max_entries`, the
    /// fourth word of its definition in the `maps` section).
    #[test]
    fn the_object_declares_every_map_as_common_says() {
        let file = object::File::parse(EBPF_OBJECT).unwrap();
        let section = file.section_by_name("maps").expect("a maps section");
        let data = section.data().unwrap();
        for def in armtune_common::maps::ALL {
            let symbol = file
                .symbols()
                .find(|s| s.name() == Ok(def.name) && s.section_index() == Some(section.index()))
                .unwrap_or_else(|| panic!("no map {} in the object", def.name));
            let at = (symbol.address() - section.address()) as usize + 12;
            let entries = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
            assert_eq!(entries, def.entries, "{} is declared with {entries} entries", def.name);
        }
    }
}
