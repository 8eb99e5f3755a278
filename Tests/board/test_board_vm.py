"""Boards on a real ARM kernel (issue 28): the board's bundle booted on Debian's kernel in
qemu-system with the board's RAM (make board-vm), and host-side clients talking to it
through qemu's forwarded loopback port. MEERKAT_BOARD picks the board (make board-test
runs this file once per ARM board); the VM boots once for the module."""
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest
import websocket

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOARD = os.environ.get("MEERKAT_BOARD", "rpi3-armhf")
VM = os.path.join(ROOT, "build", BOARD, "vm")
# The guest is a full ARM system emulated on a shared machine: waits are generous.
TIMEOUT = 30


def read(name):
    with open(os.path.join(VM, name)) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def vm():
    subprocess.run(["make", "-s", "board-vm", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=600)
    try:
        yield {"url": read("url"), "probe": read("probe-url"), "boot_seconds": float(read("boot-seconds"))}
    finally:
        subprocess.run(["make", "-s", "board-vm-stop", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=60)


def test_http_keep_alive_through_the_forwarded_port(vm):
    """Four requests in one curl: one TCP connection, reused for the three after it."""
    urls = [f"{vm['url']}/"] * 4
    out = subprocess.run(["curl", "-sv", "--max-time", str(TIMEOUT), "-w", "%{http_code} %{num_connects}\n"]
                         + sum((["-o", "/dev/null", u] for u in urls), []),
                         capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:4] == ["200 1", "200 0", "200 0", "200 0"], out.stdout
    assert out.stderr.count("Re-using existing connection") == 3, out.stderr


def join(vm):
    ws_url = vm["url"].replace("http://", "ws://") + "/ws"
    return websocket.create_connection(ws_url, timeout=TIMEOUT)


def recv(ws):
    return json.loads(ws.recv())


def test_the_guides_chat_between_two_users(vm):
    a = join(vm)
    assert recv(a) == {"type": "join", "username": "User1", "count": 1}
    b = join(vm)
    assert recv(a) == recv(b) == {"type": "join", "username": "User2", "count": 2}
    a.send(json.dumps({"type": "message", "text": "hello from a"}))
    b.send(json.dumps({"type": "message", "text": "hello from b"}))
    # Two connections through qemu's forwarder: either message may reach the room first,
    # but both users hear both, in the one order the room broadcast them.
    heard = [[(m["username"], m["text"]) for m in (recv(ws), recv(ws))] for ws in (a, b)]
    assert sorted(heard[0]) == [("User1", "hello from a"), ("User2", "hello from b")]
    assert heard[0] == heard[1]
    a.close()
    assert recv(b) == {"type": "leave", "username": "User1", "count": 1}
    b.close()


def guest_status(vm):
    with urllib.request.urlopen(vm["probe"], timeout=TIMEOUT) as r:
        return r.read().decode()


def test_the_firmware_rss_inside_the_guest(vm):
    """The guest's own numbers, from its status page (busybox httpd, /proc/<pid>/status and
    /proc/meminfo); written to build/<board>/vm/figures for make board-test to print."""
    status = guest_status(vm)
    kb = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB$", status, re.M)}
    assert "Unit: meerkat-chat-server" in status, status
    # chat-server with the board's limits, after the two tests above: about 1.5 MB.
    assert 500 < kb["VmRSS"] < 8 * 1024, status
    assert kb["MemAvailable"] > 8 * 1024, status
    figures = (f"{BOARD}: boot to serving {vm['boot_seconds']} s, chat-server VmRSS {kb['VmRSS']} kB "
               f"(VmHWM {kb['VmHWM']} kB), MemTotal {kb['MemTotal']} kB, MemAvailable {kb['MemAvailable']} kB, "
               f"at {time.strftime('%Y-%m-%d %H:%M')}")
    with open(os.path.join(VM, "figures"), "w") as f:
        f.write(figures + "\n")


def test_a_crashed_service_is_restarted_as_its_unit_says(vm):
    """SIGKILL in the guest (a crash): the unit's Restart=on-failure and RestartSec=2 bring
    chat-server back, a new process, serving the page again through the same port."""
    old = re.search(r"^Pid: (\d+)$", guest_status(vm), re.M).group(1)
    with urllib.request.urlopen(vm["probe"].replace("/status", "/kill"), timeout=TIMEOUT) as r:
        assert f"killed meerkat-chat-server {old}" in r.read().decode()
    deadline = time.time() + 2 + TIMEOUT
    while True:
        new = re.search(r"^Pid: (\d+)$", guest_status(vm), re.M).group(1)
        code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", f"{vm['url']}/"],
                              capture_output=True, text=True).stdout
        if new != old and code == "200":
            break
        assert time.time() < deadline, f"not restarted: pid {old} -> {new}, HTTP {code}"
        time.sleep(0.5)
    with open(os.path.join(VM, "console.log"), errors="replace") as f:
        assert "meerkat-chat-server exited with status 137" in f.read()
