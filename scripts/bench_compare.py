"""Instructions per keep-alive request and per WebSocket echo of two echo-server builds,
counted by valgrind's callgrind (user space; does not vary from run to run), so a change
to the core can show what it cost. Run:

    python3 scripts/bench_compare.py BEFORE/echo-server AFTER/echo-server

Each load runs 1,000 and then 4,000 times on one connection; the difference divided by
3,000 cancels start-up. HTTP: GET / (bench_cpu's request). WebSocket: a masked 100-byte
text frame to /ws, answered "Echo: " + the text.

With --cpu first, it also prints the server's CPU time per keep-alive request under wrk
(64 connections, 5 s; /proc utime + stime of the server divided by the requests), each
server pinned to core 0 and wrk to core 1, the builds alternated for BENCH_ROUNDS rounds
(5), the median kept. Unlike the instruction counts this moves with the machine's noise:
compare only figures from one run."""
import base64
import os
import socket
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench_cpu  # noqa: E402


def ws_echo(port, count):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    data = data.split(b"\r\n\r\n", 1)[1]
    payload, mask = b"x" * 100, b"\x01\x02\x03\x04"
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    answer = 2 + len(b"Echo: ") + len(payload)
    for _ in range(count):
        s.sendall(frame)
        while len(data) < answer:
            data += s.recv(65536)
        data = data[answer:]
    s.close()


def cpu_per_request(binaries):
    """Median server CPU µs per keep-alive request under wrk, for each build, alternated."""
    runs = {binary: [] for binary in binaries}
    for _ in range(int(os.environ.get("BENCH_ROUNDS", "5"))):
        for i, binary in enumerate(binaries):
            port = 19405 + 10 * i
            p = bench_cpu.start([binary, "--listen", f"http://127.0.0.1:{port}"], port)
            try:
                before = bench_cpu.tree_cpu(p.pid)
                requests, _, _ = bench_cpu.wrk(f"http://127.0.0.1:{port}/")
                runs[binary].append((bench_cpu.tree_cpu(p.pid) - before) / requests * 1e6)
            finally:
                p.terminate()
                p.wait()
    return {binary: statistics.median(r) for binary, r in runs.items()}


def main():
    args = sys.argv[1:]
    cpu = args[:1] == ["--cpu"]
    binaries = args[1:] if cpu else args
    if cpu:
        print("| echo-server | server CPU µs per keep-alive request (wrk, median) |")
        print("|---|---:|")
        for binary, us in cpu_per_request(binaries).items():
            print(f"| {binary} | {us:.2f} |", flush=True)
        print()
    print("| echo-server | instructions per keep-alive request | per WebSocket echo |")
    print("|---|---:|---:|")
    for i, binary in enumerate(binaries):
        port = 19400 + 10 * i
        cmd = [binary, "--listen", f"http://127.0.0.1:{port}"]
        per = []
        for load in (bench_cpu.keepalive_requests, ws_echo):
            lo, hi = (bench_cpu.callgrind_total(cmd, port, n, load) for n in (1000, 4000))
            per.append((hi - lo) / 3000)
        print(f"| {binary} | {per[0]:,.0f} | {per[1]:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
