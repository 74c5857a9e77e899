/* A context-switch storm: two threads pass one byte back and forth through two pipes.
 *
 * usage: pingpong [ROUNDS]   (default 200000; each round is two switches at least)
 * Both threads are pinned to the CPU main starts on: the switches are then direct, thread to
 * thread, with no idle CPU and cross-CPU wakeup in between (well over 100,000 switches/s).
 * Prints the elapsed time, the switch rate and the kernel's count of voluntary switches; the
 * scheduler-overhead benchmark compares the time alone and under profilers.
 *
 * Build: cc -O2 -g -fno-omit-frame-pointer -pthread -o pingpong pingpong.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int ping[2], pong[2];
static long rounds;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *ponger(void *arg) {
    (void)arg;
    char c;
    for (long i = 0; i < rounds; i++) {
        if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1) {
            perror("ponger");
            exit(1);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 200000;
    if (pipe(ping) || pipe(pong)) {
        perror("pipe");
        return 1;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    if (sched_setaffinity(0, sizeof one, &one)) {
        perror("sched_setaffinity");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, ponger, NULL);
    double start = now();
    char c = 'x';
    for (long i = 0; i < rounds; i++) {
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
            perror("pinger");
            return 1;
        }
    }
    double elapsed = now() - start;
    pthread_join(t, NULL);
    /* The kernel's own count of blocks, all threads together: what a scheduler profile's
     * voluntary switches estimate. */
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("pingpong: elapsed %.6f s, %.0f switches/s, %ld voluntary\n", elapsed, 2 * rounds / elapsed,
           usage.ru_nvcsw);
    return 0;
}
