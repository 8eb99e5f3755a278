"""The SNTP client (issue 23: a service that joined the loop through
Core/Services.swift alone), through `fetch --sntp`, against chrony's NTP server on
127.0.0.1 (its own configuration and an unprivileged port; the system clock untouched),
and against peers that never answer or answer someone else's request."""
import os
import socket
import subprocess
import threading
import time

from conftest import BIN, RUNNER, SLOW, free_udp_port


def run(*args, timeout=30):
    out = subprocess.run(RUNNER + [os.path.join(BIN, "fetch"), *args], capture_output=True, timeout=timeout * SLOW)
    return out.returncode, out.stdout.decode(errors="replace")


def test_fetch_sntp_gets_the_time_from_chrony(chrony):
    before = time.time()
    code, out = run("--sntp", f"udp://127.0.0.1:{chrony}")
    after = time.time()
    assert code == 0, out
    assert out.startswith("time "), out
    ms = int(out.split()[1])
    # chrony serves this machine's clock: the answer falls between before and after.
    assert before * 1000 - 50 <= ms <= after * 1000 + 50, (before, ms, after)


def test_fetch_sntp_says_at_debug_level_that_the_answer_came_over_udp(chrony):
    """conn.isUDP on the udp:// connection sntpConnect opened (fetch logs it at debug)."""
    out = subprocess.run(RUNNER + [os.path.join(BIN, "fetch"), "--log-level", "debug", "--sntp",
                                   f"udp://127.0.0.1:{chrony}"], capture_output=True, timeout=30 * SLOW)
    assert out.returncode == 0, out
    assert out.stdout.decode().startswith("time "), out
    assert "fetch: the answer came over UDP" in out.stderr.decode(), out


class Peer:
    """A UDP peer on 127.0.0.1 that counts requests and answers each with `answer(request)`
    (None: no answer)."""

    def __init__(self, answer):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer, self.requests = answer, 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(100)
            except OSError:
                continue
            self.requests += 1
            reply = self.answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.sock.close()


def server_answer(request, originate=None, stratum=2):
    ntp = int((time.time() + 2_208_988_800) * 2**32)
    stamp = ntp.to_bytes(8, "big")
    return bytes([4 << 3 | 4, stratum]) + bytes(22) + (originate or request[40:48]) + stamp + stamp


def test_no_answer_is_asked_three_times_then_an_error():
    peer = Peer(lambda request: None)
    try:
        start = time.time()
        code, out = run("--sntp", f"udp://127.0.0.1:{peer.port}")
        took = time.time() - start
    finally:
        peer.stop()
    assert code == 1, out
    assert "error: sntp: no answer in time" in out
    assert peer.requests == 3
    assert took < 10 * SLOW


def test_answers_to_someone_elses_request_are_ignored():
    # A peer that answers with another request's cookie (a spoofer, or a late answer):
    # never taken for the time.
    peer = Peer(lambda request: server_answer(request, originate=bytes(8)))
    try:
        code, out = run("--sntp", f"udp://127.0.0.1:{peer.port}")
    finally:
        peer.stop()
    assert code == 1 and "time" not in out.replace("in time", ""), out


def test_a_kiss_of_death_ends_it():
    peer = Peer(lambda request: server_answer(request, stratum=0))
    try:
        code, out = run("--sntp", f"udp://127.0.0.1:{peer.port}")
    finally:
        peer.stop()
    assert code == 1 and "kiss-o'-death" in out, out
    assert peer.requests == 1


def test_a_port_nobody_listens_on_is_an_error_not_silence():
    # The ICMP "port unreachable" behind a UDP read is told, not swallowed.
    port = free_udp_port()
    code, out = run("--sntp", f"udp://127.0.0.1:{port}")
    assert code == 1, out
    assert "error: udp: the peer refused (ECONNREFUSED)" in out, out
