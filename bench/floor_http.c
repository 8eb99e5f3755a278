/* The bare C floor for CPU per HTTP request (issue 13): level-triggered epoll, one read
 * and one write per request, no parsing beyond finding the end of each request head.
 * It answers every request with the bytes of a file (a whole response, head and body,
 * taken from the server it is compared with), so both sides send the same bytes.
 *   floor_http PORT RESPONSE_FILE
 * Written here for the benchmark; not a server anyone should deploy. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor_http PORT RESPONSE_FILE\n"); return 2; }
    static char response[65536];
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    size_t rlen = fread(response, 1, sizeof response, f);
    fclose(f);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1024)) { perror("listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l }, evs[64];
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    static char buf[16384];
    static char out[64 * 65536 / 64];   /* answers to the requests of one read */
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int c;
                while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) { close(fd); continue; }
            /* One answer per request head in this read (wrk sends whole heads). */
            size_t answers = 0;
            for (ssize_t k = 3; k < r; k++)
                if (buf[k] == '\n' && buf[k - 1] == '\r' && buf[k - 2] == '\n' && buf[k - 3] == '\r') answers++;
            size_t len = 0;
            for (size_t k = 0; k < answers && len + rlen <= sizeof out; k++) { memcpy(out + len, response, rlen); len += rlen; }
            if (len && write(fd, out, len) < 0) close(fd);
        }
    }
}
