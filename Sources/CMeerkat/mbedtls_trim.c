// What the firmware does not link from mbedTLS (issue 22: firmware size). Debian's
// static mbedTLS archives are built without function sections, so the linker takes an
// object whole as soon as one of its symbols is needed: x509.c's self-test pulls in
// certs.c (53 KiB of test certificates), md.c's table of digests pulls in MD2, MD4 and
// RIPEMD-160, cipher_wrap.c's table of ciphers DES, Blowfish, Camellia, ARC4 and CCM,
// pkparse.c the password-based key decryption (PKCS#5, PKCS#12), the handshake code the
// debug printer and finite-field Diffie-Hellman. Meerkat's TLS (tls.c) never reaches
// any of them: TLS 1.2 only, ECDHE with AES-GCM or ChaCha20-Poly1305 only, keys without
// a password, no debug callback, and no certificate signed with MD2, MD4 or RIPEMD-160
// passes X.509's default profile anyway.
//
// Defining here the symbols those objects would have supplied keeps them out (an archive
// member is linked only for a symbol still undefined). The definitions are inert: data
// empty, contexts zeroed, every operation refused with the module's "not available"
// error, so a path that did reach one would fail cleanly rather than compute anything.
// Each prototype comes from mbedTLS's own header, so the compiler checks it. Should a
// new mbedTLS release need another symbol of one of these objects, the object comes
// back whole and the link fails on a duplicate definition: the list below is then
// revised. Linked into the firmware only (the Makefile); SwiftPM's build links the
// system's shared mbedTLS as it is (Package.swift excludes this file).
// Measured on echo-server, stripped: 120 KiB smaller on the host, 128 KiB on rpi4, 96 KiB
// on rpi3-armhf (certs.c alone is 53 KiB on the host).
#include <string.h>
#include <mbedtls/arc4.h>
#include <mbedtls/blowfish.h>
#include <mbedtls/camellia.h>
#include <mbedtls/ccm.h>
#include <mbedtls/certs.h>
#include <mbedtls/cipher.h>
#include <mbedtls/debug.h>
#include <mbedtls/des.h>
#include <mbedtls/dhm.h>
#include <mbedtls/md.h>
#include <mbedtls/md2.h>
#include <mbedtls/md4.h>
#include <mbedtls/pkcs12.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/ripemd160.h>

#define CIPHER_UNAVAILABLE MBEDTLS_ERR_CIPHER_FEATURE_UNAVAILABLE
#define MD_UNAVAILABLE MBEDTLS_ERR_MD_FEATURE_UNAVAILABLE

// A context's init and free: zeroed, as the real ones leave a context nothing was done with.
#define ZEROING(function, type) \
    void function(type *ctx) { memset(ctx, 0, sizeof *ctx); }

// certs.c: the test certificates, only read by mbedtls_x509_self_test.
const char *mbedtls_test_ca_crt = "";
const size_t mbedtls_test_ca_crt_len = 0;
const char *mbedtls_test_cli_crt = "";
const size_t mbedtls_test_cli_crt_len = 0;

// md2.c, md4.c, ripemd160.c: digests no TLS 1.2 suite or accepted certificate uses.
#define DIGEST(name, type, size)                                                             \
    ZEROING(mbedtls_##name##_init, type)                                                     \
    ZEROING(mbedtls_##name##_free, type)                                                     \
    void mbedtls_##name##_clone(type *dst, const type *src) { *dst = *src; }                 \
    int mbedtls_##name##_starts_ret(type *ctx) { (void)ctx; return MD_UNAVAILABLE; }         \
    int mbedtls_##name##_update_ret(type *ctx, const unsigned char *in, size_t n) {          \
        (void)ctx, (void)in, (void)n;                                                        \
        return MD_UNAVAILABLE;                                                               \
    }                                                                                        \
    int mbedtls_##name##_finish_ret(type *ctx, unsigned char out[size]) {                    \
        (void)ctx, (void)out;                                                                \
        return MD_UNAVAILABLE;                                                               \
    }                                                                                        \
    int mbedtls_##name##_ret(const unsigned char *in, size_t n, unsigned char out[size]) {   \
        (void)in, (void)n, (void)out;                                                        \
        return MD_UNAVAILABLE;                                                               \
    }
DIGEST(md2, mbedtls_md2_context, 16)
DIGEST(md4, mbedtls_md4_context, 16)
DIGEST(ripemd160, mbedtls_ripemd160_context, 20)
int mbedtls_internal_md2_process(mbedtls_md2_context *ctx) { (void)ctx; return MD_UNAVAILABLE; }
int mbedtls_internal_md4_process(mbedtls_md4_context *ctx, const unsigned char data[64]) {
    (void)ctx, (void)data;
    return MD_UNAVAILABLE;
}
int mbedtls_internal_ripemd160_process(mbedtls_ripemd160_context *ctx, const unsigned char data[64]) {
    (void)ctx, (void)data;
    return MD_UNAVAILABLE;
}

// des.c: DES and 3DES (cipher suites and encrypted PEM keys).
ZEROING(mbedtls_des_init, mbedtls_des_context)
ZEROING(mbedtls_des_free, mbedtls_des_context)
ZEROING(mbedtls_des3_init, mbedtls_des3_context)
ZEROING(mbedtls_des3_free, mbedtls_des3_context)
#define DES_SETKEY(function, type, bytes)                                       \
    int function(type *ctx, const unsigned char key[bytes]) {                   \
        (void)ctx, (void)key;                                                   \
        return CIPHER_UNAVAILABLE;                                              \
    }
DES_SETKEY(mbedtls_des_setkey_enc, mbedtls_des_context, MBEDTLS_DES_KEY_SIZE)
DES_SETKEY(mbedtls_des_setkey_dec, mbedtls_des_context, MBEDTLS_DES_KEY_SIZE)
DES_SETKEY(mbedtls_des3_set2key_enc, mbedtls_des3_context, MBEDTLS_DES_KEY_SIZE * 2)
DES_SETKEY(mbedtls_des3_set2key_dec, mbedtls_des3_context, MBEDTLS_DES_KEY_SIZE * 2)
DES_SETKEY(mbedtls_des3_set3key_enc, mbedtls_des3_context, MBEDTLS_DES_KEY_SIZE * 3)
DES_SETKEY(mbedtls_des3_set3key_dec, mbedtls_des3_context, MBEDTLS_DES_KEY_SIZE * 3)
#define DES_CRYPT(ecb, cbc, type)                                                              \
    int ecb(type *ctx, const unsigned char input[8], unsigned char output[8]) {                \
        (void)ctx, (void)input, (void)output;                                                  \
        return CIPHER_UNAVAILABLE;                                                             \
    }                                                                                          \
    int cbc(type *ctx, int mode, size_t length, unsigned char iv[8], const unsigned char *input, \
            unsigned char *output) {                                                           \
        (void)ctx, (void)mode, (void)length, (void)iv, (void)input, (void)output;              \
        return CIPHER_UNAVAILABLE;                                                             \
    }
DES_CRYPT(mbedtls_des_crypt_ecb, mbedtls_des_crypt_cbc, mbedtls_des_context)
DES_CRYPT(mbedtls_des3_crypt_ecb, mbedtls_des3_crypt_cbc, mbedtls_des3_context)

// blowfish.c, camellia.c: block ciphers of cipher_wrap.c's table, in no suite offered.
#define BLOCK_CIPHER(name, type, block, cfb)                                                     \
    ZEROING(mbedtls_##name##_init, type)                                                         \
    ZEROING(mbedtls_##name##_free, type)                                                         \
    int mbedtls_##name##_crypt_ecb(type *ctx, int mode, const unsigned char input[block],        \
                                   unsigned char output[block]) {                                \
        (void)ctx, (void)mode, (void)input, (void)output;                                        \
        return CIPHER_UNAVAILABLE;                                                               \
    }                                                                                            \
    int mbedtls_##name##_crypt_cbc(type *ctx, int mode, size_t length, unsigned char iv[block],  \
                                   const unsigned char *input, unsigned char *output) {          \
        (void)ctx, (void)mode, (void)length, (void)iv, (void)input, (void)output;                \
        return CIPHER_UNAVAILABLE;                                                               \
    }                                                                                            \
    int mbedtls_##name##_crypt_ctr(type *ctx, size_t length, size_t *nc_off,                     \
                                   unsigned char nonce_counter[block], unsigned char stream_block[block], \
                                   const unsigned char *input, unsigned char *output) {          \
        (void)ctx, (void)length, (void)nc_off, (void)nonce_counter, (void)stream_block;          \
        (void)input, (void)output;                                                               \
        return CIPHER_UNAVAILABLE;                                                               \
    }                                                                                            \
    int mbedtls_##name##_crypt_##cfb(type *ctx, int mode, size_t length, size_t *iv_off, \
                                             unsigned char iv[block], const unsigned char *input, \
                                             unsigned char *output) {                            \
        (void)ctx, (void)mode, (void)length, (void)iv_off, (void)iv, (void)input, (void)output;  \
        return CIPHER_UNAVAILABLE;                                                               \
    }
BLOCK_CIPHER(blowfish, mbedtls_blowfish_context, MBEDTLS_BLOWFISH_BLOCKSIZE, cfb64)
BLOCK_CIPHER(camellia, mbedtls_camellia_context, 16, cfb128)
int mbedtls_blowfish_setkey(mbedtls_blowfish_context *ctx, const unsigned char *key, unsigned int keybits) {
    (void)ctx, (void)key, (void)keybits;
    return CIPHER_UNAVAILABLE;
}
int mbedtls_camellia_setkey_enc(mbedtls_camellia_context *ctx, const unsigned char *key, unsigned int keybits) {
    (void)ctx, (void)key, (void)keybits;
    return CIPHER_UNAVAILABLE;
}
int mbedtls_camellia_setkey_dec(mbedtls_camellia_context *ctx, const unsigned char *key, unsigned int keybits) {
    (void)ctx, (void)key, (void)keybits;
    return CIPHER_UNAVAILABLE;
}

// arc4.c: RC4 (its setup cannot fail, so the key is dropped and crypt refuses).
ZEROING(mbedtls_arc4_init, mbedtls_arc4_context)
ZEROING(mbedtls_arc4_free, mbedtls_arc4_context)
void mbedtls_arc4_setup(mbedtls_arc4_context *ctx, const unsigned char *key, unsigned int keylen) {
    (void)key, (void)keylen;
    memset(ctx, 0, sizeof *ctx);
}
int mbedtls_arc4_crypt(mbedtls_arc4_context *ctx, size_t length, const unsigned char *input, unsigned char *output) {
    (void)ctx, (void)length, (void)input, (void)output;
    return CIPHER_UNAVAILABLE;
}

// ccm.c: AES-CCM, in no suite offered.
ZEROING(mbedtls_ccm_init, mbedtls_ccm_context)
ZEROING(mbedtls_ccm_free, mbedtls_ccm_context)
int mbedtls_ccm_setkey(mbedtls_ccm_context *ctx, mbedtls_cipher_id_t cipher, const unsigned char *key,
                       unsigned int keybits) {
    (void)ctx, (void)cipher, (void)key, (void)keybits;
    return CIPHER_UNAVAILABLE;
}
int mbedtls_ccm_encrypt_and_tag(mbedtls_ccm_context *ctx, size_t length, const unsigned char *iv, size_t iv_len,
                                const unsigned char *add, size_t add_len, const unsigned char *input,
                                unsigned char *output, unsigned char *tag, size_t tag_len) {
    (void)ctx, (void)length, (void)iv, (void)iv_len, (void)add, (void)add_len, (void)input, (void)output;
    (void)tag, (void)tag_len;
    return CIPHER_UNAVAILABLE;
}
int mbedtls_ccm_auth_decrypt(mbedtls_ccm_context *ctx, size_t length, const unsigned char *iv, size_t iv_len,
                             const unsigned char *add, size_t add_len, const unsigned char *input,
                             unsigned char *output, const unsigned char *tag, size_t tag_len) {
    (void)ctx, (void)length, (void)iv, (void)iv_len, (void)add, (void)add_len, (void)input, (void)output;
    (void)tag, (void)tag_len;
    return CIPHER_UNAVAILABLE;
}

// pkcs5.c, pkcs12.c: keys encrypted with a password (pkparse.c asks for none of these
// without a password, and tls.c gives none).
int mbedtls_pkcs5_pbes2(const mbedtls_asn1_buf *pbe_params, int mode, const unsigned char *pwd, size_t pwdlen,
                        const unsigned char *data, size_t datalen, unsigned char *output) {
    (void)pbe_params, (void)mode, (void)pwd, (void)pwdlen, (void)data, (void)datalen, (void)output;
    return MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE;
}
int mbedtls_pkcs12_pbe(mbedtls_asn1_buf *pbe_params, int mode, mbedtls_cipher_type_t cipher_type,
                       mbedtls_md_type_t md_type, const unsigned char *pwd, size_t pwdlen,
                       const unsigned char *input, size_t len, unsigned char *output) {
    (void)pbe_params, (void)mode, (void)cipher_type, (void)md_type, (void)pwd, (void)pwdlen, (void)input;
    (void)len, (void)output;
    return MBEDTLS_ERR_PKCS12_FEATURE_UNAVAILABLE;
}
int mbedtls_pkcs12_pbe_sha1_rc4_128(mbedtls_asn1_buf *pbe_params, int mode, const unsigned char *pwd,
                                    size_t pwdlen, const unsigned char *input, size_t len, unsigned char *output) {
    (void)pbe_params, (void)mode, (void)pwd, (void)pwdlen, (void)input, (void)len, (void)output;
    return MBEDTLS_ERR_PKCS12_FEATURE_UNAVAILABLE;
}

// debug.c: the handshake's debug printer, which prints only through a debug callback
// (mbedtls_ssl_conf_dbg), never set here.
void mbedtls_debug_print_msg(const mbedtls_ssl_context *ssl, int level, const char *file, int line,
                             const char *format, ...) {
    (void)ssl, (void)level, (void)file, (void)line, (void)format;
}
void mbedtls_debug_print_ret(const mbedtls_ssl_context *ssl, int level, const char *file, int line,
                             const char *text, int ret) {
    (void)ssl, (void)level, (void)file, (void)line, (void)text, (void)ret;
}
void mbedtls_debug_print_buf(const mbedtls_ssl_context *ssl, int level, const char *file, int line,
                             const char *text, const unsigned char *buf, size_t len) {
    (void)ssl, (void)level, (void)file, (void)line, (void)text, (void)buf, (void)len;
}
void mbedtls_debug_print_mpi(const mbedtls_ssl_context *ssl, int level, const char *file, int line,
                             const char *text, const mbedtls_mpi *X) {
    (void)ssl, (void)level, (void)file, (void)line, (void)text, (void)X;
}
void mbedtls_debug_print_crt(const mbedtls_ssl_context *ssl, int level, const char *file, int line,
                             const char *text, const mbedtls_x509_crt *crt) {
    (void)ssl, (void)level, (void)file, (void)line, (void)text, (void)crt;
}
void mbedtls_debug_printf_ecdh(const mbedtls_ssl_context *ssl, int level, const char *file, int line,
                               const mbedtls_ecdh_context *ecdh, mbedtls_debug_ecdh_attr attr) {
    (void)ssl, (void)level, (void)file, (void)line, (void)ecdh, (void)attr;
}

// dhm.c: finite-field Diffie-Hellman, for the DHE suites, never offered or accepted (the
// handshake still sets up and frees its context).
ZEROING(mbedtls_dhm_init, mbedtls_dhm_context)
ZEROING(mbedtls_dhm_free, mbedtls_dhm_context)
int mbedtls_dhm_read_params(mbedtls_dhm_context *ctx, unsigned char **p, const unsigned char *end) {
    (void)ctx, (void)p, (void)end;
    return MBEDTLS_ERR_DHM_BAD_INPUT_DATA;
}
int mbedtls_dhm_make_params(mbedtls_dhm_context *ctx, int x_size, unsigned char *output, size_t *olen,
                            int (*f_rng)(void *, unsigned char *, size_t), void *p_rng) {
    (void)ctx, (void)x_size, (void)output, (void)olen, (void)f_rng, (void)p_rng;
    return MBEDTLS_ERR_DHM_BAD_INPUT_DATA;
}
int mbedtls_dhm_set_group(mbedtls_dhm_context *ctx, const mbedtls_mpi *P, const mbedtls_mpi *G) {
    (void)ctx, (void)P, (void)G;
    return MBEDTLS_ERR_DHM_BAD_INPUT_DATA;
}
int mbedtls_dhm_read_public(mbedtls_dhm_context *ctx, const unsigned char *input, size_t ilen) {
    (void)ctx, (void)input, (void)ilen;
    return MBEDTLS_ERR_DHM_BAD_INPUT_DATA;
}
int mbedtls_dhm_make_public(mbedtls_dhm_context *ctx, int x_size, unsigned char *output, size_t olen,
                            int (*f_rng)(void *, unsigned char *, size_t), void *p_rng) {
    (void)ctx, (void)x_size, (void)output, (void)olen, (void)f_rng, (void)p_rng;
    return MBEDTLS_ERR_DHM_BAD_INPUT_DATA;
}
int mbedtls_dhm_calc_secret(mbedtls_dhm_context *ctx, unsigned char *output, size_t output_size, size_t *olen,
                            int (*f_rng)(void *, unsigned char *, size_t), void *p_rng) {
    (void)ctx, (void)output, (void)output_size, (void)olen, (void)f_rng, (void)p_rng;
    return MBEDTLS_ERR_DHM_BAD_INPUT_DATA;
}
