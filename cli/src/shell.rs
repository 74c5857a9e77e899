//! `armtune completions` and `armtune man`: the shell's completion script and the manual pages,
//! both made from the same clap definitions the commands parse with, so they never drift.

use std::{io::Write, path::PathBuf};

use anyhow::{Context as _, Result};
use clap_complete::Shell;

use crate::Outcome;

/// `armtune completions`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Install (as root, or into your own directories):\n  \
    armtune completions bash > /usr/share/bash-completion/completions/armtune\n  \
    armtune completions zsh > /usr/local/share/zsh/site-functions/_armtune\n  \
    armtune completions fish > /usr/share/fish/vendor_completions.d/armtune.fish")]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

/// `armtune man`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Install: armtune man --dir /usr/local/share/man/man1 && man armtune-profile")]
pub struct ManArgs {
    /// Write armtune.1 and one page per subcommand (armtune-profile.1, ...) into this directory
    /// instead of printing armtune(1).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: CompletionsArgs, mut command: clap::Command) -> Result<Outcome> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "armtune", &mut out);
    out.flush().context("writing the completion script")?;
    Ok(Outcome(0))
}

/// Prints armtune(1), or writes every page into `args.dir`.
pub fn man(args: ManArgs, command: clap::Command) -> Result<Outcome> {
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir).with_context(|| format!("writing pages into {}", dir.display()))?;
            eprintln!("armtune: manual pages written to {} (man armtune, man armtune-profile, ...)", dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out).context("writing the manual page")?;
            out.flush().context("writing the manual page")?;
        }
    }
    Ok(Outcome(0))
}
