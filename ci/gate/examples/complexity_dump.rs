//! Prints every function's complexity in gocyclo's line format (`N NAME FILE:LINE:COL`), cyclomatic
//! or cognitive, for comparing with gocyclo / gocognit on a tree of Go files.
//!
//! Usage: cargo run --release -p armtune-gate --example complexity_dump -- cyclomatic|cognitive FILE...

use std::path::Path;

use armtune_gate::{complexity, lang::Language};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cognitive = args.first().map(String::as_str) == Some("cognitive");
    for file in &args[1..] {
        let path = Path::new(file);
        let Some(lang) = Language::of(path) else { continue };
        let src = std::fs::read(path).unwrap_or_else(|e| panic!("{file}: {e}"));
        for f in complexity::analyze(lang, &src).functions {
            let value = if cognitive { f.cognitive } else { f.cyclomatic };
            println!("{value} {} {file}:{}:{}", f.name, f.line, f.column);
        }
    }
}
