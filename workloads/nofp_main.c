// The unwinding tests' program, built without frame pointers as distributions build programs:
//   nofp_main SECONDS        main -> run_library -> nofp_run (libnofp.so) -> ... four calls deep
//   nofp_main SECONDS qsort  main -> sort_rounds -> qsort (libc) -> ... -> compare_slowly: the
//                            program's comparator, reached only through libc's own frames
//   nofp_main SECONDS deep   main -> recurse (1000 calls deep, 128 bytes of stack each) -> spin:
//                            deeper than any --stack-copy window (the truncation test)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOFP __attribute__((noipa))

unsigned long nofp_run(double seconds);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

NOFP unsigned long run_library(double seconds) {
    return nofp_run(seconds) + 1;
}

static volatile unsigned long sink;

NOFP int compare_slowly(const void *a, const void *b) {
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    for (int i = 0; i < 200; i++) {
        sink = sink * 31 + i;
    }
    return (x > y) - (x < y);
}

NOFP unsigned long sort_rounds(double seconds) {
    enum { N = 4096 };
    static unsigned long values[N];
    unsigned long seed = 1, rounds = 0;
    double end = now() + seconds;
    while (now() < end) {
        for (int i = 0; i < N; i++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            values[i] = seed >> 33;
        }
        qsort(values, N, sizeof values[0], compare_slowly);
        rounds++;
    }
    return rounds + values[0];
}

NOFP unsigned long recurse(int depth, double end) {
    volatile unsigned char frame[128];
    frame[depth % 128] = (unsigned char)depth;
    if (depth == 0) {
        unsigned long x = 1;
        while (now() < end) {
            for (int i = 0; i < 100000; i++) {
                x = x * 6364136223846793005UL + 1442695040888963407UL;
            }
        }
        return x;
    }
    return recurse(depth - 1, end) + frame[depth % 128];
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1;
    unsigned long r;
    if (argc > 2 && strcmp(argv[2], "qsort") == 0) {
        r = sort_rounds(seconds);
    } else if (argc > 2 && strcmp(argv[2], "deep") == 0) {
        r = recurse(1000, now() + seconds);
    } else {
        r = run_library(seconds);
    }
    printf("%lu\n", r & 1);
    return 0;
}
