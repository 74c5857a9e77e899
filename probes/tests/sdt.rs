//! The SDT note parser on real ELF files: fixtures built here from `workloads/sdt_demo.c` and
//! `workloads/sdt_guarded.c` with `<sys/sdt.h>`, and the JVM's libjvm.so when one is installed.
//! Needs no privileges.

use std::{path::Path, process::Command};

use armtune_probes::sdt;

fn build_fixture(dir: &Path, name: &str) -> std::path::PathBuf {
    let out = dir.join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../workloads/{name}.c"));
    let status = Command::new("cc")
        .args(["-O2", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc is needed: run ci/setup.sh");
    assert!(status.success(), "building {} (needs sys/sdt.h from systemtap-sdt-dev)", src.display());
    out
}

#[test]
fn reads_probes_of_a_fixture_built_with_sys_sdt_h() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_fixture(dir.path(), "sdt_demo");
    let probes = sdt::read(&exe).unwrap();
    let names: Vec<(&str, &str)> = probes.iter().map(|p| (p.provider.as_str(), p.name.as_str())).collect();
    assert_eq!(names, [("armtune_demo", "tick"), ("armtune_demo", "tock")]);
    let tock = &probes[1];
    assert_eq!(tock.arguments.split(' ').count(), 2, "two arguments: {}", tock.arguments);
    assert_eq!((tock.semaphore, tock.semaphore_offset), (0, 0));
    // A probe site is a nop in the code: check the byte(s) at the file offset.
    let data = std::fs::read(&exe).unwrap();
    for p in &probes {
        let at = p.file_offset as usize;
        if cfg!(target_arch = "x86_64") {
            assert_eq!(data[at], 0x90, "{}:{} at {:#x} is not a nop", p.provider, p.name, at);
        } else if cfg!(target_arch = "aarch64") {
            assert_eq!(&data[at..at + 4], &[0x1f, 0x20, 0x03, 0xd5], "{}:{} is not a nop", p.provider, p.name);
        }
    }
    assert_eq!(sdt::select(&probes, "armtune_demo", "t*").len(), 2);
    assert_eq!(sdt::select(&probes, "armtune_demo", "tock").len(), 1);
    assert!(sdt::select(&probes, "other", "*").is_empty());
}

#[test]
fn a_guarded_probe_has_its_semaphore_at_a_file_offset() {
    use object::{Object, ObjectSection};
    let dir = tempfile::tempdir().unwrap();
    let exe = build_fixture(dir.path(), "sdt_guarded");
    let probes = sdt::read(&exe).unwrap();
    assert_eq!(probes.len(), 1, "{probes:?}");
    let data = std::fs::read(&exe).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    // sys/sdt.h's semaphores live in `.probes`; this program has one, two bytes long.
    let section = elf.section_by_name(".probes").expect("a .probes section");
    assert_eq!(probes[0].semaphore, section.address());
    assert_eq!(probes[0].semaphore_offset, section.file_range().unwrap().0);
}

#[test]
fn truncated_notes_are_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_fixture(dir.path(), "sdt_demo");
    let mut data = std::fs::read(&exe).unwrap();
    let probes = sdt::parse(&data).unwrap();
    assert_eq!(probes.len(), 2);
    // Cut the file in the middle: whatever breaks must come back as an error.
    data.truncate(data.len() / 3);
    let _ = sdt::parse(&data);
}

#[test]
fn finds_hotspot_gc_probes_in_an_installed_jvm() {
    let Some(libjvm) =
        ["/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so", "/usr/lib/jvm/default-java/lib/server/libjvm.so"]
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
    else {
        eprintln!("finds_hotspot_gc_probes_in_an_installed_jvm: skipped: no libjvm.so installed");
        return;
    };
    let probes = sdt::read(libjvm).unwrap();
    assert!(sdt::select(&probes, "hotspot", "gc__begin").len() == 1, "{libjvm:?}");
    assert!(sdt::select(&probes, "hotspot", "gc__end").len() == 1);
    assert!(probes.len() > 100, "HotSpot has hundreds of probes");
}
