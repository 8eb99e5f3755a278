"""Instructions per keep-alive request and per WebSocket echo of two echo-server builds,
counted by valgrind's callgrind (user space; does not vary from run to run), so a change
to the core can show what it cost. Run:

    python3 scripts/bench_compare.py BEFORE/echo-server AFTER/echo-server

Each load runs 1,000 and then 4,000 times on one connection; the difference divided by
3,000 cancels start-up. HTTP: GET / (bench_cpu's request). WebSocket: a masked 100-byte
text frame to /ws, answered "Echo: " + the text."""
import base64
import os
import socket
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


def main():
    print("| echo-server | instructions per keep-alive request | per WebSocket echo |")
    print("|---|---:|---:|")
    for i, binary in enumerate(sys.argv[1:]):
        port = 19400 + 10 * i
        cmd = [binary, "--listen", f"http://127.0.0.1:{port}"]
        per = []
        for load in (bench_cpu.keepalive_requests, ws_echo):
            lo, hi = (bench_cpu.callgrind_total(cmd, port, n, load) for n in (1000, 4000))
            per.append((hi - lo) / 3000)
        print(f"| {binary} | {per[0]:,.0f} | {per[1]:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
