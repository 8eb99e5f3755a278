"""A firmware developer's own app, outside this repository (issue 15): `make new-app`
writes a starter into a temporary folder; its own host tests pass as generated; its
firmware is built for the board under test through Meerkat's make, run (under qemu for
ARM boards) and answers curl and websocket-client; its bundle holds the right binary.
On the host suite also: docs/your-own-app.md's commands, run as written, and apps that
break an Embedded Swift rule, which must fail saying which rule and where."""
import glob
import os
import re
import signal
import socket
import subprocess
import shutil
import tarfile
import time

import pytest
import websocket

from conftest import BOARD, ROOT, RUNNER, SLOW, VERSION
from test_bundle import ELF_MACHINE

host_only = pytest.mark.skipif(BOARD != "host", reason="once, in the host suite")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make(cwd, *args, check=True):
    run = subprocess.run(["make", *args], cwd=cwd, capture_output=True, text=True)
    if check:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    app = tmp_path_factory.mktemp("elsewhere") / "apps" / "hello"
    out = make(ROOT, "-s", "new-app", f"DIR={app}").stdout
    assert str(app) in out
    return app


def fetch_page_and_echo(port):
    """The page (curl) and one WebSocket round trip (websocket-client) on `port`."""
    page = subprocess.run(["curl", "-s", "--retry", "30", "--retry-connrefused", "--retry-delay", "1",
                           f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=60 * SLOW).stdout
    assert "<title>hello</title>" in page
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=10 * SLOW)
    ws.send("a message from websocket-client")
    assert ws.recv() == "a message from websocket-client"
    ws.close()


def run_and_check(cmd, port):
    """Starts `cmd` (a server on `port`), checks the page and the echo, stops it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fetch_page_and_echo(port)
    finally:
        proc.terminate()
        proc.wait(10)


def test_its_firmware_serves_the_page_and_the_websocket(starter):
    make(starter, "firmware", f"BOARD={BOARD}")
    binary = starter / "build" / BOARD / "hello"
    port = free_port()
    run_and_check(RUNNER + [str(binary), "--listen", f"http://127.0.0.1:{port}"], port)


def test_make_run_serves_it(starter):
    """The starter's `make run` (the binary under the board's runner)."""
    port = free_port()
    proc = subprocess.Popen(["make", "-s", "run", f"BOARD={BOARD}", f"LISTEN=http://127.0.0.1:{port}"], cwd=starter,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        fetch_page_and_echo(port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_make_run_passes_args_for_tls(starter, tmp_path):
    """`make run LISTEN=https://... ARGS="--cert ... --key ..."` (issue 22): the starter's
    run target hands ARGS to the app, which serves the page over TLS on the port it chose."""
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    proc = subprocess.Popen(["make", "-s", "run", f"BOARD={BOARD}", "LISTEN=https://127.0.0.1:0",
                             f"ARGS=--cert {cert} --key {key}"], cwd=starter,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        for line in proc.stdout:   # make builds first (nothing to do: the firmware test built it)
            lines.append(line)
            m = re.match(r"listening on https://127\.0\.0\.1:(\d+)", line)
            if m:
                break
        assert m, "".join(lines)[-3000:]
        page = subprocess.run(["curl", "-sk", f"https://127.0.0.1:{m[1]}/"], capture_output=True, text=True,
                              timeout=30 * SLOW).stdout
        assert "<title>hello</title>" in page
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_its_bundle_holds_the_board_binary_a_unit_and_sizes(starter):
    make(starter, "bundle", f"BOARD={BOARD}")   # no APP_VERSION: named with Meerkat's version
    top = f"hello-{VERSION}-{BOARD}"
    with tarfile.open(starter / "build" / BOARD / f"{top}.tar.gz") as tar:
        elf = tar.extractfile(f"{top}/bin/hello").read(20)
        assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == ELF_MACHINE[BOARD]
        unit = tar.extractfile(f"{top}/systemd/hello.service").read().decode()
        assert "ExecStart=/opt/hello/bin/hello --listen http://0.0.0.0:8000 --dir /var/lib/hello\n" in unit
        assert "StateDirectory=hello\n" in unit
        assert "Restart=on-failure" in unit
        assert re.search(rf"\| {BOARD} \|.*\| hello \| \d+ KiB \|", tar.extractfile(f"{top}/SIZES.md").read().decode())
        install = tar.extractfile(f"{top}/INSTALL.txt").read().decode()
        assert "systemctl enable --now hello" in install
        assert install.startswith(f"hello {VERSION} firmware bundle for board '{BOARD}' (built with Meerkat {VERSION}, git ")
        assert {f"{top}/LICENSE", f"{top}/NOTICE"} <= set(tar.getnames())


def shell_blocks(doc):
    """(info, body) of each fenced block whose info string starts with sh."""
    return [(m[1], m[2]) for m in re.finditer(r"```(sh[^\n]*)\n(.*?)```", doc, re.S)]


@host_only
def test_the_guide_runs_as_written(tmp_path):
    """docs/your-own-app.md: every `sh` block, in order, in one bash -e from Meerkat's
    checkout, with HOME a fresh folder and a free port for 8000: the starter is made
    there with its files, and its own `make test` (4 tests) passes. The "on the board"
    block: its commands are the bundle's INSTALL.txt's, and the unit's ExecStart runs
    from the unpacked bundle (under qemu) and serves."""
    doc = open(os.path.join(ROOT, "docs", "your-own-app.md")).read()
    blocks = shell_blocks(doc)
    here = [body for info, body in blocks if info == "sh"]
    board = [body for info, body in blocks if info == "sh board"]
    assert len(here) >= 5 and len(board) == 1
    generated_test = open(os.path.join(ROOT, "templates", "app", "Tests", "__NAME__Tests", "AppTests.swift")).read()
    for m in re.finditer(r"```swift\n(.*?)```", doc, re.S):   # the Swift shown is the starter's test
        for line in filter(None, map(str.strip, m[1].splitlines())):
            assert line in generated_test, f"{line!r} is not in the starter's test"
    port = free_port()
    script = "set -euo pipefail\n" + "\n".join(here).replace("8000", str(port))
    run = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HOME": str(tmp_path)}, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    app = tmp_path / "apps" / "hello"   # the starter the guide made, outside Meerkat's tree
    for f in ("Package.swift", "Makefile", ".gitignore", "Sources/hello/main.swift", "Sources/hello/App.swift",
              "Tests/helloTests/AppTests.swift"):
        assert (app / f).is_file(), f
    assert re.search(r"Test run with 4 tests .*passed", run.stdout + run.stderr), "the starter's make test passed"
    assert "\nhi\n" in "\n" + run.stdout, "the WebSocket echo printed"
    assert f"hello-{VERSION}-rpi4/bin/hello" in run.stdout, "tar tzf listed the binary"

    bundle = tmp_path / "apps" / "hello" / "build" / "rpi4" / f"hello-{VERSION}-rpi4.tar.gz"
    with tarfile.open(bundle) as tar:
        tar.extractall(tmp_path / "board")
    unpacked = tmp_path / "board" / f"hello-{VERSION}-rpi4"
    install = (unpacked / "INSTALL.txt").read_text()
    for line in board[0].strip().splitlines():
        if line.startswith(("tar ", "cd ")):
            assert glob.glob(str(tmp_path / "board" / line.split()[-1].replace(".tar.gz", ""))), line
        else:
            assert line in install, f"{line!r} is not in the bundle's INSTALL.txt"
    unit = (unpacked / "systemd" / "hello.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M)[1].replace("/opt/hello", str(unpacked))
    port = free_port()
    runner = subprocess.run(["make", "-s", "--no-print-directory", "print-runner", "BOARD=rpi4"], cwd=ROOT,
                            capture_output=True, text=True).stdout.split()
    run_and_check(runner + exec_start.replace("0.0.0.0:8000", f"127.0.0.1:{port}").split(), port)


BROKEN = {
    "foundation": ("import Foundation\nimport Meerkat\nprint(Date())\n",
                   "main.swift:1: Embedded Swift rule broken: no Foundation in firmware"),
    "untyped-throw": ("import Meerkat\nenum Oops: Error { case bad }\n"
                      "func check(_ n: Int) throws { if n < 0 { throw Oops.bad } }\ntry? check(1)\n",
                      "main.swift:3: Embedded Swift rule broken: typed throws only"),
    "existential": ("protocol Shape { func area() -> Int }\nstruct Square: Shape { func area() -> Int { 4 } }\n"
                    "func total(_ shapes: [any Shape]) -> Int { shapes.reduce(0) { $0 + $1.area() } }\n"
                    "print(total([Square()]))\n",
                    "main.swift:3: Embedded Swift rule broken: no existentials of non-class protocols"),
    "reflection": ("struct Reading { var celsius = 21 }\nprint(String(describing: Reading()))\n",
                   "main.swift:2: Embedded Swift rule broken: no reflection"),
    "any": ("import Meerkat\nlet reading: [String: Any] = [\"celsius\": 21]\nprint(reading.count)\n",
            "main.swift:2: Embedded Swift rule broken: no Any"),
    "weak": ("final class Sensor {\n    var onRead: (() -> Void)? = nil\n    var count = 0\n"
             "    func start() { onRead = { [weak self] in self?.count += 1 } }\n}\nSensor().start()\n",
             "main.swift:4: Embedded Swift rule broken: no weak or unowned references"),
    "unowned": ("final class Sensor {\n    var onRead: (() -> Void)? = nil\n    var count = 0\n"
                "    func start() { onRead = { [unowned self] in self.count += 1 } }\n}\nSensor().start()\n",
                "main.swift:4: Embedded Swift rule broken: no weak or unowned references"),
    "string-processing": ("let line = \"temp=21\"\nif let r = line.firstRange(of: \"=\") { print(line[r.upperBound...]) }\n",
                          "main.swift:2: Embedded Swift rule broken: no string processing"),
}


@host_only
@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_app_fails_naming_the_rule(tmp_path, kind):
    source, expected = BROKEN[kind]
    (tmp_path / "main.swift").write_text(source)
    run = make(ROOT, "firmware", f"APP={tmp_path}", f"APP_OUT={tmp_path}/out/app", check=False)
    assert run.returncode != 0
    assert f"error: {tmp_path}/{expected}" in run.stdout + run.stderr
    assert not (tmp_path / "out" / "app").exists()


@host_only
def test_an_unused_untyped_throws_is_named_though_it_only_warns(tmp_path):
    (tmp_path / "main.swift").write_text("enum Oops: Error { case bad }\n"
                                         "func check(_ n: Int) throws { if n < 0 { throw Oops.bad } }\nprint(1)\n")
    run = make(ROOT, "firmware", f"APP={tmp_path}", f"APP_OUT={tmp_path}/out/app")
    assert (f"warning: {tmp_path}/main.swift:2: Embedded Swift rule broken: typed throws only"
            in run.stdout + run.stderr)


APP_OPTION_CLASH = """import Meerkat
import MeerkatApp

func main() {
    let options = AppOptions.parse(defaultListen: "http://127.0.0.1:0", valued: ["--dir"])
    print("parsed \\(options.values.count)")
}
main()
"""


@host_only
def test_an_app_option_named_like_a_library_flag_is_refused(tmp_path):
    (tmp_path / "main.swift").write_text(APP_OPTION_CLASH)
    make(ROOT, "firmware", f"APP={tmp_path}", f"APP_OUT={tmp_path}/out/app")
    run = subprocess.run([tmp_path / "out" / "app", "--dir", "x"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert "app option --dir is one of Meerkat's own options: give it another name" in run.stdout
    assert "parsed" not in run.stdout


@host_only
def test_an_app_without_app_out_goes_to_the_default_place(tmp_path):
    """No APP_OUT: the binary is build/host/apps/NAME, as the Makefile says (make bundle
    APP=DIR and make board-vm APP=DIR take it from there)."""
    app = tmp_path / "default-out-hello"
    app.mkdir()
    (app / "main.swift").write_text('print("hello from the default place")\n')
    out = os.path.join(ROOT, "build", "host", "apps", "default-out-hello")
    if os.path.exists(out):
        os.remove(out)
    make(ROOT, "firmware", f"APP={app}")
    run = subprocess.run([out], capture_output=True, text=True, timeout=30)
    assert run.stdout == "hello from the default place\n"


@host_only
def test_the_starter_boots_its_bundle_through_meerkats_board_vm(starter):
    """The starter's `make board-vm` is Meerkat's, with the app's folder: a host board is
    refused as Meerkat's refuses it, and an ARM board's run names the app (the boot itself
    is Tests/board's; it was checked by hand with a starter on rpi3-armhf)."""
    run = make(starter, "board-vm", "BOARD=host", check=False)
    assert run.returncode != 0 and 'board-vm: board "host" has no VM profile' in run.stderr
    run = make(starter, "-n", "board-vm", "BOARD=rpi4")
    assert f"APP={starter}/Sources/hello APP_OUT={starter}/build/rpi4/hello board-vm" in run.stdout


@host_only
def test_wrong_board_or_folder_is_named(tmp_path):
    run = make(ROOT, "firmware", "BOARD=pi9", f"APP={tmp_path}", check=False)
    assert run.returncode != 0 and 'unknown board "pi9": the boards are host rpi3-armhf rpi4' in run.stderr
    run = make(ROOT, "firmware", f"APP={tmp_path}", check=False)
    assert run.returncode != 0 and f"no main.swift in {tmp_path}" in run.stderr
    run = make(ROOT, "firmware", f"APP={tmp_path}/missing", check=False)
    assert run.returncode != 0 and "no such folder" in run.stderr
    run = make(ROOT, "-s", "new-app", f"DIR={tmp_path}/x y", check=False)
    assert run.returncode != 0 and "has a space" in run.stderr


@host_only
def test_two_boards_built_into_one_folder_each_get_their_own_object(starter, tmp_path):
    """APP_OUT for two boards in one folder (dist/hello-host, dist/hello-rpi4): each links
    its own board's object. Before, the object was kept per folder, not per board, so the
    second board linked the first one's object ("file format not recognized")."""
    for board in ("host", "rpi4"):
        make(ROOT, "firmware", f"BOARD={board}", f"APP={starter}/Sources/hello", f"APP_OUT={tmp_path}/hello-{board}")
        elf = (tmp_path / f"hello-{board}").read_bytes()[:20]
        assert int.from_bytes(elf[18:20], "little") == ELF_MACHINE[board]


BROADCAST_FROM_ITS_OWN_FILE = """import Meerkat

/// A handler in a file of its own (as the starter keeps it): it reaches the manager
/// through the connection, with no global from main.swift.
func handle(_ conn: Connection, _ ev: Event) {
    guard case let .httpMessage(hm) = ev else { return }
    if hm.method == "POST" {
        let (reached, _) = conn.manager.sseBroadcast(event: "note", data: hm.body)
        try? conn.reply(200, "reached \\(reached)\\n")
    } else {
        try? conn.httpSSE(event: "hello", data: "1")
    }
}
"""


@host_only
def test_a_handler_in_its_own_file_broadcasts_through_its_connection(tmp_path):
    """Issue 22 (found writing the apps): a handler in App.swift had no way to the
    manager (`Connection.manager` was internal), so it could not call sseBroadcast or
    wsBroadcast without a global set by main.swift, which its tests do not run."""
    (tmp_path / "App.swift").write_text(BROADCAST_FROM_ITS_OWN_FILE)
    (tmp_path / "main.swift").write_text("import Meerkat\nimport MeerkatApp\n\n"
                                         "let options = AppOptions.parse(defaultListen: \"http://127.0.0.1:0\")\n"
                                         "let manager = Manager(limits: options.limits(.board), handler: handle)\n"
                                         "options.listenAll(manager)\nmanager.run()\n")
    make(ROOT, "firmware", f"APP={tmp_path}", f"APP_OUT={tmp_path}/out/app")
    port = free_port()
    proc = subprocess.Popen([tmp_path / "out" / "app", "--listen", f"http://127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL)
    try:
        def tell():
            return subprocess.run(["curl", "-s", "--retry", "30", "--retry-connrefused", "--retry-delay", "1",
                                   "-d", "hi", f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout

        assert tell() == "reached 0\n"   # up, and no stream yet
        stream = subprocess.Popen(["curl", "-sN", "--max-time", "3", f"http://127.0.0.1:{port}/events"],
                                  stdout=subprocess.PIPE)
        told = ""
        for _ in range(50):
            if (told := tell()) == "reached 1\n":
                break
            time.sleep(0.1)
        assert told == "reached 1\n"
        assert b"event: note\ndata: hi\n\n" in stream.communicate(timeout=10)[0]
    finally:
        proc.terminate()
        proc.wait(10)


@host_only
def test_make_test_builds_the_firmware_first(starter, tmp_path):
    """Issue 22 item 6: the starter's `make test` builds the host firmware before the host
    tests, so a line only Embedded Swift rejects (here `[weak self]`, which SwiftPM
    compiles) fails it, named with its rule, and no host test runs."""
    app = tmp_path / "hello"
    shutil.copytree(starter, app, ignore=shutil.ignore_patterns(".build", "build"))
    with open(app / "Sources" / "hello" / "App.swift", "a") as f:
        f.write("\nfinal class Sensor {\n    var onRead: (() -> Void)? = nil\n    var count = 0\n"
                "    func start() { onRead = { [weak self] in self?.count += 1 } }\n}\n")
    run = make(app, "test", check=False)
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "App.swift:" in out and "Embedded Swift rule broken: no weak or unowned references" in out, out[-2000:]
    assert "Test run" not in out
