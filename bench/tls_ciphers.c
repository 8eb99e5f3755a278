// Seals TLS-sized records with the two AEADs Meerkat can put first, with the board's own
// static mbedTLS: MB/s of AES-128-GCM and ChaCha20-Poly1305 for 1 KiB and 16 KiB records.
// `make bench` builds it per board and runs it (under qemu-user for the ARM boards), and
// BENCHMARKS.md keeps what decided each board's BOARD_TLS_CHACHA_FIRST.
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static unsigned char in[16384], out[16384], tag[16], key[32], iv[12], aad[13];

static double gcm(size_t len, double seconds) {
    mbedtls_gcm_context ctx;
    mbedtls_gcm_init(&ctx);
    mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key, 128);
    double start = now(), bytes = 0;
    while (now() - start < seconds) {
        for (int i = 0; i < 16; i++) {
            iv[11]++;
            mbedtls_gcm_crypt_and_tag(&ctx, MBEDTLS_GCM_ENCRYPT, len, iv, 12, aad, 13, in, out, 16, tag);
            bytes += len;
        }
    }
    mbedtls_gcm_free(&ctx);
    return bytes / (now() - start) / 1e6;
}

static double chacha(size_t len, double seconds) {
    mbedtls_chachapoly_context ctx;
    mbedtls_chachapoly_init(&ctx);
    mbedtls_chachapoly_setkey(&ctx, key);
    double start = now(), bytes = 0;
    while (now() - start < seconds) {
        for (int i = 0; i < 16; i++) {
            iv[11]++;
            mbedtls_chachapoly_encrypt_and_tag(&ctx, len, iv, aad, 13, in, out, tag);
            bytes += len;
        }
    }
    mbedtls_chachapoly_free(&ctx);
    return bytes / (now() - start) / 1e6;
}

int main(void) {
    memset(in, 0x5a, sizeof in);
    memset(key, 7, sizeof key);
    size_t sizes[] = {1024, 16384};
    for (int i = 0; i < 2; i++) {
        double a = gcm(sizes[i], 1.0), c = chacha(sizes[i], 1.0);
        printf("record %5zu B: AES-128-GCM %8.1f MB/s, ChaCha20-Poly1305 %8.1f MB/s, ChaCha/AES %.2f\n",
               sizes[i], a, c, c / a);
    }
    return 0;
}
