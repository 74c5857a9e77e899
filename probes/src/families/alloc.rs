//! `alloc` and `leak`: the allocator's calls by stack (bytes and calls, sizes), and the blocks
//! still live at the end by allocating stack and age. Both ride the same uprobes on the malloc
//! family (placed once, see [`crate::allocator`]). Kernel side: `ebpf/src/alloc.rs`.

use std::{
    collections::HashMap,
    fmt::Write as _,
    path::{Path, PathBuf},
};

use armtune_common::{events, maps, LiveBlock, LiveKey, SampleKey, SizeKey, StackRef, Totals};
use aya::Ebpf;

use super::{hash_map, About, Attach, Drain, Family, Global};
use crate::{
    allocator::{self, AllocTarget},
    capture::{comm_text, Capture, RawSample, SizeHistogram},
    error::Context as _,
    histogram::Log2Histogram,
    mmap_records::monotonic_ns,
    options::{Options, Target},
    profile::Unit,
    report::Report,
    spawn,
    stacks::UnwoundKey,
    symbolize::Symbolizer,
    Error, Result,
};

/// Allocations by stack.
pub struct Alloc;

/// Live blocks at the end by allocating stack.
pub struct Leak;

/// The key under which the placed probes are noted, so the second family does not place them again.
const PLACED: &str = "allocator probes";

const ALLOC_ABOUT: About = About {
    name: "alloc",
    usage: "alloc",
    help: "allocations by stack, bytes and calls, sizes (allocation flame graph)",
    bit: events::ALLOC,
};

impl Family for Alloc {
    fn about(&self) -> &'static About {
        &ALLOC_ABOUT
    }

    fn maps(&self, _options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::ALLOCS.name, None), (maps::SIZES.name, None), (maps::PENDING.name, None)]
    }

    fn globals(&self, setup: &super::Setup) -> Result<Vec<(&'static str, Global)>> {
        Ok(vec![("ALLOC_SAMPLE_BYTES", Global::U64(setup.options.alloc_sample))])
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        attach_once(ebpf, ctx)
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        let (mut bytes, mut calls) = drain_allocs(ebpf, ctx)?;
        bytes.retain(|s| !(ctx.before_exec)(s));
        calls.retain(|s| !(ctx.before_exec)(s));
        capture.sizes = drain_sizes(ebpf, ctx)?;
        // The process may be gone by now: name it by what its samples say.
        for h in capture.sizes.iter_mut().filter(|h| h.comm.is_empty()) {
            if let Some(s) = bytes.iter().find(|s| s.tgid == h.tgid) {
                h.comm = s.comm.clone();
            }
        }
        (capture.allocs, capture.alloc_calls) = (bytes, calls);
        Ok(())
    }

    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("alloc", "allocations as the report's graph weighs them (bytes or calls)"),
            ("alloc-bytes", "bytes allocated"),
            ("alloc-calls", "allocator calls"),
        ]
    }

    fn report(&self, capture: &Capture, symbolizer: &mut Symbolizer, report: &mut Report) {
        let (maps, meta) = (&capture.maps, &capture.meta);
        report.alloc_bytes = Some(symbolizer.stacks(&capture.allocs, maps, Unit::bytes_allocated(), meta.clone(), 1.0));
        report.alloc_calls =
            Some(symbolizer.stacks(&capture.alloc_calls, maps, Unit::allocations(), meta.clone(), 1.0));
    }

    fn summary(&self, report: &Report) -> Option<String> {
        let mut s = sampling_note(report.allocs());
        s += &beside_main(report, "alloc");
        for h in &report.sizes {
            let _ = writeln!(s, "allocation sizes of {} ({}): {} allocations", h.comm, h.tgid, h.histogram.count());
            s.push_str(&h.histogram.render("bytes"));
        }
        Some(s)
    }
}

const LEAK_ABOUT: About = About {
    name: "leak",
    usage: "leak",
    help: "blocks still live at the end, by allocating stack and age (leak flame graph)",
    bit: events::LEAK,
};

impl Family for Leak {
    fn about(&self) -> &'static About {
        &LEAK_ABOUT
    }

    fn maps(&self, options: &Options) -> Vec<(&'static str, Option<u32>)> {
        vec![(maps::LIVE.name, Some(options.live_entries)), (maps::PENDING.name, None)]
    }

    fn globals(&self, setup: &super::Setup) -> Result<Vec<(&'static str, Global)>> {
        Alloc.globals(setup)
    }

    fn attach(&self, ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
        attach_once(ebpf, ctx)
    }

    fn drain(&self, ebpf: &Ebpf, ctx: &Drain, capture: &mut Capture) -> Result<()> {
        let (mut live, mut blocks) = drain_live(ebpf, ctx)?;
        live.retain(|s| !(ctx.before_exec)(s));
        blocks.retain(|s| !(ctx.before_exec)(s));
        (capture.live, capture.live_blocks) = (live, blocks);
        Ok(())
    }

    fn graph_names(&self) -> &'static [(&'static str, &'static str)] {
        &[("leak", "bytes still live at the end"), ("leak-blocks", "blocks still live at the end")]
    }

    fn report(&self, capture: &Capture, symbolizer: &mut Symbolizer, report: &mut Report) {
        let (maps, meta) = (&capture.maps, &capture.meta);
        report.live = Some(symbolizer.stacks(&capture.live, maps, Unit::bytes_live(), meta.clone(), 1.0));
        report.live_blocks =
            Some(symbolizer.stacks(&capture.live_blocks, maps, Unit::blocks_live(), meta.clone(), 1.0));
    }

    fn summary(&self, report: &Report) -> Option<String> {
        // With `alloc` too, its section said how the allocations were sampled.
        let note = if report.allocs().is_some() { String::new() } else { sampling_note(report.live.as_ref()) };
        Some(note + &beside_main(report, "leak"))
    }
}

/// The summary's line on `--alloc-sample`, when allocations were sampled.
fn sampling_note(profile: Option<&crate::Profile>) -> String {
    match profile.map(|p| p.meta.alloc_sample_bytes).filter(|&m| m > 0) {
        Some(mean) => format!("allocations sampled: about one per {mean} bytes; bytes and calls are estimates\n"),
        None => String::new(),
    }
}

/// The top functions of graph `name` when it is drawn beside the main graph, not as it.
fn beside_main(report: &Report, name: &str) -> String {
    let mut s = String::new();
    for extra in report.flame_graphs().iter().skip(1).filter(|g| g.name == name) {
        let _ = writeln!(s, "{}: {} {}", extra.title, extra.profile.total(), extra.profile.unit.label);
        let (by_self, _) = extra.profile.top_functions(5);
        for row in by_self {
            let _ = writeln!(s, "  {:>10}  {}", row.self_weight, row.name);
        }
    }
    s
}

/// Places the allocator probes unless the other family did.
fn attach_once(ebpf: &mut Ebpf, ctx: &mut Attach) -> Result<()> {
    if ctx.state.get::<()>(PLACED).is_some() {
        return Ok(());
    }
    place_probes(ebpf, ctx.setup.options, ctx.pids, ctx.exe, ctx.programs, ctx.warnings)?;
    ctx.state.put(PLACED, ());
    Ok(())
}

/// Places the allocator's uprobes, once for both families. `programs` are the command's or the
/// pids' executables.
fn place_probes(
    ebpf: &mut Ebpf,
    options: &Options,
    pids: &[u32],
    exe: Option<&Path>,
    programs: &[(PathBuf, Option<u32>)],
    warnings: &mut Vec<String>,
) -> Result<()> {
    {
        if let Some((go, _)) = programs.iter().find(|(p, _)| allocator::is_go(p)) {
            return Err(Error::Invalid(format!(
                "{} is a Go program: allocation probes need return probes, which corrupt Go's \
                 movable stacks; use --event gc for its collector",
                go.display()
            )));
        }
        for target in alloc_targets(options, pids, exe) {
            warnings.extend(
                allocator::attach(ebpf, &target, &options.alloc_prefix)?
                    .into_iter()
                    .map(|m| format!("allocator probe not placed in {}: {m}", target.library.display())),
            );
        }
    }
    Ok(())
}

/// Where the allocator probes go for these options (see [`allocator`]).
fn alloc_targets(options: &Options, pids: &[u32], exe: Option<&Path>) -> Vec<AllocTarget> {
    let fixed = options.alloc_lib.clone().map(spawn::attachable);
    match &options.target {
        Target::Pids(_) => pids
            .iter()
            .map(|&pid| AllocTarget {
                library: fixed
                    .clone()
                    .or_else(|| allocator::libc_of(pid))
                    .unwrap_or_else(|| PathBuf::from(format!("/proc/{pid}/exe"))),
                pid: Some(pid),
            })
            .collect(),
        Target::Command(_) => {
            let library = fixed.unwrap_or_else(|| match exe {
                // A static program carries its own malloc.
                Some(exe) if allocator::is_static(exe) => exe.to_path_buf(),
                Some(exe) => allocator::needed_libc(exe).unwrap_or_else(|| PathBuf::from("libc")),
                None => PathBuf::from("libc"),
            });
            vec![AllocTarget { library, pid: None }]
        }
        Target::All => vec![AllocTarget { library: fixed.unwrap_or_else(|| PathBuf::from("libc")), pid: None }],
        // Each C library the cgroup's processes run now (a container has its own), for every
        // process that maps it; the host's when none runs yet.
        Target::Cgroup(cgroup) => {
            let libraries = match fixed {
                Some(fixed) => vec![fixed],
                None => crate::cgroups::distinct_files(cgroup.pids().into_iter().filter_map(allocator::libc_of)),
            };
            let libraries = if libraries.is_empty() { vec![PathBuf::from("libc")] } else { libraries };
            libraries.into_iter().map(|library| AllocTarget { library, pid: None }).collect()
        }
    }
}

fn drain_allocs(ebpf: &Ebpf, ctx: &Drain) -> Result<(Vec<RawSample>, Vec<RawSample>)> {
    let (mut bytes, mut calls) = (Vec::new(), Vec::new());
    for entry in hash_map::<SampleKey, Totals>(ebpf, maps::ALLOCS.name)?.iter() {
        let (key, totals) = entry.context("reading allocations")?;
        let s = ctx.stacks.sample(key.tgid, key.tid, &key.comm, key.stacks);
        push_weighed(s, totals.sum, totals.count, ctx.setup.options.alloc_sample, (&mut bytes, &mut calls));
    }
    // --unwind dwarf: summed in user space.
    for (key, sum, count) in ctx.unwound.of(events::ALLOC) {
        let s = ctx.stacks.unwound(key);
        push_weighed(s, sum, count, ctx.setup.options.alloc_sample, (&mut bytes, &mut calls));
    }
    Ok((bytes, calls))
}

fn drain_sizes(ebpf: &Ebpf, ctx: &Drain) -> Result<Vec<SizeHistogram>> {
    let mut hists: HashMap<u32, Log2Histogram> = HashMap::new();
    for entry in hash_map::<SizeKey, u64>(ebpf, maps::SIZES.name)?.iter() {
        let (key, count) = entry.context("reading allocation sizes")?;
        hists.entry(key.tgid).or_default().add(key.slot as usize, count);
    }
    let mut out: Vec<SizeHistogram> = hists
        .into_iter()
        .map(|(tgid, histogram)| SizeHistogram { tgid, comm: (ctx.process_name)(tgid), histogram })
        .collect();
    out.sort_by_key(|h| std::cmp::Reverse(h.histogram.count()));
    Ok(out)
}

/// Live blocks grouped by (process, thread, stack, age class), weighted by bytes, and the
/// same groups weighted by blocks.
fn drain_live(ebpf: &Ebpf, ctx: &Drain) -> Result<(Vec<RawSample>, Vec<RawSample>)> {
    let now = monotonic_ns();
    // (process, thread, stack, thread name, age class) -> (bytes, blocks); the stack is the
    // kernel's, or with --unwind dwarf the user-space table's (by the block's address).
    type Group<'a> = (u32, u32, Result<StackRef, &'a UnwoundKey>, [u8; 16], &'static str);
    let mut groups: HashMap<Group, (u64, u64)> = HashMap::new();
    for entry in hash_map::<LiveKey, LiveBlock>(ebpf, maps::LIVE.name)?.iter() {
        let (key, block) = entry.context("reading live blocks")?;
        let age = age_marker(now.saturating_sub(block.since_ns));
        let stack = match block.stacks.user {
            StackRef::UNWOUND => match ctx.unwound.block(key.tgid, key.addr) {
                Some(unwound) => Err(unwound),
                // Its record was lost (ring buffer full, counted): no stack.
                None => Ok(StackRef::NONE),
            },
            _ => Ok(block.stacks),
        };
        let g = groups.entry((key.tgid, block.tid, stack, block.comm, age)).or_insert((0, 0));
        g.0 += block.size;
        g.1 += 1;
    }
    let (mut by_bytes, mut by_blocks) = (Vec::new(), Vec::new());
    for ((tgid, tid, stack, comm, age), (bytes, blocks)) in groups {
        let mut s = match stack {
            Ok(stack) => ctx.stacks.sample(tgid, tid, &comm, stack),
            Err(unwound) => RawSample { tid, comm: comm_text(&comm), ..ctx.stacks.unwound(unwound) },
        };
        s.markers.insert(0, age.to_string());
        let scale = sample_scale(bytes, blocks, ctx.setup.options.alloc_sample);
        s.count = (bytes as f64 * scale).round() as u64;
        by_bytes.push(s.clone());
        s.count = (blocks as f64 * scale).round() as u64;
        by_blocks.push(s);
    }
    Ok((by_bytes, by_blocks))
}

/// Pushes `sample` weighted by `bytes` into `into.0` and by `calls` into `into.1`, both scaled as
/// `--alloc-sample mean` asks ([`sample_scale`]): the allocation profile's two graphs.
pub(crate) fn push_weighed(
    mut sample: RawSample,
    bytes: u64,
    calls: u64,
    mean: u64,
    into: (&mut Vec<RawSample>, &mut Vec<RawSample>),
) {
    let scale = sample_scale(bytes, calls, mean);
    sample.count = (bytes as f64 * scale).round() as u64;
    into.0.push(sample.clone());
    sample.count = (calls as f64 * scale).round() as u64;
    into.1.push(sample);
}

/// How much one recorded allocation stands for under `--alloc-sample mean`: an allocation of s
/// bytes is recorded with probability 1 - exp(-s / mean), so its unbiased weight is s divided by
/// that (tcmalloc's estimator). Per stack, the mean size stands in for each allocation's.
pub(crate) fn sample_scale(bytes: u64, count: u64, mean: u64) -> f64 {
    if mean == 0 || count == 0 {
        return 1.0;
    }
    let size = bytes as f64 / count as f64;
    let p = -(-size / mean as f64).exp_m1();
    if p > 0.0 {
        1.0 / p
    } else {
        1.0
    }
}

/// The age class of a live block, as a marker frame: old blocks are the leak suspects.
pub(crate) fn age_marker(age_ns: u64) -> &'static str {
    match age_ns / 1_000_000_000 {
        0 => "[live < 1 s]",
        1..=9 => "[live 1-10 s]",
        10..=59 => "[live 10-60 s]",
        _ => "[live > 60 s]",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_scale_is_tcmalloc_s_estimator() {
        assert_eq!(sample_scale(100, 1, 0), 1.0, "no sampling");
        // Small blocks: each recorded one stands for about `mean` bytes.
        let s = sample_scale(64, 1, 65536);
        assert!((64.0 * s - 65536.0).abs() / 65536.0 < 0.001, "{}", 64.0 * s);
        // Blocks far above the mean are always recorded and stand for themselves.
        assert!((sample_scale(1 << 30, 1, 4096) - 1.0).abs() < 1e-9);
    }
}
