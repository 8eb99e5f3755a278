"""Issue 8: an app dropped into Sources/ is seen by every build. Runs in a copy of the
repository (host board only): `make check-embedded` names an app missing from
Package.swift's list and an untyped catch that only Embedded Swift rejects; once listed
and fixed, `swift build`, `make firmware` and `make check-embedded` all build it."""
import json
import os
import shutil
import subprocess
import urllib.request

import pytest

from conftest import BOARD, ROOT

pytestmark = pytest.mark.skipif(BOARD != "host", reason="builds on the host only")

PROBE = """import Meerkat
import MeerkatApp

var router = Router()
router.get("/probe/*") { conn, _, captures in
    do throws(ConnectionError) {
        try conn.reply(200, "probe \\(captures[0].string)\\n")
    } catch {
        conn.close()
    }
}
let options = AppOptions.parse(defaultListen: "http://127.0.0.1:0")
let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, ev in
    guard case let .httpMessage(hm) = ev else { return }
    if !router.handle(conn, hm) { try? conn.reply(404, "Not Found\\n") }
}
options.listenAll(manager)
manager.run()
"""


def run(cwd, *cmd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def test_a_new_app_is_seen_by_every_build(tmp_path):
    repo = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if os.path.isfile(os.path.join(ROOT, f)):
            os.makedirs(repo / os.path.dirname(f), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), repo / f)
    # The library as this tree has built it (build/check: check-embedded's modules;
    # build/host: the host firmware's objects), copied with their dates as the sources
    # were: make rebuilds only what is older than its sources, so the copy compiles what
    # the new app adds, not Meerkat twice more (80 s of make test). Absent, make builds it.
    for built in ("build/check", "build/host/obj", "build/host/modules", "build/host/lib", "build/host/gen"):
        if os.path.isdir(os.path.join(ROOT, built)):
            shutil.copytree(os.path.join(ROOT, built), repo / built)
    app = repo / "Sources" / "probe-app"
    app.mkdir()
    # An untyped catch: fine for `swift build`, rejected by Embedded Swift.
    (app / "main.swift").write_text(PROBE.replace("do throws(ConnectionError) {", "do {"))

    out = run(repo, "make", "-s", "check-embedded")
    assert out.returncode != 0 and "does not list \"probe-app\"" in out.stdout + out.stderr

    manifest = repo / "Package.swift"
    text = manifest.read_text()
    manifest.write_text(text.replace('let apps = [', 'let apps = ["probe-app", ', 1))
    out = run(repo, "make", "-s", "check-embedded")
    assert out.returncode != 0 and "Sources/probe-app/main.swift" in out.stdout + out.stderr
    assert "any Error" in out.stdout + out.stderr

    (app / "main.swift").write_text(PROBE)
    assert run(repo, "make", "-s", "check-embedded").returncode == 0
    # SwiftPM sees it as a product of the manifest (its build of the same code is the
    # unit suite's; compiling Meerkat again in this copy took a minute of make test).
    out = run(repo, "swift", "package", "dump-package")
    assert out.returncode == 0, out.stderr[-2000:]
    products = json.loads(out.stdout)["products"]
    assert any(p["name"] == "probe-app" and "executable" in p["type"] for p in products), products
    # The firmware build lists it (a dry run), and builds it: the one binary, not all
    # of them again (make test builds them, and the time is CI's).
    out = run(repo, "make", "-n", "firmware", "BOARD=host")
    assert out.returncode == 0 and "-o build/host/bin/probe-app" in out.stdout, out.stderr[-2000:]
    out = run(repo, "make", "-s", "build/host/bin/probe-app", "BOARD=host")
    assert out.returncode == 0, out.stderr[-2000:]
    binary = repo / "build" / "host" / "bin" / "probe-app"
    proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE)
    try:
        url = proc.stdout.readline().decode().split()[-1]
        with urllib.request.urlopen(url + "/probe/ok", timeout=10) as r:
            assert r.read() == b"probe ok\n"
    finally:
        proc.terminate()
        proc.wait()
