//! The `armtune` binary: parses the command line and hands it to the library ([`armtune::run`]);
//! prints an error as one line and exits with [`armtune::exit_code_of`] its code.

use std::process::ExitCode;

use armtune::{Cli, Outcome};
use clap::Parser;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes away (`| head`) instead of
    // panicking on the failed write.
    // SAFETY: resetting a signal disposition to its default before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    match armtune::run(Cli::parse()) {
        Ok(Outcome(code)) => ExitCode::from(code),
        Err(err) => {
            // One line, the whole cause chain, no backtrace: the messages say what to do.
            eprintln!("armtune: {err:#}");
            ExitCode::from(armtune::exit_code_of(&err))
        }
    }
}
