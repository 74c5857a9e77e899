//! Code placement: the same 16-instruction loop body starting on a 64-byte line (one fetch line per
//! iteration) or 48 bytes into one (straddling two lines), and a loop whose body is half taken
//! branches against the same number of plain instructions. Written in assembly so the placement
//! is exactly this; `armtune check` reports the bad variants (loop-crosses-line, branch-density).

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".text",
    // x0: iterations. Body: 14 adds + subs + b.ne = 16 instructions = 64 bytes.
    ".p2align 6",
    ".global armtune_bench_loop_aligned",
    ".type armtune_bench_loop_aligned, %function",
    "armtune_bench_loop_aligned:",
    "1:",
    ".rept 14",
    "add x1, x1, #1",
    ".endr",
    "subs x0, x0, #1",
    "b.ne 1b",
    "ret",
    ".size armtune_bench_loop_aligned, . - armtune_bench_loop_aligned",
    // The same loop, starting 48 bytes into a line: it spans two. The padding is never executed.
    ".p2align 6",
    ".rept 12",
    "nop",
    ".endr",
    ".global armtune_bench_loop_straddle",
    ".type armtune_bench_loop_straddle, %function",
    "armtune_bench_loop_straddle:",
    "1:",
    ".rept 14",
    "add x1, x1, #1",
    ".endr",
    "subs x0, x0, #1",
    "b.ne 1b",
    "ret",
    ".size armtune_bench_loop_straddle, . - armtune_bench_loop_straddle",
    // Seven taken branches (each to the next instruction) among 14 body instructions.
    ".p2align 6",
    ".global armtune_bench_dense_branches",
    ".type armtune_bench_dense_branches, %function",
    "armtune_bench_dense_branches:",
    "1:",
    ".rept 7",
    "add x1, x1, #1",
    "b 2f",
    "2:",
    ".endr",
    "subs x0, x0, #1",
    "b.ne 1b",
    "ret",
    ".size armtune_bench_dense_branches, . - armtune_bench_dense_branches",
    // The same instruction count with no branch but the loop's.
    ".p2align 6",
    ".global armtune_bench_sparse_branches",
    ".type armtune_bench_sparse_branches, %function",
    "armtune_bench_sparse_branches:",
    "1:",
    ".rept 7",
    "add x1, x1, #1",
    "nop",
    ".endr",
    "subs x0, x0, #1",
    "b.ne 1b",
    "ret",
    ".size armtune_bench_sparse_branches, . - armtune_bench_sparse_branches",
);

#[cfg(target_arch = "aarch64")]
extern "C" {
    fn armtune_bench_loop_aligned(iterations: u64);
    fn armtune_bench_loop_straddle(iterations: u64);
    fn armtune_bench_dense_branches(iterations: u64);
    fn armtune_bench_sparse_branches(iterations: u64);
}

/// A kernel: runs its loop `iterations` times (at least once).
pub type Kernel = fn(u64);

macro_rules! kernel {
    ($(#[$doc:meta])* $name:ident => $sym:ident) => {
        $(#[$doc])*
        #[cfg(target_arch = "aarch64")]
        pub fn $name(iterations: u64) {
            // SAFETY: the assembly reads x0 and clobbers only x0, x1 (caller-saved).
            unsafe { $sym(iterations.max(1)) }
        }
    };
}

kernel!(
    /// The loop starting on a line.
    loop_aligned => armtune_bench_loop_aligned
);
kernel!(
    /// The loop straddling two lines.
    loop_straddle => armtune_bench_loop_straddle
);
kernel!(
    /// Half the body is taken branches.
    dense_branches => armtune_bench_dense_branches
);
kernel!(
    /// The same instruction count, no branches.
    sparse_branches => armtune_bench_sparse_branches
);

/// Each kernel's name and where its code starts within its 64-byte line.
#[cfg(target_arch = "aarch64")]
pub fn line_offsets() -> [(&'static str, usize); 4] {
    let offset = |f: unsafe extern "C" fn(u64)| f as *const () as usize % 64;
    [
        ("loop_aligned", offset(armtune_bench_loop_aligned)),
        ("loop_straddle", offset(armtune_bench_loop_straddle)),
        ("dense_branches", offset(armtune_bench_dense_branches)),
        ("sparse_branches", offset(armtune_bench_sparse_branches)),
    ]
}

#[cfg(all(test, target_arch = "aarch64"))]
mod tests {
    use super::*;

    #[test]
    fn placement_is_as_designed_and_kernels_return() {
        let offsets = line_offsets();
        assert_eq!(offsets[0], ("loop_aligned", 0));
        assert_eq!(offsets[1], ("loop_straddle", 48));
        for k in [loop_aligned as Kernel, loop_straddle, dense_branches, sparse_branches] {
            k(1000);
        }
    }
}
