"""IPv6 neighbours on one LAN share its /64 (and fe80::/64 always): failed logins must
be counted per address, or a neighbour's wrong guesses delay, then lock out, the owner
at an address the owner has logged in from (issue 24 review). Real sockets between
real addresses: the test runs its device-app and clients in a network namespace of
its own (`unshare -rn`: a user and a network namespace, nothing on the machine
changes), where lo holds fd00::1-4 of one /64. Every board (under qemu for ARM)."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from conftest import BIN, DEVICE_PASSWORD, SLOW, RawClient, Server, device_record

HERE = os.path.dirname(os.path.abspath(__file__))
LAN = ["fd00::1", "fd00::2", "fd00::3", "fd00::4"]  # the device, the owner, a neighbour, the owner's new laptop


def login(port, source, password):
    """POST /api/login from `source` to the device at fd00::1: (status, Retry-After)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.settimeout(10 * SLOW)
    sock.bind((source, 0))
    sock.connect((LAN[0], port))
    c = RawClient(sock)
    body = ('{"password": "%s"}' % password).encode()
    c.send(b"POST /api/login HTTP/1.1\r\nHost: [fd00::1]:%d\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (port, len(body), body))
    status, headers, _ = c.response()
    sock.close()
    return status, headers.get("retry-after")


def attack():
    """Inside the namespace: the owner logs in from fd00::2, the neighbour at fd00::3
    guesses until it is told to wait; the owner, and the owner's new address, still
    log in at once."""
    folder = tempfile.mkdtemp(prefix="device-")
    record = os.path.join(folder, "provisioned")
    with open(record, "w") as f:
        f.write(device_record())
    s = Server("device-app", "--listen", f"http://[{LAN[0]}]:0", "--dir", folder, "--password-file", record)
    try:
        port = s.port()
        assert login(port, LAN[1], DEVICE_PASSWORD)[0] == 200
        answers = [login(port, LAN[2], "wrong guess") for _ in range(6)]
        assert answers[-1][0] == 429, answers  # the neighbour is delayed
        print("neighbour:", answers)
        owner = login(port, LAN[1], DEVICE_PASSWORD)
        laptop = login(port, LAN[3], DEVICE_PASSWORD)
        print("owner:", owner, "new laptop:", laptop)
        assert owner[0] == 200 and laptop[0] == 200, (owner, laptop)
    finally:
        s.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_neighbour_on_the_owners_slash64_cannot_lock_the_owner_out():
    if not shutil.which("unshare") or not shutil.which("ip") or subprocess.run(["unshare", "-rn", "true"]).returncode != 0:
        pytest.skip("no user and network namespaces here (unshare -rn), or no ip(8)")
    setup = "ip link set lo up && " + " && ".join(f"ip -6 addr add {a}/64 dev lo nodad" for a in LAN)
    run = f"{setup} && exec {sys.executable} -c 'import test_login_lan6 as t; t.attack()'"
    # The child runs in this folder: MEERKAT_BIN made absolute (make passes build/B/bin).
    done = subprocess.run(["unshare", "-rn", "sh", "-c", run], cwd=HERE, capture_output=True, text=True,
                          env={**os.environ, "MEERKAT_BIN": BIN}, timeout=120 * SLOW)
    assert done.returncode == 0, done.stdout + done.stderr
