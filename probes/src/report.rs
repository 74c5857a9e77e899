//! Everything one profile run produced, named and ready to render: the flame-graph profiles of
//! each recorded event, run-queue histograms, wakeup and thread tables.

use serde_json::{json, Value};

use crate::{
    capture::{RunqHistogram, SizeHistogram, ThreadRow, WakePair},
    profile::{Meta, Profile},
};

/// The results of a run, as the families built it (`Report::build` is in [`crate::families`]).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// On-CPU profile (weight: samples), when `cpu` was recorded.
    pub cpu: Option<Profile>,
    /// Off-CPU profile (weight: microseconds), when `off-cpu` was recorded.
    pub off_cpu: Option<Profile>,
    /// Waker-stack profile (weight: wakeups), when `wakeup` was recorded.
    pub wakeups: Option<Profile>,
    /// Run-queue histograms, when `runq` was recorded.
    pub runq: Vec<RunqHistogram>,
    /// Who woke whom.
    pub wake_pairs: Vec<WakePair>,
    /// Per-thread switch and migration counts (scheduler events).
    pub threads: Vec<ThreadRow>,
    /// Allocation profile weighted by bytes, when `alloc` was recorded.
    pub alloc_bytes: Option<Profile>,
    /// The same stacks weighted by calls.
    pub alloc_calls: Option<Profile>,
    /// Which of the two the allocation flame graph draws ([`Report::allocs`]).
    pub alloc_weight: AllocWeight,
    /// Live blocks at the end (weight: bytes), under age markers.
    pub live: Option<Profile>,
    /// The same, weighted by blocks.
    pub live_blocks: Option<Profile>,
    /// Allocation sizes.
    pub sizes: Vec<SizeHistogram>,
    /// What could not be done, for the user.
    pub warnings: Vec<String>,
    /// Garbage collection per process.
    pub gc: Vec<crate::capture::GcReport>,
    /// SDT probe hits by probe and stack.
    pub sdt: Option<Profile>,
    /// Go mark assists by allocating stack, when a Go program had any.
    pub gc_assists: Option<Profile>,
    /// The registered families' JSON sections, by key (see [`crate::families`]).
    pub sections: std::collections::BTreeMap<String, Value>,
    /// Facts about the run, also when no flame graph was recorded (run-queue only).
    pub meta: Meta,
    /// What debuginfod servers were asked while naming, and what came of it.
    pub debuginfod: Vec<crate::debuginfod::Outcome>,
}

/// What the allocation flame graph weighs (`--alloc-weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum AllocWeight {
    /// Bytes requested.
    #[default]
    Bytes,
    /// Calls.
    Count,
}

/// One flame graph of a report.
#[derive(Debug, Clone)]
pub struct FlameGraph {
    /// Short name: `cpu`, `off-cpu`, `wall`, `alloc`, `leak`, `wakeup` (extra files are NAME.svg).
    pub name: &'static str,
    /// Title to draw.
    pub title: &'static str,
    /// The stacks.
    pub profile: Profile,
}

impl Report {
    /// Every stack profile under a first frame naming the container or systemd unit its process
    /// ran in, `[host]` for the rest (`--per-container`; see [`Profile::by_group`]).
    pub fn group_by_container(&mut self) {
        for profile in [
            &mut self.cpu,
            &mut self.off_cpu,
            &mut self.wakeups,
            &mut self.alloc_bytes,
            &mut self.alloc_calls,
            &mut self.live,
            &mut self.live_blocks,
            &mut self.sdt,
            &mut self.gc_assists,
        ]
        .into_iter()
        .flatten()
        {
            *profile = profile.by_group();
        }
    }

    /// Every flame graph of the run, the main one first: on- and off-CPU combined on one
    /// wall-time scale when both were recorded, else CPU, off-CPU, allocations, live blocks,
    /// wakeups, in that order.
    pub fn flame_graphs(&self) -> Vec<FlameGraph> {
        let mut out = Vec::new();
        let mut push = |name, title, profile: &Option<Profile>| {
            if let Some(p) = profile {
                out.push(FlameGraph { name, title, profile: p.clone() });
            }
        };
        match (&self.cpu, &self.off_cpu) {
            (Some(cpu), Some(off)) => {
                push("wall", "Wall-Clock Flame Graph (on-CPU warm, off-CPU blue)", &Some(Profile::combine(cpu, off)))
            }
            _ => {
                push("cpu", "CPU Flame Graph", &self.cpu);
                push("off-cpu", "Off-CPU Time Flame Graph", &self.off_cpu);
            }
        }
        push("alloc", "Allocation Flame Graph", &self.allocs().cloned());
        push("leak", "Live Blocks at End (leak) Flame Graph", &self.live);
        push("wakeup", "Wakeup Flame Graph (woken task, waker, waker stack)", &self.wakeups);
        push("sdt", "SDT Probe Hits", &self.sdt);
        push("gc-assist", "Go GC Assists Flame Graph (allocations that helped the collector mark)", &self.gc_assists);
        out
    }

    /// The run as pprof profiles, one per event family with stacks, `cpu` first (the main output),
    /// each with the sample types pprof's users expect of it: `samples/count` and
    /// `cpu/nanoseconds` (with the sampling period), `off_cpu/nanoseconds`, `alloc_objects/count`
    /// and `alloc_space/bytes`, `inuse_objects/count` and `inuse_space/bytes`, and counts of
    /// wakeups, SDT hits and Go mark assists.
    pub fn pprof_profiles(&self) -> Vec<(&'static str, crate::pprof::proto::Profile)> {
        use crate::pprof::{build, columns_of};
        // Each file's profiles: their sample types come from their units (`pprof::columns_of`),
        // the CPU profile's with its sampling period.
        let files: [(&'static str, [Option<&Profile>; 2]); 7] = [
            ("cpu", [self.cpu.as_ref(), None]),
            ("off-cpu", [self.off_cpu.as_ref(), None]),
            ("alloc", [self.alloc_calls.as_ref(), self.alloc_bytes.as_ref()]),
            ("leak", [self.live_blocks.as_ref(), self.live.as_ref()]),
            ("wakeup", [self.wakeups.as_ref(), None]),
            ("sdt", [self.sdt.as_ref(), None]),
            ("gc-assist", [self.gc_assists.as_ref(), None]),
        ];
        let mut out = Vec::new();
        for (name, profiles) in files {
            let (mut columns, mut period) = (Vec::new(), None);
            for profile in profiles.into_iter().flatten() {
                let (more, its_period) = columns_of(profile);
                columns.extend(more);
                period = period.or(its_period);
            }
            if !columns.is_empty() {
                out.push((name, build(&columns, period, &self.meta)));
            }
        }
        out
    }

    /// Every graph the JSON report can hold, by its name in `families::graph_names` (`None`: not
    /// recorded).
    pub fn profiles(&self) -> [(&'static str, Option<&Profile>); 10] {
        [
            ("cpu", self.cpu.as_ref()),
            ("off-cpu", self.off_cpu.as_ref()),
            ("wakeup", self.wakeups.as_ref()),
            ("alloc", self.allocs()),
            ("alloc-bytes", self.alloc_bytes.as_ref()),
            ("alloc-calls", self.alloc_calls.as_ref()),
            ("leak", self.live.as_ref()),
            ("leak-blocks", self.live_blocks.as_ref()),
            ("gc-assist", self.gc_assists.as_ref()),
            ("sdt", self.sdt.as_ref()),
        ]
    }

    /// The allocation flame graph: by bytes, or by calls under [`AllocWeight::Count`].
    pub fn allocs(&self) -> Option<&Profile> {
        match self.alloc_weight {
            AllocWeight::Bytes => self.alloc_bytes.as_ref(),
            AllocWeight::Count => self.alloc_calls.as_ref(),
        }
    }

    /// The profile the main output shows (the first of [`Report::flame_graphs`]).
    pub fn main_profile(&self) -> Option<Profile> {
        self.flame_graphs().into_iter().next().map(|g| g.profile)
    }

    /// Run-queue histograms of all processes merged, per CPU when recorded per CPU.
    pub fn runq_overall(&self) -> Vec<RunqHistogram> {
        let mut by_cpu: std::collections::BTreeMap<Option<u32>, RunqHistogram> = Default::default();
        for h in &self.runq {
            by_cpu
                .entry(h.cpu)
                .or_insert_with(|| RunqHistogram {
                    tgid: 0,
                    comm: "all".into(),
                    cpu: h.cpu,
                    histogram: Default::default(),
                })
                .histogram
                .merge(&h.histogram);
        }
        by_cpu.into_values().collect()
    }

    /// The JSON document: the main profile's fields at the top level (as for CPU-only runs), then
    /// `profiles` (each recorded flame graph), `runq` (with percentiles), `wakeups`, `threads`.
    pub fn to_json(&self) -> Value {
        let main = self.main_profile();
        let mut doc = serde_json::to_value(&main).unwrap_or(Value::Null);
        if !doc.is_object() {
            doc = json!({});
        }
        let obj = doc.as_object_mut().unwrap();
        obj.entry("meta").or_insert_with(|| serde_json::to_value(&self.meta).unwrap_or(Value::Null));
        let mut profiles = serde_json::Map::new();
        for (name, p) in self.profiles() {
            if let Some(p) = p {
                profiles.insert(name.into(), serde_json::to_value(p).unwrap_or(Value::Null));
            }
        }
        obj.insert("profiles".into(), Value::Object(profiles));
        if !self.debuginfod.is_empty() {
            obj.insert("debuginfod".into(), serde_json::to_value(&self.debuginfod).unwrap_or(Value::Null));
        }
        let runq: Vec<Value> = self
            .runq
            .iter()
            .map(|h| {
                let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
                let pct = |p: f64| h.histogram.percentile_us(p);
                v["count"] = json!(h.histogram.count());
                v["p50_us"] = json!(pct(50.0));
                v["p90_us"] = json!(pct(90.0));
                v["p99_us"] = json!(pct(99.0));
                v["max_us"] = json!(h.histogram.max_ns as f64 / 1000.0);
                v
            })
            .collect();
        obj.insert("runq".into(), Value::Array(runq));
        obj.insert("wakeups".into(), serde_json::to_value(&self.wake_pairs).unwrap_or(Value::Null));
        obj.insert("threads".into(), serde_json::to_value(&self.threads).unwrap_or(Value::Null));
        obj.insert("alloc_sizes".into(), serde_json::to_value(&self.sizes).unwrap_or(Value::Null));
        obj.insert("warnings".into(), serde_json::to_value(&self.warnings).unwrap_or(Value::Null));
        let gc: Vec<Value> = self
            .gc
            .iter()
            .map(|g| {
                let mut v = serde_json::to_value(g).unwrap_or(Value::Null);
                v["pause_p50_us"] = json!(g.histogram.percentile_us(50.0));
                v["pause_p99_us"] = json!(g.histogram.percentile_us(99.0));
                v["pause_max_us"] = json!(g.histogram.max_ns as f64 / 1000.0);
                v
            })
            .collect();
        obj.insert("gc".into(), Value::Array(gc));
        for (key, section) in &self.sections {
            obj.insert(key.clone(), section.clone());
        }
        doc
    }

    /// Reads back what [`Report::to_json`] wrote (`armtune report` draws a JSON report as the run
    /// itself would). Fields an older armtune did not write are left empty; the top-level keys
    /// no table of its own claims are the families' sections.
    pub fn from_json(doc: &Value) -> Result<Report, serde_json::Error> {
        use serde::Deserialize;
        let obj = doc.as_object().ok_or_else(|| serde::de::Error::custom("not a JSON object"))?;
        let list = |key: &str| obj.get(key).cloned().unwrap_or(Value::Array(Vec::new()));
        let graph = |name: &str| doc["profiles"].get(name).map(Profile::deserialize).transpose();
        let alloc_bytes = graph("alloc-bytes")?;
        let alloc_calls = graph("alloc-calls")?;
        let alloc_weight = match (graph("alloc")?, &alloc_calls) {
            (Some(chosen), Some(calls)) if chosen.unit == calls.unit => AllocWeight::Count,
            _ => AllocWeight::Bytes,
        };
        const TABLES: [&str; 11] = [
            "unit",
            "meta",
            "stacks",
            "profiles",
            "debuginfod",
            "runq",
            "wakeups",
            "threads",
            "alloc_sizes",
            "warnings",
            "gc",
        ];
        Ok(Report {
            cpu: graph("cpu")?,
            off_cpu: graph("off-cpu")?,
            wakeups: graph("wakeup")?,
            runq: Deserialize::deserialize(list("runq"))?,
            wake_pairs: Deserialize::deserialize(list("wakeups"))?,
            threads: Deserialize::deserialize(list("threads"))?,
            alloc_bytes,
            alloc_calls,
            alloc_weight,
            live: graph("leak")?,
            live_blocks: graph("leak-blocks")?,
            sizes: Deserialize::deserialize(list("alloc_sizes"))?,
            warnings: Deserialize::deserialize(list("warnings"))?,
            gc: Deserialize::deserialize(list("gc"))?,
            sdt: graph("sdt")?,
            gc_assists: graph("gc-assist")?,
            sections: obj
                .iter()
                .filter(|(k, _)| !TABLES.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            meta: obj.get("meta").map(Meta::deserialize).transpose()?.unwrap_or_default(),
            debuginfod: Deserialize::deserialize(list("debuginfod"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        capture::{Capture, RawSample},
        histogram::Log2Histogram,
        profile::Unit,
        symbolize::Symbolizer,
    };

    fn capture(events: &[&str]) -> Capture {
        let mut c = Capture {
            events: crate::events::EventSet::from_names(events),
            meta: Meta { events: events.iter().map(|s| s.to_string()).collect(), frequency_hz: 100, ..Meta::default() },
            ..Capture::default()
        };
        c.samples.push(RawSample { comm: "svc".into(), user: vec![0x10], count: 4, ..RawSample::default() });
        c.off_cpu.push(RawSample {
            comm: "svc".into(),
            markers: vec!["[sleeping]".into()],
            user: vec![0x10],
            count: 7_000_000,
            ..RawSample::default()
        });
        let mut h = Log2Histogram { max_ns: 900_000, ..Default::default() };
        h.add(9, 10);
        c.runq.push(RunqHistogram { tgid: 5, comm: "svc".into(), cpu: None, histogram: h });
        c
    }

    #[test]
    fn main_profile_combines_on_and_off_cpu() {
        let r = Report::build(&capture(&["cpu", "off-cpu"]), &mut Symbolizer::new());
        let main = r.main_profile().unwrap();
        assert_eq!(main.unit, Unit::wall_us());
        assert_eq!(main.total(), 40_000 + 7_000);
        let r = Report::build(&capture(&["off-cpu"]), &mut Symbolizer::new());
        assert_eq!(r.main_profile().unwrap().unit, Unit::off_cpu_us());
        assert!(r.cpu.is_none());
    }

    #[test]
    fn json_reads_back_as_the_same_report() {
        let mut c = capture(&["cpu", "off-cpu", "runq", "alloc"]);
        c.allocs.push(RawSample { comm: "svc".into(), user: vec![0x10], count: 4096, ..RawSample::default() });
        c.alloc_calls.push(RawSample { comm: "svc".into(), user: vec![0x10], count: 2, ..RawSample::default() });
        c.sections.insert("proc".into(), json!({"processes": [{"pid": 5}]}));
        for weight in [AllocWeight::Bytes, AllocWeight::Count] {
            let r = Report::build_with(&c, &mut Symbolizer::new(), weight);
            let json = r.to_json();
            let back = Report::from_json(&json).unwrap();
            assert_eq!(back.to_json(), json);
            assert_eq!(back.alloc_weight, weight);
            let names = |r: &Report| r.flame_graphs().iter().map(|g| g.name).collect::<Vec<_>>();
            assert_eq!(names(&back), ["wall", "alloc"]);
            assert_eq!(back.runq, r.runq);
            assert_eq!(back.sections.keys().collect::<Vec<_>>(), ["proc"]);
        }
        assert!(Report::from_json(&json!([1, 2])).is_err());
        assert!(Report::from_json(&json!({"runq": "no"})).is_err());
    }

    #[test]
    fn gc_assists_draw_a_graph_only_when_there_were_some() {
        let mut c = capture(&["gc"]);
        let r = Report::build(&c, &mut Symbolizer::new());
        assert!(r.gc_assists.is_none() && r.flame_graphs().is_empty(), "a JVM, or a Go program that never assisted");
        c.gc_assists.push(RawSample {
            comm: "svc".into(),
            markers: vec!["[gc assist]".into()],
            user: vec![0x10],
            count: 3,
            ..RawSample::default()
        });
        let r = Report::build(&c, &mut Symbolizer::new());
        let graphs = r.flame_graphs();
        assert_eq!((graphs.len(), graphs[0].name, graphs[0].profile.total()), (1, "gc-assist", 3));
        assert_eq!(r.to_json()["profiles"]["gc-assist"]["unit"]["label"], "GC assists");
    }

    #[test]
    fn allocations_carry_both_totals_whichever_the_graph_weighs() {
        let mut c = capture(&["alloc"]);
        c.allocs.push(RawSample { comm: "svc".into(), user: vec![0x10], count: 4096, ..RawSample::default() });
        c.alloc_calls.push(RawSample { comm: "svc".into(), user: vec![0x10], count: 2, ..RawSample::default() });
        let r = Report::build_with(&c, &mut Symbolizer::new(), AllocWeight::Count);
        assert_eq!(r.allocs().unwrap().total(), 2, "the graph weighs calls");
        let v = r.to_json();
        assert_eq!(v["profiles"]["alloc-bytes"]["stacks"][0]["weight"], 4096);
        assert_eq!(v["profiles"]["alloc-calls"]["stacks"][0]["weight"], 2);
    }

    #[test]
    fn every_graph_of_the_report_is_named_for_flame_s_help() {
        let r = Report::build(&capture(&["cpu"]), &mut Symbolizer::new());
        let names: Vec<&str> = r.profiles().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, crate::families::graph_names().iter().map(|(n, _)| *n).collect::<Vec<_>>());
    }

    #[test]
    fn json_keeps_cpu_layout_and_adds_sections() {
        let r = Report::build(&capture(&["cpu", "runq"]), &mut Symbolizer::new());
        let v = r.to_json();
        assert_eq!(v["unit"]["name"], "samples");
        assert_eq!(v["stacks"][0]["weight"], 4);
        assert!(v["profiles"]["cpu"].is_object());
        assert_eq!(v["runq"][0]["count"], 10);
        let p50 = v["runq"][0]["p50_us"].as_f64().unwrap();
        assert!((512.0..=900.0).contains(&p50), "{p50}");
        assert_eq!(v["runq"][0]["max_us"], 900.0);
    }
}
