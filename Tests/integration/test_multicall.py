"""The multi-call firmware (issue 22): build/BOARD/bin/meerkat holds every app of
Package.swift and runs the one named by the name it was started under (a link named like
the app, as a bundle installs it) or else by its first argument (`meerkat echo-server
…`), as busybox does. Each app is reached both ways and does its job over a real socket
(under qemu for ARM boards); `meerkat` alone, `--help`, `--version` and an unknown app
are answered as README says."""
import http.client
import json
import os
import re
import ssl
import subprocess
import urllib.request
import zlib

import pytest
import websocket

from conftest import BIN, BOARD, ROOT, RUNNER, SLOW, VERSION, Server, device_login, device_record
from test_mqtt import Broker

MEERKAT = os.path.join(BIN, "meerkat")
WAYS = ["argument", "link"]


def package_apps():
    """The apps, from Package.swift's `let apps = [...]` line (what the binary must hold)."""
    with open(os.path.join(ROOT, "Package.swift")) as f:
        line = next(line for line in f if line.startswith("let apps = ["))
    return re.findall(r'"([^"]+)"', line)


APPS = package_apps()


@pytest.fixture(scope="module")
def links(tmp_path_factory):
    """A folder of links named like the apps, each to the multi-call binary (as a bundle's
    bin/ is)."""
    d = tmp_path_factory.mktemp("links")
    for app in APPS:
        os.symlink(MEERKAT, d / app)
    return d


def command(way, links, app):
    """How `app` is started: `meerkat APP` or its link."""
    return [MEERKAT, app] if way == "argument" else [str(links / app)]


def run(cmd, *args, stdin=b"", timeout=30):
    """Runs to the end under the board's runner: (exit code, output)."""
    out = subprocess.run(RUNNER + cmd + list(args), input=stdin, capture_output=True, timeout=timeout * SLOW)
    return out.returncode, out.stdout.decode(errors="replace")


@pytest.fixture
def serve(links):
    """Starts an app through the multi-call binary: serve(way, app, *args) -> Server."""
    started = []

    def start(way, app, *args):
        cmd = command(way, links, app)
        # Server runs BIN/<first> (an absolute path stays itself) with the rest as arguments.
        s = Server(cmd[0], *cmd[1:], "--listen", "http://127.0.0.1:0", *args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def get(server, path, method="GET", body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port(), timeout=10 * SLOW)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    answer = resp.status, resp.read()
    conn.close()
    return answer


def test_the_binary_holds_every_app_of_the_package():
    code, out = run([MEERKAT], "--help")
    assert code == 0, out
    assert out.splitlines()[-1].split() == ["apps:"] + APPS


def test_alone_it_lists_the_apps_and_fails():
    code, out = run([MEERKAT])
    assert code == 2
    assert "usage: meerkat APP" in out and out.splitlines()[-1].split() == ["apps:"] + APPS


def test_an_unknown_app_is_named_with_the_list():
    for args in (["echo", "--version"], ["Echo-Server"], ["--listen", "http://127.0.0.1:0"]):
        code, out = run([MEERKAT], *args)
        assert code == 2, out
        assert out.startswith(f"meerkat: no app named {args[0]}\n"), out
        assert out.splitlines()[-1].split() == ["apps:"] + APPS


@pytest.mark.parametrize("way", WAYS)
def test_every_app_prints_its_version(way, links):
    for app in APPS + ["meerkat"]:
        cmd = [MEERKAT] if app == "meerkat" else command(way, links, app)
        code, out = run(cmd, "--version")
        assert code == 0, out
        m = re.fullmatch(r"(\S+) (\S+) \(board (\S+), git (\S+)\)", out.strip())
        assert m and m.groups()[:3] == (app, VERSION, BOARD), out


@pytest.mark.parametrize("way", WAYS)
def test_an_app_sees_its_own_arguments(way, links):
    """The app's usage names the app and the bad argument: `meerkat` is not one of them."""
    code, out = run(command(way, links, "echo-server"), "--no-such-flag")
    assert code == 2
    assert out.startswith("unknown argument: --no-such-flag\nusage: echo-server "), out


@pytest.mark.parametrize("way", WAYS)
def test_echo_server(way, serve):
    s = serve(way, "echo-server")
    assert get(s, "/anything", "POST", b"through one binary") == (200, b"through one binary")
    ws = websocket.create_connection(f"ws://127.0.0.1:{s.port()}/ws", timeout=10 * SLOW)
    ws.send("Hello!")
    assert ws.recv() == "Echo: Hello!"
    ws.close()


@pytest.mark.parametrize("way", WAYS)
def test_chat_server(way, serve):
    s = serve(way, "chat-server")
    ws = websocket.create_connection(f"ws://127.0.0.1:{s.port()}/ws", timeout=10 * SLOW)
    assert json.loads(ws.recv()) == {"type": "join", "username": "User1", "count": 1}
    ws.send(json.dumps({"type": "message", "text": "hi"}))
    event = json.loads(ws.recv())
    assert (event["type"], event["username"], event["text"]) == ("message", "User1", "hi")
    ws.close()


@pytest.mark.parametrize("way", WAYS)
def test_device_app(way, serve, tmp_path):
    (tmp_path / "provisioned").write_text(device_record())
    s = serve(way, "device-app", "--dir", str(tmp_path), "--password-file", str(tmp_path / "provisioned"))
    status, body = get(s, "/api/status", headers={"Cookie": device_login(s)})
    assert status == 200 and json.loads(body)["version"] == VERSION
    assert (tmp_path / "uploads").is_dir()
    status, page = get(s, "/")
    assert status == 200 and b"<html" in page.lower()   # the packed dashboard


@pytest.mark.parametrize("way", WAYS)
def test_file_server(way, serve, tmp_path):
    (tmp_path / "note.txt").write_bytes(b"served from the folder\n")
    s = serve(way, "file-server", "--dir", str(tmp_path))
    assert get(s, "/note.txt") == (200, b"served from the folder\n")
    assert get(s, "/missing.txt")[0] == 404


@pytest.mark.parametrize("way", WAYS)
def test_upload_server(way, serve, tmp_path):
    s = serve(way, "upload-server", "--dir", str(tmp_path))
    body = b"uploaded through one binary\n" * 100
    status, answer = get(s, "/upload/kept.txt", "PUT", body)
    assert status == 201 and answer == f"{len(body)} {zlib.crc32(body):08x}\n".encode()
    assert (tmp_path / "kept.txt").read_bytes() == body


@pytest.mark.parametrize("way", WAYS)
def test_fetch_and_ws_client(way, serve, links):
    s = serve("argument", "echo-server")
    code, out = run(command(way, links, "fetch"), "--method", "POST", "--data", "fetched",
                    f"http://127.0.0.1:{s.port()}/x")
    assert (code, out) == (0, "status 200\nfetched")
    code, out = run(command(way, links, "ws-client"), f"ws://127.0.0.1:{s.port()}/ws", stdin=b"one\ntwo\n")
    assert (code, out) == (0, "Echo: one\nEcho: two\n")


@pytest.mark.parametrize("way", WAYS)
def test_mqtt_client(way, links):
    broker = Broker()
    try:
        code, out = run(command(way, links, "mqtt-client"), "--pub", "multicall/t", "--qos", "1", "--retain",
                        f"mqtt://127.0.0.1:{broker.plain}", stdin=b"21.5\n")
        assert (code, out) == (0, "")
        assert broker.sub("multicall/t", 1) == [("multicall/t", "21.5")]
    finally:
        broker.stop()


def test_tls_both_ways(links, certs):
    """echo-server over https and fetch checking its certificate, both from the one binary."""
    s = Server(MEERKAT, "echo-server", "--listen", "https://127.0.0.1:0",
               "--cert", certs["server.crt"], "--key", certs["server.key"])
    try:
        context = ssl.create_default_context(cafile=certs["ca.crt"])
        req = urllib.request.Request(f"https://localhost:{s.port()}/tls", data=b"sealed", method="POST")
        with urllib.request.urlopen(req, context=context, timeout=10 * SLOW) as r:
            assert r.read() == b"sealed"
        code, out = run([str(links / "fetch")], "--ca", certs["ca.crt"], "--method", "POST", "--data", "back",
                        f"https://localhost:{s.port()}/tls")
        assert (code, out) == (0, "status 200\nback")
    finally:
        s.stop()
