// Runs its hot library function for a while and exits: `hotlib_main MS` spends MS milliseconds in
// lib_hot_spin (libhot.so, linked). `hotlib_main MS --dlopen LIB LATE_MS` first spends MS in its own
// main_spin, then opens LIB with dlopen and spends LATE_MS in its dl_hot_spin, then exits.
// `hotlib_main MS --replace NEW OLD` runs as the first form, then renames NEW over OLD before it
// exits: the library it ran is no longer the file on disk (a rebuild during a profile).
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

unsigned long lib_hot_spin(double seconds);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long main_spin(double seconds) {
    unsigned long x = 3;
    double end = now() + seconds;
    while (now() < end) {
        for (int i = 0; i < 10000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        }
    }
    return x;
}

int main(int argc, char **argv) {
    double ms = argc > 1 ? atof(argv[1]) : 50;
    unsigned long r;
    if (argc > 4 && strcmp(argv[2], "--dlopen") == 0) {
        r = main_spin(ms / 1000);
        void *lib = dlopen(argv[3], RTLD_NOW);
        if (!lib) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 2;
        }
        unsigned long (*late)(double) = (unsigned long (*)(double))dlsym(lib, "dl_hot_spin");
        if (!late) {
            fprintf(stderr, "dlsym: %s\n", dlerror());
            return 2;
        }
        r += late(atof(argv[4]) / 1000);
    } else {
        r = lib_hot_spin(ms / 1000);
        if (argc > 4 && strcmp(argv[2], "--replace") == 0 && rename(argv[3], argv[4]) != 0) {
            perror("rename");
            return 2;
        }
    }
    printf("%lu\n", r & 1);
    return 0;
}
