"""The soak's fleet: two chat-servers, boards "k" and "g", sharing one room through a
mosquitto on the host (chat-server --mqtt, FleetBridge.swift). Each board's MQTT link
goes through a fault proxy of its own, so the bridge's Reconnector meets resets,
half-closes, stalls and brokers that say nothing; each board's users come through
another.

What the bridge promises (README, "Many boards, one room"): every local event reaches
the other boards once, in order, also across a lost broker (its outbox, and a kept
session for what it missed), unless the outbox filled ("fleet: outbox full" in its
log). So an observer on each board, connected directly for the whole run, must see the
other board's messages exactly as that board's own observer saw them go out; and a
user on either board must have every message that went out on its board (as its
observer saw) between its join and its bye (model.check_room with `went_out`)."""
import json
import os
import random
import socket
import subprocess
import threading
import time

import websocket
from chat_user import FleetWire, chat_user, sender_of
from fault_proxy import FaultProxy
from servers import SLOW, TIMEOUT, App

BOARDS = ("k", "g")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    def __init__(self, out):
        self.log = open(os.path.join(out, "mosquitto.log"), "w")
        # A port seen free may be taken before mosquitto binds it: then it exits, and
        # another port is tried.
        for _ in range(3):
            if self.start(out):
                return
        raise RuntimeError("mosquitto did not start")

    def start(self, out):
        self.port = free_port()
        conf = os.path.join(out, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.proc.kill()
                    self.proc.wait()
                    return False
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def parse(frame):
    """A chat event: (origin board, None when local, sender, k) for a soak message; None
    for joins, leaves and counts."""
    event = json.loads(frame)
    if event.get("type") != "message":
        return None
    return (event.get("board"), *sender_of(event["text"]))


class Observer:
    """A user of one board for the whole run, not through a proxy: what that board's
    room sent out, and when."""

    def __init__(self, port):
        self.events = []     # (origin board or None, sender, k, time.monotonic())
        self.error = None
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=TIMEOUT, suppress_origin=True)
        self.ws.settimeout(None)
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        try:
            while True:
                got = parse(self.ws.recv())
                if got:
                    self.events.append((*got, time.monotonic()))
        except (OSError, websocket.WebSocketException, ValueError) as e:
            self.error = repr(e)


class Fleet:
    def __init__(self, out, seed, load, lie=False):
        self.load, self.out = load, out
        self.broker = Mosquitto(out)
        log = os.path.join(out, "plans.jsonl")
        self.apps, self.user_proxies, self.observers = {}, {}, {}
        self.links = []
        for b in BOARDS:
            link = FaultProxy(self.broker.port, f"{seed}:mqtt:{b}", log, lie=lie)
            self.links.append(link)
            app = App("chat-server", ["--listen", "http://127.0.0.1:0", "--mqtt", f"mqtt://127.0.0.1:{link.port}",
                                      "--board", b, "--room", "soak"], 1, out, name=f"chat-server-{b}")
            self.apps[b] = app
            self.user_proxies[b] = FaultProxy(app.ports[0], f"{seed}:chat:{b}", log, lie=lie)
            self.observers[b] = Observer(app.ports[0])
        self.users = []
        self.seen = {}   # board -> {(sender, k): when its observer saw it}, made for the check
        self.wait_for_the_bridges()

    def wait_for_the_bridges(self):
        """Each observer says something and waits for the other board to hear it: before
        a board has subscribed once, the broker keeps nothing for it."""
        deadline = time.monotonic() + 30 * SLOW
        for b, o in self.observers.items():
            other = self.observers[next(x for x in BOARDS if x != b)]
            n = 0
            while not any(e[1] == f"probe-{b}" for e in other.events):
                if time.monotonic() > deadline:
                    raise RuntimeError("the fleet's bridges did not connect")
                if n % 10 == 0:   # again each second: one sent before the other subscribed is gone
                    o.ws.send(json.dumps({"type": "message", "text": f"probe-{b}|{n // 10}|0|"}))
                n += 1
                time.sleep(0.1)

    def proxies(self):
        return [*self.links, *self.user_proxies.values()]

    def workers(self):
        return [threading.Thread(target=self.user_worker, args=(b, i)) for b in BOARDS for i in range(2)] + [
            threading.Thread(target=self.link_breaker)]

    def link_breaker(self):
        """A board's MQTT link lives as long as nothing breaks it: every 5-20 s one of
        them is reset, so the next connection gets a plan of its own."""
        rng = random.Random(f"{self.load.seed}:links")
        while not self.load.stop.wait(rng.uniform(5, 20)):
            self.links[rng.randrange(len(self.links))].break_all()
            self.load.count("mqtt links reset")

    def user_worker(self, board, n):
        rng = random.Random(f"{self.load.seed}:fleet:{board}:{n}")
        uid = 0
        while not self.load.stop.is_set():
            uid += 1
            user = {"room": "fleet", "server": board, "uid": f"{board}{n}.{uid}"}
            with self.load.lock:
                self.users.append(user)
            chat_user(self.load, self.user_proxies[board], FleetWire(), user, rng, most=6, pad_max=200, gap=(0.1, 0.8),
                      what="fleet")
            time.sleep(rng.uniform(0, 0.5))

    def went_out(self, r, s, k):
        """When s's message k went out to the users of r's board: its observer saw it."""
        seen = self.seen.get(r["server"])
        if seen is None:
            seen = self.seen[r["server"]] = {(sender, key): t for _, sender, key, t in self.observers[r["server"]].events}
        return seen.get((s["uid"], k))

    def check(self, failures):
        """After the load: each board's observer has the other's local messages, once
        and in order (waiting for the bridges to catch up), and every user what went
        out while it was there."""
        from model import check_room
        deadline = time.monotonic() + 60 * SLOW
        while True:
            missing = self.bridge_gaps()
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(1)
        for b, o in self.observers.items():
            if o.error:
                failures.add(f"board {b}'s observer: {o.error}")
        for b in BOARDS:
            with open(self.apps[b].log.name) as f:
                full = "fleet: outbox full" in f.read()
            if b in missing and not full:
                failures.add(f"the bridge from board {b}: {missing[b]}")
        failures.checked += sum(len(o.events) for o in self.observers.values())
        check_room(self.users, failures, went_out=self.went_out)

    def bridge_gaps(self):
        """Per board whose messages the other did not see exactly as they went out, what differs."""
        gaps = {}
        for b in BOARDS:
            other = next(x for x in BOARDS if x != b)
            local = [(s, k) for origin, s, k, _ in self.observers[b].events if origin is None and not s.startswith("probe")]
            remote = [(s, k) for origin, s, k, _ in self.observers[other].events if origin == b and not s.startswith("probe")]
            if local != remote:
                lost = [m for m in local if m not in set(remote)]
                extra = len(remote) - len(set(remote))
                gaps[b] = (f"{len(local)} went out, {len(remote)} arrived at {other}: {len(lost)} lost (first"
                           f" {lost[:3]}), {extra} twice, {'same' if sorted(local) == sorted(remote) else 'other'} set")
        return gaps

    def stop(self):
        for o in self.observers.values():
            o.ws.close(timeout=1)
        for p in self.proxies():
            p.close()
        for app in self.apps.values():
            if app.proc.poll() is None:
                app.stop()
        self.broker.stop()
