//! `sdt:PROVIDER:NAME`: hits of SystemTap/USDT probes with the user stack of each hit, under a
//! `[sdt provider:name]` marker. Probes come from the `.note.stapsdt` notes of the target
//! programs, the files a `--pid` maps, and `--sdt-lib` files; semaphore-guarded probes are enabled
//! while attached (see [`crate::refctr`]). Kernel side: `ebpf/src/sdt.rs`.

use std::{
    collections::HashSet,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
};

use armtune_common::{events, maps};
use aya::{programs::UProbe, Ebpf};

use super::{drain_hits, About, Attach, Drain, Family};
use crate::{
    capture::Capture,
    error::Context as _,
    options::{Options, Target},
    procmaps::Backing,
    profile::Unit,
    report::Report,
    spawn::attachable,
    symbolize::Symbolizer,
    Error, Result,
};

/// The SDT family.
pub struct Sdt;

const SDT_ABOUT: About = About {
    name: "sdt",
    usage: "sdt:PROVIDER:NAME",
    help: "hits of SDT/USDT probes with stacks (NAME may hold *)",
    bit: events::SDT,
};

impl Family for Sdt {
    fn about(&self) -> &'static About {
        &SDT_ABOUT
    }

    fn maps(&self, _options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::SDT_HITS.name, None)]
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        let (sites, links, warnings) = attach_sdt(ebpf, ctx.setup.options, ctx.programs)?;
        ctx.warnings.extend(warnings);
        ctx.state.put("sdt", sites);
        ctx.state.keep(links);
        Ok(())
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        let no_sites = Vec::new();
        let sites: &Vec<SdtSite> = ctx.state.get("sdt").unwrap_or(&no_sites);
        capture.sdt = drain_hits(ebpf, ctx, events::SDT, maps::SDT_HITS.name, |key| {
            let site = ctx.maps.get(key.tgid).and_then(|m| m.find(key.ip)).and_then(|m| match &m.backing {
                Backing::File(path) => {
                    let offset = m.file_offset_of(key.ip);
                    sites.iter().find(|(file, p)| file == path && p.file_offset == offset)
                }
                _ => None,
            });
            match site {
                Some((_, p)) => format!("[sdt {}:{}]", p.provider, p.name),
                None => "[sdt probe]".to_string(),
            }
        })?;
        Ok(())
    }

    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[("sdt", "SDT probe hits")]
    }

    fn report(&self, capture: &Capture, symbolizer: &mut Symbolizer, report: &mut Report) {
        report.sdt = Some(symbolizer.stacks(&capture.sdt, &capture.maps, Unit::hits(), capture.meta.clone(), 1.0));
    }
}

/// An attached SDT probe: the file it is in (canonical, to match mappings) and the probe.
type SdtSite = (PathBuf, crate::sdt::SdtProbe);

/// Places the SDT probes `options.sdt` names, found in the target programs, their mapped libraries
/// (for pids) and `options.sdt_libs`. Returns the sites (file made canonical, to match mappings),
/// the links of semaphore-guarded probes and warnings; an error when no probe matches.
fn attach_sdt(
    ebpf: &mut Ebpf,
    options: &Options,
    programs: &[(PathBuf, Option<u32>)],
) -> Result<(Vec<SdtSite>, Vec<OwnedFd>, Vec<String>)> {
    let files = sdt_files(options, programs);
    let prog: &mut UProbe = ebpf.program_mut("armtune_sdt").unwrap().try_into().unwrap();
    prog.load().context("loading the SDT program")?;
    let (mut sites, mut links, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    let refctr_pmu = crate::refctr::pmu_type();
    for (file, pid) in &files {
        let Ok(probes) = crate::sdt::read(file) else { continue };
        let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        let wanted = options.sdt.iter().flat_map(|spec| crate::sdt::select(&probes, &spec.provider, &spec.pattern));
        for probe in wanted {
            let site = SdtAttach { file, pid: *pid, probe };
            match refctr_pmu.filter(|_| probe.semaphore_offset != 0) {
                Some(pmu) => links.push(site.with_semaphore(prog, pmu)?),
                None => warnings.extend(site.plain(prog)?),
            }
            sites.push((canonical.clone(), probe.clone()));
        }
    }
    if sites.is_empty() {
        let wanted: Vec<String> = options.sdt.iter().map(|s| format!("{}:{}", s.provider, s.pattern)).collect();
        let looked: Vec<String> = files.iter().map(|(f, _)| f.display().to_string()).collect();
        return Err(Error::Invalid(format!(
            "no SDT probe {} in {} (name more files with --sdt-lib; Debian's glibc is built without SDT probes)",
            wanted.join(", "),
            if looked.is_empty() { "any file (give a command or --pid)".to_string() } else { looked.join(", ") }
        )));
    }
    Ok((sites, links, warnings))
}

/// The files to look for SDT probes in, each once per process filter: the target programs, the
/// files each pid maps, and `--sdt-lib` files.
fn sdt_files(options: &Options, programs: &[(PathBuf, Option<u32>)]) -> Vec<(PathBuf, Option<u32>)> {
    let mut files: Vec<(PathBuf, Option<u32>)> = programs.to_vec();
    for pid in programs.iter().filter_map(|(_, pid)| *pid) {
        for m in crate::procmaps::ProcessMaps::read(pid).unwrap_or_default().mappings() {
            if let crate::procmaps::Backing::File(path) = &m.backing {
                files.push((path.clone(), Some(pid)));
            }
        }
    }
    let pid_filter = match &options.target {
        Target::Pids(pids) if pids.len() == 1 => Some(pids[0]),
        _ => None,
    };
    files.extend(options.sdt_libs.iter().map(|l| (attachable(l.clone()), pid_filter)));
    let mut seen = HashSet::new();
    files.retain(|(f, pid)| seen.insert((std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()), *pid)));
    files
}

/// One SDT probe site to attach the SDT program to.
struct SdtAttach<'a> {
    file: &'a Path,
    pid: Option<u32>,
    probe: &'a crate::sdt::SdtProbe,
}

impl SdtAttach<'_> {
    fn what(&self) -> String {
        format!("{}:{} in {}", self.probe.provider, self.probe.name, self.file.display())
    }

    /// Attached with its semaphore raised while attached (see [`crate::refctr`]).
    fn with_semaphore(&self, prog: &UProbe, pmu: u32) -> Result<OwnedFd> {
        let fd = prog.fd().context("the SDT program")?;
        let (offset, semaphore) = (self.probe.file_offset, self.probe.semaphore_offset);
        crate::refctr::attach(fd, pmu, self.file, offset, semaphore, self.pid)
    }

    /// Attached by aya; a semaphore it has stays down (a kernel without uprobe reference
    /// counters), which the returned warning says.
    fn plain(&self, prog: &mut UProbe) -> Result<Option<String>> {
        prog.attach(None, self.probe.file_offset, self.file, self.pid.map(|p| p as i32))
            .with_context(|| format!("attaching to {}", self.what()))?;
        Ok((self.probe.semaphore != 0).then(|| {
            format!(
                "{} is guarded by a semaphore and this kernel cannot raise it (no uprobe ref_ctr_offset, \
                 Linux < 4.20): it fires only while something else enables it",
                self.what()
            )
        }))
    }
}
