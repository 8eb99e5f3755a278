"""The soak's clients, each kind on its own threads, all through the fault proxies, and
what they saw, for the checks:
- HTTP keep-alive requests and pipelined batches of three to echo-server: every body
  (unique, of a random size) must come back whole, in the order asked;
- WSS echo (websocket-client over TLS to echo-server's https listener);
- the guide's chat, two rooms (echo-server's /ws/room/a and /ws/room/b): users join,
  talk and leave; model.check_room says which messages each must have had;
- uploads to upload-server, Content-Length or chunked: a 201 must give the size and
  CRC-32 of what was sent, and after the run (check_uploads) every file stored is one
  whole upload.
A failure is any wrong byte, or a connection the proxy did not break that was not
served whole."""
import random
import socket
import ssl
import threading
import time
import zlib
from collections import Counter

import websocket
from chat_user import RoomWire, chat_user
from fault_proxy import BREAKING
from servers import TIMEOUT, read_response

HTTP, HTTPS, UPLOAD = 0, 1, 2   # which proxy


class Load:
    """The clients, their tallies, and what they saw for the model."""

    def __init__(self, proxies, seed, failures):
        self.proxies, self.seed, self.failures = proxies, seed, failures
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.tally = Counter()
        self.users = []          # every chat user's record, for check_room
        self.uploads = {}        # name -> (bytes, CRC-32, "stored" once answered 201)
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE

    def count(self, what, n=1):
        with self.lock:
            self.tally[what] += n

    def connect(self, which):
        """A socket through proxy `which` (HTTP, HTTPS, UPLOAD) and the plan it was given."""
        return self.connect_to(self.proxies[which])

    def connect_to(self, proxy):
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
            s, plan = self.connect(HTTP)
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
            s, plan = self.connect(HTTPS)
            port, error = s.getsockname()[1], None
            try:
                if plan["kind"] == "silent":
                    raise OSError("silent")
                t = self.tls.wrap_socket(s, server_hostname="localhost")
                ws = websocket.create_connection(f"ws://127.0.0.1:{self.proxies[HTTPS].port}/raw", socket=t,
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
            user = {"room": room, "server": "echo", "uid": f"{n}.{uid}"}
            with self.lock:
                self.users.append(user)
            chat_user(self, self.proxies[HTTP], RoomWire(room), user, rng, most=8, pad_max=300, gap=(0.05, 0.6),
                      what="chat")
            time.sleep(rng.uniform(0, 0.5))

    # Uploads, one a connection, some chunked.
    def upload_worker(self, n):
        rng = random.Random(f"{self.seed}:upload:{n}")
        i = 0
        while not self.stop.is_set():
            i += 1
            name = f"u{n}-{i}"
            s, plan = self.connect(UPLOAD)
            port, error = s.getsockname()[1], None
            body = rng.randbytes(rng.choice((rng.randint(0, 2000), rng.randint(2000, 200_000))))
            with self.lock:
                self.uploads[name] = (len(body), zlib.crc32(body), None)
            try:
                if plan["kind"] == "silent":
                    raise OSError("silent")
                if rng.random() < 0.3:
                    s.sendall(b"PUT /upload/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              % name.encode())
                    at = 0
                    while at < len(body):
                        piece = body[at:at + rng.randint(1, 50_000)]
                        s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                        at += len(piece)
                    s.sendall(b"0\r\n\r\n")
                else:
                    s.sendall(b"POST /upload/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n"
                              % (name.encode(), len(body)) + body)
                status, got, _ = read_response(s, b"")
                want = b"%d %08x\n" % (len(body), zlib.crc32(body))
                if status != 201 or got != want:
                    raise AssertionError(f"uploaded {want!r}, answered {status} {got[:60]!r}")
                with self.lock:
                    self.uploads[name] = (len(body), zlib.crc32(body), "stored")
                self.count("uploads stored")
            except (OSError, AssertionError, ValueError) as e:
                error = repr(e)
            finally:
                s.close()
            self.outcome("upload", f"{name} from port {port}", plan, error)
