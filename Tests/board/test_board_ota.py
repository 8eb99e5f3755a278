"""Signed updates on a board's real kernel and userland (issue 26): the board's bundle made
with a signing key (make bundle OTA_KEY=…) booted in qemu-system (make board-vm), its
device-app unit run as the bundle writes it: through bin/ota-launch under the guest's
busybox sh, Restart=always (the VM's init honours it). The first start installs the
bundle's binary as release "first"; an uploaded image is installed, the service
restarts into it and it confirms itself.

Not here yet: a rollback whose start count spans a guest reboot (the VM's state disk on
/var/lib, which holds the install root, and its reboot came after this test)."""
import hashlib
import json
import os
import socket
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOARD = os.environ.get("MEERKAT_BOARD", "rpi3-armhf")
VM = os.path.join(ROOT, "build", BOARD, "vm")
TIMEOUT = 60   # a full ARM system emulated on a shared machine
PASSWORD = "owner-pass-1234"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp("ota") / "ota.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def vm(key):
    subprocess.run(["make", "-s", "board-vm", f"BOARD={BOARD}", "UNIT=meerkat-device-app", f"OTA_KEY={key}"],
                   cwd=ROOT, check=True, timeout=600)
    try:
        with open(os.path.join(VM, "url")) as f:
            yield f.read().strip()
    finally:
        subprocess.run(["make", "-s", "board-vm-stop", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=60)


def request(url, method, path, body=b"", headers=()):
    """One request on its own connection: (status, headers, body)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + f"Content-Length: {len(body)}\r\n\r\n"
        s.sendall(head.encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    top, _, answer = data.partition(b"\r\n\r\n")
    lines = top.decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, answer


def session(url, path):
    status, headers, body = request(url, "POST", path, json.dumps({"password": PASSWORD}).encode(),
                                    [("Content-Type", "application/json")])
    assert status == 200, body
    return headers["set-cookie"].split(";")[0]


def version(url, cookie):
    status, _, body = request(url, "GET", "/api/version", headers=[("Cookie", cookie)])
    assert status == 200, body
    return json.loads(body)


def test_an_update_through_the_launcher_on_the_board(vm, key, tmp_path):
    cookie = session(vm, "/api/setup")   # the first visitor sets the password
    v = version(vm, cookie)
    assert v["release"] == "first" and v["confirmed"] is True and v["previous"] is None, v
    with open(os.path.join(ROOT, "build", BOARD, "bin", "device-app"), "rb") as f:
        image = f.read() + b"\0board-ota-test"
    (tmp_path / "image").write_bytes(image)
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "ota-image.sh"), str(tmp_path / "image"),
                          str(tmp_path / "out"), str(key)], check=True, capture_output=True, text=True).stdout.strip()
    sha, signature = (open(os.path.join(out, n)).read().strip() for n in ("sha256", "signature"))
    rid = hashlib.sha256(image).hexdigest()[:16]
    started = time.time()
    status, _, body = request(vm, "POST", "/api/ota", image, [("Cookie", cookie), ("X-Ota-Sha256", sha),
                                                             ("X-Ota-Signature", signature),
                                                             ("Content-Type", "application/octet-stream")])
    assert (status, json.loads(body)) == (200, {"release": rid}), body
    uploaded = time.time() - started
    # The app exits; the launcher ends with it; the init's Restart=always starts it again
    # (RestartSec=2), and the launcher starts the new release, which confirms itself.
    deadline = time.time() + TIMEOUT
    while True:
        try:
            v = version(vm, session(vm, "/api/login"))
            # The old release answers for half a second after the 200 (current already
            # names the new one, unconfirmed): only the new release confirms itself.
            if v["release"] == rid and v["confirmed"]:
                break
        except (OSError, AssertionError, ValueError, IndexError):
            pass
        assert time.time() < deadline, "the new release did not come up"
        time.sleep(0.5)
    print(f"\n{BOARD}: {len(image)} B image uploaded in {uploaded:.1f} s; serving the new release "
          f"{time.time() - started:.1f} s after the upload began")
    assert v["previous"] == "first" and v["rollback"] is None, v
