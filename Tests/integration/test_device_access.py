"""device-app locked to its owner (issue 24 item 7): first boot is a setup (only the setup
page and its assets; every /api/* 403), --password-file provisions the password, the
record is PBKDF2 in a 0600 file with no cleartext there or in the log, login with
throttling, every /api/* and /ws/live needs a session (401, upgrade refused), writes need
a same-origin request, logout, a strict CSP on every page. Real sockets, curl and
websocket-client; every board (under qemu for ARM). Logins: one per module where it can."""
import json
import os
import re
import signal
import socket
import stat
import subprocess

import pytest
import websocket

from conftest import DEVICE_PASSWORD, ROOT, SLOW, RawClient, Server, device_login, device_record

WEB = os.path.join(ROOT, "web", "device")
OWNER = "correct horse battery"


def request(server, method, path, headers=(), body=b"", source=None):
    """One request on its own connection (from `source`, an address on lo, if given):
    (status, headers, body)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10 * SLOW)
    if source:
        sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port()))
    c = RawClient(sock)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port()}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers]
    c.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    answer = c.response()
    sock.close()
    return answer


def json_post(server, path, obj, headers=(), source=None):
    return request(server, "POST", path, [("Content-Type", "application/json"), *headers], json.dumps(obj).encode(),
                   source=source)


def upgrade(server, headers=()):
    """The status a WebSocket upgrade of /ws/live gets."""
    return request(server, "GET", "/ws/live", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                               ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                               ("Sec-WebSocket-Version", "13"), *headers])[0]


def log_of(server):
    """What the app printed so far (its stdout and stderr), once it has stopped."""
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=10 * SLOW)
    return server.proc.stdout.read()


API = [("GET", "/api/status"), ("GET", "/api/settings"), ("POST", "/api/settings"), ("POST", "/api/upload"),
       ("GET", "/api/anything")]


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """One provisioned device-app for the module, and one login (its cookie)."""
    folder = tmp_path_factory.mktemp("device")
    (folder / "provisioned").write_text(device_record())
    s = Server("device-app", "--listen", "http://127.0.0.1:0", "--dir", str(folder),
               "--password-file", str(folder / "provisioned"))
    s.cookie = device_login(s)
    s.origin = f"http://127.0.0.1:{s.port()}"
    yield s
    assert s.alive()
    s.stop()


def test_first_boot_serves_only_the_setup_page(start_server, tmp_path):
    s = start_server("device-app", "--dir", str(tmp_path))
    for path in ("/", "/index.html", "/app.js", "/login.html", "/nothing"):
        status, h, _ = request(s, "GET", path)
        assert (status, h.get("location")) == (303, "/setup.html"), path
    for path in ("/setup.html", "/auth.js", "/style.css", "/favicon.svg"):
        assert request(s, "GET", path)[0] == 200, path
    for method, path in API + [("POST", "/api/login")]:
        status, _, body = request(s, method, path, [("Origin", f"http://127.0.0.1:{s.port()}")])
        assert status == 403 and b"/setup.html" in body, (method, path)
    assert upgrade(s) == 403


def test_the_first_visitor_sets_the_password_and_is_logged_in(start_server, tmp_path):
    s = start_server("device-app", "--dir", str(tmp_path))
    own = [("Origin", f"http://127.0.0.1:{s.port()}")]
    assert json_post(s, "/api/setup", {"password": OWNER}, [("Origin", "http://evil.example")])[0] == 403
    assert json_post(s, "/api/setup", {"password": OWNER})[0] == 403          # not from the board's page
    assert json_post(s, "/api/setup", {"password": "short"}, own)[0] == 400
    assert not (tmp_path / "password").exists()
    status, h, body = json_post(s, "/api/setup", {"password": OWNER}, own)
    assert status == 200 and h["set-cookie"].startswith("session=")
    cookie = h["set-cookie"].split(";")[0]
    assert request(s, "GET", "/api/status", [("Cookie", cookie)])[0] == 200
    # Once set, setup is closed; the page is the dashboard again.
    assert json_post(s, "/api/setup", {"password": "another password"}, own)[0] == 403
    assert request(s, "GET", "/")[0] == 200
    record = tmp_path / "password"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    text = record.read_bytes()
    assert text.startswith(b"pbkdf2-sha256$") and OWNER.encode() not in text
    # A restart keeps the password, not the session.
    s.stop()
    s = start_server("device-app", "--dir", str(tmp_path))
    assert request(s, "GET", "/api/status", [("Cookie", cookie)])[0] == 401
    assert device_login(s, OWNER).startswith("session=")
    log = log_of(s)
    assert OWNER.encode() not in log and b"pbkdf2" not in log


def test_password_file_provisions_the_password(start_server, tmp_path):
    clear = tmp_path / "factory-password"
    clear.write_text("provisioned secret\n")
    s = start_server("device-app", "--dir", str(tmp_path), "--password-file", str(clear))
    assert request(s, "GET", "/")[0] == 200                                   # no setup
    assert json_post(s, "/api/setup", {"password": OWNER}, [("Origin", f"http://127.0.0.1:{s.port()}")])[0] == 403
    assert device_login(s, "provisioned secret").startswith("session=")
    record = tmp_path / "password"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert b"provisioned secret" not in record.read_bytes()
    assert b"provisioned secret" not in log_of(s)


def test_a_password_file_too_short_is_refused(tmp_path):
    from conftest import BIN, RUNNER
    (tmp_path / "p").write_text("short\n")
    out = subprocess.run(RUNNER + [os.path.join(BIN, "device-app"), "--listen", "http://127.0.0.1:0", "--dir",
                                   str(tmp_path), "--password-file", str(tmp_path / "p")],
                         capture_output=True, timeout=60 * SLOW)
    assert out.returncode == 2 and b"--password-file" in out.stdout and b"short" not in out.stdout


def test_without_a_session_every_api_route_gets_401_and_the_socket_is_refused(device):
    for cookie in (None, "session=forged-token-forged-token-forged-token-forged", "other=x"):
        headers = [("Origin", device.origin)] + ([("Cookie", cookie)] if cookie else [])
        for method, path in API:
            status, h, body = request(device, method, path, headers)
            assert status == 401 and json.loads(body)["error"].startswith("log in first"), (method, path, cookie)
        assert upgrade(device, headers) == 401
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(f"ws://127.0.0.1:{device.port()}/ws/live", timeout=10 * SLOW)


def routes_in_the_source():
    """Every /api/ and /ws/ path device-app's sources name (a new route cannot be left out
    of the test below), less the three anyone may call."""
    found = set()
    for name in os.listdir(os.path.join(ROOT, "Sources", "device-app")):
        text = open(os.path.join(ROOT, "Sources", "device-app", name)).read()
        found |= set(re.findall(r'"(/(?:api|ws)/[a-z/]+)"', text))
    return sorted(found - {"/api/", "/api/setup", "/api/login", "/api/logout"})


def test_every_route_in_the_source_needs_a_session(device):
    routes = routes_in_the_source()
    assert {"/api/status", "/api/settings", "/api/upload", "/ws/live"} <= set(routes)
    for path in routes:
        for method in ("GET", "POST", "PUT", "DELETE"):
            status = request(device, method, path, [("Origin", device.origin)])[0]
            assert status == 401, (method, path, status)
        assert upgrade(device) == 401


def test_a_session_works_for_the_api_and_the_live_socket(device):
    status, _, body = request(device, "GET", "/api/status", [("Cookie", device.cookie)])
    assert status == 200 and "uptime" in json.loads(body)
    ws = websocket.create_connection(f"ws://127.0.0.1:{device.port()}/ws/live", cookie=device.cookie,
                                     timeout=10 * SLOW)
    assert "cpu" in json.loads(ws.recv())
    ws.close()


def test_writes_need_a_same_origin_request_as_well(device):
    cookie = [("Cookie", device.cookie)]
    assert json_post(device, "/api/settings", {"name": "a", "interval": 5}, cookie)[0] == 403
    assert json_post(device, "/api/settings", {"name": "b", "interval": 5}, cookie + [("Origin", "http://evil.example")])[0] == 403
    status, _, body = json_post(device, "/api/settings", {"name": "kitchen", "interval": 7}, cookie + [("Origin", device.origin)])
    assert (status, json.loads(body)) == (200, {"name": "kitchen", "interval": 7})
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    assert request(device, "POST", "/api/settings", cookie + form, b"name=porch&interval=6")[0] == 403
    status, _, body = request(device, "POST", "/api/settings", cookie + form + [("Sec-Fetch-Site", "same-origin")],
                              b"name=porch&interval=6")
    assert (status, json.loads(body)["name"]) == (200, "porch")
    upload = [("Content-Type", "multipart/form-data; boundary=b")]
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhi\r\n--b--\r\n'
    assert request(device, "POST", "/api/upload", cookie + upload, part)[0] == 403
    assert request(device, "POST", "/api/upload", cookie + upload + [("Origin", device.origin)], part)[0] == 200
    for method in ("PUT", "DELETE"):
        for path in ("/api/settings", "/api/status"):
            assert request(device, method, path, cookie + [("Origin", device.origin)])[0] == 405, (method, path)


def test_every_page_has_a_strict_csp_and_no_inline_script(device):
    for path in ("/", "/login.html", "/setup.html", "/app.js", "/style.css"):
        status, h, _ = request(device, "GET", path)
        csp = h["content-security-policy"]
        assert status == 200 and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and h["x-content-type-options"] == "nosniff", path
    for name in os.listdir(WEB):
        if name.endswith(".html"):
            page = open(os.path.join(WEB, name)).read()
            assert not re.search(r"<script(?![^>]*\bsrc=)", page), name    # every script is a file
            assert not re.search(r"\son\w+=|\sstyle=", page), name            # no handler or style attributes


def test_wrong_passwords_are_throttled_while_the_owner_logs_in(device):
    guesses = [json_post(device, "/api/login", {"password": f"guess {i}"}, source="127.0.0.2") for i in range(6)]
    assert [g[0] for g in guesses[:4]] == [401] * 4
    assert guesses[5][0] == 429 and int(guesses[5][1]["retry-after"]) >= 1
    assert device_login(device).startswith("session=")                     # another address is not slowed


def test_logout_ends_the_session(device):
    cookie = device_login(device, DEVICE_PASSWORD)
    assert request(device, "GET", "/api/settings", [("Cookie", cookie)])[0] == 200
    status, h, _ = request(device, "POST", "/api/logout", [("Cookie", cookie), ("Origin", device.origin)])
    assert status == 200 and "Max-Age=0" in h["set-cookie"]
    assert request(device, "GET", "/api/settings", [("Cookie", cookie)])[0] == 401
    assert request(device, "GET", "/api/settings", [("Cookie", device.cookie)])[0] == 200   # others stay
