//! Files of processes that see another root than armtune: a container's (its own mount namespace,
//! `pivot_root`), a `chroot`, a service with private mounts. The paths their mappings name mean
//! something only inside that root, where the host may have nothing, or another file.
//!
//! Each such root is opened once, while one of its processes lives (`/proc/PID/root`, a directory
//! descriptor), and its files are read through that descriptor as `/proc/self/fd/N/PATH`: the
//! walk from there follows the root's own mounts, and still works after every process in it has
//! exited (the descriptor keeps the mount). Every reader of files (symbols, CFI, debug files,
//! build-ids) takes such a path as it takes any other, and a host file and a container file at the
//! same path have different paths, so nothing keyed by path confuses them.
//!
//! A root is known by its mount namespace and its root directory's device and inode: every
//! process of a container shares one descriptor, and a child inherits its parent's root (the
//! kernel's fork records) until an exec says to look again.

use std::{
    collections::HashMap,
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::fs::MetadataExt,
    },
    path::{Component, Path, PathBuf},
    sync::Arc,
};

/// The prefix of paths read through a kept root: `/proc/self/fd/`.
const FD_PREFIX: &str = "/proc/self/fd/";

/// What tells roots apart: a process's mount namespace and its root directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RootKey {
    mnt_ns: u64,
    dev: u64,
    ino: u64,
}

impl RootKey {
    /// The root of process `pid` (`None` once it has exited, or where /proc does not say).
    fn of(pid: u32) -> Option<RootKey> {
        let ns = std::fs::metadata(format!("/proc/{pid}/ns/mnt")).ok()?;
        let root = std::fs::metadata(format!("/proc/{pid}/root")).ok()?;
        Some(RootKey { mnt_ns: ns.ino(), dev: root.dev(), ino: root.ino() })
    }

    /// armtune's own root.
    fn ours() -> Option<RootKey> {
        RootKey::of(std::process::id())
    }
}

/// One root other than armtune's, held open.
#[derive(Debug)]
pub struct RootDir {
    /// `/proc/PID/root` opened as a directory: held, never read, because `prefix` names it.
    _fd: OwnedFd,
    /// `/proc/self/fd/N`: what the root's files are read under.
    prefix: PathBuf,
    /// Where `/proc/PID/maps` said the root is when it was opened (`/proc/PID/root`'s link): the
    /// maps name files by the path armtune would see, which for a `chroot` starts with this.
    seen_as: PathBuf,
}

impl RootDir {
    fn open(pid: u32) -> Option<RootDir> {
        use std::os::unix::fs::OpenOptionsExt;
        let link = format!("/proc/{pid}/root");
        let seen_as = std::fs::read_link(&link).ok()?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&link)
            .ok()?;
        let fd = OwnedFd::from(file);
        let prefix = PathBuf::from(format!("{FD_PREFIX}{}", fd.as_raw_fd()));
        Some(RootDir { _fd: fd, prefix, seen_as })
    }

    /// Where armtune reads `path`, a path as the process sees it (the kernel's mapping records
    /// name files so).
    pub fn path(&self, path: &Path) -> PathBuf {
        let inside: PathBuf = path.components().filter(|c| matches!(c, Component::Normal(_))).collect();
        self.prefix.join(inside)
    }

    /// Where armtune reads `path` as `/proc/PID/maps` names it: relative to armtune's root where
    /// the file can be reached from there (a `chroot` in armtune's namespace), else to the root
    /// of the process's mount namespace. `None` for a file outside the process's root (mapped
    /// before it changed root): that path means nothing inside it.
    fn path_from_maps(&self, path: &Path) -> Option<PathBuf> {
        path.strip_prefix(&self.seen_as).ok().map(|inside| self.path(inside))
    }
}

/// The roots of the processes a profile has met, each opened once.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    /// armtune's own root; `None` until first asked (and where /proc cannot say).
    ours: Option<Option<RootKey>>,
    /// Each process looked at: `None` when it shares armtune's root.
    of_pid: HashMap<u32, Option<RootKey>>,
    open: HashMap<RootKey, Arc<RootDir>>,
    /// Prefixes of roots closed since [`Roots::take_retired`]: their descriptor numbers can be
    /// handed out again, so what was cached under them must go.
    retired: Vec<PathBuf>,
}

impl Roots {
    /// Looks at process `pid`'s root now: opens it if it is not armtune's and not open yet.
    /// A process already gone keeps what was known of it (its parent's root, say).
    pub fn learn(&mut self, pid: u32) {
        let ours = *self.ours.get_or_insert_with(RootKey::ours);
        let Some(key) = RootKey::of(pid) else { return };
        if Some(key) == ours {
            self.of_pid.insert(pid, None);
            return;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = self.open.entry(key) {
            let Some(dir) = RootDir::open(pid) else { return };
            slot.insert(Arc::new(dir));
        }
        self.of_pid.insert(pid, Some(key));
    }

    /// Whether `pid`'s root has been looked at (or inherited).
    pub fn knows(&self, pid: u32) -> bool {
        self.of_pid.contains_key(&pid)
    }

    /// A new process shares its parent's root until it execs.
    pub fn inherit(&mut self, child: u32, parent: u32) {
        if let Some(&root) = self.of_pid.get(&parent) {
            self.of_pid.insert(child, root);
        }
    }

    /// The root of `pid` when it is not armtune's.
    pub fn of(&self, pid: u32) -> Option<&Arc<RootDir>> {
        self.open.get(self.of_pid.get(&pid)?.as_ref()?)
    }

    /// Where armtune reads a file that `pid`'s mapping record names `path`.
    pub fn record_path(&self, pid: u32, path: PathBuf) -> PathBuf {
        match self.of(pid) {
            Some(root) => root.path(&path),
            None => path,
        }
    }

    /// Where armtune reads a file that `/proc/PID/maps` names `path` for process `pid`.
    pub fn maps_path(&self, pid: u32, path: PathBuf) -> PathBuf {
        match self.of(pid).and_then(|root| root.path_from_maps(&path)) {
            Some(inside) => inside,
            None => path,
        }
    }

    /// Forgets `pid`; a root no process uses any more is closed.
    pub fn forget(&mut self, pid: u32) {
        let Some(Some(key)) = self.of_pid.remove(&pid) else { return };
        if !self.of_pid.values().any(|k| *k == Some(key)) {
            if let Some(dir) = self.open.remove(&key) {
                self.retired.push(dir.prefix.clone());
            }
        }
    }

    /// Prefixes of the roots closed since the last [`Roots::take_retired`].
    pub fn retired(&self) -> &[PathBuf] {
        &self.retired
    }

    /// Prefixes of the roots closed since the last call.
    pub fn take_retired(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.retired)
    }

    /// Roots open now.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }
}

/// Whether process `pid` sees armtune's root (true when /proc cannot say: the process is gone).
pub fn shares_our_root(pid: u32) -> bool {
    match (RootKey::of(pid), RootKey::ours()) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => true,
    }
}

/// `path` as the process saw it: a path read through a kept root loses its `/proc/self/fd/N`.
/// What people read (locations in reports, pprof's mappings) says `/usr/lib/libc.so.6`, not
/// where armtune found it.
pub fn shown(path: &str) -> &str {
    let Some(rest) = path.strip_prefix(FD_PREFIX) else { return path };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[digits..].strip_prefix('/') {
        Some(_) if digits > 0 => &rest[digits..],
        _ => path,
    }
}

/// Whether `path` is read through a kept root, and that root's prefix.
pub fn root_prefix(path: &Path) -> Option<&Path> {
    let text = path.to_str()?;
    let shown = shown(text);
    (shown.len() != text.len()).then(|| Path::new(&text[..text.len() - shown.len()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_paths_lose_the_descriptor_prefix() {
        assert_eq!(shown("/proc/self/fd/7/usr/lib/libc.so.6"), "/usr/lib/libc.so.6");
        assert_eq!(shown("/usr/lib/libc.so.6"), "/usr/lib/libc.so.6");
        assert_eq!(shown("/proc/self/fd/"), "/proc/self/fd/");
        assert_eq!(shown("/proc/self/fd/x/y"), "/proc/self/fd/x/y");
        assert_eq!(shown("/proc/self/fd/12"), "/proc/self/fd/12");
        assert_eq!(root_prefix(Path::new("/proc/self/fd/12/app/x")), Some(Path::new("/proc/self/fd/12")));
        assert_eq!(root_prefix(Path::new("/app/x")), None);
    }

    #[test]
    fn our_own_processes_share_our_root() {
        let mut roots = Roots::default();
        roots.learn(std::process::id());
        assert!(roots.knows(std::process::id()));
        assert!(roots.of(std::process::id()).is_none());
        assert_eq!(roots.record_path(std::process::id(), "/usr/bin/x".into()), PathBuf::from("/usr/bin/x"));
        roots.inherit(1 << 30, std::process::id());
        assert!(roots.knows(1 << 30) && roots.of(1 << 30).is_none());
        assert_eq!(roots.open_count(), 0);
    }

    #[test]
    fn a_chrooted_process_reads_its_files_through_its_root() {
        // Needs root (chroot); the namespace cases are in the CLI's container tests.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: chroot needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app")).unwrap();
        std::fs::write(dir.path().join("app/inside"), b"inside").unwrap();
        // A child that chroots into the directory and waits on a pipe.
        let (read_fd, write_fd) = {
            let mut fds = [0; 2];
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            (fds[0], fds[1])
        };
        let root = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes()).unwrap();
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::close(write_fd);
                libc::chroot(root.as_ptr());
                let mut byte = 0u8;
                libc::read(read_fd, (&mut byte as *mut u8).cast(), 1);
                libc::_exit(0);
            }
        }
        unsafe { libc::close(read_fd) };
        // Wait until the child is in its new root.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_link(format!("/proc/{pid}/root")).ok().as_deref() != Some(dir.path()) {
            assert!(std::time::Instant::now() < deadline, "the child never changed root");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut roots = Roots::default();
        roots.learn(pid as u32);
        let through = roots.record_path(pid as u32, "/app/inside".into());
        let from_maps = roots.maps_path(pid as u32, dir.path().join("app/inside"));
        unsafe {
            libc::close(write_fd);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        // The child is gone; its root is still readable, and both namings reach the same file.
        assert_eq!(std::fs::read(&through).unwrap(), b"inside", "{through:?}");
        assert_eq!(through, from_maps);
        assert_eq!(shown(through.to_str().unwrap()), "/app/inside");
        assert_eq!(roots.open_count(), 1);
        roots.forget(pid as u32);
        assert_eq!(roots.open_count(), 0);
        assert_eq!(roots.take_retired().len(), 1);
    }
}
