//! `gc`: garbage-collection cycles and stop-the-world pauses per process, from the Go runtime's
//! functions or HotSpot's `gc__begin` / `gc__end` SDT probes (see [`crate::gc`]), and Go's mark
//! assists by allocating stack. Kernel side: `ebpf/src/gc.rs`.

use std::{collections::HashMap, fmt::Write as _};

use armtune_common::{events, maps, GcStats, SizeKey};
use aya::Ebpf;

use super::{drain_hits, hash_map, About, Attach, Drain, Family, TOP_ROWS};
use crate::{
    capture::{Capture, GcReport},
    error::Context as _,
    histogram::Log2Histogram,
    options::Options,
    profile::Unit,
    report::Report,
    symbolize::Symbolizer,
    Error, Result,
};

/// The GC family.
pub struct Gc;

const GC_ABOUT: About = About {
    name: "gc",
    usage: "gc",
    help: "garbage-collection cycles and pauses (Go runtime, HotSpot JVM)",
    bit: events::GC,
};

impl Family for Gc {
    fn about(&self) -> &'static About {
        &GC_ABOUT
    }

    fn maps(&self, _options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::GC_STATS.name, None), (maps::GC_PAUSES.name, None), (maps::GC_ASSISTS.name, None)]
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        if ctx.programs.is_empty() {
            return Err(Error::Invalid("--event gc needs the Go program: give a command after `--` or --pid".into()));
        }
        for (program, pid) in ctx.programs {
            ctx.warnings.extend(crate::gc::attach(ebpf, program, *pid)?);
        }
        Ok(())
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        capture.gc = collections(ebpf, ctx)?;
        capture.gc_assists = drain_hits(ebpf, ctx, events::GC, maps::GC_ASSISTS.name, |_| "[gc assist]".to_string())?;
        Ok(())
    }

    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[("gc-assist", "Go GC mark assists")]
    }

    fn report(&self, capture: &Capture, symbolizer: &mut Symbolizer, report: &mut Report) {
        // Only Go programs assist, and only when they allocate during a cycle: no graph otherwise.
        if !capture.gc_assists.is_empty() {
            let meta = capture.meta.clone();
            report.gc_assists =
                Some(symbolizer.stacks(&capture.gc_assists, &capture.maps, Unit::gc_assists(), meta, 1.0));
        }
    }

    fn summary(&self, report: &Report) -> Option<String> {
        let mut s = String::new();
        for g in &report.gc {
            let h = &g.histogram;
            let p = |q: f64| h.percentile_us(q).map_or("-".to_string(), |v| format!("{v:.0}"));
            let _ = writeln!(
                s,
                "garbage collection in {} ({}): {} cycles, {} stop-the-world pauses, {:.3} ms paused in total, \
                 p50 {} us, p99 {} us, max {:.0} us, {} mark assists",
                g.comm,
                g.tgid,
                g.cycles,
                g.pauses,
                g.pause_total_ns as f64 / 1e6,
                p(50.0),
                p(99.0),
                h.max_ns as f64 / 1000.0,
                g.assists
            );
            s.push_str(&h.render("pause usecs"));
        }
        if let Some(assists) = &report.gc_assists {
            let _ = writeln!(s, "mark assists by allocating function (innermost frame outside the Go runtime):");
            for (name, weight) in assists.top_user_leaves_outside(TOP_ROWS, "runtime.") {
                let _ = writeln!(s, "  {weight:>8}  {name}");
            }
        }
        Some(s)
    }
}

/// Collections per process, most cycles first.
fn collections(ebpf: &Ebpf, ctx: &Drain) -> Result<Vec<GcReport>> {
    let mut pauses: HashMap<u32, Log2Histogram> = HashMap::new();
    for entry in hash_map::<SizeKey, u64>(ebpf, maps::GC_PAUSES.name)?.iter() {
        let (key, count) = entry.context("reading GC pauses")?;
        pauses.entry(key.tgid).or_default().add(key.slot as usize, count);
    }
    let mut out = Vec::new();
    for entry in hash_map::<u32, GcStats>(ebpf, maps::GC_STATS.name)?.iter() {
        let (tgid, s) = entry.context("reading GC counters")?;
        let mut histogram = pauses.remove(&tgid).unwrap_or_default();
        histogram.max_ns = s.pause_max_ns;
        out.push(GcReport {
            tgid,
            comm: (ctx.process_name)(tgid),
            cycles: s.cycles,
            pauses: s.pauses,
            pause_total_ns: s.pause_total_ns,
            assists: s.assists,
            histogram,
        });
    }
    out.sort_by_key(|g| std::cmp::Reverse(g.cycles));
    Ok(out)
}
