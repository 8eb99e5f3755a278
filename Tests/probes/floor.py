"""Attacks on the byte-rate floor and the re-peek (issue 21 review, branch attack21): peers
that just beat `Limits.reclaimMinRate`, game the rate since taking the block, trickle
WebSocket frames, or read their answers slowly. Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/floor.py ATTACK COUNT [SECONDS]

ATTACK is `rate:R` (a whole POST head, then its body at R bytes a second, 0.1 s steps),
`burst:R` (a whole head and most of a block-sized body at once, then R bytes a second:
the rate since taking the block stays high long after), `pause:N:GAP` (N bytes every GAP
seconds), `wsrate:R` (a WebSocket frame's header, then its payload at R bytes a second),
`slowread:R` (pipelined echo POSTs, answers read at R bytes a second), `neverread`
(pipelined echo POSTs, never read), `silentmix` (half silent connects, half `rate:600`)
or a probe.py name; `a*N+b*M` runs two, N and M connections. Prints a fresh GET every
0.25 s (answered within 2 s, of N; the worst wait), the server's CPU and /stats; with
FLOOR_LOG=FILE the server's debug log (evictions) goes to FILE."""
import os
import sys
import threading
import time

import probe  # first: puts Tests/integration on the path

import attacks
from attacks import _ws_open, paced
from conftest import BOARD, Server

HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"


def body_at(port, count, rate, first=0):
    return attacks.body_at_rate(port, count, probe.BLOCK - 200, rate, first)


def body_or(port, count, n, gap):
    """Whole POST heads, then `n` body bytes at once every `gap` seconds."""
    size = probe.BLOCK - 200
    left = {}

    def opener(s):
        s.send(HEAD % size)
        left[s] = size

    def feed(s):
        k = min(left.get(s, 0), n)
        if k == 0:
            opener(s)
            return
        s.send(b"b" * k)
        left[s] -= k
    return paced(port, count, opener, feed, pace=(gap, gap))


def ws_payload_at(port, count, rate, step=0.1):
    """WebSockets that send a binary frame's header, then its payload at `rate` B/s."""
    size = probe.BLOCK - 200
    header = bytes([0x82, 0x80 | 126]) + size.to_bytes(2, "big") + b"\0\0\0\0"
    left = {}

    def opener(s):
        _ws_open(s)
        s.send(header)
        left[s] = size

    def feed(s):
        n = min(left.get(s, 0), max(1, int(rate * step)))
        if n == 0:
            s.send(header)
            left[s] = size
            return
        s.send(b"z" * n)
        left[s] -= n
    return paced(port, count, opener, feed, pace=(step, step))


def slow_reader(port, count, rate, step=0.1):
    """Pipelined echo POSTs of most of a block, answers read `rate` bytes a second."""
    size = probe.BLOCK - 200
    req = HEAD % size + b"p" * size

    def opener(s):
        for _ in range(4):
            try:
                s.send(req)
            except OSError:
                break

    def feed(s):
        try:
            s.recv(max(1, int(rate * step)))
        except OSError:
            pass
        try:
            s.send(req)
        except OSError:
            pass
    return attacks.Attack(port, count, opener, feed).start()


def start(names, port, count):
    """`a+b`: both attacks; `a*N`: N connections for that one instead of COUNT."""
    out = []
    for name in names.split("+"):
        name, _, n = name.partition("*")
        out += start_one(name, port, int(n) if n else count)
    return out


def start_one(name, port, count):
    kind, _, arg = name.partition(":")
    if kind == "rate":
        return [body_at(port, count, float(arg))]
    if kind == "burst":
        return [body_at(port, count, float(arg), first=probe.BLOCK - 400)]
    if kind == "pause":
        n, gap = arg.split(":")
        return [body_or(port, count, int(n), float(gap))]
    if kind == "wsrate":
        return [ws_payload_at(port, count, float(arg))]
    if kind == "slowread":
        return [slow_reader(port, count, float(arg))]
    if kind == "neverread":
        return [attacks.pipelined_posts(port, count, probe.BLOCK - 200)]
    if kind == "silentmix":
        return [attacks.silent_connects(port, count // 2), body_at(port, count - count // 2, 600)]
    return [a for a in [probe.ATTACKS[name](port, count)] if a]


def main():
    name, count = sys.argv[1], int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 15
    log = os.environ.get("FLOOR_LOG")
    server = Server("echo-server", "--listen", "http://127.0.0.1:0", *(("--log-level", "debug") if log else ()))
    if log:  # the server's debug lines, drained to a file so the pipe never fills
        def drain():
            with open(log, "wb") as f:
                for line in server.proc.stdout:
                    f.write(line)
        threading.Thread(target=drain, daemon=True).start()
    port, pid = server.port(), server.proc.pid
    running = start(name, port, count)
    time.sleep(probe.GRACE + 1.5)
    t0, c0 = time.time(), probe.cpu_ticks(pid)
    results = []
    lock = threading.Lock()

    def one():
        r = probe.fresh(port, timeout=10)
        with lock:
            results.append(r)
    threads = []
    while time.time() - t0 < seconds:
        t = threading.Thread(target=one, daemon=True)
        t.start()
        threads.append(t)
        time.sleep(0.25)
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    cpu = (probe.cpu_ticks(pid) - c0) / os.sysconf("SC_CLK_TCK")
    figures = probe.stats(port)
    reopened = sum(a.reopened for a in running)
    for a in running:
        a.stop()
    within = sum(1 for w, err in results if err is None and w < 2.0)
    print(f"{BOARD} {name} x{count}: fresh served within 2 s {within}/{len(results)};"
          f" server CPU {cpu:.1f} s in {elapsed:.0f} s; attackers reopened {reopened}", flush=True)
    probe.summarize("fresh GET", results)
    print(f"  stats: {figures}; alive {server.alive()}", flush=True)
    server.stop()


if __name__ == "__main__":
    main()
