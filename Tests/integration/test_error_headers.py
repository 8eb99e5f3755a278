"""Security headers on every answer that is not a page (issue 24): the library's own
errors and refusals (serveDir's 403/404/405, 400, 413, 421, 403, 429, the busy 503) and
device-app's JSON errors and its setup redirect carry `Content-Security-Policy:
default-src 'none'; frame-ancestors 'none'`, `X-Content-Type-Options: nosniff` and
`Referrer-Policy: no-referrer`, as its pages do. Checked with curl, as a user would;
every board (under qemu for ARM). The device-app statuses come from its sources, so a
new error answer there cannot be left out."""
import base64
import json
import os
import pathlib
import re
import socket
import subprocess
import time

import pytest

from conftest import BOARD, ROOT, SLOW, device_login, device_record, malloc_counter, start_device
from test_device_access import device  # noqa: F401 (the module's logged-in device-app)

ERROR_HEADERS = {"content-security-policy": "default-src 'none'; frame-ancestors 'none'",
                 "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
SOURCES = pathlib.Path(__file__).resolve().parents[2] / "Sources"
WS = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
      ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]


def curl(server, method, path, headers=(), data=None, source=None):
    """curl's answer: (status, headers in lower case)."""
    cmd = ["curl", "-s", "-i", "--path-as-is", "--max-time", str(10 * SLOW), "-X", method]
    for k, v in headers:
        cmd += ["-H", f"{k}: {v}"]
    if data is not None:
        cmd += ["--data-binary", data]
    if source:
        cmd += ["--interface", source]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{server.port()}{path}"], capture_output=True, timeout=30 * SLOW).stdout
    lines = out.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return int(lines[0].split()[1]), {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}


def session(device):  # noqa: F811 (the fixture imported above)
    return [("Cookie", device.cookie)]


def own(device):  # noqa: F811
    return [("Cookie", device.cookie), ("Origin", device.origin)]


def throttled(device):  # noqa: F811
    for _ in range(6):  # past the free failures (and the global cap), the library answers 429
        answer = curl(device, "POST", "/api/login", [("Content-Type", "application/json")], '{"password": "wrong"}',
                      source="127.0.0.91")
        if answer[0] == 429:
            return answer
    return answer


def fresh(start_server, tmp_path, *args, record=None):
    if record is not None:
        (tmp_path / "password").write_bytes(record)
    return start_server("device-app", "--dir", str(tmp_path), *args)


def busy(start_server, tmp_path):
    """A table of one connection, taken by /ws/live: the next client gets the busy 503."""
    (tmp_path / "provisioned").write_text(device_record())
    s = fresh(start_server, tmp_path, "--password-file", str(tmp_path / "provisioned"), "--max-connections", "1")
    cookie = device_login(s)
    ws = socket.create_connection(("127.0.0.1", s.port()), timeout=10 * SLOW)
    head = "".join(f"{k}: {v}\r\n" for k, v in WS + [("Cookie", cookie)])
    ws.sendall(f"GET /ws/live HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
    assert ws.recv(4096).startswith(b"HTTP/1.1 101")
    try:
        return curl(s, "GET", "/")
    finally:
        ws.close()


def unwritable(start_server, tmp_path):
    """Settings that cannot be saved (their name taken by a folder that is not empty, so
    the rename over it fails): 500."""
    (tmp_path / "settings.conf" / "in-the-way").mkdir(parents=True)
    s = start_device(start_server, "--dir", str(tmp_path))
    return curl(s, "POST", "/api/settings", own(s) + [("Content-Type", "application/json")],
                json.dumps({"name": "Hall", "interval": 30}))


def updatable_device(start_server, tmp_path):
    """A logged-in device-app taking updates signed by a key made here: (it, the key)."""
    key, pub, folder = tmp_path / "signer.key", tmp_path / "signer.pub", tmp_path / "data"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True)
    subprocess.run(["openssl", "ec", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True)
    folder.mkdir()
    return start_device(start_server, "--dir", str(folder), "--ota-root", str(tmp_path / "root"), "--ota-key", str(pub)), key


def unsized_update(start_server, tmp_path):
    """An update (device-app's OTA upload) sent chunked, with no Content-Length: 411."""
    s, _ = updatable_device(start_server, tmp_path)
    return curl(s, "POST", "/api/ota", own(s) + [("Transfer-Encoding", "chunked")], "x")


def update_under_way(start_server, tmp_path):
    """A second update while one is under way (its headers in, its body not yet): 409."""
    s, key = updatable_device(start_server, tmp_path)
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=b"image", capture_output=True, check=True)
    signed = [("X-Ota-Sha256", "00" * 32), ("X-Ota-Signature", base64.b64encode(der.stdout).decode())]  # checked at the end
    first = socket.create_connection(("127.0.0.1", s.port()), timeout=10 * SLOW)
    head = "".join(f"{k}: {v}\r\n" for k, v in own(s) + signed + [("Content-Length", "100000")])
    first.sendall(f"POST /api/ota HTTP/1.1\r\nHost: 127.0.0.1:{s.port()}\r\n{head}\r\n".encode())
    time.sleep(0.3 * SLOW)   # the first one's headers read: it holds the update
    try:
        return curl(s, "POST", "/api/ota", own(s) + signed + [("Content-Type", "application/octet-stream")], "x")
    finally:
        first.close()


# (who answers, status, how to get it): `d` the logged-in device-app of the module,
# `f` a function of (start_server, tmp_path) for a device-app of its own.
CASES = [
    ("serveDir", 404, lambda d: curl(d, "GET", "/no-such-file.js")),
    ("serveDir", 405, lambda d: curl(d, "POST", "/index.html", data="x")),
    ("serveDir", 403, lambda d: curl(d, "GET", "/%2e%2e/password")),
    ("device-app", 401, lambda d: curl(d, "GET", "/api/status")),
    ("device-app", 403, lambda d: curl(d, "POST", "/api/settings", session(d) + [("Content-Type", "application/json")],
                                       '{"interval": 5}')),
    ("device-app", 404, lambda d: curl(d, "GET", "/api/nothing", session(d))),
    ("device-app", 405, lambda d: curl(d, "PUT", "/api/settings", own(d), "{}")),
    ("device-app", 415, lambda d: curl(d, "POST", "/api/settings", own(d) + [("Content-Type", "text/plain")], "x")),
    ("device-app", 400, lambda d: curl(d, "POST", "/api/settings", own(d) + [("Content-Type", "application/json")],
                                       '{"interval": 0}')),
    ("device-app", 400, lambda d: curl(d, "POST", "/api/upload", own(d) + [("Content-Type", "text/plain")], "x")),
    ("device-app", 413, lambda d: curl(d, "POST", "/api/upload", own(d) + [
        ("Content-Type", "multipart/form-data; boundary=x"), ("Content-Length", str((8 << 20) + 1))], "x")),
    ("library", 429, throttled),
    ("library", 421, lambda d: curl(d, "GET", "/api/status", [("Host", "evil.example")])),
    ("library", 403, lambda d: curl(d, "POST", "/api/settings", session(d) + [("Origin", "http://evil.example")], "{}")),
    ("library", 403, lambda d: curl(d, "GET", "/ws/live", session(d) + WS + [("Origin", "http://evil.example")])),
    ("library", 413, lambda d: curl(d, "POST", "/api/settings", own(d) + [("Content-Length", "3000000000")], "x")),
    ("library", 400, lambda d: curl(d, "GET", "/", [("Content-Length", "x")])),
    ("library", 503, busy),
    ("device-app", 500, unwritable),
    ("device-app", 411, unsized_update),
    ("device-app", 409, update_under_way),
    ("device-app", 303, lambda f, t: curl(fresh(f, t), "GET", "/")),
    ("device-app", 403, lambda f, t: curl(fresh(f, t), "GET", "/api/status")),
    ("device-app", 503, lambda f, t: curl(fresh(f, t, record=b"damaged"), "GET", "/api/status")),
]


@pytest.mark.parametrize("who,status,get", CASES, ids=[f"{w}-{s}-{i}" for i, (w, s, _) in enumerate(CASES)])
def test_every_error_answer_carries_the_security_headers(device, start_server, tmp_path, who, status, get):  # noqa: F811
    answer, headers = get(start_server, tmp_path) if get.__code__.co_argcount == 2 else get(device)
    assert answer == status, headers
    assert {k: headers.get(k) for k in ERROR_HEADERS} == ERROR_HEADERS, (who, status, headers)


@pytest.mark.skipif(BOARD != "host", reason="the LD_PRELOAD counter is built for the host")
def test_device_app_answers_allocate_nothing_after_warmup(start_server, tmp_path):
    """A client without a session is refused every request: device-app's JSON refusals
    (401, 404 past the login), serveDir's 404 and the library's 403 allocate nothing,
    headers and all, nor does a logged-in /api/status (issue 24). Before: 3 allocations
    a 401 (jsonObject's arrays), 4 a /api/status, 1 a 404 (a header literal's array)."""
    report = tmp_path / "count"
    s = start_device(start_server, "--dir", str(tmp_path),
                     env={"LD_PRELOAD": os.path.join(ROOT, "build", "malloccount.so"), "MALLOCCOUNT_FILE": str(report)})
    count = malloc_counter(s.proc, report)
    asks = {"200": ("-H", f"Cookie: {s.cookie}", "/api/status"), "401": ("/api/status",), "404 past the login": ("-H", f"Cookie: {s.cookie}", "/api/nothing"),
            "serveDir 404": ("/no-such-file.js",), "cross-origin 403": ("-X", "POST", "-H", "Origin: http://evil.example",
                                                                        "/api/settings")}
    for what, ask in asks.items():
        *options, path = ask

        def fetch_many(n):
            urls = ["-o", "/dev/null", f"http://127.0.0.1:{s.port()}{path}"] * n
            subprocess.run(["curl", "-s", *options] + urls, check=True)  # one keep-alive connection
        fetch_many(3)
        before = count()
        fetch_many(10)
        few = count() - before
        before = count()
        fetch_many(110)
        many = count() - before
        print(f"\n{what}: allocations for 10 answers {few}, for 110 {many}")
        assert many - few <= 20, what  # the 1 s timer's sample allocates a few; one an answer is 100


# The example apps' own error answers (what the README's examples copy): (app, args, request, status).
APPS = [
    ("echo-server", (), ("POST", "/login", "user=admin&password=wrong"), 401),
    ("echo-server", (), ("GET", "/private", None), 401),
    ("upload-server", ("--dir", None), ("GET", "/no-such-route", None), 404),
    ("chat-server", (), ("GET", "/no-such-page", None), 404),
]


@pytest.mark.parametrize("app,args,ask,status", APPS, ids=[f"{a}-{s}-{i}" for i, (a, _, _, s) in enumerate(APPS)])
def test_the_example_apps_error_answers_carry_them(start_server, tmp_path, app, args, ask, status):
    s = start_server(app, *(str(tmp_path) if a is None else a for a in args))
    method, path, data = ask
    answer, headers = curl(s, method, path, [("Content-Type", "application/x-www-form-urlencoded")] if data else (), data)
    assert answer == status, headers
    assert {k: headers.get(k) for k in ERROR_HEADERS} == ERROR_HEADERS, (app, status, headers)


def code(folder):
    """Swift sources under `folder`, comments left out."""
    return "\n".join(re.sub(r"//.*", "", p.read_text()) for p in sorted((SOURCES / folder).rglob("*.swift")))


def test_the_cases_cover_every_error_status_device_app_answers():
    statuses = {int(n) for n in re.findall(r"(?:replyError\(|refuse\(conn, )\s*(\d{3})", code("device-app"))}
    statuses |= {400, 413, 503}  # an upload's (UploadError.status), the damaged record's (Access.damagedAnswer)
    assert statuses <= {s for who, s, _ in CASES if who == "device-app"}, statuses


def test_no_error_answer_is_made_without_them():
    """Every answer with a literal status of 300 or more goes through `replyError`,
    `staticError` or passes `ErrorHeaders.lines`: a plain `reply(404, …)` is a page.
    The library and every app (the README's examples copy the apps' answers)."""
    for folder in sorted(p.name for p in SOURCES.iterdir() if p.is_dir() and any(p.rglob("*.swift"))):
        text = code(folder)
        assert not re.findall(r"\breply\(\s*[3-5]\d\d\b", text), folder
        for call in re.findall(r"(?:handlerReply|sendReply)\((?:[^()]|\([^()]*\))*\)", text):
            if re.search(r"status: [3-5]\d\d\b", call):
                assert "ErrorHeaders.lines" in call, call
