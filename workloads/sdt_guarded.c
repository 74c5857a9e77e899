/* armtune's test workload for SDT probes guarded by a semaphore: the probe site is reached only
 * while a tracer raises the semaphore, as in programs whose probes cost something to prepare.
 *
 * usage: sdt_guarded [ROUNDS [PAUSE_MS]]   (default 1000, 0): waits PAUSE_MS (so a --pid profile
 *        can attach), then calls guarded() ROUNDS times, 1 ms apart when PAUSE_MS is given; prints
 *        how many calls found the probe enabled.
 * Build: cc -O2 -g -fno-omit-frame-pointer -o sdt_guarded sdt_guarded.c   (needs <sys/sdt.h>)
 */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <time.h>

/* The semaphore sys/sdt.h names for armtune_guarded:hit, in the section tracers look it up in. */
volatile unsigned short armtune_guarded_hit_semaphore __attribute__((section(".probes")));

static long enabled;

__attribute__((noinline)) void guarded(long i) {
    if (armtune_guarded_hit_semaphore) {
        enabled++;
        DTRACE_PROBE1(armtune_guarded, hit, i);
    }
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 1000;
    long pause_ms = argc > 2 ? atol(argv[2]) : 0;
    struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L}, tick = {0, 1000000L};
    nanosleep(&pause, NULL);
    for (long i = 0; i < rounds; i++) {
        guarded(i);
        if (pause_ms) nanosleep(&tick, NULL);
    }
    printf("sdt_guarded: enabled=%ld of %ld\n", enabled, rounds);
    return 0;
}
