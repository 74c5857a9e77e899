//! Builds the eBPF crate (`../ebpf`) for `bpfel-unknown-none` and hands the object to `src/object.rs`.
//!
//! Two toolchains can do that, tried in this order:
//! 1. Debian's route: `/usr/bin/rustc` (package rustc-web) with its prebuilt bpf `core`
//!    (libstd-rust-web-dev-bpf) and `RUSTC_BOOTSTRAP=1`; this is what `ci/setup.sh` installs.
//! 2. rustup's route: a nightly toolchain with rust-src, building `core` with `-Z build-std=core`.
//!
//! Both need `bpf-linker`. `ARMTUNE_EBPF_OBJECT=/path/to/object` skips the build and embeds a
//! prebuilt object instead (for packagers and cross builds that prepared it elsewhere).
use std::{
    env,
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let ebpf_dir = manifest_dir.join("../ebpf");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let object = out_dir.join("armtune-ebpf.o");

    for path in ["src", "build.rs", "Cargo.toml", "Cargo.lock", "common/src", "common/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", ebpf_dir.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=ARMTUNE_EBPF_OBJECT");
    println!("cargo:rerun-if-env-changed=ARMTUNE_EBPF_TOOLCHAIN");

    if let Some(prebuilt) = env::var_os("ARMTUNE_EBPF_OBJECT") {
        std::fs::copy(&prebuilt, &object)
            .unwrap_or_else(|e| fail(&format!("ARMTUNE_EBPF_OBJECT={}: {e}", Path::new(&prebuilt).display())));
        return;
    }

    // The eBPF programs read registers by the layout of the architecture they will run on.
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap();
    let bpf_arch = match arch.as_str() {
        "x86_64" | "aarch64" | "arm" | "riscv64" | "powerpc64" | "s390x" | "mips" => arch.clone(),
        other => fail(&format!("no eBPF register layout for target architecture {other}")),
    };
    let linker = find_bpf_linker().unwrap_or_else(|| {
        fail("bpf-linker not found on PATH or in ~/.cargo/bin: run ci/setup.sh (or `cargo install bpf-linker`)")
    });

    let toolchain = env::var("ARMTUNE_EBPF_TOOLCHAIN").ok();
    let debian_rustc = Path::new("/usr/bin/rustc");
    let debian_ok = debian_rustc.exists() && Path::new("/usr/lib/rustlib/bpfel-unknown-none/lib").is_dir();
    let route = match toolchain.as_deref() {
        Some("debian") => Route::Debian,
        Some("nightly") => Route::Nightly,
        Some(other) => fail(&format!("ARMTUNE_EBPF_TOOLCHAIN={other}: expected `debian` or `nightly`")),
        None if debian_ok => Route::Debian,
        None if nightly_available() => Route::Nightly,
        None => fail(
            "no toolchain that can build the eBPF programs: run ci/setup.sh (installs Debian's rustc-web \
             with the bpf core and bpf-linker), or install a rustup nightly with rust-src",
        ),
    };

    let target_dir = manifest_dir.join("../target/ebpf").join(&bpf_arch);
    let mut cmd = match route {
        Route::Debian => {
            let mut c = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
            c.arg("build");
            c
        }
        Route::Nightly => {
            let mut c = Command::new("rustup");
            c.args(["run", "nightly", "cargo", "build", "-Z", "build-std=core"]);
            c
        }
    };
    // The outer build's settings (its flags, wrappers, target dir, target) are for the host crates.
    for (key, _) in env::vars_os() {
        let k = key.to_string_lossy();
        if (k.starts_with("CARGO_") && k != "CARGO_HOME")
            || k.starts_with("RUSTC")
            || k == "RUSTFLAGS"
            || k == "RUSTDOCFLAGS"
            || k == "RUSTUP_TOOLCHAIN"
        {
            cmd.env_remove(&key);
        }
    }
    if let Route::Debian = route {
        cmd.env("RUSTC", debian_rustc).env("RUSTC_BOOTSTRAP", "1");
    }
    let mut rustflags = OsString::from(format!("--cfg bpf_target_arch=\"{bpf_arch}\" -C linker="));
    rustflags.push(&linker);
    cmd.env("RUSTFLAGS", rustflags).env("CARGO_TARGET_DIR", &target_dir).current_dir(&ebpf_dir).args([
        "--release",
        "--target",
        "bpfel-unknown-none",
    ]);

    let output = cmd.output().unwrap_or_else(|e| fail(&format!("could not run cargo for the eBPF crate: {e}")));
    if !output.status.success() {
        fail(&format!(
            "building the eBPF crate failed ({:?} route):\n{}",
            route,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let built = target_dir.join("bpfel-unknown-none/release/armtune-ebpf");
    std::fs::copy(&built, &object)
        .unwrap_or_else(|e| fail(&format!("eBPF object missing at {}: {e}", built.display())));
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Debian,
    Nightly,
}

fn find_bpf_linker() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env::var_os("PATH").map(|p| env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join("bpf-linker")).find(|p| p.is_file())
}

fn nightly_available() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--print", "sysroot"])
        .output()
        .map(|o| {
            o.status.success()
                && Path::new(String::from_utf8_lossy(&o.stdout).trim())
                    .join("lib/rustlib/src/rust/library/core")
                    .is_dir()
        })
        .unwrap_or(false)
}

fn fail(message: &str) -> ! {
    eprintln!("error: armtune-probes: {message}");
    panic!("armtune-probes build: {message}");
}
