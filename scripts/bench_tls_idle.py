"""make bench, idle TLS memory (issue 25): resident memory against 1,000 and 10,000 idle
TLS connections, Meerkat's echo-server (idle wss: upgraded, nothing pending; its
connection table and TLS sessions sized for the top step with --max-connections and
--tls-slots, the record-buffer pairs left at the host's 64) against nginx (idle https
keep-alive after one `return 200`, the cheaper of the two ways the issue allows for
nginx: a proxied wss would add an upstream socket and proxy buffers to its side).

Same certificate and key (ECDSA P-256, bench_tls.make_cert), TLS 1.2 and the same
suite for both. Each server is pinned to core 0, the client (this script, Python's ssl)
to core 1; the servers alternate, ROUNDS times (default 1: each round opens 22,000 TLS
connections), the median kept. Before counting, 100 connections are opened and closed
on each server, so what is made once (Meerkat's touched pairs and mbedTLS heap cache,
nginx's and OpenSSL's first allocations) is in the baseline; per connection = (RSS at
N - RSS at 0) / N. The first connection's handshake is full; the others resume its
session with the server's ticket (what a reconnecting client does), which keeps 22,000
handshakes short on a shared machine: what an idle connection holds afterwards is the
same (its keys, transform and session; a server keeps no client certificate here)."""
import os
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

from bench_tls import ROOT, SUITE, make_cert, rss_kb, wait_port

ROUNDS = int(os.environ.get("ROUNDS", "1"))
STEPS = (1000, int(os.environ.get("IDLE_TLS_TOP", "10000")))
MEERKAT, NGINX = 18453, 18454
TABLE = STEPS[-1] + 100
UPGRADE = (b"GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def start_meerkat(d):
    proc = subprocess.Popen(["taskset", "-c", "0", f"{ROOT}/build/host/bin/echo-server", "--listen",
                             f"wss://127.0.0.1:{MEERKAT}", "--cert", f"{d}/server.crt", "--key", f"{d}/server.key",
                             "--max-connections", str(TABLE), "--tls-slots", str(TABLE),
                             "--idle-timeout-ms", "3600000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(MEERKAT)
    return proc, lambda: proc.pid


def start_nginx(d):
    conf = f"""user {os.popen('id -un').read().strip()};
worker_processes 1;
daemon off;
pid {d}/nginx-idle.pid;
error_log {d}/nginx-idle-error.log;
worker_rlimit_nofile {TABLE + 1000};
events {{ worker_connections {TABLE + 100}; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 3600s;
    server {{
        listen 127.0.0.1:{NGINX} ssl;
        ssl_certificate {d}/server.crt;
        ssl_certificate_key {d}/server.key;
        ssl_protocols TLSv1.2;
        ssl_ciphers {SUITE};
        ssl_ecdh_curve X25519:prime256v1;
        ssl_session_cache off;
        ssl_session_tickets on;
        location / {{ return 200 "idle"; }}
    }}
}}
"""
    with open(f"{d}/nginx-idle.conf", "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", f"{d}/nginx-idle.conf"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(NGINX)

    def worker():
        out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        return int(out[0])
    return proc, worker


def open_idle(port, ctx, request, until, session=None):
    """One TLS connection that has made `request` and read its answer's head, then idles."""
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1", session=session)
    s.sendall(request)
    data = b""
    while until not in data:
        data += s.recv(4096)
    return s


def measure(start, port, request, until, d, ctx):
    """RSS (kB) of the server at 0 and at each of STEPS idle TLS connections."""
    proc, pid_of = start(d)
    socks = []
    try:
        first = open_idle(port, ctx, request, until)
        session = first.session
        first.close()
        for _ in range(100):
            open_idle(port, ctx, request, until, session).close()
        time.sleep(0.5)
        rss = [rss_kb(pid_of())]
        for step in STEPS:
            while len(socks) < step:
                socks.append(open_idle(port, ctx, request, until, session))
            time.sleep(1.0)
            rss.append(rss_kb(pid_of()))
            print(f"  {port}: {step:,} idle connections, RSS {rss[-1]:,} kB (at 0: {rss[0]:,} kB)", flush=True)
        return rss
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait()


def main():
    resource.setrlimit(resource.RLIMIT_NOFILE, (TABLE + 1000, TABLE + 1000))
    os.sched_setaffinity(0, {1})
    d = tempfile.mkdtemp()
    os.chmod(d, 0o755)
    make_cert(d)
    ctx = ssl.create_default_context(cafile=f"{d}/server.crt")
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    servers = {
        "Meerkat echo-server (idle wss)": (start_meerkat, MEERKAT, UPGRADE, b"\r\n\r\n"),
        "nginx (idle https keep-alive)": (start_nginx, NGINX, GET, b"idle"),
    }
    # ONLY=meerkat or ONLY=nginx measures one server (two such runs side by side take half
    # the time on a machine busy with other work); the ratio needs both.
    only = os.environ.get("ONLY", "")
    servers = {k: v for k, v in servers.items() if k.lower().startswith(only.lower())}
    runs = {name: [] for name in servers}
    for _ in range(ROUNDS):
        for name, (start, port, request, until) in servers.items():   # alternated
            runs[name].append(measure(start, port, request, until, d, ctx))
    rss = {name: [statistics.median(r[i] for r in v) for i in range(len(STEPS) + 1)] for name, v in runs.items()}
    per = {name: [(r[i + 1] - r[0]) * 1024 / STEPS[i] for i in range(len(STEPS))] for name, r in rss.items()}
    print(f"RSS against idle TLS connections (TLS 1.2, {SUITE}, ECDSA P-256, same certificate); servers on core 0,"
          f" client on core 1; median of {ROUNDS} alternated round(s); Meerkat's table and sessions sized for"
          f" {TABLE:,}, 64 record-buffer pairs")
    print("| server | RSS at 0 | " + " | ".join(f"at {n:,}" for n in STEPS) + " | "
          + " | ".join(f"bytes per connection ({n:,})" for n in STEPS) + " |")
    print("|---|" + "---|" * (1 + 2 * len(STEPS)))
    for name in servers:
        print(f"| {name} | " + " | ".join(f"{r:,} kB" for r in rss[name]) + " | "
              + " | ".join(f"{p:,.0f}" for p in per[name]) + " |")
    if len(servers) < 2:
        return
    m, n = per["Meerkat echo-server (idle wss)"], per["nginx (idle https keep-alive)"]
    print("| Meerkat / nginx | " + " | " * (1 + len(STEPS)) + " | ".join(f"{m[i] / n[i]:.2f}" for i in range(len(STEPS)))
          + " |")
    goal = all(m[i] <= 4096 and m[i] < n[i] / 2 for i in range(len(STEPS)))
    print(f"goal (at most 4 KB per idle TLS connection, under half of nginx's): {'met' if goal else 'NOT met'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
