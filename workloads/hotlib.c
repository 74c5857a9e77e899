// A shared library whose one function burns CPU for a given time: the test's hot function lives in
// a library, not in the program, so naming it needs the library's mapping. With HOT_ALIAS the
// library also exports lib_hot_spin, which calls HOT_FN.
#include <time.h>

#ifndef HOT_FN
#define HOT_FN lib_hot_spin
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) unsigned long HOT_FN(double seconds) {
    unsigned long x = 1;
    double end = now() + seconds;
    while (now() < end) {
        for (int i = 0; i < 10000; i++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
        }
    }
    return x;
}

#ifdef HOT_ALIAS
// The usual entry point, for a build whose hot function has another name: the program that links
// lib_hot_spin runs a different function with each build of the library.
unsigned long lib_hot_spin(double seconds) {
    return HOT_FN(seconds) | 1;
}
#endif
