/* armtune's off-CPU test workload: blocks in named functions for known times.
 *
 * usage: blocker [SCALE]
 *   sleep_in_nanosleep: 10 sleeps of 50 ms each (500 ms x SCALE in total)
 *   wait_for_lock:      waits on a futex-based lock that another thread holds for 300 ms x SCALE
 * usage: blocker naps [COUNT]
 *   nap_in_short_sleeps: COUNT sleeps of 1 ms (default 5000); prints the time they took, measured
 *   around each system call (what sampled off-CPU tracing estimates, less the few microseconds of
 *   each sleep spent on the CPU entering and leaving it)
 *
 * The blocking system calls are issued from the named functions themselves (no libc wrapper):
 * glibc is built without frame pointers, and a frame-pointer unwinder starting inside a libc
 * wrapper skips the wrapper's caller, which is the very function the test looks for.
 *
 * Build: cc -O2 -g -fno-omit-frame-pointer -pthread -o blocker blocker.c
 */
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long raw_syscall4(long n, long a, long b, long c, long d) {
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
#else
#error "blocker.c knows x86_64 and aarch64 system calls"
#endif
}

static volatile unsigned long sink;

/* Called after each block so the blocking functions are not leaves and keep their frames. */
__attribute__((noinline)) void note(long x) { sink += (unsigned long)x; }

__attribute__((noinline)) void sleep_in_nanosleep(double scale) {
    for (int i = 0; i < 10; i++) {
        struct timespec ts = {0, (long)(50e6 * scale)};
        note(raw_syscall4(SYS_nanosleep, (long)&ts, 0, 0, 0));
    }
}

static atomic_int lock_word;  /* 0 free, 1 held */
static atomic_int holder_ready;

__attribute__((noinline)) void wait_for_lock(void) {
    int expected = 0;
    while (!atomic_compare_exchange_strong(&lock_word, &expected, 1)) {
        note(raw_syscall4(SYS_futex, (long)&lock_word, FUTEX_WAIT_PRIVATE, 1, 0));
        expected = 0;
    }
    atomic_store(&lock_word, 0);
}

static void *holder(void *arg) {
    double scale = *(double *)arg;
    atomic_store(&lock_word, 1);
    atomic_store(&holder_ready, 1);
    struct timespec ts = {0, (long)(300e6 * scale)};
    nanosleep(&ts, NULL);
    atomic_store(&lock_word, 0);
    raw_syscall4(SYS_futex, (long)&lock_word, FUTEX_WAKE_PRIVATE, 1, 0);
    return NULL;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Many blocks in one function, each timed: a sampled recorder sees a fraction of them. A
 * millisecond each keeps the on-CPU part of a sleep (system call, timer, wakeup: 10-20 us in a VM)
 * near 1 % of the time measured. */
__attribute__((noinline)) double nap_in_short_sleeps(long count) {
    double total = 0;
    struct timespec ts = {0, 1000000L};
    for (long i = 0; i < count; i++) {
        double start = now_us();
        note(raw_syscall4(SYS_nanosleep, (long)&ts, 0, 0, 0));
        total += now_us() - start;
    }
    return total;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "naps") == 0) {
        long count = argc > 2 ? atol(argv[2]) : 5000;
        if (count < 1 || count > 500000) {
            fprintf(stderr, "blocker: naps COUNT must be 1..500000\n");
            return 2;
        }
        /* The default 50 us timer slack would double each short sleep. */
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
        printf("blocker: napped %.0f us\n", nap_in_short_sleeps(count));
        return 0;
    }
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    sleep_in_nanosleep(scale);
    pthread_t t;
    pthread_create(&t, NULL, holder, &scale);
    while (!atomic_load(&holder_ready)) {
    }
    wait_for_lock();
    pthread_join(t, NULL);
    printf("blocker: done\n");
    return 0;
}
