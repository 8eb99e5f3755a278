"""SSE broadcast (issue 22 item 11): echo-server's POST /events sends its body as one
event to every open stream (`manager.sseBroadcast`), POST /events/<name> only to the
streams opened on that path; the streams are real clients (curl -N, raw sockets).
Every board (under qemu for ARM)."""
import json
import socket
import subprocess
import threading
import time

import pytest

from conftest import RUNNER, SLOW, RawClient


class Stream:
    """`curl -N` on an event stream; what it printed so far in `out`."""

    def __init__(self, port, path):
        self.proc = subprocess.Popen(["curl", "-sS", "-N", "--max-time", str(int(60 * SLOW)),
                                      f"http://127.0.0.1:{port}{path}"], stdout=subprocess.PIPE)
        self.out = b""
        threading.Thread(target=self.read, daemon=True).start()
        self.wait_for(b"event: hello\ndata: 1\n\n")

    def read(self):
        while data := self.proc.stdout.read1(65536):
            self.out += data

    def wait_for(self, text, timeout=10):
        deadline = time.time() + timeout * SLOW
        while text not in self.out:
            assert time.time() < deadline, f"{text!r} never came; got {self.out!r}"
            time.sleep(0.02)

    def close(self):
        self.proc.kill()
        self.proc.wait()


def broadcast(port, path, body):
    """POST body to path with curl: the answer, {"reached", "skipped"}."""
    out = subprocess.run(["curl", "-sS", "--max-time", str(int(30 * SLOW)), "--data-binary", "@-",
                          f"http://127.0.0.1:{port}{path}"], input=body, capture_output=True, check=True).stdout
    return json.loads(out)


def test_an_event_reaches_every_stream_or_those_on_one_path(start_server):
    s = start_server("echo-server")
    streams = [Stream(s.port(), p) for p in ("/events", "/events", "/events/kitchen")]
    try:
        assert broadcast(s.port(), "/events", b"to everyone\nsecond line") == {"reached": 3, "skipped": 0}
        for st in streams:
            st.wait_for(b"data: to everyone\ndata: second line\n\n")
        assert broadcast(s.port(), "/events/kitchen", b"kitchen only") == {"reached": 1, "skipped": 0}
        streams[2].wait_for(b"data: kitchen only\n\n")
        assert broadcast(s.port(), "/events/garage", b"nobody") == {"reached": 0, "skipped": 0}
        streams[0].close()   # a stream that went away is not counted
        time.sleep(0.3 * SLOW)
        assert broadcast(s.port(), "/events", b"after one left") == {"reached": 2, "skipped": 0}
        time.sleep(0.3 * SLOW)
        for st in streams[:2]:
            assert b"kitchen only" not in st.out and b"nobody" not in st.out
        assert s.alive()
    finally:
        for st in streams:
            st.close()


def test_a_stream_that_does_not_read_is_skipped_and_kept(start_server):
    """Back-pressure: a peer that stops reading misses events (counted as skipped); the
    others get every one, and the stuck one is still open and reads what reached it."""
    s = start_server("echo-server")
    reader = Stream(s.port(), "/events")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", s.port()))
    stuck.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    c = RawClient(s.connect())
    event = b"x" * 3000    # fits the smallest board's 8 KiB send block
    try:
        reached = skipped = sent = 0
        while skipped == 0:
            assert sent < 5000, "never skipped"
            c.send(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(event), event))
            answer = json.loads(c.response()[2])
            reached += answer["reached"]
            skipped += answer["skipped"]
            sent += 1
        assert reached + skipped == 2 * sent
        reader.wait_for(b"data: " + event + b"\n\n", timeout=20)
        deadline = time.time() + 20 * SLOW
        while reader.out.count(event) < sent:
            assert time.time() < deadline, f"the reader got {reader.out.count(event)} of {sent}"
            time.sleep(0.05)
        # The stuck stream was kept: it reads everything that reached it, then more.
        stuck.settimeout(10 * SLOW)
        got = b""
        while got.count(event) < reached - sent:
            data = stuck.recv(65536)
            assert data, "the stuck stream was closed"
            got += data
        c.send(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nlater")
        assert json.loads(c.response()[2]) == {"reached": 2, "skipped": 0}
        while b"data: later\n\n" not in got:
            data = stuck.recv(65536)
            assert data, "the stuck stream was closed"
            got += data
    finally:
        reader.close()
        stuck.close()
        c.close()


@pytest.mark.skipif(RUNNER != [], reason="LD_PRELOAD counter is for the host build (qemu runs a foreign libc)")
def test_a_broadcast_allocates_nothing(counted_server):
    s, count = counted_server
    streams = [Stream(s.port(), p) for p in ("/events", "/events", "/events/a")]
    c = RawClient(s.connect())

    def post(path, body):
        c.send(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (path, len(body), body))
        return json.loads(c.response()[2])

    try:
        for _ in range(20):   # warm-up
            post(b"/events", b"warm")
            post(b"/events/a", b"warm")
        before = count()
        for i in range(500):
            assert post(b"/events", b"event %d" % i)["reached"] == 3
            assert post(b"/events/a", b"for a %d" % i)["reached"] == 1
        assert count() - before == 0
        streams[2].wait_for(b"data: for a 499\n\n")
    finally:
        for st in streams:
            st.close()
        c.close()
