//! Finds the event families' modules (`src/families/*.rs`) so that a new family is one new file:
//! writes `$OUT_DIR/families.rs`, a `mod` line for each, which `src/main.rs` includes.
use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("src/families");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut modules: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("src/families")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    modules.sort();
    let mut out = String::new();
    for path in modules {
        let name = path.file_stem().unwrap().to_string_lossy().replace('-', "_");
        out += &format!("#[path = {:?}]\npub mod {name};\n", path.display().to_string());
    }
    fs::write(PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("families.rs"), out).unwrap();
}
