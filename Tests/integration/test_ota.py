"""Issue 26: signed firmware updates on device-app, as a board runs them. The service is
scripts/ota-launch.sh over an install root in a temporary folder (standing for
/opt/NAME), restarted whenever it ends as systemd's Restart= would; images are signed
by `make ota-image`'s script with a P-256 key made for the test (never committed)."""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
from conftest import (BIN, BOARD, ROOT, RUNNER, SLOW, RawClient, board_profile, device_login, device_record,
                      malloc_counter, openssl)

LAUNCHER = os.path.join(ROOT, "scripts", "ota-launch.sh")
OTA_IMAGE = os.path.join(ROOT, "scripts", "ota-image.sh")
STARTS = 2          # K: starts a release gets to confirm itself
MiB = 1 << 20


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("ota-keys")
    for name in ("signer", "other"):
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(d / f"{name}.key"))
        openssl("ec", "-in", str(d / f"{name}.key"), "-pubout", "-out", str(d / f"{name}.pub"))
    return d


def sign(keys, image, key="signer"):
    """(SHA-256 hex, base64 DER ECDSA signature over it) as the upload's headers carry
    them, made by what `make ota-image` runs."""
    path = keys / "image"
    path.write_bytes(image)
    out = subprocess.run(["bash", OTA_IMAGE, str(path), str(keys / "out"), str(keys / f"{key}.key")],
                         check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(out, "sha256")) as f, open(os.path.join(out, "signature")) as g:
        sha, signature = f.read().strip(), g.read().strip()
    assert sha == hashlib.sha256(image).hexdigest()
    return sha, signature


def release_id(image):
    return hashlib.sha256(image).hexdigest()[:16]


def app_image(app="device-app", size=None, tag=b"new"):
    """A runnable image: the board's binary with bytes appended (an ELF runs with data
    after it), so that each tag is a release of its own; padded to `size` if given."""
    with open(os.path.join(BIN, app), "rb") as f:
        image = f.read() + b"\0ota-test-" + tag
    if size:
        image += bytes(size - len(image))
    return image


def api_version(s):
    """GET /api/version of a started device-app `s` (its `connect()`, logged in as
    `s.cookie`), as JSON."""
    c = RawClient(s.connect())
    c.send(f"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {s.cookie}\r\n\r\n".encode())
    status, _, body = c.response()
    c.close()
    assert status == 200, body
    return json.loads(body)


class Service:
    """ota-launch.sh ROOT device-app ARGS, started again 0.2 s after it ends (systemd's
    Restart=always); `url` is the listener of the running start (None between starts)."""

    def __init__(self, root, *args, env=None):
        self.root, self.args = root, args
        self.env = {**os.environ, "OTA_RUNNER": " ".join(RUNNER), "OTA_STARTS": str(STARTS),
                    "OTA_CONFIRM_SECONDS": str(int(20 * SLOW)), **(env or {})}
        self.url, self.starts, self.output, self.stopping = None, 0, [], False
        self.proc = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            self.proc = subprocess.Popen(["sh", LAUNCHER, self.root, "device-app", *self.args],
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env)
            self.starts += 1
            for raw in self.proc.stdout:
                line = raw.decode(errors="replace")
                self.output.append(line)
                m = re.match(r"listening on (\S+)", line)
                if m:
                    self.url = m.group(1)
            self.proc.wait()
            self.url = None
            time.sleep(0.2)

    def up(self, timeout=30):
        """Waits for a start that listens; logs in to it. Returns self."""
        deadline = time.time() + timeout * SLOW
        while self.url is None:
            assert time.time() < deadline, "the service did not come up:\n" + "".join(self.output[-20:])
            time.sleep(0.05)
        self.pid = self.proc.pid
        self.cookie = device_login(self)
        self.origin = f"http://127.0.0.1:{self.port()}"
        return self

    def down(self, timeout=15):
        """Waits for the running start to end (after an install it restarts itself)."""
        deadline = time.time() + timeout * SLOW
        while self.url is not None:
            assert time.time() < deadline, "the service did not restart"
            time.sleep(0.05)

    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    def connect(self, i=0, timeout=10):
        return socket.create_connection(("127.0.0.1", self.port()), timeout=timeout * SLOW)

    def stop(self):
        self.stopping = True
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.thread.join(timeout=15)

    def version(self):
        return api_version(self)

    def upload(self, image, sha, signature, cookie=True, length=None, cut=None):
        """POST /api/ota as the dashboard does; the answer (status, JSON), or None when
        the connection closed without one. `cut`: the client stops after that many bytes."""
        c = RawClient(self.connect())
        # Expect: 100-continue (as curl sends a large body): a refusal at the headers is
        # read before any of the image is sent.
        head = (f"POST /api/ota HTTP/1.1\r\nHost: 127.0.0.1:{self.port()}\r\nOrigin: {self.origin}\r\n"
                + (f"Cookie: {self.cookie}\r\n" if cookie else "")
                + f"Content-Type: application/octet-stream\r\nContent-Length: {length or len(image)}\r\n"
                + f"Expect: 100-continue\r\nX-Ota-Sha256: {sha}\r\nX-Ota-Signature: {signature}\r\n\r\n")
        try:
            c.send(head.encode())
            answer = c.response(timeout=60)
            if answer is not None and answer[0] == 100:
                c.send(image[:cut] if cut is not None else image)
                if cut is not None:
                    c.sock.shutdown(socket.SHUT_WR)
                answer = c.response(timeout=60)
        except (BrokenPipeError, ConnectionResetError):
            answer = None
        c.close()
        return None if answer is None else (answer[0], json.loads(answer[2] or b"{}"))


@pytest.fixture
def service(tmp_path, keys):
    """An install root with device-app as its one, confirmed release (as the bundle
    installs it), served through the launcher."""
    root = tmp_path / "opt"
    first = app_image(tag=b"first")
    rid = release_id(first)
    (root / "releases" / rid).mkdir(parents=True)
    (root / "state").mkdir()
    (root / "releases" / rid / "device-app").write_bytes(first)
    os.chmod(root / "releases" / rid / "device-app", 0o755)
    os.symlink(f"releases/{rid}", root / "current")
    (root / "state" / f"{rid}.confirmed").write_text("")
    data = tmp_path / "data"
    data.mkdir()
    (data / "provisioned").write_text(device_record())
    started = []

    def start(*extra, env=None):
        s = Service(str(root), "--listen", "http://127.0.0.1:0", "--dir", str(data), "--password-file",
                    str(data / "provisioned"), "--sntp", "none", "--ota-root", str(root), "--ota-key", str(keys / "signer.pub"), *extra,
                    env=env)
        started.append(s)
        return s.up()

    start.root, start.first = root, rid
    yield start
    for s in started:
        s.stop()


def vm_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def staging(root):
    return sorted(os.listdir(root / "staging"))


def test_an_upload_switches_to_the_new_release_which_confirms_itself(service, keys, tmp_path):
    # On the host, under the allocation counter: an image's pieces allocate nothing.
    report = tmp_path / "count"
    counted = BOARD == "host"
    env = {"LD_PRELOAD": os.path.join(ROOT, "build", "malloccount.so"), "MALLOCCOUNT_FILE": str(report)}
    s = service(env=env if counted else None)
    v = s.version()
    assert v["release"] == service.first and v["confirmed"] is True and v["rollback"] is None
    image = app_image(size=2 * MiB, tag=b"second")
    sha, sig = sign(keys, image)
    # Warm-up: the same image signed by another key runs every step but the install
    # (under qemu-user the translator's own memory grows as new code first runs).
    assert s.upload(image, *sign(keys, image, key="other"))[0] == 400
    count = malloc_counter(s.proc, report) if counted else lambda: 0
    before, allocations = vm_kb(s.pid, "VmHWM"), count()
    started = time.time()
    status, answer = s.upload(image, sha, sig)
    took = time.time() - started
    peak, allocations = vm_kb(s.pid, "VmHWM"), count() - allocations
    assert (status, answer) == (200, {"release": release_id(image)})
    # Never whole in RAM: the peak RSS grew by far less than the 2 MiB image. Under
    # qemu-user the RSS is qemu's too, whose translator grows by 2 MiB steps at times
    # (seen on both ARM boards): there the figure is printed, not held.
    print(f"\n2 MiB upload in {took:.2f} s: peak RSS {before} -> {peak} KiB")
    if not RUNNER:
        assert peak - before < 512, (before, peak)
    # What begin and end allocate (paths, the install, the answer): about 55 on the host
    # after the warm-up, whatever the size. One per piece would add at least 2 MiB / the
    # receive block (128 on the host).
    pieces = 2 * MiB // int(board_profile()["BOARD_RECV_BUFFER"])
    if counted:
        print(f"allocations during the upload: {allocations} (the image came in at least {pieces} pieces)")
        assert allocations < pieces, allocations
    s.down()
    s.up()
    v = s.version()
    assert v["release"] == release_id(image) and v["confirmed"] is True
    assert v["previous"] == service.first
    assert os.readlink(service.root / "current") == f"releases/{release_id(image)}"
    assert (service.root / "state" / f"{release_id(image)}.confirmed").exists()
    assert staging(service.root) == []


def test_refused_images_leave_the_running_release_and_nothing_half_written(service, keys):
    s = service("--ota-limit", str(3 * MiB))
    image = app_image(tag=b"refused")
    sha, sig = sign(keys, image)
    corrupted = bytearray(image)
    corrupted[len(image) // 2] ^= 0x01
    other_board = bytearray(image)   # this board's binary, its ELF header naming another machine
    other_board[18:20] = (40 if other_board[18] != 40 else 183).to_bytes(2, "little")
    other_sha, other_sig = sign(keys, bytes(other_board))
    large = app_image(size=3 * MiB + 1, tag=b"large")
    cases = [
        ("corrupted", lambda: s.upload(bytes(corrupted), sha, sig), 400, "corrupt"),
        ("wrong signature", lambda: s.upload(image, *sign(keys, image, key="other")), 400, "signature"),
        ("other board", lambda: s.upload(bytes(other_board), other_sha, other_sig), 400, "not an executable for this board"),
        ("too large", lambda: s.upload(large, *sign(keys, large)), 413, "larger"),
        ("no session", lambda: s.upload(image, sha, sig, cookie=False), 401, None),
        ("Content-Length past Int", lambda: s.upload(image, sha, sig, length=2**64 - 1), 413, "larger"),   # was 411
    ]
    for name, send, status, words in cases:
        answer = send()
        assert answer is not None and answer[0] == status, (name, answer)
        if words:
            assert words in answer[1]["error"], (name, answer)
    # Truncated: the client stops halfway and goes; no answer can say so, nothing stays.
    assert s.upload(image, sha, sig, cut=len(image) // 2) in (None, (400, {"error": "the image is shorter than announced (truncated)"}))
    deadline = time.time() + 10 * SLOW
    while staging(service.root) and time.time() < deadline:
        time.sleep(0.1)
    assert staging(service.root) == []
    assert s.proc.poll() is None and s.pid == s.proc.pid and s.starts == 1   # never restarted
    v = s.version()
    assert v["release"] == service.first and v["confirmed"] is True and v["previous"] is None
    assert os.listdir(service.root / "releases") == [service.first]


def test_a_release_that_crashes_on_start_is_rolled_back_after_k_starts(service, keys):
    s = service()
    # A real executable of this board that cannot start as the service: the fetch tool
    # refuses device-app's options and exits.
    bad = app_image("fetch", tag=b"crashes")
    sha, sig = sign(keys, bad)
    started = time.time()
    assert s.upload(bad, sha, sig) == (200, {"release": release_id(bad)})
    s.down()
    s.up(timeout=60)
    took = time.time() - started
    print(f"rolled back after {s.starts - 1} restarts in {took:.1f} s")
    v = s.version()
    assert v["release"] == service.first and v["confirmed"] is True
    # The launcher's line, without the line end it wrote it with.
    assert v["rollback"] == f"release {release_id(bad)} did not confirm in {STARTS} starts; rolled back to {service.first}"
    # `previous` named the running release after the swap: removed, so that no later
    # rollback goes back to the release it runs.
    assert v["previous"] is None and not os.path.lexists(service.root / "previous")
    assert (service.root / "state" / f"{release_id(bad)}.bad").exists()
    assert s.starts == 1 + STARTS + 1   # the first, K failed starts of the bad one, the rollback
    # Confirmed again (its first request), the release prunes what no link names: the
    # bad release's folder and its start count go, its .bad marker stays.
    assert os.listdir(service.root / "releases") == [service.first]
    assert sorted(os.listdir(service.root / "state")) == sorted([f"{service.first}.confirmed", f"{release_id(bad)}.bad", "rollback"])
    # Never tried again.
    assert s.upload(bad, sha, sig) == (409, {"error": "that release failed to start before and is not tried again"})
    assert s.version()["release"] == service.first
    assert staging(service.root) == []


@pytest.mark.parametrize("option,unit,top", [("--ota-limit", "bytes", 1 << 30), ("--ota-interval", "seconds", 24 * 86400),
                                             ("--upload-limit", "bytes", (1 << 31) - 1)])
def test_a_bad_number_is_refused_with_its_unit(tmp_path, keys, option, unit, top):
    """Before, `Int(x) ?? default` took "abc", "0" or "10MB" silently as the default."""
    app = [*RUNNER, os.path.join(BIN, "device-app"), "--listen", "http://127.0.0.1:0", "--dir", str(tmp_path), "--sntp", "none",
           "--ota-root", str(tmp_path / "opt"), "--ota-key", str(keys / "signer.pub")]
    for bad in ("abc", "0", "-5", "10MB", " 7", str(top + 1), "18446744073709551617"):
        r = subprocess.run([*app, option, bad], capture_output=True, text=True, timeout=30 * SLOW)
        assert r.returncode == 2, (bad, r.stdout)
        assert r.stdout.splitlines()[0] == f"{option}: not a number of {unit} in 1...{top}: {bad}", r.stdout
        assert "listening" not in r.stdout
        assert f"[{option} {unit.upper()}]" in r.stdout.splitlines()[1]   # the usage follows
    out = subprocess.run([*app, "--help"], capture_output=True, text=True, timeout=30 * SLOW)
    assert out.returncode == 0
    for words in ("[--ota-limit BYTES]", "[--ota-interval SECONDS]", "[--upload-limit BYTES]", "[--ota-root DIR]",
                  "[--ota-key FILE]", "[--ota-url URL]", "[--mqtt-pass PASSWORD]", "[--password-file PATH]", "[--sntp HOST]"):
        assert words in out.stdout, words
    assert " VALUE]" not in out.stdout


def test_an_upload_refused_mid_image_does_not_free_the_next_ones_hold(service, keys):
    """Upload A is refused mid-image (another board's header) and its body keeps coming;
    upload B begins meanwhile; A ends; B's client then leaves mid-image. Before, A's end
    cleared B's hold, so B's leaving removed nothing: its partial file stayed in staging
    and every later update was refused 409 (busy) until a restart."""
    s = service()
    image = app_image(tag=b"held")
    sha, sig = sign(keys, image)
    other = bytearray(image)
    other[18:20] = (40 if other[18] != 40 else 183).to_bytes(2, "little")
    other_sha, other_sig = sign(keys, bytes(other))

    def head(length, sha, sig):
        return (f"POST /api/ota HTTP/1.1\r\nHost: 127.0.0.1:{s.port()}\r\nOrigin: {s.origin}\r\nCookie: {s.cookie}\r\n"
                f"Content-Length: {length}\r\nX-Ota-Sha256: {sha}\r\nX-Ota-Signature: {sig}\r\n\r\n").encode()
    a = RawClient(s.connect())
    a.send(head(len(other), other_sha, other_sig) + bytes(other[:4096]))   # refused at its header
    time.sleep(0.5 * SLOW)
    b = RawClient(s.connect())
    b.send(head(len(image), sha, sig) + image[:len(image) // 2])   # begins: A holds nothing now
    time.sleep(0.5 * SLOW)
    a.send(bytes(other[4096:]))
    status, _, body = a.response()
    assert status == 400 and b"not an executable for this board" in body, body
    a.close()
    b.close()   # B leaves mid-image
    deadline = time.time() + 10 * SLOW
    while staging(service.root) and time.time() < deadline:
        time.sleep(0.1)
    assert staging(service.root) == []   # B's partial image is gone
    assert s.upload(image, sha, sig) == (200, {"release": release_id(image)})   # not 409: nobody holds the update
    s.down()
    assert s.up().version()["release"] == release_id(image)


def test_no_second_install_while_restarting_into_the_first(service, keys):
    """An install is followed by the process's end half a second later (the answer goes
    out first). Before, a second update in that half second was installed too: `current`
    became it and `previous` the first one, which had never run, so the confirmed
    release was no longer anywhere to roll back to (both new ones failing left neither
    starting). Now it is refused 409 and the first one starts."""
    s = service()
    first, second = app_image(tag=b"first-of-two"), app_image(tag=b"second-of-two")
    assert s.upload(first, *sign(keys, first)) == (200, {"release": release_id(first)})
    answer = s.upload(second, *sign(keys, second))
    assert answer is None or answer[0] == 409, answer   # None: the process had ended already
    s.down()
    v = s.up().version()
    assert v["release"] == release_id(first) and v["previous"] == service.first
    assert sorted(os.listdir(service.root / "releases")) == sorted([service.first, release_id(first)])
    assert staging(service.root) == []
