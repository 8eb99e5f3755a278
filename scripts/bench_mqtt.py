"""make bench, MQTT (issue 14): through one mosquitto (pinned to core 1; the clients on
core 0), Meerkat's mqtt-client against mosquitto's own clients and against paho-mqtt
(PyPI; scripts/bench_paho.py, 16 in flight as mqtt-client) doing the same work:
- publish rate, QoS 0 and QoS 1: N lines of stdin published to one topic
  (`mqtt-client --pub` against `mosquitto_pub -l`);
- round trip: N messages published and received back by a subscriber
  (`mqtt-client --sub --pub --count N` in one process against `mosquitto_sub -C N`
  with `mosquitto_pub -l` beside it; paho subscribed and publishing in one process);
each rate from the difference of two run lengths (N = 20,000 and 60,000), so start-up
and the final wait cancel out; three rounds alternating the clients, median kept.
Then the RSS of chat-server with 1,000 WebSocket users, bridged (--mqtt) and not."""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_ws import BIN, rss_kb  # noqa: E402

PAHO = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_paho.py")]

PORT = 18883
SMALL, LARGE = 20000, 60000
URL = f"mqtt://127.0.0.1:{PORT}"


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing on {port}")


def lines(n):
    path = os.path.join(tempfile.gettempdir(), f"mqtt-bench-{n}.txt")
    with open(path, "w") as f:
        f.writelines(f"message {i:08d}\n" for i in range(n))
    return path


def timed(cmd, stdin_path):
    """Seconds `cmd` takes with the file piped into its stdin (a pipe, as both tools read)."""
    start = time.perf_counter()
    cat = subprocess.Popen(["cat", stdin_path], stdout=subprocess.PIPE)
    subprocess.run(["taskset", "-c", "0", *cmd], stdin=cat.stdout, stdout=subprocess.DEVNULL, check=True)
    cat.wait()
    return time.perf_counter() - start


def publish(tool, qos, n):
    topic = f"bench/pub/{qos}"
    if tool == "meerkat":
        return timed([os.path.join(BIN, "mqtt-client"), "--pub", topic, "--qos", str(qos), URL], lines(n))
    if tool == "paho":
        return timed([*PAHO, str(PORT), topic, str(qos)], lines(n))
    return timed(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(PORT), "-V", "mqttv311", "-l", "-t", topic, "-q", str(qos)],
                 lines(n))


def round_trip(tool, n):
    if tool == "meerkat":
        return timed([os.path.join(BIN, "mqtt-client"), "--sub", "bench/rt/#", "--pub", "bench/rt/x", "--count", str(n),
                      URL], lines(n))
    if tool == "paho":
        return timed([*PAHO, str(PORT), "bench/rt/x", "0", "bench/rt/#", str(n)], lines(n))
    start = time.perf_counter()
    sub = subprocess.Popen(["taskset", "-c", "0", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(PORT), "-V", "mqttv311",
                            "-t", "bench/rt/#", "-C", str(n)], stdout=subprocess.DEVNULL)
    time.sleep(0.2)   # subscribed (the same pause is in both runs, so it cancels out)
    timed(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(PORT), "-V", "mqttv311", "-l", "-t", "bench/rt/x"], lines(n))
    sub.wait()
    return time.perf_counter() - start


def rate(measure):
    """Messages per second from the difference of two run lengths, median of 3."""
    runs = {"meerkat": [], "mosquitto": [], "paho": []}
    for _ in range(3):
        for tool in runs:   # alternated
            runs[tool].append((LARGE - SMALL) / (measure(tool, LARGE) - measure(tool, SMALL)))
    return {tool: statistics.median(r) for tool, r in runs.items()}


def chat_rss(bridged):
    args = [os.path.join(BIN, "chat-server"), "--listen", "http://127.0.0.1:18090", "--max-connections", "1100"]
    if bridged:
        args += ["--mqtt", URL, "--board", "bench"]
    p = subprocess.Popen(["taskset", "-c", "0", *args], stdout=subprocess.DEVNULL)
    wait_port(18090)
    time.sleep(0.5)
    before = rss_kb(p.pid)
    socks = []
    handshake = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    for _ in range(1000):
        s = socket.create_connection(("127.0.0.1", 18090))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        s.sendall(handshake)
        socks.append(s)
    time.sleep(2)
    after = rss_kb(p.pid)
    for s in socks:
        s.close()
    p.terminate()
    p.wait()
    return before, after


def main():
    broker = subprocess.Popen(["taskset", "-c", "1", "/usr/sbin/mosquitto", "-p", str(PORT)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_port(PORT)
        results = {}
        for qos in (0, 1):
            results[f"publish, QoS {qos} (messages/s)"] = rate(lambda tool, n, q=qos: publish(tool, q, n))
        results["round trip through the broker, QoS 0 (messages/s)"] = rate(round_trip)
        plain = chat_rss(False)
        bridged = chat_rss(True)
    finally:
        broker.kill()
        broker.wait()
    print(f"mosquitto on core 1, clients on core 0; {SMALL:,} and {LARGE:,} 17-byte messages, median of 3 alternated runs")
    print("| measure | Meerkat mqtt-client | mosquitto_pub / mosquitto_sub | paho-mqtt | Meerkat / mosquitto "
          "| Meerkat / paho |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['meerkat']:,.0f} | {r['mosquitto']:,.0f} | {r['paho']:,.0f} "
              f"| {r['meerkat'] / r['mosquitto']:.2f} | {r['meerkat'] / r['paho']:.2f} |")
    print("chat-server RSS, before and with 1,000 WebSocket users (each join broadcast to all):")
    print(f"| not bridged | {plain[0]:,} kB | {plain[1]:,} kB |")
    print(f"| bridged (--mqtt) | {bridged[0]:,} kB | {bridged[1]:,} kB |")


if __name__ == "__main__":
    main()
