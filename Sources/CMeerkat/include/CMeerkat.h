// CMeerkat: the only door from Meerkat to the C world. System headers are imported
// here (never through Glibc), plus a few helpers where a direct call is awkward from
// Swift: errno, packed epoll_event, sockaddr casts, argv, signal flags.
#ifndef CMEERKAT_H
#define CMEERKAT_H

#include <stdio.h>
#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include "mk_tls.h"
#include "mk_crypto.h"

/// Flushes stdout (lines like `listening on URL` must reach a pipe at once).
void mk_flush_stdout(void);
/// errno of the calling thread.
int mk_errno(void);
/// Monotonic clock in milliseconds.
int64_t mk_now_ms(void);
/// Wall-clock time (CLOCK_REALTIME) in milliseconds since 1970.
int64_t mk_wall_ms(void);
/// Sets the system's wall clock (clock_settime): 0, or -errno (-EPERM without
/// CAP_SYS_TIME).
int mk_set_wall_ms(int64_t unix_ms);

/// This machine's host name (gethostname), NUL-terminated in buf; -1 on failure.
int mk_hostname(char *buf, size_t len);

/// Process arguments, captured at start-up (Embedded Swift has no CommandLine).
int mk_argc(void);
const char *mk_argv(int i);
/// The whole argv (argc entries and a NULL), as main received it (shifted by
/// mk_shift_args).
char **mk_args(void);
/// Drops argv[0], so argv[1] becomes the program's name: the multi-call firmware's
/// `meerkat APP ARGS...` runs APP as if started as `APP ARGS...`.
void mk_shift_args(void);

/// The git revision the binary was built from (--version): "unknown" here, a weak
/// definition that a firmware build replaces with build/BOARD/gen/revision.c, so a new
/// revision relinks the apps without recompiling the library.
const char *mk_build_revision(void);
/// When the firmware's source was made (Unix seconds: SOURCE_DATE_EPOCH, else the
/// commit's time), the floor of its wall clock; 0 (no floor) here, a weak definition
/// that build/BOARD/gen/revision.c replaces, as for mk_build_revision.
int64_t mk_build_epoch(void);

/// SIGPIPE ignored; SIGINT/SIGTERM set a flag that `mk_stop_requested` reads.
void mk_install_signal_handlers(void);
void mk_ignore_sigpipe(void);
int mk_stop_requested(void);
void mk_clear_stop_request(void);

/// An address as plain fields: 16 address bytes (IPv4 in the first 4), port, family.
typedef struct {
    uint8_t ip[16];
    uint16_t port;
    uint8_t is_ipv6;
} mk_addr;

/// Parses a numeric IPv4/IPv6 literal; returns 0 on success.
int mk_addr_parse(const char *text, uint16_t port, mk_addr *out);
/// Formats an address (without port) into buf; returns the length or -1.
int mk_addr_format(const mk_addr *addr, char *buf, int len);

/// A non-blocking, close-on-exec listening socket (SO_REUSEADDR; IPV6_V6ONLY for ::).
/// Returns the fd or -errno.
int mk_listen(const mk_addr *addr, int backlog);
/// Accepts one connection (non-blocking, close-on-exec, TCP_NODELAY on).
/// Returns the fd, -EAGAIN when none is waiting, or -errno.
int mk_accept(int fd, mk_addr *peer);
/// A non-blocking TCP connect (TCP_NODELAY on): the fd (the connect may still be in
/// progress: wait for writable, then read mk_socket_error) or -errno.
int mk_connect(const mk_addr *addr);
/// A non-blocking UDP socket connected to addr (the kernel then takes datagrams from
/// that address only): the fd or -errno.
int mk_udp_connect(const mk_addr *addr);
/// One file of a packed folder (scripts/pack_web.py writes tables of these): its path
/// below the folder, its bytes, a gzip copy (NULL when not smaller), the ETag (quoted)
/// computed at build time, and the modification time it is served with.
typedef struct {
    const char *path;
    const uint8_t *data;
    uint32_t size;
    const uint8_t *gzip;
    uint32_t gzip_size;
    const char *etag;
    int64_t mtime;
} mk_packed_file;

/// What mk_open_below learned of the file it opened.
typedef struct {
    uint64_t size;
    int64_t mtime;
    uint64_t inode;
    int32_t is_dir;
} mk_file_info;

/// realpath(3) of path into out (len bytes); the length or -errno.
int mk_realpath(const char *path, char *out, size_t len);
/// Opens path read-only (non-blocking, close-on-exec) and checks what was opened, with
/// symlinks followed, against root_real (a realpath): the fd, -EACCES when it lies
/// outside the root or is neither a regular file nor a folder, or -errno.
int mk_open_below(const char *root_real, const char *path, mk_file_info *info);
/// stat(2) of a path (symlinks followed) into info; 0 or -errno.
int mk_stat_path(const char *path, mk_file_info *info);
/// A close-on-exec duplicate of fd, or -errno.
int mk_dup(int fd);
/// sendfile(2) from *offset (advanced); bytes or -errno. 64-bit offsets on every board.
long mk_sendfile(int out_fd, int in_fd, uint64_t *offset, size_t count);
/// pread(2) at a 64-bit offset; bytes or -errno.
long mk_pread(int fd, void *buf, size_t len, uint64_t offset);
/// Starts listing the open folder fd, which it takes (closed by mk_dir_close, or at
/// once on failure): an opaque reader (readdir(3)'s, so several may be open at once),
/// or NULL with -errno in *err.
void *mk_dir_open(int fd, int *err);
/// The next entry ("." and ".." skipped; names of len bytes or more passed over): its
/// name into name, and stat(2) of it into info (a link followed; a broken one as
/// itself); 1, 0 at the end, or -errno.
int mk_dir_read(void *dir, char *name, size_t len, mk_file_info *info);
void mk_dir_close(void *dir);

/// Makes fd non-blocking; 0 or -errno.
int mk_set_nonblocking(int fd);
/* Two connected Unix stream sockets, non-blocking (a handler under test, TestChannel). */
int mk_socketpair(int fds[2]);
/// The socket's pending error (SO_ERROR): 0 once a connect succeeded.
int mk_socket_error(int fd);
int mk_local_addr(int fd, mk_addr *out);
int mk_peer_addr(int fd, mk_addr *out);

/// read/send without SIGPIPE; return bytes or -errno.
long mk_read(int fd, void *buf, size_t len);
long mk_send(int fd, const void *buf, size_t len);
/// One datagram into buf; returns its whole length (more than len when it was cut to
/// fit: recv with MSG_TRUNC) or -errno.
long mk_recv_datagram(int fd, void *buf, size_t len);
/// Copies what the socket holds into buf without taking it (recv with MSG_PEEK and
/// MSG_DONTWAIT); returns the count, or -errno (-ENOTSOCK on a non-socket).
long mk_peek(int fd, void *buf, size_t len);
/// Two pieces in one system call (sendmsg with MSG_NOSIGNAL).
long mk_send2(int fd, const void *a, size_t alen, const void *b, size_t blen);

/// epoll through plain arguments (struct epoll_event is packed on x86_64).
int mk_epoll_create(void);
int mk_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// Waits; fills tokens[i] and events[i]; returns the count or -errno.
int mk_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms);

int mk_eventfd(void);
int mk_eventfd_signal(int fd);
void mk_eventfd_drain(int fd);

/// A process-private mutex for the wakeup queue, the library's one cross-thread path.
typedef struct mk_mutex mk_mutex;
mk_mutex *mk_mutex_create(void);
void mk_mutex_lock(mk_mutex *m);
void mk_mutex_unlock(mk_mutex *m);
void mk_mutex_free(mk_mutex *m);

/// Random bytes from a DRBG seeded once from the system (WebSocket keys and masks,
/// `Manager.random(into:)`).
/// Returns 0, or -1 when no entropy could be had.
int mk_random(void *buf, size_t len);

/// Files for apps (open(2) is variadic, so Swift cannot call it). Return the fd or -errno.
/// `append` keeps what the file holds; otherwise it is truncated.
int mk_open_write(const char *path, int append, unsigned mode);
int mk_open_read(const char *path);
/// Creates path for writing only if it does not exist (O_EXCL): -EEXIST when it does.
int mk_open_new(const char *path, unsigned mode);
/// mkdir(2); 0 when made or already there, else -errno.
int mk_mkdir(const char *path, unsigned mode);
/// write(2) until all is written (EINTR retried); returns 0 or -errno.
int mk_write_all(int fd, const void *buf, size_t len);
/// Raw mode on a tty (no echo, no line discipline, 8N1) at `baud` bits/s (0: keep the
/// rate); 0, or -errno (-EINVAL for a rate termios has no constant for).
int mk_tty_raw(int fd, long baud);
/// Opens a serial device read-write, non-blocking, not as the controlling terminal: fd,
/// or -errno.
int mk_open_tty(const char *path);

/// Starts a detached thread running fn(arg); returns 0 or an errno.
int mk_thread_start(void *(*fn)(void *), void *arg);

#endif
