//! Garbage-collector probes for Go programs: entry uprobes on the runtime functions that end a
//! cycle and bracket stop-the-world pauses, and on the mark assist an allocation pays when it
//! outruns the collector (names stable from Go 1.17 to today; see the runtime's `mgc.go`,
//! `proc.go` and `mgcmark.go`).

use crate::error::Context as _;
use std::path::Path;

use aya::{programs::UProbe, Ebpf};

use crate::{Error, Result};

/// (program, runtime symbol, required).
pub const GO_PROBES: &[(&str, &str, bool)] = &[
    ("armtune_gc_cycle", "runtime.gcMarkTermination", true),
    ("armtune_gc_stw_begin", "runtime.stopTheWorldWithSema", false),
    ("armtune_gc_stw_end", "runtime.startTheWorldWithSema", false),
    ("armtune_gc_assist", "runtime.gcAssistAlloc", false),
];

/// Attaches garbage-collection probes for the program at `exe` (only process `pid` when given):
/// the Go runtime's functions, or HotSpot's `gc__begin` / `gc__end` SDT probes when the program
/// runs a JVM. Returns what could not be placed; an error when neither runtime is found.
pub fn attach(ebpf: &mut Ebpf, exe: &Path, pid: Option<u32>) -> Result<Vec<String>> {
    if let Some(libjvm) = libjvm_for(exe, pid) {
        return attach_hotspot(ebpf, &libjvm, pid).map(|()| Vec::new());
    }
    attach_go(ebpf, exe, pid)
}

/// The libjvm.so a Java program uses: mapped by the process, or beside the `java` launcher.
pub fn libjvm_for(exe: &Path, pid: Option<u32>) -> Option<std::path::PathBuf> {
    if let Some(pid) = pid {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
        return maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find(|p| p.ends_with("/libjvm.so"))
            .map(Into::into);
    }
    let launcher = std::fs::canonicalize(exe).ok()?;
    let home = launcher.parent()?.parent()?;
    ["lib/server/libjvm.so", "lib/client/libjvm.so"].iter().map(|p| home.join(p)).find(|p| p.exists())
}

/// HotSpot's `gc__begin` / `gc__end` bracket each collection: a collection is a cycle, and its
/// length the pause (HotSpot's collectors stop the world for the part these probes bracket).
fn attach_hotspot(ebpf: &mut Ebpf, libjvm: &Path, pid: Option<u32>) -> Result<()> {
    let probes = crate::sdt::read(libjvm)?;
    let site = |name: &str| {
        crate::sdt::select(&probes, "hotspot", name).first().map(|p| p.file_offset).ok_or_else(|| {
            Error::Invalid(format!(
                "{} has no hotspot:{name} SDT probe (a JVM built without DTrace probes)",
                libjvm.display()
            ))
        })
    };
    let (begin, end) = (site("gc__begin")?, site("gc__end")?);
    for (program, offset) in [("armtune_gc_stw_begin", begin), ("armtune_gc_stw_end", end), ("armtune_gc_cycle", end)] {
        let p: &mut UProbe = ebpf.program_mut(program).unwrap().try_into().unwrap();
        if p.fd().is_err() {
            p.load().with_context(|| format!("loading {program}"))?;
        }
        p.attach(None, offset, libjvm, pid.map(|p| p as i32))
            .with_context(|| format!("attaching to HotSpot's GC probe in {}", libjvm.display()))?;
    }
    Ok(())
}

fn attach_go(ebpf: &mut Ebpf, exe: &Path, pid: Option<u32>) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for &(program, symbol, required) in GO_PROBES {
        let p: &mut UProbe = ebpf.program_mut(program).unwrap().try_into().unwrap();
        if p.fd().is_err() {
            p.load().with_context(|| format!("loading {program}"))?;
        }
        if let Err(e) = p.attach(Some(symbol), 0, exe, pid.map(|p| p as i32)) {
            let detail = crate::error::chain(&Error::bpf(symbol, e));
            if required {
                return Err(Error::Invalid(format!(
                    "cannot follow garbage collection in {}: {detail} (neither a JVM nor a Go program, \
                     or a Go program stripped with -ldflags=-s)",
                    exe.display()
                )));
            }
            let lost =
                if program == "armtune_gc_assist" { "assists are not counted" } else { "pauses are not measured" };
            missing.push(format!("{symbol} not found in {}: {lost}", exe.display()));
        }
    }
    Ok(missing)
}
