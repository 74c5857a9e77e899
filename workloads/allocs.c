/* armtune's allocator test workload: exactly known allocator calls in named functions.
 *
 *   make_small    100 x malloc(24) = 2400 bytes; frees 60, leaves 40 live (960 bytes)
 *   make_zeroed   10 x calloc(8, 16) = 1280 bytes; all live
 *   grow          malloc(100), then realloc to 200, 400, 800, 1600, 3200 = 6300 bytes; freed
 *   make_aligned  4 x posix_memalign(64, 256), 3 x aligned_alloc(64, 128), 2 x memalign(32, 96),
 *                 1 x valloc(4096) = 5696 bytes; frees the aligned_alloc blocks, 5312 bytes live
 *   make_mapped   2 x anonymous mmap(8192), munmaps one: 16384 bytes, 8192 live
 *   make_early    5 x malloc(1000) before the first pause, freed by free_early after it: a --pid
 *                 profile attached during the pause sees only the frees, which must change nothing
 *
 * usage: allocs [PAUSE_BEFORE] [PAUSE_AFTER]   (seconds; waits before allocating, so a --pid
 *        profile can attach first, and before exiting, so the profiler reads the mappings of a
 *        process that would otherwise be gone within a millisecond of its first allocation)
 * Build: cc -O2 -g -fno-omit-frame-pointer -o allocs allocs.c
 */
#include <malloc.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The compiler may drop a malloc whose block is never used: keep every block reachable. */
static void *volatile keep[256];
static int kept;

static void hold(void *p) { keep[kept++ % 256] = p; }

__attribute__((noinline)) void make_small(void) {
    void *blocks[100];
    for (int i = 0; i < 100; i++) blocks[i] = malloc(24);
    for (int i = 0; i < 60; i++) free(blocks[i]);
    for (int i = 60; i < 100; i++) hold(blocks[i]);
}

__attribute__((noinline)) void make_zeroed(void) {
    for (int i = 0; i < 10; i++) hold(calloc(8, 16));
}

__attribute__((noinline)) void grow(void) {
    void *p = malloc(100);
    for (size_t size = 200; size <= 3200; size *= 2) p = realloc(p, size);
    free(p);
}

__attribute__((noinline)) void make_aligned(void) {
    void *p;
    for (int i = 0; i < 4; i++) {
        if (posix_memalign(&p, 64, 256) == 0) hold(p);
    }
    void *a[3];
    for (int i = 0; i < 3; i++) a[i] = aligned_alloc(64, 128);
    for (int i = 0; i < 3; i++) free(a[i]);
    for (int i = 0; i < 2; i++) hold(memalign(32, 96));
    hold(valloc(4096));
}

__attribute__((noinline)) void make_mapped(void) {
    void *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *b = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(a, 8192);
    hold(b);
}

static void *early[5];

__attribute__((noinline)) void make_early(void) {
    for (int i = 0; i < 5; i++) early[i] = malloc(1000);
}

__attribute__((noinline)) void free_early(void) {
    for (int i = 0; i < 5; i++) free(early[i]);
}

int main(int argc, char **argv) {
    double before = argc > 1 ? atof(argv[1]) : 0, after = argc > 2 ? atof(argv[2]) : 0;
    make_early();
    if (before > 0) usleep((useconds_t)(before * 1e6));
    free_early();
    make_small();
    make_zeroed();
    grow();
    make_aligned();
    make_mapped();
    printf("allocs: done (%d blocks held)\n", kept);
    fflush(stdout);
    if (after > 0) usleep((useconds_t)(after * 1e6));
    return 0;
}
