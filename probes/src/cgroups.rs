//! Control groups (v2) as profile targets: a cgroup directory, a systemd unit's cgroup, a
//! container's. The kernel side records a task when the cgroup is one of its current cgroup's
//! ancestors (`bpf_get_current_ancestor_cgroup_id`), so a cgroup covers its children too, and
//! processes that enter it during the profile are recorded from then on.
//!
//! Units and containers are found by how systemd and the container runtimes name their cgroups
//! (`nginx.service`, `docker-ID.scope`, `libpod-ID.scope`, `cri-containerd-ID.scope`,
//! `/docker/ID`), and a container name through the runtimes' state files (Docker's
//! `config.v2.json`, Podman's `containers.json`): no daemon is asked.

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use crate::{Error, Result};

/// A cgroup to profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// Its directory.
    pub dir: PathBuf,
    /// Its id: the directory's inode number on the cgroup2 file system, as the kernel's helpers
    /// give it.
    pub id: u64,
    /// How deep it is below the root of the cgroup hierarchy (the root is 0).
    pub level: u32,
    /// How it was asked for, for titles: `cgroup /x`, `unit nginx.service`, `container 3f2a…`.
    pub label: String,
}

/// The runtimes' ways of naming a container's cgroup: the id between one of these prefixes and
/// an optional `.scope` (or the bare id, under a `docker` directory).
const CONTAINER_PREFIXES: [&str; 5] = ["docker-", "libpod-", "crio-", "cri-containerd-", "containerd-"];

/// Where the cgroup2 hierarchy is mounted, and the path of its root in the hierarchy (not `/`
/// inside a cgroup namespace), from `/proc/self/mountinfo`.
pub fn mount() -> Result<(PathBuf, PathBuf)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::Invalid(format!("reading /proc/self/mountinfo: {e}")))?;
    parse_mountinfo(&info).ok_or_else(|| {
        Error::Invalid(
            "no cgroup2 file system is mounted: cgroup targets need cgroup v2 (mount -t cgroup2 none /sys/fs/cgroup)"
                .into(),
        )
    })
}

/// The first cgroup2 mount of a mountinfo text: (mount point, root in the hierarchy).
fn parse_mountinfo(text: &str) -> Option<(PathBuf, PathBuf)> {
    text.lines().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        if fs.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = mount.split_whitespace().collect();
        Some((PathBuf::from(unescape(fields.get(4)?)), PathBuf::from(unescape(fields.get(3)?))))
    })
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape(field: &str) -> String {
    field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

impl Cgroup {
    /// `--cgroup PATH`: a directory on the cgroup2 file system, or a path inside the hierarchy
    /// as `/proc/PID/cgroup` writes it (`/system.slice/nginx.service`).
    pub fn by_path(path: &Path) -> Result<Cgroup> {
        let (mount, root) = mount()?;
        let dir = if path.starts_with(&mount) {
            path.to_path_buf()
        } else {
            mount.join(path.strip_prefix("/").unwrap_or(path))
        };
        Cgroup::at(&mount, &root, dir, format!("cgroup {}", path.display()))
    }

    /// `--unit NAME`: the cgroup systemd made for a unit (`.service` is added to a bare name, as
    /// systemctl does), in the system's tree or a user's.
    pub fn by_unit(name: &str) -> Result<Cgroup> {
        let unit = if name.contains('.') { name.to_string() } else { format!("{name}.service") };
        let (mount, root) = mount()?;
        let found = find_dirs(&mount, &|n| n == unit);
        match found.as_slice() {
            [dir] => Cgroup::at(&mount, &root, dir.clone(), format!("unit {unit}")),
            [] => {
                let why = if Path::new("/run/systemd/system").exists() {
                    "is it running? (systemctl status shows its cgroup)"
                } else {
                    "systemd does not run on this machine; give the cgroup with --cgroup"
                };
                Err(Error::Invalid(format!("no cgroup for unit {unit} under {}: {why}", mount.display())))
            }
            many => Err(ambiguous(&format!("unit {unit}"), many)),
        }
    }

    /// `--container ID`: a Docker, Podman, CRI-O or containerd container by its id (a unique
    /// prefix of at least 4 characters) or, for Docker and Podman, its name.
    pub fn by_container(id_or_name: &str) -> Result<Cgroup> {
        let (mount, root) = mount()?;
        let wanted = id_or_name.to_ascii_lowercase();
        let ids: Vec<String> = if wanted.len() >= 4 && wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
            vec![wanted.clone()]
        } else {
            container_ids_named(id_or_name)
        };
        if ids.is_empty() {
            return Err(Error::Invalid(format!(
                "no container is named {id_or_name} (give its id, 4 hex digits at least, or a Docker or Podman name)"
            )));
        }
        let found = find_dirs(&mount, &|n| container_id(n).is_some_and(|id| ids.iter().any(|w| id.starts_with(w))));
        let short: String = ids[0].chars().take(12).collect();
        match found.as_slice() {
            [dir] => Cgroup::at(&mount, &root, dir.clone(), format!("container {short}")),
            [] => Err(Error::Invalid(format!(
                "no cgroup of container {id_or_name} under {}: is it running? (docker ps / podman ps list running ones)",
                mount.display()
            ))),
            many => Err(ambiguous(&format!("container {id_or_name}"), many)),
        }
    }

    fn at(mount: &Path, root: &Path, dir: PathBuf, label: String) -> Result<Cgroup> {
        let meta = std::fs::metadata(&dir).map_err(|e| {
            Error::Invalid(format!("{}: {e} (cgroup2 is mounted at {})", dir.display(), mount.display()))
        })?;
        if !meta.is_dir() || !dir.join("cgroup.procs").exists() {
            return Err(Error::Invalid(format!(
                "{} is not a cgroup v2 directory (cgroup2 is mounted at {})",
                dir.display(),
                mount.display()
            )));
        }
        let inside = dir.strip_prefix(mount).unwrap_or(&dir);
        let depth = |p: &Path| p.components().filter(|c| matches!(c, std::path::Component::Normal(_))).count();
        let level = (depth(root) + depth(inside)) as u32;
        Ok(Cgroup { dir, id: meta.ino(), level, label })
    }

    /// The processes in the cgroup and its children now.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
            }
            if let Ok(entries) = std::fs::read_dir(&dir) {
                dirs.extend(entries.filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).map(|e| e.path()));
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }
}

fn ambiguous(what: &str, dirs: &[PathBuf]) -> Error {
    let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Error::Invalid(format!("{what} matches {} cgroups ({}): give one with --cgroup", dirs.len(), list.join(", ")))
}

/// The container id a cgroup directory's name carries, by the runtimes' naming.
pub fn container_id(name: &str) -> Option<&str> {
    let base = name.strip_suffix(".scope").unwrap_or(name);
    let id = CONTAINER_PREFIXES.iter().find_map(|p| base.strip_prefix(p)).unwrap_or(base);
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// Directories under `top` (ten levels at most: systemd's and Kubernetes' trees are shallower)
/// whose name `matches`.
fn find_dirs(top: &Path, matches: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![(top.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.filter_map(|e| e.ok()) {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            if entry.file_name().to_str().is_some_and(matches) {
                // A match's children are its own (a container's `container` sub-cgroup).
                found.push(path);
            } else if depth < 10 {
                stack.push((path, depth + 1));
            }
        }
    }
    found.sort();
    found
}

/// Ids of Docker and Podman containers named `name`, from their state files.
fn container_ids_named(name: &str) -> Vec<String> {
    let mut ids = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/var/lib/docker/containers") {
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(text) = std::fs::read_to_string(entry.path().join("config.v2.json")) else { continue };
            let Ok(config) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
            if config["Name"].as_str().map(|n| n.trim_start_matches('/')) == Some(name) {
                ids.extend(config["ID"].as_str().map(str::to_string));
            }
        }
    }
    let mut podman = vec![PathBuf::from("/var/lib/containers/storage/overlay-containers/containers.json")];
    if let Some(home) = std::env::var_os("HOME") {
        podman.push(Path::new(&home).join(".local/share/containers/storage/overlay-containers/containers.json"));
    }
    for file in podman {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let Ok(serde_json::Value::Array(containers)) = serde_json::from_str(&text) else { continue };
        for c in containers {
            if c["names"].as_array().is_some_and(|names| names.iter().any(|n| n.as_str() == Some(name))) {
                ids.extend(c["id"].as_str().map(str::to_string));
            }
        }
    }
    ids
}

/// `paths` without the ones that name a file already named (the same device and inode): a
/// program or library run by many of a cgroup's processes is probed once.
pub fn distinct_files(paths: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    paths.into_iter().filter(|p| std::fs::metadata(p).is_ok_and(|m| seen.insert((m.dev(), m.ino())))).collect()
}

/// What `/proc/PID/cgroup` says of a process: its cgroup v2 path (`0::/...`).
pub fn cgroup_of(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("0::")).map(str::to_string)
}

/// The label a process's cgroup path gives it: the container or systemd unit it belongs to.
pub fn label_of(path: &str) -> Option<String> {
    let mut label = None;
    for part in path.split('/') {
        if let Some(id) = container_id(part) {
            return Some(format!("container {}", &id[..12]));
        }
        if part.ends_with(".service") || (part.ends_with(".scope") && !part.starts_with("session-")) {
            label = Some(format!("unit {part}"));
        }
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a9c1b7d8e4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";

    #[test]
    fn container_ids_by_each_runtimes_naming() {
        for name in [
            format!("docker-{ID}.scope"),
            format!("libpod-{ID}.scope"),
            format!("crio-{ID}.scope"),
            format!("cri-containerd-{ID}.scope"),
            ID.to_string(),
        ] {
            assert_eq!(container_id(&name), Some(ID), "{name}");
        }
        assert_eq!(container_id("libpod-conmon-abc.scope"), None);
        assert_eq!(container_id("nginx.service"), None);
        assert_eq!(container_id(&format!("docker-{}.scope", &ID[1..])), None);
    }

    #[test]
    fn labels_name_the_container_or_the_unit() {
        assert_eq!(label_of(&format!("/system.slice/docker-{ID}.scope")).as_deref(), Some("container 3f2a9c1b7d8e"));
        assert_eq!(
            label_of(&format!("/kubepods.slice/kubepods-pod1.slice/cri-containerd-{ID}.scope")).as_deref(),
            Some("container 3f2a9c1b7d8e")
        );
        assert_eq!(label_of("/system.slice/nginx.service").as_deref(), Some("unit nginx.service"));
        assert_eq!(
            label_of("/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope").as_deref(),
            Some("unit run-r1.scope")
        );
        assert_eq!(label_of("/user.slice/user-1000.slice/session-3.scope"), None);
        assert_eq!(label_of("/"), None);
    }

    #[test]
    fn mountinfo_gives_the_cgroup2_mount_and_its_root() {
        let info = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                    40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
                    41 31 0:38 /lxc/c1 /sys/fs/cgroup/unified\\040x rw,relatime - cgroup2 cgroup2 rw\n";
        let (mount, root) = parse_mountinfo(info).unwrap();
        assert_eq!(mount, Path::new("/sys/fs/cgroup/unified x"));
        assert_eq!(root, Path::new("/lxc/c1"));
        assert_eq!(parse_mountinfo("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"), None);
    }

    #[test]
    fn the_root_cgroup_is_level_zero_and_its_id_its_inode() {
        let Ok((mount, _)) = mount() else {
            eprintln!("skipped: no cgroup2 mount");
            return;
        };
        let root = Cgroup::by_path(Path::new("/")).unwrap();
        assert_eq!(root.dir, mount);
        assert_eq!(root.level, 0);
        assert_eq!(root.id, std::fs::metadata(&mount).unwrap().ino());
        let err = Cgroup::by_path(Path::new("/armtune-no-such-cgroup")).unwrap_err().to_string();
        assert!(err.contains("armtune-no-such-cgroup"), "{err}");
        let err = Cgroup::by_unit("armtune-no-such-unit").unwrap_err().to_string();
        assert!(err.contains("no cgroup for unit armtune-no-such-unit.service"), "{err}");
        let err = Cgroup::by_container("ffffeeee").unwrap_err().to_string();
        assert!(err.contains("no cgroup of container ffffeeee"), "{err}");
        let err = Cgroup::by_container("no-such-name").unwrap_err().to_string();
        assert!(err.contains("no container is named no-such-name"), "{err}");
    }
}
