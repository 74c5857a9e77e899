//! Starting the command to profile, held at a gate until its pid is in the probes' target set.
//!
//! `std::process::Command::spawn` returns only once the child has exec'd, so a child cannot be
//! paused between fork and exec with it. Here the child is forked, blocks reading a pipe, and execs
//! when [`PendingChild::release`] writes to it: no sample or fork of the command can be missed.

use std::{
    ffi::{CString, OsStr, OsString},
    io,
    os::unix::ffi::{OsStrExt, OsStringExt},
    path::{Path, PathBuf},
};

use crate::{Error, Result};

/// A forked child waiting at the gate, not yet running the command.
#[derive(Debug)]
pub struct PendingChild {
    pid: libc::pid_t,
    gate: libc::c_int,
    exec_error: libc::c_int,
    command: String,
}

/// A running child.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    status: Option<ExitStatus>,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl ExitStatus {
    /// The exit code a shell would report: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }

    fn from_raw(raw: libc::c_int) -> ExitStatus {
        if libc::WIFSIGNALED(raw) {
            ExitStatus::Signal(libc::WTERMSIG(raw))
        } else {
            ExitStatus::Code(libc::WEXITSTATUS(raw))
        }
    }
}

/// Finds `program` the way a shell does: a name with a slash is a path, anything else is looked up
/// in `PATH`.
pub fn resolve(program: &OsStr) -> Result<PathBuf> {
    let shown = program.to_string_lossy().into_owned();
    let is_exec = |p: &Path| {
        let c = CString::new(p.as_os_str().as_bytes()).ok();
        // SAFETY: c is a valid NUL-terminated path.
        p.is_file() && c.is_some_and(|c| unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0)
    };
    if program.as_bytes().contains(&b'/') {
        let p = PathBuf::from(program);
        if !p.exists() {
            return Err(Error::CommandNotFound(shown));
        }
        return Ok(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| is_exec(p)).ok_or(Error::CommandNotFound(shown))
}

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::Invalid(format!("argument contains a NUL byte: {s:?}")))
}

fn pipe() -> io::Result<[libc::c_int; 2]> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fds)
}

/// Forks a child that will run `argv` once released.
pub fn spawn_gated(argv: &[OsString]) -> Result<PendingChild> {
    let program = argv.first().ok_or_else(|| Error::Invalid("no command given after `--`".into()))?;
    let path = resolve(program)?;
    let command = program.to_string_lossy().into_owned();
    let c_path = cstring(path.as_os_str())?;
    let c_args = argv.iter().map(|a| cstring(a)).collect::<Result<Vec<_>>>()?;
    let c_env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv).ok()
        })
        .collect();
    // Everything the child touches is allocated before fork: after fork in a threaded process only
    // async-signal-safe calls are allowed.
    let mut arg_ptrs: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = c_env.iter().map(|a| a.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());

    let io_err = |e| Error::Exec { command: command.clone(), source: e };
    let [gate_r, gate_w] = pipe().map_err(io_err)?;
    let [err_r, err_w] = pipe().map_err(io_err)?;

    // SAFETY: the child branch only calls async-signal-safe functions (read, write, execve, _exit).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io_err(io::Error::last_os_error()));
    }
    if pid == 0 {
        unsafe {
            libc::close(gate_w);
            libc::close(err_r);
            let mut byte = 0u8;
            // EOF (the parent gave up) or an error: do not run the command.
            if libc::read(gate_r, (&mut byte as *mut u8).cast(), 1) != 1 {
                libc::_exit(127);
            }
            libc::execve(c_path.as_ptr(), arg_ptrs.as_ptr(), env_ptrs.as_ptr());
            let errno = *libc::__errno_location();
            libc::write(err_w, (&errno as *const i32).cast(), 4);
            libc::_exit(127);
        }
    }
    unsafe {
        libc::close(gate_r);
        libc::close(err_w);
    }
    Ok(PendingChild { pid, gate: gate_w, exec_error: err_r, command })
}

impl PendingChild {
    /// The child's pid (also its future process id after exec).
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child exec the command, and reports whether exec worked.
    pub fn release(mut self) -> Result<Child> {
        let byte = 1u8;
        // SAFETY: gate and exec_error are our open pipe ends; buffers are valid for their sizes.
        unsafe {
            libc::write(self.gate, (&byte as *const u8).cast(), 1);
            libc::close(self.gate);
            self.gate = -1;
            let mut errno = 0i32;
            let n = libc::read(self.exec_error, (&mut errno as *mut i32).cast(), 4);
            libc::close(self.exec_error);
            self.exec_error = -1;
            if n == 4 {
                let mut status = 0;
                libc::waitpid(self.pid, &mut status, 0);
                self.pid = -1;
                return Err(Error::Exec { command: self.command.clone(), source: io::Error::from_raw_os_error(errno) });
            }
        }
        let pid = std::mem::replace(&mut self.pid, -1);
        Ok(Child { pid, status: None })
    }
}

impl Drop for PendingChild {
    /// Never released: close the gate so the child exits without running anything, and reap it.
    fn drop(&mut self) {
        unsafe {
            if self.gate >= 0 {
                libc::close(self.gate);
            }
            if self.exec_error >= 0 {
                libc::close(self.exec_error);
            }
            if self.pid > 0 {
                let mut status = 0;
                libc::waitpid(self.pid, &mut status, 0);
            }
        }
    }
}

impl Child {
    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// The exit status if the child has ended, without blocking.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            let mut raw = 0;
            // SAFETY: pid is our child; raw is a valid out pointer.
            if unsafe { libc::waitpid(self.pid, &mut raw, libc::WNOHANG) } == self.pid {
                self.status = Some(ExitStatus::from_raw(raw));
            }
        }
        self.status
    }

    /// Sends `signal` to the child unless it has ended.
    pub fn signal(&mut self, signal: i32) {
        if self.try_wait().is_none() {
            // SAFETY: plain kill(2) of our own child.
            unsafe { libc::kill(self.pid, signal) };
        }
    }

    /// Waits for the child to end.
    pub fn wait(&mut self) -> ExitStatus {
        while self.status.is_none() {
            let mut raw = 0;
            // SAFETY: as in try_wait, blocking.
            let rc = unsafe { libc::waitpid(self.pid, &mut raw, 0) };
            if rc == self.pid {
                self.status = Some(ExitStatus::from_raw(raw));
            } else if rc < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                // Reaped elsewhere or not our child: nothing more can be known.
                self.status = Some(ExitStatus::Code(0));
            }
        }
        self.status.unwrap()
    }
}

/// A file to place uprobes in, as aya can take it: aya looks a relative path up as a library name
/// in ld.so.cache (`./service` would not be found), so the path is made absolute (symbolic links
/// kept, so messages name the file as the user did).
pub fn attachable(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn runs_after_release_with_exit_code() {
        let pending = spawn_gated(&args(&["sh", "-c", "exit 7"])).unwrap();
        let mut child = pending.release().unwrap();
        assert_eq!(child.wait(), ExitStatus::Code(7));
    }

    #[test]
    fn unknown_command_is_an_error_before_fork() {
        let err = spawn_gated(&args(&["armtune-no-such-command"])).unwrap_err();
        assert!(matches!(err, Error::CommandNotFound(_)), "{err}");
    }

    #[test]
    fn exec_failure_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-executable");
        std::fs::write(&file, "data").unwrap();
        let err = spawn_gated(&[file.into_os_string()]).unwrap().release().unwrap_err();
        assert!(err.to_string().contains("Permission denied"), "{err}");
    }

    #[test]
    fn dropped_gate_never_runs_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let script = format!("touch {}", marker.display());
        drop(spawn_gated(&args(&["sh", "-c", &script])).unwrap());
        assert!(!marker.exists());
    }

    #[test]
    fn signal_status_maps_to_shell_code() {
        let mut child = spawn_gated(&args(&["sleep", "5"])).unwrap().release().unwrap();
        child.signal(libc::SIGTERM);
        assert_eq!(child.wait(), ExitStatus::Signal(libc::SIGTERM));
        assert_eq!(ExitStatus::Signal(libc::SIGTERM).shell_code(), 143);
    }
}
