"""A fault-injecting TCP proxy for the soak (issue 27): the bad network a board meets,
made in user space because this kernel has no netem.

Each connection it accepts gets a plan, drawn from `random.Random(f"{seed}:{n}")` for
the n-th connection, so a run's plans can be replayed from its seed:
- clean: bytes pass as they come;
- delay: every piece waits `ms` before it is written;
- split: the first 4 KB of every read is written in pieces of 1 to `max` bytes;
- stall: once `after` bytes have gone up, both directions stop for `s` seconds;
- reset: once `after` bytes have gone `dir` (up: to the server), both sides get a RST
  (SO_LINGER 0) mid-message;
- halfclose: after `after` bytes up, the server's side is shut for writing (it reads
  EOF); answers still come down until the server closes;
- silent: the proxy connects to the server and sends it nothing for `s` seconds, then
  closes (a peer that holds a slot and says nothing); the client is closed at once.
With `lie`, one clean connection in five has a byte flipped on its way down after the
first 100, and its plan still says clean: the soak's test of its own checks.
The first four must not cost the client anything: the server serves it whole. The last
three break the connection; what the client got before the break must still be right.
Every plan is written to the log (one JSON object a line) with the client's port, which
is how the load finds out what was done to its connection (`plan_of`)."""
import asyncio
import json
import random
import socket
import struct
import threading
import time

PLANS = (("clean", 40), ("delay", 14), ("split", 14), ("stall", 10), ("reset", 9), ("halfclose", 6), ("silent", 7))
BREAKING = frozenset({"reset", "halfclose", "silent"})


def make_plan(rng, stall_max):
    kind = rng.choices([k for k, _ in PLANS], [w for _, w in PLANS])[0]
    plan = {"kind": kind}
    if kind == "delay":
        plan["ms"] = rng.randint(1, 20)
    elif kind == "split":
        plan["max"] = rng.randint(1, 7)
    elif kind == "stall":
        plan.update(after=rng.randint(0, 3000), s=round(rng.uniform(0.2, stall_max), 2))
    elif kind == "reset":
        plan.update(after=rng.randint(1, 6000), dir=rng.choice(("up", "down")))
    elif kind == "halfclose":
        plan["after"] = rng.randint(0, 1500)
    elif kind == "silent":
        plan["s"] = round(rng.uniform(1.0, 4.0), 2)
    return plan


def _hard_close(writer):
    """Closes with a RST rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class FaultProxy:
    """Listens on 127.0.0.1 (an ephemeral port, `.port`) and relays to `target` with a
    plan per connection; runs its own asyncio loop on a thread."""

    def __init__(self, target_port, seed, log_path, stall_max=2.0, lie=False):
        self.target_port = target_port
        self.lie = lie
        self.seed = seed
        self.stall_max = stall_max
        self.plans = {}          # client port -> (time.monotonic() accepted, plan)
        self.counts = {}         # plan kind -> connections
        self._n = 0
        self._tasks = set()      # asyncio keeps only weak references to a connection's task
        self._live = set()       # the _Connections relaying now
        self._log = open(log_path, "a")
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512))
        self.port = server.sockets[0].getsockname()[1]
        self._server = server
        self._ready.set()
        self._loop.run_forever()

    def plan_of(self, client_port, since, timeout=5.0):
        """The plan given to the connection from `client_port` that was accepted after
        `since` (time.monotonic() before the client connected): ports are reused, and it
        may take the proxy a moment to accept."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                accepted, plan = self.plans.get(client_port, (0, None))
            if plan is not None and accepted >= since:
                return plan
            time.sleep(0.005)
        raise TimeoutError(f"the proxy never accepted the connection from port {client_port}")

    def break_all(self):
        """Resets every connection open now (a link that must meet faults even when its
        plan was clean: the fleet's MQTT links are long-lived)."""
        def reset():
            for conn in list(self._live):
                conn.ends.append("reset by break_all")
                conn.broken = True
                for w in conn.writers:
                    _hard_close(w)
        self._loop.call_soon_threadsafe(reset)

    def close(self):
        async def finish():
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(finish()))
        self._thread.join(5)
        self._log.close()

    async def _handle(self, c_reader, c_writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await self._relay(c_reader, c_writer)
        except asyncio.CancelledError:
            pass   # close(): the run is over
        finally:
            self._tasks.discard(task)

    async def _relay(self, c_reader, c_writer):
        with self._lock:
            n = self._n
            self._n += 1
        plan = make_plan(random.Random(f"{self.seed}:{n}"), self.stall_max)
        port = c_writer.get_extra_info("peername")[1]
        with self._lock:
            self.plans[port] = (time.monotonic(), plan)
            self.counts[plan["kind"]] = self.counts.get(plan["kind"], 0) + 1
            self._log.write(json.dumps({"proxy": self.seed, "conn": n, "port": port, "t": round(time.time(), 3), **plan}) + "\n")
        try:
            u_reader, u_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _hard_close(c_writer)
            return
        for w in (c_writer, u_writer):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if plan["kind"] == "silent":
            c_writer.close()
            await asyncio.sleep(plan["s"])
            u_writer.close()
            return
        conn = _Connection(plan, c_writer, u_writer, random.Random(f"{self.seed}:{n}:pieces"))
        if self.lie and plan["kind"] == "clean" and n % 5 == 0:
            conn.flip_at = 100
        self._live.add(conn)
        try:
            await asyncio.gather(conn.pump(c_reader, u_writer, "up"), conn.pump(u_reader, c_writer, "down"),
                                 return_exceptions=True)
        finally:
            self._live.discard(conn)
        with self._lock:
            self._log.write(json.dumps({"conn": n, "port": port, "ended": conn.ends, "moved": conn.moved}) + "\n")
        for w in (c_writer, u_writer):
            if not w.is_closing():
                w.close()


class _Connection:
    """The two directions of one proxied connection, and what its plan does to them."""

    def __init__(self, plan, c_writer, u_writer, rng):
        self.plan = plan
        self.writers = (c_writer, u_writer)
        self.rng = rng
        self.moved = {"up": 0, "down": 0}
        self.running = asyncio.Event()
        self.running.set()
        self.stalled = False
        self.broken = False
        self.flip_at = None
        self.ends = []           # how each direction ended, in order, for the log

    async def pump(self, reader, writer, direction):
        kind = self.plan["kind"]
        try:
            while not self.broken:
                data = await reader.read(65536)
                if not data:
                    self.ends.append(f"{direction}: EOF from the {'client' if direction == 'up' else 'server'}")
                    if writer.can_write_eof() and not writer.is_closing():
                        writer.write_eof()
                    return
                await self.running.wait()
                if kind == "halfclose" and direction == "up":
                    room = self.plan["after"] - self.moved["up"]
                    if room <= 0:
                        continue   # the server's side is shut: later bytes are dropped
                    if len(data) >= room:
                        await self._write(writer, data[:room], direction)
                        if writer.can_write_eof():
                            writer.write_eof()
                        continue
                if kind == "reset" and direction == self.plan["dir"]:
                    room = self.plan["after"] - self.moved[direction]
                    if len(data) >= room:
                        await self._write(writer, data[:room], direction)
                        self.broken = True
                        for w in self.writers:
                            _hard_close(w)
                        return
                await self._write(writer, data, direction)
        except (ConnectionError, OSError) as e:
            self.ends.append(f"{direction}: {e!r}")
            self.broken = True
            for w in self.writers:
                _hard_close(w)

    async def _write(self, writer, data, direction):
        kind = self.plan["kind"]
        if self.flip_at is not None and direction == "down" and self.moved["down"] + len(data) > self.flip_at:
            i = max(0, self.flip_at - self.moved["down"])
            data = data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:]
            self.flip_at = None
        self.ends = []           # how each direction ended, in order, for the log
        if kind == "stall" and direction == "up" and not self.stalled and self.moved["up"] + len(data) > self.plan["after"]:
            self.stalled = True
            self.running.clear()
            await asyncio.sleep(self.plan["s"])
            self.running.set()
        if kind == "split":
            head, tail = data[:4096], data[4096:]
            i = 0
            while i < len(head):
                step = self.rng.randint(1, self.plan["max"])
                writer.write(head[i:i + step])
                await writer.drain()
                await asyncio.sleep(0)
                i += step
            if tail:
                writer.write(tail)
        else:
            if kind == "delay":
                await asyncio.sleep(self.plan["ms"] / 1000)
            writer.write(data)
        self.moved[direction] += len(data)
        await writer.drain()
