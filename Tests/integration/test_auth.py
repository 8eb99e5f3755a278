"""HTTP auth (issue 24 item 2) against the real firmware: echo-server's /auth demo route
reads Basic, Bearer, a cookie or `access_token` (hm.withCredentials) and answers 401 with
a Basic challenge (conn.replyAuthRequired) otherwise; curl and Meerkat's own fetch
(httpRequest(auth:)) are the clients. Bad credentials (bad base64, no colon, a huge
header) get a clear status and never take the server down. Every board (under qemu for
ARM); the allocation count is host only."""
import base64
import os
import subprocess

import pytest

from conftest import BIN, RUNNER, SLOW, RawClient, start_counted

WRONG = 'Basic realm="echo-server", charset="UTF-8"'


def curl(port, *args, path="/auth"):
    """curl against the server: (status, WWW-Authenticate or None, body)."""
    out = subprocess.run(["curl", "-s", "-i", "--max-time", str(20 * SLOW), *args,
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, timeout=30 * SLOW)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    challenge = next((line.split(":", 1)[1].strip() for line in lines[1:]
                      if line.lower().startswith("www-authenticate:")), None)
    return int(lines[0].split()[1]), challenge, body.decode()


def test_basic_and_bearer_from_curl(start_server):
    s = start_server("echo-server")
    port = s.port()
    assert curl(port, "-u", "meerkat:s3cret") == (200, None, "hello meerkat (basic)\n")
    assert curl(port, "-H", "Authorization: Bearer t0k3n-demo") == (200, None, "hello (bearer)\n")
    assert curl(port, "--oauth2-bearer", "t0k3n-demo") == (200, None, "hello (bearer)\n")
    assert curl(port, "-b", "theme=dark; token=t0k3n-demo") == (200, None, "hello (cookie)\n")
    assert curl(port, path="/auth?access_token=t0k3n-demo") == (200, None, "hello (access_token)\n")
    # Missing or wrong: 401 with the challenge a browser turns into a login box.
    assert curl(port) == (401, WRONG, "Unauthorized\n")
    assert curl(port, "-u", "meerkat:wrong") == (401, WRONG, "Unauthorized\n")
    assert curl(port, "-u", "meerkat:s3cre") == (401, WRONG, "Unauthorized\n")
    assert curl(port, "-u", "Meerkat:s3cret") == (401, WRONG, "Unauthorized\n")
    assert curl(port, "-H", "Authorization: Bearer t0k3n-dem0") == (401, WRONG, "Unauthorized\n")
    # curl asks first without credentials and answers the challenge when told to (--anyauth).
    out = subprocess.run(["curl", "-s", "--anyauth", "-u", "meerkat:s3cret", "-w", " %{http_code}",
                          f"http://127.0.0.1:{port}/auth"], capture_output=True, timeout=30 * SLOW).stdout
    assert out == b"hello meerkat (basic)\n 200"
    assert s.alive()


@pytest.mark.parametrize("value", [
    "Basic bWVlcmthdDpzM2NyZXQ",              # unpadded base64
    "Basic bWVlcmthdDpzM2NyZXQ=!",            # a byte outside the alphabet
    "Basic bWVlcmthdDpzM2NyZXR=",             # non-canonical trailing bits
    "Basic bWVlcmthdHMzY3JldA==",             # "meerkats3cret": no colon
    "Basic " + "QUFB" * 500,                  # 1,500 bytes decoded: more than a login holds
    "Basic",                                  # no value
    "Digest username=\"meerkat\"",            # a scheme not offered
    "Bearer t0k3n demo",                      # not a token
])
def test_unreadable_credentials_get_401(start_server, value):
    s = start_server("echo-server")
    assert curl(s.port(), "-H", f"Authorization: {value}") == (401, WRONG, "Unauthorized\n")
    assert curl(s.port(), "-u", "meerkat:s3cret") == (200, None, "hello meerkat (basic)\n")  # still serving


def test_a_header_larger_than_the_receive_buffer_gets_431(start_server):
    s = start_server("echo-server")
    status, _, _ = curl(s.port(), "-H", "Authorization: Basic " + "QUFB" * 5_000)  # 20 KB, as test_http.py's oversize head
    assert status == 431
    assert curl(s.port(), "-u", "meerkat:s3cret")[0] == 200


def run_fetch(*args):
    out = subprocess.run(RUNNER + [os.path.join(BIN, "fetch"), *args], capture_output=True, timeout=30 * SLOW)
    return out.returncode, out.stdout.decode(errors="replace")


def test_meerkats_client_sends_basic_and_bearer(start_server):
    s = start_server("echo-server")
    url = f"http://127.0.0.1:{s.port()}/auth"
    assert run_fetch("--user", "meerkat:s3cret", url) == (0, "status 200\nhello meerkat (basic)\n")
    assert run_fetch("--bearer", "t0k3n-demo", url) == (0, "status 200\nhello (bearer)\n")
    assert run_fetch("--user", "meerkat:nope", url)[1].startswith("status 401")
    assert run_fetch("--user", "no-colon", url)[0] == 2  # usage error, nothing sent


def test_the_client_header_is_rfc7617(tmp_path):
    """fetch against a raw socket: the Authorization line is exactly RFC 7617's."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    seen = []

    def serve():
        c, _ = srv.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += c.recv(4096)
        seen.append(data)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        c.close()
    t = threading.Thread(target=serve)
    t.start()
    code, _ = run_fetch("--user", "Aladdin:open sesame", f"http://127.0.0.1:{srv.getsockname()[1]}/")
    t.join(10)
    srv.close()
    assert code == 0
    expected = base64.b64encode(b"Aladdin:open sesame")
    assert b"\r\nAuthorization: Basic " + expected + b"\r\n" in seen[0]
    assert expected == b"QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


@pytest.mark.skipif(RUNNER != [], reason="LD_PRELOAD counter is for the host build (qemu runs a foreign libc)")
def test_authenticated_keep_alive_requests_allocate_nothing(start_server, tmp_path):
    s, count = start_counted(start_server, tmp_path)
    c = RawClient(s.connect())
    basic = base64.b64encode(b"meerkat:s3cret")
    requests = [
        b"GET /auth HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + basic + b"\r\n\r\n",
        b"GET /auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0k3n-demo\r\n\r\n",
        b"GET /auth HTTP/1.1\r\nHost: x\r\nCookie: a=b; token=t0k3n-demo\r\n\r\n",
        b"GET /auth?access_token=t0k3n-demo HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for _ in range(50):  # warm-up
        for r in requests:
            c.send(r)
            assert c.response()[0] == 200
    before = count()
    for _ in range(1000):
        for r in requests:
            c.send(r)
            assert c.response()[0] == 200
    after = count()
    c.close()
    print(f"allocations during 4,000 authenticated keep-alive requests: {after - before}")
    assert after - before == 0
