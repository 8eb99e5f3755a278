"""Honest slow POSTs under pressure (attack3, issue 21 grace sharing, a75f046). Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/crowd.py HONEST PIECES GAP [ATTACK] [ATTACKERS]

HONEST honest clients at once, each a POST of half a receive block in PIECES writes GAP
s apart (a slow mobile client), echoed back whole? Optionally ATTACK (probe.py names, or
"bigstall": a whole head and all of a block-sized body but its last byte, then nothing:
a holder that shows many bytes per second and never finishes) with ATTACKERS
connections. Prints honest outcomes, fresh GETs, server CPU and evictions."""
import os
import re
import socket
import sys
import threading
import time

import probe
from attacks import Attack
from conftest import BOARD, Server


def bigstall(port, count):
    room = probe.BLOCK - 200
    head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % room
    return Attack(port, count, lambda s: s.send(head + b"x" * (room - 1))).start()


probe.ATTACKS["bigstall"] = bigstall


def evictions(port):
    m = re.search(r"evictions (\d+)", probe.stats(port))
    return int(m.group(1)) if m else -1


def main():
    honest, pieces, gap = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    attack = sys.argv[4] if len(sys.argv) > 4 else "none"
    attackers = int(sys.argv[5]) if len(sys.argv) > 5 else probe.MAXC + 10
    server = Server("echo-server", "--listen", "http://127.0.0.1:0")
    port, pid = server.port(), server.proc.pid
    time.sleep(0.5)
    a = probe.ATTACKS[attack](port, attackers)
    time.sleep(1.5 if a else 0)
    e0, c0, t0 = evictions(port), probe.cpu_ticks(pid), time.time()
    results, fresh = [], []
    lock = threading.Lock()

    size = probe.BLOCK // 2
    body = bytes(range(256)) * (size // 256)
    head = b"POST /up HTTP/1.1\r\nHost: up\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % size
    go = threading.Barrier(honest)

    def one():
        go.wait()
        start = time.time()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                s.sendall(head)
                step = -(-size // pieces)
                for i in range(0, size, step):
                    time.sleep(gap)
                    s.sendall(body[i:i + step])
                data = probe.read_to_eof(s)
            r = None if data.startswith(b"HTTP/1.1 200") and data.endswith(body) else (
                data.split(b"\r\n", 1)[0].decode() or "closed")
        except OSError as e:
            r = type(e).__name__
        with lock:
            results.append((time.time() - start, r))
    threads = [threading.Thread(target=one, daemon=True) for _ in range(honest)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        fresh.append(probe.fresh(port))
        time.sleep(0.3)
    for t in threads:
        t.join()
    e1, c1, t1 = evictions(port), probe.cpu_ticks(pid), time.time()
    if a:
        a.stop()
    cpu = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0) * 100
    print(f"{BOARD} crowd {honest} POSTs of {probe.BLOCK // 2} B in {pieces} writes {gap} s apart,"
          f" attack {attack} x{attackers if a else 0}: {t1 - t0:.1f} s, CPU {cpu:.0f} %, evictions {e1 - e0}")
    probe.summarize("honest POST", results)
    probe.summarize("fresh GET", fresh)
    server.stop()


if __name__ == "__main__":
    socket.setdefaulttimeout(20)
    main()
