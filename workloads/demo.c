/* armtune's demo and test workload: CPU time in named functions in a known ratio.
 *
 * usage: demo [SECONDS] [MODE]
 *   cpu      (default) work_major gets 3/4 of the CPU time, work_minor 1/4, both called from main
 *   syscall  most time in write(2) to /dev/null, so kernel frames dominate
 *   threads  two threads, each running the cpu split
 *   spinners N threads (third argument, default 4) each running the cpu split: more runnable
 *            threads than CPUs, so they queue for the CPUs (the run-queue latency test)
 *   fork     a child process runs the cpu split for SECONDS/2 and exits; the parent then idles
 *   rounds   fixed work instead of fixed time: SECONDS is a number of rounds of the cpu split;
 *            prints how long they took (what the overhead benchmark compares)
 *
 * The last line printed ends with the wall-clock time (CLOCK_REALTIME) at which the work ended, so
 * benchmarks can measure what a profiler does after its target is done.
 *
 * Build: cc -O2 -g -fno-omit-frame-pointer -pthread -o demo demo.c
 * The split is by work, not by clock, so it holds on any CPU speed: both functions run the same
 * loop, work_major three times as many iterations per round.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Work per call of work_minor in the timed split (work_major does three times as much): about
 * 25 us a pair, far shorter than a sampling period, so samples cannot fall in step with the
 * pair's phases (a pair about 1 ms long could, at 999 or 499 Hz). */
#define SPLIT 5000UL
/* Work of one "rounds" round: 40 pairs. */
#define ROUND (40 * SPLIT)

static volatile unsigned long sink;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Called now and then so the work functions are not leaves: GCC gives leaf functions no frame even
 * with -fno-omit-frame-pointer, and a frame-pointer unwinder then skips their caller. */
__attribute__((noinline)) void checkpoint(unsigned long x) { sink += x; }

/* Always inlined: with DWARF the profile shows it as its own frame under work_major / work_minor. */
static inline __attribute__((always_inline)) unsigned long lcg_step(unsigned long x) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    __asm__ volatile("" : "+r"(x));
    return x;
}

#define SPIN(n)                                                              \
    do {                                                                     \
        unsigned long x = 1;                                                 \
        for (unsigned long i = 0; i < (n); i++) {                            \
            x = lcg_step(x);                                                 \
            if ((i & 0xffff) == 0) checkpoint(x);                            \
        }                                                                    \
        sink += x;                                                           \
    } while (0)

__attribute__((noinline)) void work_major(unsigned long n) { SPIN(3 * n); }

__attribute__((noinline)) void work_minor(unsigned long n) { SPIN(n); }

__attribute__((noinline)) void cpu_split(double seconds) {
    double end = now() + seconds;
    while (now() < end) {
        work_major(SPLIT);
        work_minor(SPLIT);
    }
}

__attribute__((noinline)) void syscall_heavy(double seconds) {
    int fd = open("/dev/null", O_WRONLY);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    double end = now() + seconds;
    while (now() < end) {
        for (int i = 0; i < 1000; i++) {
            if (write(fd, buf, sizeof buf) < 0) {
                perror("write");
                exit(1);
            }
        }
    }
    close(fd);
}

static void *thread_main(void *arg) {
    cpu_split(*(double *)arg);
    return NULL;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    const char *mode = argc > 2 ? argv[2] : "cpu";
    if (strcmp(mode, "cpu") == 0) {
        cpu_split(seconds);
    } else if (strcmp(mode, "rounds") == 0) {
        double start = now();
        for (unsigned long r = 0; r < (unsigned long)seconds; r++) {
            work_major(ROUND);
            work_minor(ROUND);
        }
        printf("demo: elapsed %.6f s\n", now() - start);
    } else if (strcmp(mode, "syscall") == 0) {
        syscall_heavy(seconds);
    } else if (strcmp(mode, "threads") == 0 || strcmp(mode, "spinners") == 0) {
        int n = strcmp(mode, "threads") == 0 ? 2 : (argc > 3 ? atoi(argv[3]) : 4);
        if (n < 1 || n > 256) {
            fprintf(stderr, "demo: thread count must be 1..256\n");
            return 2;
        }
        pthread_t t[256];
        for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, thread_main, &seconds);
        for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    } else if (strcmp(mode, "fork") == 0) {
        pid_t child = fork();
        if (child == 0) {
            cpu_split(seconds / 2);
            _exit(0);
        }
        waitpid(child, NULL, 0);
        usleep((useconds_t)(seconds / 2 * 1e6));
    } else {
        fprintf(stderr, "demo: unknown mode %s (cpu, syscall, threads, fork)\n", mode);
        return 2;
    }
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    printf("demo: %s %.1f done (%lu) at %.6f\n", mode, seconds, sink, end.tv_sec + end.tv_nsec / 1e9);
    return 0;
}
