// A shared library whose one function burns CPU for a given time: the test's hot function lives in
// a library, not in the program, so naming it needs the library's mapping.
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
