"""Issue 26, the two other ways in: device-app pulls a signed update (--ota-url, every
--ota-interval seconds, If-None-Match) or is told to by an MQTT command, through the
launcher over a temporary install root as in test_ota.py. The update is what `make
ota-image`'s script writes (image + manifest.json), served by a small static server
here that keeps an ETag per file and records what each request asked."""
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time

import pytest
from conftest import RUNNER, SLOW, start_server  # noqa: F401 (start_server: a fixture)
from test_mqtt import broker  # noqa: F401 (a fixture: mosquitto on loopback)
from test_ota import STARTS, MiB, OTA_IMAGE, app_image, keys, release_id, service, sign, staging, vm_kb  # noqa: F401 (keys, service: fixtures, used as parameters)


class UpdateServer:
    """A static server of `folder` (GET only), as a plain file server answers: an ETag per
    file (its SHA-256), 304 for an If-None-Match that matches. `requests` holds (path,
    If-None-Match or None, status) for every request."""

    def __init__(self, folder):
        self.folder, self.requests = folder, []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = os.path.join(owner.folder, self.path.lstrip("/"))
                match = self.headers.get("If-None-Match")
                if not os.path.isfile(path):
                    status, body, etag = 404, b"", None
                else:
                    with open(path, "rb") as f:
                        body = f.read()
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    status = 304 if match == etag else 200
                owner.requests.append((self.path, match, status))
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status == 200:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def asked(self, path):
        return [r for r in self.requests if r[0] == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def updates(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    server = UpdateServer(str(folder))
    yield server
    server.stop()


def ota_image(key_dir, tmp_path, tag, key="signer", size=None, app="device-app"):
    """`make ota-image`'s folder for a new release of this board's `app` (signed by
    `key`): image, sha256, signature, ota.pub, manifest.json. Returns (folder, image)."""
    image = app_image(app, tag=tag, size=size)
    binary = tmp_path / "build" / "device-app"
    binary.parent.mkdir(exist_ok=True)
    binary.write_bytes(image)
    out = subprocess.run(["bash", OTA_IMAGE, str(binary), str(tmp_path / "build" / tag.decode()),
                          str(key_dir / f"{key}.key")], check=True, capture_output=True, text=True).stdout.strip()
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert manifest == {"image": "image", "size": len(image), "sha256": hashlib.sha256(image).hexdigest(),
                        "signature": open(os.path.join(out, "signature")).read().strip()}
    return out, image


def publish(updates, folder):
    """Puts an update on the server, as someone copying `make ota-image`'s folder there."""
    shutil.copytree(folder, os.path.join(updates.folder, "device-app.ota"), dirs_exist_ok=True)


def wait_for(what, predicate, timeout=15):
    deadline = time.time() + timeout * SLOW
    while not predicate():
        assert time.time() < deadline, what
        time.sleep(0.1)


def linked(board, starts):
    """Waits for the `starts`-th start's broker link; it subscribes as it connects, so the
    command is sent a moment later (a command nobody is subscribed to is dropped)."""
    wait_for("the broker link", lambda: board.output.count("mqtt: up\n") >= starts)
    time.sleep(0.5 * SLOW)


def last_status(mosquitto):
    """The retained outcome on the board's OTA status topic ("" when none)."""
    got = mosquitto.sub("meerkat/board/ota/status", 1, wait=2)
    return got[0][1] if got else ""


MANIFEST = "/device-app.ota/manifest.json"
IMAGE = "/device-app.ota/image"


def test_a_pulled_update_switches_confirms_and_is_not_fetched_again(service, keys, updates, tmp_path):  # noqa: F811
    started = time.time()
    s = service("--sntp", "none", "--ota-url", updates.url + MANIFEST, "--ota-interval", "1")
    # Nothing there yet: the failure is logged and shown, and the board keeps asking.
    wait_for("a failed check shown", lambda: "404" in (s.version()["pull"] or ""))
    assert updates.asked(MANIFEST)[0] == (MANIFEST, None, 404)
    folder, image = ota_image(keys, tmp_path, b"pulled")
    publish(updates, folder)
    s.down()   # installed: the app restarts into it
    s.up()
    v = s.version()
    assert v["release"] == release_id(image) and v["confirmed"] is True and v["previous"] == service.first
    assert os.readlink(service.root / "current") == f"releases/{release_id(image)}"
    assert "installed " + release_id(image) in "".join(s.output)
    # The new release asks with the manifest's ETag (kept across the restart) and gets 304.
    wait_for("two conditional checks", lambda: len([r for r in updates.asked(MANIFEST) if r[2] == 304]) >= 2)
    fetched = updates.asked(MANIFEST)
    etag = '"' + hashlib.sha256(open(os.path.join(folder, "manifest.json"), "rb").read()).hexdigest()[:16] + '"'
    first_200 = next(i for i, r in enumerate(fetched) if r[2] == 200)
    assert all(r == (MANIFEST, etag, 304) for r in fetched[first_200 + 1:]), fetched
    assert [r[2] for r in updates.asked(IMAGE)] == [200]   # the image once, never again
    assert s.version()["pull"] == "nothing new (304)"
    assert staging(service.root) == []
    print(f"\npull: switched and confirmed, 304s after, in {time.time() - started:.1f} s")


def test_a_pulled_update_confirms_itself_with_no_visitor(service, keys, updates, tmp_path):  # noqa: F811
    """A board updated by a pull may see no request for days: the new release confirms
    itself on its update server's first answer, not only on a served request (before,
    a good pulled update was rolled back after OTA_CONFIRM_SECONDS with no visitor)."""
    s = service("--sntp", "none", "--ota-url", updates.url + MANIFEST, "--ota-interval", "1")
    folder, image = ota_image(keys, tmp_path, b"unvisited")
    publish(updates, folder)
    s.down()   # installed: the app restarts into it
    wait_for("the new release's start", lambda: s.starts >= 2 and s.url is not None)
    confirmed = service.root / "state" / f"{release_id(image)}.confirmed"
    wait_for("the new release confirmed with no request to the board", confirmed.exists)
    assert os.readlink(service.root / "current") == f"releases/{release_id(image)}"
    assert s.starts == 2
    v = s.up().version()
    assert v["release"] == release_id(image) and v["confirmed"] is True


def test_a_refused_pull_keeps_the_release_and_is_not_fetched_again(service, keys, updates, tmp_path):  # noqa: F811
    s = service("--sntp", "none", "--ota-url", updates.url + MANIFEST, "--ota-interval", "1")
    wait_for("a first check", lambda: "404" in (s.version()["pull"] or ""))
    before = vm_kb(s.pid, "VmHWM")
    folder, image = ota_image(keys, tmp_path, b"forged", key="other", size=2 * MiB)   # not the firmware's key
    publish(updates, folder)
    wait_for("the refusal shown", lambda: (s.version()["pull"] or "").startswith("refused"))
    peak = vm_kb(s.pid, "VmHWM")
    assert "signature" in s.version()["pull"]
    # The 2 MiB image streamed through to the signature check, never whole in RAM (under
    # qemu-user the RSS is the translator's too: printed there, not held).
    print(f"\n2 MiB pulled image: peak RSS {before} -> {peak} KiB")
    if not RUNNER:
        assert peak - before < 512, (before, peak)
    wait_for("two more checks", lambda: len([r for r in updates.asked(MANIFEST) if r[2] == 304]) >= 2)
    assert [r[2] for r in updates.asked(IMAGE)] == [200]   # refused once, not fetched again
    v = s.version()
    assert v["release"] == service.first and v["confirmed"] is True and v["previous"] is None
    assert os.listdir(service.root / "releases") == [service.first]
    assert staging(service.root) == []
    assert s.proc.poll() is None and s.starts == 1   # never restarted


def test_an_mqtt_command_pulls_and_installs(service, keys, updates, tmp_path, broker):  # noqa: F811 (fixtures)
    folder, image = ota_image(keys, tmp_path, b"commanded")
    publish(updates, folder)
    s = service("--sntp", "none", "--mqtt", f"mqtt://127.0.0.1:{broker.plain}")
    linked(s, 1)
    assert updates.requests == []   # no --ota-url: nothing asked until told
    broker.pub("meerkat/board/ota", updates.url + MANIFEST)
    s.down()
    s.up()
    assert s.version()["release"] == release_id(image)
    assert broker.sub("meerkat/board/ota/status", 1) == [("meerkat/board/ota/status", "installed " + release_id(image))]
    # Sent by anyone on the broker, a forged update is still refused.
    forged, _ = ota_image(keys, tmp_path, b"forged", key="other")
    publish(updates, forged)
    linked(s, 2)   # the new release's link
    broker.pub("meerkat/board/ota", updates.url + MANIFEST)
    wait_for("the refusal published", lambda: last_status(broker).startswith("refused"))
    assert "signature" in last_status(broker)
    assert s.version()["release"] == release_id(image)


def test_a_rollback_is_in_the_retained_mqtt_status(service, keys, updates, tmp_path, broker):  # noqa: F811 (fixtures)
    """A board managed over MQTT learns that its update was rolled back: the status it
    publishes (retained) carries the release, whether it is confirmed, and the rollback.
    Before, the status had no word of updates."""
    s = service("--sntp", "none", "--mqtt", f"mqtt://127.0.0.1:{broker.plain}", "--report-ms", "500")
    linked(s, 1)
    before = json.loads(broker.sub("meerkat/board/status", 1)[0][1])
    assert (before["release"], before["confirmed"], before["rollback"]) == (service.first, True, None)
    # A real executable of this board that cannot start as the service (fetch refuses
    # device-app's options): its K starts fail and the launcher rolls back.
    folder, bad = ota_image(keys, tmp_path, b"crashes", app="fetch")
    publish(updates, folder)
    broker.pub("meerkat/board/ota", updates.url + MANIFEST)
    s.down()
    wait_for("the rolled-back release's broker link", lambda: s.output.count("mqtt: up\n") >= 2 and s.url is not None, timeout=60)
    expected = f"release {release_id(bad)} did not confirm in {STARTS} starts; rolled back to {service.first}"
    wait_for("the rollback in the retained status",
             lambda: json.loads(broker.sub("meerkat/board/status", 1)[0][1]).get("rollback") == expected, timeout=20)
    after = json.loads(broker.sub("meerkat/board/status", 1)[0][1])
    assert (after["release"], after["confirmed"], after["online"]) == (service.first, True, True), after
    assert s.starts == 1 + STARTS + 1
    assert s.up().version()["rollback"] == expected


def test_meerkats_file_server_serves_an_update(service, keys, start_server, tmp_path):  # noqa: F811
    """What `make ota-image` writes, as is, on the file-server app: it installs, and the
    file-server's ETag then answers the new release's checks with 304."""
    www = tmp_path / "site"
    folder, image = ota_image(keys, tmp_path, b"file-server")
    shutil.copytree(folder, www / "device-app.ota")
    files = start_server("file-server", "--dir", str(www))
    s = service("--sntp", "none", "--ota-url", f"http://127.0.0.1:{files.port()}{MANIFEST}", "--ota-interval", "1")
    s.down()
    s.up()
    assert s.version()["release"] == release_id(image)
    wait_for("a 304 from file-server", lambda: s.version()["pull"] == "nothing new (304)")


def test_a_server_without_etags_still_never_refetches_a_refused_image(service, keys, tmp_path):  # noqa: F811
    """python's http.server sends no ETag: every check gets the manifest (a few hundred
    bytes), and the image it names, refused once, is not fetched again."""
    www = tmp_path / "plain"
    folder, image = ota_image(keys, tmp_path, b"no-etag", key="other")
    shutil.copytree(folder, www / "device-app.ota")
    server = subprocess.Popen(["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(www)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = []
    try:
        port = int(re.search(r"port (\d+)", server.stdout.readline()).group(1))
        threading.Thread(target=lambda: log.extend(server.stdout), daemon=True).start()
        s = service("--sntp", "none", "--ota-url", f"http://127.0.0.1:{port}{MANIFEST}", "--ota-interval", "1")
        wait_for("the refusal shown", lambda: (s.version()["pull"] or "").startswith("refused"))
        wait_for("two more checks", lambda: sum(f"GET {MANIFEST} " in line for line in log) >= 3)
        assert sum(f"GET {IMAGE} " in line for line in log) == 1, log
        v = s.version()
        assert v["pull"] == f"nothing new ({release_id(image)} was tried already)" and v["release"] == service.first
    finally:
        server.terminate()
        server.wait()


def test_a_forged_command_does_not_keep_the_genuine_update_away(service, keys, updates, tmp_path, broker):  # noqa: F811
    """Anyone on the broker may send the OTA command. A forged manifest naming the next
    genuine image (its SHA-256, its size, the image itself) with another key's signature,
    served with the next genuine manifest's ETag (a file server's is predictable, or seen
    by asking first), is refused; before, the board also remembered that SHA-256 as
    tried and that ETag as its --ota-url's, so the genuine update, once published, was
    answered 304 or "tried already" forever."""
    folder, image = ota_image(keys, tmp_path, b"genuine")
    with open(os.path.join(folder, "manifest.json"), "rb") as f:
        manifest = f.read()
    etag = '"' + hashlib.sha256(manifest).hexdigest()[:16] + '"'   # what `updates` will send
    forged = json.dumps({**json.loads(manifest), "signature": sign(keys, image, key="other")[1]}).encode()
    asked = []

    class Forger(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            body = forged if self.path == "/forged/manifest.json" else image
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    forger = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forger)
    threading.Thread(target=forger.serve_forever, daemon=True).start()
    try:
        s = service("--sntp", "none", "--mqtt", f"mqtt://127.0.0.1:{broker.plain}",
                    "--ota-url", updates.url + MANIFEST, "--ota-interval", "1")
        linked(s, 1)
        command = f"http://127.0.0.1:{forger.server_address[1]}/forged/manifest.json"
        broker.pub("meerkat/board/ota", command)

        def refused():
            if last_status(broker).startswith("busy"):   # it came during a periodic check: again
                broker.pub("meerkat/board/ota", command)
            return last_status(broker).startswith("refused")
        wait_for("the forgery refused", refused)
        assert "signature" in last_status(broker) and asked == ["/forged/manifest.json", "/forged/image"]
        publish(updates, folder)   # the genuine update
        s.down()
        s.up()
        assert s.version()["release"] == release_id(image)
    finally:
        forger.shutdown()
        forger.server_close()


def test_an_image_server_that_stalls_does_not_hold_the_update(service, keys, tmp_path):  # noqa: F811
    """The image's server sends its head and a few bytes, then nothing. Before, the pull
    held the update for its whole ten-minute deadline (the library never times out a
    connection the app opened): every upload was refused 409 meanwhile. Now under 1 KiB
    in 30 s fails the pull, and nothing of the image stays."""
    folder, image = ota_image(keys, tmp_path, b"stalled")
    with open(os.path.join(folder, "manifest.json"), "rb") as f:
        manifest = f.read()
    release = threading.Event()

    class Staller(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = manifest if self.path.endswith("manifest.json") else image
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body if body is manifest else body[:100])
            self.wfile.flush()
            if body is image:
                release.wait(700)

        def log_message(self, *args):
            pass

    staller = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Staller)
    staller.daemon_threads = True
    threading.Thread(target=staller.serve_forever, daemon=True).start()
    try:
        s = service("--sntp", "none", "--ota-url", f"http://127.0.0.1:{staller.server_address[1]}{MANIFEST}")
        wait_for("the image begun", lambda: (service.root / "staging").exists() and staging(service.root) != [])
        began = time.time()
        other = app_image(tag=b"uploaded")
        sha, sig = sign(keys, other)
        assert s.upload(other, sha, sig)[0] == 409   # the pull holds the update
        wait_for("the stall noticed", lambda: "stalled" in (s.version()["pull"] or ""), timeout=60)
        held = time.time() - began
        print(f"\na stalled image server held the update {held:.1f} s")
        assert held < 45 * SLOW
        assert staging(service.root) == []
        assert s.upload(other, sha, sig) == (200, {"release": release_id(other)})
    finally:
        release.set()
        staller.shutdown()
        staller.server_close()
