"""The client side (issue 11): Meerkat's `ws-client` and `fetch` apps (connect(), the
HTTP and WebSocket clients, TLS client checks) against Meerkat's own servers and against
servers nobody here wrote (Python's websockets and http.server, nginx), plus raw servers
that misbehave on purpose: a wrong Sec-WebSocket-Accept, a close mid-response, no answer
at all. Every board (under qemu for ARM)."""
import asyncio
import datetime
import http.server
import os
import select
import socket
import subprocess
import threading
import time

import pytest
import websockets

from conftest import BIN, RUNNER, SLOW, line_roundtrip, malloc_counter


def run(app, *args, stdin=b"", timeout=30):
    """Runs a client app to the end: (exit code, output)."""
    out = subprocess.run(RUNNER + [os.path.join(BIN, app), *args], input=stdin, capture_output=True,
                         timeout=timeout * SLOW)
    return out.returncode, out.stdout.decode(errors="replace")


class RawServer:
    """A one-connection-at-a-time TCP server on 127.0.0.1 that answers with `respond(sock)`."""

    def __init__(self, respond):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.respond = respond
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                request = b""
                conn.settimeout(5)
                try:
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        request += chunk
                    self.respond(conn, request)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.fixture
def raw_server():
    yield from made_then_closed(RawServer)


def made_then_closed(make):
    """A fixture's body: hands out `make` and closes everything it made at the end."""
    made = []

    def tracked(*args):
        thing = make(*args)
        made.append(thing)
        return thing
    yield tracked
    for thing in made:
        thing.close()


def python_http_server(folder):
    """Python's http.server serving `folder` on 127.0.0.1 (a free port), quietly."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, *a):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---- WebSocket client ----------------------------------------------------------------------

def test_ws_client_against_echo_server(start_server):
    s = start_server("echo-server")
    code, out = run("ws-client", f"ws://127.0.0.1:{s.port()}/ws", stdin=b"hello\nsecond line\n")
    assert code == 0, out
    assert out.splitlines() == ["Echo: hello", "Echo: second line"]


def test_ws_client_bridges_a_serial_port_to_the_websocket(start_server):
    # watch(fd) on a tty, read and written (issue 23, item 6), on every board: a pty
    # stands in for the UART. ws-client opens its slave side raw (File.openSerial: no
    # echo, no line editing, no CR/LF mapping), sends each line the "device" writes on
    # the master side, and writes each answer back to the port.
    s = start_server("echo-server")
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)  # ws-client opens it by name, as it would /dev/ttyS0; left as a pty starts
    client = subprocess.Popen(RUNNER + [os.path.join(BIN, "ws-client"), "--serial", f"{path}:9600",
                                        f"ws://127.0.0.1:{s.port()}/ws"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        got = b""
        deadline = time.time() + 20 * SLOW
        sent = False
        while b"Echo: second\n" not in got and time.time() < deadline and client.poll() is None:
            if not sent:
                time.sleep(0.5 * SLOW)  # the WebSocket comes up first
                os.write(master, b"hello\r\nsecond\n")
                sent = True
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                got += os.read(master, 4096)
        # Raw, or the line discipline would echo what the device wrote back to it, and
        # turn its CR into a newline (an empty line more, "Echo: " answered).
        assert got == b"Echo: hello\nEcho: second\n", (got, client.poll())
    finally:
        client.kill()
        client.wait()
        os.close(master)


def test_ws_client_repeat_sends_each_echo_back(start_server):
    # /ws answers "Echo: " + the message: each round trip adds one prefix.
    s = start_server("echo-server")
    code, out = run("ws-client", "--repeat", "3", f"ws://127.0.0.1:{s.port()}/ws", stdin=b"hi\n")
    assert (code, out) == (0, "Echo: Echo: Echo: hi\n")


def test_ws_client_over_wss_verifies_the_server(start_server, certs):
    s = start_server("echo-server", "--listen", "wss://127.0.0.1:0", "--cert", certs["server.crt"],
                     "--key", certs["server.key"])
    code, out = run("ws-client", "--ca", certs["ca.crt"], f"wss://localhost:{s.port()}/raw", stdin=b"over tls\n")
    assert (code, out.splitlines()) == (0, ["over tls"])
    # Without our CA the system's are used, and the test CA is not among them.
    code, out = run("ws-client", f"wss://localhost:{s.port()}/raw", stdin=b"x\n")
    # mbedTLS's own code rides along (conn.lastErrorCode): MBEDTLS_ERR_X509_CERT_VERIFY_FAILED.
    assert code == 1 and "error: TLS: certificate not trusted" in out and out.rstrip().endswith("[code -9984]")


def test_ws_client_against_python_websockets():
    ready = threading.Event()
    box = {}

    async def echo(ws):
        async for message in ws:
            await ws.send(f"py: {message}")

    async def main():
        async with websockets.serve(echo, "127.0.0.1", 0, subprotocols=None) as server:
            box["port"] = server.sockets[0].getsockname()[1]
            box["loop"] = asyncio.get_running_loop()
            box["stop"] = asyncio.Event()
            ready.set()
            await box["stop"].wait()
    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        code, out = run("ws-client", f"ws://127.0.0.1:{box['port']}/", stdin=b"one\ntwo\n")
        assert code == 0, out
        assert out.splitlines() == ["py: one", "py: two"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


def test_ws_client_refuses_a_wrong_accept(raw_server):
    def wrong(conn, request):
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==AAAA\r\n\r\n")
        time.sleep(1)
    s = raw_server(wrong)
    code, out = run("ws-client", f"ws://127.0.0.1:{s.port}/", stdin=b"x\n")
    assert code == 1
    assert "error: WebSocket: wrong Sec-WebSocket-Accept" in out


def upgrade_answer(request, extra=b""):
    """A good 101 to `request` (the accept its key calls for), with `extra` header lines."""
    import base64
    import hashlib
    key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key:"))
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra + b"\r\n")


def echo_after(answer):
    """A raw WebSocket server: `answer(request)` as the 101, then one text frame echoed."""
    def respond(conn, request):
        conn.sendall(answer(request))
        try:
            frame = b""
            while len(frame) < 2 or len(frame) < 6 + (frame[1] & 0x7F):   # a short masked frame
                chunk = conn.recv(4096)
                if not chunk:
                    return
                frame += chunk
            mask = frame[2:6]
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(frame[6:6 + (frame[1] & 0x7F)]))
            conn.sendall(bytes([0x81, len(data)]) + data)
            time.sleep(0.5)
        except OSError:
            pass
    return respond


@pytest.mark.parametrize("extra", [
    b"Sec-WebSocket-Extensions: permessage-deflate\r\n",       # RFC 6455 §4.1: never offered
    b"Sec-WebSocket-Extensions: \r\n",
], ids=["deflate", "empty"])
def test_ws_client_refuses_an_extension_it_did_not_offer(raw_server, extra):
    s = raw_server(echo_after(lambda request: upgrade_answer(request, extra)))
    code, out = run("ws-client", f"ws://127.0.0.1:{s.port}/", stdin=b"x\n")
    assert code == 1 and "error: WebSocket: the server chose an extension we did not offer" in out, out


@pytest.mark.parametrize("offered, chosen, ok", [
    (None, b"Sec-WebSocket-Protocol: chat\r\n", False),                     # none offered
    ("chat, superchat", b"Sec-WebSocket-Protocol: other\r\n", False),       # not among them
    ("chat, superchat", b"Sec-WebSocket-Protocol: chat, superchat\r\n", False),   # the whole list
    ("chat, superchat", b"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\n", False),  # two lines
    ("chat, superchat", b"Sec-WebSocket-Protocol: superchat\r\n", True),
    ("chat, superchat", b"", True),                                          # none chosen: allowed
], ids=["none-offered", "another", "the-list", "two-lines", "one-offered", "none-chosen"])
def test_ws_client_takes_only_one_subprotocol_it_offered(raw_server, offered, chosen, ok):
    s = raw_server(echo_after(lambda request: upgrade_answer(request, chosen)))
    extra = ("--protocol", offered) if offered else ()
    code, out = run("ws-client", *extra, f"ws://127.0.0.1:{s.port}/", stdin=b"x\n")
    if ok:
        assert code == 0 and out.splitlines()[0] == "x", out
    else:
        assert code == 1 and "error: WebSocket: the server chose a subprotocol we did not offer" in out, out


def test_ws_client_refuses_two_accept_lines(raw_server):
    # RFC 6455 §11.3.3: Sec-WebSocket-Accept appears once; the good one first does not help.
    s = raw_server(echo_after(lambda request: upgrade_answer(request, b"Sec-WebSocket-Accept: x\r\n")))
    code, out = run("ws-client", f"ws://127.0.0.1:{s.port}/", stdin=b"x\n")
    assert code == 1 and "error: WebSocket: wrong Sec-WebSocket-Accept" in out, out


def test_ws_client_refuses_a_200(raw_server):
    s = raw_server(lambda conn, request: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"))
    code, out = run("ws-client", f"ws://127.0.0.1:{s.port}/", stdin=b"x\n")
    assert code == 1 and "error: WebSocket: the server did not switch protocols" in out


def test_ws_client_gives_up_on_a_silent_server(raw_server):
    s = raw_server(lambda conn, request: time.sleep(10))
    started = time.time()
    code, out = run("ws-client", "--timeout-ms", str(int(1000 * SLOW)), f"ws://127.0.0.1:{s.port}/", stdin=b"x\n")
    assert code == 1 and "error: no answer in time" in out
    assert time.time() - started < 8 * SLOW


def test_connect_refused_is_an_error():
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    code, out = run("ws-client", f"ws://127.0.0.1:{port}/")
    # The errno by name and number (ECONNREFUSED is 111 on every Linux board).
    assert code == 1 and "error: connect: connection refused (ECONNREFUSED) [errno 111]" in out
    code, out = run("fetch", f"http://127.0.0.1:{port}/")
    assert code == 1 and "error: connect: connection refused (ECONNREFUSED) [errno 111]" in out


# ---- HTTP client ---------------------------------------------------------------------------

def test_fetch_against_echo_server(start_server):
    s = start_server("echo-server")
    code, out = run("fetch", "--method", "POST", "--data", "body text", f"http://127.0.0.1:{s.port()}/echo")
    assert (code, out) == (0, "status 200\nbody text")
    code, out = run("fetch", f"http://localhost:{s.port()}/stats")
    assert code == 0 and out.startswith("status 200\nrecv ")


def test_fetch_against_python_http_server(tmp_path):
    (tmp_path / "hello.txt").write_bytes(b"from http.server\n" * 100)

    server = python_http_server(tmp_path)
    try:
        port = server.server_address[1]
        code, out = run("fetch", f"http://127.0.0.1:{port}/hello.txt")
        assert (code, out) == (0, "status 200\n" + "from http.server\n" * 100)
        code, out = run("fetch", "--method", "HEAD", f"http://127.0.0.1:{port}/hello.txt")
        assert (code, out) == (0, "status 200\n")           # HEAD: the length, no body
        code, out = run("fetch", f"http://127.0.0.1:{port}/missing")
        assert code == 3 and out.startswith("status 404\n")
    finally:
        server.shutdown()


@pytest.mark.parametrize("framing", ["chunked", "until-close", "interim-100"])
def test_fetch_reads_every_framing(raw_server, framing):
    def respond(conn, request):
        if framing == "chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
        elif framing == "until-close":
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello, world")
            conn.shutdown(socket.SHUT_WR)
        else:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello, world")
        time.sleep(0.5)
    s = raw_server(respond)
    code, out = run("fetch", f"http://127.0.0.1:{s.port}/")
    assert (code, out) == (0, "status 200\nhello, world")


def test_fetch_streams_a_response_larger_than_the_receive_block(tmp_path):
    big = b"".join(b"line %06d of a large download\n" % i for i in range(40000))   # 1.2 MB
    (tmp_path / "big.txt").write_bytes(big)

    server = python_http_server(tmp_path)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/big.txt"
        code, out = run("fetch", "--stream", url)
        assert code == 0 and out == "status 200\n" + big.decode()
        code, out = run("fetch", url)   # whole, it must fit the receive block
        assert code == 1 and "error: HTTP: response larger than the receive block" in out
    finally:
        server.shutdown()


@pytest.mark.parametrize("framing", ["chunked", "until-close"])
def test_fetch_streams_every_framing(raw_server, framing):
    pieces = [b"piece %05d " % i * 10 for i in range(2000)]         # 2000 x 120 bytes
    body = b"".join(pieces)

    def respond(conn, request):
        if framing == "chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for p in pieces:
                conn.sendall(b"%x\r\n%s\r\n" % (len(p), p))
            conn.sendall(b"0\r\n\r\n")
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
            conn.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
    s = raw_server(respond)
    code, out = run("fetch", "--stream", f"http://127.0.0.1:{s.port}/")
    assert (code, out) == (0, "status 200\n" + body.decode())


def test_fetch_reports_a_close_mid_stream(raw_server):
    def cut(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 50000)
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
    s = raw_server(cut)
    code, out = run("fetch", "--stream", f"http://127.0.0.1:{s.port}/")
    assert code == 1 and out.startswith("status 200\n" + "x" * 50000)
    assert "error: HTTP: connection closed before the response was complete" in out


def test_fetch_reports_a_close_mid_response(raw_server):
    def cut(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
    s = raw_server(cut)
    code, out = run("fetch", f"http://127.0.0.1:{s.port}/")
    assert code == 1 and "error: HTTP: connection closed before the response was complete" in out


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\nbroken\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",          # RFC 9112 §4: 3DIGIT, then SP
    b"HTTP/1.1 200x\r\nContent-Length: 0\r\n\r\n",
], ids=["bare-lf", "four-digits", "200x"])
def test_fetch_reports_a_malformed_response(raw_server, head):
    s = raw_server(lambda conn, request: conn.sendall(head))
    code, out = run("fetch", f"http://127.0.0.1:{s.port}/")
    assert code == 1 and "error: HTTP: malformed response" in out, out


@pytest.mark.parametrize("pace", ["stalled", "dripping"])
def test_fetch_stream_is_bounded_by_the_timeout(raw_server, pace):
    """--timeout-ms bounds the whole answer, its streamed body too: a server that stops
    after the head and part of the body, or drips a byte every 100 ms (which an idle
    timeout would never end), is left in time."""
    def slow(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        for _ in range(100):
            time.sleep(0.1)
            if pace == "dripping":
                conn.sendall(b"x")
    s = raw_server(slow)
    started = time.time()
    code, out = run("fetch", "--stream", "--timeout-ms", str(int(1500 * SLOW)), f"http://127.0.0.1:{s.port}/")
    assert code == 1 and out.startswith("status 200\n" + "x" * 1000), out[:200]
    assert "error: the response was not complete in time" in out
    assert time.time() - started < 1.5 * SLOW + 3 * SLOW


# ---- against nginx, HTTP and HTTPS --------------------------------------------------------------

@pytest.fixture
def nginx(tmp_path, certs):
    """Debian's nginx on two loopback ports: plain and TLS (the test certificate)."""
    ports = []
    for _ in range(2):
        p = socket.socket()
        p.bind(("127.0.0.1", 0))
        ports.append(p.getsockname()[1])
        p.close()
    os.chmod(tmp_path, 0o755)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
user {os.popen('id -un').read().strip()};
worker_processes 1;
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{ports[0]};
        listen 127.0.0.1:{ports[1]} ssl;
        ssl_certificate {certs['server.crt']};
        ssl_certificate_key {certs['server.key']};
        location / {{ default_type text/plain; return 200 "nginx says hi\\n"; }}
        location /big {{ default_type text/plain; return 200 "{'n' * 3000}"; }}
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", ports[1])).close()
            break
        except OSError:
            time.sleep(0.05)
    yield ports
    proc.terminate()
    proc.wait(10)


def test_fetch_against_nginx_http_and_https(nginx, certs):
    code, out = run("fetch", f"http://127.0.0.1:{nginx[0]}/")
    assert (code, out) == (0, "status 200\nnginx says hi\n")
    code, out = run("fetch", "--ca", certs["ca.crt"], f"https://localhost:{nginx[1]}/big")
    assert (code, out) == (0, "status 200\n" + "n" * 3000)


# ---- TLS client checks ------------------------------------------------------------------------

def make_cert(tmp_path, name, days_from, days_to, ca=None, host="localhost"):
    """A certificate for `host` valid over [now + days_from, now + days_to], signed by `ca`
    (a (cert, key) pair) or self-signed. Returns (cert path, key path, (cert, key))."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(ca[0].subject if ca else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + datetime.timedelta(days=days_from))
               .not_valid_after(now + datetime.timedelta(days=days_to))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False))
    if ca is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    cert = builder.sign(ca[1] if ca else key, hashes.SHA256())
    cpath, kpath = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cpath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kpath.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    return str(cpath), str(kpath), (cert, key)


@pytest.mark.parametrize("case", ["good", "wrong CA", "wrong host", "expired", "not yet valid", "self-signed"])
def test_tls_client_checks_the_certificate(start_server, tmp_path, case):
    ca_crt, _, ca = make_cert(tmp_path, "ca", -1, 30, host="Test CA")
    other_crt, _, _ = make_cert(tmp_path, "other-ca", -1, 30, host="Other CA")
    window = {"expired": (-10, -1), "not yet valid": (5, 30)}.get(case, (-1, 30))
    if case == "self-signed":
        crt, key, _ = make_cert(tmp_path, "server", -1, 30)
    else:
        crt, key, _ = make_cert(tmp_path, "server", *window, ca=ca, host="elsewhere" if case == "wrong host" else "localhost")
    s = start_server("echo-server", "--listen", "https://127.0.0.1:0", "--cert", crt, "--key", key)
    trust = other_crt if case == "wrong CA" else ca_crt
    code, out = run("fetch", "--ca", trust, f"https://localhost:{s.port()}/")
    expected = {
        "good": None,
        "wrong CA": "certificate not trusted",
        "wrong host": "certificate is not for this host name",
        "expired": "certificate expired",
        "not yet valid": "certificate not yet valid",
        "self-signed": "certificate not trusted",
    }[case]
    if expected is None:
        assert code == 0 and out.startswith("status 200\n"), out
    else:
        assert code == 1 and f"error: TLS: {expected}" in out, out
        # --insecure skips the check, and only then does it pass.
        code, out = run("fetch", "--insecure", f"https://localhost:{s.port()}/")
        assert code == 0 and out.startswith("status 200\n")


# ---- STARTTLS: tlsInit on a client connection --------------------------------------------------

def wait_listening(port):
    """Until something accepts on 127.0.0.1:`port` (5 s at most)."""
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


@pytest.fixture
def s_server(certs):
    """openssl s_server on 127.0.0.1 with the test certificate, TLS from the first byte,
    answering a GET with its status page (-www): its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", certs["server.crt"],
                             "-key", certs["server.key"], "-www", "-quiet"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_fetch_starttls_starts_a_tls_client_on_the_open_connection(s_server, certs):
    """fetch --starttls: a plain TCP connect, then conn.tlsInit, which must start a TLS
    *client* that checks the server's certificate (a server config fails the handshake)."""
    code, out = run("fetch", "--starttls", "--ca", certs["ca.crt"], f"http://localhost:{s_server}/")
    assert code == 0 and out.startswith("status 200\n"), out
    assert "Ciphers supported in s_server binary" in out, out
    # The certificate is checked: another CA is not trusted.
    code, out = run("fetch", "--starttls", "--ca", certs["other.crt"], f"http://localhost:{s_server}/")
    assert code == 1 and "error: TLS: certificate not trusted" in out, out
    # Without TLS the same server gives no HTTP answer.
    code, out = run("fetch", "--timeout-ms", str(int(3000 * SLOW)), f"http://localhost:{s_server}/")
    assert code == 1 and not out.startswith("status"), out


def alpn_s_server(certs, tmp_path, protocols):
    """openssl s_server accepting the ALPN `protocols` (-www), its output in a file:
    (process, port, log path)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / f"s_server-{port}.log"
    # stdbuf: s_server's lines reach the file as they are printed.
    proc = subprocess.Popen(["stdbuf", "-oL", "openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert",
                             certs["server.crt"], "-key", certs["server.key"], "-alpn", protocols, "-www"],
                            stdin=subprocess.DEVNULL, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    wait_listening(port)
    return proc, port, log


def test_clients_offer_alpn_and_see_what_was_agreed(certs, tmp_path):
    """fetch offers http/1.1, mqtt-client (mqtts://) mqtt or its --alpn list: openssl
    s_server reports the offer, and the client (--log-level debug) the protocol agreed on."""
    proc, port, log = alpn_s_server(certs, tmp_path, "http/1.1")
    try:
        code, out = run("fetch", "--log-level", "debug", "--ca", certs["ca.crt"], f"https://localhost:{port}/")
        assert code == 0 and "tls: alpn http/1.1; peer CN localhost, DNS localhost, sha256 " in out, out
        assert "ALPN protocols advertised by the client: http/1.1" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for args, offered in (([], "mqtt"), (["--alpn", "x-amzn-mqtt-ca,mqtt"], "x-amzn-mqtt-ca, mqtt")):
        proc, port, log = alpn_s_server(certs, tmp_path, "mqtt")
        client = subprocess.Popen(RUNNER + [os.path.join(BIN, "mqtt-client"), "--log-level", "debug", "--ca",
                                            certs["ca.crt"], *args, "--sub", "t", f"mqtts://localhost:{port}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            line, deadline = "", time.time() + 30 * SLOW
            while not line.startswith("tls: ") and time.time() < deadline:   # debug lines come too
                ready, _, _ = select.select([client.stdout], [], [], 1)
                line = client.stdout.readline().decode(errors="replace") if ready else ""
            assert line.startswith("tls: alpn mqtt; peer CN localhost"), line
            assert f"ALPN protocols advertised by the client: {offered}" in log.read_text()
        finally:
            client.kill()
            client.wait(timeout=10)
            proc.terminate()
            proc.wait(timeout=10)


def test_ws_client_offers_http11_over_wss(start_server, certs):
    s = start_server("echo-server", "--listen", "wss://127.0.0.1:0", "--cert", certs["server.crt"],
                     "--key", certs["server.key"])
    code, out = run("ws-client", "--log-level", "debug", "--ca", certs["ca.crt"], f"wss://localhost:{s.port()}/raw",
                    stdin=b"x\n")
    assert code == 0 and "tls: alpn http/1.1; peer CN localhost" in out, out


def test_fetch_starttls_takes_only_http_urls(certs):
    code, out = run("fetch", "--starttls", "https://localhost:1/")
    assert code == 2 and out.startswith("usage: fetch "), out


# ---- allocations ------------------------------------------------------------------------------

@pytest.mark.skipif(RUNNER != [], reason="the LD_PRELOAD counter is built for the host")
def test_ws_client_messages_allocate_nothing_after_warm_up(start_server, tmp_path):
    from conftest import ROOT
    s = start_server("echo-server")
    report = tmp_path / "count"
    client = subprocess.Popen([os.path.join(BIN, "ws-client"), f"ws://127.0.0.1:{s.port()}/raw"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env={**os.environ, "LD_PRELOAD": os.path.join(ROOT, "build", "malloccount.so"),
                                   "MALLOCCOUNT_FILE": str(report)})

    roundtrip = line_roundtrip(client)

    count = malloc_counter(client, report)

    try:
        assert roundtrip([b"warm-up"]) == [b"warm-up"]
        before = count()
        lines = [b"message %d " % i + b"x" * (i * 37 % 900) for i in range(300)]
        for i in range(0, 300, 30):
            assert roundtrip(lines[i:i + 30]) == lines[i:i + 30]
        assert count() - before == 0
    finally:
        client.stdin.close()
        client.wait(10)


# ---- client-side TLS resumption (issue 25) ----------------------------------------------------

def test_fetch_new_connections_resume_against_openssl(s_server, certs):
    """fetch --repeat 4 --new-connections: each request on a connection of its own, the
    later three resuming the first's session. openssl's -www page says of the last
    connection "Reused" (a new one says "New"), and counts the resumptions as hits."""
    def hits(page):
        return int(next(line.split()[0] for line in page.splitlines() if line.endswith("session cache hits")))
    code, out = run("fetch", "--ca", certs["ca.crt"], f"https://localhost:{s_server}/")
    assert code == 0 and "New, TLSv1.2" in out, out
    before = hits(out)
    code, out = run("fetch", "--log-level", "debug", "--ca", certs["ca.crt"], "--repeat", "4", "--new-connections",
                    f"https://localhost:{s_server}/")
    assert code == 0 and "Reused, TLSv1.2" in out, out
    assert hits(out) - before == 3, out
    # The client says so too (conn.tlsResumed): the first handshake full, the others resumed.
    lines = [line for line in out.splitlines() if line.startswith("tls: ")]
    assert [line.endswith("; resumed") for line in lines] == [False, True, True, True], lines


def test_fetch_new_connections_resume_against_meerkat(start_server, certs):
    """The same against Meerkat's server, whose stats count the handshakes that took a
    ticket: 4 more handshakes, 3 of them resumed."""
    s = start_server("echo-server", "--listen", "https://127.0.0.1:0", "--cert", certs["server.crt"],
                     "--key", certs["server.key"])
    url = f"https://localhost:{s.port()}/stats"

    def counts(out):
        fields = dict(part.strip().rsplit(" ", 1) for part in out.split("\n", 1)[1].split(";") if part.strip())
        return int(fields["handshakes"]), int(fields["resumed"])
    code, out = run("fetch", "--ca", certs["ca.crt"], url)
    assert code == 0, out
    h0, r0 = counts(out)
    code, out = run("fetch", "--ca", certs["ca.crt"], "--repeat", "4", "--new-connections", url)
    assert code == 0, out
    h1, r1 = counts(out)
    # The answer is made during the 4th connection, after its handshake.
    assert (h1 - h0, r1 - r0) == (4, 3), out
    # Without --new-connections the requests share one connection: one handshake, full.
    code, out = run("fetch", "--ca", certs["ca.crt"], "--repeat", "4", url)
    assert code == 0 and counts(out) == (h1 + 1, r1), out


class TlsAcceptThenClose:
    """A TLS WebSocket server (Python's ssl, OpenSSL) that answers the upgrade, closes,
    and notes for each connection whether its handshake resumed a session."""

    def __init__(self, certs):
        import ssl
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certs["server.crt"], certs["server.key"])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reused = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(5)
                    self.reused.append(conn.session_reused)
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        request += chunk
                    conn.sendall(upgrade_answer(request) + bytes([0x88, 0x02, 0x03, 0xE8]))
                    time.sleep(0.05)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def test_reconnecting_client_resumes_its_tls_session(certs):
    """A Reconnector (ws-client --reconnect) over wss: every reconnect after the first
    connection resumes its session, as the server (OpenSSL, through Python) reports."""
    server = TlsAcceptThenClose(certs)
    client = LineReader("--reconnect", "--reconnect-min-ms", "50", "--reconnect-max-ms", "100",
                        "--ca", certs["ca.crt"], f"wss://localhost:{server.port}/")
    try:
        ups = 0
        deadline = time.time() + 30 * SLOW
        while ups < 5 and time.time() < deadline:
            if client.next(10) == "up":
                ups += 1
        assert ups == 5
        assert server.reused[:5] == [False, True, True, True, True], server.reused
    finally:
        client.stop()
        server.close()


# ---- the reconnecting client ----------------------------------------------------------------

class LineReader:
    """A running client app with its stdin open and its output lines in a queue."""

    def __init__(self, *args):
        import queue
        self.proc = subprocess.Popen(RUNNER + [os.path.join(BIN, "ws-client"), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        threading.Thread(target=self.pump, daemon=True).start()

    def pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode(errors="replace").rstrip("\n"))

    def next(self, timeout):
        return self.lines.get(timeout=timeout * SLOW)

    def wait_for(self, wanted, timeout):
        """Skips other lines (refused connects while down) until `wanted`."""
        deadline = time.time() + timeout * SLOW
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.time()))
            if line == wanted:
                return
            assert line.startswith("error: connect:") or line in ("up", "down"), line

    def send(self, line):
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(10 * SLOW)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_reconnecting_client_comes_back_within_the_backoff(start_server):
    port = free_port()
    server = start_server("echo-server", "--listen", f"http://127.0.0.1:{port}")
    client = LineReader("--reconnect", "--reconnect-min-ms", "100", "--reconnect-max-ms", "400",
                        f"ws://127.0.0.1:{port}/raw")
    try:
        client.wait_for("up", 10)
        client.send(b"before")
        assert client.next(5) == "before"
        server.stop()
        client.wait_for("down", 10)
        time.sleep(1.0)                  # refused connects meanwhile; the wait doubles to its cap
        start_server("echo-server", "--listen", f"http://127.0.0.1:{port}")
        restarted = time.time()
        client.wait_for("up", 5)
        # The cap is 400 ms (+25 % jitter); the server's own start-up is in there too.
        assert time.time() - restarted < 0.5 + 2 * SLOW
        client.send(b"after")
        assert client.next(5) == "after"
    finally:
        client.stop()


def test_a_hundred_reconnects_keep_memory_flat(raw_server):
    def accept_then_close(conn, request):
        conn.sendall(upgrade_answer(request))
        conn.sendall(bytes([0x88, 0x02, 0x03, 0xE8]))   # close 1000, then the socket closes
        time.sleep(0.05)
    s = raw_server(accept_then_close)
    client = LineReader("--reconnect", "--reconnect-min-ms", "10", "--reconnect-max-ms", "20",
                        f"ws://127.0.0.1:{s.port}/")
    from conftest import rss_kb
    try:
        ups = 0
        rss = {}
        deadline = time.time() + 120 * SLOW
        while ups < 110 and time.time() < deadline:
            line = client.next(10)
            if line == "up":
                ups += 1
                if ups in (10, 60, 110):
                    rss[ups] = rss_kb(client.proc.pid)
        assert ups == 110
        # A leak grows both halves; a one-off step (qemu's code cache, a malloc arena
        # under load: 2 MiB once in a full run) grows one. 128 kB a half is 2.5 kB a
        # reconnect.
        first, second = rss[60] - rss[10], rss[110] - rss[60]
        assert min(first, second) < 128, f"RSS grew {first} kB, then {second} kB, over 50 reconnects each"
    finally:
        client.stop()


def test_fetch_repeats_on_one_keep_alive_connection(start_server):
    s = start_server("echo-server")
    code, out = run("fetch", "--repeat", "50", "--method", "POST", "--data", "again", f"http://127.0.0.1:{s.port()}/e")
    assert (code, out) == (0, "status 200\nagain")


@pytest.mark.skipif(RUNNER != [], reason="the LD_PRELOAD counter is built for the host")
def test_http_client_requests_allocate_nothing_per_request(start_server, tmp_path):
    """The whole process's allocations for 10 requests and for 510 on one connection are
    the same: the HTTP client allocates nothing per request or response."""
    from conftest import ROOT
    s = start_server("echo-server")
    counts = []
    for n in (10, 510):
        report = tmp_path / f"count{n}"
        out = subprocess.run([os.path.join(BIN, "fetch"), "--repeat", str(n), "--method", "POST", "--data", "x" * 300,
                              f"http://127.0.0.1:{s.port()}/e"], capture_output=True, timeout=60,
                             env={**os.environ, "LD_PRELOAD": os.path.join(ROOT, "build", "malloccount.so"),
                                  "MALLOCCOUNT_FILE": str(report), "MALLOCCOUNT_AT_EXIT": "1"})
        assert out.returncode == 0 and out.stdout == b"status 200\n" + b"x" * 300
        counts.append(int(report.read_text().split()[1]))
    assert counts[0] == counts[1], f"{counts[1] - counts[0]} allocations over 500 more requests"
