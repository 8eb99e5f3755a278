#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64   /* files past 2 GiB on armv7 too (only this file sees off_t) */
#include "CMeerkat.h"
#include <dirent.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <termios.h>

int mk_errno(void) { return errno; }

void mk_flush_stdout(void) { fflush(stdout); }

int64_t mk_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int saved_argc;
static char **saved_argv;

// glibc passes (argc, argv, envp) to functions in .init_array.
static void mk_capture_args(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
__attribute__((section(".init_array"), used))
static void (*mk_capture_args_entry)(int, char **, char **) = mk_capture_args;

int mk_hostname(char *buf, size_t len) {
    if (len == 0 || gethostname(buf, len - 1) != 0) return -1;
    buf[len - 1] = 0;
    return 0;
}

int mk_argc(void) { return saved_argc; }
const char *mk_argv(int i) { return (i >= 0 && i < saved_argc) ? saved_argv[i] : NULL; }
char **mk_args(void) { return saved_argv; }
void mk_shift_args(void) {
    if (saved_argc > 1) { saved_argc--; saved_argv++; }
}

__attribute__((weak)) const char *mk_build_revision(void) { return "unknown"; }
__attribute__((weak)) int64_t mk_build_epoch(void) { return 0; }

static volatile sig_atomic_t stop_flag;
static void on_stop_signal(int sig) { (void)sig; stop_flag = 1; }

void mk_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

void mk_install_signal_handlers(void) {
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
int mk_stop_requested(void) { return stop_flag; }
void mk_clear_stop_request(void) { stop_flag = 0; }

int mk_addr_parse(const char *text, uint16_t port, mk_addr *out) {
    memset(out, 0, sizeof *out);
    out->port = port;
    if (inet_pton(AF_INET, text, out->ip) == 1) return 0;
    if (inet_pton(AF_INET6, text, out->ip) == 1) { out->is_ipv6 = 1; return 0; }
    return -1;
}

int mk_addr_format(const mk_addr *addr, char *buf, int len) {
    if (!inet_ntop(addr->is_ipv6 ? AF_INET6 : AF_INET, addr->ip, buf, (socklen_t)len)) return -1;
    return (int)strlen(buf);
}

static socklen_t to_sockaddr(const mk_addr *a, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (a->is_ipv6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        memcpy(&s6->sin6_addr, a->ip, 16);
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a->port);
    memcpy(&s4->sin_addr, a->ip, 4);
    return sizeof *s4;
}

static void from_sockaddr(const struct sockaddr_storage *ss, mk_addr *a) {
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        a->is_ipv6 = 1;
        a->port = ntohs(s6->sin6_port);
        memcpy(a->ip, &s6->sin6_addr, 16);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        a->port = ntohs(s4->sin_port);
        memcpy(a->ip, &s4->sin_addr, 4);
    }
}

/// A non-blocking, close-on-exec socket (SOCK_STREAM or SOCK_DGRAM) of the address's
/// family; fd or -errno.
static int new_socket(const mk_addr *addr, int type) {
    int fd = socket(addr->is_ipv6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

int mk_listen(const mk_addr *addr, int backlog) {
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(addr, &ss);
    int fd = new_socket(addr, SOCK_STREAM);
    if (fd < 0) return fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr->is_ipv6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int mk_accept(int fd, mk_addr *peer) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return -errno;
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    from_sockaddr(&ss, peer);
    return c;
}

int mk_connect(const mk_addr *addr) {
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(addr, &ss);
    int fd = new_socket(addr, SOCK_STREAM);
    if (fd < 0) return fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int mk_udp_connect(const mk_addr *addr) {
    struct sockaddr_storage ss;
    socklen_t len = to_sockaddr(addr, &ss);
    int fd = new_socket(addr, SOCK_DGRAM);
    if (fd < 0) return fd;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int mk_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return -errno;
    return 0;
}

int mk_socketpair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : -errno;
}

int mk_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

int mk_local_addr(int fd, mk_addr *out) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
    from_sockaddr(&ss, out);
    return 0;
}

int mk_peer_addr(int fd, mk_addr *out) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
    from_sockaddr(&ss, out);
    return 0;
}

long mk_read(int fd, void *buf, size_t len) {
    ssize_t n = read(fd, buf, len);
    return n < 0 ? -errno : n;
}

long mk_recv_datagram(int fd, void *buf, size_t len) {
    ssize_t n = recv(fd, buf, len, MSG_TRUNC);
    return n < 0 ? -errno : n;
}

long mk_peek(int fd, void *buf, size_t len) {
    ssize_t n = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 ? -errno : n;
}

/* send(2) with no SIGPIPE; on a watched tty or pipe, which is no socket (ENOTSOCK), the
   same bytes with write(2). Sockets never pay for the fallback. */
long mk_send(int fd, const void *buf, size_t len) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = write(fd, buf, len);
    return n < 0 ? -errno : n;
}

/* The termios constant for a rate in bits/s; 0 when there is none. */
static speed_t mk_speed(long baud) {
    switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 1500000: return B1500000;
    case 2000000: return B2000000;
    default: return 0;
    }
}

int mk_tty_raw(int fd, long baud) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -errno;
    cfmakeraw(&t);  /* bytes as they come: no echo, no line editing, no CR/LF mapping */
    t.c_cflag |= CLOCAL | CREAD;
    if (baud > 0) {
        speed_t speed = mk_speed(baud);
        if (speed == 0) return -EINVAL;
        cfsetispeed(&t, speed);
        cfsetospeed(&t, speed);
    }
    return tcsetattr(fd, TCSANOW, &t) == 0 ? 0 : -errno;
}

int mk_open_tty(const char *path) {
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

long mk_send2(int fd, const void *a, size_t alen, const void *b, size_t blen) {
    struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = blen ? 2 : 1;
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = writev(fd, iov, (int)msg.msg_iovlen);  /* a tty, a pipe */
    return n < 0 ? -errno : n;
}

int mk_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int mk_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

int mk_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

int mk_eventfd(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int mk_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -errno;
}

void mk_eventfd_drain(int fd) {
    uint64_t value;
    while (read(fd, &value, sizeof value) == sizeof value) {}
}

struct mk_mutex { pthread_mutex_t m; };

mk_mutex *mk_mutex_create(void) {
    mk_mutex *m = malloc(sizeof *m);
    if (m) pthread_mutex_init(&m->m, NULL);
    return m;
}
void mk_mutex_lock(mk_mutex *m) { pthread_mutex_lock(&m->m); }
void mk_mutex_unlock(mk_mutex *m) { pthread_mutex_unlock(&m->m); }
void mk_mutex_free(mk_mutex *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->m);
    free(m);
}

int mk_open_write(const char *path, int append, unsigned mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), (mode_t)mode);
    return fd >= 0 ? fd : -errno;
}

int mk_open_new(const char *path, unsigned mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    return fd >= 0 ? fd : -errno;
}

int mk_mkdir(const char *path, unsigned mode) {
    return mkdir(path, (mode_t)mode) == 0 || errno == EEXIST ? 0 : -errno;
}

int mk_open_read(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int mk_write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mk_thread_start(void *(*fn)(void *), void *arg) {
    pthread_t tid;
    int rc = pthread_create(&tid, NULL, fn, arg);
    if (rc == 0) pthread_detach(tid);
    return rc;
}

int64_t mk_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mk_set_wall_ms(int64_t unix_ms) {
    if (unix_ms < 0) return -EINVAL;
    // time_t is 32 bits on armhf's glibc unless built with _TIME_BITS=64: a time past
    // 2038 is refused rather than wrapped.
    if ((int64_t)(time_t)(unix_ms / 1000) != unix_ms / 1000) return -EOVERFLOW;
    struct timespec ts = {.tv_sec = (time_t)(unix_ms / 1000), .tv_nsec = (long)(unix_ms % 1000) * 1000000};
    return clock_settime(CLOCK_REALTIME, &ts) == 0 ? 0 : -errno;
}

// One DRBG for the process (mbedTLS locks it: MBEDTLS_THREADING_C), seeded once from the
// system's entropy: WebSocket client keys and masks.
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
static mbedtls_entropy_context random_entropy;
static mbedtls_ctr_drbg_context random_drbg;
static int random_ready;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

static void random_init(void) {
    mbedtls_entropy_init(&random_entropy);
    mbedtls_ctr_drbg_init(&random_drbg);
    static const unsigned char personal[] = "meerkat-random";
    random_ready = mbedtls_ctr_drbg_seed(&random_drbg, mbedtls_entropy_func, &random_entropy, personal,
                                         sizeof personal - 1) == 0;
}

int mk_random(void *buf, size_t len) {
    pthread_once(&random_once, random_init);
    if (!random_ready) return -1;
    return mbedtls_ctr_drbg_random(&random_drbg, buf, len) == 0 ? 0 : -1;
}

/* ---- static files ---- */

int mk_realpath(const char *path, char *out, size_t len) {
    char buf[PATH_MAX];
    if (!realpath(path, buf)) return -errno;
    size_t n = strlen(buf);
    if (n + 1 > len) return -ENAMETOOLONG;
    memcpy(out, buf, n + 1);
    return (int)n;
}

int mk_open_below(const char *root_real, const char *path, mk_file_info *info) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    /* What was opened, symlinks followed: it must lie inside the root. */
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    size_t root_len = strlen(root_real);
    struct stat st;
    if (n < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    real[n] = 0;
    int inside = strncmp(real, root_real, root_len) == 0 &&
                 (real[root_len] == '/' || real[root_len] == 0 || (root_len == 1 && root_real[0] == '/'));
    if (!inside || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        close(fd);
        return -EACCES;
    }
    info->size = (uint64_t)st.st_size;
    info->mtime = (int64_t)st.st_mtime;
    info->inode = (uint64_t)st.st_ino;
    info->is_dir = S_ISDIR(st.st_mode) ? 1 : 0;
    return fd;
}

int mk_stat_path(const char *path, mk_file_info *info) {
    struct stat st;
    if (stat(path, &st) != 0) return -errno;
    info->size = (uint64_t)st.st_size;
    info->mtime = (int64_t)st.st_mtime;
    info->inode = (uint64_t)st.st_ino;
    info->is_dir = S_ISDIR(st.st_mode) ? 1 : 0;
    return 0;
}

int mk_dup(int fd) {
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return d < 0 ? -errno : d;
}

long mk_sendfile(int out_fd, int in_fd, uint64_t *offset, size_t count) {
    off_t off = (off_t)*offset;
    ssize_t n = sendfile(out_fd, in_fd, &off, count);
    if (n < 0) return -errno;
    *offset = (uint64_t)off;
    return n;
}

long mk_pread(int fd, void *buf, size_t len, uint64_t offset) {
    ssize_t n = pread(fd, buf, len, (off_t)offset);
    return n < 0 ? -errno : n;
}

void *mk_dir_open(int fd, int *err) {
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        *err = -errno;
        close(fd);
    }
    return d;
}

int mk_dir_read(void *dir, char *name, size_t len, mk_file_info *info) {
    DIR *d = dir;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) return errno ? -errno : 0;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        size_t n = strlen(e->d_name);
        if (n + 1 > len) continue;
        memcpy(name, e->d_name, n + 1);
        struct stat st;
        /* What a link leads to; a broken link (or one removed meanwhile) as itself. */
        if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            memset(&st, 0, sizeof st);
        }
        info->size = (uint64_t)st.st_size;
        info->mtime = (int64_t)st.st_mtime;
        info->inode = (uint64_t)st.st_ino;
        info->is_dir = S_ISDIR(st.st_mode) ? 1 : 0;
        return 1;
    }
}

void mk_dir_close(void *dir) {
    closedir(dir);
}
