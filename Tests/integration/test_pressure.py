"""Issue 7: the fixed pools are no lockout lever. Attacks with the pool's block count
plus ten connections; a fresh client must be served within 2 s on every board, and the
server returns to its baseline (descriptors, memory) when the attackers leave."""
import os
import re
import signal
import socket
import threading
import time

import pytest

import attacks
from conftest import BOARD, SLOW, RawClient, board_profile, read_to_eof, rss_kb

# Every test here bounds a fresh client's wait (2 s, not scaled by SLOW): none runs beside
# another board's suite (make integration-all).
pytestmark = pytest.mark.timing

PROFILE = board_profile()
RECV_BLOCK = int(PROFILE["BOARD_RECV_BUFFER"])
BLOCKS = int(PROFILE["BOARD_RECV_BUFFERS"])
POST_BODY = 12000 if RECV_BLOCK >= 16384 else 5000


def run_attack(server, start_attack, pool, rounds=2):
    """Runs the attack `rounds` times; returns the fresh clients' waits. Checks that the
    attack emptied `pool` ("recv" or "send"), that descriptors come back after each
    round, and that RSS does not grow round on round."""
    port = server.port()
    baseline_fds = server.settled_fds()
    waits, rss = [], []
    for _ in range(rounds):
        attack = start_attack(port)
        # Emptied: its fewest free blocks so far (the stats request may take the one
        # block reclaim frees, and evictions may free more before it is asked).
        emptied = re.compile(pool + r" \d+/\d+ lowest [01];")
        deadline = time.time() + 30 * SLOW
        while not emptied.search(figures := attacks.stats(port)) and time.time() < deadline:
            time.sleep(0.2)
        assert emptied.search(figures), f"the attack did not empty the {pool} pool: {figures}"
        for _ in range(3):
            waits.append(attacks.fresh_wait(port))
        attack.stop()
        assert server.settled_fds() == baseline_fds
        rss.append(rss_kb(server.proc.pid))
    assert server.alive()
    # The pools are allocated once: the first round touches their pages, later rounds
    # add nothing.
    assert rss[-1] <= rss[0] + 512, f"RSS grew: {rss} kB"
    return waits


def test_stalled_heads_do_not_lock_out_a_fresh_client(start_server):
    s = start_server("echo-server")
    waits = run_attack(s, lambda port: attacks.stalled_heads(port, BLOCKS + 10), "recv")
    print(f"{BOARD}: fresh client under stalled-head attack waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0


def test_pipelined_posts_that_never_read_do_not_lock_out_a_fresh_client(start_server):
    s = start_server("echo-server")
    waits = run_attack(s, lambda port: attacks.pipelined_posts(port, BLOCKS + 10, POST_BODY), "send")
    print(f"{BOARD}: fresh client under never-read attack waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0


def test_pipelining_client_that_reads_late_gets_every_answer_in_order(start_server):
    # Issue 7, item 3: device-app (the README example) and a client with a small
    # receive window that pipelines without reading.
    s = start_server("device-app")
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", s.port()))
    name = b"n" * 3000
    count = 2400
    requests = b"".join(b"GET /hello?name=%s%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % (name, i) for i in range(count))
    sender = threading.Thread(target=c.sendall, args=(requests,), daemon=True)
    sender.start()
    time.sleep(2 * SLOW)   # the pipeline backs up: nothing is read yet
    client = RawClient(c)
    for i in range(count):
        status, _, body = client.response(timeout=20)
        assert status == 200 and body == b"Hello, %s%d!\n" % (name, i), f"answer {i}"
    sender.join()
    c.close()


def test_echo_bodies_up_to_the_receive_block_come_back_whole(echo):
    head = b"P / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length:%d\r\n\r\n"
    largest = RECV_BLOCK - len(head % RECV_BLOCK)
    sizes = sorted({1, 2, 3, 100, 1000, 4095, 4096, 8000, 8192 - 80, 8192 - 60, largest - 1, largest,
                    int(PROFILE["BOARD_SEND_BUFFER"]) - 40, int(PROFILE["BOARD_SEND_BUFFER"]) - 30})
    c = RawClient(echo.connect())
    for n in (x for x in sizes if 0 < x <= largest):
        body = bytes((i * 7 + n) & 0xFF for i in range(n))
        c.send(head % n + body)
        status, _, got = c.response()
        assert status == 200 and got == body, f"{n} bytes"
    c.close()
    # One byte more than the block holds: 413.
    c = RawClient(echo.connect())
    c.final_response(head % (largest + 1) + b"x" * (largest + 1), 413)
    c.close()


def test_http10_expect_gets_no_100_continue(echo):
    c = RawClient(echo.connect())
    c.send(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    c.sock.settimeout(0.5 * SLOW)
    with pytest.raises(socket.timeout):
        c.sock.recv(100)
    c.send(b"hello")
    status, headers, body = c.response()
    assert (status, body) == (200, b"hello")
    c.close()


def test_rolling_half_requests_do_not_lock_out_a_fresh_client(start_server):
    # Issue 21, item 1: each attacker finishes its request and starts the next one in
    # the same write, every 0.3-0.5 s, so it always holds a receive block while no
    # request of its own is older than 0.5 s. The holders finishing least are the ones
    # evicted, and a fresh client is served within 2 s.
    s = start_server("echo-server")
    waits = run_attack(s, lambda port: attacks.rolling_half_units(port, BLOCKS + 10), "recv")
    print(f"{BOARD}: fresh client under rolling half-request attack waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0
    # Each fresh client (and each /stats request) took a block an attacker had held.
    evictions = int(re.search(r"evictions (\d+)", attacks.stats(s.port())).group(1))
    assert evictions >= len(waits), f"{evictions} evictions for {len(waits)} fresh clients"


MAX_CONNECTIONS = int(PROFILE["BOARD_MAX_CONNECTIONS"])
TLS_PAIRS = int(PROFILE["BOARD_TLS_BUFFER_PAIRS"])
GRACE = int(PROFILE["BOARD_RECLAIM_GRACE_MS"]) / 1000


def evictions(port):
    return int(re.search(r"evictions (\d+)", attacks.stats(port)).group(1))


def fresh_waits_during(server, attack):
    """Three fresh clients' waits while `attack` (started) goes on, past the grace."""
    try:
        time.sleep(GRACE + 0.5)
        return [attacks.fresh_wait(server.port()) for _ in range(3)]
    finally:
        attack.stop()


def fresh_outcomes_during(attack, count=12, rtt=0):
    """The outcomes of `count` fresh GETs 0.1 s apart while `attack` (started) goes on,
    past the grace (each request `rtt` s after its handshake)."""
    try:
        time.sleep(GRACE + 0.5)
        outcomes = []
        for _ in range(count):
            outcomes.append(attacks.fresh_outcome(attack.port, rtt=rtt))
            time.sleep(0.1)
        return outcomes
    finally:
        attack.stop()


def test_silent_connections_do_not_lock_out_a_fresh_client(start_server):
    # Issue 21, item 6: the table filled with connections that send nothing. The least
    # recently active silent one makes room for each newcomer (at once: a client sends
    # its request as it connects).
    s = start_server("echo-server")
    waits = fresh_waits_during(s, attacks.silent_connects(s.port(), MAX_CONNECTIONS + 10))
    print(f"{BOARD}: fresh client with the table full of silent connections waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0
    assert evictions(s.port()) >= len(waits)
    assert s.alive()


def test_a_table_of_half_heads_does_not_queue_a_fresh_client_behind_them(start_server):
    # Issue 21, review F3: more half-sent request heads than the table holds, each sent
    # again on a new connection when the server closes it. Most of them wait for a
    # receive block, and blocks come back only as fast as reclaim's grace allows; a
    # fresh client whose whole request is already there must not queue behind them.
    s = start_server("echo-server")
    waits = fresh_waits_during(s, attacks.stalled_heads(s.port(), MAX_CONNECTIONS + 10))
    print(f"{BOARD}: fresh client behind a table of half heads waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0
    assert s.alive()


@pytest.mark.parametrize("attack", ["expect_continue", "pipeline_stall"])
def test_whole_heads_that_stall_do_not_shut_out_fresh_clients(start_server, attack):
    # Issue 21, hole 1: more peers than the table holds each send a whole request head
    # and stall (the body of an Expect: 100-continue never comes; or a request and then
    # half the next). Each whole head queues for a receive block ahead of the fresh
    # client, and holders gave their blocks back only one grace after taking them: the
    # queue moved one pool per second (0 of 20 fresh GETs answered on rpi3-armhf).
    # Now a holder's grace is shared among all who wait: most fresh clients are served,
    # and the table-full rule gives the others a 503, never a reset or silence.
    s = start_server("echo-server")
    outcomes = fresh_outcomes_during(getattr(attacks, attack)(s.port(), MAX_CONNECTIONS + 10))
    print(f"{BOARD}: fresh GETs under {attack}: {outcomes}")
    assert set(outcomes) <= {"200", "503"}, outcomes
    assert outcomes.count("200") >= 3, outcomes
    assert s.alive()


def test_bodies_trickled_a_byte_at_a_time_do_not_shut_out_fresh_clients(start_server):
    # Issue 21, hole 1 (attack3): more peers than the table holds each send a whole POST
    # head, then a body byte every 50-100 ms. A holder was never quiet for its share of
    # the grace, so blocks came back one holder a grace, and the table stayed full of
    # attackers: 0 to 2 fresh GETs of 20 answered on rpi3-armhf and host. Under
    # pressure, a holder slower than BOARD_RECLAIM_MIN_RATE goes as a quiet one does.
    s = start_server("echo-server")
    outcomes = fresh_outcomes_during(attacks.body_trickle(s.port(), MAX_CONNECTIONS + 10, RECV_BLOCK // 2))
    print(f"{BOARD}: fresh GETs under a body trickle: {outcomes}")
    assert set(outcomes) <= {"200", "503"}, outcomes
    assert outcomes.count("200") >= 4, outcomes
    # The blocks the fresh clients got were the attackers'.
    assert evictions(s.port()) >= outcomes.count("200")
    assert s.alive()


def test_a_request_a_round_trip_behind_its_handshake_is_answered_under_a_body_trickle(start_server):
    # A client's request comes a round trip after the server can accept it. Under the
    # body trickle above, the table is full, and an attacker's reconnect took the place
    # of the fresh client that had sent nothing yet, closing it with no answer: 1 GET
    # in 12 on rpi3-armhf (qemu) with no delay, 1 to 6 of 12 on the host with 50 ms. A
    # silent connection making room is answered 503 from the reserve.
    s = start_server("echo-server")
    outcomes = fresh_outcomes_during(attacks.body_trickle(s.port(), MAX_CONNECTIONS + 10, RECV_BLOCK // 2), rtt=0.05)
    print(f"{BOARD}: fresh GETs 50 ms behind their handshake under a body trickle: {outcomes}")
    assert set(outcomes) <= {"200", "503"}, outcomes
    assert s.alive()


def test_honest_slow_posts_beyond_the_blocks_are_all_served(start_server):
    # Found by attacking the shared grace (a75f046): no attacker, only honest clients,
    # 4 times the receive blocks, each a POST of half a block in 4 writes 0.1 s apart
    # (a slow link), done in 0.4 s, well within the grace. The grace shared among 3
    # pools of waiters was 250 ms, so the first holders were evicted mid-body while
    # they kept sending (384 and 429 of 512 served on host, 144 of 192 on rpi3-armhf).
    # A holder still receiving keeps the full grace: all are served, in about 4 rounds.
    s = start_server("echo-server")
    size = RECV_BLOCK // 2
    body = bytes(i & 0xFF for i in range(size))
    head = b"POST / HTTP/1.1\r\nHost: c\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % size
    count = BLOCKS * 4
    go = threading.Barrier(count)
    outcomes = []

    def post():
        go.wait()
        try:
            c = RawClient(s.connect())
            c.send(head)
            for i in range(0, size, size // 4):
                time.sleep(0.1)
                c.send(body[i:i + size // 4])
            answer = c.response(timeout=30)
            c.sock.close()
            outcomes.append("closed" if answer is None else "ok" if answer[::2] == (200, body) else str(answer[0]))
        except OSError as e:
            outcomes.append(type(e).__name__)
    threads = [threading.Thread(target=post) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = {o: outcomes.count(o) for o in set(outcomes) if o != "ok"}
    print(f"{BOARD}: {outcomes.count('ok')}/{count} slow POSTs served, failures {failed}")
    assert outcomes.count("ok") == count, failed
    assert s.alive()


@pytest.mark.parametrize("attack,gap", [("stalled_heads", 0.05), ("expect_continue", 0.1)])
def test_a_full_table_does_not_close_a_websocket_with_half_a_frame_sent(start_server, attack, gap):
    # Found by attacking the half-heads fix: with every receive block taken, a WebSocket
    # whose message comes in two writes waits for a block with half a frame in its
    # socket. WebSockets are never taken for room, that one neither: its peer is
    # mid-message, not trickling halves. (Before: 13 of 20 reset on the host.)
    # Behind whole heads that stall, the rest of the frame (0.1 s later) went unseen: it
    # waited behind every new ready peer for as long as the attack lasted (all 10 timed
    # out; Tests/probes/ws_mid_message.py expect 20 0.3 ran 95 s on rpi3-armhf, 16
    # timeouts). A block that comes back looks again at one such waiter first. (The gap
    # stays within a holder's share of the grace, 120-190 ms here: a holder silent for
    # longer mid-frame is reclaimed, by design.)
    s = start_server("echo-server")
    users = []
    for _ in range(10):
        c = s.connect()
        attacks._ws_open(c)
        c.setblocking(True)
        users.append(c)
    text = b"m" * 3000
    message = attacks.ws_frame(1, text)
    answers = []
    flood = getattr(attacks, attack)(s.port(), MAX_CONNECTIONS + 10)
    try:
        time.sleep(GRACE + 0.5)
        for c in users:
            c.settimeout(5 * SLOW)
            try:
                c.sendall(message[:100])
                time.sleep(gap)
                c.sendall(message[100:])
                got = b""
                while len(got) < 4 + len(b"Echo: ") + len(text):
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                answers.append("echoed" if got.endswith(text) else "closed")
            except OSError as e:
                answers.append(type(e).__name__)
            c.close()
    finally:
        flood.stop()
    assert answers == ["echoed"] * len(users)


def test_beyond_the_reserve_a_full_table_still_answers_503(start_server):
    # Issue 21, item 8: WebSockets (never taken for room) fill a small table, the busy
    # clients fill the reserve slots, and every one after them gets the 503 too, not a
    # reset.
    s = start_server("echo-server", "--max-connections", "4")
    sockets = []
    for _ in range(4):
        c = s.connect()
        c.sendall(b"GET /ws HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 101")
        sockets.append(c)
    answers = []
    for _ in range(8 + 6):   # the reserve (Limits.rejectSlots) and six more
        c = s.connect()
        c.sendall(b"GET / HTTP/1.1\r\nHost: b\r\n\r\n")
        c.settimeout(5 * SLOW)
        try:
            answers.append(c.recv(4096).split(b"\r\n", 1)[0])
        except ConnectionResetError:
            answers.append(b"reset")
        sockets.append(c)   # kept open: the reserve stays busy
    for c in sockets:
        c.close()
    assert answers == [b"HTTP/1.1 503 Service Unavailable"] * len(answers)


def test_an_uploader_told_503_mid_body_reads_it_without_a_reset(start_server):
    # Issue 21 (trickle, item 3): the table is full, and an uploader that writes its
    # whole body before reading (as many clients do) is answered 503 from a reserve
    # slot. The server read and dropped its bytes for the linger timeout (2 s) since the
    # answer, then closed with more coming: a reset, the upload failed with "broken
    # pipe" at 2.2 s. Now each read restarts the linger, within the request timeout.
    s = start_server("echo-server", "--max-connections", "4")
    sockets = []
    for _ in range(4):
        c = s.connect()
        attacks._ws_open(c)
        sockets.append(c)
    size, piece = 1 << 20, 1 << 16
    c = s.connect()
    c.settimeout(10 * SLOW)
    try:
        c.sendall(b"POST / HTTP/1.1\r\nHost: u\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // piece):   # 3.2 s: past the linger timeout
            c.sendall(b"u" * piece)
            time.sleep(0.2)
        answer = read_to_eof(c)
    finally:
        for x in sockets + [c]:
            x.close()
    assert answer.startswith(b"HTTP/1.1 503"), answer[:40]
    assert s.alive()


def test_idle_https_connections_do_not_lock_the_tls_sessions(start_server, certs):
    # Issue 21, item 2, then issue 25: more idle keep-alive HTTPS connections than the
    # board has TLS record-buffer pairs. An idle one holds no pair (it parked), so new
    # clients are served at once and no idle connection is closed for them.
    import ssl
    s = start_server("echo-server", "--listen", "https://127.0.0.1:0", "--cert", certs["server.crt"],
                     "--key", certs["server.key"])
    ctx = ssl.create_default_context(cafile=certs["ca.crt"])

    def get(keep, c=None):
        if c is None:
            raw = socket.create_connection(("127.0.0.1", s.port()), timeout=10 * SLOW)
            c = ctx.wrap_socket(raw, server_hostname="localhost")
        c.sendall(b"GET / HTTP/1.1\r\nHost: b\r\n" + (b"" if keep else b"Connection: close\r\n") + b"\r\n")
        assert read_reply(c).startswith(b"HTTP/1.1 200")
        return c
    idle = [get(keep=True) for _ in range(TLS_PAIRS + 2)]
    time.sleep(GRACE + 0.5)
    waits, fresh = [], []
    for _ in range(3):
        start = time.time()
        fresh.append(get(keep=True))   # kept open too
        waits.append(time.time() - start)
    for c in fresh:
        c.close()
    print(f"{BOARD}: fresh HTTPS client with {len(idle)} idle ones waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0
    for c in idle:   # every idle connection is still there, and served
        get(keep=True, c=c)
        c.close()


def read_reply(c):
    """One whole reply to GET / on a TLS socket (its head and Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += c.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += c.recv(65536)
    return data


def test_downloads_that_never_read_do_not_lock_the_file_sends(start_server, tmp_path):
    # Issue 21, item 5: every file-send entry (Limits.fileSends, 32) held by a download
    # its client never reads. Past the grace period the longest stalled one is evicted.
    big = bytes(range(256)) * 16384   # 4 MiB
    (tmp_path / "big.bin").write_bytes(big)
    s = start_server("file-server", "--dir", str(tmp_path))
    stalled = []
    for _ in range(32 + 2):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", s.port()))
        c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: b\r\n\r\n")
        stalled.append(c)
    time.sleep(GRACE + 1.0)
    waits = []
    for _ in range(3):
        start = time.time()
        c = RawClient(socket.create_connection(("127.0.0.1", s.port()), timeout=10 * SLOW))
        c.send(b"GET /big.bin HTTP/1.1\r\nHost: b\r\n\r\n")
        status, _, head = c.response(timeout=10, head_only=True)
        waits.append(time.time() - start)
        assert status == 200
        c.sock.close()
    for c in stalled:
        c.close()
    print(f"{BOARD}: fresh download with every file send stalled waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0


def test_idle_websockets_do_not_hide_the_idle_connections_from_a_full_table(start_server):
    # Found by attacking the fix: idle WebSockets (never taken for room) sit at the front
    # of the least-recently-active queue; a full table must look past them all.
    s = start_server("echo-server")
    users = []
    for _ in range(80):
        c = s.connect()
        attacks._ws_open(c)
        users.append(c)
    waits = fresh_waits_during(s, attacks.silent_connects(s.port(), MAX_CONNECTIONS - len(users) + 10))
    print(f"{BOARD}: fresh client, table full behind 80 idle WebSockets, waited {[round(w, 2) for w in waits]} s")
    assert max(waits) < 2.0
    for c in users:   # the WebSockets were not the ones taken
        c.setblocking(True)
        c.settimeout(5 * SLOW)
        c.sendall(attacks.ws_frame(1, b"still here"))
        assert b"still here" in c.recv(100)
        c.close()


def test_a_slow_post_is_not_taken_for_the_rolling_attackers(start_server):
    # Found by attacking the fix: under the rolling attack, a request begun long ago by a
    # client that keeps sending is progress; the holders receiving least go first.
    s = start_server("echo-server")
    attack = attacks.rolling_half_units(s.port(), BLOCKS + 10)
    try:
        time.sleep(2 * GRACE + 0.5)   # every attacker has held its block past the grace
        body = bytes(i & 0xFF for i in range(POST_BODY))
        c = RawClient(s.connect())
        c.send(b"POST / HTTP/1.1\r\nHost: b\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), len(body) // 10):   # in ten pieces over 3 s
            c.send(body[i:i + len(body) // 10])
            time.sleep(0.3)
        status, _, echoed = c.response()
        c.sock.close()
    finally:
        attack.stop()
    assert (status, echoed) == (200, body)


def test_a_ping_flood_gets_a_few_pongs_a_second(start_server):
    # Issue 21, item 7: 200 pings in one write get at most 16 pongs in that second
    # (RFC 6455 §5.5.3 lets an endpoint skip pongs), and the connection still echoes.
    s = start_server("echo-server")
    c = s.connect()
    attacks._ws_open(c)
    c.setblocking(True)
    c.sendall(attacks.ws_frame(9, b"p") * 200)
    time.sleep(0.5 * SLOW)
    c.sendall(attacks.ws_frame(1, b"after the flood"))
    c.settimeout(5 * SLOW)
    got = b""
    while b"after the flood" not in got:
        chunk = c.recv(65536)
        assert chunk, "closed"
        got += chunk
    c.close()
    pongs = got.count(b"\x8a\x01p")
    assert 1 <= pongs <= 32, f"{pongs} pongs for 200 pings"


def test_a_burst_of_connects_while_the_loop_is_busy_is_queued_not_dropped(start_server):
    # Found by attack21: under load, test_honest_slow_posts_beyond_the_blocks_are_all_served
    # lost 34-76 of 512 POSTs to "connection reset" with no eviction. The listen queue
    # was 128: connects beyond it, while the loop was busy, were dropped (a SYN sent
    # again a second later) or answered with SYN cookies, and a client whose handshake
    # ACK was dropped then had its request's later segments fail the cookie check and
    # reset (nstat: SyncookiesFailed = resets). The kernel now queues as many as the
    # table. Here the loop is stopped while 200 clients connect: each must be connected
    # at once, and each answered once the loop runs.
    s = start_server("echo-server")
    count = 200
    os.kill(s.proc.pid, signal.SIGSTOP)
    socks, late = [], 0
    try:
        for _ in range(count):
            c = socket.socket()
            c.settimeout(0.5)
            try:
                c.connect(("127.0.0.1", s.port()))
            except socket.timeout:   # its SYN was dropped: sent again after a second
                late += 1
            socks.append(c)
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    answered = 0
    for c in socks:
        try:
            c.settimeout(10 * SLOW)
            c.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            answered += read_to_eof(c).startswith(b"HTTP/1.1 200")
        except OSError:
            pass
        c.close()
    print(f"{BOARD}: {count - late} of {count} connected at once with the loop stopped, {answered} answered")
    assert late == 0
    assert answered == count


def test_bodies_sent_just_over_the_floor_do_not_queue_fresh_clients_for_long(start_server):
    # Found by attack21: more peers than the blocks, each sending a POST body at 600 B/s,
    # just over BOARD_RECLAIM_MIN_RATE, also while they wait for a block. Each came to
    # its block with what it had sent while it waited, so its rate since taking the
    # block stayed over the floor; blocks came back one per holder per full grace, and
    # a fresh client waited behind the queue: 0 of 58 served within 2 s on rpi3-armhf
    # (240 peers: 4.2 s), 40 of 48 on the host (300 peers). Now a hold is measured from
    # when the peer began to wait, and the floor grows with the claimants per block.
    s = start_server("echo-server")
    count = min(300, MAX_CONNECTIONS - 16)
    attack = attacks.body_at_rate(s.port(), count, RECV_BLOCK - 200, 600)
    try:
        time.sleep(GRACE + 1.5)
        waits = []
        for _ in range(12):
            start = time.time()
            outcome = attacks.fresh_outcome(s.port())
            waits.append(round(time.time() - start, 2) if outcome == "200" else outcome)
            time.sleep(0.25)
    finally:
        attack.stop()
    print(f"{BOARD}: fresh GETs under {count} bodies at 600 B/s: {waits}")
    assert all(isinstance(w, float) and w < 2.0 for w in waits), waits
    assert evictions(s.port()) >= len(waits)
    assert s.alive()
