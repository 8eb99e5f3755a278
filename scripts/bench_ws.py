"""make bench, WebSocket and the corrected HTTP ratio (issue 9). Each server is pinned to
core 0 and the load generator to core 1; runs alternate between servers, three rounds,
and the median is kept.
- WebSocket echo round trips per second, 64 connections (k6), 16-byte and 4 KiB
  messages: Meerkat echo-server (plain echo path) vs node + ws (Debian node-ws) vs
  Python websockets; RSS of each server during its run.
- RSS against idle WebSocket connections, up to 10,000: echo-server, the C floor, node + ws,
  Python websockets (build/bench/idle.json, drawn by bench_charts.py).
- HTTP: echo-server's page vs nginx answering the same bytes from memory (`return 200`),
  wrk -t1 -c64."""
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "host", "bin")
TMP = tempfile.mkdtemp()
NODE_ECHO = """
const WebSocket = require('ws');
const server = new WebSocket.Server({ port: parseInt(process.argv[process.argv.length - 1]) });
server.on('connection', s => s.on('message', (data, isBinary) => s.send(data, { binary: isBinary })));
"""
PY_ECHO = """
import asyncio, sys, websockets
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", int(sys.argv[1]), max_size=None, compression=None):
        await asyncio.Future()
asyncio.run(main())
"""


def cpu_seconds(pid):
    """User + system CPU the process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l.split()[1] for l in f if l.startswith("VmRSS")))


def start(cmd, port, env=None):
    p = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, **(env or {})})
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{cmd[0]} did not start")


def k6(url, size):
    out = os.path.join(TMP, "k6.json")
    subprocess.run(["taskset", "-c", "1", "k6", "run", "-q", "--summary-export", out, "-e", f"URL={url}",
                    "-e", f"SIZE={size}", "-e", "DURATION=3000", os.path.join(ROOT, "scripts", "ws_echo_k6.js")],
                   check=True, capture_output=True)
    with open(out) as f:
        return json.load(f)["metrics"]["round_trips"]["rate"]


def ws_bench():
    servers = {
        "Meerkat echo-server": ([os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:19001"], 19001, "/", None),
        "node + ws": (["node", "-e", NODE_ECHO, "19002"], 19002, "/", {"NODE_PATH": "/usr/share/nodejs:/usr/lib/nodejs"}),
        "Python websockets": ([sys.executable, "-c", PY_ECHO, "19003"], 19003, "/", None),
    }
    # k6 on one core may be what limits the rate; the server's CPU time per round trip
    # says what each server spends on the same work.
    print("| messages | server | round trips/s (median of 3) | server CPU µs per round trip | CPU ratio to Meerkat | RSS during run |")
    print("|---|---|---|---|---|---|")
    for size in (16, 4096):
        rates, cpu, rss = {n: [] for n in servers}, {n: [] for n in servers}, {}
        for _ in range(3):
            for name, (cmd, port, path, env) in servers.items():
                p = start(cmd, port, env)
                before = cpu_seconds(p.pid)
                rate = k6(f"ws://127.0.0.1:{port}{path}", size)
                used = cpu_seconds(p.pid) - before
                rates[name].append(rate)
                cpu[name].append(used / (rate * 3.0) * 1e6)
                rss[name] = rss_kb(p.pid)
                p.terminate()
                p.wait()
        base = statistics.median(cpu["Meerkat echo-server"])
        for name in servers:
            r, c = statistics.median(rates[name]), statistics.median(cpu[name])
            print(f"| {size} B | {name} | {r:,.0f} | {c:.1f} | {c / base:.2f} | {rss[name]:,} kB |")


IDLE_STEPS = (0, 1000, 2500, 5000, 10000)


def idle_websockets():
    """RSS against idle WebSocket connections (each upgraded, nothing pending), at each of
    IDLE_STEPS, for echo-server, the bare C floor (bench/floor_ws.c, built by
    bench_cpu.py), node + ws and Python websockets. Printed, and written to
    build/bench/idle.json for the chart."""
    top = IDLE_STEPS[-1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (top + 1000, top + 1000))
    floor = os.path.join(ROOT, "build", "bench", "floor_ws")
    servers = {
        "Meerkat echo-server": ([os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:19004",
                                 "--max-connections", str(top + 100)], 19004, None),
        "bare C floor (epoll)": ([floor, "19007"], 19007, None),
        "node + ws": (["node", "-e", NODE_ECHO, "19008"], 19008, {"NODE_PATH": "/usr/share/nodejs:/usr/lib/nodejs"}),
        "Python websockets": ([sys.executable, "-c", PY_ECHO, "19009"], 19009, None),
    }
    if not os.path.exists(floor):
        del servers["bare C floor (epoll)"]
    handshake = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    series = {}
    for name, (cmd, port, env) in servers.items():
        p = start(cmd, port, env)
        socks, series[name] = [], []
        try:
            for step in IDLE_STEPS:
                while len(socks) < step:
                    s = socket.create_connection(("127.0.0.1", port))
                    s.sendall(handshake)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += s.recv(4096)
                    assert data.startswith(b"HTTP/1.1 101"), (name, data[:40])
                    socks.append(s)
                time.sleep(0.5)
                series[name].append(rss_kb(p.pid))
        finally:
            for s in socks:
                s.close()
            p.terminate()
            p.wait()
    print(f"RSS (kB) against idle WebSocket connections; echo-server's table sized for {top + 100:,} connections:")
    print("| server | " + " | ".join(f"{n:,}" for n in IDLE_STEPS) + " | kB per connection |")
    print("|---|" + "---|" * (len(IDLE_STEPS) + 1))
    for name, rss in series.items():
        per = (rss[-1] - rss[0]) / top
        print(f"| {name} | " + " | ".join(f"{r:,}" for r in rss) + f" | {per:.2f} |")
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "bench", "idle.json"), "w") as f:
        json.dump({"connections": IDLE_STEPS, "rss_kb": series}, f, indent=1)


def http_bench():
    m = start([os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:19005"], 19005)
    body = subprocess.run(["curl", "-s", "http://127.0.0.1:19005/"], capture_output=True, check=True).stdout.decode()
    m.terminate(); m.wait()
    escaped = body.replace("\\", "\\\\").replace('"', '\\"')
    conf = os.path.join(TMP, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {TMP}/nginx.pid; error_log {TMP}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:19006; location / {{ default_type "text/html; charset=utf-8"; return 200 "{escaped}"; }} }} }}
""")
    servers = {"Meerkat echo-server": ([os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:19005"], 19005),
               "nginx, 1 worker, return 200 (memory)": (["nginx", "-c", conf], 19006)}
    got = {}
    for name, (cmd, port) in servers.items():
        p = start(cmd, port)
        got[name] = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/"], capture_output=True).stdout
        p.terminate(); p.wait()
    assert got["Meerkat echo-server"] == got["nginx, 1 worker, return 200 (memory)"], "not the same bytes"
    rates = {n: [] for n in servers}
    for _ in range(3):
        for name, (cmd, port) in servers.items():
            p = start(cmd, port)
            out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", "-d3s", f"http://127.0.0.1:{port}/"],
                                 capture_output=True, text=True).stdout
            rates[name].append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))
            p.terminate(); p.wait()
    base = statistics.median(rates["nginx, 1 worker, return 200 (memory)"])
    print(f"HTTP, the same {len(got['Meerkat echo-server'])}-byte body from memory, wrk -t1 -c64 -d3s, median of 3 alternated runs:")
    print("| server | req/s | ratio to nginx |")
    print("|---|---|---|")
    for name in servers:
        r = statistics.median(rates[name])
        print(f"| {name} | {r:,.0f} | {r / base:.2f} |")


if __name__ == "__main__":
    print(f"machine: {os.cpu_count()} cores; servers on core 0, load on core 1")
    parts = sys.argv[1:] or ["http", "ws", "idle"]
    if "http" in parts: http_bench()
    if "ws" in parts: ws_bench()
    if "idle" in parts: idle_websockets()
