"""The log (README "Logging"): `--log-level debug` makes an app say on stderr what it
did unasked (a 503, a header timeout, an eviction); the default level says none of it;
an unknown level is refused with the usage; a filtered line allocates nothing."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BIN, RUNNER, SLOW, RawClient, start_counted

DEBUG_LINE = re.compile(r"^\d+ D ", re.M)


def provoke(s):
    """A full table (two half-sent heads) answers a newcomer 503; the heads then time
    out; two silent connections fill the table again, and a newcomer evicts one (the
    older, answered 503)."""
    halves = [RawClient(s.connect()) for _ in range(2)]
    for h in halves:
        h.send(b"GET / HTTP/1.1\r\n")
    time.sleep(0.2 * SLOW)
    RawClient(s.connect()).final_response(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 503)
    for h in halves:   # the header timeout closes them
        h.sock.settimeout(10 * SLOW)
        assert h.sock.recv(100) == b""
    silent = [s.connect() for _ in range(2)]
    time.sleep(0.2 * SLOW)
    c = RawClient(s.connect())
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.response()[0] == 200
    silent[0].settimeout(10 * SLOW)
    assert silent[0].recv(100).startswith(b"HTTP/1.1 503 ")
    return halves, silent, c


def output_after_stop(s):
    """What the app printed (stdout and stderr) up to its exit."""
    s.proc.send_signal(signal.SIGTERM)
    s.proc.wait(timeout=10 * SLOW)
    return s.proc.stdout.read().decode(errors="replace")


def test_debug_level_logs_503_timeout_and_eviction(start_server):
    s = start_server("echo-server", "--max-connections", "2", "--header-timeout-ms", str(int(500 * SLOW)),
                     "--log-level", "debug")
    provoke(s)
    out = output_after_stop(s)
    assert re.search(r"^\d+ D connection table full: 503 sent", out, re.M), out
    assert len(re.findall(r"^\d+ D slot \d+: header timeout: closed$", out, re.M)) == 2, out
    assert re.search(r"^\d+ D slot \d+: silent connection answered 503 to make room: the connection table is full$",
                     out, re.M), out


def test_default_level_prints_no_debug_line(start_server):
    s = start_server("echo-server", "--max-connections", "2", "--header-timeout-ms", str(int(500 * SLOW)))
    provoke(s)
    out = output_after_stop(s)
    assert not DEBUG_LINE.search(out), out


@pytest.mark.parametrize("app", ["echo-server", "fetch", "ws-client", "mqtt-client"])
def test_unknown_log_level_is_refused_with_the_usage(app):
    client = app != "echo-server"
    args = ["--log-level", "loud"] + (["http://127.0.0.1:1/"] if client else [])
    run = subprocess.run(RUNNER + [os.path.join(BIN, app)] + args, capture_output=True, text=True,
                         timeout=30 * SLOW)
    assert run.returncode == 2
    assert "--log-level: unknown level: loud (error, info, debug, verbose or none)" in run.stdout
    assert f"usage: {app} " in run.stdout and "[--log-level error|info|debug|verbose|none]" in run.stdout
    # A client's own usage (its options), not the servers' (--listen, --cert...).
    assert ("--listen" in run.stdout) == (not client), run.stdout
    # Asked for, the usage is an answer: exit 0.
    run = subprocess.run(RUNNER + [os.path.join(BIN, app), "--help"], capture_output=True, text=True,
                         timeout=30 * SLOW)
    assert run.returncode == 0 and f"usage: {app} " in run.stdout


@pytest.mark.skipif(RUNNER != [], reason="LD_PRELOAD counter is for the host build (qemu runs a foreign libc)")
@pytest.mark.parametrize("level", ["info", "debug"])
def test_logging_allocates_nothing_after_warmup(start_server, tmp_path, level):
    # Each 503 goes through a debug line: filtered out at info, written at debug.
    s, count = start_counted(start_server, tmp_path, "--max-connections", "2", "--log-level", level)
    halves = [RawClient(s.connect()) for _ in range(2)]
    for h in halves:
        h.send(b"GET / HTTP/1.1\r\n")
    time.sleep(0.2)

    def refused():
        RawClient(s.connect()).final_response(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 503)

    for _ in range(20):   # warm-up: the first line makes the log's buffer
        refused()
    before = count()
    for _ in range(300):
        refused()
    after = count()
    print(f"allocations during 300 refused connections at --log-level {level}: {after - before}")
    assert after - before == 0
    out = output_after_stop(s)
    assert (len(re.findall(r"503 sent", out)) == 320) == (level == "debug")
