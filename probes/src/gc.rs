//! Garbage-collector probes for Go programs: entry uprobes on the runtime functions that end a
//! cycle and bracket stop-the-world pauses (names stable from Go 1.17 to today; see the runtime's
//! `mgc.go` and `proc.go`).

use std::path::Path;

use aya::{programs::UProbe, Ebpf};

use crate::{Error, Result};

/// (program, runtime symbol, required).
pub const GO_PROBES: &[(&str, &str, bool)] = &[
    ("armtune_gc_cycle", "runtime.gcMarkTermination", true),
    ("armtune_gc_stw_begin", "runtime.stopTheWorldWithSema", false),
    ("armtune_gc_stw_end", "runtime.startTheWorldWithSema", false),
];

/// Attaches the Go GC probes to the program at `exe` (only process `pid` when given). Returns what
/// could not be placed; an error when the cycle probe cannot be (not Go, or stripped symbols).
pub fn attach(ebpf: &mut Ebpf, exe: &Path, pid: Option<u32>) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for &(program, symbol, required) in GO_PROBES {
        let p: &mut UProbe = ebpf.program_mut(program).unwrap().try_into().unwrap();
        if p.fd().is_err() {
            p.load().map_err(|e| Error::bpf(format!("loading {program}"), e))?;
        }
        if let Err(e) = p.attach(Some(symbol), 0, exe, pid.map(|p| p as i32)) {
            let detail = Error::bpf(symbol, e).to_string();
            if required {
                return Err(Error::Invalid(format!(
                    "cannot follow garbage collection in {}: {detail} (not a Go program, or its symbols \
                     were stripped with -ldflags=-s)",
                    exe.display()
                )));
            }
            missing.push(format!("{symbol} not found in {}: pauses are not measured", exe.display()));
        }
    }
    Ok(missing)
}
