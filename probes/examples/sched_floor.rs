//! Benchmark helper: attaches do-nothing programs to `sched_switch` and `sched_wakeup` (BTF-typed or
//! classic tracepoints), runs a command, and detaches. What a command costs under this is the floor
//! no tracepoint-based scheduler profiler can go below on this kernel: running a program per event.
//!
//! Usage (root): cargo run --release -p armtune-probes --example sched_floor -- btf|classic CMD [ARGS...]

use aya::{
    programs::{BtfTracePoint, TracePoint},
    Btf, EbpfLoader,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || !["btf", "classic"].contains(&args[0].as_str()) {
        eprintln!("usage: sched_floor btf|classic CMD [ARGS...]");
        std::process::exit(2);
    }
    let mut ebpf = EbpfLoader::new().load(armtune_probes::object::EBPF_OBJECT).expect("load the eBPF object (as root)");
    if args[0] == "btf" {
        let btf = Btf::from_sys_fs().expect("the kernel's BTF");
        for (program, event) in [("armtune_dr_btf", "sched_switch"), ("armtune_dr_btf_wakeup", "sched_wakeup")] {
            let prog: &mut BtfTracePoint = ebpf.program_mut(program).unwrap().try_into().unwrap();
            prog.load(event, &btf).expect("load the empty BTF-typed tracepoint");
            prog.attach().expect("attach it");
        }
    } else {
        let prog: &mut TracePoint = ebpf.program_mut("armtune_dr_tp").unwrap().try_into().unwrap();
        prog.load().expect("load the empty tracepoint");
        for event in ["sched_switch", "sched_wakeup"] {
            prog.attach("sched", event).expect("attach it");
        }
    }
    let status = std::process::Command::new(&args[1]).args(&args[2..]).status().expect("run the command");
    std::process::exit(status.code().unwrap_or(1));
}
