// The TLS part of the C shim: mbedTLS 2.28 behind four opaque types, so Swift never sees
// mbedTLS's structs. Everything here is non-blocking: a call that would block returns
// -EAGAIN and is made again when the socket is ready.
#ifndef MK_TLS_H
#define MK_TLS_H

#include <stddef.h>
#include <stdint.h>

/// One per manager: the entropy source, the DRBG seeded from it once, and the session
/// ticket keys (mbedTLS's ticket module; it rotates the key every ticket lifetime).
typedef struct mk_tls_engine mk_tls_engine;
/// One per distinct certificate/key: the parsed certificate chain, key and CA, and the
/// mbedtls_ssl_config every session using them shares.
typedef struct mk_tls_config mk_tls_config;
/// One per pool entry: an mbedtls_ssl_context, set up the first time it is used and
/// reset (not freed) between connections. Its two record buffers come from a
/// `mk_tls_pairs` pool while it moves data, and go back while it is idle ("parked").
typedef struct mk_tls_session mk_tls_session;
/// A client's saved session (mbedtls_ssl_session: master secret, suite, the server's
/// ticket), to resume the next connection to the same server with. Made once per entry
/// of the resumption table; reused.
typedef struct mk_tls_saved mk_tls_saved;
/// A fixed pool of record-buffer pairs (MBEDTLS_SSL_IN/OUT_BUFFER_LEN each), allocated
/// once; it bounds the TLS connections moving data at the same moment.
typedef struct mk_tls_pairs mk_tls_pairs;

/// Cipher-suite orders. Both put ECDHE-ECDSA first (then ECDHE-RSA, for RSA keys);
/// CHACHA_FIRST is for CPUs without AES instructions (see BENCHMARKS.md).
enum { MK_TLS_AES_FIRST = 0, MK_TLS_CHACHA_FIRST = 1 };

/// Seeds the DRBG and sets up the ticket keys (lifetime in seconds). NULL on failure.
mk_tls_engine *mk_tls_engine_new(int suite_order, uint32_t ticket_lifetime_s);
void mk_tls_engine_free(mk_tls_engine *engine);

/// Why a config could not be made.
enum { MK_TLS_ERR_SETUP = 1, MK_TLS_ERR_CERT, MK_TLS_ERR_KEY, MK_TLS_ERR_MISMATCH, MK_TLS_ERR_CA, MK_TLS_ERR_NO_CERT };

/// Parses a certificate chain and key (PEM or DER; PEM need not end in NUL) and, when
/// `ca` is given, the CA that peers' certificates must chain to. A client given no CA
/// verifies against the system's (/etc/ssl/certs/ca-certificates.crt) unless told to
/// skip verification. On failure returns
/// NULL and sets *error to an MK_TLS_ERR_* code.
mk_tls_config *mk_tls_config_new(mk_tls_engine *engine, int is_server,
                                 const uint8_t *cert, size_t cert_len,
                                 const uint8_t *key, size_t key_len,
                                 const uint8_t *ca, size_t ca_len,
                                 int skip_verification, int *error);
void mk_tls_config_free(mk_tls_config *config);

/// Whether the linked mbedTLS is the one the parking code was written for (2.28.x).
int mk_tls_parking_supported(void);
/// The linked mbedTLS's version number (0xMMmmpp00).
uint32_t mk_tls_linked_version(void);
/// `count` pairs, in one allocation. Without parking (not allowed, or not supported),
/// pairs are only counted: each session keeps the buffers its mbedtls_ssl_setup
/// allocates from start to end, as before parking existed. NULL when out of memory.
mk_tls_pairs *mk_tls_pairs_new(int count, int allow_parking);
/// After every session using the pool was freed.
void mk_tls_pairs_free(mk_tls_pairs *pairs);
int mk_tls_pairs_parking(const mk_tls_pairs *pairs);
int mk_tls_pairs_count(const mk_tls_pairs *pairs);
int mk_tls_pairs_free_count(const mk_tls_pairs *pairs);
/// The fewest pairs ever free at once.
int mk_tls_pairs_lowest_free(const mk_tls_pairs *pairs);
/// Pairs given back by idle sessions, and taken again by them.
uint64_t mk_tls_pairs_parks(const mk_tls_pairs *pairs);
uint64_t mk_tls_pairs_unparks(const mk_tls_pairs *pairs);

/// A pool entry, not yet set up, holding no pair.
mk_tls_session *mk_tls_session_new(mk_tls_pairs *pairs);
void mk_tls_session_free(mk_tls_session *session);
/// Starts a connection on `fd` with `config`. The context is set up the first time,
/// afterwards reset; both need a pair, so with none held they happen in the next
/// `mk_tls_unpark`. Returns 0 or -1.
int mk_tls_session_start(mk_tls_session *session, mk_tls_config *config, int fd);
/// Takes a pair for the session (restoring where its records stood), and finishes a
/// start that waited for one: 0 (it holds a pair, now or already), MK_TLS_NO_PAIR (the
/// pool is empty: nothing changed), or MK_TLS_FAILED (the start failed). Allocates
/// nothing after a session's first set-up.
int mk_tls_unpark(mk_tls_session *session);
/// Gives the session's pair back if nothing is in flight (handshake over, no partial
/// record either way, no unread plaintext): 1 when parked, 0 otherwise (or when
/// parking is off). Handshake, read and write on a parked session return -EAGAIN.
int mk_tls_park(mk_tls_session *session);
int mk_tls_has_pair(const mk_tls_session *session);
/// A client's server name: sent as SNI and checked against the certificate's names
/// (unless the config skips verification). Returns 0 or -1.
int mk_tls_set_hostname(mk_tls_session *session, const char *name);
/// The time (Unix s) the peer's certificates' notBefore/notAfter are checked against,
/// in place of mbedTLS's time(): Meerkat's trusted clock (SNTP-corrected, or the
/// build-time floor). Set before each handshake step.
void mk_tls_session_set_time(mk_tls_session *session, int64_t unix_s);
/// A saved-session holder, empty. NULL when out of memory.
mk_tls_saved *mk_tls_saved_new(void);
void mk_tls_saved_free(mk_tls_saved *saved);
/// Empties it (the ticket and keys it held are zeroized and freed).
void mk_tls_saved_clear(mk_tls_saved *saved);
/// After a client's handshake: copies its session (and the server's ticket) into
/// `saved`, replacing what it held. 0 or -1.
int mk_tls_save(const mk_tls_session *session, mk_tls_saved *saved);
/// Before a client's handshake (started, holding a pair): offers `saved` (a ticket, or
/// its session ID) to resume. 0, or -1 when it cannot be offered now (empty, or the
/// start waits for a pair): the handshake is then a full one.
int mk_tls_resume(mk_tls_session *session, const mk_tls_saved *saved);
/// Whether the last handshake on this session resumed one (either side).
int mk_tls_resumed(const mk_tls_session *session);
/// Why the peer's certificate failed verification (after a failed handshake).
enum { MK_TLS_VERIFY_OK = 0, MK_TLS_VERIFY_UNTRUSTED, MK_TLS_VERIFY_EXPIRED, MK_TLS_VERIFY_NOT_YET_VALID,
       MK_TLS_VERIFY_NAME_MISMATCH, MK_TLS_VERIFY_OTHER };
int mk_tls_verify_failure(const mk_tls_session *session);
/// mbedTLS's error code (negative) from the handshake that failed last on this session.
int mk_tls_last_error(const mk_tls_session *session);
/// Ends the connection: frees what the handshake and session keys took, keeps the
/// context for the next connection, and gives its pair back.
void mk_tls_session_end(mk_tls_session *session);

/// Advances the handshake: 0 when complete, -EAGAIN waiting to read,
/// MK_TLS_WANT_WRITE waiting to write, MK_TLS_FAILED when it cannot complete.
enum { MK_TLS_WANT_WRITE = -100000, MK_TLS_FAILED = -100001, MK_TLS_NO_PAIR = -100002 };
int mk_tls_handshake(mk_tls_session *session);

/// Decrypts into buf: bytes (> 0), 0 when the peer closed (close_notify or EOF),
/// -EAGAIN when more must be read from the socket first, MK_TLS_FAILED otherwise.
long mk_tls_read(mk_tls_session *session, void *buf, size_t len);
/// Encrypts and sends up to one record of buf: plaintext bytes taken (> 0), -EAGAIN,
/// or MK_TLS_FAILED. After -EAGAIN the record is built and part of it waits: the next
/// call must pass the same plaintext again (at least as many bytes, the same ones
/// first, as mbedTLS requires); it returns that record's length once it is out.
long mk_tls_write(mk_tls_session *session, const void *buf, size_t len);
/// Plaintext bytes of a record that waits to go out (0 when none).
size_t mk_tls_write_pending(const mk_tls_session *session);
/// Bytes the session has read from and written to its socket, ever (ciphertext: a
/// record's pieces count as they come, before the record is whole).
uint64_t mk_tls_wire_bytes(const mk_tls_session *session);
/// Received data mbedTLS holds above the socket (a socket poll would not show it).
int mk_tls_read_pending(const mk_tls_session *session);
/// Sends close_notify, best effort (never blocks).
void mk_tls_close_notify(mk_tls_session *session);

/// Bytes of one session's own struct (the mbedTLS context inside; what the handshake
/// leaves allocated, transform and session keys, comes on top), and of one pair.
size_t mk_tls_session_bytes(void);
size_t mk_tls_pair_bytes(void);

/// ALPN: at most MK_TLS_ALPN_MAX protocols, MK_TLS_ALPN_BYTES - 1 bytes with their commas.
enum { MK_TLS_ALPN_MAX = 4, MK_TLS_ALPN_BYTES = 64 };
/// The protocols a config offers (client) or accepts (server), most preferred first,
/// comma-separated ("http/1.1", "mqtt"); "" for none. Kept in the config. A server that
/// shares none with a client offering some refuses the handshake (RFC 7301). 0 or -1.
int mk_tls_config_alpn(mk_tls_config *config, const char *list);
/// The protocol the handshake agreed on, or NULL (points into the config's list).
const char *mk_tls_alpn(const mk_tls_session *session);

/// Who the peer's certificate names: its subject's CN (up to 64 bytes, the X.520 bound),
/// its DNS names (subjectAltName: up to MK_TLS_PEER_NAMES, 255 bytes in all, packed one
/// after the other, each `name_len` long) and the SHA-256 of its DER bytes. Fixed size:
/// filled on the caller's stack, nothing allocated.
enum { MK_TLS_PEER_NAMES = 8 };
typedef struct mk_tls_peer {
    uint8_t cn[64];
    uint8_t names[255];
    uint8_t name_len[MK_TLS_PEER_NAMES];
    uint8_t sha256[32];
    uint8_t cn_len;
    uint8_t name_count;
    /// The CN was longer than 64 bytes, or more names were there than fit.
    uint8_t cn_truncated;
    uint8_t names_truncated;
} mk_tls_peer;
/// The peer's certificate after the handshake (a server sees one only when it asked,
/// with a CA): 0, or -1 when there is none.
int mk_tls_peer_identity(const mk_tls_session *session, mk_tls_peer *out);
/// The same from a certificate's PEM or DER bytes (tests, tools): 0 or -1.
int mk_tls_parse_identity(const uint8_t *cert, size_t len, mk_tls_peer *out);

/// Signed updates (Sources/Meerkat/OTA): whether `sig` (ASN.1 DER, as `openssl dgst
/// -sha256 -sign` writes it) is an ECDSA signature of the 32-byte `hash` by the P-256
/// public key `key` (PEM or DER SubjectPublicKeyInfo). 0: it is; 1: it is not; -1: the
/// key does not parse or is not a P-256 key.
int mk_ecdsa_p256_verify(const uint8_t *key, size_t key_len, const uint8_t hash[32], const uint8_t *sig,
                         size_t sig_len);

#endif
