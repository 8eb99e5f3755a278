"""Static files (issue 12): `serveDir` through the file-server app, checked with curl
(conditional requests, ranges, HEAD, gzip, index, listing, types, large files over HTTP
and HTTPS) and with raw sockets for a traversal corpus that must never read a file
outside the root. Every board (under qemu for ARM)."""
import gzip
import os
import re
import subprocess
import time

import pytest

from conftest import BOARD, SLOW, RawClient, read_to_eof, start_counted

SECRET = b"the secret outside the root\n"


@pytest.fixture
def site(tmp_path):
    """A root folder with pages, a large file and its .gz sibling, a subfolder without an
    index, a symlink inside the root and one out of it; a secret file beside the root."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "www"
    (root / "css").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "index.html").write_bytes(b"<h1>board</h1>\n")
    (root / "css" / "site.css").write_bytes(b"body { color: teal }\n")
    (root / "app.js").write_bytes(b"console.log(1)\n")
    (root / "data.bin").write_bytes(bytes(range(256)))
    (root / "docs" / "a & b.txt").write_bytes(b"amp\n")
    (root / "docs" / "readme.txt").write_bytes(b"read me\n")
    big = b"".join(b"line %07d of the big file\n" % i for i in range(200_000))   # 5.4 MB
    (root / "big.txt").write_bytes(big)
    (root / "big.txt.gz").write_bytes(gzip.compress(big))
    os.symlink(root / "docs" / "readme.txt", root / "inside-link.txt")
    os.symlink(tmp_path / "secret.txt", root / "outside-link.txt")
    os.symlink(tmp_path, root / "outside-folder")
    return root


@pytest.fixture
def files(start_server, site):
    return start_server("file-server", "--dir", str(site))


def curl(server, path, *args, scheme="http", extra=()):
    """curl -si: (status, headers dict with lower-case names, body bytes)."""
    out = subprocess.run(["curl", "-si", "--path-as-is", "--max-time", str(int(30 * SLOW)), *args, *extra,
                          f"{scheme}://127.0.0.1:{server.port()}{path}"], capture_output=True, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    while head.split(b" ", 2)[1].startswith(b"1"):        # 100 Continue before the answer
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def test_get_and_head(files, site):
    status, h, body = curl(files, "/css/site.css")
    assert (status, body) == (200, (site / "css" / "site.css").read_bytes())
    assert h["content-type"] == "text/css; charset=utf-8"
    assert h["content-length"] == str(len(body))
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', h["etag"])
    assert h["last-modified"].endswith(" GMT") and h["accept-ranges"] == "bytes"
    status, h2, body = curl(files, "/css/site.css", "-I")
    assert (status, body) == (200, b"") and h2["content-length"] == h["content-length"]
    assert h2["etag"] == h["etag"]


@pytest.mark.parametrize("path,ctype", [("/app.js", "text/javascript; charset=utf-8"),
                                        ("/index.html", "text/html; charset=utf-8"),
                                        ("/data.bin", "application/octet-stream")])
def test_content_type_from_the_extension(files, path, ctype):
    status, h, _ = curl(files, path)
    assert (status, h["content-type"]) == (200, ctype)


def test_conditional_requests(files):
    _, h, _ = curl(files, "/index.html")
    status, h304, body = curl(files, "/index.html", "-H", f"If-None-Match: {h['etag']}")
    assert (status, body) == (304, b"") and h304["etag"] == h["etag"]
    assert curl(files, "/index.html", "-H", 'If-None-Match: "other", ' + h["etag"])[0] == 304
    assert curl(files, "/index.html", "-H", 'If-None-Match: "other"')[0] == 200
    assert curl(files, "/index.html", "-H", f"If-Modified-Since: {h['last-modified']}")[0] == 304
    assert curl(files, "/index.html", "-H", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT")[0] == 200
    assert curl(files, "/index.html", "-H", "If-Modified-Since: yesterday")[0] == 200   # invalid: ignored


def test_ranges(files, site):
    data = (site / "data.bin").read_bytes()
    status, h, body = curl(files, "/data.bin", "-r", "10-19")
    assert (status, body, h["content-range"]) == (206, data[10:20], "bytes 10-19/256")
    assert curl(files, "/data.bin", "-r", "-6")[2] == data[-6:]
    assert curl(files, "/data.bin", "-r", "250-")[2] == data[250:]
    assert curl(files, "/data.bin", "-r", "200-999")[2] == data[200:]
    status, h, body = curl(files, "/data.bin", "-r", "256-300")
    assert (status, h["content-range"]) == (416, "bytes */256")
    assert curl(files, "/data.bin", "-r", "0-1,5-6")[0] == 200          # several ranges: the whole file
    _, h, _ = curl(files, "/data.bin")
    assert curl(files, "/data.bin", "-r", "0-3", "-H", f"If-Range: {h['etag']}")[2] == data[:4]
    assert curl(files, "/data.bin", "-r", "0-3", "-H", 'If-Range: "stale"')[0] == 200


def test_precompressed_sibling(files, site):
    big = (site / "big.txt").read_bytes()
    status, h, body = curl(files, "/big.txt", "--compressed")
    assert (status, h["content-encoding"], h["vary"]) == (200, "gzip", "Accept-Encoding")
    assert int(h["content-length"]) == (site / "big.txt.gz").stat().st_size
    assert body == big                                                   # curl decoded it
    status, h, body = curl(files, "/big.txt")
    assert status == 200 and "content-encoding" not in h and body == big
    assert h["content-type"] == "text/plain; charset=utf-8"


def test_index_listing_and_redirect(start_server, files, site):
    assert curl(files, "/")[2] == b"<h1>board</h1>\n"
    status, h, _ = curl(files, "/docs")
    assert (status, h["location"]) == (301, "/docs/")
    status, h, body = curl(files, "/docs/")
    assert status == 200 and h["content-type"].startswith("text/html")
    assert b'href="readme.txt"' in body and b'href="a%20%26%20b.txt">a &amp; b.txt<' in body
    quiet = start_server("file-server", "--dir", str(site), "--no-listing")
    assert curl(quiet, "/docs/")[0] == 403
    assert curl(quiet, "/nothing/")[0] == 404
    assert curl(files, "/index.html", "-X", "POST")[0] == 405


def test_symlinks_inside_the_root_work_and_those_out_of_it_do_not(files):
    assert curl(files, "/inside-link.txt")[2] == b"read me\n"
    for path in ("/outside-link.txt", "/outside-folder/secret.txt", "/outside-folder/"):
        status, _, body = curl(files, path)
        assert status in (403, 404) and SECRET not in body, path


TRAVERSAL = [
    "/../secret.txt", "/../../secret.txt", "/docs/../../secret.txt", "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt", "/%2e%2e%2fsecret.txt", "/docs/..%2f..%2fsecret.txt", "/..%5csecret.txt",
    "/docs%2f..%2f..%2fsecret.txt", "/%2fetc%2fpasswd", "/.%2e/secret.txt", "/docs/%2e%2e/%2e%2e/secret.txt",
    "/%252e%252e/secret.txt", "/index.html%00.txt", "/docs/readme.txt%00", "/..\\secret.txt",
    "/" + "a/" * 1500 + "secret.txt", "/" + "../" * 40 + "etc/passwd", "/%", "/%zz", "//../secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSAL, ids=range(len(TRAVERSAL)))
def test_traversal_corpus_never_leaves_the_root(files, path):
    c = RawClient(files.connect())
    c.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
    reply = read_to_eof(c.sock)
    status = int(reply.split(b" ", 2)[1])
    assert status in (400, 403, 404, 414), reply[:200]
    assert SECRET not in reply and b"root:" not in reply
    assert files.alive()


def test_absolute_form_targets_are_served_by_their_path(files):
    """RFC 9112 §3.2.2: a server must accept "GET http://host/path"; the path is what is
    served, and the target's host wins over Host (§7.2)."""
    def get(target, host=b"b"):
        c = RawClient(files.connect())
        c.send(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        status, _, body = c.response()
        c.close()
        return status, body
    assert get(b"http://b/css/site.css") == (200, b"body { color: teal }\n")
    assert get(b"HTTP://elsewhere:8080/css/site.css?v=1", host=b"b") == (200, b"body { color: teal }\n")
    assert get(b"http://b") == (200, b"<h1>board</h1>\n")                     # empty path: "/"
    assert get(b"http://b?x=1") == (200, b"<h1>board</h1>\n")
    assert get(b"http://b/docs/a%20%26%20b.txt") == (200, b"amp\n")
    for bad in (b"http://", b"http:///index.html", b"http://u:p@b/index.html", b"http:/index.html",
                b"http://b:x/index.html", b"ftp://b/index.html"):
        assert get(bad)[0] == 400, bad


def test_traversal_corpus_in_absolute_form_never_leaves_the_root(files):
    for path in TRAVERSAL:
        c = RawClient(files.connect())
        c.send(b"GET http://b" + path.encode() + b" HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        reply = read_to_eof(c.sock)
        c.close()
        status = int(reply.split(b" ", 2)[1])
        assert status in (400, 403, 404, 414), (path, reply[:200])
        assert SECRET not in reply and b"root:" not in reply
    assert files.alive()


def test_a_nul_byte_in_the_path_is_refused(files):
    c = RawClient(files.connect())
    c.send(b"GET /index.html\x00.txt HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
    assert read_to_eof(c.sock).split(b" ", 2)[1] == b"400"


def test_large_file_streams_from_the_descriptor(files, site):
    big = (site / "big.txt").read_bytes()
    assert curl(files, "/big.txt")[2] == big
    assert curl(files, "/big.txt", "-r", "1000000-1999999")[2] == big[1000000:2000000]


def test_large_file_over_https(start_server, site, certs):
    big = (site / "big.txt").read_bytes()
    s = start_server("file-server", "--dir", str(site), "--listen", "https://127.0.0.1:0",
                     "--cert", certs["server.crt"], "--key", certs["server.key"])
    out = subprocess.run(["curl", "-s", "--cacert", certs["ca.crt"], "--max-time", str(int(60 * SLOW)),
                          f"https://localhost:{s.port()}/big.txt"], capture_output=True, check=True).stdout
    assert out == big
    out = subprocess.run(["curl", "-s", "--cacert", certs["ca.crt"], "-r", "1000000-1000099",
                          f"https://localhost:{s.port()}/big.txt"], capture_output=True, check=True).stdout
    assert out == big[1000000:1000100]


@pytest.mark.skipif(BOARD != "host", reason="the LD_PRELOAD counter is built for the host")
def test_serving_files_allocates_nothing_per_request(start_server, site, tmp_path):
    s, count = start_counted(start_server, tmp_path, "--dir", str(site), app="file-server")

    def fetch_many(n, path):
        urls = ["-o", "/dev/null", f"http://127.0.0.1:{s.port()}{path}"] * n
        subprocess.run(["curl", "-s"] + urls, check=True)   # one keep-alive connection
    for path in ("/css/site.css", "/big.txt"):
        fetch_many(3, path)                     # warm-up
        before = count()
        fetch_many(10, path)
        few = count() - before
        before = count()
        fetch_many(110, path)
        many = count() - before
        print(f"\n{path}: allocations for 10 requests {few}, for 110 {many}")
        assert many == few, path


def test_kept_open_files_follow_changes_on_disk_within_a_second(files, site):
    # serveDir keeps recently opened files (and misses) for up to 1 s, then checks again.
    assert curl(files, "/index.html")[2] == b"<h1>board</h1>\n"
    assert curl(files, "/later.txt")[0] == 404
    (site / "new.html").write_bytes(b"replaced\n")
    os.replace(site / "new.html", site / "index.html")          # a new file in its place
    (site / "later.txt").write_bytes(b"here now\n")
    (site / "app.js").unlink()
    time.sleep(1.2)
    assert curl(files, "/index.html")[2] == b"replaced\n"
    assert curl(files, "/later.txt")[2] == b"here now\n"
    assert curl(files, "/app.js")[0] == 404
    # Edited in place (same inode, another size): seen too.
    with open(site / "index.html", "ab") as f:
        f.write(b"more\n")
    time.sleep(1.2)
    assert curl(files, "/index.html")[2] == b"replaced\nmore\n"
