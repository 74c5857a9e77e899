//! tracefs: where it is mounted, mounting it when it is not, and parsing tracepoint format files.
//!
//! Field offsets of classic tracepoints change between kernels (`sched_process_fork` stored its comms
//! inline before 6.x and as `__data_loc` strings after), so the programs take them from the format file
//! of the running kernel rather than from constants.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Where tracefs lives on current kernels.
pub const TRACEFS: &str = "/sys/kernel/tracing";
/// Where older systems reach it, through debugfs.
pub const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// How tracefs was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// Already mounted at this path.
    Present(PathBuf),
    /// armtune mounted it at this path.
    Mounted(PathBuf),
}

impl Mount {
    /// The directory holding `events/`.
    pub fn path(&self) -> &Path {
        match self {
            Mount::Present(p) | Mount::Mounted(p) => p,
        }
    }
}

/// Finds tracefs, mounting it at [`TRACEFS`] when it is absent and this process may mount.
pub fn ensure_mounted() -> Result<Mount> {
    for dir in [TRACEFS, DEBUGFS_TRACING] {
        if Path::new(dir).join("events").is_dir() {
            return Ok(Mount::Present(dir.into()));
        }
    }
    let target = std::ffi::CString::new(TRACEFS).unwrap();
    let fstype = std::ffi::CString::new("tracefs").unwrap();
    let source = std::ffi::CString::new("nodev").unwrap();
    // SAFETY: all pointers are valid NUL-terminated strings; no data argument.
    let rc = unsafe { libc::mount(source.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        return Err(Error::Tracefs(format!("mount failed: {}", std::io::Error::last_os_error())));
    }
    Ok(Mount::Mounted(TRACEFS.into()))
}

/// One field of a tracepoint record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The C declaration without the name, e.g. `pid_t` or `__data_loc char[]`.
    pub c_type: String,
    /// Field name.
    pub name: String,
    /// Byte offset in the record.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Whether the type is signed.
    pub signed: bool,
}

/// A parsed `events/CATEGORY/NAME/format` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// Tracepoint name.
    pub name: String,
    /// Tracepoint id (what perf_event_open takes).
    pub id: u32,
    /// Fields in record order, common fields included.
    pub fields: Vec<Field>,
}

impl Format {
    /// Reads and parses the format of `category:name` under the tracefs mount `root`.
    pub fn read(root: &Path, category: &str, name: &str) -> Result<Format> {
        let path = root.join("events").join(category).join(name).join("format");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Format::parse(&text).ok_or_else(|| Error::Invalid(format!("{}: not a tracepoint format file", path.display())))
    }

    /// Parses the text of a format file; `None` when the name or id line is missing.
    pub fn parse(text: &str) -> Option<Format> {
        let mut name = None;
        let mut id = None;
        let mut fields = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("name:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("ID:") {
                id = v.trim().parse().ok();
            } else if line.starts_with("field:") {
                if let Some(f) = parse_field(line) {
                    fields.push(f);
                }
            }
        }
        Some(Format { name: name?, id: id?, fields })
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The offset of field `name`, or an error naming the tracepoint.
    pub fn offset_of(&self, category: &str, name: &str) -> Result<u32> {
        self.field(name).map(|f| f.offset).ok_or_else(|| Error::TracepointField {
            tracepoint: format!("{category}:{}", self.name),
            field: name.to_string(),
        })
    }
}

/// Where the scheduler programs find their fields on the running kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedLayout {
    /// `sched_process_fork.child_pid`.
    pub fork_child_pid: u32,
    /// `sched_switch.prev_pid`.
    pub switch_prev_pid: u32,
    /// `sched_switch.prev_state`.
    pub switch_prev_state: u32,
    /// Size of `sched_switch.prev_state` (4 or 8).
    pub switch_prev_state_size: u32,
    /// `sched_switch.next_pid`.
    pub switch_next_pid: u32,
    /// `sched_wakeup.pid` (and `sched_wakeup_new.pid`, checked to be the same).
    pub wakeup_pid: u32,
    /// `sched_wakeup.comm` when it is an inline `char[16]`; `None` for a `__data_loc` string.
    pub wakeup_comm: Option<u32>,
    /// `sched_migrate_task.pid`.
    pub migrate_pid: u32,
}

impl SchedLayout {
    /// Reads the format files of the sched tracepoints under the tracefs mount `root`.
    pub fn read(root: &Path) -> Result<SchedLayout> {
        let read = |name: &str| Format::read(root, "sched", name);
        SchedLayout::from_formats(
            &read("sched_process_fork")?,
            &read("sched_switch")?,
            &read("sched_wakeup")?,
            &read("sched_wakeup_new")?,
            &read("sched_migrate_task")?,
        )
    }

    /// Builds the layout from parsed formats; an error names a missing field or a mismatch.
    pub fn from_formats(
        fork: &Format,
        switch: &Format,
        wakeup: &Format,
        wakeup_new: &Format,
        migrate: &Format,
    ) -> Result<SchedLayout> {
        let prev_state = switch.field("prev_state").ok_or_else(|| Error::TracepointField {
            tracepoint: "sched:sched_switch".into(),
            field: "prev_state".into(),
        })?;
        if prev_state.size != 4 && prev_state.size != 8 {
            return Err(Error::Invalid(format!(
                "sched:sched_switch prev_state is {} bytes; armtune reads 4 or 8",
                prev_state.size
            )));
        }
        let wakeup_pid = wakeup.offset_of("sched", "pid")?;
        if wakeup_new.offset_of("sched", "pid")? != wakeup_pid {
            return Err(Error::Invalid(
                "sched_wakeup and sched_wakeup_new differ in layout on this kernel; armtune expects them equal".into(),
            ));
        }
        let wakeup_comm = wakeup.field("comm").filter(|f| f.c_type == "char[16]").map(|f| f.offset);
        Ok(SchedLayout {
            fork_child_pid: fork.offset_of("sched", "child_pid")?,
            switch_prev_pid: switch.offset_of("sched", "prev_pid")?,
            switch_prev_state: prev_state.offset,
            switch_prev_state_size: prev_state.size,
            switch_next_pid: switch.offset_of("sched", "next_pid")?,
            wakeup_pid,
            wakeup_comm,
            migrate_pid: migrate.offset_of("sched", "pid")?,
        })
    }
}

/// Parses `field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;`.
fn parse_field(line: &str) -> Option<Field> {
    let mut decl = None;
    let (mut offset, mut size, mut signed) = (None, None, false);
    for part in line.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':')?;
        match key {
            "field" => decl = Some(value.trim()),
            "offset" => offset = value.trim().parse().ok(),
            "size" => size = value.trim().parse().ok(),
            "signed" => signed = value.trim() == "1",
            _ => {}
        }
    }
    let decl = decl?;
    // The name is the last identifier, before any array suffix: `char prev_comm[16]`.
    let (head, tail) = decl.rsplit_once(|c: char| c.is_whitespace())?;
    let name = tail.split('[').next()?.trim_start_matches('*').to_string();
    let array = tail.find('[').map(|i| &tail[i..]).unwrap_or("");
    Some(Field { c_type: format!("{}{}", head.trim(), array), name, offset: offset?, size: size?, signed })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORK_6_18: &str = include_str!("../tests/data/tracefs/6.18-x86_64-sched_process_fork.format");

    #[test]
    fn parses_data_loc_layout_of_6_18() {
        let f = Format::parse(FORK_6_18).unwrap();
        assert_eq!(f.name, "sched_process_fork");
        assert_eq!(f.id, 366);
        let child = f.field("child_pid").unwrap();
        assert_eq!((child.offset, child.size, child.signed), (20, 4, true));
        assert_eq!(f.field("child_comm").unwrap().c_type, "__data_loc char[]");
        assert_eq!(f.field("common_pid").unwrap().offset, 4);
    }

    #[test]
    fn parses_inline_array_layout() {
        // The layout kernels before the __data_loc change used (inline char[16] comms).
        let text = "name: sched_process_fork\nID: 312\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:char parent_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
            \tfield:pid_t parent_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
            \tfield:char child_comm[16];\toffset:28;\tsize:16;\tsigned:0;\n\
            \tfield:pid_t child_pid;\toffset:44;\tsize:4;\tsigned:1;\n";
        let f = Format::parse(text).unwrap();
        assert_eq!(f.offset_of("sched", "child_pid").unwrap(), 44);
        assert_eq!(f.field("child_comm").unwrap().c_type, "char[16]");
    }

    #[test]
    fn missing_field_names_the_tracepoint() {
        let f = Format::parse(FORK_6_18).unwrap();
        let err = f.offset_of("sched", "no_such").unwrap_err().to_string();
        assert!(err.contains("sched:sched_process_fork") && err.contains("no_such"), "{err}");
    }

    /// A format file captured from `kernel` (tests/data/tracefs/KERNEL-NAME.format).
    fn format_of(kernel: &str, name: &str) -> Format {
        let path = format!("{}/tests/data/tracefs/{kernel}-{name}.format", env!("CARGO_MANIFEST_DIR"));
        Format::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn format_6_18(name: &str) -> Format {
        format_of("6.18-x86_64", name)
    }

    /// The layout from the five formats `format` returns by tracepoint name.
    fn layout_from(format: impl Fn(&str) -> Format) -> Result<SchedLayout> {
        SchedLayout::from_formats(
            &format("sched_process_fork"),
            &format("sched_switch"),
            &format("sched_wakeup"),
            &format("sched_wakeup_new"),
            &format("sched_migrate_task"),
        )
    }

    #[test]
    fn sched_layout_of_6_18_x86_64() {
        let l = layout_from(format_6_18).unwrap();
        assert_eq!(
            l,
            SchedLayout {
                fork_child_pid: 20,
                switch_prev_pid: 24,
                switch_prev_state: 32,
                switch_prev_state_size: 8,
                switch_next_pid: 56,
                wakeup_pid: 24,
                wakeup_comm: Some(8),
                migrate_pid: 12,
            }
        );
    }

    #[test]
    fn sched_layout_of_6_1_arm64() {
        // Debian's 6.1 arm64 kernel, the series Raspberry Pi OS and Phytium boards run: comms are
        // still inline arrays, so pids sit 24 bytes further on than on 6.18.
        let l = layout_from(|name| format_of("6.1-arm64", name)).unwrap();
        assert_eq!(
            l,
            SchedLayout {
                fork_child_pid: 44,
                switch_prev_pid: 24,
                switch_prev_state: 32,
                switch_prev_state_size: 8,
                switch_next_pid: 56,
                wakeup_pid: 24,
                wakeup_comm: Some(8),
                migrate_pid: 24,
            }
        );
    }

    #[test]
    fn sched_layout_errors_name_the_field() {
        let mut switch = format_6_18("sched_switch");
        switch.fields.retain(|f| f.name != "next_pid");
        let err = layout_from(|name| if name == "sched_switch" { switch.clone() } else { format_6_18(name) })
            .unwrap_err()
            .to_string();
        assert!(err.contains("sched:sched_switch") && err.contains("next_pid"), "{err}");
    }

    #[test]
    fn rejects_text_without_header() {
        assert!(Format::parse("field:int x;\toffset:0;\tsize:4;\tsigned:1;").is_none());
    }
}
