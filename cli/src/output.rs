//! Output files: opened before profiling starts (an unwritable path fails in a second, not after a
//! ten-minute profile) and handed back to the invoking user when armtune runs under sudo.

use std::{
    fs::File,
    io::{BufWriter, Write},
    os::fd::AsRawFd,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// An output file, created up front and written at the end.
pub struct OutputFile {
    path: PathBuf,
    file: File,
}

impl OutputFile {
    /// Creates (truncates) `path`, with an error that names it.
    pub fn create(path: &Path) -> Result<OutputFile> {
        let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        give_to_sudo_user(&file);
        Ok(OutputFile { path: path.to_path_buf(), file })
    }

    /// The path it was created at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the content with `write`, flushing and naming the file on error.
    pub fn write_with(self, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
        let mut out = BufWriter::new(&self.file);
        write(&mut out).and_then(|()| out.flush()).with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Under sudo, files belong to the user who ran sudo, not to root.
fn give_to_sudo_user(file: &File) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let id = |var: &str| std::env::var(var).ok().and_then(|v| v.parse::<u32>().ok());
    if let (Some(uid), Some(gid)) = (id("SUDO_UID"), id("SUDO_GID")) {
        // SAFETY: fchown on an open descriptor we own; failure leaves the file root's, which is safe.
        unsafe { libc::fchown(file.as_raw_fd(), uid, gid) };
    }
}
