"""upload-server (issue 8): request bodies streamed to disk, Content-Length or chunked,
with curl's Expect: 100-continue; an early answer; a form body."""
import os
import re
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
    assert temporaries(uploads.dir) == []
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


def test_cut_short_upload_leaves_no_file(uploads, start_server):
    s = uploads.connect()
    s.sendall(b"POST /upload/partial HTTP/1.1\r\nHost: u\r\nContent-Length: 100000\r\n\r\n" + b"y" * 5000)
    wait_written(uploads.dir, 5000)
    assert len(temporaries(uploads.dir)) == 1
    # Not a file yet: a listing of the folder does not show it.
    (uploads.dir / "shown.txt").write_bytes(b"x")
    files = start_server("file-server", "--dir", str(uploads.dir))
    page = curl(f"http://127.0.0.1:{files.port()}/").stdout
    assert b"shown.txt" in page and b"partial" not in page
    (uploads.dir / "shown.txt").unlink()
    s.close()
    deadline = time.time() + 5 * SLOW
    while temporaries(uploads.dir) and time.time() < deadline:
        time.sleep(0.05)
    assert os.listdir(uploads.dir) == []


def temporaries(folder):
    """The upload temporaries in `folder`: ".NAME.XXXXXXXX.part", hidden and apart from
    any name a client can upload (those never start with a dot)."""
    return [n for n in os.listdir(folder) if re.fullmatch(r"\..+\.[0-9a-f]{8}\.part", n)]


def wait_written(folder, n, slack=0):
    """Waits (at most 5 s, slower boards longer) until the temporaries in `folder` hold at
    least n - slack bytes: the server has written what was sent so far."""
    deadline = time.time() + 5 * SLOW
    while time.time() < deadline:
        total = 0
        for name in temporaries(folder):
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except FileNotFoundError:
                pass   # renamed or removed meanwhile
        if total >= n - slack:
            return
        time.sleep(0.02)


def interleave(first, second, send, answer):
    """Two uploads of one name, byte-wise interleaved: `first` starts, `second` starts,
    their middles alternate, then `first` finishes and is answered, then `second`.
    `send(i, start, end)` sends body bytes [start, end) of upload i (its head with the
    first piece); returns the answers in finishing order."""
    pieces = [[(0, 100_000), (100_000, 150_000), (150_000, None)],
              [(0, 60_000), (60_000, 120_000), (120_000, None)]]
    for step in range(2):
        for i in (first, second):
            send(i, *pieces[i][step])
    answers = []
    for i in (first, second):
        send(i, *pieces[i][2])
        answers.append(answer(i))
    return answers


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["A-finishes-first", "B-finishes-first"])
def test_same_name_uploads_interleaved_last_whole_one_wins(uploads, order):
    """Each upload its own temporary file; whoever is renamed last is what is stored,
    whole, and each 201 names the bytes it put there (size and CRC)."""
    bodies = [os.urandom(300_000), os.urandom(200_000)]
    clients = [RawClient(uploads.connect()), RawClient(uploads.connect())]
    written = [0]

    def send(i, start, end):
        body = bodies[i]
        head = b"PUT /upload/same.bin HTTP/1.1\r\nHost: u\r\nContent-Length: %d\r\n\r\n" % len(body)
        clients[i].send((head if start == 0 else b"") + body[start:end])
        if end is not None:
            written[0] += end - start
            wait_written(uploads.dir, written[0])   # the server has it on disk: truly interleaved

    def answer(i):
        status, _, text = clients[i].response()
        # Answered 201: the file is this upload's bytes, whole (the other is still coming).
        assert status == 201 and (uploads.dir / "same.bin").read_bytes() == bodies[i]
        return text

    answers = interleave(*order, send, answer)
    for i, got in zip(order, answers):
        assert got == b"%d %08x\n" % (len(bodies[i]), zlib.crc32(bodies[i]))
    assert (uploads.dir / "same.bin").read_bytes() == bodies[order[1]]
    assert os.listdir(uploads.dir) == ["same.bin"]


def test_kill_9_mid_upload_keeps_the_old_file_and_the_restart_cleans(start_server, tmp_path):
    """kill -9 while a new version is half written: the old one is intact, and the next
    start removes the temporary, only the app's own (a user's "x.part" stays)."""
    s = start_server("upload-server", "--dir", str(tmp_path))
    old, mine = os.urandom(50_000), b"a user's file, not a temporary\n"
    c = RawClient(s.connect())
    for name, body in (("keep.bin", old), ("keep.bin.part", mine)):
        c.send(b"PUT /upload/%s HTTP/1.1\r\nHost: u\r\nContent-Length: %d\r\n\r\n%s" % (name.encode(), len(body), body))
        assert c.response()[0] == 201
    c.send(b"PUT /upload/keep.bin HTTP/1.1\r\nHost: u\r\nContent-Length: 200000\r\n\r\n" + b"n" * 100_000)
    wait_written(tmp_path, 100_000)
    s.proc.kill()
    s.proc.wait()
    c.close()
    assert (tmp_path / "keep.bin").read_bytes() == old
    start_server("upload-server", "--dir", str(tmp_path))   # "listening" once cleaned
    assert sorted(os.listdir(tmp_path)) == ["keep.bin", "keep.bin.part"]
    assert (tmp_path / "keep.bin").read_bytes() == old
    assert (tmp_path / "keep.bin.part").read_bytes() == mine


def test_form_body_with_curl(uploads):
    out = curl("-d", "interval=15&label=kitchen%20sensor", f"http://127.0.0.1:{uploads.port()}/config")
    assert out.stdout == b"interval=15 label=kitchen sensor\n"
