//! Inputs `cargo fuzz run read_and_analyze` (layout/fuzz) once crashed on: each must now read or
//! fail cleanly, and analyze without a panic.

use armtune_layout::{analyze, Binary, Target};

#[test]
fn crashing_inputs_found_by_the_fuzzer_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Ok(binary) = Binary::parse(&data, "regression") {
            for target in ["rpi4", "rpi5"] {
                let _ = analyze(&binary, &Target::by_name(target).unwrap());
            }
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}
