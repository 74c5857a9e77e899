//! pprof's `profile.proto`, the format `go tool pprof`, Pyroscope, Parca and Grafana share:
//! armtune's profiles written in it ([`encode`]), and profiles in it (Go's `runtime/pprof` and
//! `net/http/pprof`, other tools, armtune's own) read as armtune's ([`decode`]).
//!
//! The messages are declared here with prost's derive, field numbers as in pprof's
//! `proto/profile.proto`: no protoc at build time.

use std::{
    collections::HashMap,
    io::{self, Read, Write},
};

use crate::profile::{CodeLocation, Frame, FrameKind, Meta, Profile, Unit};

/// The `profile.proto` messages armtune reads and writes.
pub mod proto {
    /// A profile: sample types, samples, and the tables they index.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        /// What each value of a sample measures.
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        /// The samples.
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        /// Where code was mapped.
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        /// Code locations the samples' stacks are made of.
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        /// Functions the locations' lines name.
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        /// Every string, indexed by the other fields; the first is "".
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        /// Frames to drop (a regex, as a string index).
        #[prost(int64, tag = "7")]
        pub drop_frames: i64,
        /// Frames to keep (a regex, as a string index).
        #[prost(int64, tag = "8")]
        pub keep_frames: i64,
        /// When the profile was taken, ns since the epoch.
        #[prost(int64, tag = "9")]
        pub time_nanos: i64,
        /// How long it covers, ns.
        #[prost(int64, tag = "10")]
        pub duration_nanos: i64,
        /// What one sampling period measures.
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        /// The sampling period, in `period_type` units.
        #[prost(int64, tag = "12")]
        pub period: i64,
        /// Free-form comments (string indexes).
        #[prost(int64, repeated, tag = "13")]
        pub comment: Vec<i64>,
        /// The sample type shown by default (a string index; 0: the last).
        #[prost(int64, tag = "14")]
        pub default_sample_type: i64,
    }

    /// A measure and its unit (string indexes).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        /// e.g. "cpu", "alloc_space".
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        /// e.g. "nanoseconds", "bytes", "count".
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    /// One stack with its values.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// The stack's locations, leaf first.
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        /// One value per sample type.
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
        /// Labels (pid, thread name, ...).
        #[prost(message, repeated, tag = "3")]
        pub label: Vec<Label>,
    }

    /// A sample's label: a string or a number.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// The key (string index).
        #[prost(int64, tag = "1")]
        pub key: i64,
        /// A string value (string index), or 0.
        #[prost(int64, tag = "2")]
        pub str: i64,
        /// A numeric value.
        #[prost(int64, tag = "3")]
        pub num: i64,
        /// The numeric value's unit (string index).
        #[prost(int64, tag = "4")]
        pub num_unit: i64,
    }

    /// A file (or the kernel) mapped into the profiled address space.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        /// Its id (1-based).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// First address.
        #[prost(uint64, tag = "2")]
        pub memory_start: u64,
        /// One past the last address.
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
        /// File offset of `memory_start`.
        #[prost(uint64, tag = "4")]
        pub file_offset: u64,
        /// The file (string index).
        #[prost(int64, tag = "5")]
        pub filename: i64,
        /// Its build-id, hex (string index).
        #[prost(int64, tag = "6")]
        pub build_id: i64,
        /// Whether its locations have functions.
        #[prost(bool, tag = "7")]
        pub has_functions: bool,
        /// Whether they have file names.
        #[prost(bool, tag = "8")]
        pub has_filenames: bool,
        /// Whether they have line numbers.
        #[prost(bool, tag = "9")]
        pub has_line_numbers: bool,
        /// Whether they have inlined frames.
        #[prost(bool, tag = "10")]
        pub has_inline_frames: bool,
    }

    /// A code location: an address, and the (inlined) functions it is in.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        /// Its id (1-based).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// The mapping holding it, or 0.
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        /// The address, or 0.
        #[prost(uint64, tag = "3")]
        pub address: u64,
        /// The functions, innermost (inlined) first, the function they were inlined into last.
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
        /// Whether several functions were folded into this one location.
        #[prost(bool, tag = "5")]
        pub is_folded: bool,
    }

    /// A function at a line.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        /// The function.
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        /// The line, or 0.
        #[prost(int64, tag = "2")]
        pub line: i64,
        /// The column, or 0.
        #[prost(int64, tag = "3")]
        pub column: i64,
    }

    /// A function.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        /// Its id (1-based).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// The name shown (string index).
        #[prost(int64, tag = "2")]
        pub name: i64,
        /// The symbol (string index).
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        /// The source file (string index).
        #[prost(int64, tag = "4")]
        pub filename: i64,
        /// The line it starts at.
        #[prost(int64, tag = "5")]
        pub start_line: i64,
    }
}

/// The endings of pprof files' names that ask armtune for pprof output; the first is what it
/// writes when a name has none.
pub const FILE_ENDINGS: [&str; 3] = [".pb.gz", ".pb", ".pprof"];

/// Whether a file name asks for pprof ([`FILE_ENDINGS`]).
pub fn is_pprof_name(path: &std::path::Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    FILE_ENDINGS.iter().any(|e| name.ends_with(e))
}

/// The name armtune gives the kernel's mapping, as perf does: kernel frames are told apart by it.
pub const KERNEL_MAPPING: &str = "[kernel.kallsyms]";
/// The label carrying a sample's process name (armtune's root frame).
pub const COMM_LABEL: &str = "comm";
/// The numeric label carrying a sample's thread id (`--per-thread`).
pub const TID_LABEL: &str = "tid";
/// The numeric label carrying a sample's process id.
pub const PID_LABEL: &str = "pid";
/// The label carrying a sample's thread name (`--per-thread`).
pub const THREAD_NAME_LABEL: &str = "thread_name";
/// The labels carrying the container id or the systemd unit a sample's process ran in.
pub const GROUP_LABELS: [&str; 2] = ["container", "unit"];

/// A root frame's name as its parts: `comm [tid]` (`--per-thread`) or `comm`.
fn split_root(name: &str) -> (&str, Option<i64>) {
    name.strip_suffix(']')
        .and_then(|rest| rest.rsplit_once(" ["))
        .and_then(|(comm, tid)| Some((comm, Some(tid.parse().ok()?))))
        .unwrap_or((name, None))
}

/// One sample type of a profile to write: the armtune profile whose weights it takes, scaled.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// The stacks and weights.
    pub profile: &'a Profile,
    /// pprof's sample type (`cpu`, `alloc_space`, ...).
    pub kind: &'a str,
    /// Its unit (`nanoseconds`, `bytes`, `count`).
    pub unit: &'a str,
    /// Each weight is multiplied by this (microseconds to nanoseconds: 1000).
    pub scale: i64,
}

/// A sampling period: what one sample stands for (`cpu`, `nanoseconds`, 10,101,010 at 99 Hz).
#[derive(Debug, Clone, Copy)]
pub struct Period<'a> {
    /// What it measures.
    pub kind: &'a str,
    /// Its unit.
    pub unit: &'a str,
    /// How much.
    pub value: i64,
}

/// The sample type pprof's users know for the weights of `profile`, by its unit: `samples/count`
/// (with `cpu/nanoseconds` beside it when the sampling frequency is known, and the period to go
/// with it), `off_cpu/nanoseconds`, `alloc_space/bytes`, `inuse_objects/count`, ...; a profile
/// read from pprof keeps the type it was read as. Anything else is `UNIT/count`.
pub fn columns_of(profile: &Profile) -> (Vec<Column<'_>>, Option<Period<'_>>) {
    let column = |kind, unit, scale| Column { profile, kind, unit, scale };
    let period_ns = 1_000_000_000 / profile.meta.frequency_hz.max(1) as i64;
    let unit = &profile.unit;
    if unit.label == "samples" && profile.meta.frequency_hz > 0 {
        let columns = vec![column("samples", "count", 1), column("cpu", "nanoseconds", period_ns)];
        return (columns, Some(Period { kind: "cpu", unit: "nanoseconds", value: period_ns }));
    }
    let known = SAMPLE_TYPES.iter().find(|(label, ..)| *label == unit.label);
    let one = match (known, unit.label.strip_suffix(&format!(" ({})", unit.name))) {
        (Some(&(_, kind, unit, scale)), _) => column(kind, unit, scale),
        // As `decode` names a sample type: "alloc_space (bytes)".
        (None, Some(kind)) => column(kind, &unit.name, 1),
        (None, None) => column(&unit.name, "count", 1),
    };
    (vec![one], None)
}

/// armtune's unit labels and the pprof sample types (type, unit, scale) they become.
const SAMPLE_TYPES: &[(&str, &str, &str, i64)] = &[
    ("samples", "samples", "count", 1),
    ("us off-CPU", "off_cpu", "nanoseconds", 1000),
    ("us (on-CPU + off-CPU)", "wall", "nanoseconds", 1000),
    ("bytes allocated", "alloc_space", "bytes", 1),
    ("allocations", "alloc_objects", "count", 1),
    ("bytes live at end", "inuse_space", "bytes", 1),
    ("blocks live at end", "inuse_objects", "count", 1),
    ("probe hits", "hits", "count", 1),
    ("wakeups", "wakeups", "count", 1),
    ("GC assists", "gc_assists", "count", 1),
];

/// Builds `profile.proto` messages, interning strings, functions, mappings and locations.
#[derive(Default)]
struct Builder {
    profile: proto::Profile,
    strings: HashMap<String, i64>,
    functions: HashMap<(String, FrameKind), u64>,
    mappings: HashMap<(String, Option<String>, u64), u64>,
    locations: HashMap<Vec<Frame>, u64>,
}

impl Builder {
    fn new() -> Builder {
        let mut b = Builder::default();
        b.string("");
        b
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.profile.string_table.len() as i64;
        self.profile.string_table.push(s.to_string());
        self.strings.insert(s.to_string(), i);
        i
    }

    fn value_type(&mut self, kind: &str, unit: &str) -> proto::ValueType {
        proto::ValueType { r#type: self.string(kind), unit: self.string(unit) }
    }

    /// The labels of a root frame: `comm`, `pid` where known, and per thread `tid` and
    /// `thread_name`.
    fn root_labels(&mut self, root: &Frame) -> Vec<proto::Label> {
        let (name, group) = crate::profile::split_group(&root.name);
        let (comm, tid) = split_root(name);
        let (comm_key, comm) = (self.string(COMM_LABEL), self.string(comm));
        let mut labels = vec![proto::Label { key: comm_key, str: comm, ..Default::default() }];
        if let Some(pid) = root.pid {
            labels.push(proto::Label { key: self.string(PID_LABEL), num: pid.into(), ..Default::default() });
        }
        if let Some(tid) = tid {
            labels.push(proto::Label { key: self.string(TID_LABEL), num: tid, ..Default::default() });
            labels.push(proto::Label { key: self.string(THREAD_NAME_LABEL), str: comm, ..Default::default() });
        }
        if let Some((kind, value)) = group.and_then(|g| g.split_once(' ')) {
            labels.push(proto::Label { key: self.string(kind), str: self.string(value), ..Default::default() });
        }
        labels
    }

    fn function(&mut self, frame: &Frame) -> u64 {
        let key = (frame.name.clone(), frame.kind);
        if let Some(&id) = self.functions.get(&key) {
            return id;
        }
        let id = self.profile.function.len() as u64 + 1;
        let name = self.string(&frame.name);
        self.profile.function.push(proto::Function { id, name, system_name: name, ..Default::default() });
        self.functions.insert(key, id);
        id
    }

    /// The mapping of a file: one per file, build-id and the difference between its code's file
    /// offsets and addresses (0 for nearly every file), so that `address - memory_start +
    /// file_offset` is the code's file offset, as pprof computes it. A mapping with any code
    /// armtune could not name says it lacks functions, so that a backend symbolizes it.
    fn mapping(&mut self, file: &str, build_id: Option<&str>, delta: u64, named: bool) -> u64 {
        let key = (file.to_string(), build_id.map(str::to_string), delta);
        if let Some(&id) = self.mappings.get(&key) {
            let m = &mut self.profile.mapping[id as usize - 1];
            m.has_functions &= named;
            return id;
        }
        let id = self.profile.mapping.len() as u64 + 1;
        let filename = self.string(file);
        let build_id = build_id.map_or(0, |b| self.string(b));
        self.profile.mapping.push(proto::Mapping {
            id,
            memory_start: 0,
            memory_limit: u64::MAX,
            file_offset: delta,
            filename,
            build_id,
            has_functions: named,
            ..Default::default()
        });
        self.mappings.insert(key, id);
        id
    }

    /// The location of `frames`: a function and those inlined into it, outermost first. Its
    /// address is the function's start in its file's mapping, when armtune knows the file.
    fn location(&mut self, frames: &[Frame]) -> u64 {
        if let Some(&id) = self.locations.get(frames) {
            return id;
        }
        let id = self.profile.location.len() as u64 + 1;
        let outer = &frames[0];
        let (mapping_id, address) = match (&outer.location, outer.kind) {
            // Code armtune could not name keeps its file, build-id and address, for a backend to
            // symbolize; its line still shows armtune's `file+0xADDR`.
            (Some(loc), _) => {
                let delta = loc.offset.wrapping_sub(loc.address);
                (self.mapping(&loc.file, loc.build_id.as_deref(), delta, !outer.is_unnamed_code()), loc.address)
            }
            (None, FrameKind::Kernel) => (self.mapping(KERNEL_MAPPING, None, 0, true), 0),
            (None, _) => (0, 0),
        };
        // pprof lists a location's lines innermost first.
        let line =
            frames.iter().rev().map(|f| proto::Line { function_id: self.function(f), ..Default::default() }).collect();
        self.profile.location.push(proto::Location { id, mapping_id, address, line, is_folded: false });
        self.locations.insert(frames.to_vec(), id);
        id
    }
}

/// The `profile.proto` message of `columns` (profiles of the same run over the same stacks, one
/// per sample type): one sample per stack with a value per column (0 where a column lacks it).
/// A stack's root process frame becomes its `comm` label.
pub fn build(columns: &[Column], period: Option<Period>, meta: &Meta) -> proto::Profile {
    let mut b = Builder::new();
    b.profile.sample_type = columns.iter().map(|c| b.value_type(c.kind, c.unit)).collect();
    let mut values: HashMap<&Vec<Frame>, Vec<i64>> = HashMap::new();
    for (i, column) in columns.iter().enumerate() {
        for (stack, &weight) in &column.profile.stacks {
            let row = values.entry(stack).or_insert_with(|| vec![0; columns.len()]);
            row[i] = row[i].saturating_add(i64::try_from(weight).unwrap_or(i64::MAX).saturating_mul(column.scale));
        }
    }
    // Heaviest first (by the first column), then by stack: the same input writes the same bytes.
    let mut rows: Vec<(&Vec<Frame>, Vec<i64>)> = values.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    for (stack, value) in rows {
        // `--per-container`'s group frame is left out: the root's labels say it.
        let grouped = stack.len() > 1 && stack[0].kind == FrameKind::Marker && stack[1].kind == FrameKind::Process;
        let stack = if grouped { &stack[1..] } else { &stack[..] };
        let (root, frames) = match stack.first() {
            Some(f) if f.kind == FrameKind::Process => (Some(f), &stack[1..]),
            _ => (None, stack),
        };
        // Leaf first, as pprof orders a sample's locations.
        let location_id = frames.chunk_by(|_, next| next.inlined).rev().map(|run| b.location(run)).collect();
        let label = root.map(|r| b.root_labels(r)).unwrap_or_default();
        b.profile.sample.push(proto::Sample { location_id, value, label });
    }
    if let Some(p) = period {
        b.profile.period_type = Some(b.value_type(p.kind, p.unit));
        b.profile.period = p.value;
    }
    order_mappings(&mut b.profile);
    b.profile.duration_nanos = (meta.duration_secs * 1e9) as i64;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    b.profile.time_nanos = (now.as_nanos() as i64).saturating_sub(b.profile.duration_nanos);
    let comment = format!("armtune {}: {}", env!("CARGO_PKG_VERSION"), meta.target);
    b.profile.comment = vec![b.string(&comment)];
    b.profile
}

/// Puts the main program's mapping first and the kernel's last: pprof's tools title a profile
/// with its first mapping, which is the main program's by their convention. The main program is
/// taken to be where most of the weight's stacks start (`_start`, Go's `runtime.goexit`).
fn order_mappings(p: &mut proto::Profile) {
    let kernel_name = p.string_table.iter().position(|s| s == KERNEL_MAPPING).map(|i| i as i64);
    let kernel = p.mapping.iter().find(|m| Some(m.filename) == kernel_name).map(|m| m.id);
    let mapping_of: HashMap<u64, u64> = p.location.iter().map(|l| (l.id, l.mapping_id)).collect();
    let mut starts: HashMap<u64, i64> = HashMap::new();
    for sample in &p.sample {
        let outermost =
            sample.location_id.iter().rev().filter_map(|id| mapping_of.get(id)).find(|&&m| m != 0 && Some(m) != kernel);
        if let Some(&m) = outermost {
            let start = starts.entry(m).or_insert(0);
            *start = start.saturating_add(sample.value.first().copied().unwrap_or(0).max(0));
        }
    }
    let main = starts.into_iter().max_by_key(|&(id, weight)| (weight, std::cmp::Reverse(id))).map(|(id, _)| id);
    // A stable sort keeps the others in the order they were first met.
    p.mapping.sort_by_key(|m| {
        if Some(m.id) == main {
            0
        } else if Some(m.id) == kernel {
            2
        } else {
            1
        }
    });
    let renumbered: HashMap<u64, u64> = p
        .mapping
        .iter_mut()
        .enumerate()
        .map(|(i, m)| (std::mem::replace(&mut m.id, i as u64 + 1), i as u64 + 1))
        .collect();
    for loc in &mut p.location {
        if let Some(&id) = renumbered.get(&loc.mapping_id) {
            loc.mapping_id = id;
        }
    }
}

/// Writes `profile` gzipped, as pprof's tools write and read it.
pub fn write(profile: &proto::Profile, out: impl Write) -> io::Result<()> {
    use prost::Message;
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    gz.write_all(&profile.encode_to_vec())?;
    gz.finish()?;
    Ok(())
}

/// Whether `bytes` are to be read as pprof rather than text: gzip (as pprof's tools write it), or
/// anything that is not UTF-8 (a protobuf's varints are not).
pub fn looks_like_pprof(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b]) || std::str::from_utf8(bytes).is_err()
}

/// Why a pprof file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not gzip nor a profile.
    #[error("not a pprof profile ({0})")]
    Malformed(String),
    /// The sample type asked for is not in the profile.
    #[error("no sample type {asked} in this profile (it has {have})")]
    NoSuchSampleType {
        /// What was asked.
        asked: String,
        /// What there is, comma-separated.
        have: String,
    },
}

/// The sample types of a decoded profile, as `type/unit`.
fn sample_types(p: &proto::Profile) -> Vec<String> {
    p.sample_type.iter().map(|t| format!("{}/{}", string_at(p, t.r#type), string_at(p, t.unit))).collect()
}

/// String `i` of `p`'s table ("" when out of range, as for a field left unset).
fn string_at(p: &proto::Profile, i: i64) -> &str {
    p.string_table.get(i as usize).map_or("", String::as_str)
}

/// Decodes a pprof file (gzipped or not) into an armtune profile of one sample type: `sample_type`
/// by its type (`alloc_space`) or `type/unit`, or by default the profile's default sample type,
/// else the last, as pprof picks. Stacks are root first; each location's inlined functions become
/// frames of their own; a sample's `comm` label (armtune's) becomes the root process frame;
/// locations without functions are named `file+0xADDR` from their mapping, or `[unknown]`.
pub fn decode(bytes: &[u8], sample_type: Option<&str>) -> Result<Profile, ReadError> {
    use prost::Message;
    let raw;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| ReadError::Malformed(e.to_string()))?;
        raw = out;
        &raw[..]
    } else {
        bytes
    };
    let p = proto::Profile::decode(bytes).map_err(|e| ReadError::Malformed(e.to_string()))?;
    let types = sample_types(&p);
    let s = |i: i64| string_at(&p, i);
    let index = match sample_type {
        Some(asked) => types.iter().position(|t| t == asked || t.split('/').next() == Some(asked)),
        None => {
            let default = s(p.default_sample_type);
            let by_default = (p.default_sample_type != 0)
                .then(|| p.sample_type.iter().position(|t| s(t.r#type) == default))
                .flatten();
            by_default.or(types.len().checked_sub(1))
        }
    };
    let Some(index) = index else {
        return Err(ReadError::NoSuchSampleType {
            asked: sample_type.unwrap_or("(the default)").to_string(),
            have: if types.is_empty() { "none".into() } else { types.join(", ") },
        });
    };
    let (kind, unit) = types[index].split_once('/').unwrap_or(("", ""));
    let mut profile = Profile::new(
        Unit { name: unit.to_string(), label: format!("{kind} ({unit})") },
        Meta { duration_secs: p.duration_nanos as f64 / 1e9, ..Meta::default() },
    );
    let frames = Frames::new(&p);
    let keys = RootKeys::of(&p);
    for sample in &p.sample {
        let value = sample.value.get(index).copied().unwrap_or(0);
        if value <= 0 {
            continue;
        }
        let mut stack: Vec<Frame> = keys.root_frame(sample, &p).into_iter().collect();
        for id in sample.location_id.iter().rev() {
            stack.extend(frames.of(*id).iter().cloned());
        }
        profile.add(stack, value as u64);
    }
    Ok(profile)
}

/// Where a profile's string table holds the label keys a root frame is made of.
struct RootKeys {
    comm: Option<i64>,
    tid: Option<i64>,
    pid: Option<i64>,
    /// [`GROUP_LABELS`] with their string indexes.
    groups: [(&'static str, Option<i64>); 2],
}

impl RootKeys {
    fn of(p: &proto::Profile) -> RootKeys {
        let key = |name: &str| p.string_table.iter().position(|x| x == name).map(|i| i as i64);
        RootKeys {
            comm: key(COMM_LABEL),
            tid: key(TID_LABEL),
            pid: key(PID_LABEL),
            groups: GROUP_LABELS.map(|g| (g, key(g))),
        }
    }

    /// A sample's root frame from its `comm` (`tid`, `pid`) labels: armtune's, written by [`build`].
    fn root_frame(&self, sample: &proto::Sample, p: &proto::Profile) -> Option<Frame> {
        let comm = sample.label.iter().find(|l| Some(l.key) == self.comm && l.str != 0)?;
        let num = |key: Option<i64>| sample.label.iter().find(|l| key.is_some() && Some(l.key) == key).map(|l| l.num);
        let mut name = match num(self.tid) {
            Some(tid) => format!("{} [{tid}]", string_at(p, comm.str)),
            None => string_at(p, comm.str).to_string(),
        };
        for (kind, key) in self.groups {
            if let Some(label) = sample.label.iter().find(|l| key.is_some() && Some(l.key) == key && l.str != 0) {
                name = format!("{name} [{kind} {}]", string_at(p, label.str));
            }
        }
        let pid = num(self.pid).and_then(|pid| u32::try_from(pid).ok());
        Some(Frame { pid, ..Frame::process(name) })
    }
}

/// The frames of each location of a decoded profile, root first (the function inlined into last).
struct Frames {
    by_location: HashMap<u64, Vec<Frame>>,
}

impl Frames {
    fn new(p: &proto::Profile) -> Frames {
        let s = |i: i64| string_at(p, i);
        let functions: HashMap<u64, &str> =
            p.function.iter().map(|f| (f.id, if f.name != 0 { s(f.name) } else { s(f.system_name) })).collect();
        let mappings: HashMap<u64, &proto::Mapping> = p.mapping.iter().map(|m| (m.id, m)).collect();
        let mut by_location = HashMap::new();
        for loc in &p.location {
            let mapping = mappings.get(&loc.mapping_id);
            let kernel = mapping.is_some_and(|m| s(m.filename) == KERNEL_MAPPING);
            let frame = |name: &str| if kernel { Frame::kernel(name) } else { Frame::user(name) };
            let mut frames: Vec<Frame> =
                loc.line.iter().rev().filter_map(|l| functions.get(&l.function_id)).map(|n| frame(n)).collect();
            for inlined in frames.iter_mut().skip(1) {
                inlined.inlined = true;
            }
            if frames.is_empty() {
                frames.push(match mapping {
                    Some(m) if m.filename != 0 => unnamed(s(m.filename), s(m.build_id), m, loc.address),
                    _ => Frame::user("[unknown]"),
                });
            }
            by_location.insert(loc.id, frames);
        }
        Frames { by_location }
    }

    fn of(&self, id: u64) -> &[Frame] {
        self.by_location.get(&id).map_or(&[], Vec::as_slice)
    }
}

/// A location with a mapping but no function: `file+0xADDR`, as armtune names code without
/// symbols, keeping where it is.
fn unnamed(file: &str, build_id: &str, m: &proto::Mapping, address: u64) -> Frame {
    let base = file.rsplit('/').next().unwrap_or(file);
    let offset = address.wrapping_sub(m.memory_start).wrapping_add(m.file_offset);
    let location = CodeLocation {
        file: file.to_string(),
        build_id: (!build_id.is_empty()).then(|| build_id.to_string()),
        address,
        offset,
    };
    Frame { location: Some(Box::new(location)), ..Frame::user(format!("{base}+{address:#x}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(p: &Profile) -> String {
        let mut out = Vec::new();
        p.write_folded(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A CPU profile with a kernel part, an unnamed frame and a marker.
    fn sample_profile() -> Profile {
        let mut p = Profile::new(Unit::samples(), Meta { duration_secs: 2.0, frequency_hz: 99, ..Meta::default() });
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("work_major")], 30);
        p.add(vec![Frame::process("demo"), Frame::user("main"), Frame::user("write"), Frame::kernel("vfs_write")], 7);
        let location = CodeLocation {
            file: "/usr/lib/libz.so.1".into(),
            build_id: Some("ab12".into()),
            address: 0x3_1000,
            offset: 0x3_1000,
        };
        let unnamed = Frame { location: Some(Box::new(location)), ..Frame::user("libz.so.1+0x31000") };
        p.add(vec![Frame::process("demo"), Frame::marker("[truncated stack]"), unnamed], 2);
        p
    }

    fn encoded(p: &proto::Profile, gzip: bool) -> Vec<u8> {
        if !gzip {
            return prost::Message::encode_to_vec(p);
        }
        let mut out = Vec::new();
        write(p, &mut out).unwrap();
        out
    }

    #[test]
    fn round_trips_stacks_kernel_frames_and_process_roots() {
        let p = sample_profile();
        let columns = [
            Column { profile: &p, kind: "samples", unit: "count", scale: 1 },
            Column { profile: &p, kind: "cpu", unit: "nanoseconds", scale: 10_101_010 },
        ];
        let built = build(&columns, Some(Period { kind: "cpu", unit: "nanoseconds", value: 10_101_010 }), &p.meta);
        assert_eq!(built.sample.len(), 3);
        assert_eq!(built.duration_nanos, 2_000_000_000);
        for gzip in [true, false] {
            let bytes = encoded(&built, gzip);
            assert!(looks_like_pprof(&bytes), "gzip {gzip}");
            let samples = decode(&bytes, Some("samples")).unwrap();
            assert_eq!(folded(&samples), folded(&p), "gzip {gzip}");
            // The default is the last sample type, as pprof picks: the nanoseconds.
            let cpu = decode(&bytes, None).unwrap();
            assert_eq!(cpu.total(), 39 * 10_101_010);
            assert_eq!(cpu.unit.name, "nanoseconds");
        }
    }

    #[test]
    fn per_thread_roots_become_tid_and_thread_name_labels_and_come_back() {
        let mut p = Profile::new(Unit::samples(), Meta::default());
        p.add(vec![Frame::process("worker [4242]"), Frame::user("main")], 3);
        p.add(vec![Frame::process("svc"), Frame::user("main")], 2);
        let built = build(&[Column { profile: &p, kind: "samples", unit: "count", scale: 1 }], None, &p.meta);
        let s = |i: i64| built.string_table[i as usize].as_str();
        let threaded = &built.sample[0].label;
        let labels: Vec<(&str, &str, i64)> = threaded.iter().map(|l| (s(l.key), s(l.str), l.num)).collect();
        assert_eq!(labels, [("comm", "worker", 0), ("tid", "", 4242), ("thread_name", "worker", 0)]);
        assert_eq!(built.sample[1].label.len(), 1, "no thread: comm only");
        assert_eq!(folded(&decode(&encoded(&built, true), None).unwrap()), folded(&p));
    }

    #[test]
    fn containers_and_units_become_labels_and_come_back() {
        let mut p = Profile::new(Unit::samples(), Meta::default());
        p.add(vec![Frame::process("nginx [unit nginx.service]"), Frame::user("main")], 3);
        p.add(vec![Frame::process("app [77] [container 3f2a9c1b7d8e]"), Frame::user("main")], 2);
        let built = build(&[Column { profile: &p, kind: "samples", unit: "count", scale: 1 }], None, &p.meta);
        let s = |i: i64| built.string_table[i as usize].as_str();
        let labels =
            |i: usize| -> Vec<(&str, &str)> { built.sample[i].label.iter().map(|l| (s(l.key), s(l.str))).collect() };
        assert_eq!(labels(0), [("comm", "nginx"), ("unit", "nginx.service")]);
        assert_eq!(labels(1), [("comm", "app"), ("tid", ""), ("thread_name", "app"), ("container", "3f2a9c1b7d8e")]);
        assert_eq!(folded(&decode(&encoded(&built, true), None).unwrap()), folded(&p));
        // `--per-container`'s group frame is not a location: the labels carry it.
        let grouped = p.by_group();
        let built = build(&[Column { profile: &grouped, kind: "samples", unit: "count", scale: 1 }], None, &p.meta);
        assert_eq!(built.location.len(), 1, "main only");
        assert_eq!(folded(&decode(&encoded(&built, true), None).unwrap()), folded(&p));
    }

    #[test]
    fn unnamed_code_keeps_its_file_build_id_and_address() {
        let p = sample_profile();
        let built = build(&[Column { profile: &p, kind: "samples", unit: "count", scale: 1 }], None, &p.meta);
        let s = |i: i64| built.string_table[i as usize].as_str();
        let libz = built.mapping.iter().find(|m| s(m.filename) == "/usr/lib/libz.so.1").expect("libz's mapping");
        assert_eq!(s(libz.build_id), "ab12");
        assert!(!libz.has_functions, "a backend may symbolize it");
        let loc = built.location.iter().find(|l| l.mapping_id == libz.id).unwrap();
        assert_eq!(loc.address - libz.memory_start + libz.file_offset, 0x3_1000, "pprof's file offset");
        let kernel = built.mapping.iter().find(|m| s(m.filename) == KERNEL_MAPPING).expect("the kernel's mapping");
        assert!(built.location.iter().any(|l| l.mapping_id == kernel.id));
    }

    #[test]
    fn named_code_is_in_its_files_mapping_with_inlined_functions_as_lines_and_the_pid_as_a_label() {
        let at = |address: u64, offset: u64| {
            let file = "/usr/bin/app".to_string();
            Some(Box::new(CodeLocation { file, build_id: Some("cd34".into()), address, offset }))
        };
        let mut p = Profile::new(Unit::samples(), Meta::default());
        let root = Frame { pid: Some(4321), ..Frame::process("app") };
        let main = Frame { location: at(0x40_1000, 0x1000), ..Frame::user("main") };
        let inlined = Frame { inlined: true, ..Frame::user("parse_header") };
        let leaf = Frame { location: at(0x40_2000, 0x2000), ..Frame::user("crc32") };
        p.add(vec![root.clone(), main.clone(), inlined.clone(), leaf.clone()], 5);
        p.add(vec![Frame::process("app"), main.clone()], 1);
        let built = build(&[Column { profile: &p, kind: "samples", unit: "count", scale: 1 }], None, &p.meta);
        let s = |i: i64| built.string_table[i as usize].as_str();
        let app = built.mapping.iter().find(|m| s(m.filename) == "/usr/bin/app").expect("the program's mapping");
        assert!(app.has_functions, "every frame in it is named");
        assert_eq!(
            (s(app.build_id), app.memory_start, app.file_offset),
            ("cd34", 0, 0x1000u64.wrapping_sub(0x40_1000))
        );
        let sample = &built.sample[0];
        assert_eq!(sample.location_id.len(), 2, "main and what was inlined into it are one location");
        let location = |id: u64| built.location.iter().find(|l| l.id == id).unwrap();
        let function = |id: u64| s(built.function.iter().find(|f| f.id == id).unwrap().name);
        let (leaf_loc, main_loc) = (location(sample.location_id[0]), location(sample.location_id[1]));
        assert_eq!((leaf_loc.address, leaf_loc.mapping_id), (0x40_2000, app.id));
        let lines: Vec<&str> = main_loc.line.iter().map(|l| function(l.function_id)).collect();
        assert_eq!(lines, ["parse_header", "main"], "innermost first");
        let labels: Vec<(&str, i64)> = sample.label.iter().map(|l| (s(l.key), l.num)).collect();
        assert_eq!(labels, [("comm", 0), ("pid", 4321)]);
        assert_eq!(built.sample[1].label.len(), 1, "no pid known: no label");
        let back = decode(&encoded(&built, true), None).unwrap();
        let stack = back.stacks.keys().find(|k| k.len() == 4).expect("the long stack");
        let strip = |f: &Frame| (f.name.clone(), f.inlined, f.pid);
        let want = [root, main, inlined, leaf];
        assert_eq!(stack.iter().map(strip).collect::<Vec<_>>(), want.iter().map(strip).collect::<Vec<_>>());
    }

    #[test]
    fn each_unit_gets_the_sample_type_pprofs_users_know() {
        let kinds = |p: &Profile| {
            let (columns, period) = columns_of(p);
            let kinds: Vec<String> = columns.iter().map(|c| format!("{}/{}*{}", c.kind, c.unit, c.scale)).collect();
            (kinds, period.map(|p| p.value))
        };
        let with = |unit: Unit, frequency_hz| Profile::new(unit, Meta { frequency_hz, ..Meta::default() });
        assert_eq!(
            kinds(&with(Unit::samples(), 99)),
            (vec!["samples/count*1".to_string(), "cpu/nanoseconds*10101010".to_string()], Some(10_101_010))
        );
        assert_eq!(kinds(&with(Unit::samples(), 0)), (vec!["samples/count*1".to_string()], None), "folded input");
        assert_eq!(kinds(&with(Unit::off_cpu_us(), 99)).0, ["off_cpu/nanoseconds*1000"]);
        assert_eq!(kinds(&with(Unit::blocks_live(), 0)).0, ["inuse_objects/count*1"]);
        // A profile read from pprof keeps the sample type it was read as.
        let heap =
            decode(&encoded(&build(&columns_of(&with(Unit::bytes_live(), 0)).0, None, &Meta::default()), true), None);
        assert_eq!(kinds(&heap.unwrap()).0, ["inuse_space/bytes*1"]);
    }

    #[test]
    fn inlined_functions_become_frames_and_locations_without_any_are_named_by_address() {
        // As Go writes them: a location with two lines, the inlined function first.
        let strings = ["", "samples", "count", "main.run", "main.inner", "/bin/app", "main.main"];
        let profile = proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            string_table: strings.iter().map(|s| s.to_string()).collect(),
            function: vec![
                proto::Function { id: 1, name: 3, ..Default::default() },
                proto::Function { id: 2, name: 4, ..Default::default() },
                proto::Function { id: 3, name: 6, ..Default::default() },
            ],
            mapping: vec![proto::Mapping { id: 1, memory_start: 0x40_0000, filename: 5, ..Default::default() }],
            location: vec![
                proto::Location {
                    id: 1,
                    mapping_id: 1,
                    address: 0x40_1000,
                    line: vec![
                        proto::Line { function_id: 2, line: 10, column: 0 },
                        proto::Line { function_id: 1, line: 20, column: 0 },
                    ],
                    is_folded: false,
                },
                proto::Location { id: 2, mapping_id: 1, address: 0x40_2000, line: vec![], is_folded: false },
                proto::Location {
                    id: 3,
                    mapping_id: 1,
                    address: 0x40_0100,
                    line: vec![proto::Line { function_id: 3, ..Default::default() }],
                    is_folded: false,
                },
            ],
            sample: vec![
                proto::Sample { location_id: vec![1, 3], value: vec![5], label: vec![] },
                proto::Sample { location_id: vec![2, 3], value: vec![2], label: vec![] },
                // Negative and zero values (a diff's) draw nothing.
                proto::Sample { location_id: vec![3], value: vec![-4], label: vec![] },
            ],
            ..Default::default()
        };
        let p = decode(&prost::Message::encode_to_vec(&profile), None).unwrap();
        assert_eq!(folded(&p), "main.main;app+0x402000 2\nmain.main;main.run;main.inner 5\n");
    }

    #[test]
    fn a_missing_sample_type_or_garbage_is_a_clear_error() {
        let p = sample_profile();
        let built = build(&[Column { profile: &p, kind: "samples", unit: "count", scale: 1 }], None, &p.meta);
        let err = decode(&encoded(&built, true), Some("inuse_space")).unwrap_err().to_string();
        assert_eq!(err, "no sample type inuse_space in this profile (it has samples/count)");
        let err = decode(&[0x1f, 0x8b, 0, 1, 2], None).unwrap_err().to_string();
        assert!(err.starts_with("not a pprof profile"), "{err}");
        assert!(decode(&[0xff, 0xff, 0xff], None).is_err());
    }
}
