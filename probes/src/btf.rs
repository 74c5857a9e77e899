//! What the kernel's BTF tells the BTF-typed scheduler programs: where `task_struct` keeps a task's
//! id and name, and whether the scheduler tracepoints pass the arguments those programs read.
//!
//! The programs are built without CO-RE relocations (Rust's BPF target does not emit them), so the
//! offsets are looked up here and handed over as globals, as the classic programs get theirs from
//! the format files.

use std::path::Path;

use btf_rs::{Btf, Type};

/// The running kernel's BTF.
pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Which program type the scheduler events use (`--tracepoints`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SchedPath {
    /// BTF-typed when the kernel's BTF has what the programs need, else classic.
    #[default]
    Auto,
    /// BTF-typed tracepoints (`tp_btf`); an error when the kernel has no usable BTF.
    Btf,
    /// Classic tracepoints with offsets from the format files; works on every kernel.
    Classic,
}

/// Which program type a run's scheduler events used (`meta.sched_tracepoints` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchedTracepoints {
    /// No scheduler event was recorded.
    #[default]
    None,
    /// BTF-typed tracepoints (`tp_btf`).
    Btf,
    /// Classic tracepoints.
    Classic,
}

impl SchedTracepoints {
    /// The name the JSON report uses: `btf`, `classic`, or empty for none.
    pub fn as_str(self) -> &'static str {
        match self {
            SchedTracepoints::None => "",
            SchedTracepoints::Btf => "btf",
            SchedTracepoints::Classic => "classic",
        }
    }
}

/// `task_struct` offsets for the BTF-typed programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOffsets {
    /// Byte offset of `pid` (the thread id).
    pub pid: u32,
    /// Byte offset of `comm` (`char[16]`).
    pub comm: u32,
}

/// The argument lists the programs read, as `btf_trace_*` typedefs give them: a `void *` for the
/// probe's data first, then the tracepoint's own arguments. The last entry names the type each
/// argument must have ("*" for any pointer to `task_struct`).
const PROTOTYPES: &[(&str, &[&str])] = &[
    ("sched_switch", &["_Bool", "*", "*", "unsigned int"]),
    ("sched_wakeup", &["*"]),
    ("sched_wakeup_new", &["*"]),
    ("sched_migrate_task", &["*", "int"]),
];

impl TaskOffsets {
    /// Reads the offsets from a BTF file and checks the tracepoint prototypes; the error says what
    /// is missing (the classic programs serve then).
    pub fn read(path: &Path) -> Result<TaskOffsets, String> {
        Self::from_btf(&*parsed(path)?)
    }

    /// As [`TaskOffsets::read`], from parsed BTF.
    pub fn from_btf(btf: &Btf) -> Result<TaskOffsets, String> {
        let task = named_struct(btf, "task_struct")?;
        let pid = member_offset(btf, &task, "pid")?.ok_or("task_struct has no pid member")?;
        let comm = member_offset(btf, &task, "comm")?.ok_or("task_struct has no comm member")?;
        for (tracepoint, args) in PROTOTYPES {
            check_prototype(btf, tracepoint, args)?;
        }
        Ok(TaskOffsets { pid, comm })
    }
}

/// Byte offsets of `members` of struct `name` in the BTF at `path`, each `None` where the struct
/// has no such member (or it is a bit field); an error when the BTF or the struct is missing.
/// For programs that read a few kernel fields without CO-RE (the offsets become globals).
pub fn member_offsets(path: &Path, name: &str, members: &[&str]) -> Result<Vec<Option<u32>>, String> {
    let btf = parsed(path)?;
    let st = named_struct(&btf, name)?;
    Ok(members.iter().map(|m| member_offset(&btf, &st, m).ok().flatten()).collect())
}

/// The BTF at `path`, parsed once per process for the kernel's own file (parsing it costs
/// hundreds of milliseconds in a debug build, and several families read it while starting).
fn parsed(path: &Path) -> Result<std::sync::Arc<Btf>, String> {
    static KERNEL: std::sync::OnceLock<Result<std::sync::Arc<Btf>, String>> = std::sync::OnceLock::new();
    let parse = || {
        if !path.exists() {
            return Err(format!("no {} (kernel built without CONFIG_DEBUG_INFO_BTF)", path.display()));
        }
        Btf::from_file(path).map(std::sync::Arc::new).map_err(|e| format!("reading {}: {e}", path.display()))
    };
    if path == Path::new(VMLINUX) {
        KERNEL.get_or_init(parse).clone()
    } else {
        parse()
    }
}

fn named_struct(btf: &Btf, name: &str) -> Result<btf_rs::Struct, String> {
    let types = btf.resolve_types_by_name(name).map_err(|e| format!("BTF has no {name}: {e}"))?;
    types
        .into_iter()
        .find_map(|t| match t {
            Type::Struct(s) if !s.members.is_empty() => Some(s),
            _ => None,
        })
        .ok_or_else(|| format!("BTF has no struct {name}"))
}

/// Byte offset of member `name`, looking into anonymous structs and unions (a kernel built with
/// randomized layouts keeps `task_struct`'s fields in one).
fn member_offset(btf: &Btf, st: &btf_rs::Struct, name: &str) -> Result<Option<u32>, String> {
    for member in &st.members {
        let member_name = btf.resolve_name(member).unwrap_or_default();
        if member_name == name {
            if member.bitfield_size().is_some_and(|b| b != 0) || member.bit_offset() % 8 != 0 {
                return Err(format!("{name} is a bit field"));
            }
            return Ok(Some(member.bit_offset() / 8));
        }
        if member_name.is_empty() {
            if let Ok(Type::Struct(inner) | Type::Union(inner)) = btf.resolve_chained_type(member) {
                if let Some(offset) = member_offset(btf, &inner, name)? {
                    return Ok(Some(member.bit_offset() / 8 + offset));
                }
            }
        }
    }
    Ok(None)
}

/// Strips typedefs and qualifiers.
fn resolve(btf: &Btf, mut ty: Type) -> Type {
    for _ in 0..16 {
        match &ty {
            Type::Typedef(_) | Type::Const(_) | Type::Volatile(_) | Type::Restrict(_) | Type::TypeTag(_) => {
                match ty.as_btf_type().map(|t| btf.resolve_chained_type(t)) {
                    Some(Ok(next)) => ty = next,
                    _ => return ty,
                }
            }
            _ => return ty,
        }
    }
    ty
}

fn type_name(btf: &Btf, ty: &Type) -> String {
    match ty {
        Type::Void => "void".into(),
        Type::Ptr(_) => "*".into(),
        other => other.as_btf_type().and_then(|t| btf.resolve_name(t).ok()).unwrap_or_default(),
    }
}

fn check_prototype(btf: &Btf, tracepoint: &str, args: &[&str]) -> Result<(), String> {
    let typedef = format!("btf_trace_{tracepoint}");
    let missing = || format!("BTF has no {typedef} (tracepoint {tracepoint})");
    let ty = btf.resolve_types_by_name(&typedef).map_err(|_| missing())?.into_iter().next().ok_or_else(missing)?;
    let proto = match resolve(btf, ty) {
        Type::Ptr(p) => match btf.resolve_chained_type(&p) {
            Ok(Type::FuncProto(proto)) => proto,
            _ => return Err(format!("{typedef} is not a function pointer")),
        },
        _ => return Err(format!("{typedef} is not a function pointer")),
    };
    let params: Vec<String> = proto
        .parameters
        .iter()
        .skip(1)
        .map(|p| btf.resolve_chained_type(p).map(|t| type_name(btf, &resolve(btf, t))).unwrap_or_default())
        .collect();
    if params.len() != args.len() || params.iter().zip(args.iter()).any(|(have, want)| have != want) {
        return Err(format!("{tracepoint} passes ({}), the programs read ({})", params.join(", "), args.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running kernel's BTF, when it has one (the CI kernel does).
    fn vmlinux() -> Option<Btf> {
        if !Path::new(VMLINUX).exists() {
            eprintln!("skipped: no {VMLINUX}");
            return None;
        }
        Some(Btf::from_file(VMLINUX).expect("parse vmlinux BTF"))
    }

    #[test]
    fn finds_task_offsets_and_tracepoint_prototypes() {
        let Some(btf) = vmlinux() else { return };
        let offsets = TaskOffsets::from_btf(&btf).expect("usable BTF");
        // pid and comm are far into task_struct on every kernel config; tgid follows pid.
        assert!(offsets.pid > 256 && offsets.comm > offsets.pid, "{offsets:?}");
        let task = named_struct(&btf, "task_struct").unwrap();
        assert_eq!(member_offset(&btf, &task, "tgid").unwrap(), Some(offsets.pid + 4));
    }

    #[test]
    fn member_offsets_agree_with_the_task_offsets() {
        let Some(btf) = vmlinux() else { return };
        let offsets = TaskOffsets::from_btf(&btf).unwrap();
        let got = member_offsets(Path::new(VMLINUX), "task_struct", &["pid", "comm", "no_such_member"]).unwrap();
        assert_eq!(got, [Some(offsets.pid), Some(offsets.comm), None]);
        assert!(member_offsets(Path::new(VMLINUX), "no_such_struct", &["x"]).is_err());
    }

    #[test]
    fn prototype_mismatch_is_explained() {
        let Some(btf) = vmlinux() else { return };
        let err = check_prototype(&btf, "sched_switch", &["_Bool", "*", "*"]).unwrap_err();
        assert!(err.contains("sched_switch passes (_Bool, *, *, unsigned int)"), "{err}");
        let err = check_prototype(&btf, "no_such_tracepoint", &[]).unwrap_err();
        assert!(err.contains("no btf_trace_no_such_tracepoint"), "{err}");
    }

    #[test]
    fn missing_file_is_explained() {
        let err = TaskOffsets::read(Path::new("/nonexistent/vmlinux")).unwrap_err();
        assert!(err.contains("CONFIG_DEBUG_INFO_BTF"), "{err}");
    }
}
