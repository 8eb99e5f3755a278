"""make soak (issue 27): echo-server on one board under a mixed load that goes through
fault proxies (fault_proxy.py), with a reference model checking every answer and every
chat message, and the server's memory, descriptors and pools sampled as it runs.

The load, each part on its own threads, all through the proxies:
- HTTP keep-alive requests and pipelined batches of three: every body (unique, of a
  random size) must come back whole, in the order asked;
- the guide's chat, two rooms (echo-server's /ws/room/a and /ws/room/b): users join,
  talk and leave; the model (check_room) says which messages each user must have had;
- WSS echo clients (websocket-client over TLS to the https listener).
Every 10 s: the server's RSS and open descriptors (/proc; under qemu-user, qemu's
process) and GET /stats (asked directly, not through a proxy).

It fails when a check fails, or when, once the load has gone, the server does not come
back to where it started: its descriptors, every I/O block and TLS pair free, one
connection (the one asking); or when RSS grows past warm-up (see `trend`).

    python3 Tests/soak/soak.py --minutes 2 [--seed N] [--out DIR]
with MEERKAT_BIN / MEERKAT_RUNNER / MEERKAT_BOARD as for the integration tests."""
import argparse
import http.client
import json
import os
import random
import re
import shlex
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter

import websocket

sys.path.insert(0, os.path.dirname(__file__))
from fault_proxy import BREAKING, FaultProxy  # noqa: E402
from model import Failures, check_room  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("MEERKAT_BIN", os.path.join(ROOT, "build", "host", "bin")))
RUNNER = shlex.split(os.environ.get("MEERKAT_RUNNER", ""))
BOARD = os.environ.get("MEERKAT_BOARD", "host")
SLOW = 4.0 if RUNNER else 1.0
TIMEOUT = 15 * SLOW   # a client's patience: the longest stall is 2 s


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return crt, key


class Server:
    def __init__(self, out):
        crt, key = make_certs(out)
        cmd = RUNNER + [os.path.join(BIN, "echo-server"), "--listen", "http://127.0.0.1:0",
                        "--listen", "https://127.0.0.1:0", "--cert", crt, "--key", key,
                        "--log-level", os.environ.get("SOAK_LOG_LEVEL", "info")]
        self.log = open(os.path.join(out, "server.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.ports = []
        while len(self.ports) < 2:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                raise RuntimeError(f"echo-server exited before listening ({self.proc.poll()})")
            m = re.match(r"listening on \S+:(\d+)", line)
            if m:
                self.ports.append(int(m.group(1)))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.write(line.decode(errors="replace"))

    def stats(self):
        c = http.client.HTTPConnection("127.0.0.1", self.ports[0], timeout=TIMEOUT)
        try:
            c.request("GET", "/stats")
            return c.getresponse().read().decode()
        finally:
            c.close()

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def parse_stats(text):
    """The pools' figures from echo-server's /stats line, as numbers."""
    out = {}
    for name, key in (("recv", "recv"), ("send", "send"), ("tls pairs", "pairs")):
        m = re.search(rf"{name} (\d+)/(\d+) lowest (\d+)", text)
        if m:
            out[f"{key}_free"], out[f"{key}_total"], out[f"{key}_lowest"] = map(int, m.groups())
    for name in ("evictions", "connections", "parks", "unparks", "handshakes"):
        m = re.search(rf"{name} (\d+)", text)
        if m:
            out[name] = int(m.group(1))
    return out


class Load:
    """The clients, their tallies, and what they saw for the model."""

    def __init__(self, server, proxies, seed, failures):
        self.server, self.proxies, self.seed, self.failures = server, proxies, seed, failures
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.tally = Counter()
        self.users = []          # every chat user's record, for check_room
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    def count(self, what, n=1):
        with self.lock:
            self.tally[what] += n

    def connect(self, which):
        """A socket through proxy `which` (0: http, 1: https) and the plan it was given."""
        proxy = self.proxies[which]
        since = time.monotonic()
        s = socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        plan = proxy.plan_of(s.getsockname()[1], since)
        self.count(f"plan {plan['kind']}")
        return s, plan

    def outcome(self, what, which, plan, error):
        """A connection (`which`: whose, from what port) ended in `error` (None: served
        whole). That is a failure unless the proxy broke it."""
        if error is None:
            self.count(f"{what} served")
        elif plan["kind"] in BREAKING:
            self.count(f"{what} broken by the proxy")
        else:
            self.failures.add(f"{what} {which} on a {plan} connection: {error}")

    # HTTP: keep-alive, and pipelined batches of three.
    def http_worker(self, n):
        rng = random.Random(f"{self.seed}:http:{n}")
        while not self.stop.is_set():
            s, plan = self.connect(0)
            port, error, where = s.getsockname()[1], None, "before the first request"
            try:
                if plan["kind"] != "silent":
                    data = b""
                    for i in range(rng.randint(1, 12)):
                        batch = [self.body(rng) for _ in range(3 if rng.random() < 0.3 else 1)]
                        where = f"request {i}, batch of {len(batch)} ({[len(b) for b in batch]} bytes)"
                        s.sendall(b"".join(b"POST /soak HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s"
                                           % (len(b), b) for b in batch))
                        for body in batch:
                            status, got, data = read_response(s, data)
                            if status != 200 or got != body:
                                raise AssertionError(f"asked {len(body)} bytes {body[:24]!r}, got {status} with"
                                                     f" {len(got)} bytes {got[:24]!r}")
                            self.count("http requests")
                else:
                    error = "silent"
            except (OSError, AssertionError, ValueError) as e:
                error = f"{where}: {e!r}"
            finally:
                s.close()
            self.outcome("http connection", f"from port {port}", plan, error)

    @staticmethod
    def body(rng):
        size = rng.choice((0, rng.randint(1, 200), rng.randint(200, 4000)))
        return (b"%08x" % rng.getrandbits(32) + bytes(rng.getrandbits(8) for _ in range(size)))[:max(size, 8)]

    # WSS echo.
    def wss_worker(self, n):
        rng = random.Random(f"{self.seed}:wss:{n}")
        while not self.stop.is_set():
            s, plan = self.connect(1)
            port, error = s.getsockname()[1], None
            try:
                if plan["kind"] == "silent":
                    raise OSError("silent")
                t = self.tls.wrap_socket(s, server_hostname="localhost")
                ws = websocket.create_connection(f"ws://127.0.0.1:{self.proxies[1].port}/raw", socket=t,
                                                 timeout=TIMEOUT, suppress_origin=True)
                try:
                    for _ in range(rng.randint(1, 20)):
                        payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
                        if rng.random() < 0.5:
                            ws.send_binary(payload)
                            got = ws.recv()
                        else:
                            payload = payload.hex().encode()[:len(payload)]
                            ws.send(payload.decode())
                            got = ws.recv().encode()
                        if got != payload:
                            raise AssertionError(f"sent {len(payload)} bytes, echoed {len(got)}")
                        self.count("wss echoes")
                finally:
                    ws.close(timeout=1)
            except (OSError, AssertionError, websocket.WebSocketException, ssl.SSLError) as e:
                error = repr(e)
            finally:
                s.close()
            self.outcome("wss connection", f"from port {port}", plan, error)

    # The chat: users join a room, talk, say bye, and leave once their bye came back.
    def room_worker(self, room, n):
        rng = random.Random(f"{self.seed}:room:{room}:{n}")
        uid = 0
        while not self.stop.is_set():
            uid += 1
            self.chat_user(room, f"{n}.{uid}", rng)
            time.sleep(rng.uniform(0, 0.5))

    def chat_user(self, room, uid, rng):
        s, plan = self.connect(0)
        user = {"room": room, "uid": uid, "port": s.getsockname()[1], "plan": plan, "joined": None, "sent": {}, "echoed": {}, "got": [],
                "bye_sent": None, "error": None}
        with self.lock:
            self.users.append(user)
        bye = threading.Event()
        try:
            if plan["kind"] == "silent":
                raise OSError("silent")
            ws = websocket.create_connection(f"ws://127.0.0.1:{self.proxies[0].port}/ws/room/{room}", socket=s,
                                             timeout=TIMEOUT, suppress_origin=True)
            user["joined"] = time.monotonic()

            def receive():
                try:
                    while True:
                        text = ws.recv()
                        if not text:
                            return
                        now = time.monotonic()
                        r, sender, k, crc, pad = text.split("|")
                        if int(crc) != zlib.crc32(pad.encode()):
                            raise ValueError(f"{sender}'s message {k} arrived changed: {text[:60]!r}")
                        user["got"].append((r, sender, k))
                        if sender == uid:
                            user["echoed"][k] = now
                            if k == "bye":
                                bye.set()
                                return
                except (OSError, websocket.WebSocketException, ValueError) as e:
                    user["error"] = user["error"] or f"receiving: {e!r}"
                    bye.set()

            reader = threading.Thread(target=receive, daemon=True)
            reader.start()
            try:
                for k in range(rng.randint(1, 8)):
                    if self.stop.is_set() or user["error"]:
                        break
                    user["sent"][str(k)] = time.monotonic()
                    pad = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(0, 300)))
                    ws.send(f"{room}|{uid}|{k}|{zlib.crc32(pad.encode())}|{pad}")
                    self.count("chat messages sent")
                    time.sleep(rng.uniform(0.05, 0.6))
                user["bye_sent"] = time.monotonic()
                ws.send(f"{room}|{uid}|bye|0|")
                if not bye.wait(TIMEOUT):
                    user["error"] = user["error"] or "its bye never came back"
            finally:
                ws.close(timeout=1)
                reader.join(TIMEOUT)
        except (OSError, websocket.WebSocketException) as e:
            user["error"] = user["error"] or repr(e)
        finally:
            s.close()
            user["left"] = time.monotonic()
        self.outcome("chat user", f"{uid} from port {user['port']}", plan, user["error"])


def read_response(s, data):
    """One HTTP/1.1 answer with a Content-Length from `s`: (status, body, bytes left over)."""
    while b"\r\n\r\n" not in data:
        more = s.recv(65536)
        if not more:
            raise OSError(f"closed after {len(data)} bytes of a head")
        data += more
    head, _, data = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    length = int(m.group(1)) if m else 0
    while len(data) < length:
        more = s.recv(65536)
        if not more:
            raise OSError(f"closed after {len(data)} of {length} body bytes")
        data += more
    return status, data[:length], data[length:]


def sample(server, t0):
    stats = parse_stats(server.stats())
    return {"t": round(time.monotonic() - t0, 1), "rss_kb": server.rss_kb(), "fds": server.fds(), **stats}


def trend(samples, warmup_s):
    """RSS past warm-up must not trend upward: the median of the last third of the
    samples may exceed the median of the first third by at most 1 % (and 256 KB)."""
    after = [s["rss_kb"] for s in samples if s["t"] >= warmup_s]
    if len(after) < 3:
        return None
    third = max(1, len(after) // 3)
    first, last = sorted(after[:third])[third // 2], sorted(after[-third:])[third // 2]
    allowed = max(256, first // 100)
    return None if last - first <= allowed else f"RSS grew from {first} KB to {last} KB past warm-up (allowed {allowed})"


def settle(server, baseline_fds, failures):
    """Once the load is gone, the server must come back to where it began."""
    deadline = time.monotonic() + 30 * SLOW
    while True:
        st, fds = parse_stats(server.stats()), server.fds()
        # The /stats request itself holds a receive block while it is answered.
        whole = (st.get("connections") == 1 and st["recv_free"] >= st["recv_total"] - 1 and st["send_free"] == st["send_total"]
                 and st.get("pairs_free", 0) == st.get("pairs_total", 0))
        # The /stats connection is still open on our side while we count.
        if whole and fds <= baseline_fds + 1:
            return st, fds
        if time.monotonic() > deadline:
            failures.add(f"after the load: {st}, {fds} descriptors (at start {baseline_fds})")
            return st, fds
        time.sleep(0.5)


def chart(samples, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("soak: no matplotlib, no chart")
        return
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    t = [s["t"] / 60 for s in samples]
    axes[0].plot(t, [s["rss_kb"] for s in samples], color="#0f766e")
    axes[0].set_ylabel("RSS (KB)")
    axes[1].plot(t, [s["fds"] for s in samples], color="#c2410c")
    axes[1].set_ylabel("descriptors")
    for key, color in (("recv_lowest", "#0f766e"), ("send_lowest", "#7c3aed"), ("pairs_lowest", "#ca8a04")):
        axes[2].plot(t, [s.get(key, 0) for s in samples], label=key.replace("_", " "), color=color)
    axes[2].plot(t, [s.get("evictions", 0) for s in samples], label="evictions", color="#94a3b8")
    axes[2].set_ylabel("pools")
    axes[2].legend(fontsize=8)
    axes[2].set_xlabel("minutes")
    for a in axes:
        a.set_ylim(bottom=0)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--chart", default=None, help="where to draw the samples (PNG)")
    ap.add_argument("--lie", action="store_true", help="the proxy corrupts some clean connections: the checks must fail")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix=f"soak-{BOARD}-")
    os.makedirs(out, exist_ok=True)
    print(f"soak: {BOARD}, {args.minutes} min, seed {args.seed}, logs in {out}", flush=True)
    failures = Failures()
    server = Server(out)
    proxies = [FaultProxy(port, f"{args.seed}:{i}", os.path.join(out, "plans.jsonl"), lie=args.lie)
               for i, port in enumerate(server.ports)]
    t0 = time.monotonic()
    baseline_fds = server.fds()
    samples = [sample(server, t0)]
    load = Load(server, proxies, args.seed, failures)
    workers = [threading.Thread(target=load.http_worker, args=(i,)) for i in range(2)]
    workers += [threading.Thread(target=load.wss_worker, args=(0,))]
    workers += [threading.Thread(target=load.room_worker, args=(room, i)) for room in "ab" for i in range(3)]
    for w in workers:
        w.start()
    end = t0 + args.minutes * 60
    try:
        while time.monotonic() < end and server.proc.poll() is None:
            time.sleep(min(10, max(0, end - time.monotonic())))
            samples.append(sample(server, t0))
            last = samples[-1]
            print(f"  {last['t']:6.0f} s  rss {last['rss_kb']} KB  fds {last['fds']}  recv lowest"
                  f" {last.get('recv_lowest')}  evictions {last.get('evictions')}  {dict(load.tally)}", flush=True)
    finally:
        load.stop.set()
        for w in workers:
            w.join(TIMEOUT * 2)
    if server.proc.poll() is not None:
        failures.add(f"echo-server exited with {server.proc.returncode}")
    else:
        time.sleep(4.5)   # the proxies' silent holds end
        st, fds = settle(server, baseline_fds, failures)
        samples.append(sample(server, t0))
        print(f"settled: {st}, {fds} descriptors (at start {baseline_fds})")
    for room in "ab":
        check_room([u for u in load.users if u["room"] == room], failures)
    grew = trend(samples, warmup_s=min(30, args.minutes * 15))
    if grew:
        failures.add(grew)
    for p in proxies:
        p.close()
    if server.proc.poll() is None:
        server.stop()
    with open(os.path.join(out, "samples.jsonl"), "w") as f:
        f.writelines(json.dumps(s) + "\n" for s in samples)
    chart(samples, args.chart or os.path.join(out, "soak.png"), f"make soak: echo-server on {BOARD}, {args.minutes:g} min")
    plans = Counter()
    for p in proxies:
        plans.update(p.counts)
    print(f"tally: {dict(sorted(load.tally.items()))}")
    print(f"plans: {dict(sorted(plans.items()))}; chat users {len(load.users)};"
          f" deliveries checked {failures.checked}")
    print(f"RSS {samples[0]['rss_kb']} -> {samples[-1]['rss_kb']} KB (max {max(s['rss_kb'] for s in samples)});"
          f" samples in {out}/samples.jsonl")
    if failures.items:
        print(f"soak FAILED ({len(failures.items)} failures; replay with --seed {args.seed}):")
        for item in failures.items[:30]:
            print("  " + item)
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
