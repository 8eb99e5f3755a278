"""make bench, TLS part: Meerkat's echo-server against Debian's nginx with the same
certificate and key (ECDSA P-256), the same protocol (TLS 1.2), the same suite
(ECDHE-ECDSA-CHACHA20-POLY1305, Meerkat's first choice: BENCHMARKS.md, TLS ciphers), the
same curves (X25519, then P-256: Meerkat's order since issue 25), session tickets on
both (no server-side cache), the same page bytes from memory. Each server on core 0, the clients on core 1; runs alternate between the
servers, ROUNDS times, and the median is kept. Printed as a Markdown table with ratios.

Measures: full handshakes/s and resumed (ticket) handshakes/s with `openssl s_time`
(PARALLEL clients at once, so the server is never idle), keep-alive requests/s with wrk,
and resident memory with 1,000 idle TLS connections."""
import json
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "4"))
PARALLEL = int(os.environ.get("PARALLEL", "4"))
SUITE = "ECDHE-ECDSA-CHACHA20-POLY1305"
MEERKAT, NGINX = 18443, 18444


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def make_cert(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-keyout", f"{d}/server.key", "-out", f"{d}/server.crt", "-days", "2",
       "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmRSS")))


def start_servers(d, page):
    meerkat = subprocess.Popen(["taskset", "-c", "0", f"{ROOT}/build/host/bin/echo-server", "--listen",
                                f"https://127.0.0.1:{MEERKAT}", "--cert", f"{d}/server.crt", "--key",
                                f"{d}/server.key", "--tls-slots", "1100", "--max-connections", "1100"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    escaped = page.replace("\\", "\\\\").replace('"', '\\"')
    conf = f"""user {os.popen('id -un').read().strip()};
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
worker_rlimit_nofile 4096;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{NGINX} ssl;
        ssl_certificate {d}/server.crt;
        ssl_certificate_key {d}/server.key;
        ssl_protocols TLSv1.2;
        ssl_ciphers {SUITE};
        ssl_ecdh_curve X25519:prime256v1;
        ssl_session_cache off;
        ssl_session_tickets on;
        location / {{ default_type "text/html; charset=utf-8"; return 200 "{escaped}"; }}
    }}
}}
"""
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(conf)
    nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", f"{d}/nginx.conf"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(MEERKAT)
    wait_port(NGINX)
    return meerkat, nginx


def fetch(port, ctx):
    return urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=ctx).read()


def handshakes_per_s(port, resumed):
    """PARALLEL `openssl s_time` clients on core 1 for SECONDS: connections per second."""
    mode = "-reuse" if resumed else "-new"
    procs = [subprocess.Popen(["taskset", "-c", "1", "openssl", "s_time", "-connect", f"127.0.0.1:{port}", mode,
                               "-time", str(SECONDS), "-cipher", SUITE, "-tls1_2"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(PARALLEL)]
    total = 0
    for p in procs:
        out = p.communicate()[0]
        m = re.search(r"(\d+) connections in [\d.]+s;", out)
        total += int(m.group(1)) if m else 0
    return total / SECONDS


def keepalive_rps(port):
    out = sh("taskset", "-c", "1", "wrk", "-t1", "-c50", f"-d{SECONDS + 1}s", f"https://127.0.0.1:{port}/")
    errors = re.search(r"Socket errors.*|Non-2xx.*", out)
    if errors:
        print(f"  wrk on {port}: {errors.group(0)}", file=sys.stderr)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def idle_rss(pid_of, port, ctx, count=1000):
    """kB the server's resident memory grows by with `count` idle TLS connections, each
    having served one request."""
    before = rss_kb(pid_of())
    conns = []
    for _ in range(count):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"</html>" not in data:
            data += s.recv(65536)
        conns.append(s)
    time.sleep(0.5)
    grown = rss_kb(pid_of()) - before
    for s in conns:
        s.close()
    return grown


def nginx_worker():
    return int(sh("pgrep", "-f", "nginx: worker").split()[0])


def main():
    d = tempfile.mkdtemp()
    os.chmod(d, 0o755)
    make_cert(d)
    ctx = ssl.create_default_context(cafile=f"{d}/server.crt")
    # The page: what Meerkat's echo-server answers GET / with; nginx returns these bytes.
    meerkat_probe = subprocess.Popen([f"{ROOT}/build/host/bin/echo-server", "--listen", "http://127.0.0.1:18449"],
                                     stdout=subprocess.DEVNULL)
    wait_port(18449)
    page = urllib.request.urlopen("http://127.0.0.1:18449/").read().decode()
    meerkat_probe.terminate()
    meerkat, nginx = start_servers(d, page)
    try:
        assert fetch(MEERKAT, ctx) == fetch(NGINX, ctx) == page.encode(), "the servers answer different bytes"
        results = {}
        for name, measure in (("full handshakes/s", lambda p: handshakes_per_s(p, False)),
                              ("resumed handshakes/s (tickets)", lambda p: handshakes_per_s(p, True)),
                              ("keep-alive requests/s (wrk -c50)", keepalive_rps)):
            runs = {MEERKAT: [], NGINX: []}
            for _ in range(ROUNDS):
                for port in (MEERKAT, NGINX):   # alternated
                    runs[port].append(measure(port))
            results[name] = (statistics.median(runs[MEERKAT]), statistics.median(runs[NGINX]))
        m_rss = idle_rss(lambda: meerkat.pid, MEERKAT, ctx)
        n_rss = idle_rss(nginx_worker, NGINX, ctx)
    finally:
        meerkat.terminate()
        nginx.terminate()
        meerkat.wait()
        nginx.wait()
    cpu = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", cpu).group(1)
    print(f"machine: {os.cpu_count()} cores, {model}; servers on core 0, clients on core 1")
    print(f"TLS 1.2, {SUITE}, X25519 (s_time offers it first), ECDSA P-256 certificate; {len(page)}-byte page from memory on both; "
          f"median of {ROUNDS} alternated runs of {SECONDS} s; s_time with {PARALLEL} clients at once")
    print("| measure | Meerkat | nginx | Meerkat / nginx |\n|---|---|---|---|")
    for name, (m, n) in results.items():
        print(f"| {name} | {m:.0f} | {n:.0f} | {m / n:.2f} |")
    print(f"| RSS growth, 1,000 idle TLS connections | {m_rss} kB | {n_rss} kB | {m_rss / max(n_rss, 1):.2f} |")
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "bench", "tls.json"), "w") as f:   # for bench_charts.py
        json.dump({"suite": SUITE, "rounds": ROUNDS, "figures": {k: {"Meerkat": m, "nginx": n} for k, (m, n) in results.items()},
                   "idle_rss_growth_kb": {"Meerkat": m_rss, "nginx": n_rss}}, f, indent=1)


if __name__ == "__main__":
    main()
