"""A legit upload to upload-server while ATTACK (probe.py names) runs with the table's
size plus ten connections (attack3). Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/upload_under.py ATTACK SIZE PIECE GAP [TRIES]

One PUT of SIZE bytes written PIECE bytes at a time GAP s apart (GAP 0: full speed);
prints its outcome and time, and whether the stored file is whole."""
import os
import socket
import sys
import tempfile
import time
import zlib

import probe
from conftest import BOARD, Server


def main():
    attack, size, piece, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    tries = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    folder = tempfile.mkdtemp(prefix="attack3-")
    server = Server("upload-server", "--listen", "http://127.0.0.1:0", "--dir", folder)
    port = server.port()
    time.sleep(0.5)
    running = [probe.ATTACKS[n](port, probe.MAXC + 10) for n in attack.split("+")]
    time.sleep(2)
    for _ in range(tries):
        one(port, folder, attack, size, piece, gap)
    for a in running:
        if a:
            a.stop()
    server.stop()


def one(port, folder, attack, size, piece, gap):
    body = os.urandom(size)
    start = time.time()
    answer = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"PUT /upload/big.bin HTTP/1.1\r\nHost: u\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % size)
            for i in range(0, size, piece):
                s.sendall(body[i:i + piece])
                if gap:
                    time.sleep(gap)
            answer = probe.read_to_eof(s)
        outcome = answer.split(b"\r\n", 1)[0].decode() or "closed"
    except OSError as e:
        outcome = f"{type(e).__name__} after {time.time() - start:.1f} s"
    took = time.time() - start
    path = os.path.join(folder, "big.bin")
    stored = open(path, "rb").read() if os.path.exists(path) else b""
    whole = stored == body
    expect = f"{size} {zlib.crc32(body):08x}"
    said = answer.split(b"\r\n\r\n", 1)[-1].strip().decode()
    print(f"{BOARD} upload {size} B ({piece} B / {gap} s) under {attack}: {outcome} in {took:.1f} s;"
          f" stored whole {whole}; answer says {said!r}"
          f" (expected {expect!r})", flush=True)


if __name__ == "__main__":
    main()
