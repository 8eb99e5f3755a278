"""Attacks on the fixed pools (issue 7), shared by the tests and `make bench`. Each runs
in a thread against 127.0.0.1 until stopped, reopening every connection the server
closes, while the caller measures how long a fresh client waits for an answer."""
import random
import select
import socket
import threading
import time

from conftest import read_to_eof


class Attack:
    def __init__(self, port, count, opener, feeder=None):
        self.port, self.count = port, count
        self.opener, self.feeder = opener, feeder
        self.socks = []
        self.reopened = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5)
        s.connect(("127.0.0.1", self.port))
        s.setblocking(False)
        self.opener(s)
        return s

    def start(self):
        self.socks = [self._open() for _ in range(self.count)]
        self.thread.start()
        return self

    def _closed(self, s):
        """Whether the server has closed it (its FIN or reset), even with unread data."""
        p = select.poll()
        p.register(s, select.POLLRDHUP)
        return any(ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))

    def _run(self):
        while not self.stopping.is_set():
            for i, s in enumerate(self.socks):
                if s.fileno() < 0 or self._closed(s):
                    s.close()
                    try:
                        self.socks[i] = self._open()
                        self.reopened += 1
                    except OSError:
                        pass
                elif self.feeder:
                    self.feeder(s)
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def stalled_heads(port, count):
    """Receive-pool stall: every connection sends half a request head and stops."""
    return Attack(port, count, lambda s: s.send(b"GET / HTTP/1.1\r\nHost: a\r\n")).start()


def expect_continue(port, count):
    """Whole-head stall (issue 21): a whole head with Expect: 100-continue; the body
    never comes."""
    head = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n"
    return Attack(port, count, lambda s: s.send(head)).start()


def pipeline_stall(port, count):
    """Whole-head stall (issue 21): a whole request and the first bytes of the next,
    then nothing."""
    data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HT"
    return Attack(port, count, lambda s: s.send(data)).start()


def fresh_outcome(port, timeout=10, rtt=0):
    """A fresh GET /: "200", "503", or how it failed (a reset, a close with no answer,
    a timeout). `rtt` s pass between the handshake and the request, as on a network."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            time.sleep(rtt)
            s.sendall(b"GET / HTTP/1.1\r\nHost: fresh\r\nConnection: close\r\n\r\n")
            data = read_to_eof(s)
    except OSError as e:
        return type(e).__name__
    return data[9:12].decode() if data.startswith(b"HTTP/1.1 ") else "closed"


def pipelined_posts(port, count, body_size):
    """Send-pool lockout: every connection pipelines POSTs (echoed back) for as long as
    the server takes them, and never reads."""
    request = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (body_size, b"b" * body_size)
    burst = request * 8

    def feed(s):
        try:
            s.send(burst)
        except (BlockingIOError, OSError):
            pass
    return Attack(port, count, feed, feed).start()


def stats(port):
    """echo-server's GET /stats line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /stats HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
        data = read_to_eof(s)
    return data.split(b"\r\n\r\n", 1)[1].decode()


def fresh_wait(port, timeout=30):
    """Seconds a fresh client waits for the answer to GET / (raises if none comes)."""
    start = time.time()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: fresh\r\nConnection: close\r\n\r\n")
        data = read_to_eof(s)
    if not data.startswith(b"HTTP/1.1 200"):
        raise AssertionError(f"fresh client got {data[:60]!r}")
    return time.time() - start


def paced(port, count, opener, step, pace=(0.3, 0.5), seed=21):
    """Opens with `opener`, then every `pace` seconds (drawn at random) calls
    step(sock); answers are read and dropped (the send side stays clear)."""
    rng = random.Random(seed)
    due = {}

    def open_(s):
        opener(s)
        due[s] = time.time() + rng.uniform(*pace)

    def feed(s):
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        if time.time() >= due.get(s, 0):
            due[s] = time.time() + rng.uniform(*pace)
            try:
                step(s)
            except OSError:
                pass
    return Attack(port, count, open_, feed).start()


def rolling_half_units(port, count, unit=b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", lead=3, pace=(0.3, 0.5)):
    """Receive-pool hold (issue 21): every 0.3-0.5 s each connection sends the rest of
    its current request and the first `lead` bytes of the next, so it always holds a
    receive block while none of its requests is ever older than 0.5 s."""
    return paced(port, count, lambda s: s.send(unit[:lead]), lambda s: s.send(unit[lead:] + unit[:lead]), pace)


def body_trickle(port, count, body_size, pace=(0.05, 0.1)):
    """Receive-pool hold (issue 21): a whole POST head, then its body a byte every
    0.05-0.1 s: never quiet for long, yet a few dozen bytes a second."""
    head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % body_size
    return paced(port, count, lambda s: s.send(head), lambda s: s.send(b"b"), pace)


def body_at_rate(port, count, size, rate, first=0, step=0.1):
    """Receive-pool hold (attack21): a whole POST head with a `size`-byte body, `first`
    bytes of it at once, the rest at `rate` bytes a second (every `step` s, also while
    it waits for a block); a new request when one is done. Just over
    BOARD_RECLAIM_MIN_RATE, such a peer is never below the floor."""
    head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size
    left = {}

    def opener(s):
        s.send(head + b"b" * first)
        left[s] = size - first

    def feed(s):
        n = min(left.get(s, 0), max(1, int(rate * step)))
        if n == 0:   # done: the echo came back (read and dropped by paced); again
            opener(s)
            return
        s.send(b"b" * n)
        left[s] -= n
    return paced(port, count, opener, feed, pace=(step, step))


def silent_connects(port, count):
    """Table hold (issue 21): connections that send nothing at all."""
    return Attack(port, count, lambda s: None).start()


def _ws_open(s):
    """Upgrades a fresh attack socket to a WebSocket (blocking for the handshake)."""
    s.setblocking(True)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    s.setblocking(False)


def ws_frame(opcode, payload):
    """A masked client frame (mask 0: the payload goes as it is)."""
    n = len(payload)
    length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return bytes([0x80 | opcode]) + length + b"\0\0\0\0" + payload


def ws_flood(port, count, frame, burst=16):
    """Full-speed flood (issue 21, item 7): WebSocket clients that send `frame` as fast
    as the server takes it and never read."""
    data = frame * burst

    def feed(s):
        try:
            s.send(data)
        except OSError:
            pass
    return Attack(port, count, _ws_open, feed).start()
