"""make bench, static files (issue 12): Meerkat's file-server (serveDir) against nginx
serving the same files from the same folder (1 worker, sendfile on, open_file_cache),
a 1 KiB file and a 1 MiB file, wrk -t1 on core 1, each server alone on core 0, three
rounds alternating the servers, the median kept; as ratios to nginx. The bodies are
checked byte for byte first (the heads differ: nginx adds Server and Date)."""
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from bench_ws import start  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "host", "bin")
TMP = tempfile.mkdtemp()
WWW = os.path.join(TMP, "www")
FILES = {"/1k.bin": 1024, "/1m.bin": 1 << 20}
CONNECTIONS = {"/1k.bin": 64, "/1m.bin": 16}


def wrk(url, connections):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", "-d3s", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")))
    errors = "Non-2xx" in out or "Socket errors" in out
    return rate, errors


def main():
    os.chmod(TMP, 0o755)   # nginx's worker runs as another user
    os.makedirs(WWW)
    for path, size in FILES.items():
        with open(WWW + path, "wb") as f:
            f.write(os.urandom(size))
    conf = os.path.join(TMP, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {TMP}/nginx.pid; error_log {TMP}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 1000000; sendfile on; tcp_nopush on;
  open_file_cache max=100 inactive=60s; open_file_cache_valid 60s; default_type application/octet-stream;
  server {{ listen 127.0.0.1:19021; root {WWW}; }} }}
""")
    servers = {"Meerkat file-server": ([os.path.join(BIN, "file-server"), "--listen", "http://127.0.0.1:19020",
                                        "--dir", WWW], 19020),
               "nginx 1 worker (sendfile, open_file_cache)": (["nginx", "-c", conf], 19021)}
    rates = {(name, path): [] for name in servers for path in FILES}
    errors = set()
    for name, (cmd, port) in servers.items():   # the same bytes first
        p = start(cmd, port)
        try:
            for path in FILES:
                body = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}{path}"], capture_output=True).stdout
                assert body == open(WWW + path, "rb").read(), f"{name} {path}: not the file's bytes"
        finally:
            p.terminate()
            p.wait()
    for _ in range(3):
        for name, (cmd, port) in servers.items():
            p = start(cmd, port)
            try:
                for path in FILES:
                    rate, failed = wrk(f"http://127.0.0.1:{port}{path}", CONNECTIONS[path])
                    rates[(name, path)].append(rate)
                    if failed:
                        errors.add((name, path))
            finally:
                p.terminate()
                p.wait()
    print("Static files, the same bytes from the same folder, wrk -t1 -d3s (64 connections for 1 KiB,"
          " 16 for 1 MiB), median of 3 alternated runs:")
    print("| server | file | req/s | MB/s | ratio to nginx |")
    print("|---|---|---|---|---|")
    nginx = "nginx 1 worker (sendfile, open_file_cache)"
    for path, size in FILES.items():
        base = statistics.median(rates[(nginx, path)])
        for name in servers:
            m = statistics.median(rates[(name, path)])
            flag = " (errors)" if (name, path) in errors else ""
            print(f"| {name} | {path[1:]} | {m:.0f}{flag} | {m * size / 1e6:.1f} | {m / base:.2f} |")


if __name__ == "__main__":
    main()
