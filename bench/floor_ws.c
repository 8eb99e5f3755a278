/* The bare C floor for CPU per WebSocket echo (issue 13): level-triggered epoll; the
 * upgrade answered with the accept key; then each read's frames (client frames, masked)
 * are unmasked and sent back unmasked in one write. No fragmentation, no control frames
 * beyond close, no UTF-8 check: the least a WebSocket echo can do.
 *   floor_ws PORT
 * Written here for the benchmark; not a server anyone should deploy. */
#define _GNU_SOURCE
#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
static unsigned char upgraded[MAXFD];

static void upgrade(int fd, char *req, ssize_t n) {
    req[n] = 0;
    char *key = strcasestr(req, "Sec-WebSocket-Key:");
    if (!key) { close(fd); return; }
    key += 18;
    while (*key == ' ') key++;
    char *end = strstr(key, "\r\n");
    if (!end) { close(fd); return; }
    char text[128];
    int klen = (int)(end - key);
    snprintf(text, sizeof text, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", klen, key);
    unsigned char digest[20], accept[64];
    size_t alen = 0;
    mbedtls_sha1_ret((unsigned char *)text, strlen(text), digest);
    mbedtls_base64_encode(accept, sizeof accept, &alen, digest, 20);
    char out[256];
    int len = snprintf(out, sizeof out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %.*s\r\n\r\n", (int)alen, accept);
    if (write(fd, out, len) != len) { close(fd); return; }
    upgraded[fd] = 1;
}

static void echo(int fd, unsigned char *in, ssize_t n) {
    static unsigned char out[65536 + 64];
    size_t len = 0;
    ssize_t at = 0;
    while (at + 2 <= n) {
        int op = in[at] & 0x0F;
        uint64_t plen = in[at + 1] & 0x7F;
        ssize_t h = 2;
        if (plen == 126) { plen = (uint64_t)in[at + 2] << 8 | in[at + 3]; h = 4; }
        else if (plen == 127) { close(fd); upgraded[fd] = 0; return; }
        unsigned char *mask = in + at + h;
        unsigned char *p = mask + 4;
        if (at + h + 4 + (ssize_t)plen > n || len + plen + 4 > sizeof out) break;   /* whole frames only */
        if (op == 8) { close(fd); upgraded[fd] = 0; return; }
        out[len++] = 0x80 | op;
        if (plen < 126) out[len++] = (unsigned char)plen;
        else { out[len++] = 126; out[len++] = plen >> 8; out[len++] = plen & 0xFF; }
        for (uint64_t k = 0; k < plen; k++) out[len + k] = p[k] ^ mask[k & 3];
        len += plen;
        at += h + 4 + plen;
    }
    if (len && write(fd, out, len) < 0) { close(fd); upgraded[fd] = 0; }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: floor_ws PORT\n"); return 2; }
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1024)) { perror("listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l }, evs[64];
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    static unsigned char buf[65536 + 1];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int c;
                while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAXFD) { close(c); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    upgraded[c] = 0;
                    struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf - 1);
            if (r <= 0) { close(fd); upgraded[fd] = 0; continue; }
            if (upgraded[fd]) echo(fd, buf, r); else upgrade(fd, (char *)buf, r);
        }
    }
}
