"""Cross-origin and DNS-rebinding protection (issue 24, items 5 and 8), with raw requests
as a browser would send them: a state-changing request from another origin (its
`Origin`, or `Sec-Fetch-Site` alone) gets 403 and changes nothing; the same origin and
clients that send neither (curl, scripts) are served; a WebSocket upgrade from another
origin gets 403; device-app answers only to its own names (421 for a rebinding Host);
chat-server takes an --origin allow-list. device-app is provisioned and logged in first
(its session cookie on every request), so what is refused here is the origin, not the
lack of a session. Every board (under qemu for ARM)."""
import json
import os
import socket
import subprocess

import pytest
import websocket

from conftest import RUNNER, SLOW, RawClient, start_counted, start_device

EVIL = "http://evil.example:8000"


def request(s, method, path, headers=(), body=b"", host=None):
    """One request on a fresh connection: (status, body)."""
    c = RawClient(s.connect())
    head = f"{method} {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{s.port()}'}\r\nConnection: close\r\n"
    if getattr(s, "cookie", None):
        head += f"Cookie: {s.cookie}\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    if body or method in ("POST", "PUT", "PATCH"):
        head += f"Content-Length: {len(body)}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    c.send(head.encode() + b"\r\n" + body)
    status, _, answer = c.response()
    c.close()
    return status, answer


def settings(s):
    status, body = request(s, "GET", "/api/settings")
    assert status == 200
    return json.loads(body)


@pytest.fixture
def device(start_server, tmp_path):
    return start_device(start_server, "--dir", str(tmp_path))


@pytest.mark.parametrize("header", [
    ("Origin", EVIL), ("Origin", "null"), ("Origin", "https://127.0.0.1"),
    ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site"),
], ids=["foreign-origin", "null-origin", "other-scheme", "cross-site", "same-site"])
def test_cross_origin_settings_post_is_refused_and_changes_nothing(device, header):
    before = settings(device)
    for method in ("POST", "PUT", "DELETE"):
        status, body = request(device, method, "/api/settings", [header], b"name=pwned&interval=7")
        assert (status, body) == (403, b"Cross-origin request refused\n"), method
    assert settings(device) == before
    assert device.alive()


def test_same_origin_and_non_browser_posts_are_served(device, tmp_path):
    own = f"http://127.0.0.1:{device.port()}"
    assert request(device, "POST", "/api/settings", [("Origin", own)], b"name=kitchen&interval=5")[0] == 200
    assert settings(device)["name"] == "kitchen"
    assert request(device, "POST", "/api/settings", [("Sec-Fetch-Site", "same-origin")], b"name=hall&interval=5")[0] == 200
    assert settings(device)["name"] == "hall"
    # curl sends neither header: not a browser, so the library serves it; device-app
    # itself wants its writes to show they come from its page (test_device_access.py),
    # so there it takes the dashboard's Origin.
    cookie = ["-b", device.cookie]
    out = subprocess.run(["curl", "-s", *cookie, "-d", "name=porch&interval=6", f"{own}/api/settings"],
                         capture_output=True, check=True).stdout
    assert "Origin" in json.loads(out)["error"] and settings(device)["name"] == "hall"
    out = subprocess.run(["curl", "-s", *cookie, "-H", f"Origin: {own}", "-d", "name=porch&interval=6", f"{own}/api/settings"],
                         capture_output=True, check=True).stdout
    assert json.loads(out)["name"] == "porch" == settings(device)["name"]


def test_cross_origin_upload_is_refused(device, tmp_path):
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\nhello\r\n--b--\r\n')
    c = RawClient(device.connect())
    c.send(b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + device.cookie.encode() + b"\r\nOrigin: " + EVIL.encode()
           + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert c.response()[0] == 403
    c.close()
    assert os.listdir(tmp_path / "uploads") == []


def upgrade_status(s, path, origin, host=None):
    c = RawClient(s.connect())
    head = (f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{s.port()}'}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
    if origin:
        head += f"Origin: {origin}\r\n"
    if getattr(s, "cookie", None):
        head += f"Cookie: {s.cookie}\r\n"
    c.send(head.encode() + b"\r\n")
    status = c.response(head_only=True)[0]
    c.close()
    return status


def test_websocket_upgrade_checks_origin(device):
    assert upgrade_status(device, "/ws/live", EVIL) == 403
    assert upgrade_status(device, "/ws/live", f"http://127.0.0.1:{device.port()}") == 101
    assert upgrade_status(device, "/ws/live", None) == 101
    # websocket-client sends the URL's own origin: served, the dashboard's case.
    ws = websocket.create_connection(f"ws://127.0.0.1:{device.port()}/ws/live", cookie=device.cookie, timeout=10 * SLOW)
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://127.0.0.1:{device.port()}/ws/live", origin=EVIL, cookie=device.cookie,
                                    timeout=10 * SLOW)
    assert refused.value.status_code == 403


def test_host_allow_list_refuses_rebinding_names(start_server, tmp_path):
    s = start_device(start_server, "--dir", str(tmp_path), "--host", "kitchen.lan,porch.lan", "--host", "attic")
    port = s.port()
    # A rebinding page: evil.example now resolves to the board, but the browser still
    # sends its own name as Host.
    status, body = request(s, "GET", "/api/status", host=f"evil.example:{port}")
    assert status == 421 and body.startswith(b"Unknown Host")
    assert request(s, "POST", "/api/settings", host="evil.example", body=b"name=x&interval=3")[0] == 421
    assert upgrade_status(s, "/ws/live", None, host=f"evil.example:{port}") == 421
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}", "192.168.1.20",
                 f"{socket.gethostname()}:{port}", f"kitchen.lan:{port}", "PORCH.LAN", "attic"):
        assert request(s, "GET", "/api/status", host=host)[0] == 200, host
    assert settings(s)["name"] != "x"


def chat(s, origin=None, suppress=False):
    return websocket.create_connection(f"ws://127.0.0.1:{s.port()}/ws", origin=origin,
                                       suppress_origin=suppress, timeout=10 * SLOW)


def test_chat_refuses_other_sites_unless_allowed(start_server):
    s = start_server("chat-server")
    chat(s).close()                  # the page's own origin
    chat(s, suppress=True).close()   # no Origin: not a browser
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        chat(s, origin=EVIL)
    assert refused.value.status_code == 403

    allowed = start_server("chat-server", "--origin", "http://localhost:9000,https://chat.example",
                           "--origin", EVIL)
    for origin in ("http://localhost:9000", "https://chat.example", "https://chat.example:443", EVIL):
        chat(allowed, origin=origin).close()
    for origin in ("http://localhost:9001", "http://chat.example", "null"):
        with pytest.raises(websocket.WebSocketBadStatusException):
            chat(allowed, origin=origin)

    anyone = start_server("chat-server", "--origin", "*")
    chat(anyone, origin=EVIL).close()


def test_echo_server_refuses_cross_origin_writes_by_default(start_server):
    s = start_server()
    assert request(s, "POST", "/echo", [("Origin", EVIL)], b"hello") == (403, b"Cross-origin request refused\n")
    assert request(s, "POST", "/echo", [("Origin", f"http://127.0.0.1:{s.port()}")], b"hello") == (200, b"hello")
    # A GET from another site is left to the browser's own rules (CORS): it changes nothing.
    assert request(s, "GET", "/", [("Origin", EVIL)])[0] == 200


@pytest.mark.skipif(RUNNER != [], reason="LD_PRELOAD counter is for the host build (qemu runs a foreign libc)")
def test_same_origin_checks_allocate_nothing(start_server, tmp_path):
    s, count = start_counted(start_server, tmp_path)
    c = RawClient(s.connect())
    own = b"http://127.0.0.1:%d" % s.port()
    post = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\nSec-Fetch-Site: same-origin\r\n"
            b"Content-Length: 5\r\n\r\nhello" % (s.port(), own))
    for _ in range(100):  # warm-up
        c.send(post)
        assert c.response()[0] == 200
    before = count()
    for _ in range(5000):
        c.send(post)
        assert c.response()[2] == b"hello"
    after = count()
    c.close()
    print(f"allocations during 5,000 same-origin POSTs: {after - before}")
    assert after - before == 0


ATTACKER_PAGE = """<!doctype html><title>elsewhere</title>
<iframe name="sink"></iframe>
<form id="f" method="POST" target="sink" action="{device}/api/settings">
<input name="name" value="formed"><input name="interval" value="9"></form>
<script>
document.body.dataset.ws = "pending";
document.getElementById("f").submit();
fetch("{device}/api/settings", {{method: "POST", mode: "no-cors", body: new URLSearchParams("name=fetched&interval=8")}})
  .then(() => document.body.dataset.fetch = "sent", () => document.body.dataset.fetch = "failed");
const ws = new WebSocket("{ws}/ws/live");
ws.onopen = () => document.body.dataset.ws = "open";
ws.onclose = () => {{ if (document.body.dataset.ws === "pending") document.body.dataset.ws = "refused"; }};
</script>"""


def test_a_page_from_another_origin_changes_nothing_in_chromium(device, tmp_path):
    """Headless Chromium, logged in to the board, opens a page served by a second local
    server (another port, so another origin) that posts the settings as a form and with
    fetch, and opens the board's WebSocket: all refused, the settings unchanged; and
    reads the status through a rebinding name (421)."""
    import http.server
    import threading

    from test_browser import browser, wait_for
    from test_dashboard import log_in

    page = ATTACKER_PAGE.format(device=f"http://127.0.0.1:{device.port()}", ws=f"ws://127.0.0.1:{device.port()}")

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    before = settings(device)
    # rebind.test resolves to the board, as a DNS-rebinding attacker's name would.
    d = browser("--host-resolver-rules=MAP rebind.test 127.0.0.1")
    try:
        # The owner is logged in to the board in this very browser: its cookie is there.
        d.get(f"http://127.0.0.1:{device.port()}/")
        log_in(d)
        d.get(f"http://localhost:{elsewhere.server_port}/")
        assert wait_for(lambda: d.execute_script("return document.body.dataset.ws") == "refused")
        assert wait_for(lambda: d.execute_script("return document.body.dataset.fetch") is not None)
        wait_for(lambda: False, 1)  # the form's navigation has had its time too
        # Read the status through the rebinding name: the board does not answer to it.
        d.get(f"http://rebind.test:{device.port()}/api/status")
        text = d.execute_script("return document.body.innerText")
        assert text.startswith("Unknown Host") and "uptime" not in text, text
    finally:
        d.quit()
        elsewhere.shutdown()
    assert settings(device) == before
