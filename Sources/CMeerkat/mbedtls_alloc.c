// mbedTLS's heap, short-circuited. mbedTLS 2.28's bignums live on the heap: a full
// handshake makes about 12,000 calloc/free pairs of 8 to 300 bytes (mbedtls_mpi_grow),
// and glibc's malloc, calloc and free took 13% of the server's instructions per handshake
// (callgrind, BENCHMARKS.md). Debian builds mbedTLS without MBEDTLS_PLATFORM_MEMORY, so
// it cannot be handed an allocator at run time; instead the firmware's copies of its
// archives call these two by name (the Makefile's objcopy --redefine-sym calloc/free),
// leaving mbedTLS's code and every other caller of malloc alone.
//
// Small blocks are kept on a free list per 16-byte size class when given back, and taken
// from it again: the working set of one handshake (a few hundred blocks) is allocated
// once and reused by every handshake after it. Each list keeps at most MK_ALLOC_KEEP
// blocks (the rest go back to glibc), so what stays cached is bounded: 16 classes x 64
// blocks, about 160 KiB at most; after X25519 and P-256 handshakes on the host it held
// 114 blocks, 9 KiB (read with gdb from a running echo-server).
// The lists are per thread, so a background thread using mbedTLS is safe (what it
// caches stays with it).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MK_ALLOC_CLASS 16        // bytes per size class
#define MK_ALLOC_CLASSES 16      // blocks up to 256 bytes are cached
#define MK_ALLOC_KEEP 64         // blocks kept per class
#define MK_ALLOC_LARGE 0xff

/// In front of every block: its size class (MK_ALLOC_LARGE: from calloc, not cached).
/// 16 bytes so the block keeps malloc's alignment.
typedef union header {
    union header *next;          // while on a free list
    struct {
        uint8_t cls;
    } used;
    max_align_t align;
} header;

static __thread header *free_list[MK_ALLOC_CLASSES];
static __thread uint8_t free_count[MK_ALLOC_CLASSES];

void *mk_mbedtls_calloc(size_t n, size_t size) {
    if (size != 0 && n > (SIZE_MAX - sizeof(header)) / size) return NULL;
    size_t bytes = n * size;
    size_t cls = bytes == 0 ? 0 : (bytes - 1) / MK_ALLOC_CLASS;
    header *h;
    if (cls >= MK_ALLOC_CLASSES) {
        h = calloc(1, sizeof(header) + bytes);
        if (!h) return NULL;
        h->used.cls = MK_ALLOC_LARGE;
        return h + 1;
    }
    size_t block = (cls + 1) * MK_ALLOC_CLASS;
    h = free_list[cls];
    if (h) {
        free_list[cls] = h->next;
        free_count[cls]--;
    } else {
        h = malloc(sizeof(header) + block);
        if (!h) return NULL;
    }
    h->used.cls = (uint8_t)cls;
    memset(h + 1, 0, block);
    return h + 1;
}

void mk_mbedtls_free(void *p) {
    if (!p) return;
    header *h = (header *)p - 1;
    uint8_t cls = h->used.cls;
    if (cls == MK_ALLOC_LARGE || free_count[cls] >= MK_ALLOC_KEEP) {
        free(h);
        return;
    }
    h->next = free_list[cls];
    free_list[cls] = h;
    free_count[cls]++;
}
