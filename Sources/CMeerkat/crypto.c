// The hashes behind Sources/Meerkat/Crypto (mk_crypto.h). mbedTLS does the compression
// functions; HMAC and PBKDF2 are written here on the SHA-256 contexts rather than through
// mbedTLS's md layer or pkcs5.c: the firmware trims pkcs5.c out (mbedtls_trim.c), and
// keeping the keyed inner and outer states lets every PBKDF2 round cost two compressions
// instead of the md layer's four.
#include <string.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include "mk_crypto.h"

_Static_assert(sizeof(mk_sha256_ctx) >= sizeof(mbedtls_sha256_context), "mk_sha256_ctx too small");
_Static_assert(sizeof(mk_sha1_ctx) >= sizeof(mbedtls_sha1_context), "mk_sha1_ctx too small");

#define SHA256(ctx) ((mbedtls_sha256_context *)(void *)(ctx))
#define SHA1(ctx) ((mbedtls_sha1_context *)(void *)(ctx))

// The software implementations cannot fail; their _ret results are ignored on purpose.
void mk_sha256_start(mk_sha256_ctx *ctx) {
    mbedtls_sha256_init(SHA256(ctx));
    (void)mbedtls_sha256_starts_ret(SHA256(ctx), 0);
}
void mk_sha256_update(mk_sha256_ctx *ctx, const void *data, size_t len) {
    if (len > 0) (void)mbedtls_sha256_update_ret(SHA256(ctx), data, len);
}
void mk_sha256_finish(mk_sha256_ctx *ctx, uint8_t out[32]) { (void)mbedtls_sha256_finish_ret(SHA256(ctx), out); }

void mk_sha1_start(mk_sha1_ctx *ctx) {
    mbedtls_sha1_init(SHA1(ctx));
    (void)mbedtls_sha1_starts_ret(SHA1(ctx));
}
void mk_sha1_update(mk_sha1_ctx *ctx, const void *data, size_t len) {
    if (len > 0) (void)mbedtls_sha1_update_ret(SHA1(ctx), data, len);
}
void mk_sha1_finish(mk_sha1_ctx *ctx, uint8_t out[20]) { (void)mbedtls_sha1_finish_ret(SHA1(ctx), out); }

void mk_zeroize(void *buf, size_t len) { mbedtls_platform_zeroize(buf, len); }

void mk_hmac_sha256_start(mk_hmac_sha256_ctx *ctx, const void *key, size_t key_len) {
    uint8_t block[64] = {0};
    if (key_len > sizeof block) {
        mk_sha256_start(&ctx->inner);
        mk_sha256_update(&ctx->inner, key, key_len);
        mk_sha256_finish(&ctx->inner, block);
    } else if (key_len > 0) {
        memcpy(block, key, key_len);
    }
    for (size_t i = 0; i < sizeof block; i++) block[i] ^= 0x36;
    mk_sha256_start(&ctx->inner);
    mk_sha256_update(&ctx->inner, block, sizeof block);
    for (size_t i = 0; i < sizeof block; i++) block[i] ^= 0x36 ^ 0x5c;
    mk_sha256_start(&ctx->outer);
    mk_sha256_update(&ctx->outer, block, sizeof block);
    mk_zeroize(block, sizeof block);
}

void mk_hmac_sha256_update(mk_hmac_sha256_ctx *ctx, const void *data, size_t len) {
    mk_sha256_update(&ctx->inner, data, len);
}

void mk_hmac_sha256_finish(mk_hmac_sha256_ctx *ctx, uint8_t out[32]) {
    uint8_t inner[32];
    mk_sha256_finish(&ctx->inner, inner);
    mk_sha256_update(&ctx->outer, inner, sizeof inner);
    mk_sha256_finish(&ctx->outer, out);
    mk_zeroize(inner, sizeof inner);
    mk_zeroize(ctx, sizeof *ctx);
}

int mk_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
                     uint32_t iterations, uint8_t *out, size_t out_len) {
    if (iterations == 0 || out_len == 0) return -1;
    mk_hmac_sha256_ctx keyed, h;
    mk_hmac_sha256_start(&keyed, password, password_len);
    uint8_t u[32], t[32];
    for (uint32_t block = 1; out_len > 0; block++) {
        const uint8_t index[4] = {(uint8_t)(block >> 24), (uint8_t)(block >> 16), (uint8_t)(block >> 8), (uint8_t)block};
        h = keyed;  // the keyed states are copied, not recomputed: two compressions a round
        mk_hmac_sha256_update(&h, salt, salt_len);
        mk_hmac_sha256_update(&h, index, sizeof index);
        mk_hmac_sha256_finish(&h, u);
        memcpy(t, u, sizeof t);
        for (uint32_t i = 1; i < iterations; i++) {
            h = keyed;
            mk_hmac_sha256_update(&h, u, sizeof u);
            mk_hmac_sha256_finish(&h, u);
            for (size_t k = 0; k < sizeof t; k++) t[k] ^= u[k];
        }
        size_t n = out_len < sizeof t ? out_len : sizeof t;
        memcpy(out, t, n);
        out += n;
        out_len -= n;
    }
    mk_zeroize(&keyed, sizeof keyed);
    mk_zeroize(u, sizeof u);
    mk_zeroize(t, sizeof t);
    return 0;
}
