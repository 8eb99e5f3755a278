"""TLS peers that game the peek: each sends one whole ClientHello record (or only its
first half) and then nothing, reconnecting when closed; the table's size plus ten of
them. A fresh HTTPS client's waits are measured meanwhile. Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/tls_probe.py whole|half [SECONDS]"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import probe
from attacks import Attack
from conftest import BOARD, Server, rss_kb


def certificate(folder):
    key, crt = os.path.join(folder, "k.pem"), os.path.join(folder, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return key, crt


def client_hello():
    """The first record a Python TLS client sends."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def fresh_https(port, timeout=10):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    start = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: fresh\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
    except (OSError, ssl.SSLError) as e:
        return time.time() - start, type(e).__name__
    if not data.startswith(b"HTTP/1.1 200"):
        return time.time() - start, data[:40].decode(errors="replace") or "closed"
    return time.time() - start, None


def main():
    mode = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    folder = tempfile.mkdtemp(prefix="attack2-tls-")
    key, crt = certificate(folder)
    server = Server("echo-server", "--listen", "https://127.0.0.1:0", "--cert", crt, "--key", key)
    port, pid = server.port(), server.proc.pid
    time.sleep(0.5)
    fds0, rss0 = server.settled_fds(), rss_kb(pid)
    hello = client_hello()
    data = hello if mode == "whole" else hello[:len(hello) // 2]
    attack = Attack(port, probe.MAXC + 10, lambda s: s.send(data)).start()
    time.sleep(probe.GRACE + 0.5)
    t0, c0 = time.time(), probe.cpu_ticks(pid)
    waits = []
    while time.time() - t0 < seconds:
        waits.append(fresh_https(port))
        time.sleep(0.3)
    cpu = (probe.cpu_ticks(pid) - c0) / os.sysconf("SC_CLK_TCK") / (time.time() - t0) * 100
    attack.stop()
    deadline = time.time() + 15
    while server.open_fds() > fds0 and time.time() < deadline:
        time.sleep(0.5)
    print(f"{BOARD} TLS {mode} ClientHello ({len(data)} of {len(hello)} bytes) x{probe.MAXC + 10}:"
          f" server CPU {cpu:.0f} %, attackers reopened {attack.reopened}")
    probe.summarize("fresh HTTPS GET", waits)
    print(f"  fds {fds0} -> {server.open_fds()}, RSS {rss0} -> {rss_kb(pid)} kB; alive {server.alive()}")
    server.stop()


if __name__ == "__main__":
    main()
