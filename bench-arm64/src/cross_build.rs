//! `armtune bench build`: cross-compiles the benchmarks for a board, by the first route that
//! works here: `cross` (with a Docker engine), a rustup-installed aarch64 standard library, or
//! Debian's rustc with Debian's arm64 standard library (what CI has). The board's `-C target-cpu`
//! applies to the benchmark targets themselves (`cargo rustc`), so the dependencies are built once
//! and shared by every board.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde::{Deserialize, Serialize};

use crate::{boards::Board, BenchError};

/// The aarch64 target triple.
pub const TARGET: &str = "aarch64-unknown-linux-gnu";
/// The benchmark targets of this crate.
pub const BENCHES: &[&str] = &["arm64_effects", "armtune_paths"];
/// The feature probe binary.
pub const PROBE: &str = "armtune-bench-probe";

/// How the build was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// `cross` in a Docker container.
    Cross,
    /// rustup's toolchain with its aarch64 standard library.
    Rustup,
    /// Debian's rustc with `libstd-rust-web-dev:arm64`.
    Debian,
}

/// What is installed, as the route choice sees it (a trait so tests can say).
pub trait Toolchains {
    /// `cross` runs and a Docker engine answers.
    fn cross_with_docker(&self) -> bool;
    /// rustup lists the aarch64 target as installed.
    fn rustup_aarch64(&self) -> bool;
    /// Debian's rustc and its arm64 standard library are there.
    fn debian_aarch64(&self) -> bool;
    /// The GNU cross linker is there.
    fn cross_linker(&self) -> bool;
}

/// The real machine.
pub struct Installed;

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|o| o.status.success())
}

impl Toolchains for Installed {
    fn cross_with_docker(&self) -> bool {
        succeeds("cross", &["--version"]) && succeeds("docker", &["info"])
    }

    fn rustup_aarch64(&self) -> bool {
        Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET))
    }

    fn debian_aarch64(&self) -> bool {
        Path::new("/usr/bin/rustc").exists() && Path::new("/usr/lib/rustlib").join(TARGET).join("lib").is_dir()
    }

    fn cross_linker(&self) -> bool {
        succeeds("aarch64-linux-gnu-gcc", &["--version"])
    }
}

/// The route to take, or what to install.
pub fn choose_route(t: &dyn Toolchains) -> Result<Route, BenchError> {
    if t.cross_with_docker() {
        return Ok(Route::Cross);
    }
    let native = if t.rustup_aarch64() {
        Some(Route::Rustup)
    } else if t.debian_aarch64() {
        Some(Route::Debian)
    } else {
        None
    };
    match (native, t.cross_linker()) {
        (Some(route), true) => Ok(route),
        (Some(_), false) => Err(BenchError::Toolchain(
            "an aarch64 standard library is installed but not the GNU cross linker: \
             apt-get install gcc-aarch64-linux-gnu (bash ci/setup.sh does)"
                .into(),
        )),
        (None, _) => Err(BenchError::Toolchain(
            "no way to build for aarch64 here: install Debian's libstd-rust-web-dev:arm64 and \
             gcc-aarch64-linux-gnu (bash ci/setup.sh does both), or `rustup target add \
             aarch64-unknown-linux-gnu` and gcc-aarch64-linux-gnu, or `cargo install cross` with a \
             running Docker engine"
                .into(),
        )),
    }
}

/// Build profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Optimized: for timings.
    Release,
    /// Unoptimized: quick functional checks.
    Dev,
}

/// What a build produced: the contents of its `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Board profile name.
    pub board: String,
    /// Route taken.
    pub route: Route,
    /// Build profile.
    pub profile: Profile,
    /// Flags the benchmark targets were compiled with.
    pub rustc_flags: Vec<String>,
    /// `git describe` of the sources.
    pub revision: String,
    /// Benchmark executables (file names in the build directory).
    pub benches: Vec<String>,
    /// The feature probe's file name.
    pub probe: String,
}

/// The sources' revision: short commit hash, `-dirty` when the tree has changes.
pub fn revision(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) => {
            format!("{hash}-dirty")
        }
        Some(hash) => hash,
        None => "unknown".into(),
    }
}

/// Builds the benchmarks of the workspace at `root` for `board` into `out`, saying on stderr
/// which route it takes.
pub fn build(root: &Path, board: &Board, profile: Profile, out: &Path) -> Result<Manifest, BenchError> {
    let route = choose_route(&Installed)?;
    eprintln!("armtune bench: building for {} ({}) with {route:?}", board.name, board.description);
    std::fs::create_dir_all(out).map_err(|e| BenchError::io(out, e))?;
    let mut artifacts = Vec::new();
    let targets: Vec<(&str, &str)> =
        BENCHES.iter().map(|b| ("--bench", *b)).chain(std::iter::once(("--bin", PROBE))).collect();
    for (kind, name) in targets {
        let mut cmd = cargo(root, route);
        cmd.args(["rustc", "--locked", "-p", "armtune-bench-arm64", "--target", TARGET])
            .args(["--profile", if profile == Profile::Release { "release" } else { "dev" }])
            .args([kind, name, "--message-format=json-render-diagnostics", "--"])
            .args(board.rustc_flags());
        let output = cmd.output().map_err(|e| BenchError::Toolchain(format!("cannot run the build ({e})")))?;
        if !output.status.success() {
            let err = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = err.lines().rev().take(15).collect();
            return Err(BenchError::Build(format!(
                "building {name} for {} failed:\n{}",
                board.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        let exe = executable_of(&output.stdout, name)
            .ok_or_else(|| BenchError::Build(format!("the build of {name} named no executable")))?;
        let file = if kind == "--bin" { PROBE.to_string() } else { name.to_string() };
        std::fs::copy(&exe, out.join(&file)).map_err(|e| BenchError::io(&exe, e))?;
        artifacts.push(file);
    }
    let probe = artifacts.pop().unwrap_or_default();
    let manifest = Manifest {
        board: board.name.into(),
        route,
        profile,
        rustc_flags: board.rustc_flags(),
        revision: revision(root),
        benches: artifacts,
        probe,
    };
    let path = out.join("manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap_or_default())
        .map_err(|e| BenchError::io(&path, e))?;
    Ok(manifest)
}

fn cargo(root: &Path, route: Route) -> Command {
    let mut cmd = Command::new(if route == Route::Cross { "cross" } else { "cargo" });
    cmd.current_dir(root);
    match route {
        // Shared with scripts/test.sh's aarch64 build: the dependencies are built once.
        Route::Debian => {
            cmd.env("RUSTC", "/usr/bin/rustc").env("CARGO_TARGET_DIR", root.join("target/aarch64"));
        }
        Route::Rustup => {
            cmd.env("CARGO_TARGET_DIR", root.join("target/aarch64-rustup"));
        }
        Route::Cross => {
            // Cross's image cannot build the eBPF object: hand it one the host built (Cross.toml
            // passes the variable through; the project directory is mounted at the same path).
            if std::env::var_os("ARMTUNE_EBPF_OBJECT").is_none() {
                if let Some(object) = host_ebpf_object(root) {
                    cmd.env("ARMTUNE_EBPF_OBJECT", object);
                }
            }
        }
    }
    cmd
}

/// The newest eBPF object a host build of armtune-probes left under `root/target`.
fn host_ebpf_object(root: &Path) -> Option<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for profile in std::fs::read_dir(root.join("target")).ok()?.flatten() {
        let Ok(builds) = std::fs::read_dir(profile.path().join("build")) else { continue };
        for build in builds.flatten().filter(|b| b.file_name().to_string_lossy().starts_with("armtune-probes-")) {
            let object = build.path().join("out/armtune-ebpf.o");
            if let Ok(modified) = object.metadata().and_then(|m| m.modified()) {
                found.push((modified, object));
            }
        }
    }
    found.into_iter().max().map(|(_, p)| p)
}

/// The executable cargo reports for target `name` in its JSON messages.
fn executable_of(messages: &[u8], name: &str) -> Option<PathBuf> {
    String::from_utf8_lossy(messages)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Has(bool, bool, bool, bool);

    impl Toolchains for Has {
        fn cross_with_docker(&self) -> bool {
            self.0
        }
        fn rustup_aarch64(&self) -> bool {
            self.1
        }
        fn debian_aarch64(&self) -> bool {
            self.2
        }
        fn cross_linker(&self) -> bool {
            self.3
        }
    }

    #[test]
    fn routes_in_order_and_what_to_install() {
        assert_eq!(choose_route(&Has(true, true, true, true)).unwrap(), Route::Cross);
        assert_eq!(choose_route(&Has(false, true, true, true)).unwrap(), Route::Rustup);
        assert_eq!(choose_route(&Has(false, false, true, true)).unwrap(), Route::Debian);
        let no_linker = choose_route(&Has(false, false, true, false)).unwrap_err().to_string();
        assert!(no_linker.contains("gcc-aarch64-linux-gnu"), "{no_linker}");
        let nothing = choose_route(&Has(false, false, false, true)).unwrap_err().to_string();
        assert!(nothing.contains("libstd-rust-web-dev:arm64") && nothing.contains("cross"), "{nothing}");
    }

    #[test]
    fn executable_from_cargo_messages() {
        let msgs = br#"{"reason":"compiler-artifact","target":{"name":"armtune_paths","kind":["bench"]},"executable":"/t/deps/armtune_paths-1"}
{"reason":"compiler-artifact","target":{"name":"arm64_effects","kind":["bench"]},"executable":"/t/deps/arm64_effects-2"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(executable_of(msgs, "arm64_effects"), Some(PathBuf::from("/t/deps/arm64_effects-2")));
        assert_eq!(executable_of(msgs, "nothing"), None);
    }
}
