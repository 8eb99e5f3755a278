"""Boards on a real ARM kernel, low memory (issue 28, step 3), and the thread helper test
that qemu-user cannot run. The board's echo-server, from its bundle, booted by make
board-vm with the board's RAM (BOARD_VM_RAM_MB) and its unit's ExecStart given an https
listener too (a test certificate carried in the initramfs: BOARD_VM_OVERLAY), then
filled to the profile's connection table in three stages: idle plain WebSockets, idle
WebSockets over TLS, then every one of those echoing at once. After each stage a fresh
client must be answered (200, or the documented 503 with Connection: close), the
guest's OOM killer must not have fired, and the guest's MemAvailable and the firmware's
VmRSS/VmHWM are recorded (build/<board>/lowmem-figures, outside the VM's folder, which
the next boot empties; printed by make board-lowmem and make board-test). MEERKAT_BOARD
picks the board; LOWMEM_CONNECTIONS opens fewer than the profile's table (make
board-test's smoke run)."""
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from bench_tls import make_cert  # noqa: E402  (scripts/ is not a package)

BOARD = os.environ.get("MEERKAT_BOARD", "rpi3-armhf")
VM = os.path.join(ROOT, "build", BOARD, "vm")
UNIT = "meerkat-echo-server"
TLS_PORT = 8443
# The guest is a full ARM system emulated on a shared machine: waits are generous.
TIMEOUT = 30


def profile(key):
    with open(os.path.join(ROOT, "boards", f"{BOARD}.mk")) as f:
        return int(re.search(rf"^{key}\s*:=\s*(\d+)", f.read(), re.M).group(1))


MAX_CONNECTIONS = profile("BOARD_MAX_CONNECTIONS")
COUNT = min(int(os.environ.get("LOWMEM_CONNECTIONS", MAX_CONNECTIONS)), MAX_CONNECTIONS)
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
figures = []

# The guest's own words for the OOM killer at work, in its kernel log.
OOM = re.compile(r"out of memory|oom-kill|invoked oom-killer", re.I)
LOWMEM_CGI = """#!/bin/sh
# The low-memory test's view of the guest: the kernel log's OOM lines and the service's
# open-file limit, next to the status page's RSS and MemAvailable.
echo "Content-Type: text/plain"
echo
dmesg | grep -iE 'out of memory|oom-kill|invoked oom-killer'
pid=$(cat /run/board-vm/%s.pid)
grep 'Max open files' /proc/$pid/limits
""" % UNIT
KMEM_CGI = """#!/bin/sh
# Where the guest's memory is: MemFree and MemAvailable (which counts the initramfs's
# inodes as reclaimable: they are not), the kernel's slab, the TCP sockets' memory
# (sockstat's mem, in pages), and the limits it is held to.
echo "Content-Type: text/plain"
echo
grep -E '^(MemFree|MemAvailable|Slab):' /proc/meminfo
cat /proc/net/sockstat
echo "tcp_mem $(cat /proc/sys/net/ipv4/tcp_mem)"
echo "tcp_rmem $(cat /proc/sys/net/ipv4/tcp_rmem)"
echo "tcp_wmem $(cat /proc/sys/net/ipv4/tcp_wmem)"
"""
THREAD_CGI = """#!/bin/sh
# Runs the thread helper test (make thread-test) on the guest's kernel.
echo "Content-Type: text/plain"
echo
/bin/busybox timeout 60 /opt/meerkat-test/thread-test 2>&1
echo "exit $?"
"""


def bundle_unit():
    """The unit file as the board's bundle (make bundle) ships it."""
    tar = os.path.join(ROOT, "build", BOARD, next(n for n in os.listdir(os.path.join(ROOT, "build", BOARD))
                                                  if n.endswith(f"-{BOARD}.tar.gz")))
    with tarfile.open(tar) as t:
        member = next(m for m in t.getmembers() if m.name.endswith(f"/systemd/{UNIT}.service"))
        return t.extractfile(member).read().decode()


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    # Every connection is a socket in this process and in qemu's user network (slirp),
    # which inherits this limit: 1,024 by default, fewer than rpi4's table.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # The bundle as make bundle makes it now: its unit is the one the overlay edits.
    subprocess.run(["make", "-s", "bundle", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=1800,
                   stdout=subprocess.DEVNULL)
    tmp = tmp_path_factory.mktemp("lowmem")
    overlay = tmp / "overlay"
    certs = overlay / "etc" / "meerkat-test"
    certs.mkdir(parents=True)
    make_cert(certs)
    # The bundle's unit, its ExecStart given an https listener with the test's
    # certificate, and an idle timeout past the time it takes to open the whole table
    # one connection at a time through emulation (the default 60 s would close the first
    # before the last is open): the memory measured is that of a full table.
    unit = re.sub(r"^(ExecStart=.*)$",
                  rf"\1 --listen https://0.0.0.0:{TLS_PORT} --cert /etc/meerkat-test/server.crt "
                  r"--key /etc/meerkat-test/server.key --idle-timeout-ms 900000", bundle_unit(), flags=re.M)
    write(str(overlay / "etc" / "systemd" / "system" / f"{UNIT}.service"), unit)
    write(str(overlay / "www" / "cgi-bin" / "lowmem"), LOWMEM_CGI, 0o755)
    write(str(overlay / "www" / "cgi-bin" / "thread-test"), THREAD_CGI, 0o755)
    write(str(overlay / "www" / "cgi-bin" / "kmem"), KMEM_CGI, 0o755)
    (overlay / "opt" / "meerkat-test").mkdir(parents=True)
    subprocess.run(["make", "-s", "thread-test", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=1800,
                   stdout=subprocess.DEVNULL)
    shutil.copy(os.path.join(ROOT, "build", BOARD, "test", "thread-test"), overlay / "opt" / "meerkat-test")
    env = dict(os.environ, BOARD_VM_OVERLAY=str(overlay), BOARD_VM_FORWARD=str(TLS_PORT))
    subprocess.run(["make", "-s", "board-vm", f"BOARD={BOARD}", f"UNIT={UNIT}"], cwd=ROOT, env=env, check=True,
                   timeout=600)
    try:
        with open(os.path.join(VM, "url")) as f:
            url = f.read().strip()
        with open(os.path.join(VM, "probe-url")) as f:
            probe = f.read().strip()
        with open(os.path.join(VM, f"port-{TLS_PORT}")) as f:
            tls_port = int(f.read())
        ctx = ssl.create_default_context(cafile=str(certs / "server.crt"))
        yield {"port": int(url.rsplit(":", 1)[1]), "url": url, "tls_port": tls_port, "probe": probe, "ctx": ctx,
               "plain": [], "tls": []}
    finally:
        subprocess.run(["make", "-s", "board-vm-stop", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=60)
        with open(os.path.join(ROOT, "build", BOARD, "lowmem-figures"), "w") as f:
            f.write("".join(line + "\n" for line in figures))


def page(url):
    with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
        return r.read().decode()


def guest(vm):
    """The guest's figures: the firmware's VmRSS and VmHWM, MemAvailable (kB), the
    kernel log's OOM lines, and the service's open-file limit."""
    status = page(vm["probe"])
    kb = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB$", status, re.M)}
    lowmem = page(vm["probe"].replace("/status", "/lowmem"))
    kb["oom"] = [line for line in lowmem.splitlines() if OOM.search(line)]
    nofile = re.search(r"Max open files\s+(\d+)", lowmem)  # none: the service is gone
    kb["nofile"] = nofile.group(1) if nofile else "?"
    return kb


def no_oom_in_console():
    with open(os.path.join(VM, "console.log"), errors="replace") as f:
        return [line for line in f if OOM.search(line)]


def head(s):
    """The answer's head, up to the blank line, or what came before the close."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def open_ws(vm, tls, session=None):
    """A WebSocket on /ws (plain or over TLS): (socket, status code), the code None when
    the server closed or never answered."""
    s = socket.create_connection(("127.0.0.1", vm["tls_port"] if tls else vm["port"]), timeout=TIMEOUT)
    try:
        if tls:
            s = vm["ctx"].wrap_socket(s, server_hostname="127.0.0.1", session=session)
        s.sendall(UPGRADE)
        answer = head(s)
    except OSError:
        s.close()
        return None, None
    m = re.match(rb"HTTP/1\.1 (\d+)", answer)
    return s, int(m.group(1)) if m else None


def fill(vm, tls):
    """Opens COUNT idle WebSockets, one after another; over TLS, each after the first
    resumes the first's session (its ticket), as a reconnecting client does: the full
    handshake's ECDHE on an emulated core would take most of the run, and an idle
    connection holds the same either way. Returns the open ones and the other answers."""
    socks, others = [], {}
    session = None
    unanswered = 0
    for _ in range(COUNT):
        s, code = open_ws(vm, tls, session)
        if code == 101:
            socks.append(s)
            if tls and session is None:
                session = s.session
        else:
            others[code] = others.get(code, 0) + 1
            if s is not None:
                s.close()
        # Three in a row with no answer in TIMEOUT: the server has stopped accepting.
        unanswered = unanswered + 1 if code is None else 0
        if unanswered == 3:
            break
    return socks, others


def fresh_request(vm):
    """A new client's GET / with the table full: its status code (None: no answer) and
    whether the answer is one the design allows: 200, or 503 with Connection: close."""
    out = subprocess.run(["curl", "-s", "-i", "-m", str(TIMEOUT), f"{vm['url']}/"], capture_output=True, text=True)
    code = int(re.match(r"HTTP/1\.1 (\d+)", out.stdout).group(1)) if out.stdout.startswith("HTTP/1.1") else None
    return code, code == 200 or (code == 503 and bool(re.search(r"^Connection: close$", out.stdout, re.M | re.I)))


def record(vm, stage, opened, others, elapsed):
    g = guest(vm)
    code, allowed = fresh_request(vm)
    line = (f"{BOARD} {stage}: {opened} of {COUNT} open in {elapsed:.0f} s (others {others or 'none'}); "
            f"fresh GET / -> {code}; MemAvailable {g['MemAvailable']} kB of {g['MemTotal']}; "
            f"VmRSS {g['VmRSS']} kB, VmHWM {g['VmHWM']} kB; open-file limit {g['nofile']}; "
            f"OOM {'yes' if g['oom'] else 'no'}")
    figures.append(line)
    print(line)
    assert allowed, f"a fresh client's GET / got {code}"
    assert not g["oom"], g["oom"]
    assert not no_oom_in_console()
    return g


def test_the_baseline(vm):
    record(vm, "booted", 0, {}, 0)


def test_a_table_of_idle_plain_websockets(vm):
    start = time.time()
    vm["plain"], others = fill(vm, tls=False)
    record(vm, "idle plain", len(vm["plain"]), others, time.time() - start)
    assert len(vm["plain"]) == COUNT, others


def close_all(socks):
    for s in socks:
        s.close()
    socks.clear()


def test_a_table_of_idle_tls_websockets(vm):
    close_all(vm["plain"])
    start = time.time()
    vm["tls"], others = fill(vm, tls=True)
    record(vm, "idle TLS", len(vm["tls"]), others, time.time() - start)
    assert len(vm["tls"]) == COUNT, others


def frame(payload):
    """A masked client text frame (mask 0: the payload goes as it is)."""
    n = len(payload)
    length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return bytes([0x81]) + length + b"\0\0\0\0" + payload


# Each round's message size: two short rounds, then a burst of 4,000 bytes from every
# peer at once (what a browser sends in one go as a form or a pasted text), queued in the
# guest kernel's sockets before the firmware reads it.
ROUND_SIZES = (20, 20, 4000)


def message(r, i):
    return f"round {r} from {i:04} ".encode().ljust(ROUND_SIZES[r], b"x")


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_message(s):
    """The next text message's payload (short, unmasked from the server), past the pings
    the server sends a WebSocket silent for BOARD_WS_PING_MS (the first ones opened have
    been silent that long by now)."""
    while True:
        first, length = read_exactly(s, 2)
        if length == 126:
            length = int.from_bytes(read_exactly(s, 2), "big")
        payload = read_exactly(s, length)
        if first != 0x89:
            assert first == 0x81, (first, payload)
            return payload


class KernelMemory(threading.Thread):
    """Samples the guest's kmem page while the peers send: the lowest MemFree and
    MemAvailable, and the most memory the TCP sockets held (sockstat's mem, pages)."""

    def __init__(self, vm):
        super().__init__(daemon=True)
        self.url, self.done = vm["probe"].replace("/status", "/kmem"), threading.Event()
        self.lowest, self.most_tcp, self.limits = None, None, ""

    def run(self):
        # A sample at once, then every 0.2 s until the echoes are read: a fast board's
        # burst is over in under a second.
        while True:
            try:
                text = page(self.url)
            except OSError:
                text = None
            if text is not None:
                self.sample(text)
            if self.done.wait(0.2):
                return

    def sample(self, text):
        kb = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB$", text, re.M)}
        tcp = int(re.search(r"^TCP:.* mem (\d+)", text, re.M).group(1))
        self.limits = " ".join(re.findall(r"^tcp_\w+ .*$", text, re.M))
        if self.lowest is None or kb["MemFree"] < self.lowest[0]:
            self.lowest = (kb["MemFree"], kb["MemAvailable"], kb["Slab"])
        if self.most_tcp is None or tcp > self.most_tcp:
            self.most_tcp = tcp

    def line(self):
        self.done.set()
        self.join()
        low = self.lowest or ("?",) * 3
        return (f"{BOARD} kernel while echoing: lowest MemFree {low[0]} kB (MemAvailable {low[1]} kB, slab "
                f"{low[2]} kB); most TCP memory {self.most_tcp} pages; {self.limits}")


def test_every_tls_websocket_echoing_at_once(vm):
    """Each of the table's TLS WebSockets sends a message before any echo is read: more
    peers with data than the pools have blocks and record-buffer pairs, so they take
    turns; every one gets its own message back. The fresh requests after the stages
    above may each have made room by closing an idle one (the reclaim rule)."""
    sampler = KernelMemory(vm)
    sampler.start()
    start = time.time()
    rounds, echoed, closed = len(ROUND_SIZES), 0, 0
    live = vm["tls"]
    for r in range(rounds):
        sent = []
        for i, s in enumerate(live):
            try:
                s.sendall(frame(message(r, i)))
                sent.append((i, s))
            except OSError:
                closed += 1
        still = []
        for i, s in sent:
            try:
                assert read_message(s) == b"Echo: " + message(r, i)  # what echo-server's /ws answers
                echoed += 1
                still.append(s)
            except (OSError, ConnectionError):
                closed += 1
        live[:] = still
    figures.append(sampler.line())
    print(figures[-1])
    record(vm, f"active TLS ({rounds} rounds)", len(live), {"echoes": echoed, "closed": closed}, time.time() - start)
    assert closed <= 2, f"{closed} closed: only the fresh requests may have made room"
    assert echoed >= rounds * (COUNT - 2)


def test_the_pools_are_whole_again_once_the_peers_leave(vm):
    close_all(vm["tls"])
    deadline = time.time() + TIMEOUT
    while True:
        stats = page(f"{vm['url']}/stats")
        pools = {name: (int(free), int(total)) for name, free, total in
                 re.findall(r"(recv|send|tls|tls pairs) (\d+)/(\d+)", stats)}
        conns = int(re.search(r"connections (\d+)", stats).group(1))
        # The /stats request itself holds a receive block and its connection.
        if conns <= 1 and all(free >= total - 1 for free, total in pools.values()):
            break
        assert time.time() < deadline, stats
        time.sleep(1)
    figures.append(f"{BOARD} after: {stats.strip()}")
    record(vm, "all closed", 0, {}, 0)


def test_the_thread_helper_on_the_boards_kernel(vm):
    """BackgroundThread: two threads started on the guest's kernel hand their work to the
    loop through Manager.wakeup (Tests/thread-test)."""
    out = page(vm["probe"].replace("/status", "/thread-test"))
    figures.append(f"{BOARD} thread-test: {out.strip().splitlines()[0]}")
    assert "thread-test: PASS 2 threads, 6 wakeups" in out and out.strip().endswith("exit 0"), out
