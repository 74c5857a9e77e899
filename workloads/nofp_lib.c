// libnofp.so: hot code four calls deep, for the unwinding tests. Built as distributions build
// libraries (-O2 -fomit-frame-pointer), so frame pointers cannot walk it; `noipa` keeps every
// function a real call under its own name (no inlining, cloning or tail calls through it).
//
// nofp_run -> nofp_level1 -> nofp_level2 -> nofp_level3 -> nofp_leaf_major (3/4 of the work)
//                                                       -> nofp_leaf_minor (1/4)
#include <time.h>

#define NOFP __attribute__((noipa))

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

NOFP unsigned long nofp_spin(unsigned long x, unsigned long n) {
    for (unsigned long i = 0; i < n; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    }
    return x;
}

NOFP unsigned long nofp_leaf_major(unsigned long x, unsigned long n) {
    return nofp_spin(x, 3 * n) + 1;
}

NOFP unsigned long nofp_leaf_minor(unsigned long x, unsigned long n) {
    return nofp_spin(x, n) + 3;
}

NOFP unsigned long nofp_level3(unsigned long x, unsigned long n) {
    unsigned long a = nofp_leaf_major(x, n);
    return nofp_leaf_minor(a, n) ^ a;
}

NOFP unsigned long nofp_level2(unsigned long x, unsigned long n) {
    return nofp_level3(x + 1, n) * 3;
}

NOFP unsigned long nofp_level1(unsigned long x, unsigned long n) {
    return nofp_level2(x + 2, n) * 5;
}

// The library's one export: built with -fvisibility=hidden and stripped (the tests' stripped
// copy), everything else in it has no name left at all.
// Runs the chain for `seconds`; the clock is read between rounds only. A round is short (about
// 20 us) next to a sampling period, so samples do not fall in step with its phases.
__attribute__((visibility("default"))) NOFP unsigned long nofp_run(double seconds) {
    unsigned long x = 1;
    double end = now() + seconds;
    while (now() < end) {
        x = nofp_level1(x, 5000) + 7;
    }
    return x;
}
