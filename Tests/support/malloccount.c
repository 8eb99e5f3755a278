// LD_PRELOAD allocation counter for the zero-allocation check (Tests/integration).
// Counts every malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign in the
// process. On SIGUSR2 it writes "allocations N\n" to the file named by
// MALLOCCOUNT_FILE, so a test can read the count before and after a burst of requests;
// with MALLOCCOUNT_AT_EXIT set it also writes the count when the process exits.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long allocations;

// dlsym itself may call calloc before the real one is known: serve that from a
// static arena.
static char bootstrap[4096];
static size_t bootstrap_used;
static int resolving;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void (*real_free)(void *);

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    real_free = dlsym(RTLD_NEXT, "free");
    resolving = 0;
}

static void report(int sig) {
    (void)sig;
    const char *path = getenv("MALLOCCOUNT_FILE");
    if (!path) return;
    char line[64] = "allocations ";
    long n = atomic_load(&allocations);
    char digits[24];
    int d = 0;
    do { digits[d++] = (char)('0' + n % 10); n /= 10; } while (n > 0);
    size_t len = strlen(line);
    while (d > 0) line[len++] = digits[--d];
    line[len++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t ignored = write(fd, line, len);
        (void)ignored;
        close(fd);
    }
}

__attribute__((constructor)) static void setup(void) {
    resolve();
    signal(SIGUSR2, report);
}

void *malloc(size_t n) {
    resolve();
    atomic_fetch_add(&allocations, 1);
    return real_malloc(n);
}

void *calloc(size_t a, size_t b) {
    if (!real_calloc) {
        if (resolving) {   // dlsym's own allocation
            size_t n = (a * b + 15) & ~(size_t)15;
            if (bootstrap_used + n > sizeof bootstrap) return NULL;
            void *p = bootstrap + bootstrap_used;
            bootstrap_used += n;
            return p;
        }
        resolve();
    }
    atomic_fetch_add(&allocations, 1);
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n) {
    resolve();
    atomic_fetch_add(&allocations, 1);
    return real_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n) {
    resolve();
    atomic_fetch_add(&allocations, 1);
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n) {
    resolve();
    atomic_fetch_add(&allocations, 1);
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n) {
    resolve();
    atomic_fetch_add(&allocations, 1);
    return real_memalign(align, n);
}

void free(void *p) {
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    resolve();
    real_free(p);
}

__attribute__((destructor)) static void at_exit(void) {
    if (getenv("MALLOCCOUNT_AT_EXIT")) report(0);
}
