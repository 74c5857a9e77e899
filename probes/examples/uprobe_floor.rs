//! Benchmark helper: attaches do-nothing uprobes (and a do-nothing uretprobe on malloc) to the C
//! library's malloc and free, runs a command, and detaches. What a command costs under this is the
//! floor no uprobe-based allocation profiler can go below: the trap into the kernel and back.
//!
//! Usage (root): cargo run --release -p armtune-probes --example uprobe_floor -- CMD [ARGS...]

use aya::{programs::UProbe, EbpfLoader};

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        eprintln!("usage: uprobe_floor CMD [ARGS...]");
        std::process::exit(2);
    }
    let mut ebpf = EbpfLoader::new().load(armtune_probes::object::EBPF_OBJECT).expect("load the eBPF object (as root)");
    let prog: &mut UProbe = ebpf.program_mut("armtune_dr_up").unwrap().try_into().unwrap();
    prog.load().expect("load the empty uprobe");
    for function in ["malloc", "free"] {
        prog.attach(Some(function), 0, "libc", None).expect("attach to libc");
    }
    // The same shape as armtune's alloc probes: entry probes on both, a return probe on malloc.
    let ret: &mut UProbe = ebpf.program_mut("armtune_dr_uret").unwrap().try_into().unwrap();
    ret.load().expect("load the empty uretprobe");
    ret.attach(Some("malloc"), 0, "libc", None).expect("attach the return probe");
    let status = std::process::Command::new(&argv[0]).args(&argv[1..]).status().expect("run the command");
    std::process::exit(status.code().unwrap_or(1));
}
