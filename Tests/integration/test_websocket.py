"""WebSocket (issue 9) against the firmware echo-server, with clients nobody here wrote:
websocket-client (the guide's), websockets, kosoku's Autobahn cases, and raw sockets for
the frames no polite client sends. Each bad frame is followed by a check that another
client is still served."""
import asyncio
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest
import websocket
import websockets

from conftest import BOARD, SLOW, read_to_eof, rss_kb


def ws_url(server, path="/"):
    return f"ws://127.0.0.1:{server.port()}{path}"


def still_served(server):
    ws = websocket.create_connection(ws_url(server, "/ws"), timeout=10 * SLOW)
    ws.send("still there?")
    assert ws.recv() == "Echo: still there?"
    ws.close()


def test_guide_basic_server_echoes_with_prefix(echo):
    ws = websocket.create_connection(ws_url(echo, "/ws"), timeout=10 * SLOW)
    ws.send("Hello!")
    assert ws.recv() == "Echo: Hello!"
    ws.send("Grüße, ☃")
    assert ws.recv() == "Echo: Grüße, ☃"
    ws.close()


def test_rooms_broadcast_only_to_their_own_sockets(echo):
    """echo-server's /ws/room/a and /ws/room/b (wsBroadcast(group:)): a message reaches
    every socket of its room, the sender's too, and none of the other room's nor /ws.
    Messages arrive in order, so a socket's next message proves what it did not get."""
    a1, a2, b1, plain = (websocket.create_connection(ws_url(echo, path), timeout=10 * SLOW)
                         for path in ("/ws/room/a", "/ws/room/a", "/ws/room/b", "/ws"))
    a1.send("to room a")
    assert a1.recv() == "to room a"
    assert a2.recv() == "to room a"
    b1.send("to room b")
    assert b1.recv() == "to room b"  # not "to room a" first
    a2.send_binary(b"\x00again a")
    assert a1.recv() == b"\x00again a"  # not "to room b" first
    assert a2.recv() == b"\x00again a"
    plain.send("hi")
    assert plain.recv() == "Echo: hi"  # neither room's messages first
    for ws in (a1, a2, b1, plain):
        ws.close()


def test_plain_echo_keeps_opcode_and_bytes_with_websockets(echo):
    async def run():
        async with websockets.connect(ws_url(echo), max_size=None) as ws:
            await ws.send("text stays text")
            assert await ws.recv() == "text stays text"
            blob = bytes(range(256)) * 64
            await ws.send(blob)
            assert await ws.recv() == blob
            await ws.send(["frag", "mented ", "message"])           # three fragments
            assert await ws.recv() == "fragmented message"
            big = os.urandom(1 << 20)                                # 64 receive blocks' worth
            await ws.send(big)
            assert await ws.recv() == big
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, 10 * SLOW)
    asyncio.run(run())


def test_close_handshake_echoes_the_code_and_ends_tcp(echo):
    ws = websocket.create_connection(ws_url(echo, "/ws"), timeout=10 * SLOW)
    ws.send_close(status=1000, reason=b"bye")
    frame = ws.recv_frame()
    assert frame.opcode == websocket.ABNF.OPCODE_CLOSE
    assert struct.unpack("!H", frame.data[:2])[0] == 1000
    ws.sock.settimeout(10 * SLOW)
    assert ws.sock.recv(10) == b""     # the server closed TCP after its close frame
    ws.sock.close()


def raw_ws(server, path="/ws"):
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=10 * SLOW)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head    # RFC 6455's example
    return s


def frame(opcode, payload, fin=True, masked=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv << 4 | opcode
    n = len(payload)
    if n < 126:
        head = bytes([b0, (0x80 if masked else 0) | n])
    elif n < 65536:
        head = bytes([b0, (0x80 if masked else 0) | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, (0x80 if masked else 0) | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = b"\x37\xfa\x21\x3d"
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def close_code(s):
    """Reads frames until the server closes TCP; returns its close frame's code."""
    data = read_to_eof(s)
    # The last frame is the close: find it.
    i = 0
    while i < len(data):
        op, n = data[i] & 0x0F, data[i + 1] & 0x7F
        hl = 2 if n < 126 else (4 if n == 126 else 10)
        if n == 126:
            n = struct.unpack("!H", data[i + 2:i + 4])[0]
        elif n == 127:
            n = struct.unpack("!Q", data[i + 2:i + 10])[0]
        if op == 8:
            return struct.unpack("!H", data[i + hl:i + hl + 2])[0]
        i += hl + n
    return None


BAD_FRAMES = [
    ("unmasked client frame", frame(1, b"hi", masked=False), 1002),
    ("RSV bit without an extension", frame(1, b"hi", rsv=4), 1002),
    ("reserved opcode 3", frame(3, b"hi"), 1002),
    ("reserved control opcode 11", frame(11, b""), 1002),
    ("ping over 125 bytes", frame(9, b"p" * 126), 1002),
    ("fragmented ping", frame(9, b"p", fin=False), 1002),
    ("continuation without a start", frame(0, b"x"), 1002),
    ("new message inside a fragmented one", frame(1, b"a", fin=False) + frame(1, b"b"), 1002),
    ("invalid UTF-8", frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), 1007),
    ("invalid UTF-8 split across fragments", frame(1, b"ok \xe2", fin=False) + frame(0, b"\x28\xa1"), 1007),
    ("close code 1005 on the wire", frame(8, struct.pack("!H", 1005)), 1002),
    ("close with a one-byte payload", frame(8, b"\x03"), 1002),
    ("close reason not UTF-8", frame(8, struct.pack("!H", 1000) + b"\xff"), 1007),
    ("64-bit length with the top bit set", bytes([0x82, 0xFF]) + b"\x80" + b"\x00" * 7 + b"\x00" * 4, 1002),
    ("message larger than the receive block on /ws", frame(2, b"z" * 70000), 1009),
]


@pytest.mark.parametrize("name,data,code", BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_bad_frame_gets_its_close_code_and_others_keep_working(echo, name, data, code):
    s = raw_ws(echo)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert close_code(s) == code
    s.close()
    still_served(echo)


def test_bad_upgrades_stay_http(echo):
    def ask(extra):
        s = socket.create_connection(("127.0.0.1", echo.port()), timeout=10 * SLOW)
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + extra + b"\r\n")
        data = s.recv(4096)
        s.close()
        return data
    assert ask(b"Sec-WebSocket-Version: 13\r\n").startswith(b"HTTP/1.1 400")             # no key
    assert ask(b"Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n").startswith(b"HTTP/1.1 400")
    wrong = ask(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n")
    assert wrong.startswith(b"HTTP/1.1 426") and b"Sec-WebSocket-Version: 13\r\n" in wrong


@pytest.mark.parametrize("lines", [
    # RFC 6455 §11.3.1: Sec-WebSocket-Key exactly once, even twice the same.
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
    b"Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n",
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n",
    # §11.3.5: Sec-WebSocket-Version once in a request.
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 8\r\n"
    b"Upgrade: websocket\r\n",
    # One Upgrade line: which one counts must not depend on who reads the request.
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"
    b"Upgrade: h2c\r\n",
], ids=["two-keys", "same-key-twice", "two-versions", "two-upgrades"])
def test_repeated_handshake_fields_are_refused(echo, lines):
    s = socket.create_connection(("127.0.0.1", echo.port()), timeout=10 * SLOW)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n" + lines + b"\r\n")
    answer = s.recv(4096)
    s.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    still_served(echo)


def test_pings_are_answered_and_do_not_pile_up(echo):
    s = raw_ws(echo)
    s.sendall(frame(9, b"ping payload"))
    data = s.recv(100)
    assert data == bytes([0x8A, 12]) + b"ping payload"
    s.close()


def test_autobahn_cases_with_kosoku(echo, tmp_path):
    # Cases 1.* to 10.*, except four that send one 8 or 16 MiB message before reading
    # anything back: an echo in fixed memory cannot hold that (README: WebSocket).
    cases = [a for c in ("1", "2", "3", "4", "5", "6", "7", "9", "10") for a in ("-i", f"{c}.*")]
    skipped = [a for c in ("9.1.5", "9.1.6", "9.2.5", "9.2.6") for a in ("-x", c)]
    out = subprocess.run(["kosoku", *cases, *skipped, "-p", "2", "-o", str(tmp_path),
                          f"127.0.0.1:{echo.port()}"], capture_output=True, text=True, timeout=1200)
    print(out.stdout[-400:])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    still_served(echo)


def test_16mib_relay_with_a_slow_reader_keeps_rss_flat(start_server):
    s = start_server("echo-server")
    ws = websocket.create_connection(ws_url(s), timeout=60 * SLOW)
    ws.send_binary(b"warm-up")
    assert ws.recv() == b"warm-up"
    before = rss_kb(s.proc.pid)
    data = os.urandom(16 << 20)
    sender = threading.Thread(target=ws.send_binary, args=(data,), daemon=True)
    sender.start()
    got = bytearray()
    peak = before
    while len(got) < len(data) + 10:
        frame_data = ws.recv_data_frame(control_frame=False)
        if frame_data is None:
            break
        op, f = frame_data
        got += f.data
        peak = max(peak, rss_kb(s.proc.pid))
        time.sleep(0.001)          # a slow reader
        if f.fin:
            break
    sender.join()
    assert bytes(got) == data
    print(f"{BOARD}: RSS {before} kB before, peak {peak} kB during a 16 MiB relay")
    assert peak - before < 1024
    ws.close()


@pytest.mark.skipif(BOARD != "host", reason="LD_PRELOAD counter is for the host build")
def test_zero_allocations_per_websocket_message_after_warmup(counted_server):
    s, count = counted_server

    sock = raw_ws(s, "/echo")            # the plain echo: the app copies nothing either
    text, binary = frame(1, b"hello, board"), frame(2, bytes(range(200)))

    def round_trip(data, size):
        sock.sendall(data)
        got = b""
        while len(got) < size:
            got += sock.recv(65536)
        return got
    for _ in range(100):                 # warm-up
        round_trip(text, 14)
        round_trip(binary, 204)
    before = count()
    for _ in range(5000):
        assert round_trip(text, 14) == bytes([0x81, 12]) + b"hello, board"
        assert round_trip(binary, 204) == bytes([0x82, 126, 0, 200]) + bytes(range(200))
    after = count()
    sock.close()
    print(f"allocations during 10,000 WebSocket echoes: {after - before}")
    assert after - before == 0


def test_sigterm_sends_going_away_to_websocket_clients(start_server):
    s = start_server("echo-server")
    clients = [websocket.create_connection(ws_url(s, "/ws"), timeout=10 * SLOW) for _ in range(3)]
    for c in clients:
        c.send("hi")
        assert c.recv() == "Echo: hi"
    started = time.time()
    s.proc.send_signal(signal.SIGTERM)
    for c in clients:
        f = c.recv_frame()
        assert f.opcode == websocket.ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", f.data[:2])[0] == 1001
        c.sock.close()
    assert s.proc.wait(timeout=10 * SLOW) == 0
    assert time.time() - started < 10 * SLOW


# Keep-alive (issue 22): with --idle-timeout-ms 1500 the server pings a WebSocket whose
# peer has been silent for the ping interval (idle / 2 here: 750 ms), and closes with
# 1001 one idle timeout after a ping that got no answer.
IDLE_MS = 1500


def test_idle_websocket_that_answers_pings_stays_open(start_server):
    s = start_server("echo-server", "--idle-timeout-ms", str(IDLE_MS))
    ws = websocket.create_connection(ws_url(s, "/ws"), timeout=10 * SLOW)
    ws.send("hi")
    assert ws.recv() == "Echo: hi"
    # A browser: sends nothing of its own, answers pings (websocket-client does, as it
    # reads them), for three idle timeouts.
    pings = 0
    deadline = time.time() + 3 * IDLE_MS / 1000
    while (left := deadline - time.time()) > 0:
        ws.settimeout(left)
        try:
            op, f = ws.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            break
        assert op == websocket.ABNF.OPCODE_PING, f"unexpected frame {op} {f.data!r}"
        pings += 1
    assert pings >= 2
    ws.settimeout(10 * SLOW)
    ws.send("still there?")
    assert ws.recv() == "Echo: still there?"
    ws.close()


def test_dead_websocket_peer_gets_1001_within_ping_interval_and_idle_timeout(start_server):
    s = start_server("echo-server", "--idle-timeout-ms", str(IDLE_MS))
    c = raw_ws(s)
    started = time.time()
    # Never reads, never answers: the ping (750 ms, checked every quarter interval)
    # plus one idle timeout, and a margin.
    time.sleep((750 * 1.25 + IDLE_MS) / 1000 + 0.5 * SLOW)
    c.settimeout(1 * SLOW)
    data = read_to_eof(c)   # the FIN is there already: no wait
    assert time.time() - started < (750 * 1.25 + IDLE_MS) / 1000 + 1.5 * SLOW
    assert data.startswith(b"\x89\x00")                 # the ping, empty
    assert data.endswith(b"\x88\x02\x03\xe9")           # close 1001 (going away), last
    c.close()
    still_served(s)
