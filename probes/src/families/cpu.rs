//! `cpu`: CPU samples on the software cpu-clock (works in VMs without a PMU) at `--freq` Hz per
//! CPU, counted per (process, stacks) in the kernel. Kernel side: `ebpf/src/cpu.rs`.

use armtune_common::{events, maps, SampleKey};
use aya::{
    programs::{
        perf_event::{perf_sw_ids, PerfEventLinkId, PerfEventScope, PerfTypeId, SamplePolicy},
        PerfEvent,
    },
    util::online_cpus,
    Ebpf,
};

use super::{hash_map, About, Attach, Drain, Family, FamilyState};
use crate::{
    capture::Capture, error::Context as _, options::Options, report::Report, symbolize::Symbolizer, Error, Result,
};

/// The CPU sampler.
pub struct Cpu;

const CPU_ABOUT: About =
    About { name: "cpu", usage: "cpu", help: "CPU samples (on-CPU flame graph)", bit: events::CPU };

/// The state key of the sampler's links.
const LINKS: &str = "cpu";

impl Family for Cpu {
    fn about(&self) -> &'static About {
        &CPU_ABOUT
    }

    fn maps(&self, options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::COUNTS.name, Some(options.count_entries))]
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        let links = cpu_clock(ebpf, ctx.setup.options.frequency)?;
        ctx.state.put(LINKS, links);
        Ok(())
    }

    /// Detaches the sampler, so no sample lands while the maps are read.
    fn stop(&self, ebpf: &mut Ebpf, state: &mut FamilyState) {
        let links = state.get_mut::<Vec<PerfEventLinkId>>(LINKS).map(std::mem::take).unwrap_or_default();
        if let Some(Ok(prog)) = ebpf.program_mut("armtune_cpu").map(<&mut PerfEvent>::try_from) {
            for link in links {
                let _ = prog.detach(link);
            }
        }
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        capture.meta.frequency_hz = ctx.setup.options.frequency;
        for (key, count, _) in ctx.unwound.of(events::CPU) {
            let mut sample = ctx.stacks.unwound(key);
            sample.count = count;
            if !(ctx.before_exec)(&sample) {
                capture.samples.push(sample);
            }
        }
        for entry in hash_map::<SampleKey, u64>(ebpf, maps::COUNTS.name)?.iter() {
            let (key, count) = entry.context("reading the sample counts")?;
            let mut sample = ctx.stacks.sample(key.tgid, key.tid, &key.comm, key.stacks);
            sample.count = count;
            if !(ctx.before_exec)(&sample) {
                capture.samples.push(sample);
            }
        }
        Ok(())
    }

    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[("cpu", "CPU samples")]
    }

    fn report(&self, capture: &Capture, symbolizer: &mut Symbolizer, report: &mut Report) {
        report.cpu = Some(symbolizer.profile(capture));
    }
}

/// Opens the cpu-clock perf event on every online CPU with the sampler attached.
fn cpu_clock(ebpf: &mut Ebpf, frequency: u64) -> Result<Vec<PerfEventLinkId>> {
    let prog: &mut PerfEvent = ebpf.program_mut("armtune_cpu").unwrap().try_into().unwrap();
    prog.load().context("loading the CPU sampler")?;
    let cpus = online_cpus().map_err(|(path, e)| Error::io(path, e))?;
    let mut links = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        let link = prog
            .attach(
                PerfTypeId::Software,
                perf_sw_ids::PERF_COUNT_SW_CPU_CLOCK as u64,
                PerfEventScope::AllProcessesOneCpu { cpu },
                SamplePolicy::Frequency(frequency),
                true,
            )
            .with_context(|| format!("opening the cpu-clock perf event on CPU {cpu}"))?;
        links.push(link);
    }
    Ok(links)
}
