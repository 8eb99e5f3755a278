"""make bench, the client side (issue 11). Meerkat's client tools against the project's
own echo-server, next to a peer client doing the same work against the same server:
- HTTP: `fetch --repeat N` (GET /stats, one keep-alive connection, each request after
  the answer to the one before) vs `wrk -t1 -c1` (the same request, one connection).
- WebSocket: `ws-client --repeat N` (a 16-byte text message, each sent after the echo
  of the one before) vs Python's `websocket-client` doing the same loop.
- TLS reconnects (issue 25): `fetch --repeat N --new-connections` against openssl
  s_server, each request on a new connection, with the server taking the session the
  client kept (resumed) and with it refusing any (-no_ticket -no_cache: a full
  handshake each time, as every reconnect was before clients kept sessions).
The server is pinned to core 0, the client to core 1; runs alternate between the two
clients, three rounds, the median kept. A tool's rate is taken from two runs, N and
N + DELTA round trips: DELTA / (time difference), so start-up and exit cancel out."""
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.join(ROOT, "build", "host", "bin")
PORT = 19011
BASE, DELTA = 2000, 20000
MESSAGE = "sixteen bytes!!!"
WS_CLIENT_LOOP = """
import sys, time, websocket
ws = websocket.create_connection(sys.argv[1])
n = int(sys.argv[2])
message = sys.argv[3]
for _ in range(200):
    ws.send(message); ws.recv()
start = time.perf_counter()
for _ in range(n):
    ws.send(message)
    assert ws.recv() == message
print(n / (time.perf_counter() - start))
ws.close()
"""


def timed(cmd, stdin=b""):
    start = time.perf_counter()
    out = subprocess.run(["taskset", "-c", "1"] + cmd, input=stdin, capture_output=True, check=True)
    return time.perf_counter() - start, out.stdout


def tool_rate(cmd, stdin=b""):
    """Round trips per second of a tool that takes --repeat N: (N + DELTA) vs N runs."""
    short, _ = timed(cmd(BASE), stdin)
    long, out = timed(cmd(BASE + DELTA), stdin)
    return DELTA / (long - short), out


def fetch_rate():
    url = f"http://127.0.0.1:{PORT}/stats"
    rate, out = tool_rate(lambda n: [os.path.join(BIN, "fetch"), "--repeat", str(n), url])
    assert out.startswith(b"status 200"), out[:80]
    return rate


def wrk_rate():
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c1", "-d3s", f"http://127.0.0.1:{PORT}/stats"],
                         capture_output=True, text=True, check=True).stdout
    return float(next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")))


def ws_client_rate():
    url = f"ws://127.0.0.1:{PORT}/raw"
    rate, out = tool_rate(lambda n: [os.path.join(BIN, "ws-client"), "--repeat", str(n), url],
                          stdin=(MESSAGE + "\n").encode())
    assert out.decode().strip() == MESSAGE, out[:80]
    # The tool waits 300 ms of quiet before it closes, in both runs: it cancels out.
    return rate


def websocket_client_rate():
    out = subprocess.run(["taskset", "-c", "1", sys.executable, "-c", WS_CLIENT_LOOP, f"ws://127.0.0.1:{PORT}/raw",
                          str(DELTA), MESSAGE], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def reconnect_cost(port, ca, n_short=10, n_long=110):
    """Wall time and client CPU per new TLS connection (handshake, request, answer,
    close) of `fetch --repeat N --new-connections`: the (n_long - n_short) difference."""
    def run(n):
        cpu = children_cpu()
        wall, out = timed([os.path.join(BIN, "fetch"), "--ca", ca, "--repeat", str(n), "--new-connections",
                           f"https://localhost:{port}/"])
        assert out.startswith(b"status 200"), out[:80]
        return wall, children_cpu() - cpu
    w1, c1 = run(n_short)
    w2, c2 = run(n_long)
    return (w2 - w1) / (n_long - n_short), (c2 - c1) / (n_long - n_short)


def tls_reconnects():
    """Median over 3 alternated rounds: (wall, cpu) per reconnect, resumed and full."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", f"{d}/k", "-out", f"{d}/c", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"], capture_output=True, check=True)
        servers = {}
        for name, extra, port in (("resumed", [], PORT + 1), ("full", ["-no_ticket", "-no_cache"], PORT + 2)):
            servers[name] = (subprocess.Popen(["taskset", "-c", "0", "openssl", "s_server", "-accept",
                                               f"127.0.0.1:{port}", "-cert", f"{d}/c", "-key", f"{d}/k", "-www",
                                               "-quiet", *extra], stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port)
        try:
            for _, port in servers.values():
                wait_for(port)
            runs = {name: [] for name in servers}
            for _ in range(3):
                for name, (_, port) in servers.items():
                    runs[name].append(reconnect_cost(port, f"{d}/c"))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait()
    return {name: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for name, v in runs.items()}


def wait_for(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def main():
    server = subprocess.Popen(["taskset", "-c", "0", os.path.join(BIN, "echo-server"), "--listen",
                               f"http://127.0.0.1:{PORT}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(PORT)
        runs = {"fetch": [], "wrk": [], "ws-client": [], "websocket-client": []}
        for _ in range(3):
            runs["fetch"].append(fetch_rate())
            runs["wrk"].append(wrk_rate())
            runs["ws-client"].append(ws_client_rate())
            runs["websocket-client"].append(websocket_client_rate())
        m = {k: statistics.median(v) for k, v in runs.items()}
        print("Clients against echo-server (server on core 0, client on core 1), one connection,"
              " each request after the answer before; median of 3 alternated runs:")
        print(f"  HTTP GET /stats: Meerkat fetch {m['fetch']:.0f} req/s, wrk -c1 {m['wrk']:.0f} req/s,"
              f" ratio {m['fetch'] / m['wrk']:.2f}")
        print(f"  WebSocket 16-byte echo: Meerkat ws-client {m['ws-client']:.0f} round trips/s,"
              f" websocket-client {m['websocket-client']:.0f} round trips/s,"
              f" ratio {m['ws-client'] / m['websocket-client']:.2f}")
    finally:
        server.terminate()
        server.wait()
    r = tls_reconnects()
    print("TLS reconnects: fetch --repeat N --new-connections against openssl s_server -www (server on core 0,"
          " client on core 1), per new connection; median of 3 alternated runs:")
    for name in ("full", "resumed"):
        print(f"  {name}: {r[name][0] * 1e3:.2f} ms wall, {r[name][1] * 1e6:.0f} us client CPU")
    print(f"  resumed/full: wall {r['resumed'][0] / r['full'][0]:.2f}, client CPU {r['resumed'][1] / r['full'][1]:.2f}")


if __name__ == "__main__":
    main()
