"""device-app as the dashboard firmware (issue 12): its web UI packed into the binary and
served like a folder (curl: conditional requests, ranges, HEAD, gzip, index), the
settings form saved atomically and read back after a restart, multipart uploads with
curl -F (one larger than the receive block, one over the limit, bad bodies), and the
page in headless Chromium: loaded from the board alone, charts fed over the WebSocket,
the form and an upload used as a person would. The board is provisioned and logged in
first (test_device_access.py checks the lock itself). Every board (under qemu for ARM);
the screenshots are taken on the host."""
import gzip
import json
import os
import subprocess
import zlib

import pytest

from conftest import BOARD, DEVICE_PASSWORD, ROOT, VERSION, RawClient, malloc_counter, read_to_eof, start_device
from test_browser import chrome, wait_for  # noqa: F401 (chrome is a fixture, used as a parameter)
from test_static import curl
from test_upload import interleave, wait_written

WEB = os.path.join(ROOT, "web", "device")


@pytest.fixture
def board(start_server, tmp_path):
    """device-app with its data folder, provisioned and logged in (`s.cookie`);
    restartable on the same folder."""
    def start(*extra):
        return start_device(start_server, "--dir", str(tmp_path), *extra)
    return start


def api(s, path, *args):
    """curl for /api/*: with the session, and the dashboard's own Origin for a write."""
    return curl(s, path, "-b", s.cookie, "-H", f"Origin: {s.origin}", *args)


def test_the_packed_ui_is_served_like_a_folder(board):
    s = board()
    page = open(os.path.join(WEB, "index.html"), "rb").read()
    status, h, body = curl(s, "/")
    assert (status, body, h["content-type"]) == (200, page, "text/html; charset=utf-8")
    etag = h["etag"]
    assert curl(s, "/index.html")[1]["etag"] == etag
    assert curl(s, "/", "-H", f"If-None-Match: {etag}")[0] == 304
    assert curl(s, "/", "-H", f"If-Modified-Since: {h['last-modified']}")[0] == 304
    status, h, body = curl(s, "/app.js", "-H", "Accept-Encoding: gzip")
    script = open(os.path.join(WEB, "app.js"), "rb").read()
    assert (status, h["content-encoding"], gzip.decompress(body)) == (200, "gzip", script)
    assert len(body) < len(script)
    status, h, body = curl(s, "/style.css", "-r", "0-9")
    assert (status, body) == (206, open(os.path.join(WEB, "style.css"), "rb").read()[:10])
    status, h, body = curl(s, "/favicon.svg", "-I")
    assert (status, body, h["content-type"]) == (200, b"", "image/svg+xml")
    assert curl(s, "/nothing.js")[0] == 404
    assert curl(s, "/../etc/passwd")[0] == 403


def test_a_folder_on_disk_instead_with_one_argument(board, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_bytes(b"from disk\n")
    s = board("--web", str(web))
    assert curl(s, "/")[2] == b"from disk\n"
    assert json.loads(api(s, "/api/settings")[2])["name"] == "board"


def test_settings_are_saved_and_survive_a_restart(board, tmp_path):
    s = board()
    status, _, body = api(s, "/api/settings", "--data", "name=Kitchen+sensor&interval=9")
    assert (status, json.loads(body)) == (200, {"name": "Kitchen sensor", "interval": 9})
    assert (tmp_path / "settings.conf").read_text() == "name=Kitchen sensor\ninterval=9\n"
    assert not (tmp_path / "settings.conf.tmp").exists()
    for bad in ("name=&interval=5", "name=x&interval=0", "name=x&interval=abc", "name=" + "y" * 41 + "&interval=5"):
        assert api(s, "/api/settings", "--data", bad)[0] == 400, bad
    for bad in ({"name": "", "interval": 5}, {"name": "x", "interval": 0}, {"name": "x", "interval": "9"}):
        assert api(s, "/api/settings", "--json", json.dumps(bad))[0] == 400, bad
    assert api(s, "/api/settings", "-H", "Content-Type: text/plain", "--data", "name=x&interval=5")[0] == 415
    assert api(s, "/api/settings", "--json", '{"name": "x", "interval": 5')[0] == 400      # not JSON
    s.stop()
    s = board()
    assert json.loads(api(s, "/api/settings")[2]) == {"name": "Kitchen sensor", "interval": 9}
    assert json.loads(api(s, "/api/status")[2])["name"] == "Kitchen sensor"
    status, _, body = api(s, "/api/settings", "--json", json.dumps({"name": "Hall", "interval": 30}))
    assert (status, json.loads(body)) == (200, {"name": "Hall", "interval": 30})


def test_uploads_with_curl(board, tmp_path):
    s = board("--upload-limit", "2000000")
    big = os.urandom(1_500_000)                      # larger than any board's receive block
    (tmp_path / "big.bin").write_bytes(big)
    status, _, body = api(s, "/api/upload", "-F", f"file=@{tmp_path / 'big.bin'};filename=firmware.bin",
                           "-F", "note=a plain field")
    assert (status, json.loads(body)) == (200, {"file": "firmware.bin", "bytes": len(big), "crc32": "%08x" % zlib.crc32(big)})
    assert (tmp_path / "uploads" / "firmware.bin").read_bytes() == big
    (tmp_path / "huge.bin").write_bytes(b"x" * 2_100_000)
    status, _, body = api(s, "/api/upload", "-F", f"file=@{tmp_path / 'huge.bin'}")
    assert status == 413 and not (tmp_path / "uploads" / "huge.bin").exists()
    status, _, body = api(s, "/api/upload", "-F", f"file=@{tmp_path / 'big.bin'};filename=../../escape.bin")
    assert status == 200 and json.loads(body)["file"] == "escape.bin"
    assert not (tmp_path.parent / "escape.bin").exists()
    assert sorted(os.listdir(tmp_path / "uploads")) == ["escape.bin", "firmware.bin"]   # no temporary left


def upload_request(s, name, data):
    """POST /api/upload of a form with one file part, as a browser sends it (the session
    cookie, its own Origin), and where the file's bytes start in it."""
    part = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" % name.encode())
    body = part + data + b"\r\n--b--\r\n"
    head = (b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\nOrigin: %s\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n"
            % (s.port(), s.cookie.encode(), s.origin.encode(), len(body)))
    return head + body, len(head) + len(part)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["A-finishes-first", "B-finishes-first"])
def test_same_name_uploads_interleaved_last_whole_one_wins(board, tmp_path, order):
    """Each upload its own temporary file; the last to end is what is stored, whole, and
    each 200 names the bytes it stored (size and CRC-32)."""
    s = board()
    datas = [os.urandom(300_000), os.urandom(200_000)]
    requests, starts = zip(*(upload_request(s, "same.bin", d) for d in datas))
    clients = [RawClient(s.connect()), RawClient(s.connect())]
    written = [0]

    def send(i, start, end):
        # Offsets into the file's bytes; the first piece carries the heads, the last the tail.
        begin = 0 if start == 0 else starts[i] + start
        clients[i].send(requests[i][begin:None if end is None else starts[i] + end])
        if end is not None:
            written[0] += end - start
            wait_written(tmp_path / "uploads", written[0], slack=200)   # the reader may hold a boundary's worth

    def answer(i):
        status, _, body = clients[i].response()
        # Answered 200: the file is this upload's bytes, whole (the other is still coming).
        assert status == 200 and (tmp_path / "uploads" / "same.bin").read_bytes() == datas[i]
        return json.loads(body)

    answers = interleave(*order, send, answer)
    for i, got in zip(order, answers):
        assert got == {"file": "same.bin", "bytes": len(datas[i]), "crc32": "%08x" % zlib.crc32(datas[i])}
    assert (tmp_path / "uploads" / "same.bin").read_bytes() == datas[order[1]]
    assert os.listdir(tmp_path / "uploads") == ["same.bin"]


def test_kill_9_mid_upload_keeps_the_old_file_and_the_restart_cleans(board, tmp_path):
    """kill -9 while a new version is half written: the old one is intact, and the next
    start removes the temporary, only the app's own (a user's "x.part" stays)."""
    s = board()
    old, mine = os.urandom(50_000), b"a user's file, not a temporary\n"
    c = RawClient(s.connect())
    for name, data in (("keep.bin", old), ("keep.bin.part", mine)):
        c.send(upload_request(s, name, data)[0])
        assert c.response()[0] == 200
    request, start = upload_request(s, "keep.bin", b"n" * 200_000)
    c.send(request[:start + 100_000])
    wait_written(tmp_path / "uploads", 90_000)
    s.proc.kill()
    s.proc.wait()
    c.close()
    assert (tmp_path / "uploads" / "keep.bin").read_bytes() == old
    board()   # "listening" once cleaned
    assert sorted(os.listdir(tmp_path / "uploads")) == ["keep.bin", "keep.bin.part"]
    assert (tmp_path / "uploads" / "keep.bin").read_bytes() == old
    assert (tmp_path / "uploads" / "keep.bin.part").read_bytes() == mine


BAD_BODIES = {
    "no final delimiter": b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--b\r\n',
    "junk after a delimiter": b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhi\r\n--bXX',
    "a header without a colon": b"--b\r\nnot a header\r\n\r\nhi\r\n--b--\r\n",
    "a header block too large": b"--b\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\nhi\r\n--b--\r\n",
    "no file part": b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--b--\r\n',
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_bad_multipart_bodies_get_400_and_nothing_else(board, tmp_path, name):
    s = board()
    body = BAD_BODIES[name]
    c = RawClient(s.connect())
    c.send(b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\nCookie: %s\r\nOrigin: %s\r\n"
           % (s.port(), s.cookie.encode(), s.origin.encode()) + b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert read_to_eof(c.sock).split(b" ", 2)[1] == b"400", name
    assert os.listdir(tmp_path / "uploads") == []
    assert curl(s, "/hello")[0] == 200 and s.alive()


def log_in(d):
    """On the login page the dashboard sends a visitor without a session to: the
    password typed and sent, back on the dashboard."""
    assert wait_for(lambda: d.current_url.endswith("/login.html"), 30)
    d.find_element("id", "f-password").send_keys(DEVICE_PASSWORD)
    d.find_element("css selector", "#login button").click()
    assert wait_for(lambda: not d.current_url.endswith("/login.html"), 30)


def test_the_dashboard_in_chromium(board, tmp_path, chrome):  # noqa: F811 (the chrome fixture from test_browser)
    s = board()
    base = f"http://127.0.0.1:{s.port()}"
    d = chrome("--window-size=1200,1000")
    d.get(base + "/")                       # no session yet: the page sends us to log in
    log_in(d)
    # The charts get a sample a second over the WebSocket.
    assert wait_for(lambda: int(d.execute_script("return document.body.dataset.samples || 0")) >= 3, 30)
    assert d.execute_script("return document.getElementById('link').textContent") == "live"
    assert wait_for(lambda: d.find_element("id", "version").text == VERSION), "the footer names the firmware's version"
    # Nothing was asked of anyone but the board.
    resources = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(r.startswith(base + "/") or r.startswith(f"ws://127.0.0.1:{s.port()}/") for r in resources)
    if BOARD == "host":
        os.makedirs(os.path.join(ROOT, "build", "screenshots"), exist_ok=True)
        d.save_screenshot(os.path.join(ROOT, "build", "screenshots", "dashboard.png"))
    # The settings form, as a person fills it in.
    assert wait_for(lambda: d.execute_script("return document.getElementById('f-name').value") == "board")
    name = d.find_element("id", "f-name")
    name.clear()
    name.send_keys("Greenhouse")
    interval = d.find_element("id", "f-interval")
    interval.clear()
    interval.send_keys("12")
    d.find_element("css selector", "#settings button").click()
    assert wait_for(lambda: "Saved: Greenhouse" in d.find_element("id", "settings-result").text)
    # An upload through the form (multipart from the browser).
    upload = tmp_path / "notes.txt"
    upload.write_bytes(b"uploaded from Chromium\n" * 1000)
    d.find_element("id", "f-file").send_keys(str(upload))
    d.find_element("css selector", "#upload button").click()
    assert wait_for(lambda: "Uploaded notes.txt" in d.find_element("id", "upload-result").text)
    assert (tmp_path / "uploads" / "notes.txt").read_bytes() == upload.read_bytes()
    # The dashboard's own writes carried its origin; after Log out, the API is closed.
    d.find_element("id", "logout").click()
    assert wait_for(lambda: d.current_url.endswith("/login.html"))
    # The settings survive a restart; the page shows the new name.
    s.stop()
    s = board()
    d.get(f"http://127.0.0.1:{s.port()}/")
    log_in(d)                               # a restart logs everyone out
    assert wait_for(lambda: d.find_element("id", "name").text == "Greenhouse", 30)
    if BOARD == "host":
        phone = chrome("--window-size=390,844")
        phone.get(f"http://127.0.0.1:{s.port()}/")
        log_in(phone)
        assert wait_for(lambda: int(phone.execute_script("return document.body.dataset.samples || 0")) >= 5, 30)
        phone.save_screenshot(os.path.join(ROOT, "build", "screenshots", "dashboard-phone.png"))
        # On a phone the charts stack in one column.
        widths = phone.execute_script("return [...document.querySelectorAll('article')].map(a => a.offsetLeft)")
        assert len(set(widths)) == 1


@pytest.mark.skipif(BOARD != "host", reason="the LD_PRELOAD counter is built for the host")
def test_packed_pages_allocate_nothing_per_request(start_server, tmp_path):
    # Served with the dashboard's ServeOptions (CSP and the rest) by a provisioned board.
    report = tmp_path / "count"
    s = start_device(start_server, "--dir", str(tmp_path),
                     env={"LD_PRELOAD": os.path.join(ROOT, "build", "malloccount.so"), "MALLOCCOUNT_FILE": str(report)})
    count = malloc_counter(s.proc, report)

    def fetch_many(n, *extra):
        urls = ["-o", "/dev/null", f"http://127.0.0.1:{s.port()}/app.js"] * n
        subprocess.run(["curl", "-s", *extra] + urls, check=True)   # one keep-alive connection
    for extra in ((), ("-H", "Accept-Encoding: gzip")):
        fetch_many(3, *extra)
        before = count()
        fetch_many(10, *extra)
        few = count() - before
        before = count()
        fetch_many(110, *extra)
        many = count() - before
        # The 1 s timer's sample for the dashboard allocates a few arrays; a run may
        # see one more tick. One allocation per request would add 100 or more.
        print(f"\n/app.js {extra}: allocations for 10 requests {few}, for 110 {many}")
        assert many - few <= 20, extra
