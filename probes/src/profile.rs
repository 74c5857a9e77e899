//! A profile as plain data: stacks of named frames with a weight, and the folded / JSON forms that
//! flame graph tools and scripts read.

use std::{
    collections::HashMap,
    io::{self, BufRead, Write},
};

use serde::{Deserialize, Serialize};

/// Where a frame ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum FrameKind {
    /// The root frame naming the process (its comm).
    Process,
    /// User-space code.
    User,
    /// Kernel code.
    Kernel,
    /// A marker, such as a lost stack.
    Marker,
    /// A frame of an off-CPU stack in a combined on/off-CPU view (coloured apart in the SVG).
    #[serde(rename = "off-cpu")]
    OffCpu,
}

/// Where the code of a frame is: its file and the function's start. For a frame without a symbol
/// (`libfoo.so+0x16940`) it is enough to name it later, from a debug file, by build-id (a pprof
/// backend), or with `armtune check`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct CodeLocation {
    /// The file, as it was mapped.
    pub file: String,
    /// Its GNU build-id, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// The function's start, as an address of the file (what `objdump -d` shows).
    pub address: u64,
    /// The function's start as an offset in the file.
    pub offset: u64,
}

/// One frame of a stack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Frame {
    /// Function name (demangled), `file+0xADDR` for code without symbols, or `[module]` /
    /// `[unknown]` when not even that is known.
    pub name: String,
    /// Where it ran.
    pub kind: FrameKind,
    /// Where the frame's code is, when it is in a file: the function's start (a `file+0xADDR`
    /// frame's too). An inlined frame has none: it ran where the frame before it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Box<CodeLocation>>,
    /// A function the compiler inlined into the frame before it (its caller): they ran at one
    /// address, which pprof writes as one location with several lines.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inlined: bool,
    /// The process id of a root process frame, where one is known (stacks of two processes with
    /// one name stay apart in the JSON and pprof outputs; folded stacks and flame graphs merge them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// A process frame's name as its name and the container or unit it ran in: `nginx [unit
/// nginx.service]` is (`nginx`, `unit nginx.service`).
pub fn split_group(name: &str) -> (&str, Option<&str>) {
    for kind in [" [container ", " [unit "] {
        if let Some((process, group)) = name.strip_suffix(']').and_then(|n| n.rsplit_once(kind)) {
            if !group.contains(']') {
                return (process, Some(&name[process.len() + 2..name.len() - 1]));
            }
        }
    }
    (name, None)
}

/// Suffix that marks kernel frames in folded stacks, as perf's and inferno's collapsers write it.
pub const KERNEL_SUFFIX: &str = "_[k]";
/// Suffix of off-CPU frames in a combined view; inferno hides it like `_[k]`.
pub const OFF_CPU_SUFFIX: &str = "_[w]";

impl Frame {
    /// A user-space frame.
    pub fn user(name: impl Into<String>) -> Frame {
        Frame::new(name, FrameKind::User)
    }
    /// A kernel frame.
    pub fn kernel(name: impl Into<String>) -> Frame {
        Frame::new(name, FrameKind::Kernel)
    }
    /// The root frame of a process.
    pub fn process(name: impl Into<String>) -> Frame {
        Frame::new(name, FrameKind::Process)
    }
    /// A marker frame.
    pub fn marker(name: impl Into<String>) -> Frame {
        Frame::new(name, FrameKind::Marker)
    }
    /// A frame of `kind`, with no location, pid or inlining.
    pub fn new(name: impl Into<String>, kind: FrameKind) -> Frame {
        Frame { name: name.into(), kind, location: None, inlined: false, pid: None }
    }

    /// Whether this is code armtune could not name, called `file+0xADDR` after its location.
    pub fn is_unnamed_code(&self) -> bool {
        self.location.as_ref().is_some_and(|l| self.name.ends_with(&format!("+{:#x}", l.address)))
    }

    /// The frame as one folded-stack element: `;` separates frames, so it cannot appear in one, and
    /// kernel frames carry [`KERNEL_SUFFIX`] so flame graphs colour them apart.
    pub fn folded_name(&self) -> String {
        let clean: String = self.name.chars().map(|c| if c == ';' || c == '\n' { ':' } else { c }).collect();
        match self.kind {
            FrameKind::Kernel => clean + KERNEL_SUFFIX,
            FrameKind::OffCpu => clean + OFF_CPU_SUFFIX,
            _ => clean,
        }
    }

    fn from_folded(element: &str, is_root: bool) -> Frame {
        if let Some(name) = element.strip_suffix(KERNEL_SUFFIX) {
            Frame::kernel(name)
        } else if let Some(name) = element.strip_suffix(OFF_CPU_SUFFIX) {
            Frame::new(name, FrameKind::OffCpu)
        } else if is_root {
            Frame::process(element)
        } else {
            Frame::user(element)
        }
    }
}

/// What the weights count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Short name used in titles and tables, e.g. "samples".
    pub name: String,
    /// How one unit is described in the flame graph, e.g. "samples" or "us off-CPU".
    pub label: String,
}

impl Unit {
    /// CPU samples.
    pub fn samples() -> Unit {
        Unit { name: "samples".into(), label: "samples".into() }
    }

    /// Microseconds off the CPU.
    pub fn off_cpu_us() -> Unit {
        Unit { name: "us".into(), label: "us off-CPU".into() }
    }

    /// Whether the weights hold time spent off the CPU (off-CPU or wall-time graphs).
    pub fn includes_off_cpu(&self) -> bool {
        *self == Unit::off_cpu_us() || *self == Unit::wall_us()
    }

    /// Microseconds of wall time (on- and off-CPU together).
    pub fn wall_us() -> Unit {
        Unit { name: "us".into(), label: "us (on-CPU + off-CPU)".into() }
    }

    /// Bytes allocated.
    pub fn bytes_allocated() -> Unit {
        Unit { name: "bytes".into(), label: "bytes allocated".into() }
    }

    /// Allocator calls.
    pub fn allocations() -> Unit {
        Unit { name: "allocations".into(), label: "allocations".into() }
    }

    /// Bytes still live at the end.
    pub fn bytes_live() -> Unit {
        Unit { name: "bytes".into(), label: "bytes live at end".into() }
    }

    /// Probe hits.
    pub fn hits() -> Unit {
        Unit { name: "hits".into(), label: "probe hits".into() }
    }

    /// Wakeups.
    pub fn wakeups() -> Unit {
        Unit { name: "wakeups".into(), label: "wakeups".into() }
    }

    /// Blocks still live at the end.
    pub fn blocks_live() -> Unit {
        Unit { name: "blocks".into(), label: "blocks live at end".into() }
    }

    /// Go mark assists.
    pub fn gc_assists() -> Unit {
        Unit { name: "assists".into(), label: "GC assists".into() }
    }
}

pub use crate::meta::{Losses, Meta};

/// Stacks (root first) with their weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// What the weights count.
    pub unit: Unit,
    /// How it was taken.
    pub meta: Meta,
    /// Stack to weight; each stack is root first (process, then user frames, then kernel frames).
    #[serde(with = "stacks_as_list")]
    pub stacks: HashMap<Vec<Frame>, u64>,
}

/// One function's share of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionShare {
    /// The function (frame name, with the kernel suffix for kernel frames).
    pub name: String,
    /// Weight where it is the leaf.
    pub self_weight: u64,
    /// Weight of stacks it appears in (counted once per stack, so recursion does not inflate it).
    pub total_weight: u64,
}

impl Profile {
    /// An empty profile.
    pub fn new(unit: Unit, meta: Meta) -> Profile {
        Profile { unit, meta, stacks: HashMap::new() }
    }

    /// Adds `weight` to `stack`.
    pub fn add(&mut self, stack: Vec<Frame>, weight: u64) {
        if weight > 0 {
            // Saturating: weights read from a file can be anything (two lines of 2^64 - 1).
            let sum = self.stacks.entry(stack).or_insert(0);
            *sum = sum.saturating_add(weight);
        }
    }

    /// Sum of all weights (at most `u64::MAX`).
    pub fn total(&self) -> u64 {
        self.stacks.values().fold(0u64, |a, &w| a.saturating_add(w))
    }

    /// The same stacks under a first frame that names the container or systemd unit each
    /// process ran in (`[container 3f2a9c1b7d8e]`, `[unit nginx.service]`), `[host]` for the
    /// rest: `--per-container`.
    pub fn by_group(&self) -> Profile {
        let mut out = Profile::new(self.unit.clone(), self.meta.clone());
        for (stack, &w) in &self.stacks {
            let group = stack.first().filter(|f| f.kind == FrameKind::Process).and_then(|f| split_group(&f.name).1);
            let mut frames = Vec::with_capacity(stack.len() + 1);
            frames.push(Frame::marker(format!("[{}]", group.unwrap_or("host"))));
            frames.extend(stack.iter().cloned());
            out.add(frames, w);
        }
        out
    }

    /// Stacks sorted by folded text, the order flame graph tools expect and diffs stay stable in.
    /// Stacks that differ only in what the text does not show (pids, locations) become one line.
    pub fn folded_lines(&self) -> Vec<(String, u64)> {
        let mut lines: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for (stack, w) in &self.stacks {
            let line = lines.entry(stack.iter().map(Frame::folded_name).collect::<Vec<_>>().join(";")).or_insert(0);
            *line = line.saturating_add(*w);
        }
        lines.into_iter().collect()
    }

    /// One wall-time view of an on-CPU and an off-CPU profile: CPU samples become microseconds
    /// (each sample stands for 1/`frequency_hz` of a second), each stack gets an `[on-CPU]` or
    /// `[off-CPU]` frame under its process, and off-CPU frames are marked to be coloured apart.
    pub fn combine(cpu: &Profile, off_cpu: &Profile) -> Profile {
        let mut meta = off_cpu.meta.clone();
        meta.frequency_hz = cpu.meta.frequency_hz;
        meta.samples = cpu.meta.samples;
        let mut out = Profile::new(Unit::wall_us(), meta);
        let us_per_sample = 1e6 / cpu.meta.frequency_hz.max(1) as f64;
        for (stack, &w) in &cpu.stacks {
            let mut frames = stack.clone();
            frames.insert(1.min(frames.len()), Frame::marker("[on-CPU]"));
            out.add(frames, (w as f64 * us_per_sample).round() as u64);
        }
        for (stack, &w) in &off_cpu.stacks {
            let mut frames: Vec<Frame> = Vec::with_capacity(stack.len() + 1);
            frames.extend(stack.first().cloned());
            frames.push(Frame::marker("[off-CPU]"));
            frames.extend(stack.iter().skip(1).map(|f| match f.kind {
                FrameKind::User | FrameKind::Kernel => Frame { kind: FrameKind::OffCpu, ..f.clone() },
                _ => f.clone(),
            }));
            out.add(frames, w);
        }
        out
    }

    /// Writes the folded form: `frame;frame;frame weight` per line.
    pub fn write_folded(&self, mut out: impl Write) -> io::Result<()> {
        for (stack, weight) in self.folded_lines() {
            writeln!(out, "{stack} {weight}")?;
        }
        Ok(())
    }

    /// Reads a folded file (as written by armtune, inferno-collapse-* or stackcollapse-*.pl).
    /// Kernel frames are recognised by their `_[k]` suffix; the first frame is taken as the process.
    pub fn read_folded(input: impl BufRead, unit: Unit) -> Result<Profile, String> {
        let mut profile = Profile::new(unit, Meta::default());
        for (n, line) in input.lines().enumerate() {
            let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
            let line = line.trim_end();
            let parsed = line.rsplit_once(' ').map(|(stack, weight)| (stack, weight.parse::<u64>()));
            // A `#` line is a comment, unless it is a stack: a process may be called `#1`.
            if line.is_empty() || (line.starts_with('#') && !matches!(parsed, Some((_, Ok(_))))) {
                continue;
            }
            let (stack, weight) =
                parsed.ok_or_else(|| format!("line {}: expected `frames count`, found {line:?}", n + 1))?;
            let weight = weight
                .map_err(|_| format!("line {}: count {:?} is not a whole number", n + 1, &line[stack.len() + 1..]))?;
            let frames = stack.split(';').enumerate().map(|(i, f)| Frame::from_folded(f, i == 0)).collect();
            profile.add(frames, weight);
        }
        profile.meta.samples = profile.total();
        Ok(profile)
    }

    /// Writes the JSON form (see the README for its fields).
    pub fn write_json(&self, out: impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(out, self).map_err(io::Error::other)
    }

    /// The innermost user-space (or off-CPU user) frame of each stack, by weight: where the program
    /// itself was when the kernel took over. For off-CPU profiles, whose self weight all sits in
    /// the scheduler, this names the blocking call sites.
    pub fn top_user_leaves(&self, n: usize) -> Vec<(String, u64)> {
        self.top_user_leaves_outside(n, "")
    }

    /// Like [`Profile::top_user_leaves`], skipping frames whose names start with `prefix` (a
    /// runtime's own functions, say); an empty prefix skips nothing.
    pub fn top_user_leaves_outside(&self, n: usize, prefix: &str) -> Vec<(String, u64)> {
        let mut by_name: HashMap<&str, u64> = HashMap::new();
        let outside = |name: &str| prefix.is_empty() || !name.starts_with(prefix);
        for (stack, &weight) in &self.stacks {
            let leaf =
                stack.iter().rev().find(|f| matches!(f.kind, FrameKind::User | FrameKind::OffCpu) && outside(&f.name));
            if let Some(f) = leaf {
                let sum = by_name.entry(f.name.as_str()).or_default();
                *sum = sum.saturating_add(weight);
            }
        }
        let mut rows: Vec<(String, u64)> = by_name.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows.truncate(n);
        rows
    }

    /// Functions ordered by self weight, and by total weight.
    pub fn top_functions(&self, n: usize) -> (Vec<FunctionShare>, Vec<FunctionShare>) {
        let mut shares: HashMap<String, FunctionShare> = HashMap::new();
        for (stack, &weight) in &self.stacks {
            let mut seen: Vec<&Frame> = Vec::with_capacity(stack.len());
            for frame in stack.iter().filter(|f| !matches!(f.kind, FrameKind::Process | FrameKind::Marker)) {
                if seen.contains(&frame) {
                    continue;
                }
                seen.push(frame);
                let name = frame.folded_name();
                let share =
                    shares.entry(name.clone()).or_insert(FunctionShare { name, self_weight: 0, total_weight: 0 });
                share.total_weight = share.total_weight.saturating_add(weight);
            }
            if let Some(leaf) = stack.last().filter(|f| !matches!(f.kind, FrameKind::Process | FrameKind::Marker)) {
                let share = shares.get_mut(&leaf.folded_name()).unwrap();
                share.self_weight = share.self_weight.saturating_add(weight);
            }
        }
        let mut by_self: Vec<FunctionShare> = shares.values().filter(|s| s.self_weight > 0).cloned().collect();
        by_self.sort_by(|a, b| b.self_weight.cmp(&a.self_weight).then_with(|| a.name.cmp(&b.name)));
        by_self.truncate(n);
        let mut by_total: Vec<FunctionShare> = shares.into_values().collect();
        by_total.sort_by(|a, b| b.total_weight.cmp(&a.total_weight).then_with(|| a.name.cmp(&b.name)));
        by_total.truncate(n);
        (by_self, by_total)
    }
}

mod stacks_as_list {
    //! JSON has no tuple keys: stacks serialize as a list of `{frames, weight}`, heaviest first.
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Entry {
        frames: Vec<Frame>,
        weight: u64,
    }

    pub fn serialize<S: Serializer>(stacks: &HashMap<Vec<Frame>, u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut list: Vec<Entry> = stacks.iter().map(|(f, w)| Entry { frames: f.clone(), weight: *w }).collect();
        list.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.frames.cmp(&b.frames)));
        list.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashMap<Vec<Frame>, u64>, D::Error> {
        let list = Vec::<Entry>::deserialize(d)?;
        let mut map = HashMap::new();
        for e in list {
            *map.entry(e.frames).or_insert(0) += e.weight;
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        let mut p = Profile::new(Unit::samples(), Meta { target: "demo".into(), ..Meta::default() });
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("hot")], 30);
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("cold")], 10);
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("write"), Frame::kernel("ksys_write")], 5);
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("hot")], 2);
        p
    }

    #[test]
    fn process_frames_say_their_container_or_unit_and_group_by_it() {
        assert_eq!(split_group("nginx [unit nginx.service]"), ("nginx", Some("unit nginx.service")));
        assert_eq!(split_group("app [77] [container 3f2a9c1b7d8e]"), ("app [77]", Some("container 3f2a9c1b7d8e")));
        assert_eq!(split_group("app [77]"), ("app [77]", None));
        assert_eq!(split_group("odd [unit a] b]"), ("odd [unit a] b]", None));
        let mut p = Profile::new(Unit::samples(), Meta::default());
        p.add(vec![Frame::process("nginx [unit nginx.service]"), Frame::user("main")], 3);
        p.add(vec![Frame::process("bash"), Frame::user("main")], 2);
        p.add(vec![Frame::kernel("idle")], 1);
        let lines = p.by_group().folded_lines();
        assert_eq!(
            lines,
            [
                ("[host];bash;main".to_string(), 2),
                ("[host];idle_[k]".to_string(), 1),
                ("[unit nginx.service];nginx [unit nginx.service];main".to_string(), 3)
            ]
        );
    }

    #[test]
    fn stacks_of_two_processes_with_one_name_stay_apart_but_fold_into_one_line() {
        let mut p = Profile::new(Unit::samples(), Meta::default());
        for (pid, weight) in [(7, 3), (8, 4)] {
            p.add(vec![Frame { pid: Some(pid), ..Frame::process("sh") }, Frame::user("main")], weight);
        }
        assert_eq!(p.stacks.len(), 2);
        assert_eq!(p.folded_lines(), [("sh;main".to_string(), 7)]);
        let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        let pids: Vec<&serde_json::Value> =
            json["stacks"].as_array().unwrap().iter().map(|s| &s["frames"][0]["pid"]).collect();
        assert!(pids.contains(&&serde_json::json!(7)) && pids.contains(&&serde_json::json!(8)), "{json}");
    }

    #[test]
    fn folded_is_sorted_and_merges_equal_stacks() {
        let mut out = Vec::new();
        sample().write_folded(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "demo;main;cold 10\ndemo;main;hot 32\ndemo;main;write;ksys_write_[k] 5\n"
        );
    }

    #[test]
    fn folded_round_trips_including_kernel_frames() {
        let p = sample();
        let mut out = Vec::new();
        p.write_folded(&mut out).unwrap();
        let back = Profile::read_folded(out.as_slice(), Unit::samples()).unwrap();
        assert_eq!(back.stacks, p.stacks);
        assert_eq!(back.meta.samples, 47);
    }

    #[test]
    fn separators_inside_names_are_replaced() {
        let f = Frame::user("operator;weird\nname");
        assert_eq!(f.folded_name(), "operator:weird:name");
    }

    #[test]
    fn bad_folded_lines_name_the_line() {
        let err = Profile::read_folded("a;b 1\na;b x\n".as_bytes(), Unit::samples()).unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        let err = Profile::read_folded("nocount\n".as_bytes(), Unit::samples()).unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
    }

    #[test]
    fn json_round_trips_and_lists_heaviest_first() {
        let p = sample();
        let mut out = Vec::new();
        p.write_json(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["stacks"][0]["weight"], 32);
        assert_eq!(v["stacks"][0]["frames"][2]["name"], "hot");
        assert_eq!(v["stacks"][2]["frames"][3]["kind"], "kernel");
        let back: Profile = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn combine_puts_both_on_one_microsecond_scale() {
        let mut cpu = Profile::new(Unit::samples(), Meta { frequency_hz: 100, samples: 3, ..Meta::default() });
        cpu.add(vec![Frame::process("svc"), Frame::user("main"), Frame::user("work")], 3);
        let mut off = Profile::new(Unit::off_cpu_us(), Meta::default());
        off.add(
            vec![Frame::process("svc"), Frame::marker("[sleeping]"), Frame::user("main"), Frame::kernel("schedule")],
            50_000,
        );
        let wall = Profile::combine(&cpu, &off);
        assert_eq!(wall.unit, Unit::wall_us());
        assert_eq!(wall.total(), 30_000 + 50_000, "3 samples at 100 Hz are 30 ms");
        let lines = wall.folded_lines();
        assert_eq!(lines[0].0, "svc;[off-CPU];[sleeping];main_[w];schedule_[w]");
        assert_eq!(lines[1].0, "svc;[on-CPU];main;work");
        let mut out = Vec::new();
        wall.write_folded(&mut out).unwrap();
        let back = Profile::read_folded(out.as_slice(), Unit::wall_us()).unwrap();
        assert!(back.stacks.keys().any(|s| s[3].kind == FrameKind::OffCpu));
    }

    #[test]
    fn top_user_leaves_skip_kernel_frames() {
        let mut p = Profile::new(Unit::off_cpu_us(), Meta::default());
        p.add(
            vec![Frame::process("svc"), Frame::user("main"), Frame::user("read_config"), Frame::kernel("schedule")],
            700,
        );
        p.add(
            vec![Frame::process("svc"), Frame::user("main"), Frame::user("wait_lock"), Frame::kernel("schedule")],
            300,
        );
        p.add(vec![Frame::process("svc"), Frame::kernel("kthread")], 50);
        assert_eq!(p.top_user_leaves(5), [("read_config".to_string(), 700), ("wait_lock".to_string(), 300)]);
    }

    #[test]
    fn top_user_leaves_outside_a_runtime() {
        let mut p = Profile::new(Unit::gc_assists(), Meta::default());
        let go = |names: &[&str]| {
            let mut stack = vec![Frame::process("svc"), Frame::marker("[gc assist]")];
            stack.extend(names.iter().map(|&n| Frame::user(n)));
            stack
        };
        p.add(go(&["main.main", "main.build", "runtime.newobject", "runtime.gcAssistAlloc"]), 5);
        p.add(go(&["main.main", "main.load", "runtime.makeslice", "runtime.gcAssistAlloc"]), 2);
        p.add(go(&["runtime.bgsweep", "runtime.gcAssistAlloc"]), 1);
        assert_eq!(p.top_user_leaves_outside(5, "runtime."), [("main.build".into(), 5), ("main.load".into(), 2)]);
        assert_eq!(p.top_user_leaves(1), [("runtime.gcAssistAlloc".to_string(), 8)]);
    }

    #[test]
    fn losses_name_only_what_was_lost_and_the_remedy() {
        assert!(Losses::default().describe().is_empty());
        let lost = Losses { live_blocks: 7, gc_assists: 2, ..Losses::default() };
        let said = lost.describe();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].starts_with("7 live blocks") && said[0].contains("raise --live-map-size"), "{said:?}");
        assert!(said[1].starts_with("2 GC assists"), "{said:?}");
    }

    #[test]
    fn top_functions_by_self_and_total() {
        let mut p = sample();
        // Recursion must not count a stack twice in the total.
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("rec"), Frame::user("rec")], 3);
        let (by_self, by_total) = p.top_functions(10);
        assert_eq!(by_self[0].name, "hot");
        assert_eq!(by_self[0].self_weight, 32);
        assert_eq!(by_total[0].name, "main");
        assert_eq!(by_total[0].total_weight, 50);
        let rec = by_total.iter().find(|s| s.name == "rec").unwrap();
        assert_eq!((rec.self_weight, rec.total_weight), (3, 3));
        assert!(by_total.iter().any(|s| s.name == "ksys_write_[k]"));
        assert!(by_self.iter().all(|s| s.name != "demo"), "process frame is not a function");
    }
}
