// TLS over mbedTLS 2.28 for Meerkat (see include/mk_tls.h). Sockets are non-blocking;
// mbedTLS's "want read/write" become -EAGAIN / MK_TLS_WANT_WRITE for the Swift loop.
#include "mk_tls.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>   // MBEDTLS_ERR_NET_*
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>   // mbedtls_free: how mbedtls_ssl_setup's buffers are freed
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/ssl_internal.h>   // MBEDTLS_SSL_IN/OUT_BUFFER_LEN: the record buffers' sizes
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

/// What frees a block mbedTLS allocated (the buffers mbedtls_ssl_setup made). In the
/// firmware, mbedTLS's archives call mbedtls_alloc.c's heap cache instead of calloc/free
/// (the Makefile renames them, and defines MK_MBEDTLS_HEAP for this file), so such a
/// block must go back there: glibc's free would be handed a pointer 16 bytes into its
/// block. SwiftPM's build links the system's mbedTLS as it is, with glibc's heap.
#ifdef MK_MBEDTLS_HEAP
void mk_mbedtls_free(void *p);
#define free_mbedtls_block mk_mbedtls_free
#else
#define free_mbedtls_block mbedtls_free
#endif

/// Debian's bundle of the system's trusted CAs (package ca-certificates).
#define MK_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct mk_tls_engine {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_ticket_context tickets;
    const int *suites;
};

struct mk_tls_config {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt cert;
    mbedtls_x509_crt ca;
    mbedtls_pk_context key;
    /// The ALPN protocols (mk_tls_config_alpn): mbedTLS keeps a pointer to the list, so
    /// the names and the list live here, as long as the config.
    char alpn_names[MK_TLS_ALPN_BYTES];
    const char *alpn[MK_TLS_ALPN_MAX + 1];
};

/// The record-buffer pairs (see "Parking" below): one allocation, handed out as a
/// stack (the most recently used pair first: its pages are the ones already touched).
struct mk_tls_pairs {
    int count;
    int free_count;
    int lowest_free;
    /// Whether sessions give their pair back between records (the linked mbedTLS is the
    /// one the parking code was written for); otherwise a pair is a token only, and a
    /// session keeps the buffers mbedtls_ssl_setup allocated from start to end.
    int parking;
    uint64_t parks;
    uint64_t unparks;
    unsigned char *memory;
    unsigned char **free_pairs;
};

/// Where a parked session's record pointers were, as offsets from its buffers' starts.
enum { MK_IN_FIELDS = 5, MK_OUT_FIELDS = 5 };

struct mk_tls_session {
    mbedtls_ssl_context ssl;
    mk_tls_pairs *pairs;
    /// Holds a pair of the pool's (parking), or its own buffers (no parking).
    int has_pair;
    /// Set up, or reset after its last connection, must be done once it has a pair.
    int start_due;
    size_t in_offsets[MK_IN_FIELDS];
    size_t out_offsets[MK_OUT_FIELDS];
    /// The record sequence numbers, which TLS keeps in the buffers' first bytes.
    unsigned char in_ctr[8];
    unsigned char out_ctr[8];
    int fd;
    int set_up;
    /// Reset since its last connection: ready for the next without another reset.
    int fresh;
    /// Plaintext length of the record built but not yet all sent (mbedTLS wants the
    /// same write again until it is out).
    size_t pending;
    /// mbedTLS's error when the handshake failed (for the app: conn.lastErrorCode).
    int last_error;
    /// The time certificates' dates are checked against (Unix s; mk_tls_session_set_time).
    int64_t now_s;
    /// The handshake under way (or the last one) resumes a session.
    int resumed;
    /// Bytes through the socket, both ways, ever (mk_tls_wire_bytes): a record that comes
    /// or goes in pieces shows no plaintext until whole, and this is its progress.
    uint64_t wire;
};

struct mk_tls_saved {
    mbedtls_ssl_session session;
    int valid;
};

// ECDHE-ECDSA first: a P-256 key signs far faster than RSA on a small CPU. ECDHE-RSA
// follows for boards given an RSA certificate. Only AEAD suites with forward secrecy.
static const int suites_aes_first[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    0,
};
static const int suites_chacha_first[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    0,
};
// The server's order decides (mbedTLS takes its first curve the client offers). X25519
// first: a full handshake costs 12-14% less server CPU than with P-256 ECDHE (host, issue 25,
// BENCHMARKS.md); P-256 for clients without X25519. The certificate's curve (P-256 here)
// must still be among the client's groups in TLS 1.2 (RFC 8422, 5.1): a client offering
// X25519 alone gets no ECDSA handshake, here as with nginx under TLS 1.2.
static const mbedtls_ecp_group_id curves[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE,
};

mk_tls_engine *mk_tls_engine_new(int suite_order, uint32_t ticket_lifetime_s) {
    mk_tls_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    mbedtls_entropy_init(&e->entropy);
    mbedtls_ctr_drbg_init(&e->drbg);
    mbedtls_ssl_ticket_init(&e->tickets);
    static const unsigned char personal[] = "meerkat";
    if (mbedtls_ctr_drbg_seed(&e->drbg, mbedtls_entropy_func, &e->entropy, personal, sizeof personal - 1) != 0 ||
        mbedtls_ssl_ticket_setup(&e->tickets, mbedtls_ctr_drbg_random, &e->drbg, MBEDTLS_CIPHER_AES_256_GCM,
                                 ticket_lifetime_s) != 0) {
        mk_tls_engine_free(e);
        return NULL;
    }
    e->suites = suite_order == MK_TLS_CHACHA_FIRST ? suites_chacha_first : suites_aes_first;
    return e;
}

void mk_tls_engine_free(mk_tls_engine *e) {
    if (!e) return;
    mbedtls_ssl_ticket_free(&e->tickets);
    mbedtls_ctr_drbg_free(&e->drbg);
    mbedtls_entropy_free(&e->entropy);
    free(e);
}

/// PEM must reach mbedTLS NUL-terminated, with the NUL counted; DER goes as it is. Returns
/// a NUL-terminated copy (to free, and zeroize for keys) for PEM without its NUL, else NULL.
static uint8_t *pem_with_nul(const uint8_t *bytes, size_t len) {
    if (len < 10 || bytes[len - 1] == 0 || memcmp(bytes, "-----BEGIN", 10) != 0) return NULL;
    uint8_t *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, bytes, len);
        copy[len] = 0;
    }
    return copy;
}

static int parse_crt(mbedtls_x509_crt *crt, const uint8_t *bytes, size_t len) {
    uint8_t *pem = pem_with_nul(bytes, len);
    int ret = pem ? mbedtls_x509_crt_parse(crt, pem, len + 1) : mbedtls_x509_crt_parse(crt, bytes, len);
    free(pem);
    return ret;
}

static int parse_key(mbedtls_pk_context *pk, const uint8_t *bytes, size_t len) {
    uint8_t *pem = pem_with_nul(bytes, len);
    int ret = pem ? mbedtls_pk_parse_key(pk, pem, len + 1, NULL, 0) : mbedtls_pk_parse_key(pk, bytes, len, NULL, 0);
    if (pem) mbedtls_platform_zeroize(pem, len);
    free(pem);
    return ret;
}

mk_tls_config *mk_tls_config_new(mk_tls_engine *e, int is_server, const uint8_t *cert, size_t cert_len,
                                 const uint8_t *key, size_t key_len, const uint8_t *ca, size_t ca_len,
                                 int skip_verification, int *error) {
    mk_tls_config *c = calloc(1, sizeof *c);
    if (!c) {
        *error = MK_TLS_ERR_SETUP;
        return NULL;
    }
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->cert);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_pk_init(&c->key);
    int endpoint = is_server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT;
    if (mbedtls_ssl_config_defaults(&c->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) {
        *error = MK_TLS_ERR_SETUP;
        goto fail;
    }
    if (cert_len > 0 || key_len > 0) {
        if (parse_crt(&c->cert, cert, cert_len) != 0) {
            *error = MK_TLS_ERR_CERT;
            goto fail;
        }
        if (parse_key(&c->key, key, key_len) != 0) {
            *error = MK_TLS_ERR_KEY;
            goto fail;
        }
        if (mbedtls_pk_check_pair(&c->cert.pk, &c->key) != 0 ||
            mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key) != 0) {
            *error = MK_TLS_ERR_MISMATCH;
            goto fail;
        }
    } else if (is_server) {
        *error = MK_TLS_ERR_NO_CERT;
        goto fail;
    }
    if (ca_len > 0) {
        if (parse_crt(&c->ca, ca, ca_len) != 0) {
            *error = MK_TLS_ERR_CA;
            goto fail;
        }
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else if (!is_server && !skip_verification) {
        // A client verifies by default: against the system's CAs when given none.
        if (mbedtls_x509_crt_parse_file(&c->ca, MK_SYSTEM_CA_FILE) < 0 || c->ca.version == 0) {
            *error = MK_TLS_ERR_CA;
            goto fail;
        }
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else {
        // A server asks no client certificate unless given a CA.
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    if (skip_verification) mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &e->drbg);
    mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_ciphersuites(&c->conf, e->suites);
    mbedtls_ssl_conf_curves(&c->conf, curves);
    mbedtls_ssl_conf_renegotiation(&c->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    if (is_server)
        mbedtls_ssl_conf_session_tickets_cb(&c->conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, &e->tickets);
    return c;
fail:
    mk_tls_config_free(c);
    return NULL;
}

void mk_tls_config_free(mk_tls_config *c) {
    if (!c) return;
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->cert);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_pk_free(&c->key);
    free(c);
}

// ---- the socket under a session ------------------------------------------------------

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
    mk_tls_session *s = ctx;
    ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
    if (n > 0) s->wire += (uint64_t)n;
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_WRITE;
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
    mk_tls_session *s = ctx;
    ssize_t n = recv(s->fd, buf, len, 0);
    if (n > 0) s->wire += (uint64_t)n;
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_READ;
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

// ---- parking ----------------------------------------------------------------------
//
// An established session with nothing in flight gives its two record buffers back to a
// fixed pool and takes a pair again to read or write. This relies on mbedTLS 2.28's
// internals (the Debian build: no MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH, stream transport
// only), checked at start-up (mk_tls_pairs_new):
// - mbedtls_ssl_setup callocs in_buf/out_buf (MBEDTLS_SSL_IN/OUT_BUFFER_LEN) and
//   mbedtls_ssl_free frees them only when not NULL; mbedtls_ssl_session_reset memsets
//   both, so it runs only with a pair attached.
// - For TLS, in_ctr and out_ctr point into the buffers (their first 8 bytes): in_ctr
//   is the incoming sequence number, counted there; out_ctr is copied there from
//   cur_out_ctr for each record. Both are saved while parked. Every other record pointer
//   (hdr, len, iv, msg) is rebased onto the new pair, as 2.28's own variable-buffer mode
//   does when it moves buffers (handle_buffer_resizing).
// - Between records a stream session holds nothing else in its buffers: mbedTLS reads a
//   record's exact length (in_left is 0 once a record is whole), keeps no plaintext
//   unread (in_offt NULL), nothing waits to go out (out_left 0), and a handshake message
//   left from the last Finished (in_hslen == in_msglen) is dropped unread on the next
//   read (ssl_consume_current_message).

static const size_t in_fields[MK_IN_FIELDS] = {
    offsetof(mbedtls_ssl_context, in_ctr), offsetof(mbedtls_ssl_context, in_hdr),
    offsetof(mbedtls_ssl_context, in_len), offsetof(mbedtls_ssl_context, in_iv),
    offsetof(mbedtls_ssl_context, in_msg),
};
static const size_t out_fields[MK_OUT_FIELDS] = {
    offsetof(mbedtls_ssl_context, out_ctr), offsetof(mbedtls_ssl_context, out_hdr),
    offsetof(mbedtls_ssl_context, out_len), offsetof(mbedtls_ssl_context, out_iv),
    offsetof(mbedtls_ssl_context, out_msg),
};
#define MK_FIELD(ssl, offset) (*(unsigned char **)((char *)(ssl) + (offset)))
#define MK_PAIR_BYTES (MBEDTLS_SSL_IN_BUFFER_LEN + MBEDTLS_SSL_OUT_BUFFER_LEN)

int mk_tls_parking_supported(void) {
    // 2.28.x is an LTS branch: its context layout does not change within it.
    return (mbedtls_version_get_number() & 0xFFFF0000u) == (MBEDTLS_VERSION_NUMBER & 0xFFFF0000u) &&
           (MBEDTLS_VERSION_NUMBER & 0xFFFF0000u) == 0x021C0000u;
}

uint32_t mk_tls_linked_version(void) { return mbedtls_version_get_number(); }

mk_tls_pairs *mk_tls_pairs_new(int count, int allow_parking) {
    mk_tls_pairs *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->count = p->free_count = p->lowest_free = count > 0 ? count : 0;
    p->parking = allow_parking && mk_tls_parking_supported();
    if (p->parking && p->count > 0) {
        p->memory = malloc((size_t)p->count * MK_PAIR_BYTES);
        p->free_pairs = malloc((size_t)p->count * sizeof *p->free_pairs);
        if (!p->memory || !p->free_pairs) {
            mk_tls_pairs_free(p);
            return NULL;
        }
        // Pushed in reverse, so the first taken is the first in memory.
        for (int i = 0; i < p->count; i++) p->free_pairs[i] = p->memory + (size_t)(p->count - 1 - i) * MK_PAIR_BYTES;
    }
    return p;
}

void mk_tls_pairs_free(mk_tls_pairs *p) {
    if (!p) return;
    free(p->memory);
    free(p->free_pairs);
    free(p);
}

int mk_tls_pairs_parking(const mk_tls_pairs *p) { return p->parking; }
int mk_tls_pairs_count(const mk_tls_pairs *p) { return p->count; }
int mk_tls_pairs_free_count(const mk_tls_pairs *p) { return p->free_count; }
int mk_tls_pairs_lowest_free(const mk_tls_pairs *p) { return p->lowest_free; }
uint64_t mk_tls_pairs_parks(const mk_tls_pairs *p) { return p->parks; }
uint64_t mk_tls_pairs_unparks(const mk_tls_pairs *p) { return p->unparks; }

/// A pair's start (in_buf; out_buf follows it), or NULL when none is free. Without
/// parking, a token: the session's own buffers are used.
static unsigned char *pair_take(mk_tls_pairs *p) {
    if (p->free_count == 0) return NULL;
    p->free_count--;
    if (p->free_count < p->lowest_free) p->lowest_free = p->free_count;
    return p->parking ? p->free_pairs[p->free_count] : (unsigned char *)p;
}

static void pair_give(mk_tls_pairs *p, unsigned char *pair) {
    if (p->parking) p->free_pairs[p->free_count] = pair;
    p->free_count++;
}

/// Gives the session's pair back, keeping where its record pointers and counters were.
static void detach(mk_tls_session *s) {
    mbedtls_ssl_context *ssl = &s->ssl;
    memcpy(s->in_ctr, ssl->in_ctr, 8);
    memcpy(s->out_ctr, ssl->out_ctr, 8);
    for (int i = 0; i < MK_IN_FIELDS; i++) {
        s->in_offsets[i] = (size_t)(MK_FIELD(ssl, in_fields[i]) - ssl->in_buf);
        MK_FIELD(ssl, in_fields[i]) = NULL;   // a stray use faults, never reads another's pair
    }
    for (int i = 0; i < MK_OUT_FIELDS; i++) {
        s->out_offsets[i] = (size_t)(MK_FIELD(ssl, out_fields[i]) - ssl->out_buf);
        MK_FIELD(ssl, out_fields[i]) = NULL;
    }
    pair_give(s->pairs, ssl->in_buf);
    ssl->in_buf = ssl->out_buf = NULL;
    s->has_pair = 0;
}

/// Puts `pair` under the session where its last one was.
static void attach(mk_tls_session *s, unsigned char *pair) {
    mbedtls_ssl_context *ssl = &s->ssl;
    ssl->in_buf = pair;
    ssl->out_buf = pair + MBEDTLS_SSL_IN_BUFFER_LEN;
    for (int i = 0; i < MK_IN_FIELDS; i++) MK_FIELD(ssl, in_fields[i]) = ssl->in_buf + s->in_offsets[i];
    for (int i = 0; i < MK_OUT_FIELDS; i++) MK_FIELD(ssl, out_fields[i]) = ssl->out_buf + s->out_offsets[i];
    memcpy(ssl->in_ctr, s->in_ctr, 8);
    memcpy(ssl->out_ctr, s->out_ctr, 8);
    s->has_pair = 1;
}

/// Nothing of the connection's lives in its buffers between two calls.
static int parkable(const mk_tls_session *s) {
    const mbedtls_ssl_context *ssl = &s->ssl;
    return ssl->state == MBEDTLS_SSL_HANDSHAKE_OVER && ssl->handshake == NULL && ssl->in_left == 0 &&
           ssl->in_offt == NULL && (ssl->in_msglen == 0 || ssl->in_msglen == ssl->in_hslen) &&
           ssl->keep_current_message == 0 && ssl->out_left == 0 && s->pending == 0;
}

// ---- sessions ---------------------------------------------------------------------------

mk_tls_session *mk_tls_session_new(mk_tls_pairs *pairs) {
    mk_tls_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    mbedtls_ssl_init(&s->ssl);
    s->pairs = pairs;
    s->fd = -1;
    return s;
}

/// Gives the session's buffers back: a pair to the pool, or (no parking) the buffers
/// mbedtls_ssl_setup allocated, with the whole context, to be set up again next time.
static void release_buffers(mk_tls_session *s) {
    if (!s->has_pair) return;
    if (s->pairs->parking) {
        detach(s);
    } else {
        mbedtls_ssl_free(&s->ssl);
        mbedtls_ssl_init(&s->ssl);
        s->set_up = 0;
        s->fresh = 0;
        s->has_pair = 0;
        pair_give(s->pairs, NULL);
    }
}

void mk_tls_session_free(mk_tls_session *s) {
    if (!s) return;
    release_buffers(s);   // a pool's pair is not mbedTLS's to free
    mbedtls_ssl_free(&s->ssl);
    free(s);
}

/// Sets the context up (no parking: with the buffers setup allocates) or resets it for
/// a new connection; it holds a pair.
static int start_now(mk_tls_session *s) {
    if (!s->set_up) {
        if (mbedtls_ssl_setup(&s->ssl, s->ssl.conf) != 0) return -1;
        s->set_up = 1;
    } else if (!s->fresh && mbedtls_ssl_session_reset(&s->ssl) != 0) {
        return -1;
    }
    s->fresh = 0;
    s->start_due = 0;
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    return 0;
}

/// The first set-up of a parking session: the pool's pair replaces the buffers
/// mbedtls_ssl_setup allocated (zeroed as setup's were, the pointers made onto it as
/// setup made them). Once per session: afterwards it is only reset.
static int set_up_on(mk_tls_session *s, unsigned char *pair) {
    mbedtls_ssl_context *ssl = &s->ssl;
    if (mbedtls_ssl_setup(ssl, ssl->conf) != 0) return -1;
    free_mbedtls_block(ssl->in_buf);
    free_mbedtls_block(ssl->out_buf);
    memset(pair, 0, MK_PAIR_BYTES);
    ssl->in_buf = pair;
    ssl->out_buf = pair + MBEDTLS_SSL_IN_BUFFER_LEN;
    mbedtls_ssl_reset_in_out_pointers(ssl);
    s->has_pair = 1;
    s->set_up = 1;
    s->fresh = 1;
    return 0;
}

int mk_tls_session_start(mk_tls_session *s, mk_tls_config *c, int fd) {
    s->fd = fd;
    s->pending = 0;
    s->resumed = 0;
    // A reset reads the config (endpoint, transport), so one made under another config
    // is made again. The record buffers do not depend on the config.
    if (s->set_up && s->ssl.conf != &c->conf) s->fresh = 0;
    s->ssl.conf = &c->conf;
    s->start_due = 1;
    return s->has_pair ? start_now(s) : 0;
}

int mk_tls_unpark(mk_tls_session *s) {
    if (s->has_pair) return 0;
    unsigned char *pair = pair_take(s->pairs);
    if (!pair) return MK_TLS_NO_PAIR;
    if (!s->pairs->parking) {
        s->has_pair = 1;   // a token: setup allocates the buffers
    } else if (!s->set_up) {
        if (!s->start_due || set_up_on(s, pair) != 0) {
            pair_give(s->pairs, pair);
            return MK_TLS_FAILED;
        }
    } else {
        attach(s, pair);
    }
    if (!s->start_due) {
        s->pairs->unparks++;
        return 0;
    }
    if (start_now(s) != 0) {
        release_buffers(s);
        return MK_TLS_FAILED;
    }
    return 0;
}

int mk_tls_park(mk_tls_session *s) {
    if (!s->has_pair || !s->pairs->parking || !parkable(s)) return 0;
    detach(s);
    s->pairs->parks++;
    return 1;
}

int mk_tls_has_pair(const mk_tls_session *s) { return s->has_pair; }

int mk_tls_set_hostname(mk_tls_session *s, const char *name) {
    return mbedtls_ssl_set_hostname(&s->ssl, name) == 0 ? 0 : -1;
}

// ---- certificate dates against Meerkat's clock ------------------------------------------

/// Days from 1970-01-01 to a proleptic Gregorian date (the usual era arithmetic: years
/// counted from March, so February's leap day ends a year).
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/// A certificate's notBefore/notAfter as Unix seconds (UTC, as X.509 writes them).
static int64_t x509_time_s(const mbedtls_x509_time *t) {
    return days_from_civil(t->year, t->mon, t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

/// mbedTLS 2.28 (Debian's, without MBEDTLS_PLATFORM_TIME_ALT) dates every certificate of
/// the chain with time(), which on a board without a clock says 1970 until something
/// sets it. Its two date flags are dropped here and worked out again from the time
/// Meerkat gives the session: its SNTP-corrected clock, or the build-time floor.
static int verify_dates(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
    (void)depth;
    const mk_tls_session *s = ctx;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_FUTURE | MBEDTLS_X509_BADCERT_EXPIRED);
    if (s->now_s < x509_time_s(&crt->valid_from)) *flags |= MBEDTLS_X509_BADCERT_FUTURE;
    if (s->now_s > x509_time_s(&crt->valid_to)) *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
    return 0;
}

void mk_tls_session_set_time(mk_tls_session *s, int64_t unix_s) {
    s->now_s = unix_s;
    // Per context (a reset may have cleared it): the config is shared, the time is not.
    mbedtls_ssl_set_verify(&s->ssl, verify_dates, s);
}

int mk_tls_verify_failure(const mk_tls_session *s) {
    uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
    if (flags == 0 || flags == (uint32_t)-1) return MK_TLS_VERIFY_OK;
    if (flags & MBEDTLS_X509_BADCERT_EXPIRED) return MK_TLS_VERIFY_EXPIRED;
    if (flags & MBEDTLS_X509_BADCERT_FUTURE) return MK_TLS_VERIFY_NOT_YET_VALID;
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) return MK_TLS_VERIFY_NAME_MISMATCH;
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) return MK_TLS_VERIFY_UNTRUSTED;
    return MK_TLS_VERIFY_OTHER;
}

void mk_tls_session_end(mk_tls_session *s) {
    s->fd = -1;
    s->pending = 0;
    s->start_due = 0;
    if (!s->set_up) {
        release_buffers(s);
        return;
    }
    if (!s->pairs->parking) {
        release_buffers(s);   // frees the context's keys and buffers: set up again next time
        return;
    }
    // A reset frees the session keys and handshake state now rather than at the next
    // start; it clears the buffers, so a parked session borrows a pair for it. With none
    // free, the reset waits for the next start.
    if (!s->has_pair) {
        unsigned char *pair = pair_take(s->pairs);
        if (pair) attach(s, pair);
    }
    if (s->has_pair) {
        s->fresh = mbedtls_ssl_session_reset(&s->ssl) == 0;
        detach(s);
    } else {
        s->fresh = 0;
    }
}

int mk_tls_handshake(mk_tls_session *s) {
    if (!s->has_pair) return -EAGAIN;
    // mbedtls_ssl_handshake's own loop, one step at a time: whether the server took the
    // session (handshake->resume) is known only while the handshake state exists, and
    // the last step frees it.
    int ret = 0;
    while (s->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        ret = mbedtls_ssl_handshake_step(&s->ssl);
        if (s->ssl.handshake) s->resumed = s->ssl.handshake->resume;
        if (ret != 0) break;
    }
    if (ret == 0) return 0;
    if (ret == MBEDTLS_ERR_SSL_WANT_READ) return -EAGAIN;
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) return MK_TLS_WANT_WRITE;
    s->last_error = ret;
    return MK_TLS_FAILED;
}

int mk_tls_last_error(const mk_tls_session *s) { return s->last_error; }

// ---- client-side resumption ----------------------------------------------------------

mk_tls_saved *mk_tls_saved_new(void) {
    mk_tls_saved *v = calloc(1, sizeof *v);
    if (v) mbedtls_ssl_session_init(&v->session);
    return v;
}

void mk_tls_saved_clear(mk_tls_saved *v) {
    mbedtls_ssl_session_free(&v->session);   // zeroizes the master secret, frees the ticket
    mbedtls_ssl_session_init(&v->session);
    v->valid = 0;
}

void mk_tls_saved_free(mk_tls_saved *v) {
    if (!v) return;
    mk_tls_saved_clear(v);
    free(v);
}

int mk_tls_save(const mk_tls_session *s, mk_tls_saved *v) {
    // mbedtls_ssl_get_session frees what `v` held, then copies (ticket and peer
    // certificate allocated by mbedTLS: its own cost, once per handshake).
    v->valid = mbedtls_ssl_get_session(&s->ssl, &v->session) == 0;
    return v->valid ? 0 : -1;
}

int mk_tls_resume(mk_tls_session *s, const mk_tls_saved *v) {
    // set_session copies into the handshake's session, which exists only once the
    // context is set up or reset for this connection (not while the start waits).
    if (!v->valid || s->start_due || !s->has_pair || s->ssl.handshake == NULL) return -1;
    return mbedtls_ssl_set_session(&s->ssl, &v->session) == 0 ? 0 : -1;
}

int mk_tls_resumed(const mk_tls_session *s) { return s->resumed; }

long mk_tls_read(mk_tls_session *s, void *buf, size_t len) {
    if (!s->has_pair) return -EAGAIN;
    int ret = mbedtls_ssl_read(&s->ssl, buf, len);
    if (ret > 0) return ret;
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return 0;
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return -EAGAIN;
    return MK_TLS_FAILED;
}

long mk_tls_write(mk_tls_session *s, const void *buf, size_t len) {
    if (!s->has_pair) return -EAGAIN;
    size_t n = len;
    if (s->pending > 0) {
        if (len < s->pending) return MK_TLS_FAILED;   // the caller lost the waiting record's bytes
        n = s->pending;
    } else {
        // Output of mbedTLS's own still waits (an alert sent while reading): a write now
        // would be taken as its retry and these bytes dropped. Never expected; fail.
        if (s->ssl.out_left != 0) return MK_TLS_FAILED;
        int max = mbedtls_ssl_get_max_out_record_payload(&s->ssl);
        if (max > 0 && n > (size_t)max) n = (size_t)max;
    }
    int ret = mbedtls_ssl_write(&s->ssl, buf, n);
    if (ret > 0) {
        s->pending = 0;
        return ret;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) {
        // The record for these n bytes is built and partly sent, or nothing was built
        // yet because an earlier message still drains: either way, n is what the next
        // call must repeat.
        s->pending = n;
        return -EAGAIN;
    }
    return MK_TLS_FAILED;
}

size_t mk_tls_write_pending(const mk_tls_session *s) { return s->pending; }

uint64_t mk_tls_wire_bytes(const mk_tls_session *s) { return s->wire; }

int mk_tls_read_pending(const mk_tls_session *s) { return s->has_pair && mbedtls_ssl_check_pending(&s->ssl); }

void mk_tls_close_notify(mk_tls_session *s) {
    if (s->set_up && s->has_pair && s->pending == 0) (void)mbedtls_ssl_close_notify(&s->ssl);
}

size_t mk_tls_session_bytes(void) { return sizeof(mk_tls_session); }

size_t mk_tls_pair_bytes(void) { return MK_PAIR_BYTES; }

// ---- ALPN and the peer's identity (issue 25) ----------------------------------------

int mk_tls_config_alpn(mk_tls_config *c, const char *list) {
    size_t len = strlen(list);
    if (len == 0) return 0;
    if (len >= sizeof c->alpn_names) return -1;
    memcpy(c->alpn_names, list, len + 1);
    size_t n = 0;
    for (char *name = c->alpn_names; name;) {
        char *comma = strchr(name, ',');
        if (comma) *comma = 0;
        if (*name == 0 || n == MK_TLS_ALPN_MAX) return -1;
        c->alpn[n++] = name;
        name = comma ? comma + 1 : NULL;
    }
    c->alpn[n] = NULL;
    return mbedtls_ssl_conf_alpn_protocols(&c->conf, c->alpn) == 0 ? 0 : -1;
}

const char *mk_tls_alpn(const mk_tls_session *s) { return mbedtls_ssl_get_alpn_protocol(&s->ssl); }

/// Fills `out` from a certificate. Names are kept as their bytes with a length, never
/// as C strings: a CN or DNS name with a NUL or a comma inside cannot pass for another.
static int identity_of(const mbedtls_x509_crt *crt, mk_tls_peer *out) {
    memset(out, 0, sizeof *out);
    if (!crt || crt->raw.len == 0) return -1;
    for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next) {
        if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            size_t len = n->val.len < sizeof out->cn ? n->val.len : sizeof out->cn;
            memcpy(out->cn, n->val.p, len);
            out->cn_len = (uint8_t)len;
            out->cn_truncated = len < n->val.len;
            break;
        }
    }
    // DNS names only (the list mbedTLS 2.28 keeps holds the dNSName entries), as many
    // whole ones as fit.
    size_t used = 0;
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p; san = san->next) {
        if (san->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) continue;
        size_t len = san->buf.len;
        if (out->name_count == MK_TLS_PEER_NAMES || len > sizeof out->names - used) {
            out->names_truncated = 1;
            break;
        }
        memcpy(out->names + used, san->buf.p, len);
        out->name_len[out->name_count++] = (uint8_t)len;
        used += len;
    }
    return mbedtls_sha256_ret(crt->raw.p, crt->raw.len, out->sha256, 0) == 0 ? 0 : -1;
}

int mk_tls_peer_identity(const mk_tls_session *s, mk_tls_peer *out) {
    return identity_of(mbedtls_ssl_get_peer_cert(&s->ssl), out);
}

int mk_tls_parse_identity(const uint8_t *cert, size_t len, mk_tls_peer *out) {
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    int ret = parse_crt(&crt, cert, len) == 0 ? identity_of(&crt, out) : -1;
    mbedtls_x509_crt_free(&crt);
    return ret;
}

int mk_ecdsa_p256_verify(const uint8_t *key, size_t key_len, const uint8_t hash[32], const uint8_t *sig,
                         size_t sig_len) {
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    uint8_t *pem = pem_with_nul(key, key_len);
    int ret = pem ? mbedtls_pk_parse_public_key(&pk, pem, key_len + 1) : mbedtls_pk_parse_public_key(&pk, key, key_len);
    free(pem);
    // Only P-256: a key of another curve or type would verify a different promise.
    if (ret != 0 || !mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA) ||
        mbedtls_pk_ec(pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        mbedtls_pk_free(&pk);
        return -1;
    }
    ret = mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, hash, 32, sig, sig_len);
    mbedtls_pk_free(&pk);
    return ret == 0 ? 0 : 1;
}
