//! The CPU features a board profile needs, as the kernel reports them (`/proc/cpuinfo`'s
//! `Features` line, or the HWCAPs `std::arch` reads).

/// Features the running CPU has, by their `/proc/cpuinfo` names.
pub fn detected() -> Vec<&'static str> {
    #[cfg(target_arch = "aarch64")]
    {
        let mut f = Vec::new();
        macro_rules! check {
            ($($feature:tt => $name:literal),*) => {
                $(if std::arch::is_aarch64_feature_detected!($feature) { f.push($name); })*
            };
        }
        check!("asimd" => "asimd", "crc" => "crc32", "aes" => "aes", "sha2" => "sha2", "lse" => "atomics",
            "rcpc" => "lrcpc", "dotprod" => "asimddp", "fp16" => "fphp", "sve" => "sve");
        f
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        Vec::new()
    }
}

/// The `Features` line of an AArch64 `/proc/cpuinfo`, if the text has one.
pub fn from_cpuinfo(cpuinfo: &str) -> Option<Vec<String>> {
    let line = cpuinfo.lines().find(|l| l.starts_with("Features"))?;
    let (_, list) = line.split_once(':')?;
    Some(list.split_whitespace().map(String::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_features_of_a_pi4_and_a_pi5() {
        let pi4 = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n";
        assert_eq!(from_cpuinfo(pi4).unwrap(), ["fp", "asimd", "evtstrm", "crc32", "cpuid"]);
        let pi5 = "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\n";
        assert!(from_cpuinfo(pi5).unwrap().iter().any(|f| f == "atomics"));
        assert!(from_cpuinfo("model name\t: Intel(R) Xeon(R)\nflags\t: fpu sse2\n").is_none());
    }
}
