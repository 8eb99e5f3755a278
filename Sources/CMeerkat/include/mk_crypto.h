// Hashes for apps (Sources/Meerkat/Crypto): SHA-256, SHA-1, HMAC-SHA256 and
// PBKDF2-HMAC-SHA256 on the mbedTLS the TLS code already links. The contexts are plain
// storage sized for mbedTLS's own (crypto.c checks the sizes when it compiles), so Swift
// keeps them inline in a struct: no allocation, nothing to free.
#ifndef MK_CRYPTO_H
#define MK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t opaque[16]; } mk_sha256_ctx;
typedef struct { uint64_t opaque[14]; } mk_sha1_ctx;
/// The inner hash (key ^ ipad already absorbed) and the outer one (key ^ opad).
typedef struct { mk_sha256_ctx inner, outer; } mk_hmac_sha256_ctx;

void mk_sha256_start(mk_sha256_ctx *ctx);
void mk_sha256_update(mk_sha256_ctx *ctx, const void *data, size_t len);
/// Writes the 32-byte digest; the context must be started again before reuse.
void mk_sha256_finish(mk_sha256_ctx *ctx, uint8_t out[32]);

void mk_sha1_start(mk_sha1_ctx *ctx);
void mk_sha1_update(mk_sha1_ctx *ctx, const void *data, size_t len);
void mk_sha1_finish(mk_sha1_ctx *ctx, uint8_t out[20]);

/// HMAC-SHA256 (RFC 2104): a key longer than a block is hashed first.
void mk_hmac_sha256_start(mk_hmac_sha256_ctx *ctx, const void *key, size_t key_len);
void mk_hmac_sha256_update(mk_hmac_sha256_ctx *ctx, const void *data, size_t len);
void mk_hmac_sha256_finish(mk_hmac_sha256_ctx *ctx, uint8_t out[32]);

/// PBKDF2 with HMAC-SHA256 (RFC 8018 §5.2) into out[0..<out_len]. Returns 0, or -1 when
/// iterations is 0 or out_len is 0.
int mk_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
                     uint32_t iterations, uint8_t *out, size_t out_len);

/// Overwrites len bytes with zeros in a way the compiler keeps (key material).
void mk_zeroize(void *buf, size_t len);

#endif
