/* An allocation-heavy loop: malloc(64) and free, N times. Prints the time per malloc+free pair.
 *
 * usage: churn [PAIRS]   (default 2,000,000)
 * Build: cc -O2 -g -fno-omit-frame-pointer -o churn churn.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink;

__attribute__((noinline)) void churn(long pairs) {
    for (long i = 0; i < pairs; i++) {
        void *p = malloc(64);
        sink = p;
        free(p);
    }
}

int main(int argc, char **argv) {
    long pairs = argc > 1 ? atol(argv[1]) : 2000000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    churn(pairs);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("churn: elapsed %.6f s, %.1f ns per malloc+free\n", s, s * 1e9 / pairs);
    return 0;
}
