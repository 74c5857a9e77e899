/* armtune's SDT test workload: SystemTap/USDT probes hit a known number of times in named
 * functions.
 *
 * usage: sdt_demo [ROUNDS]   (default 1000): each round hits armtune_demo:tick 3 times in tick()
 *        and armtune_demo:tock once in tock()
 * Build: cc -O2 -g -fno-omit-frame-pointer -o sdt_demo sdt_demo.c   (needs <sys/sdt.h>:
 *        Debian's systemtap-sdt-dev)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

static volatile long total;

__attribute__((noinline)) void tick(int i) {
    DTRACE_PROBE1(armtune_demo, tick, i);
    total += i;
}

__attribute__((noinline)) void tock(long a, long b) {
    DTRACE_PROBE2(armtune_demo, tock, a, b);
    total += a * b;
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 1000;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 3; i++) tick(i);
        tock(r, 2);
    }
    printf("sdt_demo: %ld rounds (%ld)\n", rounds, total);
    return 0;
}
