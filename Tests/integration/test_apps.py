"""The other firmware apps: device-app is README's API example, run for real, with its
--report WebSocket to a Python `websockets` server."""
import asyncio
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request

import websockets

from conftest import BIN, RUNNER, SLOW, RawClient, start_device


def get(url, cookie=None):
    """(status, Content-Type, body); with `cookie` (device-app's session) when given."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10 * SLOW) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def test_device_app_is_the_readme_example(start_server):
    s = start_device(start_server)
    base = f"http://127.0.0.1:{s.port()}"
    status, ctype, body = get(base + "/hello?name=Ada%20L")
    assert (status, ctype, body) == (200, "text/plain", b"Hello, Ada L!\n")
    status, ctype, body = get(base + "/api/status", s.cookie)
    assert ctype == "application/json"
    first = json.loads(body)["uptime"]
    time.sleep(2.2)
    assert json.loads(get(base + "/api/status", s.cookie)[2])["uptime"] >= first + 1, "the 1 s timer ticks"
    try:
        get(base + "/nothing")
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_device_app_survives_a_body_larger_than_a_32_bit_int(start_server):
    # Issue 6: on armv7hf this one request killed the process (SIGILL).
    s = start_server("device-app")
    c = RawClient(s.connect())
    c.final_response(b"POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3000000000\r\n\r\n", 413)
    c.close()
    assert s.alive()
    assert get(f"http://127.0.0.1:{s.port()}/hello?name=again")[2] == b"Hello, again!\n"


def test_device_app_honours_its_limits(start_server):
    # Issue 8: the README example takes --max-connections and the other flags.
    s = start_server("device-app", "--max-connections", "2", "--header-timeout-ms", "300")
    held = [RawClient(s.connect()) for _ in range(2)]
    for h in held:
        h.send(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert h.response()[0] == 200
    extra = RawClient(s.connect())
    extra.final_response(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 503)
    extra.close()
    slow = RawClient(s.connect())
    held[0].close()
    time.sleep(0.2 * SLOW)
    slow.send(b"GET /hello HTTP/1.1\r\n")            # never finished: closed by the header timeout
    assert slow.closed_by_peer(timeout=5)
    for h in held[1:]:
        h.close()


class ReportSink:
    """A Python `websockets` server on a fixed port that keeps every message it gets;
    it can be stopped and started again on the same port."""

    def __init__(self, port):
        self.port = port
        self.messages = []
        self.thread = None

    def start(self):
        ready = threading.Event()
        box = {}

        async def keep(ws):
            async for message in ws:
                self.messages.append(message)

        async def main():
            async with websockets.serve(keep, "127.0.0.1", self.port):
                box["loop"] = asyncio.get_running_loop()
                box["stop"] = asyncio.Event()
                ready.set()
                await box["stop"].wait()
        self.thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self.thread.start()
        assert ready.wait(10)
        self.box = box

    def stop(self):
        self.box["loop"].call_soon_threadsafe(self.box["stop"].set)
        self.thread.join(10)

    def wait_for(self, count, timeout):
        deadline = time.time() + timeout * SLOW
        while len(self.messages) < count and time.time() < deadline:
            time.sleep(0.05)
        return len(self.messages) >= count


def test_device_app_reports_its_status_and_comes_back_after_the_server_restarts(start_server):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sink = ReportSink(port)
    sink.start()
    s = start_device(start_server, "--report", f"ws://127.0.0.1:{port}/report", "--report-ms", "200")
    try:
        assert sink.wait_for(3, 10), sink.messages
        report = json.loads(sink.messages[-1])
        assert {"name", "uptime", "requests", "failedReplies"} <= set(report)
        # The same numbers /api/status serves.
        assert json.loads(get(f"http://127.0.0.1:{s.port()}/api/status", s.cookie)[2])["failedReplies"] == report["failedReplies"]
        sink.stop()
        time.sleep(1.5)                     # down: reports are skipped, reconnects back off
        seen = len(sink.messages)
        sink.start()
        assert sink.wait_for(seen + 2, 10), "reports resume once the server is back"
        assert json.loads(sink.messages[-1])["uptime"] >= 1
        assert s.alive()
    finally:
        sink.stop()


def run_app(app, *args):
    """Runs `app` to its end (a bad command line): its exit code and output."""
    run = subprocess.run(RUNNER + [os.path.join(BIN, app), *args], capture_output=True, text=True,
                         timeout=30 * SLOW)
    return run.returncode, run.stdout + run.stderr


def test_a_bad_argument_is_named_and_usage_lists_the_apps_own_options():
    code, out = run_app("file-server", "--no-such-flag")
    assert code == 2
    assert "unknown argument: --no-such-flag" in out
    assert "usage: file-server [--version]" in out and "[--no-listing]" in out
    code, out = run_app("chat-server", "--max-connections", "many")
    assert code == 2
    assert "--max-connections: not a number: many" in out
    assert "[--mqtt VALUE]" in out and "[--room VALUE]" in out
    code, out = run_app("chat-server", "--room")
    assert code == 2 and "--room needs a value" in out


def test_help_prints_the_usage_and_exits_0():
    # As `meerkat --help` does; before, each app answered "unknown argument: --help", exit 2.
    for flag in ("--help", "-h"):
        code, out = run_app("chat-server", flag)
        assert code == 0 and "unknown argument" not in out, out
        assert out.startswith("usage: chat-server [--version]") and "[--room VALUE]" in out


def test_a_port_in_use_is_named_in_words():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = run_app("echo-server", "--listen", f"http://127.0.0.1:{port}")
    assert code == 1
    assert f"cannot listen on http://127.0.0.1:{port}: address already in use (EADDRINUSE)" in out
