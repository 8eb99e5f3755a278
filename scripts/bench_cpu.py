"""make bench, efficiency (issue 13): the server's own CPU time per keep-alive HTTP
request and per WebSocket echo (utime + stime from /proc/PID/stat over the run, divided
by the requests or round trips served), each server pinned to core 0 and the load to
core 1, five rounds alternating the servers, the median kept; with p50/p99 latency from
`wrk --latency` at 64 connections. Beside Meerkat's echo-server:
- HTTP: nginx (1 worker, `return 200` with the same body) and a bare C floor
  (bench/floor_http.c: level-triggered epoll, one read and one write per request)
  answering with echo-server's exact response bytes;
- WebSocket: a bare C floor (bench/floor_ws.c: unmask, answer, one write per read) and
  node + ws (Debian's node-ws).
- The user-space instructions per keep-alive request of the three HTTP servers, counted by
  valgrind's callgrind: the same request N1 and then N2 times on one connection, the
  difference divided by N2 - N1 (start-up cancels out). Unlike CPU time this figure does
  not move with the machine's noise, so it shows what a code change bought.
Also writes the figures as JSON to build/bench/cpu.json (for the charts)."""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_ws import BIN, NODE_ECHO, TMP, cpu_seconds, k6, start  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "build", "bench")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def tree_cpu(pid):
    """CPU seconds of a process and its children (nginx's master and its worker)."""
    total = cpu_seconds(pid)
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for child in f.read().split():
                total += tree_cpu(int(child))
    except OSError:
        pass
    return total


def build_floors():
    os.makedirs(OUT, exist_ok=True)
    for name, libs in (("floor_http", []), ("floor_ws", ["-lmbedcrypto"])):
        subprocess.run(["gcc", "-O2", "-o", os.path.join(OUT, name), os.path.join(ROOT, "bench", name + ".c"), *libs],
                       check=True)


def read_response(s, data=b""):
    """(head, body, bytes after it) of one response read from socket `s`, `data` being
    what was read already."""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, data = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
    while len(data) < length:
        data += s.recv(65536)
    return head, data[:length], data[length:]


def raw_response(port, path="/"):
    """The whole response (head and body) a server gives to one GET."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head, body, _ = read_response(s)
    s.close()
    return head + b"\r\n\r\n" + body


def wrk(url):
    """(requests, p50 ms, p99 ms) of a 5 s run at 64 connections."""
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", "-d5s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))

    def ms(label):
        value = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)", out, re.M)
        scale = {"us": 0.001, "ms": 1, "s": 1000}[value.group(2)]
        return float(value.group(1)) * scale
    return requests, ms("50%"), ms("99%")


def http():
    echo = [os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:19031"]
    p = start(echo, 19031)
    response = raw_response(19031)
    p.terminate()
    p.wait()
    body = response.partition(b"\r\n\r\n")[2]
    with open(os.path.join(TMP, "response.bin"), "wb") as f:
        f.write(response)
    escaped = body.decode().replace("\\", "\\\\").replace('"', '\\"').replace("$", "${dollar}")
    conf = os.path.join(TMP, "nginx-cpu.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {TMP}/nginx-cpu.pid; error_log {TMP}/nginx-cpu-error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 1000000; geo $dollar {{ default "$"; }}
  server {{ listen 127.0.0.1:19033; location / {{ default_type "text/html; charset=utf-8"; return 200 "{escaped}"; }} }} }}
""")
    servers = {
        "Meerkat echo-server": (echo, 19031),
        "bare C floor (epoll)": ([os.path.join(OUT, "floor_http"), "19032", os.path.join(TMP, "response.bin")], 19032),
        "nginx 1 worker (return 200)": (["nginx", "-c", conf], 19033),
    }
    for name, (cmd, port) in servers.items():   # the same body from each
        p = start(cmd, port)
        try:
            assert raw_response(port).partition(b"\r\n\r\n")[2] == body, name
        finally:
            p.terminate()
            p.wait()
    runs = {name: [] for name in servers}
    for _ in range(ROUNDS):
        for name, (cmd, port) in servers.items():
            p = start(cmd, port)
            try:
                before = tree_cpu(p.pid)
                requests, p50, p99 = wrk(f"http://127.0.0.1:{port}/")
                used = tree_cpu(p.pid) - before
                runs[name].append((used / requests * 1e6, requests / 5.0, p50, p99))
            finally:
                p.terminate()
                p.wait()
    figures = {name: [statistics.median(r[k] for r in rs) for k in range(4)] for name, rs in runs.items()}
    return figures, len(response), instructions(servers)


def keepalive_requests(port, count):
    """`count` GETs, one after the other on one connection, each answer read whole."""
    s = socket.create_connection(("127.0.0.1", port))
    data = b""
    for _ in range(count):
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        _, _, data = read_response(s, data)
    s.close()


def callgrind_total(cmd, port, count, load=None):
    """Instructions a server runs (user space, callgrind) serving `count` requests
    (`load(port, count)`; keep-alive GETs unless given)."""
    out = os.path.join(TMP, f"callgrind.{port}.{count}")
    p = start(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd], port)
    (load or keepalive_requests)(port, count)
    time.sleep(0.3)
    p.terminate()
    p.wait()
    with open(out) as f:
        return int(re.search(r"^(?:summary|totals):\s+(\d+)", f.read(), re.M).group(1))


def instructions(servers):
    """User-space instructions per keep-alive request, for each HTTP server."""
    counts = (1000, 4000)
    result = {}
    for name, (cmd, port) in servers.items():
        if cmd[0] == "nginx":   # one process, so callgrind sees the worker's work
            cmd = ["nginx", "-g", "master_process off;", *cmd[1:]]
        low, high = (callgrind_total(cmd, port, n) for n in counts)
        result[name] = (high - low) / (counts[1] - counts[0])
    return result


def websocket():
    servers = {
        "Meerkat echo-server": ([os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:19034"], 19034, "/raw", None),
        "bare C floor (epoll)": ([os.path.join(OUT, "floor_ws"), "19035"], 19035, "/", None),
        "node + ws": (["node", "-e", NODE_ECHO, "19036"], 19036, "/", {"NODE_PATH": "/usr/share/nodejs:/usr/lib/nodejs"}),
    }
    runs = {name: [] for name in servers}
    for _ in range(ROUNDS):
        for name, (cmd, port, path, env) in servers.items():
            p = start(cmd, port, env)
            try:
                before = tree_cpu(p.pid)
                rate = k6(f"ws://127.0.0.1:{port}{path}", 16)
                used = tree_cpu(p.pid) - before
                runs[name].append((used / (rate * 3.0) * 1e6, rate))
            finally:
                p.terminate()
                p.wait()
    return {name: [statistics.median(r[k] for r in rs) for k in range(2)] for name, rs in runs.items()}


def main():
    build_floors()
    h, size, ins = http()
    if os.environ.get("BENCH_ONLY") == "http":
        w = {n: [1.0, 0.0] for n in ("Meerkat echo-server", "bare C floor (epoll)", "node + ws")}
    else:
        w = websocket()
    floor, ng = h["bare C floor (epoll)"][0], h["nginx 1 worker (return 200)"][0]
    print(f"CPU per keep-alive request ({size}-byte response, the same body from each), wrk -t1 -c64 -d5s --latency,"
          f" median of {ROUNDS} alternated runs:")
    print("| server | CPU µs per request | × C floor | × nginx | req/s | p50 | p99 |")
    print("|---|---|---|---|---|---|---|")
    for name, (cpu, rate, p50, p99) in h.items():
        print(f"| {name} | {cpu:.2f} | {cpu / floor:.2f} | {cpu / ng:.2f} | {rate:,.0f} | {p50:.2f} ms | {p99:.2f} ms |")
    print("User-space instructions per keep-alive request (callgrind; does not vary from run to run):")
    print("| server | instructions per request | × C floor |")
    print("|---|---|---|")
    for name, count in ins.items():
        print(f"| {name} | {count:,.0f} | {count / ins['bare C floor (epoll)']:.1f} |")
    wfloor = w["bare C floor (epoll)"][0]
    print(f"CPU per WebSocket echo (16-byte text, 64 k6 connections, 3 s), median of {ROUNDS} alternated runs:")
    print("| server | CPU µs per round trip | × C floor | round trips/s |")
    print("|---|---|---|---|")
    for name, (cpu, rate) in w.items():
        print(f"| {name} | {cpu:.2f} | {cpu / wfloor:.2f} | {rate:,.0f} |")
    with open(os.path.join(OUT, "cpu.json"), "w") as f:
        json.dump({"http": h, "websocket": w, "response_bytes": size, "instructions": ins}, f, indent=1)


if __name__ == "__main__":
    main()
