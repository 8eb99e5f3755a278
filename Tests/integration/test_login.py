"""Login sessions and throttling (issue 24 items 3 and 4) against the real firmware:
echo-server's POST /login (a PBKDF2 password record, `manager.sessionStart`, the session
cookie), GET /private (`manager.session(for:)`), POST /logout, with the failed-login
throttle (`loginRetryAfter`/`loginFailed`, 429 + Retry-After). Clients are Python's
http.client; a guesser binds 127.0.0.2 or 127.0.0.3 as its source (Linux takes any
127/8 source), so it is another address than the owner's 127.0.0.1. Every board (under
qemu for ARM); the allocation count is host only."""
import http.client
import ssl
import threading
import time

import pytest

from conftest import RUNNER, SLOW, RawClient, start_counted

RIGHT = "user=meerkat&password=s3cret"
WRONG = "user=meerkat&password=guess"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def connection(port, source="127.0.0.1"):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=20 * SLOW, source_address=(source, 0))


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers={**(headers or {}), **(FORM if body else {})})
    r = conn.getresponse()
    return r.status, r.getheader("Set-Cookie"), r.getheader("Retry-After"), r.read().decode()


def token_of(set_cookie):
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def test_login_private_logout(start_server):
    s = start_server("echo-server")
    c = connection(s.port())
    assert call(c, "GET", "/private")[0] == 401
    assert call(c, "POST", "/login", WRONG)[0] == 401
    status, cookie, _, body = call(c, "POST", "/login", RIGHT)
    assert (status, body) == (200, "logged in\n")
    token = token_of(cookie)
    assert len(token) == 43  # 32 random bytes, base64url
    assert cookie == f"session={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"  # no Secure on http
    session = {"Cookie": "session=" + token}
    assert call(c, "GET", "/private", headers=session)[::3] == (200, "meerkat")
    # A second login is another session with another token.
    other = token_of(call(connection(s.port()), "POST", "/login", RIGHT)[1])
    assert other != token
    status, cookie, _, _ = call(c, "POST", "/logout", "x", headers=session)
    assert (status, cookie) == (200, "session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    assert call(c, "GET", "/private", headers=session)[0] == 401
    assert call(c, "GET", "/private", headers={"Cookie": "session=" + other})[0] == 200
    # A token one character off is not a session.
    forged = other[:-1] + ("A" if other[-1] != "A" else "B")
    assert call(c, "GET", "/private", headers={"Cookie": "session=" + forged})[0] == 401
    assert s.alive()


def test_cookie_is_secure_over_tls(start_server, certs):
    s = start_server("echo-server", "--listen", "https://127.0.0.1:0", "--cert", certs["server.crt"],
                     "--key", certs["server.key"])
    ctx = ssl.create_default_context(cafile=certs["ca.crt"])
    c = http.client.HTTPSConnection("127.0.0.1", s.port(), context=ctx, timeout=20 * SLOW)
    status, cookie, _, _ = call(c, "POST", "/login", RIGHT)
    assert status == 200
    assert cookie.endswith("; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200; Secure")


def test_wrong_passwords_get_a_growing_delay(start_server):
    s = start_server("echo-server")
    c = connection(s.port(), "127.0.0.3")
    # Four failures are answered 401 (the fourth sets the first delay)…
    assert [call(c, "POST", "/login", WRONG)[0] for _ in range(4)] == [401] * 4
    # …then 429 with Retry-After, even with the right password: the try is not checked.
    assert call(c, "POST", "/login", RIGHT)[::2] == (429, "1")
    time.sleep(1.2)
    assert call(c, "POST", "/login", WRONG)[0] == 401
    assert call(c, "POST", "/login", WRONG)[::2] == (429, "2")  # twice as long after the fifth
    # Another address is not held back.
    assert call(connection(s.port()), "POST", "/login", RIGHT)[0] == 200


@pytest.mark.timing   # the owner's logins within 1 s
def test_guesser_is_throttled_while_owner_logs_in(start_server):
    s = start_server("echo-server")
    port = s.port()
    statuses = []
    first_refusal = threading.Event()

    def guess():
        c = connection(port, "127.0.0.2")
        for _ in range(1000):
            statuses.append(call(c, "POST", "/login", WRONG)[0])
            if statuses[-1] == 429:
                first_refusal.set()

    t = threading.Thread(target=guess)
    started = time.monotonic()
    t.start()
    logins = []
    # The owner logs in over and over while the guesses go on (the first ones are
    # checked, each a PBKDF2 on the loop; then they are refused cheaply).
    while not logins or (t.is_alive() and len(logins) < 5):
        begin = time.monotonic()
        status, cookie, _, _ = call(connection(port), "POST", "/login", RIGHT)
        logins.append(time.monotonic() - begin)
        assert status == 200 and cookie.startswith("session=")
    t.join(120 * SLOW)
    assert first_refusal.is_set()
    took = time.monotonic() - started
    print(f"1,000 guesses in {took:.2f} s: {statuses.count(401)} checked (401), {statuses.count(429)} refused (429); "
          f"owner's {len(logins)} logins meanwhile took {min(logins) * 1000:.0f}-{max(logins) * 1000:.0f} ms")
    assert len(statuses) == 1000 and set(statuses) <= {401, 429}
    # Four free, then one each time a delay (1, 2, 4 … s) has run out.
    assert 4 <= statuses.count(401) <= 4 + max(1, int(took).bit_length())
    assert logins and max(logins) < 1.0
    assert s.alive()


@pytest.mark.skipif(RUNNER != [], reason="LD_PRELOAD counter is for the host build (qemu runs a foreign libc)")
def test_authenticated_keep_alive_requests_allocate_nothing(start_server, tmp_path):
    s, count = start_counted(start_server, tmp_path)
    token = token_of(call(connection(s.port()), "POST", "/login", RIGHT)[1])
    c = RawClient(s.connect())
    request = b"GET /private HTTP/1.1\r\nHost: x\r\nCookie: theme=dark; session=" + token.encode() + b"\r\n\r\n"
    for _ in range(50):  # warm-up
        c.send(request)
        assert c.response()[0] == 200
    before = count()
    for _ in range(2000):
        c.send(request)
        assert c.response()[0] == 200
    after = count()
    c.close()
    print(f"allocations during 2,000 authenticated keep-alive requests: {after - before}")
    assert after - before == 0
