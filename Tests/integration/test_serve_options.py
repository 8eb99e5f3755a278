"""serveDir's options (issue 24 item 6, `ServeOptions`, like mg_http_serve_opts) through
file-server's --header, --type, --not-found and --spa: security headers by path prefix
(the longest prefix wins a header both name), a 404 page, a single-page-app fallback that
never answers for /api/ or for a missing asset, type overrides. Checked with curl and raw
sockets; every board (under qemu for ARM); the allocation count on the host."""
import subprocess

import pytest

from conftest import BOARD, RawClient, start_counted
from test_static import curl

CSP = "default-src 'self'; frame-ancestors 'none'"
OPTIONS = ("--header", f"Content-Security-Policy: {CSP}",
           "--header", "X-Content-Type-Options: nosniff",
           "--header", "Referrer-Policy: no-referrer",
           "--header", "Cache-Control: no-cache",
           "--header", "/assets/ Cache-Control: public, max-age=31536000, immutable",
           "--type", "map=application/json; charset=utf-8",
           "--type", "data=text/x-board",
           "--not-found", "/404.html",
           "--spa")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("spa")
    (root / "assets").mkdir()
    (root / "api").mkdir()
    (root / "index.html").write_bytes(b"<h1>the app</h1>\n")
    (root / "404.html").write_bytes(b"<h1>no such page</h1>\n")
    (root / "assets" / "app.js").write_bytes(b"console.log('app')\n")
    (root / "assets" / "app.js.map").write_bytes(b"{}\n")
    (root / "readings.data").write_bytes(b"1 2 3\n")
    (root / "api" / "static.json").write_bytes(b"{\"static\": true}\n")
    return root


@pytest.fixture(scope="module")
def spa(site):
    from conftest import Server
    s = Server("file-server", "--listen", "http://127.0.0.1:0", "--dir", str(site), *OPTIONS)
    yield s
    assert s.alive()
    s.stop()


def test_security_headers_on_every_file(spa):
    status, h, body = curl(spa, "/index.html")
    assert status == 200 and body == b"<h1>the app</h1>\n"
    assert h["content-security-policy"] == CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-cache"


def test_the_longest_prefix_wins_a_header_both_rules_name(spa):
    out = subprocess.run(["curl", "-si", f"http://127.0.0.1:{spa.port()}/assets/app.js"],
                         capture_output=True, check=True).stdout.decode()
    head = out.split("\r\n\r\n")[0].lower()
    assert head.count("cache-control:") == 1                  # not both rules' lines
    assert "cache-control: public, max-age=31536000, immutable" in head
    assert "content-security-policy:" in head                 # the "/" rules still apply
    assert "content-type: text/javascript" in head


def test_headers_follow_the_decoded_path_not_the_raw_uri(spa):
    # /%61ssets/ is /assets/: an escape must not dodge a rule.
    status, h, _ = curl(spa, "/%61ssets/app.js")
    assert status == 200 and h["cache-control"] == "public, max-age=31536000, immutable"


def test_headers_on_304_and_range_answers(spa):
    _, h, _ = curl(spa, "/index.html")
    status, h304, _ = curl(spa, "/index.html", "-H", f"If-None-Match: {h['etag']}")
    assert status == 304 and h304["content-security-policy"] == CSP
    status, h206, body = curl(spa, "/index.html", "-H", "Range: bytes=0-3")
    assert status == 206 and body == b"<h1>" and h206["x-content-type-options"] == "nosniff"


def test_type_overrides(spa):
    assert curl(spa, "/assets/app.js.map")[1]["content-type"] == "application/json; charset=utf-8"
    assert curl(spa, "/readings.data")[1]["content-type"] == "text/x-board"


def test_a_client_route_gets_the_app(spa):
    for path in ("/settings", "/settings/wifi", "/settings/wifi/", "/users/7"):
        status, h, body = curl(spa, path)
        assert (status, body) == (200, b"<h1>the app</h1>\n"), path
        assert h["content-type"] == "text/html; charset=utf-8" and h["content-security-policy"] == CSP


def test_api_paths_never_get_the_app(spa):
    for path in ("/api/status", "/%61pi/status", "/api/v2"):
        status, h, body = curl(spa, path)
        assert status == 404 and body == b"<h1>no such page</h1>\n", path
        assert "etag" not in h and "last-modified" not in h
    assert curl(spa, "/api/static.json")[0] == 200         # a real file under /api/ is served


def test_a_missing_asset_is_a_404_not_html(spa):
    status, h, body = curl(spa, "/assets/missing.js")
    assert status == 404 and body == b"<h1>no such page</h1>\n"
    assert h["content-type"] == "text/html; charset=utf-8"
    assert h["x-content-type-options"] == "nosniff"            # the browser will not run it as script
    assert h["cache-control"] == "public, max-age=31536000, immutable"


def test_the_404_page_answers_head_and_ignores_ranges(spa):
    status, h, body = curl(spa, "/x.png", "-I")
    assert status == 404 and body == b"" and h["content-length"] == str(len(b"<h1>no such page</h1>\n"))
    status, _, body = curl(spa, "/x.png", "-H", "Range: bytes=0-3")
    assert status == 404 and body == b"<h1>no such page</h1>\n"


def test_traversal_is_still_refused_not_rescued_by_the_fallback(spa):
    c = RawClient(spa.connect())
    c.send(b"GET /../secret HTTP/1.1\r\nHost: b\r\n\r\n")
    assert c.response()[0] == 403


def test_without_options_nothing_changes(start_server, site):
    plain = start_server("file-server", "--dir", str(site))
    status, h, body = curl(plain, "/settings")
    assert status == 404 and body != b"<h1>no such page</h1>\n"
    assert "content-security-policy" not in curl(plain, "/index.html")[1]


def test_a_header_with_a_line_break_is_refused(start_server, site):
    from conftest import BIN, RUNNER
    out = subprocess.run(RUNNER + [f"{BIN}/file-server", "--dir", str(site), "--header", "X-A: 1\r\nX-B: 2"],
                         capture_output=True, timeout=30)
    assert out.returncode == 2 and b"--header" in out.stdout


@pytest.mark.skipif(BOARD != "host", reason="the LD_PRELOAD counter is built for the host")
def test_serving_with_options_allocates_nothing_per_request(start_server, site, tmp_path):
    s, count = start_counted(start_server, tmp_path, "--dir", str(site), *OPTIONS, app="file-server")

    def fetch_many(n, path):
        urls = ["-o", "/dev/null", f"http://127.0.0.1:{s.port()}{path}"] * n
        subprocess.run(["curl", "-s"] + urls, check=True)   # one keep-alive connection
    for path in ("/assets/app.js", "/settings/wifi", "/api/nothing"):
        fetch_many(3, path)                     # warm-up
        before = count()
        fetch_many(10, path)
        few = count() - before
        before = count()
        fetch_many(110, path)
        many = count() - before
        print(f"\n{path}: allocations for 10 requests {few}, for 110 {many}")
        assert many == few, path
