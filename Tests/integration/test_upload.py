"""upload-server (issue 8): request bodies streamed to disk, Content-Length or chunked,
with curl's Expect: 100-continue; an early answer; a form body."""
import os
import subprocess
import time
import zlib

import pytest

from conftest import SLOW, RawClient


@pytest.fixture
def uploads(start_server, tmp_path):
    s = start_server("upload-server", "--dir", str(tmp_path))
    s.dir = tmp_path
    return s


def curl(*args):
    return subprocess.run(["curl", "-sS", "-v", "--max-time", str(int(60 * SLOW)), *args],
                          capture_output=True, check=True)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_5mb_upload_streams_to_disk(uploads, tmp_path, chunked):
    data = os.urandom(5_000_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    extra = ["-H", "Transfer-Encoding: chunked"] if chunked else []
    out = curl(*extra, "--data-binary", f"@{src}", f"http://127.0.0.1:{uploads.port()}/upload/big.bin")
    assert out.stdout == b"%d %08x\n" % (len(data), zlib.crc32(data))
    assert (uploads.dir / "big.bin").read_bytes() == data
    assert not (uploads.dir / "big.bin.part").exists()
    if not chunked:
        # curl sends Expect: 100-continue for a body this size; an answer means no
        # one-second wait ("Done waiting for 100-continue").
        assert b"Expect: 100-continue" in out.stderr
        assert b"HTTP/1.1 100 Continue" in out.stderr
        assert b"Done waiting for 100-continue" not in out.stderr


def test_many_small_uploads_keep_alive(uploads):
    c = RawClient(uploads.connect())
    for i in range(50):
        body = bytes([i]) * (i * 37 + 1)
        c.send(b"PUT /upload/f%d HTTP/1.1\r\nHost: u\r\nContent-Length: %d\r\n\r\n%s" % (i, len(body), body))
        status, _, answer = c.response()
        assert status == 201 and answer == b"%d %08x\n" % (len(body), zlib.crc32(body))
    c.close()
    assert (uploads.dir / "f49").read_bytes() == bytes([49]) * (49 * 37 + 1)


def test_bad_name_gets_exactly_one_answer(uploads):
    c = RawClient(uploads.connect())
    resp = c.final_response(b"POST /upload/..secret HTTP/1.1\r\nHost: u\r\nContent-Length: 100000\r\n\r\n"
                            + b"x" * 1000, 400)
    assert resp[2] == b"bad file name\n"
    assert c.pending == b""          # nothing after the one answer
    c.close()
    # A bad name whose body is all here: one 400 and the connection goes on.
    c = RawClient(uploads.connect())
    c.send(b"POST /upload/a%2Fb HTTP/1.1\r\nHost: u\r\nContent-Length: 3\r\n\r\nabc"
           b"GET /health HTTP/1.1\r\nHost: u\r\n\r\n")
    assert c.response()[0] == 400
    assert c.response()[:3:2] == (200, b"ok\n")
    c.close()
    assert list(uploads.dir.iterdir()) == []


def test_cut_short_upload_leaves_no_file(uploads):
    s = uploads.connect()
    s.sendall(b"POST /upload/partial HTTP/1.1\r\nHost: u\r\nContent-Length: 100000\r\n\r\n" + b"y" * 5000)
    deadline = time.time() + 5 * SLOW
    while not (uploads.dir / "partial.part").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (uploads.dir / "partial.part").exists()
    s.close()
    while (uploads.dir / "partial.part").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not (uploads.dir / "partial").exists() and not (uploads.dir / "partial.part").exists()


def test_form_body_with_curl(uploads):
    out = curl("-d", "interval=15&label=kitchen%20sensor", f"http://127.0.0.1:{uploads.port()}/config")
    assert out.stdout == b"interval=15 label=kitchen sensor\n"
