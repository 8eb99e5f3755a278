"""make bench, the client side (issue 11). Meerkat's client tools against the project's
own echo-server, next to a peer client doing the same work against the same server:
- HTTP: `fetch --repeat N` (GET /stats, one keep-alive connection, each request after
  the answer to the one before) vs `wrk -t1 -c1` (the same request, one connection).
- WebSocket: `ws-client --repeat N` (a 16-byte text message, each sent after the echo
  of the one before) vs Python's `websocket-client` doing the same loop.
The server is pinned to core 0, the client to core 1; runs alternate between the two
clients, three rounds, the median kept. A tool's rate is taken from two runs, N and
N + DELTA round trips: DELTA / (time difference), so start-up and exit cancel out."""
import os
import socket
import statistics
import subprocess
import sys
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


def main():
    server = subprocess.Popen(["taskset", "-c", "0", os.path.join(BIN, "echo-server"), "--listen",
                               f"http://127.0.0.1:{PORT}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
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


if __name__ == "__main__":
    main()
