"""Hostile-peer probes of issue 21's receive-waiter rules (commit bd7c262). Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/probe.py SCENARIO [SECONDS]

Starts echo-server on 127.0.0.1:0, runs the scenario's attacks for SECONDS (default 12),
and prints: fresh clients' waits (one every 0.5 s; failures named), honest clients'
outcomes, server CPU over the load (/proc/PID/stat), descriptors and RSS before and
after, and the server's /stats line."""
import os
import random
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import attacks  # noqa: E402
from attacks import Attack, _ws_open, paced, ws_frame  # noqa: E402
from conftest import BOARD, Server, board_profile, read_to_eof, rss_kb  # noqa: E402

PROFILE = board_profile()
BLOCK = int(PROFILE["BOARD_RECV_BUFFER"])
WINDOW = min(BLOCK, int(PROFILE["BOARD_SEND_BUFFER"]))
BLOCKS = int(PROFILE["BOARD_RECV_BUFFERS"])
MAXC = int(PROFILE["BOARD_MAX_CONNECTIONS"])
GRACE = int(PROFILE["BOARD_RECLAIM_GRACE_MS"]) / 1000


# ---- attacks ---------------------------------------------------------------------


def whole_head_trickle(port, count):
    """A whole POST head (Content-Length fits the block), then its body a byte a step."""
    return attacks.body_trickle(port, count, BLOCK // 2, pace=(0.3, 0.5))


def whole_head_fast_trickle(port, count):
    """As whole_head_trickle, a byte every 0.05-0.1 s: never idle for a shared grace."""
    return attacks.body_trickle(port, count, BLOCK // 2)


def ws_rolling_halves(port, count):
    """WebSockets that send the rest of a tiny frame and half the next every 0.3-0.5 s."""
    frame = ws_frame(1, b"hi")

    def opener(s):
        _ws_open(s)
        s.send(frame[:3])
    return paced(port, count, opener, lambda s: s.send(frame[3:] + frame[:3]))


def ws_whole_then_half(port, count):
    """WebSockets that send one whole tiny frame and half of the next, then nothing."""
    frame = ws_frame(1, b"hi")

    def opener(s):
        _ws_open(s)
        s.send(frame + frame[:3])
    return Attack(port, count, opener).start()


def junk(port, count, n, byte=b"a"):
    """`n` bytes with no end of head, then nothing."""
    data = byte * n
    return Attack(port, count, lambda s: s.send(data)).start()


def crlf_only(port, count, n):
    return junk(port, count, n, b"\r\n")


def edge_head(port, count, total):
    """A whole GET head `total` bytes long (one long header), then nothing."""
    base = b"GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n"
    pad = b"x" * (total - len(base))
    head = base[:-4] + pad + b"\r\n\r\n"
    return Attack(port, count, lambda s: s.send(head)).start()


def raw_tcp_close(port, count):
    """Connect, send a whole head, close at once (a churn of reset-like peers)."""
    def opener(s):
        s.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        s.close()
    return Attack(port, count, opener).start()


ATTACKS = {
    "stalled": lambda p, n: attacks.stalled_heads(p, n),
    "rolling": lambda p, n: attacks.rolling_half_units(p, n),
    "silent": lambda p, n: attacks.silent_connects(p, n),
    "wholetrickle": whole_head_trickle,
    "fasttrickle": whole_head_fast_trickle,
    "expect": attacks.expect_continue,
    "pipeline": attacks.pipeline_stall,
    "wsrolling": ws_rolling_halves,
    "wswhole": ws_whole_then_half,
    "junkwindow": lambda p, n: junk(p, n, WINDOW),
    "junkwindow-1": lambda p, n: junk(p, n, WINDOW - 1),
    "crlfwindow": lambda p, n: crlf_only(p, n, WINDOW),
    "crlfsmall": lambda p, n: crlf_only(p, n, 64),
    "edgehead": lambda p, n: edge_head(p, n, WINDOW - 8),
    "edgeheadover": lambda p, n: edge_head(p, n, WINDOW + 8),
    "none": lambda p, n: None,
    "wsflood": lambda p, n: attacks.ws_flood(p, n, ws_frame(2, b"z" * 100)),
}


# ---- honest clients ----------------------------------------------------------------


def fresh(port, timeout=10):
    """(seconds, None) for a 200 to GET /, else (seconds, what went wrong)."""
    start = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: fresh\r\nConnection: close\r\n\r\n")
            data = read_to_eof(s)
    except socket.timeout:
        return time.time() - start, "timeout"
    except OSError as e:
        return time.time() - start, type(e).__name__
    if not data:
        return time.time() - start, "closed"
    if not data.startswith(b"HTTP/1.1 200"):
        return time.time() - start, data.split(b"\r\n", 1)[0].decode()
    return time.time() - start, None


def two_segments(port, gap, timeout=10):
    """A head in two writes `gap` s apart: (seconds, None) or what went wrong."""
    head = b"GET / HTTP/1.1\r\nHost: honest\r\nConnection: close\r\n\r\n"
    start = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(head[:20])
            time.sleep(gap)
            s.sendall(head[20:])
            data = read_to_eof(s)
    except socket.timeout:
        return time.time() - start, "timeout"
    except OSError as e:
        return time.time() - start, type(e).__name__
    if not data:
        return time.time() - start, "closed"
    if not data.startswith(b"HTTP/1.1 200"):
        return time.time() - start, data.split(b"\r\n", 1)[0].decode()
    return time.time() - start, None


def slow_upload(port, size, pieces, gap, timeout=15):
    """A POST whose body comes in `pieces` writes `gap` s apart; echoed back whole?"""
    body = bytes(random.Random(size).randrange(256) for _ in range(size))
    head = b"POST /up HTTP/1.1\r\nHost: up\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % size
    start = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(head)
            step = -(-size // pieces)
            for i in range(0, size, step):
                time.sleep(gap)
                s.sendall(body[i:i + step])
            data = read_to_eof(s)
    except socket.timeout:
        return time.time() - start, "timeout"
    except OSError as e:
        return time.time() - start, type(e).__name__
    if not data.startswith(b"HTTP/1.1 200"):
        return time.time() - start, (data.split(b"\r\n", 1)[0].decode() or "closed")
    return time.time() - start, None if data.endswith(body) else "body differs"


def ws_connect(port, path=b"/ws"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c:
            raise OSError("closed during upgrade")
        head += c
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def ws_roundtrip(s, text=b"ping", timeout=10):
    """Sends a text message, returns the payload of the first answer (or what failed)."""
    try:
        s.settimeout(timeout)
        s.sendall(ws_frame(1, text))
        got = b""
        while len(got) < 2 or len(got) < 2 + (got[1] & 0x7F):
            c = s.recv(4096)
            if not c:
                return "closed"
            got += c
        payload = got[2:2 + (got[1] & 0x7F)]
        return payload if payload == b"Echo: " + text else got
    except OSError as e:
        return type(e).__name__


def ws_stream_message(port, size, piece, gap, timeout=15):
    """On a plain-echo path (streamed pieces), one binary message of `size` bytes sent
    `piece` bytes at a time `gap` s apart; True when all of it comes back."""
    payload = bytes(random.Random(size).randrange(256) for _ in range(size))
    header = bytes([0x82, 0x80 | 127]) + size.to_bytes(8, "big") + b"\0\0\0\0"
    start = time.time()
    try:
        s = ws_connect(port, b"/plain")
    except OSError as e:
        return 0, "upgrade " + type(e).__name__
    got = bytearray()
    stop = threading.Event()

    def reader():
        s.settimeout(timeout)
        try:
            while not stop.is_set():
                c = s.recv(65536)
                if not c:
                    return
                got.extend(c)
        except OSError:
            pass
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        s.sendall(header)
        for i in range(0, size, piece):
            s.sendall(payload[i:i + piece])
            time.sleep(gap)
    except OSError as e:
        s.close()
        return time.time() - start, "send " + type(e).__name__
    deadline = time.time() + timeout
    while time.time() < deadline and not ws_payload_complete(got, size):
        time.sleep(0.05)
    stop.set()
    s.close()
    ok = ws_payload(got) == payload
    return time.time() - start, None if ok else f"echoed {len(ws_payload(got))}/{size}"


def ws_payload(data):
    """Concatenated payloads of the unmasked frames in data."""
    out, i = bytearray(), 0
    while i + 2 <= len(data):
        n = data[i + 1] & 0x7F
        h = 2
        if n == 126:
            n, h = int.from_bytes(data[i + 2:i + 4], "big"), 4
        elif n == 127:
            n, h = int.from_bytes(data[i + 2:i + 10], "big"), 10
        if i + h + n > len(data):
            out += data[i + h:]
            break
        out += data[i + h:i + h + n]
        i += h + n
    return bytes(out)


def ws_payload_complete(data, size):
    return len(ws_payload(data)) >= size


# ---- measurement -------------------------------------------------------------------


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def stats(port):
    try:
        return attacks.stats(port).strip()
    except OSError as e:
        return f"(stats failed: {e})"


def summarize(name, results):
    ok = [w for w, err in results if err is None]
    bad = [err for _, err in results if err is not None]
    line = f"  {name}: {len(ok)}/{len(results)} ok"
    if ok:
        ok.sort()
        line += f", wait median {ok[len(ok) // 2]:.2f} s max {ok[-1]:.2f} s"
    if bad:
        kinds = {}
        for b in bad:
            kinds[b] = kinds.get(b, 0) + 1
        line += f", failures {kinds}"
    print(line, flush=True)


def run(scenario, seconds, extra_args=()):
    names = scenario.split("+")
    server = Server("echo-server", "--listen", "http://127.0.0.1:0", *extra_args)
    port = server.port()
    pid = server.proc.pid
    time.sleep(0.5)
    fds0, rss0 = server.settled_fds(), rss_kb(pid)
    honest_ws = [ws_connect(port) for _ in range(4)]
    print(f"{BOARD} {scenario}: window {WINDOW}, blocks {BLOCKS}, table {MAXC}; fds {fds0}, RSS {rss0} kB", flush=True)
    running = []
    for name in names:
        count = MAXC + 10 if not name.endswith("@blocks") else BLOCKS + 10
        a = ATTACKS[name.split("@")[0]](port, count)
        if a:
            running.append(a)
    time.sleep(1.5)
    t0, c0 = time.time(), cpu_ticks(pid)
    fresh_r, seg_r, seg2_r, up_r, wss_r = [], [], [], [], []
    lock = threading.Lock()

    def loop(fn, out, period):
        while time.time() - t0 < seconds:
            r = fn()
            with lock:
                out.append(r)
            time.sleep(period)
    threads = [threading.Thread(target=loop, args=a, daemon=True) for a in (
        (lambda: fresh(port), fresh_r, 0.5),
        (lambda: two_segments(port, 0.05), seg_r, 0.5),
        (lambda: two_segments(port, 0.3), seg2_r, 0.5),
        (lambda: slow_upload(port, BLOCK // 2, 4, 0.2), up_r, 0.5),
        (lambda: ws_stream_message(port, 4 * BLOCK, 2048, 0.02), wss_r, 0.5),
    )]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, c1 = time.time() - t0, cpu_ticks(pid)
    figures = stats(port)
    reopened = sum(a.reopened for a in running)
    for a in running:
        a.stop()
    ws_after = [ws_roundtrip(s) for s in honest_ws]
    for s in honest_ws:
        s.close()
    time.sleep(1)
    fds1, rss1 = server.settled_fds(), rss_kb(pid)
    print(f"  load {elapsed:.1f} s: server CPU {(c1 - c0) / os.sysconf('SC_CLK_TCK') / elapsed * 100:.0f} %,"
          f" attackers reopened {reopened} ({reopened / elapsed:.0f}/s)")
    summarize("fresh GET", fresh_r)
    summarize("head in 2 writes 50 ms apart", seg_r)
    summarize("head in 2 writes 300 ms apart", seg2_r)
    summarize(f"POST {BLOCK // 2} B in 4 writes 0.2 s apart", up_r)
    summarize(f"WS {4 * BLOCK} B message streamed 2 KiB/20 ms", wss_r)
    print(f"  idle WebSockets opened before: {ws_after}")
    print(f"  stats during: {figures}")
    print(f"  fds {fds0} -> {fds1}, RSS {rss0} -> {rss1} kB; alive {server.alive()}", flush=True)
    server.stop()


if __name__ == "__main__":
    run(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 12, tuple(sys.argv[3:]))
