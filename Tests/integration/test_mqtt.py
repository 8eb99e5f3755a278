"""MQTT (issue 14): device-app --mqtt against a real mosquitto (Debian's), started here on
loopback ports with a generated config: a plain listener, one with a password file, one
with TLS (a certificate made here), and a WebSocket one. mosquitto_sub and mosquitto_pub
(mosquitto-clients) are the other side. Also a WebSocket broker written here that splits
and joins packets across messages, as MQTT 3.1.1 §6 allows. Every board (under qemu for
ARM)."""
import asyncio
import json
import os
import shutil
import random
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import websocket
import websockets

from conftest import BIN, ROOT, RUNNER, SLOW, board_profile, line_roundtrip, malloc_counter


def free_port():
    """A port for one of the broker's listeners, below the kernel's ephemeral range: the
    suite's floods leave tens of thousands of client ports of that range in TIME-WAIT,
    and mosquitto's WebSocket listener cannot bind one of those (it was EADDRINUSE, and
    mosquitto exited). Checked with a bind that, like that listener, does not reuse."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port below the ephemeral range")


def wait_port(port, timeout=10, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Broker:
    """mosquitto with four listeners; `start()` after `stop()` brings it back on the same
    ports. `persistent`: sessions and queued messages are saved in its folder when it is
    stopped gently (`restart()`) and read back when it starts. `extra`: more lines for the
    config's general section."""

    def __init__(self, persistent=False, extra=""):
        self.dir = tempfile.mkdtemp(prefix="meerkat-mqtt-")
        # mosquitto reads its files as user mosquitto (and writes its database there).
        os.chmod(self.dir, 0o777 if persistent else 0o755)
        self.persistent, self.extra = persistent, extra
        self.cert = os.path.join(self.dir, "broker.crt")
        key = os.path.join(self.dir, "broker.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", self.cert, "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
        passwords = os.path.join(self.dir, "passwords")
        open(passwords, "w").close()
        subprocess.run(["mosquitto_passwd", "-b", passwords, "board", "s3cret"], check=True)
        for f in (key, passwords):
            os.chmod(f, 0o644)
        self.key, self.passwords = key, passwords
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        # A port free_port() saw free can be taken before mosquitto binds it (the suite
        # opens many client connections, and their local ports come from the same
        # range): mosquitto then exits at once; new ports are picked, three times at most.
        for attempt in range(3):
            self.plain, self.auth, self.tls, self.ws = (free_port() for _ in range(4))
            self.configure()
            try:
                self.start()
                return
            except RuntimeError:
                self.stop()
                if attempt == 2:
                    raise

    def configure(self):
        persistent, extra, key, passwords = self.persistent, self.extra, self.key, self.passwords
        with open(self.conf, "w") as f:
            f.write(f"""per_listener_settings true
{extra}
persistence {"true" if persistent else "false"}
persistence_location {self.dir}/
listener {self.plain} 127.0.0.1
allow_anonymous true
listener {self.auth} 127.0.0.1
allow_anonymous false
password_file {passwords}
listener {self.tls} 127.0.0.1
allow_anonymous true
certfile {self.cert}
keyfile {key}
listener {self.ws} 127.0.0.1
protocol websockets
allow_anonymous true
""")

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for port in (self.plain, self.auth, self.tls, self.ws):
            wait_port(port, proc=self.proc)

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        """SIGTERM (mosquitto saves its database as it ends), then start again."""
        self.proc.terminate()
        self.proc.wait()
        self.start()

    def sub(self, topic, count, port=None, wait=15):
        """mosquitto_sub for `count` messages (or `wait` seconds): [(topic, payload)]."""
        out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port or self.plain), "-V", "mqttv311",
                              "-t", topic, "-C", str(count), "-W", str(int(wait * SLOW)), "-v"],
                             capture_output=True, text=True).stdout
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]   # JSON ends with a newline

    def pub(self, topic, message):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.plain), "-V", "mqttv311",
                        "-t", topic, "-m", message, "-q", "1"], check=True)


@pytest.fixture
def broker():
    b = Broker()
    yield b
    b.stop()
    shutil.rmtree(b.dir, ignore_errors=True)


def device(start_server, url, *extra):
    folder = tempfile.mkdtemp(prefix="meerkat-device-")
    return start_server("device-app", "--dir", folder, "--report-ms", "300", "--mqtt", url, *extra), folder


def status(broker, port=None):
    msgs = broker.sub("meerkat/board/status", 1, port=port)
    assert msgs, "no status within the wait"
    return json.loads(msgs[0][1])


def test_status_retained_and_the_will_marks_the_board_offline(broker, start_server):
    app, _ = device(start_server, f"mqtt://127.0.0.1:{broker.plain}")
    first = status(broker)   # retained: there as soon as a subscriber asks
    assert first["name"] == "board" and first["online"] is True
    later = broker.sub("meerkat/board/status", 3)
    assert len(later) == 3 and max(json.loads(p)["uptime"] for _, p in later) >= first["uptime"]
    app.proc.kill()   # gone without DISCONNECT: the broker publishes the will, retained
    app.proc.wait()
    deadline = time.time() + 10 * SLOW
    while time.time() < deadline:
        if status(broker) == {"name": "board", "online": False}:
            break
        time.sleep(0.2)
    assert status(broker) == {"name": "board", "online": False}


def test_commands_are_answered_on_the_reply_topic(broker, start_server):
    app, folder = device(start_server, f"mqtt://127.0.0.1:{broker.plain}")
    status(broker)   # up and subscribed (the subscription goes before the first status)
    replies = []
    t = threading.Thread(target=lambda: replies.extend(broker.sub("meerkat/board/reply", 3)))
    t.start()
    time.sleep(0.5 * SLOW)
    for command in ("interval 2", "status", "reboot now"):
        broker.pub("meerkat/board/cmd", command)
    t.join()
    assert [p for _, p in replies] == ["ok interval 2", "ok status",
                                       "error: unknown command (try: interval SECONDS, status)"]
    with open(os.path.join(folder, "settings.conf")) as f:
        assert "interval=2" in f.read()
    assert app.alive()


@pytest.mark.parametrize("listener", ["password", "tls", "websocket"])
def test_password_tls_and_websocket_listeners(broker, start_server, listener):
    if listener == "password":
        device(start_server, f"mqtt://127.0.0.1:{broker.auth}", "--mqtt-user", "board", "--mqtt-pass", "s3cret")
        port = broker.plain   # listeners share topics
    elif listener == "tls":
        device(start_server, f"mqtts://localhost:{broker.tls}", "--mqtt-ca", broker.cert)
        port = broker.plain
    else:
        device(start_server, f"ws://127.0.0.1:{broker.ws}/mqtt")
        port = broker.plain
    assert status(broker, port)["online"] is True


def test_a_wrong_password_is_refused_and_retried(broker, start_server):
    app, _ = device(start_server, f"mqtt://127.0.0.1:{broker.auth}", "--mqtt-user", "board", "--mqtt-pass", "wrong")
    assert broker.sub("meerkat/board/status", 1, wait=3) == []
    app.proc.terminate()
    out = app.proc.communicate(timeout=10 * SLOW)[0].decode()
    assert "mqtt: refused: not authorized" in out
    assert out.count("mqtt: refused") >= 2, "tried again after the refusal"


def test_reconnects_when_the_broker_comes_back(broker, start_server):
    app, _ = device(start_server, f"mqtt://127.0.0.1:{broker.plain}")
    assert status(broker)["online"] is True
    broker.stop()
    time.sleep(1.5)
    broker.start()   # persistence off: the retained status is gone until the board is back
    assert status(broker)["online"] is True
    assert app.alive()


class SplittingBroker:
    """A WebSocket MQTT "broker" that cuts its packets across messages and joins two in
    one: CONNACK in two messages; SUBACK and a PUBLISH (cmd "status") in one; a PUBLISH
    (cmd "interval 7") in three. It records the PUBLISH packets the board sends on the
    reply topic and answers their QoS 1 with PUBACK."""

    def __init__(self):
        self.port = free_port()
        self.replies = []
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self.serve(), self.loop).result(10)

    async def serve(self):
        self.server = await websockets.serve(self.session, "127.0.0.1", self.port, subprotocols=["mqtt"])

    @staticmethod
    def publish(topic, payload, qos=0, packet_id=1):
        body = len(topic).to_bytes(2, "big") + topic.encode() + (packet_id.to_bytes(2, "big") if qos else b"") + payload
        return bytes([0x30 | qos << 1, len(body)]) + body

    async def session(self, ws):
        buffered = b""

        def whole():
            """Length of the packet at the front of `buffered`, when it is all there."""
            length, shift, i = 0, 0, 1
            while i < len(buffered):
                length |= (buffered[i] & 0x7F) << shift
                shift += 7
                i += 1
                if not buffered[i - 1] & 0x80:
                    return i + length if len(buffered) >= i + length else None
            return None

        async def packets():
            nonlocal buffered
            while True:
                while (n := whole()) is not None:
                    p, buffered = buffered[:n], buffered[n:]
                    yield p
                buffered += await ws.recv()

        it = packets()
        connect = await it.__anext__()
        assert connect[0] == 0x10
        await ws.send(b"\x20")
        await ws.send(b"\x02\x00\x00")
        async for p in it:
            kind = p[0] >> 4
            if kind == 8 and b"meerkat/board/cmd" not in p:   # the OTA topic's: a SUBACK alone
                await ws.send(bytes([0x90, 3]) + p[2:4] + b"\x01")
            elif kind == 8:   # the commands' SUBSCRIBE: SUBACK and a command in one message
                await ws.send(bytes([0x90, 3]) + p[2:4] + b"\x01" + self.publish("meerkat/board/cmd", b"status"))
                cut = self.publish("meerkat/board/cmd", b"interval 7", qos=1, packet_id=9)
                for piece in (cut[:1], cut[1:8], cut[8:]):
                    await ws.send(piece)
            elif kind == 3:
                at = 2 if p[1] < 0x80 else 3   # one or two remaining-length bytes here
                n = int.from_bytes(p[at:at + 2], "big")
                topic = p[at + 2:at + 2 + n].decode()
                qos = (p[0] >> 1) & 3
                payload = p[at + 2 + n + (2 if qos else 0):]
                if topic == "meerkat/board/reply":
                    self.replies.append(payload.decode())
                if qos == 1:
                    await ws.send(b"\x40\x02" + p[at + 2 + n:at + 4 + n])

    def close(self):
        self.loop.call_soon_threadsafe(self.server.close)


def test_packets_split_and_joined_across_websocket_messages(start_server):
    fake = SplittingBroker()
    try:
        app, folder = device(start_server, f"ws://127.0.0.1:{fake.port}/mqtt")
        deadline = time.time() + 15 * SLOW
        while len(fake.replies) < 2 and time.time() < deadline:
            time.sleep(0.1)
        assert fake.replies == ["ok status", "ok interval 7"]
        with open(os.path.join(folder, "settings.conf")) as f:
            assert "interval=7" in f.read()
        assert app.alive()
    finally:
        fake.close()


def chat_boards(start_server, broker, room="r"):
    """Two chat-servers sharing `room` through the broker, both bridged (their user
    counts retained on the broker) before this returns."""
    boards = [start_server("chat-server", "--mqtt", f"mqtt://127.0.0.1:{broker.plain}", "--room", room, "--board", b)
              for b in ("a", "b")]
    assert len(broker.sub(f"meerkat/chat/{room}/count/+", 2)) == 2, "both bridges up"
    return boards


def join(server):
    return websocket.create_connection(f"ws://127.0.0.1:{server.port()}/ws", timeout=10 * SLOW)


def recv(ws, timeout=10):
    ws.settimeout(timeout * SLOW)
    return json.loads(ws.recv())


def nothing_more(ws, wait=1.0):
    ws.settimeout(wait * SLOW)
    try:
        extra = ws.recv()
    except websocket.WebSocketTimeoutException:
        return True
    raise AssertionError(f"unexpected: {extra}")


def settled(broker, board, count):
    """Waits until `board`'s user count on the broker is `count`, then a moment more for
    the other boards to have it too."""
    deadline = time.time() + 10 * SLOW
    while broker.sub(f"meerkat/chat/r/count/{board}", 1, wait=2) != [(f"meerkat/chat/r/count/{board}", str(count))]:
        assert time.time() < deadline, f"count of {board} never became {count}"
        time.sleep(0.1)
    time.sleep(0.3 * SLOW)


def test_two_boards_share_one_room(broker, start_server):
    a, b = chat_boards(start_server, broker)
    a1 = join(a)
    assert recv(a1) == {"type": "join", "username": "User1", "count": 1}
    settled(broker, "a", 1)
    b1 = join(b)
    assert recv(b1) == {"type": "join", "username": "User1", "count": 2}   # the fleet: one on a, one on b
    assert recv(a1) == {"type": "join", "username": "User1", "count": 2, "board": "b"}
    a1.send(json.dumps({"type": "message", "text": "hello from a"}))
    mine = recv(a1)
    assert mine["text"] == "hello from a" and "board" not in mine
    theirs = recv(b1)
    assert theirs["board"] == "a" and theirs["text"] == "hello from a" and theirs["username"] == "User1"
    assert theirs["timestamp"] == mine["timestamp"]
    b1.send(json.dumps({"type": "setname", "username": "Bea"}))
    assert recv(b1) == {"type": "rename", "old": "User1", "new": "Bea"}
    assert recv(a1) == {"type": "rename", "old": "User1", "new": "Bea", "board": "b"}
    b1.close()
    assert recv(a1) == {"type": "leave", "username": "Bea", "count": 1, "board": "b"}
    assert nothing_more(a1)   # never echoed back, never twice
    a1.close()


def test_a_forged_or_repeated_event_is_not_delivered(broker, start_server):
    a, _ = chat_boards(start_server, broker)
    a1 = join(a)
    recv(a1)
    good = {"type": "message", "username": "Mallory", "text": "once", "timestamp": 1.5, "board": "z", "run": "r1", "seq": 1,
            "boardCount": 1}
    broker.pub("meerkat/chat/r/events", json.dumps(good))
    broker.pub("meerkat/chat/r/events", json.dumps(good))                          # a QoS 1 repeat
    broker.pub("meerkat/chat/r/events", json.dumps({**good, "board": "a", "seq": 99}))  # "from" this board
    broker.pub("meerkat/chat/r/events", json.dumps({**good, "seq": 1e300}))          # not a whole number
    broker.pub("meerkat/chat/r/events", "not json")
    assert recv(a1) == {"type": "message", "username": "Mallory", "text": "once", "timestamp": 1.5, "board": "z"}
    assert nothing_more(a1)
    assert a.alive()


class Cut:
    """A TCP relay to the broker that the test can cut: `cut()` drops its connections and
    refuses new ones (the board sees the broker go away), `mend()` takes them again."""

    def __init__(self, port):
        self.target = port
        self.port = free_port()
        self.pairs = []
        self.listener = None
        self.mend()

    def mend(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.accept, args=(self.listener,), daemon=True).start()

    def accept(self, listener):
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            self.pairs.append((c, u))
            for x, y in ((c, u), (u, c)):
                threading.Thread(target=self.pump, args=(x, y), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.listener.shutdown(socket.SHUT_RDWR)   # stops listening now (close alone waits for accept())
        self.listener.close()
        for c, u in self.pairs:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.pairs = []


def test_the_room_works_while_the_broker_is_away_and_catches_up(broker, start_server):
    """Board a loses the broker (its link is cut), b keeps it: a's room goes on, and
    what happened there reaches b once a is back, in order, once each."""
    cut = Cut(broker.plain)
    a = start_server("chat-server", "--mqtt", f"mqtt://127.0.0.1:{cut.port}", "--room", "r", "--board", "a")
    b = start_server("chat-server", "--mqtt", f"mqtt://127.0.0.1:{broker.plain}", "--room", "r", "--board", "b")
    assert len(broker.sub("meerkat/chat/r/count/+", 2)) == 2, "both bridges up"
    b1 = join(b)
    recv(b1)
    settled(broker, "b", 1)
    a1 = join(a)
    assert recv(a1)["count"] == 2 and recv(b1)["board"] == "a"
    cut.cut()
    time.sleep(0.5 * SLOW)
    a1.send(json.dumps({"type": "message", "text": "while away"}))
    assert recv(a1)["text"] == "while away"        # the local room goes on
    a2 = join(a)
    assert recv(a2)["username"] == "User2" and recv(a1)["username"] == "User2"
    assert nothing_more(b1)                        # nothing crossed meanwhile
    cut.mend()
    got = [recv(b1, timeout=15) for _ in range(2)]   # a's outbox, in order, once each
    assert [(e["type"], e.get("text"), e.get("username"), e["board"]) for e in got] == \
        [("message", "while away", "User1", "a"), ("join", None, "User2", "a")]
    assert got[1]["count"] == 3
    assert nothing_more(b1)


def test_both_boards_come_back_after_a_broker_restart(broker, start_server):
    a, b = chat_boards(start_server, broker)
    a1, b1 = join(a), join(b)
    recv(a1)
    broker.stop()
    broker.start()   # empty: no sessions, no retained counts
    assert len(broker.sub("meerkat/chat/r/count/+", 2)) == 2, "both bridges back"
    while True:   # whatever crossed before the restart
        try:
            recv(b1, timeout=1)
        except websocket.WebSocketTimeoutException:
            break
    a1.send(json.dumps({"type": "message", "text": "after the restart"}))
    assert recv(b1)["text"] == "after the restart"


class Output:
    """A process's output lines, read as they come (a thread)."""

    def __init__(self, proc):
        self.lines = []
        threading.Thread(target=self.read, args=(proc,), daemon=True).start()

    def read(self, proc):
        for line in proc.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def wait(self, test, what, timeout=15):
        deadline = time.time() + timeout * SLOW
        while not test(self.lines):
            assert time.time() < deadline, f"{what}; got {self.lines[-5:]}"
            time.sleep(0.05)


def test_what_is_said_while_the_broker_is_down_arrives_in_order_once(start_server):
    """Issue 22 item 11: chat-server's bridge publishes through the library's MQTT
    outbox (`Reconnector.mqttPub`, `Limits.mqttOutbox` per board). mosquitto (persistence
    on) stops; a user says the board's outbox size plus three messages: the last three
    find it full, and the bridge says so; the broker starts again, and a subscriber whose
    session it kept gets the others, QoS 1, in order, each once."""
    broker = Broker(persistent=True)
    url = f"mqtt://127.0.0.1:{broker.plain}"
    n = int(board_profile()["BOARD_MQTT_OUTBOX"])
    watcher = mqtt_client("--sub", "meerkat/chat/r/events", "--qos", "1", "--keep-session", "--reconnect",
                          "--client-id", "watcher", url)
    seen = Output(watcher)
    try:
        a = start_server("chat-server", "--mqtt", url, "--room", "r", "--board", "a")
        said = Output(a.proc)
        said.wait(lambda lines: "fleet: up" in lines, "the bridge never came up")
        time.sleep(1.0 * SLOW)   # the watcher subscribed
        user = join(a)
        recv(user)
        seen.wait(lambda lines: any('"join"' in line for line in lines), "the watcher never saw the join")
        broker.proc.terminate()   # mosquitto saves the watcher's session as it ends
        broker.proc.wait()
        said.wait(lambda lines: "fleet: down" in lines, "the bridge never saw the broker go")
        for i in range(n + 3):
            user.send(json.dumps({"type": "message", "text": f"m{i}"}))
            assert recv(user)["text"] == f"m{i}"   # the local room goes on
        said.wait(lambda lines: lines.count("fleet: outbox full, an event stays local") == 3, "no outbox-full error")
        broker.start()
        texts = lambda lines: [json.loads(line.split(" ", 1)[1]).get("text") for line in lines if '"message"' in line]
        seen.wait(lambda lines: len(texts(lines)) >= n, f"not all {n} messages arrived", timeout=30)
        time.sleep(1.0 * SLOW)   # a late duplicate would show now
        assert texts(seen.lines) == [f"m{i}" for i in range(n)]
        assert a.alive()
    finally:
        watcher.kill()
        watcher.wait()
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)


def mqtt_client(*args, stdin=None, env=None):
    """mqtt-client (under qemu for ARM boards) as a process."""
    return subprocess.Popen(RUNNER + [os.path.join(BIN, "mqtt-client"), *args], stdin=stdin or subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_mqtt_client_publishes_and_subscribes_at_each_qos(broker, qos):
    """mqtt-client against mosquitto's own tools, both ways, each QoS: its publishes reach
    mosquitto_sub, mosquitto_pub's reach its subscription, each message once."""
    sub = mqtt_client("--sub", "q/#", "--qos", str(qos), "--count", "3", f"mqtt://127.0.0.1:{broker.plain}")
    theirs = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.plain), "-V", "mqttv311", "-t", "m/#",
                               "-q", str(qos), "-C", "3", "-W", str(int(20 * SLOW)), "-v"], stdout=subprocess.PIPE, text=True)
    time.sleep(1.0 * SLOW)   # both subscribed
    for i in range(3):
        broker.pub(f"q/{i}", f"from mosquitto {i}")
    pub = mqtt_client("--pub", "m/x", "--qos", str(qos), f"mqtt://127.0.0.1:{broker.plain}", stdin=subprocess.PIPE)
    out, _ = pub.communicate(b"one\ntwo\nthree\n", timeout=30 * SLOW)
    assert pub.returncode == 0, out
    assert theirs.communicate(timeout=30 * SLOW)[0].splitlines() == ["m/x one", "m/x two", "m/x three"]
    got = sub.communicate(timeout=30 * SLOW)[0].decode().splitlines()
    assert got == [f"q/{i} from mosquitto {i}" for i in range(3)] and sub.returncode == 0


@pytest.mark.parametrize("qos", [1, 2])
def test_a_broker_restart_mid_stream_loses_nothing(qos):
    """Two mqtt-clients with kept sessions (--keep-session --reconnect), one publishing a
    numbered stream, one subscribed to it; mosquitto (persistence on) restarts while the
    stream flows. After the reconnects every message arrives: at QoS 1 at least once,
    at QoS 2 exactly once. What was in flight on either side at the restart is what is
    tested: the publisher sends it again with DUP, and the subscriber does not deliver
    twice a QoS 2 message it had taken before the restart."""
    broker, total = Broker(persistent=True), 400
    url = f"mqtt://127.0.0.1:{broker.plain}"
    common = ("--qos", str(qos), "--keep-session", "--reconnect")
    sub = mqtt_client("--sub", "s/#", "--client-id", f"sub{qos}", *common, url)
    pub = None
    seen, lines = threading.Event(), []

    def read():
        for line in sub.stdout:
            lines.append(line.decode().rstrip("\n"))
            if len({n for n in lines if n.startswith("s/x ")}) >= total:
                seen.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        time.sleep(1.0 * SLOW)   # subscribed
        pub = mqtt_client("--pub", "s/x", "--client-id", f"pub{qos}", *common, url, stdin=subprocess.PIPE)

        def feed():
            for start in range(0, total, 10):
                pub.stdin.write(b"".join(b"%d\n" % i for i in range(start, start + 10)))
                pub.stdin.flush()
                time.sleep(0.02 * SLOW)

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        deadline = time.time() + 30 * SLOW
        while len(lines) < total // 4 and time.time() < deadline:
            time.sleep(0.005)
        before = len(lines)
        assert 0 < before < total, "the restart falls inside the stream"
        broker.restart()
        writer.join()
        pub.stdin.close()
        assert seen.wait(60 * SLOW), f"{total - len({n for n in lines if n.startswith('s/x ')})} messages missing after the restart"
        assert pub.wait(60 * SLOW) == 0
        time.sleep(1.0 * SLOW)   # a late duplicate would show now
        got = [line[4:] for line in lines if line.startswith("s/x ")]
        out = pub.stdout.read().decode()
        assert "down:" in out, "the publisher saw the broker go"
        assert sorted(set(got), key=int) == [str(i) for i in range(total)]
        if qos == 2:
            assert len(got) == total, f"delivered twice: {sorted(n for n in set(got) if got.count(n) > 1)}"
    finally:
        for p in (sub, pub):
            if p:
                p.kill()
                p.wait()
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)


@pytest.mark.parametrize("window", [None, 100, 0], ids=["default", "100", "unlimited"])
def test_a_qos2_burst_is_delivered_whole_and_once(window):
    """`seq 1 200 | mosquitto_pub -q 2 -l` into `mqtt-client --sub t --qos 2` (issue 21
    item 4): mosquitto sends up to max_inflight_messages (20 by default; 100; 0 is no
    maximum) QoS 2 messages before their PUBREL, and MQTT 3.1.1 lets it, so mqtt-client
    takes every one: all 200 arrive, each once, and the connection stays up."""
    broker, total = Broker(extra="" if window is None else f"max_inflight_messages {window}"), 200
    sub = mqtt_client("--sub", "t", "--qos", "2", f"mqtt://127.0.0.1:{broker.plain}")
    lines, done = [], threading.Event()

    def read():
        for line in sub.stdout:
            lines.append(line.decode().rstrip("\n"))
            if len(lines) >= total:
                done.set()
        done.set()   # the client ended early (an error)

    threading.Thread(target=read, daemon=True).start()
    try:
        time.sleep(1.0 * SLOW)   # subscribed
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.plain), "-V", "mqttv311", "-t", "t",
                        "-q", "2", "-l"], input=b"".join(b"%d\n" % i for i in range(1, total + 1)), check=True,
                       timeout=60 * SLOW)
        done.wait(60 * SLOW)
        time.sleep(1.0 * SLOW)   # a late duplicate, or an error, would show now
        assert sub.poll() is None, f"mqtt-client ended: {lines[-3:]}"
        assert [line for line in lines if not line.startswith("t ")] == []
        assert sorted(int(line[2:]) for line in lines) == list(range(1, total + 1))
    finally:
        sub.kill()
        sub.wait()
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)


@pytest.mark.skipif(RUNNER != [], reason="the LD_PRELOAD counter is built for the host")
@pytest.mark.parametrize("qos", [0, 2])
def test_mqtt_messages_allocate_nothing_after_warm_up(broker, tmp_path, qos):
    """QoS 0 (and QoS 2: in-flight tables, received ids awaiting PUBREL) publishes and
    the messages received back (mqtt-client subscribed to its own topic): the process's
    allocation count does not move over 300 more messages."""
    report = tmp_path / "count"
    client = mqtt_client("--sub", "echo/#", "--pub", "echo/me", "--qos", str(qos), f"mqtt://127.0.0.1:{broker.plain}",
                         stdin=subprocess.PIPE,
                         env={"LD_PRELOAD": os.path.join(ROOT, "build", "malloccount.so"), "MALLOCCOUNT_FILE": str(report)})

    roundtrip = line_roundtrip(client)

    count = malloc_counter(client, report)

    try:
        time.sleep(0.5)   # subscribed
        assert roundtrip([b"warm-up"]) == [b"echo/me warm-up"]
        before = count()
        lines = [b"message %d " % i + b"x" * (i * 37 % 900) for i in range(300)]
        for i in range(0, 300, 30):
            assert roundtrip(lines[i:i + 30]) == [b"echo/me " + line for line in lines[i:i + 30]]
        assert count() - before == 0
    finally:
        client.kill()
        client.wait()
