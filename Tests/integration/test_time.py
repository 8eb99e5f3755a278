"""Trusted time for TLS on boards without a clock (issue 26): a board that boots in 1970
checks certificate dates against the firmware's build time until SNTP answers, then
against the SNTP time; an expired certificate is refused either way; a client with
`deferUntilSynced` makes no handshake before the time is known.

The 1970 clock is faked for the firmware's process alone with Debian's libfaketime
(LD_PRELOAD; `make deps` installs it for x86_64, arm64 and armhf). Under qemu-user an
LD_PRELOAD in qemu's environment would reach the x86_64 qemu, not the ARM guest, so the
guest gets the ARM build of the library through QEMU_SET_ENV. Only the wall clock is
faked (FAKETIME_DONT_FAKE_MONOTONIC): a board's monotonic clock counts from its boot.
mbedTLS's own time() then says 1970 too, which is what the verify callback in tls.c
must overrule. The SNTP server is chrony on 127.0.0.1 (conftest's `chrony`); the TLS
server is Python's ssl module, with a test CA and certificates made here, back-dated
with faketime where they must be old."""
import json
import os
import queue
import socket
import ssl
import subprocess
import threading
import time

import pytest

import conftest
from conftest import BIN, RUNNER, SLOW, start_device

FAKE_1970 = "@1970-01-01 00:00:00"


def faked_1970():
    """The environment that starts the process's wall clock at 1970-01-01."""
    if not RUNNER:
        lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
        return {"LD_PRELOAD": lib, "FAKETIME": FAKE_1970, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    triplet = os.path.basename(RUNNER[RUNNER.index("-L") + 1])  # /usr/arm-linux-gnueabihf
    lib = f"/usr/lib/{triplet}/faketime/libfaketime.so.1"
    return {"QEMU_SET_ENV": f"LD_PRELOAD={lib},FAKETIME={FAKE_1970},FAKETIME_DONT_FAKE_MONOTONIC=1"}


def fetch(*args, timeout=30):
    """fetch with a 1970 clock: exit code, its output (stdout and log), seconds taken."""
    start = time.time()
    out = subprocess.run(RUNNER + [os.path.join(BIN, "fetch"), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env={**os.environ, **faked_1970()}, timeout=timeout * SLOW)
    return out.returncode, out.stdout.decode(errors="replace"), time.time() - start


def openssl(*args, at=None):
    """openssl, its clock at `at` (faketime's syntax) when given: back-dated certificates."""
    prefix = ["faketime", at] if at else []
    subprocess.run(prefix + ["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA valid 2020-2119, and server certificates for 127.0.0.1 (their CN) it signed: `old`
    (2020-2119: valid today and at the build time), `fresh` (made now: valid today, but
    issued after the firmware was built) and `expired` (January 2020)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", d / "ca.key", "-out", d / "ca.crt", "-days", "36500",
            "-subj", "/CN=Meerkat time test CA", at="2020-01-01 00:00:00")
    # No subjectAltName: mbedTLS 2.28 matches no IP address there, but does match the CN.
    (d / "ext.cnf").write_text("basicConstraints=CA:FALSE\n")
    for name, at, days in (("old", "2020-01-01 00:00:00", "36500"), ("fresh", None, "2"),
                           ("expired", "2020-01-01 00:00:00", "30")):
        openssl("req", *ec, "-keyout", d / f"{name}.key", "-out", d / f"{name}.csr", "-subj", "/CN=127.0.0.1")
        openssl("x509", "-req", "-in", d / f"{name}.csr", "-CA", d / "ca.crt", "-CAkey", d / "ca.key",
                "-CAcreateserial", "-out", d / f"{name}.crt", "-days", days, "-extfile", d / "ext.cnf", at=at)
    return d


class TlsServer:
    """An HTTPS server on 127.0.0.1 (Python's ssl) answering 200 "ok"; it notes when each
    handshake completed."""

    def __init__(self, pki, name):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki / f"{name}.crt", pki / f"{name}.key")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.handshakes = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(60 * SLOW)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes.append(time.time())
                    request = b""
                    while b"\r\n\r\n" not in request:
                        piece = tls.recv(4096)
                        if not piece:
                            break
                        request += piece
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except (OSError, ssl.SSLError):
                conn.close()  # the client refused the certificate, or gave up

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def https(pki):
    """Starts TlsServer(pki, name); stopped after the test."""
    servers = []

    def start(name):
        servers.append(TlsServer(pki, name))
        return servers[-1]
    yield start
    for s in servers:
        s.stop()


class UdpGate:
    """A UDP relay to `target` on 127.0.0.1 that drops every datagram until `open()`: an
    SNTP server that is unreachable for a while (or for ever)."""

    def __init__(self, target=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.target, self.opened = target, None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def open(self):
        self.opened = time.time()

    def _run(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(100)
            except OSError:
                continue
            if self.opened is None or self.target is None:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(1)
                up.sendto(data, ("127.0.0.1", self.target))
                try:
                    self.sock.sendto(up.recvfrom(100)[0], peer)
                except OSError:
                    pass

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.sock.close()


def test_the_time_event_corrects_a_1970_clock_against_chrony(chrony):
    before = time.time()
    code, out, _ = fetch("--sntp", f"udp://127.0.0.1:{chrony}")
    after = time.time()
    assert code == 0, out
    lines = dict(line.split(" ", 1) for line in out.splitlines() if line.startswith(("time ", "clock ")))
    event = int(lines["time"])
    clock, system = (int(v) for v in lines["clock"].split(" system "))
    # The event carries chrony's time; the process's own clock said 1970 (faked).
    assert before * 1000 - 50 <= event <= after * 1000 + 50, (before, event, after)
    assert system < 86_400_000, f"the system clock was not faked: {system}"
    # The manager's clock took the answer: SNTP's time, moved on by the monotonic clock
    # (an SNTP time is right to half a round trip, long under qemu).
    assert event <= clock <= after * 1000 + 250 * SLOW, (event, clock, after)


def test_a_1970_board_checks_dates_against_its_build_time(pki, https):
    server = https("old")
    code, out, _ = fetch("--ca", str(pki / "ca.crt"), f"https://127.0.0.1:{server.port}/")
    # mbedTLS alone (time() = 1970) would call this certificate "not yet valid".
    assert code == 0 and "status 200" in out, out
    # A certificate issued after the build is not yet valid by the build-time floor.
    fresh = https("fresh")
    code, out, _ = fetch("--ca", str(pki / "ca.crt"), f"https://127.0.0.1:{fresh.port}/")
    assert code == 1 and "TLS: certificate not yet valid" in out, out
    assert fresh.handshakes == []


def test_once_sntp_answers_a_certificate_issued_after_the_build_goes_through(pki, https, chrony):
    server = https("fresh")
    code, out, _ = fetch("--ca", str(pki / "ca.crt"), "--time", f"udp://127.0.0.1:{chrony}", "--defer-ms",
                         str(int(10_000 * SLOW)), "--log-level", "info", f"https://127.0.0.1:{server.port}/")
    assert code == 0 and "status 200" in out, out
    assert "fetch: the time from SNTP" in out, out


def test_an_expired_certificate_is_refused_with_the_floor_and_with_sntp(pki, https, chrony):
    server = https("expired")
    code, out, _ = fetch("--ca", str(pki / "ca.crt"), f"https://127.0.0.1:{server.port}/")
    assert code == 1 and "TLS: certificate expired" in out, out
    code, out, _ = fetch("--ca", str(pki / "ca.crt"), "--time", f"udp://127.0.0.1:{chrony}", "--defer-ms",
                         str(int(10_000 * SLOW)), "--log-level", "info", f"https://127.0.0.1:{server.port}/")
    assert code == 1 and "TLS: certificate expired" in out, out
    assert "fetch: the time from SNTP" in out, out
    assert server.handshakes == []


def test_deferred_tls_waits_for_sntp_then_goes_through(pki, https, chrony):
    server = https("fresh")
    gate = UdpGate(target=chrony)
    # Opened after the first request was dropped: the library asks again 2 s later.
    opener = threading.Timer(1.0 * SLOW, gate.open)
    opener.start()
    try:
        code, out, took = fetch("--ca", str(pki / "ca.crt"), "--time", f"udp://127.0.0.1:{gate.port}",
                                "--defer-ms", str(int(15_000 * SLOW)), f"https://127.0.0.1:{server.port}/")
    finally:
        opener.cancel()
        gate.stop()
    assert code == 0 and "status 200" in out, out
    # No handshake before the time was known: the server's came after chrony was reachable.
    assert gate.opened is not None and len(server.handshakes) == 1
    assert server.handshakes[0] >= gate.opened, (server.handshakes, gate.opened)
    assert took >= 1.5, took  # the second request, 2 s after the first


def test_deferred_tls_errors_when_the_time_never_comes(pki, https):
    server = https("old")
    gate = UdpGate()  # never answers
    try:
        code, out, took = fetch("--ca", str(pki / "ca.crt"), "--time", f"udp://127.0.0.1:{gate.port}",
                                "--defer-ms", "2000", f"https://127.0.0.1:{server.port}/")
    finally:
        gate.stop()
    assert code == 1, out
    assert "TLS: the time is not known (no SNTP answer in time)" in out, out
    assert 2.0 <= took < 2.0 + 4 * SLOW, took
    assert server.handshakes == []



def read_until(proc, text, timeout):
    """The app's output lines up to the first holding `text` (all of it when none does
    within `timeout`). A thread reads them: readline's buffer may hold lines a select()
    on the pipe would no longer see."""
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in iter(proc.stdout.readline, b"")],
                     daemon=True).start()
    seen, deadline = [], time.time() + timeout
    while time.time() < deadline:
        try:
            seen.append(lines.get(timeout=0.2).decode(errors="replace"))
        except queue.Empty:
            continue
        if text in seen[-1]:
            break
    return seen


def test_device_app_takes_its_time_from_sntp_and_says_so(start_server, chrony, monkeypatch):
    """device-app --sntp 127.0.0.1:PORT on a 1970 board without CAP_SYS_TIME (setpriv
    drops it, so the machine's clock is never touched): the time event is logged, setting
    the system clock is refused and said once, and /api/status (what the dashboard shows)
    says the time is synced, and from where."""
    monkeypatch.setattr(conftest, "RUNNER", ["setpriv", "--bounding-set", "-sys_time", "--"] + RUNNER)
    server = start_device(start_server, "--sntp", f"127.0.0.1:{chrony}", env=faked_1970())
    before = time.time()
    lines = read_until(server.proc, f" from 127.0.0.1:{chrony}", 20 * SLOW)
    event = [line for line in lines if line.startswith("time: ")]
    assert event and event[0].endswith(f" from 127.0.0.1:{chrony}\n"), lines
    assert int(event[0].split()[1]) >= before * 1000 - 5_000, event  # chrony's time, not 1970
    refusals = [line for line in lines if "cannot set the system clock" in line]
    assert len(refusals) == 1, lines
    c = conftest.RawClient(server.connect())
    c.send(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n" % server.cookie.encode())
    status, _, body = c.response()
    c.sock.close()
    assert status == 200, body
    answer = json.loads(body)
    assert answer["timeSynced"] is True and answer["timeSource"] == f"127.0.0.1:{chrony}", answer


def test_device_app_with_sntp_none_is_not_synced(start_server):
    server = start_device(start_server, "--sntp", "none")
    c = conftest.RawClient(server.connect())
    c.send(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n" % server.cookie.encode())
    status, _, body = c.response()
    c.sock.close()
    assert status == 200 and json.loads(body)["timeSynced"] is False, body
