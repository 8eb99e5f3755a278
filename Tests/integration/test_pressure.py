"""Issue 7: the fixed pools are no lockout lever. Attacks with the pool's block count
plus ten connections; a fresh client must be served within 2 s on every board, and the
server returns to its baseline (descriptors, memory) when the attackers leave."""
import re
import socket
import threading
import time

import pytest

import attacks
from conftest import BOARD, SLOW, RawClient, board_profile, rss_kb

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
        # Empty when the stats request came: it may take the one block reclaim frees.
        emptied = re.compile(pool + r" [01]/")
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
    requests = b"".join(b"GET /hello?name=%s%d HTTP/1.1\r\nHost: b\r\n\r\n" % (name, i) for i in range(count))
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
