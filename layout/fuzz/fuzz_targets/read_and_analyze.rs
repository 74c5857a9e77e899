//! Fuzzes the ELF reader, the DWARF struct reader and every check on arbitrary bytes: whatever
//! the input, `armtune check` must answer with findings or an error, never a panic.
#![no_main]

use armtune_layout::{analyze, Binary, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(binary) = Binary::parse(data, "fuzz-input") {
        for target in ["rpi4", "rpi5"] {
            let _ = analyze(&binary, &Target::by_name(target).unwrap());
        }
    }
});
