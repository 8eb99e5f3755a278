"""HTTP/1.1 behaviour of the firmware echo-server, seen by real clients: curl,
Python's http.client, and raw sockets for what no polite client sends."""
import http.client
import os
import socket
import subprocess
import time

import pytest

from conftest import RUNNER, SLOW, RawClient


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", str(int(20 * SLOW)), *args],
                          capture_output=True, check=True).stdout


def test_page_at_root(echo):
    body = curl(f"http://127.0.0.1:{echo.port()}/")
    assert b"<h1>Meerkat</h1>" in body


def test_echo_post_with_curl(echo):
    assert curl("--data-binary", "hello board", f"http://127.0.0.1:{echo.port()}/echo") == b"hello board"


def test_ipv6_listener(echo):
    assert curl("--data-binary", "over v6", f"http://[::1]:{echo.port(1)}/x") == b"over v6"


def test_body_with_nul_bytes_and_exact_length(echo):
    payload = bytes(range(256)) * 8
    conn = http.client.HTTPConnection("127.0.0.1", echo.port(), timeout=10 * SLOW)
    conn.request("POST", "/bin", body=payload)
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("Content-Length") == str(len(payload))
    assert r.read() == payload


def test_head_has_length_but_no_body(echo):
    c = RawClient(echo.connect())
    c.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = c.response(head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0 and body == b""
    # Had the HEAD reply carried a body, the GET's status line would not come next.
    status, headers, body = c.response()
    assert status == 200 and body.endswith(b"</html>\n")
    c.close()


def test_1000_keepalive_requests_on_one_connection(echo):
    conn = http.client.HTTPConnection("127.0.0.1", echo.port(), timeout=10 * SLOW)
    conn.connect()
    local = conn.sock.getsockname()
    for i in range(1000):
        body = f"request {i}".encode()
        conn.request("POST", "/k", body=body)
        r = conn.getresponse()
        assert r.status == 200 and r.read() == body
    assert conn.sock.getsockname() == local, "the connection was replaced"
    conn.close()


def test_three_pipelined_requests_in_one_write(echo):
    c = RawClient(echo.connect())
    reqs = b"".join(
        b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(w), w)
        for w in (b"one", b"two", b"three"))
    c.send(reqs)
    assert [c.response()[2] for _ in range(3)] == [b"one", b"two", b"three"]
    c.close()


def test_chunked_request_body_is_decoded(echo):
    c = RawClient(echo.connect())
    c.send(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: yes\r\n\r\n")
    status, headers, body = c.response()
    assert (status, body) == (200, b"hello, world")
    c.close()


def test_expect_100_continue(echo):
    payload = b"x" * 4000
    out = subprocess.run(["curl", "-sS", "-v", "-H", "Expect: 100-continue", "--data-binary", "@-",
                          f"http://127.0.0.1:{echo.port()}/e"], input=payload, capture_output=True,
                         check=True)
    assert out.stdout == payload
    assert b"100 Continue" in out.stderr


def test_http10_closes_unless_keepalive(echo):
    c = RawClient(echo.connect())
    c.final_response(b"GET / HTTP/1.0\r\n\r\n", 200)
    c.close()
    c = RawClient(echo.connect())
    c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    status, headers, _ = c.response()
    assert headers.get("connection") == "keep-alive"
    c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert c.response()[0] == 200
    c.close()


def test_connection_close_is_honoured(echo):
    c = RawClient(echo.connect())
    c.final_response(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200)
    c.close()


BAD_INPUTS = [
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ("bare CR in request line", b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    ("bare CR in header", b"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400),
    ("NUL in header value", b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    ("bad Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12a\r\n\r\n", 400),
    ("negative Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("two different Content-Lengths", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    ("Content-Length with Transfer-Encoding",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("unknown transfer coding", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ("missing Host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("HTTP/2.0 line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("no version", b"GET /\r\nHost: x\r\n\r\n", 400),
    ("URI too long", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("headers too large", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Fill: " + b"f" * 20000 + b"\r\n\r\n", 431),
    ("too many header lines", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(100)) + b"\r\n", 431),
    ("body over the limit", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc", 413),
]

# Numbers around 2^31, 2^32, 2^63 and 2^64 (issue 6: on a 32-bit board these trapped,
# segfaulted or wrapped). Every board must answer 413 when the value is well-formed but
# too large, and 400 when it is not a number at all.
_CL = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\nabc"
_TE = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nhello\r\n0\r\n\r\n"
BAD_INPUTS += [(f"Content-Length {v.decode()!r}", _CL % v, 413) for v in [
    b"2147483647", b"2147483648", b"4294967295", b"4294967296", b"99999999999",
    b"9223372036854775807", b"9223372036854775808", b"18446744073709551615",
    b"18446744073709551616", b"99999999999999999999", b"0000000000000000000004294967296",
    b" \t4294967296\t ", b"0000000000000000000000000000000000000000000018446744073709551616",
]]
BAD_INPUTS += [(f"Content-Length {v.decode()!r}", _CL % v, 400) for v in [
    b"0x80000000", b"-2147483648", b"+4294967296", b"4294967296 5", b"2147483648.0",
    b"4294967301\r\nContent-Length: 5",   # 2^32+5 beside 5: a wrap would make them agree
]]
BAD_INPUTS += [(f"chunk size {v.decode()!r}", _TE % v, 413) for v in [
    b"7fffffff", b"80000000", b"FFFFFFFF", b"100000000", b"100000005", b"100000005;ext=1",
    b"7fffffffffffffff", b"8000000000000000", b"ffffffffffffffff", b"10000000000000000",
    b"10000000000000005", b"0000000000000000000100000005",
]]
BAD_INPUTS += [(f"chunk size {v.decode()!r}", _TE % v, 400) for v in [b"0x80000000", b"-80000000"]]
BAD_INPUTS += [
    ("junk after chunk size", _TE % b"5 junk", 400),
    ("trailer line without colon",
     b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nNoColon\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,data,status", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gets_its_answer_and_server_keeps_serving(echo, name, data, status):
    other = RawClient(echo.connect())       # an innocent connection opened before
    c = RawClient(echo.connect())
    c.final_response(data, status)
    c.close()
    other.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
    assert other.response()[2] == b"ok"
    other.close()


def test_bad_inputs_leak_no_descriptors(echo):
    before = echo.settled_fds()
    for _ in range(5):
        for _, data, _ in BAD_INPUTS:
            c = RawClient(echo.connect())
            c.send(data)
            c.response()
            c.closed_by_peer()
            c.close()
    assert echo.settled_fds() == before


def test_table_full_gets_503_and_others_keep_working(start_server):
    s = start_server("echo-server", "--max-connections", "4")
    held = [RawClient(s.connect()) for _ in range(4)]
    for h in held:   # make sure all four are accepted and served
        h.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nA")
        assert h.response()[2] == b"A"
    extra = RawClient(s.connect())
    extra.final_response(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 503)
    extra.close()
    for i, h in enumerate(held):
        h.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d" % i)
        assert h.response()[2] == b"%d" % i
    held[0].close()
    # A slot came free: a new connection is served again.
    deadline = time.time() + 10 * SLOW
    while True:
        c = RawClient(s.connect())
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
        status = c.response()[0]
        c.close()
        if status == 200 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert status == 200


def test_slowloris_closed_by_header_timeout(start_server):
    s = start_server("echo-server", "--header-timeout-ms", "500")
    slow = RawClient(s.connect())
    started = time.time()
    slow.send(b"GET / HTTP/1.1\r\n")
    closed = False
    for i in range(60):
        try:
            slow.send(b"X-%d: y\r\n" % i)      # keeps the connection busy, never finishes
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        slow.sock.settimeout(0.1)
        try:
            if slow.sock.recv(100) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
            break
    assert closed, "slow client was never closed"
    assert time.time() - started < 5 * SLOW
    c = RawClient(s.connect())
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[0] == 200
    c.close()


def test_idle_keepalive_connection_closed(start_server):
    s = start_server("echo-server", "--idle-timeout-ms", "300")
    c = RawClient(s.connect())
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[0] == 200
    assert c.closed_by_peer(timeout=5)
    c.close()


def test_idle_sse_stream_gets_heartbeats_and_stays_open(start_server):
    # Issue 22: an event stream the app has nothing to say on gets a comment line every
    # ping interval (idle / 2) instead of being cut at the idle timeout.
    idle_ms = 1500
    s = start_server("echo-server", "--idle-timeout-ms", str(idle_ms))
    c = s.connect()
    c.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    deadline = time.time() + 3 * idle_ms / 1000
    while (left := deadline - time.time()) > 0:
        c.settimeout(left)
        try:
            chunk = c.recv(4096)
        except socket.timeout:
            break
        assert chunk, f"stream closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Type: text/event-stream" in head
    assert b"event: hello\ndata: 1\n\n" in body
    assert body.count(b":\n\n") >= 2                  # the heartbeats, one chunk each
    c.close()


def test_large_body_streamed_in_many_writes(echo):
    # A body that fits the receive buffer but arrives in many small writes.
    c = RawClient(echo.connect())
    body = b"0123456789" * 600   # fits the smallest board's 8 KiB receive block
    c.send(b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
    for i in range(0, len(body), 700):
        c.send(body[i:i + 700])
        time.sleep(0.001)
    assert c.response()[2] == body
    c.close()


@pytest.mark.skipif(RUNNER != [], reason="LD_PRELOAD counter is for the host build (qemu runs a foreign libc)")
def test_zero_allocations_per_request_after_warmup(counted_server):
    s, count = counted_server

    c = RawClient(s.connect())
    get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    post = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    for _ in range(100):        # warm-up
        c.send(get); c.response()
        c.send(post); c.response()
    before = count()
    for _ in range(5000):
        c.send(get); assert c.response()[0] == 200
        c.send(post); assert c.response()[2] == b"hello"
    after = count()
    c.close()
    print(f"allocations during 10,000 keep-alive requests: {after - before}")
    assert after - before == 0


def test_out_of_descriptors_does_not_spin_and_recovers():
    import resource
    import subprocess as sp
    from conftest import BIN

    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    cmd = RUNNER + [os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:0"]
    proc = sp.Popen(cmd, stdout=sp.PIPE, stderr=sp.STDOUT, preexec_fn=low_fd_limit)
    try:
        port = int(proc.stdout.readline().decode().rsplit(":", 1)[1])
        socks = []
        for _ in range(100):   # more than the process may open
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW))
        cpu = lambda: sum(int(x) for x in open(f"/proc/{proc.pid}/stat").read().split()[13:15])
        time.sleep(0.5)
        before = cpu()
        time.sleep(2)
        used_ticks = cpu() - before
        assert used_ticks < 100, f"server spun on a full descriptor table: {used_ticks} ticks in 2 s"
        for c in socks:
            c.close()
        deadline = time.time() + 10 * SLOW
        while True:
            try:
                c = RawClient(socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW))
                c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nback")
                r = c.response(timeout=2)
                c.close()
                if r and r[2] == b"back":
                    break
            except OSError:
                pass
            assert time.time() < deadline, "server did not recover after descriptors came free"
            time.sleep(0.2)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.timing   # a client slow to read its answer past the 1 s reclaim grace is reset
def test_many_clients_share_a_tiny_buffer_pool(start_server):
    """64 clients at once, 4 receive and 4 send blocks: readers wait for a block
    (back-pressure), nobody is refused, nothing is lost or mixed up."""
    import threading
    s = start_server("echo-server", "--buffers", "4")
    failures = []

    def client(n):
        try:
            c = RawClient(s.connect(timeout=30))
            for i in range(20):
                body = (b"client %d request %d " % (n, i)) * 50
                c.send(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
                c.send(body)
                r = c.response(timeout=30)
                if r is None or r[2] != body:
                    failures.append((n, i, r and r[0]))
                    return
            c.close()
        except Exception as e:   # noqa: BLE001 - collected and asserted below
            failures.append((n, repr(e)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120 * SLOW)
    assert not failures, failures[:5]
    assert s.alive()


def test_trickled_body_closed_by_the_request_timeout(start_server):
    s = start_server("echo-server", "--header-timeout-ms", "500")
    c = RawClient(s.connect())
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    started = time.time()
    closed = False
    for _ in range(50):
        try:
            c.send(b"x")                 # one byte every 100 ms keeps it "active"
            c.sock.settimeout(0.1)
            if c.sock.recv(100) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    assert closed and time.time() - started < 5 * SLOW
