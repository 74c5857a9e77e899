//! Board profiles: the CPU a build targets, the features the board must have to run it, and the
//! CPU model qemu emulates for a functional run.

/// A board profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// Name on the command line.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// `-C target-cpu` for the benchmarks.
    pub target_cpu: &'static str,
    /// Extra `-C target-feature` (comma-separated, may be empty).
    pub target_features: &'static str,
    /// `/proc/cpuinfo` features the board must report to run the build.
    pub requires: &'static [&'static str],
    /// `qemu-aarch64 -cpu` model for `--qemu` runs.
    pub qemu_cpu: &'static str,
}

/// Every profile.
pub const BOARDS: &[Board] = &[
    Board {
        name: "rpi4",
        description: "Raspberry Pi 4 (Cortex-A72, ARMv8.0: no LSE atomics)",
        target_cpu: "cortex-a72",
        target_features: "",
        requires: &["asimd", "crc32"],
        qemu_cpu: "cortex-a72",
    },
    Board {
        name: "rpi5",
        description: "Raspberry Pi 5 (Cortex-A76, ARMv8.2: LSE atomics, dot product, RCpc)",
        target_cpu: "cortex-a76",
        target_features: "",
        requires: &["asimd", "crc32", "atomics", "lrcpc", "asimddp"],
        qemu_cpu: "cortex-a76",
    },
    Board {
        name: "phytium",
        description: "Phytium FTC66x servers (ARMv8.0-A; built for the generic ARMv8 CPU with CRC)",
        target_cpu: "generic",
        target_features: "+crc",
        requires: &["asimd", "crc32"],
        qemu_cpu: "cortex-a57",
    },
    Board {
        name: "generic",
        description: "any AArch64 Linux machine (baseline ARMv8.0-A)",
        target_cpu: "generic",
        target_features: "",
        requires: &[],
        qemu_cpu: "cortex-a53",
    },
];

impl Board {
    /// The profile called `name`.
    pub fn named(name: &str) -> Result<&'static Board, String> {
        BOARDS.iter().find(|b| b.name == name).ok_or_else(|| {
            let names: Vec<&str> = BOARDS.iter().map(|b| b.name).collect();
            format!("unknown board {name:?}: one of {}", names.join(", "))
        })
    }

    /// The compiler flags for the benchmark targets.
    pub fn rustc_flags(&self) -> Vec<String> {
        let mut flags = vec!["-C".to_string(), format!("target-cpu={}", self.target_cpu)];
        if !self.target_features.is_empty() {
            flags.extend(["-C".to_string(), format!("target-feature={}", self.target_features)]);
        }
        flags
    }

    /// The required features `present` lacks.
    pub fn missing<'a>(&self, present: &[String]) -> Vec<&'a str>
    where
        'static: 'a,
    {
        self.requires.iter().copied().filter(|r| !present.iter().any(|p| p == r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles() {
        let rpi5 = Board::named("rpi5").unwrap();
        assert_eq!(rpi5.rustc_flags(), ["-C", "target-cpu=cortex-a76"]);
        assert_eq!(Board::named("phytium").unwrap().rustc_flags().len(), 4);
        let pi4_features: Vec<String> = ["fp", "asimd", "evtstrm", "crc32", "cpuid"].map(String::from).to_vec();
        assert_eq!(rpi5.missing(&pi4_features), ["atomics", "lrcpc", "asimddp"]);
        assert!(Board::named("rpi4").unwrap().missing(&pi4_features).is_empty());
        assert!(Board::named("rpi6").unwrap_err().contains("rpi4, rpi5, phytium, generic"));
    }
}
